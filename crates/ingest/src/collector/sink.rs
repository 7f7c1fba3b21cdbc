//! The collector behind the [`EventSink`] seam: the HTTP service listens at once, while the
//! collector replays its write-ahead log in the background.
//!
//! Until the WAL is open, appends are refused with [`SinkError::NotReady`] and
//! [`EventSink::is_ready`] is false. A failed open is reported once by [`CollectorSink::opened`];
//! a stop during start-up waits for the open to end, then commits what the WAL holds.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use futures::future::BoxFuture;
use heatlake_table::TableLocation;
use tokio::sync::watch;

use super::{Collector, CollectorOptions};
use crate::sink::{Appended, EventSink, SinkError, SinkStats};

/// How long a client is asked to wait when the write-ahead log is full.
pub const WAL_FULL_RETRY_AFTER: Duration = Duration::from_secs(2);

/// Where opening the collector stands.
#[derive(Clone)]
enum Opening {
    /// Replaying the write-ahead log.
    InProgress,
    /// Open and taking events.
    Open(Collector),
    /// Opening failed; nothing to flush.
    Failed(Arc<crate::Error>),
}

/// The durable [`Collector`] as an [`EventSink`], opened in the background.
pub struct CollectorSink {
    opening: watch::Sender<Opening>,
}

impl std::fmt::Debug for CollectorSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self.opening.borrow() {
            Opening::InProgress => "opening",
            Opening::Open(_) => "open",
            Opening::Failed(_) => "failed",
        };
        f.debug_struct("CollectorSink")
            .field("state", &state)
            .finish()
    }
}

impl CollectorSink {
    /// Starts opening the collector of the table at `location` on the current Tokio runtime and
    /// returns at once; the sink refuses appends as not ready until the WAL is replayed.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn open(location: TableLocation, options: CollectorOptions) -> Arc<Self> {
        let sink = Arc::new(Self {
            opening: watch::Sender::new(Opening::InProgress),
        });
        let opening = sink.opening.clone();
        tokio::spawn(async move {
            let outcome = match Collector::open(location, options).await {
                Ok(collector) => {
                    tracing::info!(
                        recovered_records = collector.stats().recovered_records,
                        "write-ahead log replayed; ready"
                    );
                    Opening::Open(collector)
                }
                Err(error) => Opening::Failed(Arc::new(error)),
            };
            opening.send_replace(outcome);
        });
        sink
    }

    /// Waits until the collector is open: `Ok` once it takes events, the reason if opening
    /// failed.
    pub async fn opened(&self) -> Result<(), SinkError> {
        match self.settled().await {
            Opening::Failed(error) => Err(SinkError::Open(error)),
            _ => Ok(()),
        }
    }

    /// The collector once open.
    fn collector(&self) -> Option<Collector> {
        match &*self.opening.borrow() {
            Opening::Open(collector) => Some(collector.clone()),
            _ => None,
        }
    }

    /// The state once opening has ended, either way.
    async fn settled(&self) -> Opening {
        let mut receiver = self.opening.subscribe();
        let settled = receiver
            .wait_for(|opening| !matches!(opening, Opening::InProgress))
            .await
            .expect("the sender lives in self");
        settled.clone()
    }
}

impl EventSink for CollectorSink {
    fn append<'a>(
        &'a self,
        site: &'a str,
        batch_id: Option<&'a str>,
        events: RecordBatch,
    ) -> BoxFuture<'a, Result<Appended, SinkError>> {
        Box::pin(async move {
            let collector = self.collector().ok_or(SinkError::NotReady)?;
            Ok(collector.append(site, batch_id, events).await?)
        })
    }

    fn stats(&self) -> SinkStats {
        let Some(collector) = self.collector() else {
            return SinkStats::default();
        };
        let stats = collector.stats();
        SinkStats {
            wal_bytes: stats.wal_bytes,
            backlog_events: stats.events_pending,
            committed_events: stats.events_committed,
            commits: stats.commits,
            storage_degraded: stats.wal_degraded,
        }
    }

    fn is_ready(&self) -> bool {
        self.collector()
            .is_some_and(|collector| collector.is_ready())
    }

    fn shutdown(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            // A stop during start-up waits for the WAL to open, then commits what it holds:
            // events acknowledged by an earlier run are in that WAL, not yet in the table.
            match self.settled().await {
                Opening::Open(collector) => collector
                    .shutdown()
                    .await
                    .map_err(|error| SinkError::Shutdown(Arc::new(error))),
                // The failure is reported by `opened`; nothing was taken, nothing to commit.
                Opening::Failed(_) | Opening::InProgress => Ok(()),
            }
        })
    }
}
