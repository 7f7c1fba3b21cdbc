//! The WAL writer thread: group commit, and recovery from a failed write or sync.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::record::WalRecord;
use super::segment::{Segment, create_segment, sync_directory};
use super::{Append, AppendError, Appended, BatchWindow, Shared, WalOptions};
use crate::{Error, ErrorChain, Result};

/// While a failed write or sync is not yet recovered from, the writer tries again this often
/// when no append comes (and before every group), so the WAL becomes writable, and the
/// collector ready, again without traffic.
pub const RECOVERY_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Starts the thread that owns the active segment file.
pub(super) fn spawn(
    shared: Arc<Shared>,
    file: File,
    receiver: mpsc::Receiver<Append>,
    window: BatchWindow,
    options: WalOptions,
) -> Result<std::thread::JoinHandle<()>> {
    let thread_error = |source| Error::Wal {
        path: std::path::PathBuf::from("wal writer thread"),
        source,
    };
    // Only for the timed wait while degraded: appends arrive over an async channel.
    let timer = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(thread_error)?;
    let mut writer = GroupWriter {
        shared,
        file,
        window,
        options,
        frames: Vec::new(),
        failure: None,
    };
    std::thread::Builder::new()
        .name("heatlake-wal".into())
        .spawn(move || writer.run(receiver, &timer))
        .map_err(thread_error)
}

struct GroupWriter {
    shared: Arc<Shared>,
    /// The active segment, open for writing.
    file: File,
    window: BatchWindow,
    options: WalOptions,
    /// The encoded frames of the group being written, reused between groups.
    frames: Vec<u8>,
    /// The failure not yet recovered from: set by a failed write or sync,
    /// cleared by [`GroupWriter::recover`].
    failure: Option<Failure>,
}

/// A failed write or sync the writer has not recovered from.
struct Failure {
    since: Instant,
    /// Recovery attempts that failed.
    attempts: u64,
}

/// What becomes of one append of a group.
enum Outcome {
    /// A new record of the group.
    Write,
    /// A retry of a batch written earlier in this very group: answered as that record is.
    SameAs,
    /// Answered without a write.
    Answer(Result<Appended, AppendError>),
}

impl GroupWriter {
    fn run(&mut self, mut receiver: mpsc::Receiver<Append>, timer: &tokio::runtime::Runtime) {
        loop {
            let first = if self.failure.is_some() {
                // The timer is made inside the runtime, which it needs.
                let next = timer.block_on(async {
                    tokio::time::timeout(RECOVERY_RETRY_INTERVAL, receiver.recv()).await
                });
                match next {
                    Ok(Some(append)) => append,
                    Ok(None) => break,
                    Err(_idle) => {
                        let _ = self.recover();
                        continue;
                    }
                }
            } else {
                match receiver.blocking_recv() {
                    Some(append) => append,
                    None => break,
                }
            };
            let mut group = vec![first];
            while group.len() < self.options.group_records_max {
                match receiver.try_recv() {
                    Ok(append) => group.push(append),
                    Err(_) => break,
                }
            }
            self.write_group(group);
        }
    }

    fn write_group(&mut self, group: Vec<Append>) {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut next_seq = self.shared.durable_seq.load(Ordering::Acquire) + 1;
        let mut group_bytes = 0u64;
        let wal_bytes = self.shared.wal_bytes.load(Ordering::Relaxed);
        let mut replies = Vec::with_capacity(group.len());
        let mut records: Vec<WalRecord> = Vec::new();
        for append in group {
            let written_earlier = append
                .batch_id
                .as_deref()
                .and_then(|id| self.window.get(&append.site, id, now_ms));
            let in_this_group = || {
                records.iter().any(|record| {
                    record.site == append.site
                        && record.batch_id.is_some()
                        && record.batch_id == append.batch_id
                })
            };
            let outcome = if written_earlier.is_some() {
                Outcome::Answer(Ok(Appended::Duplicate))
            } else if in_this_group() {
                Outcome::SameAs
            } else {
                let record = WalRecord {
                    seq: next_seq,
                    appended_at_ms: now_ms,
                    site: append.site,
                    batch_id: append.batch_id,
                    events: append.events,
                    ipc: append.ipc,
                };
                let bytes = record.frame_bytes() as u64;
                if wal_bytes + group_bytes + bytes > self.shared.wal_bytes_max {
                    Outcome::Answer(Err(AppendError::WalFull {
                        wal_bytes: wal_bytes + group_bytes,
                        wal_bytes_max: self.shared.wal_bytes_max,
                    }))
                } else {
                    next_seq += 1;
                    group_bytes += bytes;
                    records.push(record);
                    Outcome::Write
                }
            };
            replies.push((append.reply, outcome));
        }
        let written = if records.is_empty() {
            Ok(())
        } else {
            self.recover()
                .and_then(|()| self.write_records(&records, group_bytes, now_ms))
                .map_err(|error| self.failed(error))
        };
        if written.is_ok() {
            for record in &records {
                if let Some(batch_id) = &record.batch_id {
                    self.window
                        .insert(&record.site, batch_id, record.seq, now_ms);
                }
            }
        }
        for (reply, outcome) in replies {
            let answer = match outcome {
                Outcome::Answer(answer) => answer,
                Outcome::Write => written.clone().map(|()| Appended::Stored),
                // The retry's events are the record's: stored once, with it, or not at all.
                Outcome::SameAs => written.clone().map(|()| Appended::Duplicate),
            };
            // A sender that gave up waiting still has its events stored; nothing to undo.
            let _ = reply.send(answer);
        }
    }

    /// Notes a failed write, sync or recovery and returns the error appends are refused with.
    /// Recovery is attempted at once, so the segment is cut back before the next group.
    fn failed(&mut self, error: Error) -> AppendError {
        let error = Arc::new(error);
        if self.failure.is_none() {
            tracing::error!(
                error = %ErrorChain(&*error),
                "writing the write-ahead log failed; appends are refused (503) until it recovers"
            );
            self.failure = Some(Failure {
                since: Instant::now(),
                attempts: 0,
            });
            self.shared.degraded.store(true, Ordering::Relaxed);
            let _ = self.recover();
        }
        AppendError::Unavailable(error)
    }

    /// After a failed write or sync: cuts the active segment back to its durable end (synced)
    /// and starts a fresh segment for the next group. A segment whose `fsync` failed is never
    /// written again: the kernel may have dropped its dirty pages, and a later `fsync` of it can
    /// succeed without them. Does nothing when no failure is pending.
    fn recover(&mut self) -> Result<()> {
        let Some(failure) = &mut self.failure else {
            return Ok(());
        };
        failure.attempts += 1;
        let attempt = fresh_segment_after_failure(&self.shared, &self.file);
        let failure = self.failure.as_mut().expect("checked above");
        match attempt {
            Ok(file) => {
                self.file = file;
                tracing::info!(
                    degraded_ms = failure.since.elapsed().as_millis() as u64,
                    attempts = failure.attempts,
                    "the write-ahead log recovered: its segment was cut back to the durable end and a fresh one started"
                );
                self.failure = None;
                self.shared.degraded.store(false, Ordering::Relaxed);
                Ok(())
            }
            Err(error) => {
                if failure.attempts == 1 {
                    tracing::warn!(
                        error = %ErrorChain(&error),
                        "recovering the write-ahead log failed; retrying every {RECOVERY_RETRY_INTERVAL:?} and before each group"
                    );
                }
                Err(Error::WalRecovery {
                    attempts: failure.attempts,
                    source: Box::new(error),
                })
            }
        }
    }

    /// Writes the records after the active segment's durable end (starting a new segment first
    /// if this one is full), syncs, and publishes them as durable.
    fn write_records(&mut self, records: &[WalRecord], bytes: u64, now_ms: i64) -> Result<()> {
        let first_seq = records[0].seq;
        let last_seq = records[records.len() - 1].seq;
        let active = active_segment(&self.shared);
        if active.bytes + bytes > self.options.segment_bytes_max
            && active.last_seq >= active.first_seq
        {
            let (file, segment) = create_segment(&self.shared.dir, first_seq)?;
            self.file = file;
            self.shared
                .wal_bytes
                .fetch_add(segment.bytes, Ordering::Relaxed);
            self.shared
                .segments
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(segment);
        }
        let active = active_segment(&self.shared);
        self.frames.clear();
        for record in records {
            record.encode_into(&mut self.frames);
        }
        let io = |source| Error::Wal {
            path: active.path.clone(),
            source,
        };
        // Write at the durable end: a failed earlier write may have left bytes after it.
        self.file.seek(SeekFrom::Start(active.bytes)).map_err(io)?;
        self.file.write_all(&self.frames).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        {
            let mut segments = self
                .shared
                .segments
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let segment = segments.last_mut().expect("there is an active segment");
            segment.bytes += self.frames.len() as u64;
            segment.last_seq = last_seq;
            segment.last_appended_at_ms = now_ms;
        }
        let events: u64 = records.iter().map(|record| u64::from(record.events)).sum();
        self.shared
            .wal_bytes
            .fetch_add(self.frames.len() as u64, Ordering::Relaxed);
        self.shared
            .records_appended
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        self.shared
            .events_appended
            .fetch_add(events, Ordering::Relaxed);
        self.shared.durable_seq.store(last_seq, Ordering::Release);
        self.shared.durable.notify_one();
        Ok(())
    }
}

/// The segment being written.
fn active_segment(shared: &Shared) -> Segment {
    shared
        .segments
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .last()
        .cloned()
        .expect("there is an active segment")
}

/// Cuts the active segment (open as `file`) back to its durable end and starts the next segment
/// after it, returning the new segment's file. A segment holding no record is replaced instead:
/// the fresh segment's name (its first record) is its name. Each step is idempotent, so a
/// recovery that fails halfway (the disk still full) is simply tried again.
fn fresh_segment_after_failure(shared: &Shared, file: &File) -> Result<File> {
    let active = active_segment(shared);
    let io = |source| Error::Wal {
        path: active.path.clone(),
        source,
    };
    let holds_records = active.last_seq >= active.first_seq;
    if holds_records {
        file.set_len(active.bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    } else if active.bytes > 0 {
        match std::fs::remove_file(&active.path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(io(source)),
        }
        sync_directory(&shared.dir)?;
        // The file is gone; its entry stays as the active segment until its successor exists.
        shared
            .segments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_mut()
            .expect("there is an active segment")
            .bytes = 0;
        shared.wal_bytes.fetch_sub(active.bytes, Ordering::Relaxed);
    }
    let (fresh_file, fresh) = create_segment(&shared.dir, active.last_seq + 1)?;
    shared.wal_bytes.fetch_add(fresh.bytes, Ordering::Relaxed);
    let mut segments = shared
        .segments
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if holds_records {
        segments.push(fresh);
    } else {
        *segments.last_mut().expect("there is an active segment") = fresh;
    }
    Ok(fresh_file)
}
