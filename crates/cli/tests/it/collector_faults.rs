//! Fault test: the table's S3 store (moto on loopback, reached through a proxy this test
//! controls) refuses connections and then stalls them while the collector is under load.
//! Acknowledgements go on (the WAL holds the events), nothing acknowledged is lost, and the
//! backlog drains once the store is back.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::collector_load::{Collector, Load, assert_exactly_once, write_config};
use crate::support::{S3Bucket, Sandbox};

/// Each sender's pause between batches.
const PAUSE_BETWEEN_BATCHES: Duration = Duration::from_millis(10);
/// How long each fault lasts.
const FAULT_DURATION: Duration = Duration::from_secs(4);
/// Longest the backlog may take to drain once the store is back.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(240);

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    /// Forward both ways.
    Pass = 0,
    /// Close every connection, new and open.
    Refuse = 1,
    /// Accept, forward nothing; close the connections when the stall ends.
    Stall = 2,
}

/// A TCP proxy on loopback in front of the S3 server.
struct FaultProxy {
    mode: Arc<AtomicU8>,
    url: String,
}

impl FaultProxy {
    fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("the proxy can listen");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(AtomicU8::new(Mode::Pass as u8));
        let accept_mode = Arc::clone(&mode);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let mode = Arc::clone(&accept_mode);
                let upstream = upstream.clone();
                std::thread::spawn(move || relay(client, &upstream, &mode));
            }
        });
        Self { mode, url }
    }

    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

fn current(mode: &AtomicU8) -> u8 {
    mode.load(Ordering::SeqCst)
}

/// Forwards one connection while the mode allows it.
fn relay(client: TcpStream, upstream: &str, mode: &Arc<AtomicU8>) {
    let started_in = current(mode);
    if started_in == Mode::Refuse as u8 {
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    if started_in == Mode::Stall as u8 {
        while current(mode) == Mode::Stall as u8 {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let pairs = [
        (client.try_clone().unwrap(), server.try_clone().unwrap()),
        (server, client),
    ];
    let threads: Vec<_> = pairs
        .into_iter()
        .map(|(mut from, mut to)| {
            let mode = Arc::clone(mode);
            std::thread::spawn(move || {
                from.set_read_timeout(Some(Duration::from_millis(50)))
                    .unwrap();
                let mut buffer = [0u8; 16 * 1024];
                loop {
                    if current(&mode) != Mode::Pass as u8 {
                        // A fault began: hold the bytes (a stall) or drop the line (refuse).
                        while current(&mode) == Mode::Stall as u8 {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        break;
                    }
                    match from.read(&mut buffer) {
                        Ok(0) => break,
                        Ok(read) => {
                            if to.write_all(&buffer[..read]).is_err() {
                                break;
                            }
                        }
                        Err(error)
                            if matches!(
                                error.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => break,
                    }
                }
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}

/// The collector's metric `name` (with or without the `heatlake_` prefix) from `/metrics`,
/// summed over its label sets.
fn metric(collector: &Collector, name: &str) -> f64 {
    let (status, text) = collector
        .get("/metrics")
        .expect("the collector answers /metrics");
    assert_eq!(status, 200);
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.split(['{', ' ']).next().is_some_and(|metric| {
                metric == name || metric.strip_prefix("heatlake_") == Some(name)
            })
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn a_failing_store_delays_commits_but_loses_nothing_acknowledged() {
    let sandbox = Sandbox::with_s3(S3Bucket::create("faults"));
    let proxy = FaultProxy::start(sandbox.bucket().endpoint().url());
    let table = sandbox.bucket().url("events");
    let config = write_config(
        &sandbox,
        &table,
        // Flushes large enough that the backlog drains quickly once the store is back.
        "flush_rows_max = 50000\nflush_age_max_ms = 200",
    );
    let collector = Collector::start(&sandbox, &config, &[("AWS_ENDPOINT_URL", &proxy.url)]);
    // A steady load (about 8,000 events/s) rather than all the loopback can carry: the S3
    // test server commits far slower than a real store.
    let load = Load::start_paced(2, PAUSE_BETWEEN_BATCHES);
    load.target(Some(&collector.address));
    std::thread::sleep(Duration::from_secs(2));
    let acknowledged_before_faults = load.acknowledged();

    for fault in [Mode::Refuse, Mode::Stall] {
        proxy.set(fault);
        std::thread::sleep(FAULT_DURATION);
    }
    let acknowledged_during_faults = load.acknowledged() - acknowledged_before_faults;
    // Acknowledged but not committed: the store kept the flusher from catching up.
    let backlog_at_fault_end = metric(&collector, "backlog_events");
    proxy.set(Mode::Pass);
    std::thread::sleep(Duration::from_secs(1));
    load.settle(Duration::from_secs(60));
    let outcomes = load.finish();

    // The backlog drains while the collector runs: no shutdown needed to see the events.
    let acknowledged_events = outcomes
        .values()
        .filter(|outcome| **outcome == crate::collector_load::Outcome::Acknowledged)
        .count() as f64
        * crate::collector_load::EVENTS_PER_BATCH as f64;
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while metric(&collector, "committed_events") < acknowledged_events {
        assert!(
            Instant::now() < deadline,
            "the backlog did not drain after the store came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    collector.stop();

    assert!(
        acknowledged_during_faults > 10,
        "acknowledgements went on during the faults: {acknowledged_during_faults} batches"
    );
    assert!(backlog_at_fault_end > 0.0, "the faults held commits back");
    assert_exactly_once(&sandbox, &table, &outcomes);
}
