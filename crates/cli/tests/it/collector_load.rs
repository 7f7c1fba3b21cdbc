//! A collector process under load, for the crash and fault tests: a config file, start and
//! stop (SIGKILL or SIGTERM), and senders whose every batch is known by its number.
//!
//! Batch `n` holds [`EVENTS_PER_BATCH`] clicks with `x = n` and `y` = the event's number in the
//! batch, and carries the batch id `b-n`, so the table shows which batches it holds and how many
//! times. Every [`INVALID_EVERY`]th batch has one invalid event: the collector must refuse it
//! whole, and its `x` (`INVALID_X_BASE + n`) must never appear.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::Sandbox;

/// Events in one batch.
pub const EVENTS_PER_BATCH: u64 = 40;
/// Every this many batches, one is invalid.
pub const INVALID_EVERY: u64 = 7;
/// `x` of the events of invalid batches starts here.
pub const INVALID_X_BASE: u64 = 500_000;
/// The site and its write key.
pub const SITE: &str = "load.example";
/// The write key of [`SITE`].
pub const WRITE_KEY: &str = "hlw_load_test_key_7f3a9c";
/// Longest a collector may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a collector may take to flush, commit and exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(180);
/// Bound on one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 200: durable.
    Acknowledged,
    /// 400 naming the planted invalid event (the last one, field `y`): refused, nothing stored.
    Refused,
    /// 400 for any other reason: a valid batch refused, or an invalid one refused for the wrong
    /// reason. Never right; the oracle reports it.
    RefusedOtherwise,
    /// Not known yet: no answer (the process died, or was not there), or 503; to be retried.
    Unknown,
}

/// Writes the collector config for `table` into the sandbox and returns its path.
pub fn write_config(sandbox: &Sandbox, table: &str, collector_settings: &str) -> String {
    let data_dir = sandbox.file("data");
    let config = format!(
        r#"listen = "127.0.0.1:0"
data_dir = "{data}"
table = "{table}"
wal_dir = "{data}/wal"

# The batches' events are of 2025-12: a replay, older than the default accepted window.
[limits]
ts_past_max_ms = 3_155_760_000_000

[collector]
{collector_settings}

[[sites]]
id = "{SITE}"
write_key = "{WRITE_KEY}"
allowed_origins = ["*"]
rate_events_per_second = 10_000_000
rate_burst_events = 10_000_000
"#,
        data = data_dir.display(),
    );
    let path = sandbox.file("collector.toml");
    std::fs::write(&path, config).expect("the config can be written");
    path.to_str().expect("UTF-8 path").to_owned()
}

/// A running `heatlake serve`.
pub struct Collector {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
}

impl Collector {
    /// Starts `heatlake serve --config CONFIG` (with `environment` set) and waits for its address.
    pub fn start(sandbox: &Sandbox, config: &str, environment: &[(&str, &str)]) -> Self {
        let mut command = sandbox.command();
        command
            .args(["serve", "--config", config])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in environment {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("heatlake serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent
                    && let Some(address) = line
                        .split("listening on http://")
                        .nth(1)
                        .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
                {
                    let _ = sender.send(address);
                    sent = true;
                }
            }
        });
        let address = receiver
            .recv_timeout(START_TIMEOUT)
            .expect("heatlake serve prints the address it listens on");
        Self { child, address }
    }

    /// Kills the process with SIGKILL: no flush, no commit, no goodbye.
    pub fn kill(mut self) {
        self.child.kill().expect("the collector can be killed");
        self.child.wait().expect("the killed collector is reaped");
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM could be sent");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .expect("the collector can be waited for")
            {
                assert!(
                    status.success(),
                    "the collector exits 0 after SIGTERM: {status}"
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the collector did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET path`: status and body.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http(&self.address, &format!("GET {path} HTTP/1.1"), &[], &[])
    }
}

impl Drop for Collector {
    /// A test that fails before stopping its collector kills it, rather than leave it running
    /// with the test's standard error open.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The NDJSON body of batch `n`.
pub fn batch_body(n: u64) -> Vec<u8> {
    let invalid = is_invalid(n);
    let x = if invalid { INVALID_X_BASE + n } else { n };
    let mut body = Vec::new();
    for event in 0..EVENTS_PER_BATCH {
        // The last event of an invalid batch has a negative y: the whole batch is refused.
        let y = if invalid && event == EVENTS_PER_BATCH - 1 {
            -1
        } else {
            event as i64
        };
        writeln!(
            body,
            r#"{{"v":1,"site":"{SITE}","type":"click","ts":{ts},"visitor_id":"v-{n}","session_id":"s-{n}","pageview_id":"pv-{n}","seq":{event},"path":"{SITE}/page/{page}","x":{x},"y":{y},"viewport_w":1280}}"#,
            ts = 1_764_576_000_000 + n * 1000 + event,
            page = n % 5,
        )
        .expect("writing to memory");
    }
    body
}

/// POSTs batch `n` to `address`.
pub fn send_batch(address: &str, n: u64) -> Outcome {
    let head = format!("POST /v1/events?key={WRITE_KEY} HTTP/1.1");
    let batch_header = format!("b-{n}");
    let headers = [
        ("Content-Type", "application/x-ndjson"),
        ("X-Heatlake-Batch", batch_header.as_str()),
    ];
    match http(address, &head, &headers, &batch_body(n)) {
        Some((200, _)) => Outcome::Acknowledged,
        Some((400, body)) => {
            let names_the_planted_event = serde_json::from_str::<serde_json::Value>(&body)
                .is_ok_and(|error| {
                    error["index"] == serde_json::json!(EVENTS_PER_BATCH - 1)
                        && error["field"] == "y"
                });
            if names_the_planted_event {
                Outcome::Refused
            } else {
                Outcome::RefusedOtherwise
            }
        }
        Some((status, body)) if status >= 500 || status == 429 => {
            let _ = body;
            Outcome::Unknown
        }
        Some((status, body)) => panic!("batch {n}: unexpected answer {status}: {body}"),
        None => Outcome::Unknown,
    }
}

/// One HTTP/1.1 exchange on a fresh connection; `None` when the connection fails or the
/// answer is cut off (the process died).
pub fn http(
    address: &str,
    head: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT)).ok()?;
    let mut request = format!(
        "{head}\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// Sender threads that keep posting batches to whatever collector is current, retrying batches
/// whose outcome is unknown with the same batch id.
pub struct Load {
    address: Arc<Mutex<Option<String>>>,
    outcomes: Arc<Mutex<BTreeMap<u64, Outcome>>>,
    next_batch: Arc<AtomicU64>,
    acknowledged: Arc<AtomicU64>,
    new_batches: Arc<AtomicBool>,
    running: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    /// Starts `senders` threads, each pausing `pause` between batches.
    pub fn start_paced(senders: usize, pause: Duration) -> Self {
        let mut load = Self {
            address: Arc::default(),
            outcomes: Arc::default(),
            next_batch: Arc::default(),
            acknowledged: Arc::default(),
            new_batches: Arc::new(AtomicBool::new(true)),
            running: Arc::new(AtomicBool::new(true)),
            threads: Vec::new(),
        };
        for _ in 0..senders {
            let address = Arc::clone(&load.address);
            let outcomes = Arc::clone(&load.outcomes);
            let next_batch = Arc::clone(&load.next_batch);
            let acknowledged = Arc::clone(&load.acknowledged);
            let new_batches = Arc::clone(&load.new_batches);
            let running = Arc::clone(&load.running);
            load.threads.push(std::thread::spawn(move || {
                while running.load(Ordering::Relaxed) {
                    let Some(current) = address.lock().unwrap().clone() else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    // Unknown batches first, then new ones while they are wanted.
                    let retry = {
                        let mut outcomes = outcomes.lock().unwrap();
                        let found = outcomes
                            .iter()
                            .find(|(_, outcome)| **outcome == Outcome::Unknown)
                            .map(|(n, _)| *n);
                        // Claimed while in flight, so two threads do not send it at once.
                        if let Some(n) = found {
                            outcomes.remove(&n);
                        }
                        found
                    };
                    let n = match retry {
                        Some(n) => n,
                        None if new_batches.load(Ordering::Relaxed) => {
                            next_batch.fetch_add(1, Ordering::Relaxed)
                        }
                        None => {
                            std::thread::sleep(Duration::from_millis(10));
                            continue;
                        }
                    };
                    let outcome = send_batch(&current, n);
                    if outcome == Outcome::Acknowledged {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                    outcomes.lock().unwrap().insert(n, outcome);
                    if outcome == Outcome::Unknown {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    std::thread::sleep(pause);
                }
            }));
        }
        load
    }

    /// Points the senders at a collector (or at none, while it is down).
    pub fn target(&self, address: Option<&str>) {
        *self.address.lock().unwrap() = address.map(str::to_owned);
    }

    /// Batches sent so far (numbers handed out), whatever their answer.
    pub fn batches(&self) -> u64 {
        self.next_batch.load(Ordering::Relaxed)
    }

    /// Batches answered 200 so far (each batch counted once, however often it was retried).
    pub fn acknowledged(&self) -> u64 {
        self.acknowledged.load(Ordering::SeqCst)
    }

    /// Waits (up to `timeout`) until more than `before` batches are acknowledged; panics with
    /// `what` otherwise.
    pub fn wait_for_acknowledgements_past(&self, before: u64, timeout: Duration, what: &str) {
        let deadline = Instant::now() + timeout;
        while self.acknowledged() <= before {
            assert!(
                Instant::now() < deadline,
                "no batch acknowledged {what} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops new batches and waits (up to `timeout`) until every batch has a final outcome.
    pub fn settle(&self, timeout: Duration) {
        self.new_batches.store(false, Ordering::Relaxed);
        let deadline = Instant::now() + timeout;
        loop {
            let outcomes = self.outcomes.lock().unwrap();
            let handed_out = self.next_batch.load(Ordering::Relaxed);
            let settled = outcomes.len() as u64 == handed_out
                && outcomes
                    .values()
                    .all(|outcome| *outcome != Outcome::Unknown);
            if settled {
                return;
            }
            drop(outcomes);
            assert!(
                Instant::now() < deadline,
                "batches still unanswered after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the senders; returns every batch's outcome.
    pub fn finish(mut self) -> BTreeMap<u64, Outcome> {
        self.running.store(false, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            thread.join().expect("a sender thread does not panic");
        }
        self.outcomes.lock().unwrap().clone()
    }
}

/// Whether batch `n` carries the planted invalid event.
pub fn is_invalid(n: u64) -> bool {
    n % INVALID_EVERY == INVALID_EVERY - 1
}

use crate::support::BatchCounts;

/// Checks the table against the outcomes, through Heatlake's reader and through two independent
/// ones (the Python `deltalake` package and DuckDB over the snapshot's files,
/// `tests/tools/table_batches.py`):
/// - every batch has a final answer; the refused batches are exactly the invalid ones, refused
///   for the planted event; every valid batch was acknowledged;
/// - every acknowledged batch is in the table exactly once and whole, for each reader;
/// - nothing of a refused batch, and nothing never acknowledged, is stored.
///
/// Returns the number of events in the table.
pub fn assert_exactly_once(
    sandbox: &Sandbox,
    table: &str,
    outcomes: &BTreeMap<u64, Outcome>,
) -> u64 {
    let rows = sandbox.sql_json(
        table,
        "SELECT x, count(*) AS events, count(DISTINCT y) AS distinct_y FROM events GROUP BY x ORDER BY x",
    );
    let by_heatlake: BatchCounts = rows
        .iter()
        .map(|row| {
            (
                crate::support::as_u64(&row["x"]),
                (
                    crate::support::as_u64(&row["events"]),
                    crate::support::as_u64(&row["distinct_y"]),
                ),
            )
        })
        .collect();
    let mut wrong_answers = Vec::new();
    for (n, outcome) in outcomes {
        let expected = if is_invalid(*n) {
            Outcome::Refused
        } else {
            Outcome::Acknowledged
        };
        if *outcome != expected {
            wrong_answers.push(format!("batch {n}: {outcome:?}, expected {expected:?}"));
        }
    }
    assert!(
        wrong_answers.is_empty(),
        "{} batches answered wrongly: {:?}",
        wrong_answers.len(),
        &wrong_answers[..wrong_answers.len().min(10)]
    );
    let acknowledged: Vec<u64> = outcomes
        .iter()
        .filter(|(_, outcome)| **outcome == Outcome::Acknowledged)
        .map(|(n, _)| *n)
        .collect();
    assert!(
        outcomes
            .values()
            .any(|outcome| *outcome == Outcome::Refused),
        "the load had refused batches"
    );
    let mut readers = vec![("heatlake", by_heatlake)];
    readers.extend(crate::support::independent_batch_counts(sandbox, table));
    for (reader, stored) in &readers {
        for n in &acknowledged {
            assert_eq!(
                stored.get(n),
                Some(&(EVENTS_PER_BATCH, EVENTS_PER_BATCH)),
                "{reader}: acknowledged batch {n} is in the table exactly once"
            );
        }
        let unexpected: Vec<_> = stored
            .keys()
            .filter(|x| acknowledged.binary_search(x).is_err())
            .collect();
        assert!(
            unexpected.is_empty(),
            "{reader}: batches in the table that were never acknowledged: {unexpected:?}"
        );
    }
    acknowledged.len() as u64 * EVENTS_PER_BATCH
}

/// The version of the local Delta table at `table_dir` (the newest commit file), `None` before
/// its first commit. Read from the log's file names, not through Heatlake.
pub fn local_table_version(table_dir: &std::path::Path) -> Option<u64> {
    let entries = std::fs::read_dir(table_dir.join("_delta_log")).ok()?;
    entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".json")?.parse::<u64>().ok()
        })
        .max()
}
