//! Crash tests: collectors are killed with SIGKILL under load and started again, over and
//! over, on a local table and on S3, one collector or two on one table, with compactions
//! killed beside them; afterwards every acknowledged event is in the table exactly once and
//! nothing of a refused batch is, as Heatlake and two independent readers see the table.
//!
//! The cycles take turns among four kill points, and the test proves that its kills exercise
//! what they name:
//! - every cycle acknowledges batches before its kill;
//! - under flushes: the cycle commits before its kill, which then lands at a random moment
//!   among further flushes and commits;
//! - WAL only: everything the cycle acknowledged is only in the WAL when it dies (checked
//!   against the table after the kill);
//! - at a checkpoint: the kill follows the commit after which the collector writes a
//!   checkpoint (every 50 commits), at once or a few milliseconds later, so that it lands
//!   before, while or after the checkpoint is written; the checkpoints found are counted;
//! - beside a compaction: a `heatlake compact` of the table runs when the collectors and it
//!   are killed together; kills that caught it running are counted and required.
//!
//! `HEATLAKE_CRASH_CYCLES` sets the cycles of all three tests together (40 by default: half
//! on a local table, a quarter on S3, a quarter with two collectors on S3);
//! `scripts/crash-test` runs 200.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::collector_load::{
    Collector, EVENTS_PER_BATCH, Load, TableLog, assert_exactly_once, write_config_of,
};
use crate::support::{S3Bucket, Sandbox};

/// Kill-and-restart cycles of the three tests together unless `HEATLAKE_CRASH_CYCLES` says
/// otherwise.
const CYCLES_DEFAULT: u64 = 40;
/// Sender threads.
const SENDERS: usize = 2;
/// Each sender's pause between batches on a local table: about 12,000 events a second.
const PAUSE_LOCAL: Duration = Duration::from_millis(4);
/// Each sender's pause between batches on S3: the test server takes a few commits a second,
/// and a load the flushes cannot keep up with would fill the WAL (then 503, by design).
const PAUSE_S3: Duration = Duration::from_millis(20);
/// Longest a compaction that a cycle lets finish may take.
const COMPACTION_TIMEOUT: Duration = Duration::from_secs(120);
/// Commits between checkpoints (`delta.checkpointInterval` of Heatlake's tables).
const CHECKPOINT_INTERVAL: u64 = 50;
/// Longest a cycle waits for its first acknowledgement, a commit or a checkpoint's commit.
const CYCLE_PROGRESS_TIMEOUT: Duration = Duration::from_secs(120);

/// A small deterministic generator for the kill moments (xorshift64*).
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        low + self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % (high - low)
    }
}

/// Where in the collectors' work a cycle's kill lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillPoint {
    /// Small, frequent flushes: the kill comes after this cycle's first commit, at a random
    /// moment, so it lands before, during or after the next flush and commit.
    UnderFlushes,
    /// No flush before the kill (the flush thresholds are out of reach): every event
    /// acknowledged in this cycle is only in the WAL when the process dies.
    WalOnly,
    /// Right after the commit that is followed by a checkpoint.
    AtCheckpoint,
    /// Beside `heatlake compact`: every other time while it rewrites the table, else just
    /// after it finished (which keeps the table's files few, as in a real deployment).
    BesideCompaction,
}

impl KillPoint {
    const ALL: [Self; 4] = [
        Self::UnderFlushes,
        Self::WalOnly,
        Self::AtCheckpoint,
        Self::BesideCompaction,
    ];

    fn of_cycle(cycle: u64) -> Self {
        Self::ALL[(cycle % Self::ALL.len() as u64) as usize]
    }

    fn collector_settings(self) -> &'static str {
        match self {
            // Small flushes, so that kills land before, during and after commits; a paced load,
            // so that commits keep up and a stop does not have thousands of small flushes to do.
            Self::UnderFlushes | Self::BesideCompaction => {
                "flush_rows_max = 2000\nflush_age_max_ms = 150"
            }
            // Commits as often as the load allows, to reach the next checkpoint soon.
            Self::AtCheckpoint => "flush_rows_max = 200\nflush_age_max_ms = 10",
            Self::WalOnly => "flush_rows_max = 100000000\nflush_age_max_ms = 3600000",
        }
    }
}

/// Which table the collectors write, and how many of them.
struct Setup {
    name: &'static str,
    sandbox: Sandbox,
    table: String,
    log: TableLog,
    collectors: usize,
    pause: Duration,
}

/// What the kills caught, for the proofs and the summary.
#[derive(Debug, Default)]
struct Caught {
    cycles: u64,
    after_commits: u64,
    with_only_logged_events: u64,
    at_checkpoints: u64,
    before_their_checkpoint_was_written: u64,
    beside_compactions: u64,
    during_compactions: u64,
    compactions_finished: u64,
}

/// The cycles of one test: its share of `HEATLAKE_CRASH_CYCLES` (`share` of 4).
fn cycles(share: u64) -> u64 {
    let total: u64 = std::env::var("HEATLAKE_CRASH_CYCLES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(CYCLES_DEFAULT);
    (total * share / 4).max(KillPoint::ALL.len() as u64)
}

fn seed() -> u64 {
    std::env::var("HEATLAKE_CRASH_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0x5EED_u64)
}

#[test]
fn killed_collectors_on_a_local_table_lose_no_acknowledged_event_and_store_none_twice() {
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("events");
    let log = TableLog::local(&sandbox.file("events"));
    run(
        Setup {
            name: "local",
            sandbox,
            table,
            log,
            collectors: 1,
            pause: PAUSE_LOCAL,
        },
        cycles(2),
    );
}

#[test]
fn killed_collectors_on_s3_lose_no_acknowledged_event_and_store_none_twice() {
    let sandbox = Sandbox::with_s3(S3Bucket::create("crash"));
    let table = sandbox.bucket().url("events");
    let log = TableLog::s3(sandbox.bucket(), "events");
    run(
        Setup {
            name: "s3",
            sandbox,
            table,
            log,
            collectors: 1,
            pause: PAUSE_S3,
        },
        cycles(1),
    );
}

#[test]
fn two_collectors_killed_on_one_s3_table_lose_no_acknowledged_event_and_store_none_twice() {
    let sandbox = Sandbox::with_s3(S3Bucket::create("crash-two"));
    let table = sandbox.bucket().url("events");
    let log = TableLog::s3(sandbox.bucket(), "events");
    run(
        Setup {
            name: "two collectors on s3",
            sandbox,
            table,
            log,
            collectors: 2,
            pause: PAUSE_S3,
        },
        cycles(1),
    );
}

/// Starts the setup's collectors with `kill_point`'s settings.
fn start_collectors(setup: &Setup, kill_point: KillPoint) -> Vec<Collector> {
    (0..setup.collectors)
        .map(|instance| {
            let config = write_config_of(
                &setup.sandbox,
                instance,
                &setup.table,
                kill_point.collector_settings(),
            );
            Collector::start(&setup.sandbox, &config, &[])
        })
        .collect()
}

/// `heatlake compact --table TABLE`, started.
fn start_compaction(setup: &Setup) -> Child {
    setup
        .sandbox
        .command()
        .args(["compact", "--table", &setup.table])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("heatlake compact starts")
}

/// Waits until the table's version is at least `version`; panics after `timeout`.
fn wait_for_version(log: &TableLog, version: u64, what: &str) {
    let deadline = Instant::now() + CYCLE_PROGRESS_TIMEOUT;
    while log.version().is_none_or(|current| current < version) {
        assert!(
            Instant::now() < deadline,
            "{what}: the table did not reach version {version} within {CYCLE_PROGRESS_TIMEOUT:?} (at {:?})",
            log.version()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn run(setup: Setup, cycles: u64) {
    let load = Load::start_paced(SENDERS, setup.pause);
    let mut moments = Moments(seed() | 1);
    let mut caught = Caught::default();
    let started = Instant::now();
    for cycle in 0..cycles {
        let kill_point = KillPoint::of_cycle(cycle);
        let what = format!("{}: cycle {cycle} ({kill_point:?})", setup.name);
        let version_before = setup.log.version();
        let acknowledged_before = load.acknowledged();
        let collectors = start_collectors(&setup, kill_point);
        load.targets(
            &collectors
                .iter()
                .map(|collector| Some(collector.address.clone()))
                .collect::<Vec<_>>(),
        );
        // Every cycle acknowledges something before its kill.
        load.wait_for_acknowledgements_past(acknowledged_before, CYCLE_PROGRESS_TIMEOUT, &what);
        let next_version = version_before.map_or(0, |version| version + 1);
        let mut compaction = None;
        let mut checkpoint_version = None;
        match kill_point {
            KillPoint::UnderFlushes => {
                // The table moves on between kills.
                wait_for_version(&setup.log, next_version, &what);
                std::thread::sleep(Duration::from_millis(moments.next_ms(1, 400)));
            }
            KillPoint::WalOnly => {
                std::thread::sleep(Duration::from_millis(moments.next_ms(50, 400)));
            }
            KillPoint::AtCheckpoint => {
                // The next commit whose version is a checkpoint's (49, 99, ...).
                let target =
                    next_version + (CHECKPOINT_INTERVAL - 1) - next_version % CHECKPOINT_INTERVAL;
                wait_for_version(&setup.log, target, &what);
                // At once every other time, which lands before the checkpoint is written; else
                // a moment later, which may land while or after it is.
                if caught.at_checkpoints % 2 == 1 {
                    std::thread::sleep(Duration::from_millis(moments.next_ms(1, 1500)));
                }
                checkpoint_version = Some(target);
            }
            KillPoint::BesideCompaction => {
                wait_for_version(&setup.log, next_version, &what);
                let mut child = start_compaction(&setup);
                if caught.beside_compactions % 2 == 1 {
                    let deadline = Instant::now() + COMPACTION_TIMEOUT;
                    let status = loop {
                        if let Some(status) = child.try_wait().expect("compact can be waited for") {
                            break status;
                        }
                        assert!(
                            Instant::now() < deadline,
                            "{what}: compaction still running"
                        );
                        std::thread::sleep(Duration::from_millis(10));
                    };
                    assert!(status.success(), "{what}: the compaction failed: {status}");
                }
                std::thread::sleep(Duration::from_millis(moments.next_ms(20, 200)));
                compaction = Some(child);
            }
        }
        let acknowledged_at_kill = load.acknowledged();
        // Killed with requests in flight: their senders see no answer and retry later. Two
        // collectors die a moment apart, the second still taking its batches.
        for (number, collector) in collectors.into_iter().enumerate() {
            if number > 0 {
                std::thread::sleep(Duration::from_millis(moments.next_ms(1, 100)));
            }
            collector.kill();
        }
        load.targets(&vec![None; setup.collectors]);
        if let Some(mut child) = compaction {
            let finished = child
                .try_wait()
                .expect("the compaction can be waited for")
                .is_some();
            let _ = child.kill();
            let _ = child.wait();
            caught.beside_compactions += 1;
            if finished {
                caught.compactions_finished += 1;
            } else {
                caught.during_compactions += 1;
            }
        }
        match kill_point {
            KillPoint::UnderFlushes | KillPoint::BesideCompaction => caught.after_commits += 1,
            KillPoint::AtCheckpoint => {
                caught.at_checkpoints += 1;
                let version = checkpoint_version.expect("set above");
                if !setup.log.has_checkpoint(version) {
                    caught.before_their_checkpoint_was_written += 1;
                }
            }
            KillPoint::WalOnly => {
                // The proof that this kill lost the process while acknowledged events were only
                // in the WAL: the table holds fewer events than were acknowledged before it.
                let committed = setup.sandbox.count(&setup.table);
                let acknowledged_events = acknowledged_at_kill * EVENTS_PER_BATCH;
                assert!(
                    committed < acknowledged_events,
                    "{what}: {committed} events committed of {acknowledged_events} acknowledged at the kill"
                );
                assert_eq!(
                    setup.log.version(),
                    version_before,
                    "{what}: no commit while the flush thresholds were out of reach"
                );
                caught.with_only_logged_events += 1;
            }
        }
        caught.cycles += 1;
        if std::env::var_os("HEATLAKE_CRASH_VERBOSE").is_some() {
            eprintln!("{what}: {:.1?} since the start", started.elapsed());
        }
    }
    // A last start replays what the kills left; the senders retry every unanswered batch.
    let collectors = start_collectors(&setup, KillPoint::UnderFlushes);
    load.targets(
        &collectors
            .iter()
            .map(|collector| Some(collector.address.clone()))
            .collect::<Vec<_>>(),
    );
    load.settle(Duration::from_secs(180));
    let batches = load.batches();
    let outcomes: BTreeMap<_, _> = load.finish();
    // Killed once more with acknowledged events still only in the WAL; the next collectors are
    // stopped as soon as they listen, before their WAL is open: the stop must still commit them.
    for collector in collectors {
        collector.kill();
    }
    for collector in start_collectors(&setup, KillPoint::UnderFlushes) {
        collector.stop();
    }
    assert!(caught.with_only_logged_events > 0, "{caught:?}");
    assert!(caught.at_checkpoints > 0, "{caught:?}");
    assert!(
        caught.during_compactions > 0,
        "some kills caught a compaction running: {caught:?}"
    );
    assert!(
        caught.beside_compactions < 2 || caught.compactions_finished > 0,
        "some compactions finished: {caught:?}"
    );
    // Kills at a checkpoint's commit took turns: the table must still have checkpoints.
    let checkpoints = setup.log.checkpoints();
    assert!(
        caught.at_checkpoints < 2 || !checkpoints.is_empty(),
        "the table has checkpoints: {caught:?}"
    );
    let settled = started.elapsed();
    let events = assert_exactly_once(&setup.sandbox, &setup.table, &outcomes);
    eprintln!(
        "crash test, {}: {} kill cycles in {:.0?} ({} after a commit of their cycle, {} with \
         acknowledged events only in the WAL, {} at a checkpoint's commit of which {} before \
         the checkpoint was written, {} beside a compaction of which {} while it ran and {} \
         after it finished); \
         checkpoints at versions {checkpoints:?}; {batches} batches, {events} events \
         acknowledged, 0 lost and 0 stored twice by three readers (settled after {settled:.0?})",
        setup.name,
        caught.cycles,
        started.elapsed(),
        caught.after_commits,
        caught.with_only_logged_events,
        caught.at_checkpoints,
        caught.before_their_checkpoint_was_written,
        caught.beside_compactions,
        caught.during_compactions,
        caught.compactions_finished,
    );
}
