//! The durable core of the HTTP collector: events in, acknowledged once in the WAL, committed to
//! the table exactly once.
//!
//! ```text
//! append(site, batch id, Arrow rows) -> WAL record (group commit + fsync) -> Ok = acknowledged
//! flusher: WAL records -> rows per (site, date) -> sorted Parquet -> one Delta commit
//!          carrying the transaction (collector id, last WAL record) -> release WAL segments
//! ```
//! Exactly once: the Delta commit that adds a flush's files also records, as a Delta application
//! transaction, the last WAL record it holds. On start-up the collector reads that number back
//! and replays only the records after it. A crash between writing files and the commit leaves
//! files nobody references (the flush is redone); a crash between the commit and releasing the
//! WAL replays nothing twice, because the table already says how far it got.
//!
//! ```no_run
//! # async fn example(events: arrow::array::RecordBatch) -> heatlake_ingest::Result<()> {
//! use heatlake_ingest::collector::{Collector, CollectorOptions};
//! use heatlake_table::TableLocation;
//!
//! let location = TableLocation::parse("./heatlake-data/events")?;
//! let collector = Collector::open(location, CollectorOptions::new("./heatlake-data/wal")).await?;
//! collector.append("shop.example", Some("batch-1"), events).await.expect("durable");
//! collector.shutdown().await?; // flush and commit everything
//! # Ok(()) }
//! ```

mod flusher;
mod sink;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arrow::array::RecordBatch;
use heatlake_table::TableLocation;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::sink::{CollectorSink, WAL_FULL_RETRY_AFTER};
pub use crate::sink::Appended;
pub use crate::wal::AppendError;
use crate::wal::{Recovery, Wal, WalOptions, record};
use crate::{Error, FileLayout, Result};

/// The file in the WAL directory that names this collector in its Delta transactions.
const COLLECTOR_ID_FILE: &str = "collector-id";

/// What one flush committed; given to [`CollectorOptions::on_commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitReport {
    /// Events committed.
    pub events: u64,
    /// Data files added.
    pub files: u64,
    /// Bytes of the data files.
    pub bytes: u64,
    /// From the start of the flush (sorting, encoding, writing, committing) to the commit.
    pub duration: Duration,
    /// The table version of the commit.
    pub version: u64,
    /// The last WAL record committed.
    pub wal_seq: u64,
}

/// A function told about every commit (for metrics).
pub type CommitObserver = Arc<dyn Fn(&CommitReport) + Send + Sync>;

/// Everything the collector can be told. Every bound is named; defaults in [`CollectorOptions::new`].
#[derive(Clone)]
pub struct CollectorOptions {
    /// The WAL and its bounds.
    pub wal: WalOptions,
    /// The name of this collector in the table's transactions; several collectors may write to
    /// one table, each under its own id. Default: a random id created once and kept in the WAL
    /// directory (`collector-id`).
    pub collector_id: Option<String>,
    /// A flush starts once this many events wait. Default 500,000.
    pub flush_rows_max: usize,
    /// A flush starts once the waiting events take this many bytes (as encoded in the WAL,
    /// about their Arrow size). Default 96 MiB (a flush briefly needs about three times this,
    /// to sort and encode).
    pub flush_bytes_max: usize,
    /// A flush starts once the oldest waiting event has waited this long. Default 30 s.
    pub flush_age_max: Duration,
    /// The first pause after a failed flush; each further failure doubles it. Default 200 ms.
    pub retry_delay_min: Duration,
    /// The longest pause between flush attempts. Default 30 s.
    pub retry_delay_max: Duration,
    /// How long shutdown keeps retrying a failing commit before leaving the events in the WAL
    /// for the next start. Default 60 s.
    pub shutdown_commit_timeout: Duration,
    /// Layout of the data files.
    pub layout: FileLayout,
    /// Told about every commit.
    pub on_commit: Option<CommitObserver>,
}

impl std::fmt::Debug for CollectorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectorOptions")
            .field("wal", &self.wal)
            .field("collector_id", &self.collector_id)
            .field("flush_rows_max", &self.flush_rows_max)
            .field("flush_bytes_max", &self.flush_bytes_max)
            .field("flush_age_max", &self.flush_age_max)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl CollectorOptions {
    /// Defaults, with the WAL in `wal_dir`.
    pub fn new(wal_dir: impl Into<PathBuf>) -> Self {
        Self {
            wal: WalOptions::new(wal_dir),
            collector_id: None,
            flush_rows_max: 500_000,
            flush_bytes_max: 96 << 20,
            flush_age_max: Duration::from_secs(30),
            retry_delay_min: Duration::from_millis(200),
            retry_delay_max: Duration::from_secs(30),
            shutdown_commit_timeout: Duration::from_secs(60),
            layout: FileLayout::default(),
            on_commit: None,
        }
    }
}

/// Counters of a running collector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectorStats {
    /// Bytes of WAL segment files on disk.
    pub wal_bytes: u64,
    /// The bound on them.
    pub wal_bytes_max: u64,
    /// WAL segment files.
    pub wal_segments: u64,
    /// Whether a write or sync of the WAL failed and it has not recovered yet.
    pub wal_degraded: bool,
    /// The last durable WAL record.
    pub durable_seq: u64,
    /// The last WAL record committed to the table.
    pub committed_seq: u64,
    /// Events appended since start-up (acknowledged; duplicates not counted).
    pub events_appended: u64,
    /// Events committed since start-up (replayed ones included).
    pub events_committed: u64,
    /// Events read from the WAL and waiting for the next flush.
    pub events_pending: u64,
    /// Commits since start-up.
    pub commits: u64,
    /// Failed flush attempts since start-up.
    pub flush_failures: u64,
    /// Data files written since start-up.
    pub files_written: u64,
    /// What the start-up found in the WAL.
    pub recovered_records: u64,
}

/// Counters the flusher advances.
#[derive(Debug, Default)]
struct FlushCounters {
    committed_seq: AtomicU64,
    events_committed: AtomicU64,
    events_pending: AtomicU64,
    commits: AtomicU64,
    flush_failures: AtomicU64,
    files_written: AtomicU64,
}

/// A running collector; clones share it.
#[derive(Clone)]
pub struct Collector {
    inner: Arc<Inner>,
}

struct Inner {
    wal: Arc<Wal>,
    counters: Arc<FlushCounters>,
    recovery: Recovery,
    ready: AtomicBool,
    closing: watch::Sender<bool>,
    flusher: Mutex<Option<JoinHandle<Result<()>>>>,
    /// The flusher's own runtime: its WAL reads, sorting and Parquet encoding are CPU work that
    /// must not hold the threads that acknowledge events and answer health checks.
    flush_runtime: Mutex<Option<tokio::runtime::Runtime>>,
}

/// Threads of the flusher's runtime: one flush runs at a time.
const FLUSH_RUNTIME_THREADS: usize = 1;

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping a runtime waits for its threads, which an async context may not do.
        if let Some(runtime) = self.flush_runtime.get_mut().ok().and_then(Option::take) {
            runtime.shutdown_background();
        }
    }
}

impl Collector {
    /// Opens the WAL (cutting a torn tail) and starts the flusher, which learns from the table
    /// how far earlier runs committed and commits what is left in the WAL first. Appends are
    /// taken at once, even while the table's store cannot be reached: the WAL holds them.
    pub async fn open(location: TableLocation, options: CollectorOptions) -> Result<Self> {
        let collector_id = match &options.collector_id {
            Some(id) => id.clone(),
            None => load_or_create_collector_id(&options.wal.dir)?,
        };
        let app_id = format!("heatlake-collector-{collector_id}");
        let wal_options = options.wal.clone();
        let (wal, recovery) = tokio::task::spawn_blocking(move || Wal::open(&wal_options))
            .await
            .expect("opening the WAL does not panic")?;
        let wal = Arc::new(wal);
        let counters = Arc::new(FlushCounters::default());
        let (closing, closing_receiver) = watch::channel(false);
        let flusher = flusher::Flusher::new(
            location,
            options,
            app_id,
            Arc::clone(&wal),
            Arc::clone(&counters),
            recovery.last_seq,
            closing_receiver,
        )?;
        let flush_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(FLUSH_RUNTIME_THREADS)
            .thread_name("heatlake-flusher")
            .enable_all()
            .build()
            .map_err(Error::FlushRuntime)?;
        let handle = flush_runtime.spawn(flusher.run());
        Ok(Self {
            inner: Arc::new(Inner {
                wal,
                counters,
                recovery,
                ready: AtomicBool::new(true),
                closing,
                flusher: Mutex::new(Some(handle)),
                flush_runtime: Mutex::new(Some(flush_runtime)),
            }),
        })
    }

    /// Appends `events` (rows of [`heatlake_model::event_schema`], all of `site`): `Ok` once
    /// they are in a durable WAL record, or once `batch_id` is recognised as a batch already
    /// stored within the window.
    pub async fn append(
        &self,
        site: &str,
        batch_id: Option<&str>,
        events: RecordBatch,
    ) -> Result<Appended, AppendError> {
        // Not `is_ready`: while the WAL recovers from a failed write, the WAL itself refuses
        // with the retryable `Unavailable`, which says why.
        if !self.takes_events() {
            return Err(AppendError::ShuttingDown);
        }
        let rows = u32::try_from(events.num_rows()).map_err(|_| AppendError::RecordTooLarge {
            bytes: events.get_array_memory_size() as u64,
            max: record::RECORD_BODY_BYTES_MAX as u64,
        })?;
        let ipc =
            record::encode_events(&events).map_err(|error| AppendError::Encode(Arc::new(error)))?;
        self.inner.wal.append(site, batch_id, rows, ipc).await
    }

    /// Whether the collector takes events: after start-up, before shutdown, while the WAL and
    /// the flusher work (not while the WAL recovers from a failed write).
    pub fn is_ready(&self) -> bool {
        self.takes_events() && !self.inner.wal.is_degraded()
    }

    /// After start-up, before shutdown, while the flusher works.
    fn takes_events(&self) -> bool {
        let flushing = self
            .inner
            .flusher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|flusher| !flusher.is_finished());
        self.inner.ready.load(Ordering::Relaxed) && flushing
    }

    /// What the start-up found in the WAL.
    pub fn recovery(&self) -> &Recovery {
        &self.inner.recovery
    }

    /// Counters for metrics.
    pub fn stats(&self) -> CollectorStats {
        let counters = &self.inner.counters;
        let wal = &self.inner.wal;
        CollectorStats {
            wal_bytes: wal.bytes(),
            wal_bytes_max: wal.bytes_max(),
            wal_segments: wal.segments() as u64,
            wal_degraded: wal.is_degraded(),
            durable_seq: wal.durable_seq(),
            committed_seq: counters.committed_seq.load(Ordering::Relaxed),
            events_appended: wal.appended().1,
            events_committed: counters.events_committed.load(Ordering::Relaxed),
            events_pending: counters.events_pending.load(Ordering::Relaxed),
            commits: counters.commits.load(Ordering::Relaxed),
            flush_failures: counters.flush_failures.load(Ordering::Relaxed),
            files_written: counters.files_written.load(Ordering::Relaxed),
            recovered_records: self.inner.recovery.records,
        }
    }

    /// Stops taking events, flushes and commits everything acknowledged, and stops the flusher.
    /// Events a failing store kept from being committed stay in the WAL for the next start
    /// (the error says so).
    pub async fn shutdown(&self) -> Result<()> {
        self.inner.ready.store(false, Ordering::Relaxed);
        let wal = Arc::clone(&self.inner.wal);
        tokio::task::spawn_blocking(move || wal.close())
            .await
            .expect("closing the WAL does not panic");
        let _ = self.inner.closing.send(true);
        self.inner.wal.wake();
        let handle = self
            .inner
            .flusher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let outcome = match handle {
            Some(handle) => handle.await.expect("the flusher does not panic"),
            None => Ok(()),
        };
        let runtime = self
            .inner
            .flush_runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(runtime) = runtime {
            runtime.shutdown_background();
        }
        outcome
    }
}

/// The collector id kept in the WAL directory, created on first start.
fn load_or_create_collector_id(dir: &std::path::Path) -> Result<String> {
    let path = dir.join(COLLECTOR_ID_FILE);
    let io = |source| Error::Wal {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|source| Error::Wal {
        path: dir.to_path_buf(),
        source,
    })?;
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(io(source)),
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let temporary = dir.join(format!("{COLLECTOR_ID_FILE}.tmp"));
    std::fs::write(&temporary, &id).map_err(io)?;
    std::fs::File::open(&temporary)
        .and_then(|file| file.sync_all())
        .map_err(io)?;
    std::fs::rename(&temporary, &path).map_err(io)?;
    crate::wal::segment::sync_directory(dir)?;
    Ok(id)
}
