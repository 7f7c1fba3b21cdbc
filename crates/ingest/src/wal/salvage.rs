//! Salvaging a damaged WAL: the explicit way past damage that [`super::Wal::open`] refuses.
//!
//! Each segment is read record by record. At bytes that are not the next whole record, reading
//! picks up at the next whole record with a later sequence number ([`find_record`]); the bytes
//! in between are dropped and reported, with the sequence numbers of the records they held.
//! Those numbers are taken by placeholder records ([`WalRecord::placeholder`]), so the WAL stays
//! a sequence without gaps and the table's transaction (the last record committed) keeps its
//! meaning. A segment that changes is first copied to `<segment>.damaged`, then replaced by its
//! salvaged version in one rename; an untouched segment is not rewritten.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::record::{Frame, WalRecord, find_record, read_frame};
use super::segment::{SEGMENT_MAGIC, list_segments, sync_directory};
use crate::{Error, Result};

/// The extension added to the copy of a segment salvage changed.
pub const DAMAGED_COPY_EXTENSION: &str = "damaged";

/// What [`salvage`] did (or would do, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SalvageReport {
    /// The WAL directory.
    pub dir: PathBuf,
    /// Segment files read.
    pub segments: u64,
    /// Whole records kept.
    pub records_kept: u64,
    /// Every run of bytes dropped, in WAL order.
    pub dropped: Vec<Dropped>,
    /// Whether nothing was changed.
    pub dry_run: bool,
}

impl SalvageReport {
    /// Records lost in all, where known.
    pub fn records_lost(&self) -> u64 {
        self.dropped
            .iter()
            .filter_map(|dropped| dropped.lost_seqs)
            .map(|(first, last)| last - first + 1)
            .sum()
    }
}

/// One run of bytes salvage dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// The segment file.
    pub path: PathBuf,
    /// Where the bytes start.
    pub offset: u64,
    /// How many bytes.
    pub bytes: u64,
    /// The sequence numbers (first, last) of the records the bytes held, when known: always
    /// before a whole record and at the end of a closed segment; not for a torn tail, whose
    /// records were never acknowledged.
    pub lost_seqs: Option<(u64, u64)>,
    /// Whether these are the end of the last segment with nothing whole after them: the tail of
    /// a write a crash interrupted, which start-up cuts too.
    pub torn_tail: bool,
    /// The copy of the segment as it was, when it was changed.
    pub kept_copy: Option<PathBuf>,
}

/// Drops the damaged bytes of the WAL in `dir` and reports what was dropped; with `dry_run`,
/// only reports. Run it with the collector stopped.
pub fn salvage(dir: &Path, dry_run: bool) -> Result<SalvageReport> {
    let found = list_segments(dir)?;
    let mut report = SalvageReport {
        dir: dir.to_path_buf(),
        segments: found.len() as u64,
        dry_run,
        ..SalvageReport::default()
    };
    for (index, (first_seq, path)) in found.iter().enumerate() {
        let next_first_seq = found.get(index + 1).map(|(next, _)| *next);
        let bytes = std::fs::read(path).map_err(|source| Error::Wal {
            path: path.clone(),
            source,
        })?;
        let salvaged = salvage_segment(path, &bytes, *first_seq, next_first_seq);
        report.records_kept += salvaged.records_kept;
        if salvaged.dropped.is_empty() {
            continue;
        }
        let mut dropped = salvaged.dropped;
        if !dry_run {
            let copy = replace_segment(dir, path, &bytes, &salvaged.bytes)?;
            for run in &mut dropped {
                run.kept_copy = Some(copy.clone());
            }
        }
        report.dropped.extend(dropped);
    }
    Ok(report)
}

/// One segment, salvaged in memory.
struct SalvagedSegment {
    bytes: Vec<u8>,
    records_kept: u64,
    dropped: Vec<Dropped>,
}

/// Reads `bytes` (the segment at `path`, whose first record is `first_seq`) and returns it
/// without its damaged bytes. `next_first_seq` is the first record of the next segment; `None`
/// for the last segment.
fn salvage_segment(
    path: &Path,
    bytes: &[u8],
    first_seq: u64,
    next_first_seq: Option<u64>,
) -> SalvagedSegment {
    let mut out = SEGMENT_MAGIC.to_vec();
    let mut records_kept = 0;
    let mut dropped = Vec::new();
    let mut expected = first_seq;
    // A header that is not ours is damage like any other bad bytes.
    let mut offset = if bytes.starts_with(SEGMENT_MAGIC) {
        SEGMENT_MAGIC.len()
    } else {
        0
    };
    let mut bad_from = (offset == 0 && !bytes.is_empty()).then_some(0);
    while offset < bytes.len() {
        if bad_from.is_none() {
            match read_frame(&bytes[offset..]) {
                Frame::Record(record, used) if record.seq == expected => {
                    out.extend_from_slice(&bytes[offset..offset + used]);
                    records_kept += 1;
                    expected += 1;
                    offset += used;
                    continue;
                }
                _ => bad_from = Some(offset),
            }
        }
        let from = bad_from.take().expect("set above");
        let most = next_first_seq.map_or(expected + bytes.len() as u64, |next| next - 1);
        let Some((found, record)) = find_record(bytes, from + 1, expected..=most) else {
            // Nothing whole follows: the rest goes.
            let lost_last = next_first_seq.map(|next| next - 1);
            dropped.push(Dropped {
                path: path.to_path_buf(),
                offset: from as u64,
                bytes: (bytes.len() - from) as u64,
                lost_seqs: lost_last
                    .filter(|last| *last >= expected)
                    .map(|last| (expected, last)),
                torn_tail: next_first_seq.is_none(),
                kept_copy: None,
            });
            for seq in expected..=lost_last.unwrap_or(expected - 1) {
                WalRecord::placeholder(seq).encode_into(&mut out);
            }
            break;
        };
        dropped.push(Dropped {
            path: path.to_path_buf(),
            offset: from as u64,
            bytes: (found - from) as u64,
            lost_seqs: (record.seq > expected).then(|| (expected, record.seq - 1)),
            torn_tail: false,
            kept_copy: None,
        });
        for seq in expected..record.seq {
            WalRecord::placeholder(seq).encode_into(&mut out);
        }
        expected = record.seq;
        offset = found;
    }
    SalvagedSegment {
        bytes: out,
        records_kept,
        dropped,
    }
}

/// Keeps a copy of the segment at `path` as it was (`original`), then replaces it with
/// `salvaged` in one rename, everything synced; returns the copy's path.
fn replace_segment(dir: &Path, path: &Path, original: &[u8], salvaged: &[u8]) -> Result<PathBuf> {
    let copy = path.with_extension(format!("wal.{DAMAGED_COPY_EXTENSION}"));
    let temporary = path.with_extension("wal.salvaging");
    write_synced(&copy, original)?;
    write_synced(&temporary, salvaged)?;
    std::fs::rename(&temporary, path).map_err(|source| Error::Wal {
        path: path.to_path_buf(),
        source,
    })?;
    sync_directory(dir)?;
    Ok(copy)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Wal {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::create(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}
