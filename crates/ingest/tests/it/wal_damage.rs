//! A damaged record in the middle of the WAL is not a torn tail: opening refuses it, naming the
//! file and offset; `salvage` drops exactly the damaged bytes, keeps the records after them and
//! says which record was lost; a real torn tail is still cut silently.

use std::path::{Path, PathBuf};

use heatlake_ingest::Error;
use heatlake_ingest::collector::{Appended, Collector};
use heatlake_ingest::wal::record::{FRAME_HEADER_BYTES, encode_events};
use heatlake_ingest::wal::salvage::{Dropped, salvage};
use heatlake_ingest::wal::{Wal, WalOptions};

use crate::collector::{events, expected, options, stored, table_in};

const SITE: &str = "a.example";

/// Appends records `b-1..=b-count` (record n holds 3 events of page view n) to a fresh WAL in
/// `dir` and closes it.
async fn wal_with_records(dir: &Path, count: u64, segment_bytes_max: u64) {
    let mut options = WalOptions::new(dir);
    options.segment_bytes_max = segment_bytes_max;
    let (wal, _) = Wal::open(&options).unwrap();
    for n in 1..=count {
        let ipc = encode_events(&events(SITE, n as i64, 0, 3, false)).unwrap();
        let answer = wal.append(SITE, Some(&format!("b-{n}")), 3, ipc).await;
        assert_eq!(answer.unwrap(), Appended::Stored);
    }
    wal.close();
}

/// The segment files of `dir`, in order.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wal"))
        .collect();
    paths.sort();
    paths
}

/// Where each frame of a segment starts, read from the frames' length fields.
fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut offset = 8; // the segment header
    while offset + FRAME_HEADER_BYTES <= bytes.len() {
        offsets.push(offset);
        let body = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        offset += FRAME_HEADER_BYTES + body;
    }
    offsets
}

/// Flips one byte in the middle of the body of the segment's `index`th frame (from 0); returns
/// the frame's offset and length.
fn damage_frame(segment: &Path, index: usize) -> (usize, usize) {
    let mut bytes = std::fs::read(segment).unwrap();
    let offsets = frame_offsets(&bytes);
    let start = offsets[index];
    let end = offsets.get(index + 1).copied().unwrap_or(bytes.len());
    bytes[start + (end - start) / 2] ^= 0x55;
    std::fs::write(segment, &bytes).unwrap();
    (start, end - start)
}

fn open_error(dir: &Path) -> Error {
    match Wal::open(&WalOptions::new(dir)) {
        Ok(_) => panic!("the WAL opened over damage"),
        Err(error) => error,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_record_before_whole_ones_stops_the_open_naming_file_offset_and_what_follows() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path().join("wal");
    wal_with_records(&dir, 5, 64 << 20).await;
    let segment = &segments(&dir)[0];
    let (offset, length) = damage_frame(segment, 2);
    let before = std::fs::read(segment).unwrap();

    let error = open_error(&dir);
    let Error::WalDamaged {
        path,
        offset: at,
        reason,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((path, *at), (segment, offset as u64));
    assert_eq!(
        reason,
        &format!(
            "bytes that are not a whole record, not a torn tail: record 4 is whole at byte {} \
             after them (records 3..=3 are unreadable)",
            offset + length
        )
    );
    assert!(
        error.to_string().starts_with(&format!(
            "write-ahead log {} is damaged at byte {offset}",
            segment.display()
        )),
        "{error}"
    );
    assert_eq!(
        std::fs::read(segment).unwrap(),
        before,
        "a refused open changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_in_a_closed_segment_stops_the_open_even_with_nothing_whole_after_it() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path().join("wal");
    // About two records per segment.
    wal_with_records(&dir, 6, 4096).await;
    let all = segments(&dir);
    assert!(all.len() >= 3, "{all:?}");
    let bytes = std::fs::read(&all[0]).unwrap();
    let last = frame_offsets(&bytes).len() - 1;
    let (offset, _) = damage_frame(&all[0], last);
    let error = open_error(&dir);
    assert!(
        matches!(&error, Error::WalDamaged { path, offset: at, reason }
            if *path == all[0] && *at == offset as u64
                && reason.contains("in a closed segment; nothing readable follows them")),
        "{error:?}"
    );
}

#[test]
fn salvage_drops_the_damaged_record_keeps_the_later_ones_and_the_collector_commits_them() {
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let dir = directory.path().join("wal");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(wal_with_records(&dir, 5, 64 << 20));
    let segment = segments(&dir)[0].clone();
    let (offset, length) = damage_frame(&segment, 2);
    let damaged = std::fs::read(&segment).unwrap();

    let dry = salvage(&dir, true).unwrap();
    assert_eq!(
        std::fs::read(&segment).unwrap(),
        damaged,
        "a dry run changes nothing"
    );
    let report = salvage(&dir, false).unwrap();
    let copy = segment.with_extension("wal.damaged");
    assert_eq!(
        report.dropped,
        vec![Dropped {
            path: segment.clone(),
            offset: offset as u64,
            bytes: length as u64,
            lost_seqs: Some((3, 3)),
            torn_tail: false,
            kept_copy: Some(copy.clone()),
        }]
    );
    assert_eq!((report.records_kept, report.records_lost()), (4, 1));
    assert_eq!(dry.dropped.len(), 1);
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        damaged,
        "the damaged segment is kept"
    );
    assert_eq!(
        salvage(&dir, false).unwrap().dropped,
        vec![],
        "salvage is done once"
    );

    runtime.block_on(async {
        let collector = Collector::open(location.clone(), options(&dir))
            .await
            .unwrap();
        assert_eq!(
            collector.recovery().records,
            5,
            "four records and a placeholder"
        );
        assert_eq!(collector.recovery().torn_bytes, 0);
        // The lost batch, sent again: stored anew; a kept one is recognised.
        let resent = collector.append(SITE, Some("b-3"), events(SITE, 3, 0, 3, false));
        assert_eq!(resent.await.unwrap(), Appended::Stored);
        let kept = collector.append(SITE, Some("b-4"), events(SITE, 4, 0, 3, false));
        assert_eq!(kept.await.unwrap(), Appended::Duplicate);
        collector.shutdown().await.unwrap();
        let want: Vec<_> = (1..=5).flat_map(|n| expected(SITE, n, 0..3)).collect();
        assert_eq!(stored(&location).await, want);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_cut_short_at_the_end_is_a_torn_tail_cut_silently() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path().join("wal");
    wal_with_records(&dir, 5, 64 << 20).await;
    let segment = &segments(&dir)[0];
    let bytes = std::fs::read(segment).unwrap();
    let last = *frame_offsets(&bytes).last().unwrap();
    let cut = last + (bytes.len() - last) / 2;
    std::fs::write(segment, &bytes[..cut]).unwrap();

    let (wal, recovery) = Wal::open(&WalOptions::new(&dir)).unwrap();
    assert_eq!(
        (recovery.records, recovery.torn_bytes, recovery.last_seq),
        (4, (cut - last) as u64, 4)
    );
    assert_eq!(std::fs::metadata(segment).unwrap().len(), last as u64);
    wal.close();
    // Salvage finds nothing more to drop once the tail is cut.
    assert_eq!(salvage(&dir, false).unwrap().dropped, vec![]);
}
