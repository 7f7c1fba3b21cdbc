//! Many writers on one S3 table at once: two collectors under load (each with its own WAL and
//! collector id), imports one after another, and compactions one after another, all
//! committing to the same Delta table through the store's conditional put. Afterwards every
//! acknowledged batch and every imported one is in the table exactly once, as Heatlake and two
//! independent readers see it.
//!
//! `HEATLAKE_MANY_WRITERS_SECONDS` sets how long the writers run (30 s by default; the figures
//! in `BENCHMARKS.md` are of a 300 s run).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::collector_load::{
    Collector, EVENTS_PER_BATCH, Load, Outcome, assert_exactly_once, write_config_of,
    write_import_file,
};
use crate::support::{S3Bucket, Sandbox, assert_success, single_json};

/// How long the writers run unless `HEATLAKE_MANY_WRITERS_SECONDS` says otherwise.
const SECONDS_DEFAULT: u64 = 30;
/// Each sender's pause between batches.
const PAUSE_BETWEEN_BATCHES: Duration = Duration::from_millis(10);
/// Batches per import; import `k` holds the batch numbers from `IMPORT_BASE + k * 100`.
const BATCHES_PER_IMPORT: u64 = 20;
/// The import's batch numbers start here, far from the senders' (and in other partitions: a
/// batch's time is its number in seconds).
const IMPORT_BASE: u64 = 300_000;
/// Longest the collectors may take to commit what they acknowledged.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);

#[test]
fn two_collectors_imports_and_compactions_on_one_s3_table_store_everything_once() {
    let seconds = std::env::var("HEATLAKE_MANY_WRITERS_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(SECONDS_DEFAULT);
    let sandbox = Arc::new(Sandbox::with_s3(S3Bucket::create("many")));
    let table = sandbox.bucket().url("events");
    let collectors: Vec<Collector> = (0..2)
        .map(|instance| {
            let config = write_config_of(
                &sandbox,
                instance,
                &table,
                "flush_rows_max = 2000\nflush_age_max_ms = 200",
            );
            Collector::start(&sandbox, &config, &[])
        })
        .collect();
    let load = Load::start_paced(2, PAUSE_BETWEEN_BATCHES);
    load.targets(
        &collectors
            .iter()
            .map(|collector| Some(collector.address.clone()))
            .collect::<Vec<_>>(),
    );
    // The collectors create the table; the imports and compactions join once it exists.
    load.wait_for_acknowledgements_past(0, Duration::from_secs(60), "before the other writers");
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while collectors
        .iter()
        .any(|collector| collector.metric("committed_events") == 0.0)
    {
        assert!(Instant::now() < deadline, "each collector commits");
        std::thread::sleep(Duration::from_millis(50));
    }

    let running = Arc::new(AtomicBool::new(true));
    let importer = {
        let (sandbox, table, running) = (Arc::clone(&sandbox), table.clone(), Arc::clone(&running));
        std::thread::spawn(move || {
            let mut imported = Vec::new();
            let mut imports = 0;
            while running.load(Ordering::Relaxed) {
                let first = IMPORT_BASE + imports * 100;
                let (file, valid) = write_import_file(
                    &sandbox,
                    &format!("import-{imports}.ndjson"),
                    first..first + BATCHES_PER_IMPORT,
                );
                let output = sandbox.import(&table, &[&file], &["--json", "--no-compact"]);
                assert_success(&output, &format!("import {imports} beside the collectors"));
                let report = single_json(&output.stdout, "heatlake import --json");
                assert_eq!(
                    crate::support::as_u64(&report["events"]),
                    valid.len() as u64 * EVENTS_PER_BATCH
                );
                imported.extend(valid);
                imports += 1;
                std::thread::sleep(Duration::from_millis(500));
            }
            imported
        })
    };
    let compactor = {
        let (sandbox, table, running) = (Arc::clone(&sandbox), table.clone(), Arc::clone(&running));
        std::thread::spawn(move || {
            let mut compactions = 0;
            while running.load(Ordering::Relaxed) {
                let output = sandbox.run(["compact", "--table", &table]);
                assert_success(
                    &output,
                    &format!("compaction {compactions} beside the writers"),
                );
                compactions += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            compactions
        })
    };
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    running.store(false, Ordering::Relaxed);
    let imported = importer.join().expect("the imports succeed");
    let compactions = compactor.join().expect("the compactions succeed");
    let wrote_for = started.elapsed();
    load.settle(Duration::from_secs(120));
    let mut outcomes: BTreeMap<u64, Outcome> = load.finish();
    let committed: f64 = collectors
        .iter()
        .map(|collector| collector.metric("committed_events"))
        .sum();
    for collector in collectors {
        // SIGTERM: each commits what it still holds before it exits.
        collector.stop();
    }
    let acknowledged = outcomes
        .values()
        .filter(|outcome| **outcome == Outcome::Acknowledged)
        .count();
    assert!(!imported.is_empty() && compactions > 0);
    let imports = imported.len() as u64 / BATCHES_PER_IMPORT.max(1);
    outcomes.extend(imported.iter().map(|n| (*n, Outcome::Acknowledged)));
    let events = assert_exactly_once(&sandbox, &table, &outcomes);
    eprintln!(
        "many writers on one S3 table for {wrote_for:.0?}: 2 collectors ({acknowledged} batches \
         acknowledged, {committed} events committed while running), about {imports} imports \
         ({} batches), {compactions} compactions; {events} events, each stored once by three \
         readers",
        imported.len()
    );
}
