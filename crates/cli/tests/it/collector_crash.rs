//! Crash test: the collector is killed with SIGKILL at random moments under load and started
//! again, over and over; afterwards every acknowledged event is in the table exactly once and
//! nothing of a refused batch is.
//!
//! `HEATLAKE_CRASH_CYCLES` runs more cycles than the default 20 (`scripts/crash-test` does).

use std::time::Duration;

use crate::collector_load::{Collector, Load, assert_exactly_once, write_config};
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
    // Small flushes, so that kills land before, during and after commits, not only in the WAL;
    // a paced load, so that commits keep up and a stop does not have thousands of small flushes
    // to do.
    let config = write_config(
        &sandbox,
        &table,
        "flush_rows_max = 2000\nflush_age_max_ms = 150",
    );
    let load = Load::start_paced(SENDERS, PAUSE_BETWEEN_BATCHES);
    let mut moments = Moments(seed | 1);
    let mut commits_seen = 0;
    for cycle in 0..cycles {
        let collector = Collector::start(&sandbox, &config, &[]);
        load.target(Some(&collector.address));
        std::thread::sleep(Duration::from_millis(moments.next_ms(100, 700)));
        // Killed with requests in flight: their senders see no answer and retry later.
        collector.kill();
        load.target(None);
        if cycle % 5 == 4 {
            // Now and then, look: commits really happen between kills.
            let table_exists = sandbox.file("events").join("_delta_log").is_dir();
            commits_seen += u64::from(table_exists);
        }
    }
    // A last start replays what the kills left; the senders retry every unanswered batch.
    let collector = Collector::start(&sandbox, &config, &[]);
    load.target(Some(&collector.address));
    load.settle(Duration::from_secs(120));
    let batches = load.batches();
    let outcomes = load.finish();
    // Killed once more with acknowledged events still only in the WAL; the next collector is
    // stopped as soon as it listens, before its WAL is open: the stop must still commit them.
    collector.kill();
    Collector::start(&sandbox, &config, &[]).stop();
    assert!(commits_seen > 0, "the table was committed to between kills");
    assert!(
        batches > cycles * 5,
        "the load kept going: {batches} batches in {cycles} cycles"
    );
    let events = assert_exactly_once(&sandbox, &table, &outcomes);
    eprintln!(
        "crash test: {cycles} kills, {batches} batches, {events} events acknowledged and stored once"
    );
}
