//! WAL segment files: naming, the file header, and scanning a segment at start-up.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::record::{Frame, WalRecord, find_record, read_frame};
use crate::{Error, Result};

/// The first bytes of every segment file: a name and a format version.
pub const SEGMENT_MAGIC: &[u8; 8] = b"HLWAL001";
/// The extension of segment files.
const SEGMENT_EXTENSION: &str = "wal";

/// A segment file and what it holds.
#[derive(Debug, Clone)]
pub struct Segment {
    /// The sequence number of its first record (also in its file name).
    pub first_seq: u64,
    /// Its path.
    pub path: PathBuf,
    /// Bytes of valid, fsynced content (header included).
    pub bytes: u64,
    /// The sequence number of its last record; `first_seq - 1` while it holds none.
    pub last_seq: u64,
    /// When its last record was appended, ms since the Unix epoch.
    pub last_appended_at_ms: i64,
}

/// The path of the segment whose first record is `first_seq`.
pub fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}.{SEGMENT_EXTENSION}"))
}

/// The segment files in `dir`, by first sequence number.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let io = |source| Error::Wal {
        path: dir.to_path_buf(),
        source,
    };
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().and_then(|e| e.to_str()) != Some(SEGMENT_EXTENSION) {
            continue;
        }
        let Some(first_seq) = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .and_then(|stem| stem.parse::<u64>().ok())
        else {
            continue;
        };
        segments.push((first_seq, path));
    }
    segments.sort();
    Ok(segments)
}

/// Creates an empty segment file, header written and fsynced, and fsyncs the directory so the
/// new name survives a crash. When a step fails (a full disk) the file is removed again, so a
/// failed attempt leaves nothing behind for the byte count to miss.
pub fn create_segment(dir: &Path, first_seq: u64) -> Result<(File, Segment)> {
    let path = segment_path(dir, first_seq);
    let io = |source| Error::Wal {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .read(true)
        .open(&path)
        .map_err(io)?;
    let written = file
        .write_all(SEGMENT_MAGIC)
        .and_then(|()| file.sync_all())
        .map_err(io)
        .and_then(|()| sync_directory(dir));
    if let Err(error) = written {
        // Best effort: a leftover without its whole header is removed at the next start.
        let _ = std::fs::remove_file(&path);
        return Err(error);
    }
    let segment = Segment {
        first_seq,
        path: path.clone(),
        bytes: SEGMENT_MAGIC.len() as u64,
        last_seq: first_seq - 1,
        last_appended_at_ms: 0,
    };
    Ok((file, segment))
}

/// Makes directory entry changes (a created or removed file) durable.
pub fn sync_directory(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|directory| directory.sync_all())
        .map_err(|source| Error::Wal {
            path: dir.to_path_buf(),
            source,
        })
}

/// What a scan of one segment found.
pub struct Scanned {
    /// The segment, its length cut to the last whole record.
    pub segment: Segment,
    /// Its records, without their events (site, batch id and sequence number only).
    pub records: Vec<WalRecord>,
    /// Bytes after the last whole record: the torn tail of an interrupted write, unless
    /// [`Scanned::after_bad_bytes`] found a record after them.
    pub torn_bytes: u64,
    /// The first whole record after the bad bytes with a later sequence number, and its
    /// offset: when there is one, the bad bytes are damage, not a torn tail.
    pub after_bad_bytes: Option<(u64, u64)>,
}

impl Scanned {
    /// What follows the bad bytes, for an error message.
    pub fn what_follows(&self) -> String {
        match self.after_bad_bytes {
            Some((offset, seq)) => {
                let expected = self.segment.last_seq + 1;
                let lost = if seq > expected {
                    format!("records {expected}..={} are unreadable", seq - 1)
                } else {
                    "no record is missing".to_owned()
                };
                format!("record {seq} is whole at byte {offset} after them ({lost})")
            }
            None => "nothing readable follows them".to_owned(),
        }
    }
}

/// Reads a segment, checking every record's checksum and that sequence numbers follow on.
/// Record events are dropped from the result (the flusher reads them again when it needs
/// them), so a scan holds one segment in memory at a time.
pub fn scan_segment(first_seq: u64, path: &Path) -> Result<Scanned> {
    let bytes = std::fs::read(path).map_err(|source| Error::Wal {
        path: path.to_path_buf(),
        source,
    })?;
    let mut segment = Segment {
        first_seq,
        path: path.to_path_buf(),
        bytes: 0,
        last_seq: first_seq - 1,
        last_appended_at_ms: 0,
    };
    if bytes.len() < SEGMENT_MAGIC.len() || &bytes[..SEGMENT_MAGIC.len()] != SEGMENT_MAGIC {
        // Only a crash while the file was being created leaves a segment without its header.
        return Ok(Scanned {
            segment,
            records: Vec::new(),
            torn_bytes: bytes.len() as u64,
            after_bad_bytes: None,
        });
    }
    let mut offset = SEGMENT_MAGIC.len();
    let mut records = Vec::new();
    while let Frame::Record(mut record, used) = read_frame(&bytes[offset..]) {
        if record.seq != segment.last_seq + 1 {
            return Err(Error::WalDamaged {
                path: path.to_path_buf(),
                offset: offset as u64,
                reason: format!("record {} follows record {}", record.seq, segment.last_seq),
            });
        }
        segment.last_seq = record.seq;
        segment.last_appended_at_ms = record.appended_at_ms;
        record.ipc = Vec::new();
        records.push(*record);
        offset += used;
    }
    segment.bytes = offset as u64;
    let after_bad_bytes = if offset < bytes.len() {
        let after = segment.last_seq + 1;
        // No more records can follow than could fit in the rest of the file.
        let most = after + (bytes.len() - offset) as u64;
        find_record(&bytes, offset + 1, after..=most)
            .map(|(found, record)| (found as u64, record.seq))
    } else {
        None
    };
    Ok(Scanned {
        segment,
        records,
        torn_bytes: (bytes.len() - offset) as u64,
        after_bad_bytes,
    })
}
