//! Crash test: the collector is killed with SIGKILL under load and started again, over and over;
//! afterwards every acknowledged event is in the table exactly once and nothing of a refused
//! batch is, as Heatlake and two independent readers see the table.
//!
//! The test proves that its kills exercise what it names: every cycle acknowledges batches
//! before its kill; two cycles in three commit before their kill (which then lands at a random
//! moment among further flushes and commits); every third cycle is killed while everything it
//! acknowledged is only in the WAL (checked against the table after the kill).
//!
//! `HEATLAKE_CRASH_CYCLES` runs more cycles than the default 20 (`scripts/crash-test` does).

use std::time::Duration;

use crate::collector_load::{
    Collector, Load, assert_exactly_once, local_table_version, write_config,
};
use crate::support::Sandbox;

/// Kill-and-restart cycles unless `HEATLAKE_CRASH_CYCLES` says otherwise.
const CYCLES_DEFAULT: u64 = 20;
/// Sender threads.
const SENDERS: usize = 4;
/// Each sender's pause between batches.
const PAUSE_BETWEEN_BATCHES: Duration = Duration::from_millis(4);

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

/// Where in the collector's work a cycle's kill lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillPoint {
    /// Small, frequent flushes: the kill comes after this cycle's first commit, at a random
    /// moment, so it lands before, during or after the next flush and commit.
    UnderFlushes,
    /// No flush before the kill (the flush thresholds are out of reach): every event
    /// acknowledged in this cycle is only in the WAL when the process dies.
    WalOnly,
}

impl KillPoint {
    fn of_cycle(cycle: u64) -> Self {
        if cycle % 3 == 2 {
            Self::WalOnly
        } else {
            Self::UnderFlushes
        }
    }

    fn collector_settings(self) -> &'static str {
        match self {
            // Small flushes, so that kills land before, during and after commits; a paced load,
            // so that commits keep up and a stop does not have thousands of small flushes to do.
            Self::UnderFlushes => "flush_rows_max = 2000\nflush_age_max_ms = 150",
            Self::WalOnly => "flush_rows_max = 100000000\nflush_age_max_ms = 3600000",
        }
    }
}

/// Longest a cycle waits for its first acknowledgement or its first commit.
const CYCLE_PROGRESS_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn killed_collectors_lose_no_acknowledged_event_and_store_none_twice() {
    let cycles = std::env::var("HEATLAKE_CRASH_CYCLES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(CYCLES_DEFAULT);
    let seed = std::env::var("HEATLAKE_CRASH_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0x5EED_u64);
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("events");
    let table_dir = sandbox.file("events");
    let load = Load::start_paced(SENDERS, PAUSE_BETWEEN_BATCHES);
    let mut moments = Moments(seed | 1);
    let mut kills_with_only_logged_events = 0;
    let mut kills_after_commits = 0;
    for cycle in 0..cycles {
        let kill_point = KillPoint::of_cycle(cycle);
        let config = write_config(&sandbox, &table, kill_point.collector_settings());
        let version_before = local_table_version(&table_dir);
        let acknowledged_before = load.acknowledged();
        let collector = Collector::start(&sandbox, &config, &[]);
        load.target(Some(&collector.address));
        // Every cycle acknowledges something before its kill.
        load.wait_for_acknowledgements_past(
            acknowledged_before,
            CYCLE_PROGRESS_TIMEOUT,
            &format!("in cycle {cycle}"),
        );
        match kill_point {
            KillPoint::UnderFlushes => {
                // Every such cycle commits before its kill: the table moves on between kills.
                let deadline = std::time::Instant::now() + CYCLE_PROGRESS_TIMEOUT;
                while local_table_version(&table_dir) <= version_before {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "cycle {cycle}: no commit within {CYCLE_PROGRESS_TIMEOUT:?}"
                    );
                    std::thread::sleep(Duration::from_millis(5));
                }
                std::thread::sleep(Duration::from_millis(moments.next_ms(1, 400)));
            }
            KillPoint::WalOnly => {
                std::thread::sleep(Duration::from_millis(moments.next_ms(50, 400)));
            }
        }
        let acknowledged_at_kill = load.acknowledged();
        // Killed with requests in flight: their senders see no answer and retry later.
        collector.kill();
        load.target(None);
        match kill_point {
            KillPoint::UnderFlushes => kills_after_commits += 1,
            KillPoint::WalOnly => {
                // The proof that this kill lost the process while acknowledged events were only
                // in the WAL: the table holds fewer events than were acknowledged before it.
                let committed = sandbox.count(&table);
                let acknowledged_events =
                    acknowledged_at_kill * crate::collector_load::EVENTS_PER_BATCH;
                assert!(
                    committed < acknowledged_events,
                    "cycle {cycle}: {committed} events committed of {acknowledged_events} acknowledged at the kill"
                );
                assert_eq!(
                    local_table_version(&table_dir),
                    version_before,
                    "cycle {cycle}: no commit while the flush thresholds were out of reach"
                );
                kills_with_only_logged_events += 1;
            }
        }
    }
    // A last start replays what the kills left; the senders retry every unanswered batch.
    let config = write_config(
        &sandbox,
        &table,
        KillPoint::UnderFlushes.collector_settings(),
    );
    let collector = Collector::start(&sandbox, &config, &[]);
    load.target(Some(&collector.address));
    load.settle(Duration::from_secs(120));
    let batches = load.batches();
    let outcomes = load.finish();
    // Killed once more with acknowledged events still only in the WAL; the next collector is
    // stopped as soon as it listens, before its WAL is open: the stop must still commit them.
    collector.kill();
    Collector::start(&sandbox, &config, &[]).stop();
    assert!(
        cycles < 3 || kills_with_only_logged_events > 0,
        "some kills landed with acknowledged events only in the WAL"
    );
    let events = assert_exactly_once(&sandbox, &table, &outcomes);
    eprintln!(
        "crash test: {cycles} kills ({kills_after_commits} after a commit of their cycle, \
         {kills_with_only_logged_events} with acknowledged events only in the WAL), {batches} \
         batches, {events} events acknowledged and stored once by three readers"
    );
}
