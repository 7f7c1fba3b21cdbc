//! Fault tests: the table's S3 store (moto on loopback, reached through a proxy these tests
//! control, `store_proxy.rs`) refuses connections, stalls them, loses the answers of commits
//! it took, and fails a share of requests, while the collector is under load and imports and
//! compactions write beside it. Acknowledgements go on (the WAL holds the events), nothing
//! acknowledged is lost or stored twice, and the backlog drains once the store is back.

use std::time::{Duration, Instant};

use crate::collector_load::{
    Collector, Load, Outcome, assert_exactly_once, write_config, write_import_file,
};
use crate::store_proxy::{Mode, StoreProxy};
use crate::support::{S3Bucket, Sandbox};

/// Each sender's pause between batches.
const PAUSE_BETWEEN_BATCHES: Duration = Duration::from_millis(10);
/// How long each fault lasts.
const FAULT_DURATION: Duration = Duration::from_secs(4);
/// Longest the backlog may take to drain once the store is back.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(240);

/// A collector whose table is on S3 behind a [`StoreProxy`], under a steady load (about
/// 8,000 events/s) rather than all the loopback can carry: the S3 test server commits far
/// slower than a real store.
struct BehindProxy {
    sandbox: Sandbox,
    proxy: StoreProxy,
    table: String,
    collector: Collector,
    load: Load,
}

/// Starts a [`BehindProxy`] in a fresh bucket named after `purpose`, with the collector's
/// `settings`.
fn collector_behind_proxy(purpose: &str, settings: &str) -> BehindProxy {
    let sandbox = Sandbox::with_s3(S3Bucket::create(purpose));
    let proxy = StoreProxy::start(sandbox.bucket().endpoint().url());
    let table = sandbox.bucket().url("events");
    let config = write_config(&sandbox, &table, settings);
    let collector = Collector::start(&sandbox, &config, &[("AWS_ENDPOINT_URL", &proxy.url)]);
    let load = Load::start_paced(2, PAUSE_BETWEEN_BATCHES);
    load.target(Some(&collector.address));
    BehindProxy {
        sandbox,
        proxy,
        table,
        collector,
        load,
    }
}

#[test]
fn a_failing_store_delays_commits_but_loses_nothing_acknowledged() {
    let BehindProxy {
        sandbox,
        proxy,
        table,
        collector,
        load,
    } = collector_behind_proxy(
        "faults",
        // Flushes large enough that the backlog drains quickly once the store is back.
        "flush_rows_max = 50000\nflush_age_max_ms = 200",
    );
    std::thread::sleep(Duration::from_secs(2));
    let acknowledged_before_faults = load.acknowledged();

    for fault in [Mode::Refuse, Mode::Stall] {
        proxy.set(fault);
        std::thread::sleep(FAULT_DURATION);
    }
    let acknowledged_during_faults = load.acknowledged() - acknowledged_before_faults;
    // Acknowledged but not committed: the store kept the flusher from catching up.
    let backlog_at_fault_end = collector.metric("backlog_events");
    proxy.set(Mode::Pass);
    std::thread::sleep(Duration::from_secs(1));
    load.settle(Duration::from_secs(60));
    let outcomes = load.finish();

    // The backlog drains while the collector runs: no shutdown needed to see the events.
    wait_for_commits(&collector, &outcomes);
    collector.stop();

    assert!(
        acknowledged_during_faults > 10,
        "acknowledgements went on during the faults: {acknowledged_during_faults} batches"
    );
    assert!(backlog_at_fault_end > 0.0, "the faults held commits back");
    assert_exactly_once(&sandbox, &table, &outcomes);
}

/// Commit answers the lost-answer tests have the proxy lose.
const COMMIT_ANSWERS_TO_LOSE: u64 = 3;

/// Waits until the proxy has lost `count` commit answers; panics after `timeout`.
fn wait_for_lost_answers(proxy: &StoreProxy, count: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while proxy.commit_answers_lost() < count {
        assert!(
            Instant::now() < deadline,
            "only {} commit answers lost within {timeout:?}",
            proxy.commit_answers_lost()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the collector has committed every acknowledged event of `outcomes`.
fn wait_for_commits(collector: &Collector, outcomes: &std::collections::BTreeMap<u64, Outcome>) {
    let acknowledged_events = outcomes
        .values()
        .filter(|outcome| **outcome == Outcome::Acknowledged)
        .count() as f64
        * crate::collector_load::EVENTS_PER_BATCH as f64;
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while collector.metric("committed_events") < acknowledged_events {
        assert!(
            Instant::now() < deadline,
            "the collector did not commit everything it acknowledged"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_commit_whose_answer_was_lost_is_not_committed_again() {
    let BehindProxy {
        sandbox,
        proxy,
        table,
        collector,
        load,
    } = collector_behind_proxy(
        "lost-answer",
        "flush_rows_max = 2000\nflush_age_max_ms = 100",
    );
    std::thread::sleep(Duration::from_secs(1));
    // The store takes these commits; the collector hears nothing back, and its S3 client
    // sends the same PUT again, which the store refuses: the version exists.
    proxy.lose_commit_answers(COMMIT_ANSWERS_TO_LOSE);
    wait_for_lost_answers(&proxy, COMMIT_ANSWERS_TO_LOSE, Duration::from_secs(120));
    std::thread::sleep(Duration::from_secs(1));
    load.settle(Duration::from_secs(60));
    let outcomes = load.finish();
    wait_for_commits(&collector, &outcomes);
    collector.stop();
    assert_exactly_once(&sandbox, &table, &outcomes);
}

/// `heatlake import --json` of `file` into `table`, through `proxy`; the process's output.
fn import_through(
    sandbox: &Sandbox,
    proxy: &StoreProxy,
    table: &str,
    file: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut command = sandbox.command();
    command
        .args(["import", "--json", "--table", table])
        .args(extra)
        .arg(file)
        .env("AWS_ENDPOINT_URL", &proxy.url);
    command.output().expect("heatlake import runs")
}

#[test]
fn an_import_whose_commit_answer_was_lost_stores_its_rows_once() {
    let sandbox = Sandbox::with_s3(S3Bucket::create("lost-import"));
    let proxy = StoreProxy::start(sandbox.bucket().endpoint().url());
    let table = sandbox.bucket().url("events");
    let mut acknowledged = std::collections::BTreeMap::new();
    // The first creates the table (version 0), the second appends to it.
    for (import, numbers) in [(0, 0..30), (1, 30..60)] {
        let (file, valid) =
            write_import_file(&sandbox, &format!("import-{import}.ndjson"), numbers);
        let lost_before = proxy.commit_answers_lost();
        proxy.lose_commit_answers(1);
        let output = import_through(&sandbox, &proxy, &table, &file, &["--no-compact"]);
        crate::support::assert_success(&output, &format!("import {import}"));
        assert_eq!(
            proxy.commit_answers_lost(),
            lost_before + 1,
            "import {import}: its commit's answer was lost"
        );
        let report = crate::support::single_json(&output.stdout, "heatlake import --json");
        assert_eq!(
            crate::support::as_u64(&report["events"]),
            valid.len() as u64 * crate::collector_load::EVENTS_PER_BATCH,
            "{report}"
        );
        acknowledged.extend(valid.into_iter().map(|n| (n, Outcome::Acknowledged)));
    }
    // Only valid batches were imported: the oracle expects refused ones too, so add two
    // invalid numbers that were never sent as refused.
    acknowledged.insert(6, Outcome::Refused);
    acknowledged.insert(13, Outcome::Refused);
    assert_exactly_once(&sandbox, &table, &acknowledged);
}

#[test]
fn an_import_told_its_commit_failed_although_it_landed_keeps_its_files() {
    let sandbox = Sandbox::with_s3(S3Bucket::create("cut-import"));
    let proxy = StoreProxy::start(sandbox.bucket().endpoint().url());
    let table = sandbox.bucket().url("events");
    let mut acknowledged = std::collections::BTreeMap::new();
    // The first creates the table (version 0), the second appends to it. Each commit lands,
    // and every retry of it is cut off: the import's client sees only errors.
    for (import, numbers) in [(0, 0..30), (1, 30..60)] {
        let (file, valid) =
            write_import_file(&sandbox, &format!("import-{import}.ndjson"), numbers);
        let cut_before = proxy.retries_cut();
        proxy.lose_commit_answers_and_cut_retries(1);
        let output = import_through(&sandbox, &proxy, &table, &file, &["--no-compact"]);
        assert!(
            proxy.retries_cut() > cut_before,
            "import {import}: its commit was retried and cut off"
        );
        // It finds its commit in the log and says so.
        crate::support::assert_success(&output, &format!("import {import}"));
        let report = crate::support::single_json(&output.stdout, "heatlake import --json");
        assert_eq!(
            crate::support::as_u64(&report["version"]),
            import,
            "{report}"
        );
        acknowledged.extend(valid.into_iter().map(|n| (n, Outcome::Acknowledged)));
    }
    acknowledged.insert(6, Outcome::Refused);
    acknowledged.insert(13, Outcome::Refused);
    // Every file the log names is there: the readers would fail on a missing one.
    assert_exactly_once(&sandbox, &table, &acknowledged);
}

/// How long the store fails a share of requests, unless `HEATLAKE_STORE_ERROR_SECONDS` says
/// otherwise.
const STORE_ERROR_SECONDS_DEFAULT: u64 = 60;
/// The share of requests that fail, per thousand.
const STORE_ERRORS_PER_MILLE: u64 = 300;

/// `heatlake compact --table TABLE` through `proxy`; the process's output.
fn compact_through(sandbox: &Sandbox, proxy: &StoreProxy, table: &str) -> std::process::Output {
    let mut command = sandbox.command();
    command
        .args(["compact", "--table", table])
        .env("AWS_ENDPOINT_URL", &proxy.url);
    command.output().expect("heatlake compact runs")
}

#[test]
fn a_store_failing_three_requests_in_ten_for_a_minute_loses_and_doubles_nothing() {
    let seconds = std::env::var("HEATLAKE_STORE_ERROR_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(STORE_ERROR_SECONDS_DEFAULT);
    let BehindProxy {
        sandbox,
        proxy,
        table,
        collector,
        load,
    } = collector_behind_proxy("errors", "flush_rows_max = 2000\nflush_age_max_ms = 200");
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while collector.metric("committed_events") == 0.0 {
        assert!(Instant::now() < deadline, "no commit before the errors");
        std::thread::sleep(Duration::from_millis(50));
    }

    proxy.inject_errors_per_mille(STORE_ERRORS_PER_MILLE);
    let requests_before = proxy.requests();
    let committed_before = collector.metric("committed_events");
    let acknowledged_before = load.acknowledged();
    let started = Instant::now();
    // Imports and compactions write beside the collector all the while; each must get
    // through the errors (the S3 client retries them).
    let mut imported = std::collections::BTreeMap::new();
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        let first = 200_000 + rounds * 100;
        let (file, valid) = write_import_file(
            &sandbox,
            &format!("import-{rounds}.ndjson"),
            first..first + 20,
        );
        let output = import_through(&sandbox, &proxy, &table, &file, &["--no-compact"]);
        crate::support::assert_success(&output, &format!("import {rounds} during the errors"));
        imported.extend(valid.into_iter().map(|n| (n, Outcome::Acknowledged)));
        let output = compact_through(&sandbox, &proxy, &table);
        crate::support::assert_success(&output, &format!("compaction {rounds} during the errors"));
        rounds += 1;
        std::thread::sleep(Duration::from_secs(1));
    }
    let committed_during = collector.metric("committed_events") - committed_before;
    let acknowledged_during = load.acknowledged() - acknowledged_before;
    let requests_during = proxy.requests() - requests_before;
    let errors = proxy.errors_injected();
    proxy.inject_errors_per_mille(0);
    load.settle(Duration::from_secs(120));
    let mut outcomes = load.finish();
    wait_for_commits(&collector, &outcomes);
    collector.stop();

    assert!(
        errors * 10 >= requests_during * 2,
        "{errors} of {requests_during} requests failed"
    );
    assert!(acknowledged_during > 0, "acknowledgements went on");
    assert!(
        committed_during > 0.0,
        "the collector committed through the errors"
    );
    eprintln!(
        "{seconds} s of store errors: {errors} of {requests_during} requests failed; {rounds} \
         imports and compactions, {acknowledged_during} batches acknowledged and \
         {committed_during} events committed meanwhile"
    );
    outcomes.extend(imported);
    assert_exactly_once(&sandbox, &table, &outcomes);
}

/// What every refusal of a store that ignores conditional puts says.
const IGNORED_CONDITION: &str = "does not refuse to create an object that exists";

#[test]
fn a_store_that_ignores_conditional_puts_gets_no_commit_from_any_writer() {
    let sandbox = Sandbox::with_s3(S3Bucket::create("unsafe"));
    let proxy = StoreProxy::start(sandbox.bucket().endpoint().url());
    let table = sandbox.bucket().url("events");
    let log = crate::collector_load::TableLog::s3(sandbox.bucket(), "events");
    // A table written while the store behaved: two imports into one partition, which a
    // compaction would merge.
    for (import, numbers) in [(0, 0..10), (1, 10..20)] {
        let (file, _) = write_import_file(&sandbox, &format!("import-{import}.ndjson"), numbers);
        let output = import_through(&sandbox, &proxy, &table, &file, &["--no-compact"]);
        crate::support::assert_success(&output, "an import while the store honours conditions");
    }
    let version = log.version();
    proxy.ignore_conditional_puts(true);

    // The collector refuses to start.
    let config = write_config(&sandbox, &table, "");
    let mut serve = sandbox.command();
    serve
        .args(["serve", "--config", &config])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = serve.spawn().expect("heatlake serve starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("serve can be waited for") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("heatlake serve kept running on a store that ignores conditional puts");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "serve exits with an error: {stderr}");
    assert!(stderr.contains(IGNORED_CONDITION), "{stderr}");

    // An import and a compaction refuse too, and commit nothing.
    let (file, _) = write_import_file(&sandbox, "import-2.ndjson", 20..30);
    let output = import_through(&sandbox, &proxy, &table, &file, &["--no-compact"]);
    let error = crate::support::assert_failure(&output, "an import on the unsafe store");
    assert!(error.contains(IGNORED_CONDITION), "{error}");
    let output = compact_through(&sandbox, &proxy, &table);
    let error = crate::support::assert_failure(&output, "a compaction on the unsafe store");
    assert!(error.contains(IGNORED_CONDITION), "{error}");
    assert_eq!(log.version(), version, "nothing was committed");
    assert!(proxy.conditions_stripped() >= 3);
}
