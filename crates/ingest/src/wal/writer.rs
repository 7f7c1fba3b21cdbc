//! The WAL writer thread: group commit.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use tokio::sync::mpsc;

use super::record::WalRecord;
use super::segment::create_segment;
use super::{Append, AppendError, Appended, BatchWindow, Shared, WalOptions};
use crate::{Error, Result};

/// Starts the thread that owns the active segment file.
pub(super) fn spawn(
    shared: Arc<Shared>,
    file: File,
    receiver: mpsc::Receiver<Append>,
    window: BatchWindow,
    options: WalOptions,
) -> Result<std::thread::JoinHandle<()>> {
    let mut writer = GroupWriter {
        shared,
        file,
        window,
        options,
        frames: Vec::new(),
    };
    std::thread::Builder::new()
        .name("heatlake-wal".into())
        .spawn(move || writer.run(receiver))
        .map_err(|source| Error::Wal {
            path: std::path::PathBuf::from("wal writer thread"),
            source,
        })
}

struct GroupWriter {
    shared: Arc<Shared>,
    file: File,
    window: BatchWindow,
    options: WalOptions,
    /// The encoded frames of the group being written, reused between groups.
    frames: Vec<u8>,
}

/// What becomes of one append of a group.
enum Outcome {
    Write(WalRecord),
    Answer(Result<Appended, AppendError>),
}

impl GroupWriter {
    fn run(&mut self, mut receiver: mpsc::Receiver<Append>) {
        while let Some(first) = receiver.blocking_recv() {
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
        if self.shared.failed.load(Ordering::Relaxed) {
            for append in group {
                let _ = append.reply.send(Err(AppendError::EarlierWriteFailed));
            }
            return;
        }
        let mut next_seq = self.shared.durable_seq.load(Ordering::Acquire) + 1;
        let mut group_bytes = 0u64;
        let wal_bytes = self.shared.wal_bytes.load(Ordering::Relaxed);
        let mut replies = Vec::with_capacity(group.len());
        let mut records = Vec::new();
        for append in group {
            let seen = append
                .batch_id
                .as_deref()
                .and_then(|id| self.window.get(&append.site, id, now_ms))
                .or_else(|| {
                    // A retry within this very group.
                    records.iter().find_map(|record: &WalRecord| {
                        (record.site == append.site
                            && record.batch_id.is_some()
                            && record.batch_id == append.batch_id)
                            .then_some(record.seq)
                    })
                });
            let outcome = if seen.is_some() {
                Outcome::Answer(Ok(Appended::Duplicate))
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
                    Outcome::Write(record)
                }
            };
            match outcome {
                Outcome::Write(record) => {
                    replies.push((append.reply, Ok(Appended::Stored)));
                    records.push(record);
                }
                Outcome::Answer(answer) => replies.push((append.reply, answer)),
            }
        }
        if !records.is_empty()
            && let Err(error) = self.write_records(&records, group_bytes, now_ms)
        {
            self.shared.failed.store(true, Ordering::Relaxed);
            let error = Arc::new(error);
            for (reply, answer) in replies {
                let answer = match answer {
                    Ok(Appended::Stored) => Err(AppendError::Write(Arc::clone(&error))),
                    other => other,
                };
                let _ = reply.send(answer);
            }
            return;
        }
        for record in &records {
            if let Some(batch_id) = &record.batch_id {
                self.window
                    .insert(&record.site, batch_id, record.seq, now_ms);
            }
        }
        for (reply, answer) in replies {
            // A sender that gave up waiting still has its events stored; nothing to undo.
            let _ = reply.send(answer);
        }
    }

    /// Writes the records after the active segment's durable end (starting a new segment first
    /// if this one is full), syncs, and publishes them as durable.
    fn write_records(&mut self, records: &[WalRecord], bytes: u64, now_ms: i64) -> Result<()> {
        let first_seq = records[0].seq;
        let last_seq = records[records.len() - 1].seq;
        let active = self.active_segment();
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
        let active = self.active_segment();
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

    fn active_segment(&self) -> super::segment::Segment {
        self.shared
            .segments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .cloned()
            .expect("there is an active segment")
    }
}
