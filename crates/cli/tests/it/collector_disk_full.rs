//! Fault test: the collector's WAL directory is a small tmpfs that a filler file fills while
//! senders post batches. Requests get `503 storage_unavailable` with `Retry-After`, `/readyz`
//! and the `heatlake_wal_degraded` gauge say so; once the filler is gone the collector
//! acknowledges again without a restart; after it stops, its WAL opens cleanly and the table
//! holds exactly the acknowledged batches, as three readers see it.

use std::time::{Duration, Instant};

use crate::collector_load::{
    Collector, Load, Outcome, WRITE_KEY, assert_exactly_once, batch_body, is_invalid, write_config,
};
use crate::faulty_disk::{Filler, Mounted, SmallTmpfs};
use crate::support::{Sandbox, http_exchange};

/// Room for the WAL: far more than the test writes, until the filler takes it.
const WAL_TMPFS_BYTES: u64 = 64 << 20;
/// Each sender's pause between batches.
const PAUSE_BETWEEN_BATCHES: Duration = Duration::from_millis(10);
/// How long the disk stays full once the first 503 was seen.
const FULL_DURATION: Duration = Duration::from_secs(3);
/// Longest wait for the collector to notice the full disk, or its end.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(30);
/// Probe batches are numbered from here, apart from the load's (and below the `x` of the
/// load's invalid batches, which is their number).
const PROBE_BATCH_BASE: u64 = 400_000;
/// Bound on one probe request.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// POSTs batch `n`: status, `Retry-After`, and the error body's `reason`.
fn post(address: &str, n: u64) -> (u16, Option<String>, String) {
    let target = format!("/v1/events?key={WRITE_KEY}");
    let batch = format!("b-{n}");
    let headers = [
        ("Content-Type", "application/x-ndjson"),
        ("X-Heatlake-Batch", batch.as_str()),
    ];
    let answer = http_exchange(
        address,
        "POST",
        &target,
        &headers,
        &batch_body(n),
        PROBE_TIMEOUT,
    )
    .expect("the collector answers");
    let retry_after = answer
        .headers
        .iter()
        .find(|(name, _)| name == "retry-after")
        .map(|(_, value)| value.clone());
    let reason = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|body| body["reason"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (answer.status, retry_after, reason)
}

/// The sum of the collector's metric `name` over its label sets, optionally only those whose
/// labels contain `label`.
fn metric(collector: &Collector, name: &str, label: &str) -> f64 {
    let (status, text) = collector.get("/metrics").expect("/metrics answers");
    assert_eq!(status, 200);
    text.lines()
        .filter(|line| {
            line.split(['{', ' ']).next() == Some(name)
                && (label.is_empty() || line.contains(label))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits up to [`NOTICE_TIMEOUT`] for `ready` to hold.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + NOTICE_TIMEOUT;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} within {NOTICE_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_full_wal_disk_is_503_with_retry_after_until_freed_and_loses_nothing_acknowledged() {
    let tmpfs = match SmallTmpfs::mount_or_rerun(
        WAL_TMPFS_BYTES,
        "collector_disk_full::a_full_wal_disk_is_503_with_retry_after_until_freed_and_loses_nothing_acknowledged",
    ) {
        Mounted::Here(tmpfs) => tmpfs,
        Mounted::Elsewhere => return,
    };
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("events");
    let config = write_config(&sandbox, &table, "flush_age_max_ms = 200");
    let wal_dir = tmpfs.path().join("wal");
    let collector = Collector::start(
        &sandbox,
        &config,
        &[("HEATLAKE_WAL_DIR", wal_dir.to_str().unwrap())],
    );
    let load = Load::start_paced(2, PAUSE_BETWEEN_BATCHES);
    load.target(Some(&collector.address));
    load.wait_for_acknowledgements_past(20, NOTICE_TIMEOUT, "before the disk fills");

    let filler = Filler::fill(tmpfs.path().join("filler"));
    // A probe of its own, to read the answer's headers: until the collector sees the full
    // disk it may still be stored.
    let mut probes = Vec::new();
    let mut probe = PROBE_BATCH_BASE;
    let refusal = loop {
        probe += 1;
        if is_invalid(probe) {
            continue;
        }
        probes.push(probe);
        let answer = post(&collector.address, probe);
        if answer.0 != 200 {
            break answer;
        }
        assert!(probes.len() < 1000, "the full disk never refused a batch");
    };
    let storage_unavailable = (503, Some("5".to_owned()), "storage_unavailable".to_owned());
    assert_eq!(refusal, storage_unavailable);
    // Until the disk has room, every append gets the same answer, whoever's group failed.
    for _ in 0..3 {
        probe += if is_invalid(probe + 1) { 2 } else { 1 };
        probes.push(probe);
        assert_eq!(post(&collector.address, probe), storage_unavailable);
    }
    let (status, readyz) = collector.get("/readyz").unwrap();
    assert_eq!(status, 503, "{readyz}");
    assert!(readyz.contains("storage_unavailable"), "{readyz}");
    assert_eq!(metric(&collector, "heatlake_wal_degraded", ""), 1.0);
    std::thread::sleep(FULL_DURATION);
    let acknowledged_while_full = load.acknowledged();
    assert!(
        metric(
            &collector,
            "heatlake_requests_rejected_total",
            "storage_unavailable"
        ) >= 1.0
    );

    filler.remove();
    // Recovery is retried every second while idle too, so readiness returns on its own.
    wait_until("/readyz is 200 again", || {
        collector
            .get("/readyz")
            .is_some_and(|(status, _)| status == 200)
    });
    assert_eq!(metric(&collector, "heatlake_wal_degraded", ""), 0.0);
    load.wait_for_acknowledgements_past(
        acknowledged_while_full + 20,
        NOTICE_TIMEOUT,
        "after the disk was freed",
    );
    // The refused probes, retried with their batch ids as a sender would: stored now.
    for n in &probes {
        assert_eq!(post(&collector.address, *n).0, 200);
    }
    load.settle(Duration::from_secs(60));
    let mut outcomes = load.finish();
    collector.stop();
    // The WAL the fault left behind opens cleanly: no torn or refused bytes in it.
    let again = Collector::start(
        &sandbox,
        &config,
        &[("HEATLAKE_WAL_DIR", wal_dir.to_str().unwrap())],
    );
    wait_until("the restarted collector is ready", || {
        again
            .get("/readyz")
            .is_some_and(|(status, _)| status == 200)
    });
    again.stop();

    for n in probes {
        outcomes.insert(n, Outcome::Acknowledged);
    }
    assert_exactly_once(&sandbox, &table, &outcomes);
    drop(tmpfs);
}
