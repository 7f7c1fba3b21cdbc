//! The WAL on a disk that fails: a real full tmpfs (`write` fails) and a real ext4 whose
//! writeback fails (`fdatasync` fails). Appends are refused as retryable while the disk is
//! full, accepted again once it is not, without a restart; a reopened WAL holds every
//! acknowledged record exactly once and nothing that was refused.

use std::collections::BTreeMap;
use std::path::Path;

use heatlake_ingest::collector::{AppendError, Appended};
use heatlake_ingest::wal::record::encode_events;
use heatlake_ingest::wal::{Wal, WalOptions};

use crate::collector::events;
use crate::faulty_disk::{Filler, Mounted, SmallTmpfs, SyncFailingDisk};

const SITE: &str = "a.example";
/// Events per batch: enough that one record spans several pages, so that no record fits in
/// the slack of a page already allocated and a full disk refuses every one.
const EVENTS_PER_BATCH: i32 = 400;
/// Room of the small filesystems.
const DISK_BYTES: u64 = 4 << 20;
/// Appends refused while the disk is full, before it is freed.
const APPENDS_WHILE_FULL: u64 = 6;

/// Default options: segments far larger than the test writes, so that the first failure is a
/// write into the active segment (a part of it lands before `ENOSPC`), not the creation of the
/// next segment.
fn wal_options(dir: &Path) -> WalOptions {
    WalOptions::new(dir)
}

/// What became of each batch id.
#[derive(Default)]
struct Ledger {
    acknowledged: Vec<String>,
    refused: Vec<String>,
    next: u64,
}

impl Ledger {
    async fn append(&mut self, wal: &Wal) -> Result<Appended, AppendError> {
        let batch_id = format!("b-{}", self.next);
        self.next += 1;
        self.append_id(wal, batch_id).await
    }

    async fn append_id(&mut self, wal: &Wal, batch_id: String) -> Result<Appended, AppendError> {
        let batch = events(SITE, 1, 0, EVENTS_PER_BATCH, false);
        let ipc = encode_events(&batch).unwrap();
        let answer = wal
            .append(SITE, Some(&batch_id), EVENTS_PER_BATCH as u32, ipc)
            .await;
        match &answer {
            Ok(Appended::Stored) => self.acknowledged.push(batch_id),
            Ok(Appended::Duplicate) => panic!("{batch_id} was never stored before"),
            Err(AppendError::Unavailable(_)) => self.refused.push(batch_id),
            Err(other) => panic!("{batch_id}: {other}"),
        }
        answer
    }
}

/// The batch ids of every record in the WAL at `dir`, opened afresh, in order, with how often
/// each occurs.
fn reopened_batch_ids(dir: &Path) -> (Vec<String>, BTreeMap<String, usize>) {
    let (wal, recovery) = Wal::open(&wal_options(dir)).expect("the WAL opens after the faults");
    assert_eq!(recovery.torn_bytes, 0, "recovery left no torn tail");
    let mut reader = wal.reader(1);
    let mut ids = Vec::new();
    let mut counts = BTreeMap::new();
    while let Some(record) = reader.next_record().unwrap() {
        let id = record.batch_id.expect("every test record has a batch id");
        *counts.entry(id.clone()).or_insert(0) += 1;
        ids.push(id);
    }
    wal.close();
    (ids, counts)
}

/// The bytes of the segment files in `dir`.
fn segment_bytes_on_disk(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wal"))
        .map(|path| std::fs::metadata(path).unwrap().len())
        .sum()
}

/// How a full disk shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refusals {
    /// From the first append on, every one is refused and the WAL stays degraded: a tmpfs with
    /// no free page cannot take a record that needs one, nor a fresh segment.
    Every,
    /// Within [`APPENDS_TO_FIRST_REFUSAL_MAX`] appends: ext4 may still place a record, or a
    /// fresh segment, in blocks whose backing pages exist (a stored record is durable, so that
    /// is right), so how soon and how often writeback fails is up to the allocator.
    Eventually,
}

/// Appends while the disk is full before the first refusal, at most, for
/// [`Refusals::Eventually`].
const APPENDS_TO_FIRST_REFUSAL_MAX: u64 = 40;

/// Appends, fills the disk (through `fill`), appends, frees it, appends again, and checks the
/// answers and what a reopened WAL holds.
async fn refuse_while_full_then_recover(
    wal_dir: &Path,
    refusals: Refusals,
    fill: impl FnOnce() -> Filler,
) {
    let (wal, _) = Wal::open(&wal_options(wal_dir)).unwrap();
    let mut ledger = Ledger::default();
    let frame = encode_events(&events(SITE, 1, 0, EVENTS_PER_BATCH, false))
        .unwrap()
        .len();
    assert!(frame > 3 * 4096, "a record spans pages: {frame} bytes");
    for _ in 0..8 {
        assert_eq!(ledger.append(&wal).await.unwrap(), Appended::Stored);
    }

    let filler = fill();
    let mut appends_while_full = 0;
    while (ledger.refused.len() as u64) < APPENDS_WHILE_FULL {
        appends_while_full += 1;
        let answer = ledger.append(&wal).await;
        if refusals == Refusals::Every {
            let refused = answer.unwrap_err();
            assert!(
                matches!(refused, AppendError::Unavailable(_)),
                "{refused:?}"
            );
            assert!(wal.is_degraded(), "the WAL says it is degraded");
        }
        assert!(
            appends_while_full <= APPENDS_TO_FIRST_REFUSAL_MAX + APPENDS_WHILE_FULL,
            "the full disk refused only {} of {appends_while_full} appends",
            ledger.refused.len()
        );
    }
    assert_eq!(ledger.refused.len() as u64, APPENDS_WHILE_FULL);
    assert_eq!(
        wal.bytes(),
        segment_bytes_on_disk(wal_dir),
        "wal_bytes counts what is on disk"
    );

    filler.remove();
    // The very next append is stored: no restart, no waiting for a timer.
    assert_eq!(ledger.append(&wal).await.unwrap(), Appended::Stored);
    assert!(!wal.is_degraded());
    // The refused batches, retried by their senders: stored now, once.
    for batch_id in ledger.refused.clone() {
        assert_eq!(
            ledger.append_id(&wal, batch_id).await.unwrap(),
            Appended::Stored
        );
    }
    for _ in 0..8 {
        assert_eq!(ledger.append(&wal).await.unwrap(), Appended::Stored);
    }
    assert_eq!(wal.bytes(), segment_bytes_on_disk(wal_dir));
    assert!(wal.segments() >= 2, "recovery started a fresh segment");
    wal.close();
    drop(wal);

    let (ids, counts) = reopened_batch_ids(wal_dir);
    assert_eq!(
        ids, ledger.acknowledged,
        "the WAL holds exactly the acknowledged records, in order"
    );
    let twice: Vec<_> = counts.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "records stored twice: {twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_appends_as_retryable_and_they_succeed_once_space_returns() {
    let tmpfs = match SmallTmpfs::mount_or_rerun(
        DISK_BYTES,
        "wal_faults::a_full_disk_refuses_appends_as_retryable_and_they_succeed_once_space_returns",
    ) {
        Mounted::Here(tmpfs) => tmpfs,
        Mounted::Elsewhere => return,
    };
    let wal_dir = tmpfs.path().join("wal");
    let filler_path = tmpfs.path().join("filler");
    refuse_while_full_then_recover(&wal_dir, Refusals::Every, || Filler::fill(filler_path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_refuses_its_group_and_nothing_of_it_is_replayed() {
    let Some(disk) = SyncFailingDisk::mount(DISK_BYTES) else {
        return;
    };
    let wal_dir = disk.path().join("wal");
    let filler_path = disk.backing().join("filler");
    refuse_while_full_then_recover(&wal_dir, Refusals::Eventually, || Filler::fill(filler_path))
        .await;
}
