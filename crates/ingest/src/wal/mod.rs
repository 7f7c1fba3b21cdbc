//! The write-ahead log: where an event is made durable before it is acknowledged.
//!
//! Appends go over a bounded queue to one writer thread, which takes every append waiting,
//! writes them as consecutive records and makes them durable with one `fdatasync` (group commit:
//! many requests share one sync), then answers each. A record ([`record`]) carries a checksum, so
//! on start-up a torn tail (a write a crash interrupted: bad bytes at the end of the last
//! segment, nothing whole after them) is found and cut, never replayed; bad bytes anywhere else
//! are damage, which [`Wal::open`] refuses with the file and offset, and [`salvage`] drops.
//! Records live in segment files ([`segment`]) named by their first sequence number; the
//! flusher reads them back with a [`WalReader`] and, once their events are committed to the
//! table, [`Wal::release_through`] deletes the segments no longer needed.
//!
//! A failed write or sync (a full disk, an I/O error) refuses that group's appends with
//! [`AppendError::Unavailable`], which senders retry. The writer then cuts the active segment
//! back to its durable end and starts a fresh segment: after a failed `fsync` the kernel may
//! have dropped the file's dirty pages, and a later `fsync` of the same file can succeed without
//! them, so nothing more is written into it. Until that recovery succeeds (it is retried before
//! each group and every [`RECOVERY_RETRY_INTERVAL`] while idle) every append is refused the
//! same way; nothing acknowledged is lost and nothing refused is kept.
//!
//! Retried batches: a record keeps the sender's batch id, and a batch id seen within
//! [`WalOptions::batch_id_window`] is acknowledged again without a second record. The window is
//! rebuilt from the segments on disk at start-up, and committed segments are kept for as long as
//! the window lasts (unless the WAL nears its byte bound), so a retry after a crash is still
//! recognised.

pub mod record;
pub mod salvage;
pub mod segment;
mod writer;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use self::record::{FRAME_HEADER_BYTES, Frame, RECORD_BODY_BYTES_MAX, WalRecord, read_frame};
use self::segment::{Segment, list_segments, scan_segment};
pub use self::writer::RECOVERY_RETRY_INTERVAL;
pub use crate::sink::Appended;
use crate::{Error, Result};

/// Bounds and settings of the WAL.
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// The directory of the segment files.
    pub dir: PathBuf,
    /// A segment is closed and a new one started once it holds this many bytes. Default 64 MiB.
    pub segment_bytes_max: u64,
    /// Bytes of all segments together; an append that would pass it is refused
    /// ([`AppendError::WalFull`]) until committed segments are released. Default 1 GiB.
    pub wal_bytes_max: u64,
    /// Appends waiting for the writer thread; further appends wait for room. Default 4,096.
    pub append_queue_max: usize,
    /// Records written with one sync at most. Default 4,096.
    pub group_records_max: usize,
    /// How long a batch id is remembered. Default 10 minutes.
    pub batch_id_window: Duration,
    /// Batch ids remembered at most (the oldest are forgotten first). Default 1,000,000.
    pub batch_ids_max: usize,
}

impl WalOptions {
    /// Defaults, with segments in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            segment_bytes_max: 64 << 20,
            wal_bytes_max: 1 << 30,
            append_queue_max: 4096,
            group_records_max: 4096,
            batch_id_window: Duration::from_secs(600),
            batch_ids_max: 1_000_000,
        }
    }
}

/// Why an append was refused. Nothing of a refused append is stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppendError {
    /// The WAL holds `wal_bytes_max` bytes of events not yet committed (or within the retry
    /// window); the sender should retry later.
    #[error("the write-ahead log is full ({wal_bytes} of wal_bytes_max {wal_bytes_max} bytes)")]
    WalFull {
        /// Bytes on disk now.
        wal_bytes: u64,
        /// The bound.
        wal_bytes_max: u64,
    },
    /// A record would be larger than a record may be.
    #[error("a batch of {bytes} bytes is larger than the {max} bytes one WAL record may hold")]
    RecordTooLarge {
        /// Bytes of the record.
        bytes: u64,
        /// The bound.
        max: u64,
    },
    /// The site name or batch id is longer than a record can hold.
    #[error("a site name or batch id is longer than {max} bytes")]
    NameTooLong {
        /// The bound.
        max: usize,
    },
    /// The collector is shutting down and takes nothing more.
    #[error("the collector is shutting down")]
    ShuttingDown,
    /// The events could not be encoded as a WAL record.
    #[error("the events could not be encoded for the write-ahead log")]
    Encode(#[source] Arc<arrow::error::ArrowError>),
    /// Writing or syncing the WAL failed (a full disk, an I/O error), for this append's group or
    /// while recovering from an earlier failure: nothing of the append is stored, and the
    /// sender should retry later. The writer cuts the active segment back to its durable end
    /// and starts a fresh one before it writes again ([`Wal::is_degraded`] until then).
    #[error("the write-ahead log cannot be written now; nothing of the batch is stored")]
    Unavailable(#[source] Arc<Error>),
}

/// One append on its way to the writer thread.
struct Append {
    site: String,
    batch_id: Option<String>,
    events: u32,
    ipc: Vec<u8>,
    reply: oneshot::Sender<Result<Appended, AppendError>>,
}

/// State shared by the writer thread, the flusher and the status readers.
struct Shared {
    dir: PathBuf,
    wal_bytes_max: u64,
    batch_id_window: Duration,
    /// Segments by first sequence number; the last one is the one being written.
    segments: Mutex<Vec<Segment>>,
    /// The last record that is durable.
    durable_seq: AtomicU64,
    /// Bytes of all segment files.
    wal_bytes: AtomicU64,
    /// Records appended since start-up (duplicates not counted).
    records_appended: AtomicU64,
    /// Events appended since start-up (duplicates not counted).
    events_appended: AtomicU64,
    /// Set while a write or sync has failed and the writer has not yet recovered (appends are
    /// refused with [`AppendError::Unavailable`]).
    degraded: AtomicBool,
    /// Wakes the flusher when records become durable.
    durable: Notify,
}

/// The write-ahead log. Cheap to share behind an `Arc`.
pub struct Wal {
    shared: Arc<Shared>,
    sender: Mutex<Option<mpsc::Sender<Append>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// What [`Wal::open`] found on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Segment files found.
    pub segments: u64,
    /// Records found.
    pub records: u64,
    /// Bytes of torn tail cut from the last segment.
    pub torn_bytes: u64,
    /// The last sequence number found.
    pub last_seq: u64,
}

impl Wal {
    /// Opens the WAL in `options.dir` (creating it), cuts a torn tail, rebuilds the batch id
    /// window, and starts the writer thread. Records whose `seq <= committed_seq` are already in
    /// the table; they count only for the batch id window.
    pub fn open(options: &WalOptions) -> Result<(Self, Recovery)> {
        let dir = options.dir.clone();
        std::fs::create_dir_all(&dir).map_err(|source| Error::Wal {
            path: dir.clone(),
            source,
        })?;
        let found = list_segments(&dir)?;
        let mut recovery = Recovery {
            segments: found.len() as u64,
            ..Recovery::default()
        };
        let mut segments = Vec::new();
        let mut window = BatchWindow::new(options.batch_id_window, options.batch_ids_max);
        let mut next_seq = found.first().map_or(1, |(first_seq, _)| *first_seq);
        for (index, (first_seq, path)) in found.iter().enumerate() {
            let is_last = index + 1 == found.len();
            if *first_seq != next_seq {
                return Err(Error::WalDamaged {
                    path: path.clone(),
                    offset: 0,
                    reason: format!("segment starts at record {first_seq}, expected {next_seq}"),
                });
            }
            let scanned = scan_segment(*first_seq, path)?;
            if scanned.torn_bytes > 0 {
                // Only the end of the last segment can be a write a crash interrupted: bad
                // bytes anywhere else, or with a whole later record after them, are damage to
                // records that may have been acknowledged.
                if !is_last {
                    return Err(Error::WalDamaged {
                        path: path.clone(),
                        offset: scanned.segment.bytes,
                        reason: format!(
                            "{} bytes that are not whole records in a closed segment; {}",
                            scanned.torn_bytes,
                            scanned.what_follows()
                        ),
                    });
                }
                if scanned.after_bad_bytes.is_some() {
                    return Err(Error::WalDamaged {
                        path: path.clone(),
                        offset: scanned.segment.bytes,
                        reason: format!(
                            "bytes that are not a whole record, not a torn tail: {}",
                            scanned.what_follows()
                        ),
                    });
                }
                recovery.torn_bytes = scanned.torn_bytes;
                cut_torn_tail(&scanned.segment)?;
            }
            for record in &scanned.records {
                if let Some(batch_id) = &record.batch_id {
                    window.insert(&record.site, batch_id, record.seq, record.appended_at_ms);
                }
            }
            recovery.records += scanned.records.len() as u64;
            next_seq = scanned.segment.last_seq + 1;
            segments.push(scanned.segment);
        }
        recovery.last_seq = next_seq - 1;
        // A segment whose header a crash interrupted is recreated by the writer; so is a first
        // segment.
        let active_file = match segments.last() {
            Some(last) if last.bytes >= segment::SEGMENT_MAGIC.len() as u64 => {
                Some(open_for_append(last)?)
            }
            _ => {
                if let Some(broken) = segments.pop() {
                    std::fs::remove_file(&broken.path).map_err(|source| Error::Wal {
                        path: broken.path.clone(),
                        source,
                    })?;
                }
                None
            }
        };
        let (file, active) = match active_file {
            Some(file) => (file, segments.pop().expect("checked above")),
            None => segment::create_segment(&dir, next_seq)?,
        };
        let wal_bytes = segments.iter().map(|s| s.bytes).sum::<u64>() + active.bytes;
        segments.push(active);
        let shared = Arc::new(Shared {
            dir,
            wal_bytes_max: options.wal_bytes_max,
            batch_id_window: options.batch_id_window,
            segments: Mutex::new(segments),
            durable_seq: AtomicU64::new(recovery.last_seq),
            wal_bytes: AtomicU64::new(wal_bytes),
            records_appended: AtomicU64::new(0),
            events_appended: AtomicU64::new(0),
            degraded: AtomicBool::new(false),
            durable: Notify::new(),
        });
        let (sender, receiver) = mpsc::channel(options.append_queue_max.max(1));
        let thread = writer::spawn(Arc::clone(&shared), file, receiver, window, options.clone())?;
        Ok((
            Self {
                shared,
                sender: Mutex::new(Some(sender)),
                thread: Mutex::new(Some(thread)),
            },
            recovery,
        ))
    }

    /// Appends `events` (an IPC batch message of `events` rows, all of `site`) and returns once
    /// the record is durable, or once a batch id already seen within the window is recognised.
    pub async fn append(
        &self,
        site: &str,
        batch_id: Option<&str>,
        events: u32,
        ipc: Vec<u8>,
    ) -> Result<Appended, AppendError> {
        if site.len() > record::NAME_BYTES_MAX
            || batch_id.is_some_and(|id| id.len() > record::NAME_BYTES_MAX)
        {
            return Err(AppendError::NameTooLong {
                max: record::NAME_BYTES_MAX,
            });
        }
        let bytes = (ipc.len() + site.len() + batch_id.map_or(0, str::len) + 64) as u64;
        if bytes > RECORD_BODY_BYTES_MAX as u64 {
            return Err(AppendError::RecordTooLarge {
                bytes,
                max: RECORD_BODY_BYTES_MAX as u64,
            });
        }
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(AppendError::ShuttingDown)?;
        let (reply, answer) = oneshot::channel();
        let append = Append {
            site: site.to_owned(),
            batch_id: batch_id.map(str::to_owned),
            events,
            ipc,
            reply,
        };
        sender
            .send(append)
            .await
            .map_err(|_| AppendError::ShuttingDown)?;
        answer.await.map_err(|_| AppendError::ShuttingDown)?
    }

    /// Stops taking appends and waits until the writer thread has answered every append it
    /// took.
    pub fn close(&self) {
        self.sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            thread.join().expect("the WAL writer thread does not panic");
        }
        // Wake the flusher so it sees that nothing more will come.
        self.shared.durable.notify_one();
    }

    /// The last durable record.
    pub fn durable_seq(&self) -> u64 {
        self.shared.durable_seq.load(Ordering::Acquire)
    }

    /// Waits until records past `seq` are durable (or the WAL closes, or a spurious wake-up).
    pub async fn wait_past(&self, seq: u64) {
        let notified = self.shared.durable.notified();
        if self.durable_seq() > seq {
            return;
        }
        notified.await;
    }

    /// Wakes whoever waits in [`Wal::wait_past`].
    pub fn wake(&self) {
        self.shared.durable.notify_one();
    }

    /// Bytes of all segment files.
    pub fn bytes(&self) -> u64 {
        self.shared.wal_bytes.load(Ordering::Relaxed)
    }

    /// The byte bound.
    pub fn bytes_max(&self) -> u64 {
        self.shared.wal_bytes_max
    }

    /// Segment files.
    pub fn segments(&self) -> usize {
        self.shared
            .segments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Records and events appended since start-up.
    pub fn appended(&self) -> (u64, u64) {
        (
            self.shared.records_appended.load(Ordering::Relaxed),
            self.shared.events_appended.load(Ordering::Relaxed),
        )
    }

    /// Whether a write or sync failed and the writer has not recovered yet: appends are refused
    /// as [`AppendError::Unavailable`] until it has (it retries every
    /// [`RECOVERY_RETRY_INTERVAL`] while idle, and before every group).
    pub fn is_degraded(&self) -> bool {
        self.shared.degraded.load(Ordering::Relaxed)
    }

    /// A reader of durable records from `first_seq` on.
    pub fn reader(&self, first_seq: u64) -> WalReader {
        WalReader {
            shared: Arc::clone(&self.shared),
            next_seq: first_seq.max(1),
            file: None,
        }
    }

    /// Deletes closed segments whose records are all committed (`seq <= committed_seq`) and
    /// older than the batch id window; when the WAL holds more than half its byte bound, the
    /// window gives way and every committed closed segment goes.
    pub fn release_through(&self, committed_seq: u64, now_ms: i64) -> Result<()> {
        let pressed = self.bytes() > self.shared.wal_bytes_max / 2;
        let window_ms = self.shared.batch_id_window.as_millis() as i64;
        let removable: Vec<Segment> = {
            let segments = self
                .shared
                .segments
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let closed = &segments[..segments.len() - 1];
            closed
                .iter()
                .take_while(|segment| segment.last_seq <= committed_seq)
                .take_while(|segment| pressed || segment.last_appended_at_ms + window_ms < now_ms)
                .cloned()
                .collect()
        };
        for segment in &removable {
            std::fs::remove_file(&segment.path).map_err(|source| Error::Wal {
                path: segment.path.clone(),
                source,
            })?;
            let mut segments = self
                .shared
                .segments
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            segments.retain(|kept| kept.first_seq != segment.first_seq);
            self.shared
                .wal_bytes
                .fetch_sub(segment.bytes, Ordering::Relaxed);
        }
        if !removable.is_empty() {
            segment::sync_directory(&self.shared.dir)?;
        }
        Ok(())
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.close();
    }
}

fn open_for_append(segment: &Segment) -> Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&segment.path)
        .map_err(|source| Error::Wal {
            path: segment.path.clone(),
            source,
        })
}

/// Cuts a segment to its last whole record and syncs it, so the cut survives another crash.
fn cut_torn_tail(segment: &Segment) -> Result<()> {
    let io = |source| Error::Wal {
        path: segment.path.clone(),
        source,
    };
    let file = open_for_append(segment)?;
    file.set_len(segment.bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads durable records in order, across segments.
pub struct WalReader {
    shared: Arc<Shared>,
    next_seq: u64,
    /// The open segment: its first sequence number, the file, the offset of `next_seq`.
    file: Option<(u64, File, u64)>,
}

impl WalReader {
    /// The sequence number of the next record to read.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The next durable record, or `None` when every durable record has been read.
    pub fn next_record(&mut self) -> Result<Option<WalRecord>> {
        loop {
            if self.next_seq > self.shared.durable_seq.load(Ordering::Acquire) {
                return Ok(None);
            }
            let segment = {
                let segments = self
                    .shared
                    .segments
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                segments
                    .iter()
                    .rev()
                    .find(|segment| segment.first_seq <= self.next_seq)
                    .cloned()
            };
            let Some(segment) = segment else {
                return Err(Error::WalDamaged {
                    path: self.shared.dir.clone(),
                    offset: 0,
                    reason: format!("no segment holds record {}", self.next_seq),
                });
            };
            if self.file.as_ref().map(|(first, ..)| *first) != Some(segment.first_seq) {
                let file = File::open(&segment.path).map_err(|source| Error::Wal {
                    path: segment.path.clone(),
                    source,
                })?;
                self.file = Some((segment.first_seq, file, segment::SEGMENT_MAGIC.len() as u64));
            }
            let (_, file, offset) = self.file.as_mut().expect("opened above");
            let record = read_record_at(file, *offset, segment.bytes, &segment.path)?;
            *offset += record.frame_bytes() as u64;
            if record.seq < self.next_seq {
                continue; // committed before a restart; skip to where reading starts
            }
            if record.seq != self.next_seq {
                return Err(Error::WalDamaged {
                    path: segment.path.clone(),
                    offset: *offset,
                    reason: format!("found record {}, expected {}", record.seq, self.next_seq),
                });
            }
            self.next_seq += 1;
            return Ok(Some(record));
        }
    }
}

/// Reads the record at `offset` of a segment of `durable_bytes` valid bytes.
fn read_record_at(file: &File, offset: u64, durable_bytes: u64, path: &Path) -> Result<WalRecord> {
    let damaged = |reason: &str| Error::WalDamaged {
        path: path.to_path_buf(),
        offset,
        reason: reason.to_owned(),
    };
    let io = |source| Error::Wal {
        path: path.to_path_buf(),
        source,
    };
    let mut header = [0u8; FRAME_HEADER_BYTES];
    if offset + FRAME_HEADER_BYTES as u64 > durable_bytes {
        return Err(damaged("a durable record is missing"));
    }
    file.read_exact_at(&mut header, offset).map_err(io)?;
    let body_len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
    if body_len > RECORD_BODY_BYTES_MAX
        || offset + (FRAME_HEADER_BYTES + body_len) as u64 > durable_bytes
    {
        return Err(damaged("a record's length runs past the durable end"));
    }
    let mut frame = vec![0u8; FRAME_HEADER_BYTES + body_len];
    file.read_exact_at(&mut frame, offset).map_err(io)?;
    match read_frame(&frame) {
        Frame::Record(record, _) => Ok(*record),
        Frame::End | Frame::Torn => Err(damaged("a durable record fails its checksum")),
    }
}

/// Batch ids seen recently, per site, with the record that holds each batch.
struct BatchWindow {
    window_ms: i64,
    ids_max: usize,
    seq_of: HashMap<(String, String), u64>,
    /// Keys in insertion order, with when they were appended and their record.
    order: VecDeque<((String, String), i64, u64)>,
}

impl BatchWindow {
    fn new(window: Duration, ids_max: usize) -> Self {
        Self {
            window_ms: window.as_millis() as i64,
            ids_max: ids_max.max(1),
            seq_of: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The record holding `batch_id` of `site`, if seen within the window.
    fn get(&mut self, site: &str, batch_id: &str, now_ms: i64) -> Option<u64> {
        self.expire(now_ms);
        self.seq_of
            .get(&(site.to_owned(), batch_id.to_owned()))
            .copied()
    }

    fn insert(&mut self, site: &str, batch_id: &str, seq: u64, appended_at_ms: i64) {
        let key = (site.to_owned(), batch_id.to_owned());
        self.seq_of.insert(key.clone(), seq);
        self.order.push_back((key, appended_at_ms, seq));
        while self.order.len() > self.ids_max {
            self.forget_oldest();
        }
    }

    fn expire(&mut self, now_ms: i64) {
        while self
            .order
            .front()
            .is_some_and(|(_, at, _)| at + self.window_ms < now_ms)
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        // A key inserted again later stays for its later record.
        if let Some((key, _, seq)) = self.order.pop_front()
            && self.seq_of.get(&key) == Some(&seq)
        {
            self.seq_of.remove(&key);
        }
    }
}
