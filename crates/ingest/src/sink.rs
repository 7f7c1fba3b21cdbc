//! Where accepted events go: the [`EventSink`] seam between the HTTP service and durable
//! storage.
//!
//! The write-ahead-log collector implements it ([`crate::collector::CollectorSink`]); tests and
//! examples use [`MemorySink`]. A sink acknowledges a batch only once it is durable, so the
//! server answers 2xx only after [`EventSink::append`] returned `Ok`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arrow::array::RecordBatch;
use futures::future::BoxFuture;

use crate::collector::{AppendError, WAL_FULL_RETRY_AFTER};

/// How long a client is asked to wait after the sink's storage failed a write (a full disk, an
/// I/O error): the collector retries its recovery every [`crate::wal::RECOVERY_RETRY_INTERVAL`].
pub const STORAGE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// What became of an appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The events are durable (in a new write-ahead-log record, for the collector).
    Stored,
    /// The batch id was seen within the deduplication window: the events were stored before and
    /// nothing was stored again.
    Duplicate,
}

/// Why a sink refused a batch. Nothing of a refused batch is stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    /// A named bound of the sink is reached (for example `wal_bytes_max`): retry later.
    #[error("{limit} reached: {message}")]
    Full {
        /// The name of the bound, as in the configuration.
        limit: String,
        /// How long the client should wait before retrying.
        retry_after: Duration,
        /// What is full, for the error body.
        message: String,
    },
    /// The batch is larger than the sink can take in one piece (for example one WAL record):
    /// send fewer events per request.
    #[error("{limit} exceeded: {message}")]
    TooLarge {
        /// The name of the bound.
        limit: String,
        /// What is too large, for the error body.
        message: String,
    },
    /// The sink's storage failed to store the batch (a full disk, an I/O error) and is
    /// recovering: nothing of the batch is stored; retry after `retry_after`.
    #[error("the collector cannot store events now (its write-ahead log failed a write)")]
    StorageUnavailable {
        /// How long the client should wait before retrying.
        retry_after: Duration,
        /// The failed write.
        #[source]
        source: AppendError,
    },
    /// The sink is stopping and takes no more events.
    #[error("the collector is shutting down")]
    ShuttingDown,
    /// The sink is not ready yet (replaying its write-ahead log).
    #[error("the collector is not ready yet (replaying its write-ahead log)")]
    NotReady,
    /// The sink could not store the batch (events it cannot encode, a name too long for a
    /// record); the batch was not acknowledged.
    #[error("the collector could not store the events")]
    Append(#[source] AppendError),
    /// The sink could not be opened (for example its write-ahead log is unreadable).
    #[error("the collector could not be opened")]
    Open(#[source] Arc<crate::Error>),
    /// Stopping failed: what was acknowledged could not all be committed (it stays in the
    /// write-ahead log for the next start).
    #[error("the collector could not commit everything acknowledged before stopping")]
    Shutdown(#[source] Arc<crate::Error>),
}

impl From<AppendError> for SinkError {
    /// The collector's refusals in the sink's terms: a full WAL is a named bound to retry after,
    /// a record too large a bound on the request's size, a failed write of the WAL a storage
    /// failure to retry after.
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::WalFull { .. } => Self::Full {
                limit: "wal_bytes_max".to_owned(),
                retry_after: WAL_FULL_RETRY_AFTER,
                message: error.to_string(),
            },
            AppendError::RecordTooLarge { .. } => Self::TooLarge {
                limit: "record_bytes_max".to_owned(),
                message: error.to_string(),
            },
            AppendError::ShuttingDown => Self::ShuttingDown,
            AppendError::Unavailable(_) => Self::StorageUnavailable {
                retry_after: STORAGE_RETRY_AFTER,
                source: error,
            },
            AppendError::NameTooLong { .. } | AppendError::Encode(_) => Self::Append(error),
        }
    }
}

/// Figures a sink reports for `/metrics`; zero where a sink has no such thing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Bytes of write-ahead log on disk.
    pub wal_bytes: u64,
    /// Events acknowledged but not yet committed to the table.
    pub backlog_events: u64,
    /// Events committed to the table since start.
    pub committed_events: u64,
    /// Table commits since start.
    pub commits: u64,
    /// Whether the sink's storage failed a write and has not recovered yet (appends are
    /// refused as [`SinkError::StorageUnavailable`]).
    pub storage_degraded: bool,
}

/// A durable destination for batches of events of one site.
pub trait EventSink: Send + Sync + 'static {
    /// Stores `events` (rows of [`heatlake_model::event_schema`], all of `site`). `Ok` means
    /// durable. A `batch_id` seen before within the sink's window gives [`Appended::Duplicate`].
    fn append<'a>(
        &'a self,
        site: &'a str,
        batch_id: Option<&'a str>,
        events: RecordBatch,
    ) -> BoxFuture<'a, Result<Appended, SinkError>>;

    /// Current figures for `/metrics`.
    fn stats(&self) -> SinkStats;

    /// Whether the sink takes events (false while replaying its log at start-up).
    fn is_ready(&self) -> bool;

    /// Makes everything acknowledged durable in its final place (flush, commit) and stops.
    fn shutdown(&self) -> BoxFuture<'_, Result<(), SinkError>>;
}

/// One batch kept by a [`MemorySink`].
#[derive(Debug, Clone)]
pub struct StoredBatch {
    /// The site of every event in the batch.
    pub site: String,
    /// The batch id the client sent, if any.
    pub batch_id: Option<String>,
    /// The events.
    pub events: RecordBatch,
}

/// Batch ids a [`MemorySink`] remembers; the oldest half is forgotten when full.
pub const MEMORY_SINK_BATCH_IDS_MAX: usize = 65_536;

/// A sink that keeps batches in memory: for tests and examples. Nothing survives the process.
#[derive(Debug, Default)]
pub struct MemorySink {
    state: Mutex<MemoryState>,
    not_ready: AtomicBool,
}

#[derive(Debug, Default)]
struct MemoryState {
    batches: Vec<StoredBatch>,
    batch_ids: HashSet<(String, String)>,
    failure: Option<SinkError>,
    shut_down: bool,
}

impl MemorySink {
    /// An empty, ready sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes [`EventSink::is_ready`] answer `ready`.
    pub fn set_ready(&self, ready: bool) {
        self.not_ready.store(!ready, Ordering::SeqCst);
    }

    /// Makes every later append fail with `failure` (or succeed again with `None`).
    pub fn set_failure(&self, failure: Option<SinkError>) {
        self.lock().failure = failure;
    }

    /// The batches stored so far, oldest first.
    pub fn batches(&self) -> Vec<StoredBatch> {
        self.lock().batches.clone()
    }

    /// The number of events stored so far.
    pub fn event_count(&self) -> usize {
        self.lock()
            .batches
            .iter()
            .map(|batch| batch.events.num_rows())
            .sum()
    }

    /// Whether [`EventSink::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.lock().shut_down
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EventSink for MemorySink {
    fn append<'a>(
        &'a self,
        site: &'a str,
        batch_id: Option<&'a str>,
        events: RecordBatch,
    ) -> BoxFuture<'a, Result<Appended, SinkError>> {
        let outcome = (|| {
            if !self.is_ready() {
                return Err(SinkError::NotReady);
            }
            let mut state = self.lock();
            if state.shut_down {
                return Err(SinkError::ShuttingDown);
            }
            if let Some(failure) = &state.failure {
                return Err(failure.clone());
            }
            if let Some(id) = batch_id {
                if state.batch_ids.len() >= MEMORY_SINK_BATCH_IDS_MAX {
                    state.batch_ids.clear();
                }
                if !state.batch_ids.insert((site.to_owned(), id.to_owned())) {
                    return Ok(Appended::Duplicate);
                }
            }
            state.batches.push(StoredBatch {
                site: site.to_owned(),
                batch_id: batch_id.map(str::to_owned),
                events,
            });
            Ok(Appended::Stored)
        })();
        Box::pin(std::future::ready(outcome))
    }

    fn stats(&self) -> SinkStats {
        let events = self.event_count() as u64;
        SinkStats {
            committed_events: events,
            commits: self.lock().batches.len() as u64,
            ..SinkStats::default()
        }
    }

    fn is_ready(&self) -> bool {
        !self.not_ready.load(Ordering::SeqCst)
    }

    fn shutdown(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        self.lock().shut_down = true;
        Box::pin(std::future::ready(Ok(())))
    }
}
