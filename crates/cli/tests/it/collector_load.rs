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

use crate::support::{S3Bucket, Sandbox};

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
    write_config_of(sandbox, 0, table, collector_settings)
}

/// Writes the config of collector `instance` (each with its own data directory, so its own
/// WAL and collector id) for `table` into the sandbox and returns its path.
pub fn write_config_of(
    sandbox: &Sandbox,
    instance: usize,
    table: &str,
    collector_settings: &str,
) -> String {
    let (data_name, config_name) = match instance {
        0 => ("data".to_owned(), "collector.toml".to_owned()),
        _ => (
            format!("data-{instance}"),
            format!("collector-{instance}.toml"),
        ),
    };
    let data_dir = sandbox.file(&data_name);
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
    let path = sandbox.file(&config_name);
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

    /// The collector's metric `name` (with or without the `heatlake_` prefix) from
    /// `/metrics`, summed over its label sets.
    pub fn metric(&self, name: &str) -> f64 {
        let (status, text) = self
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

/// Writes the NDJSON lines of the valid load batches among `numbers` into the sandbox file
/// `name`, for an import; returns its path and the batches it holds.
pub fn write_import_file(
    sandbox: &Sandbox,
    name: &str,
    numbers: std::ops::Range<u64>,
) -> (String, Vec<u64>) {
    let valid: Vec<u64> = numbers.filter(|n| !is_invalid(*n)).collect();
    let lines: Vec<u8> = valid.iter().flat_map(|n| batch_body(*n)).collect();
    (sandbox.write_bytes(name, &lines), valid)
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

/// Sender threads that keep posting batches to whatever collectors are current, retrying
/// batches whose outcome is unknown with the same batch id. With several collectors, batch
/// `n` always goes to collector `n % count`, as a load balancer with affinity would send a
/// client's retries: a collector recognises only the batch ids it has seen.
pub struct Load {
    addresses: Arc<Mutex<Vec<Option<String>>>>,
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
            addresses: Arc::new(Mutex::new(vec![None])),
            outcomes: Arc::default(),
            next_batch: Arc::default(),
            acknowledged: Arc::default(),
            new_batches: Arc::new(AtomicBool::new(true)),
            running: Arc::new(AtomicBool::new(true)),
            threads: Vec::new(),
        };
        for _ in 0..senders {
            let addresses = Arc::clone(&load.addresses);
            let outcomes = Arc::clone(&load.outcomes);
            let next_batch = Arc::clone(&load.next_batch);
            let acknowledged = Arc::clone(&load.acknowledged);
            let new_batches = Arc::clone(&load.new_batches);
            let running = Arc::clone(&load.running);
            load.threads.push(std::thread::spawn(move || {
                while running.load(Ordering::Relaxed) {
                    let current = addresses.lock().unwrap().clone();
                    let address_of = |n: u64| current[(n % current.len() as u64) as usize].clone();
                    if current.iter().all(Option::is_none) {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    // Unknown batches whose collector is up first, then new ones while they
                    // are wanted.
                    let retry = {
                        let mut outcomes = outcomes.lock().unwrap();
                        let found = outcomes
                            .iter()
                            .find(|(n, outcome)| {
                                **outcome == Outcome::Unknown && address_of(**n).is_some()
                            })
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
                    let Some(address) = address_of(n) else {
                        // Its collector is down: it waits for the restart.
                        outcomes.lock().unwrap().insert(n, Outcome::Unknown);
                        continue;
                    };
                    let outcome = send_batch(&address, n);
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
        self.targets(&[address.map(str::to_owned)]);
    }

    /// Points the senders at collectors (`None` for one that is down); batch `n` goes to
    /// `addresses[n % len]`.
    pub fn targets(&self, addresses: &[Option<String>]) {
        *self.addresses.lock().unwrap() = addresses.to_vec();
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

/// A Delta table's log as its files show it, read without Heatlake or deltalake: a local
/// directory's `_delta_log`, or a listing of the S3 bucket.
pub enum TableLog {
    /// `TABLE/_delta_log` on the local file system.
    Local(std::path::PathBuf),
    /// `_delta_log/` under a prefix of a bucket on the test S3 server.
    S3 {
        /// The bucket.
        bucket: S3Bucket,
        /// `TABLE/_delta_log/`.
        prefix: String,
        /// The newest version seen so far: listings start after it.
        newest: Mutex<Option<u64>>,
    },
}

impl TableLog {
    /// The log of the local table at `table_dir`.
    pub fn local(table_dir: &std::path::Path) -> Self {
        Self::Local(table_dir.join("_delta_log"))
    }

    /// The log of the table at `s3://BUCKET/path`.
    pub fn s3(bucket: &S3Bucket, path: &str) -> Self {
        Self::S3 {
            bucket: bucket.clone(),
            prefix: format!("{path}/_delta_log/"),
            newest: Mutex::new(None),
        }
    }

    /// The table's version (its newest commit file), `None` before its first commit.
    pub fn version(&self) -> Option<u64> {
        match self {
            Self::Local(dir) => commit_versions(local_names(dir)).max(),
            Self::S3 {
                bucket,
                prefix,
                newest,
            } => {
                let mut newest = newest.lock().unwrap();
                let start_after = newest.map(|version| format!("{prefix}{version:020}.json"));
                let names = s3_names(bucket, prefix, start_after.as_deref());
                *newest = commit_versions(names).max().max(*newest);
                *newest
            }
        }
    }

    /// Whether the checkpoint of `version` is written.
    pub fn has_checkpoint(&self, version: u64) -> bool {
        let name = format!("{version:020}.checkpoint.parquet");
        match self {
            Self::Local(dir) => dir.join(name).exists(),
            Self::S3 { bucket, prefix, .. } => {
                let path = format!("/{}/{prefix}{name}", bucket.name());
                s3_request(bucket, "HEAD", &path).0 == 200
            }
        }
    }

    /// The versions that have a checkpoint.
    pub fn checkpoints(&self) -> Vec<u64> {
        let names = match self {
            Self::Local(dir) => local_names(dir),
            Self::S3 { bucket, prefix, .. } => s3_names(bucket, prefix, None),
        };
        let mut versions: Vec<u64> = names
            .iter()
            .filter_map(|name| name.strip_suffix(".checkpoint.parquet")?.parse().ok())
            .collect();
        versions.sort_unstable();
        versions
    }
}

/// The versions of the commit files among `names`.
fn commit_versions(names: Vec<String>) -> impl Iterator<Item = u64> {
    names
        .into_iter()
        .filter_map(|name| name.strip_suffix(".json")?.parse::<u64>().ok())
}

/// The file names in the local directory `dir` (none when it does not exist).
fn local_names(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect()
}

/// The names of the objects under `prefix` in `bucket` (after `start_after`, a whole key),
/// from S3 `ListObjectsV2` pages.
fn s3_names(bucket: &S3Bucket, prefix: &str, start_after: Option<&str>) -> Vec<String> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/{}?list-type=2&prefix={prefix}", bucket.name());
        if let Some(token) = &token {
            path.push_str(&format!("&continuation-token={}", percent_encode(token)));
        } else if let Some(start_after) = start_after {
            path.push_str(&format!("&start-after={start_after}"));
        }
        let (status, body) = s3_request(bucket, "GET", &path);
        assert_eq!(status, 200, "listing {path}: {body}");
        names.extend(
            xml_values(&body, "Key")
                .into_iter()
                .map(|key| key.strip_prefix(prefix).unwrap_or(key).to_owned()),
        );
        match xml_values(&body, "NextContinuationToken").first() {
            Some(next) => token = Some((*next).to_owned()),
            None => return names,
        }
    }
}

/// Tries of a request to the test S3 server that answers 500.
const S3_TRIES: usize = 10;

/// A request to the test S3 server, tried again while it answers 500: moto's listings
/// sometimes fail while other clients write the same bucket.
fn s3_request(bucket: &S3Bucket, method: &str, path: &str) -> (u16, String) {
    let mut answer = bucket.endpoint().http_request(method, path);
    for _ in 1..S3_TRIES {
        if answer.0 < 500 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        answer = bucket.endpoint().http_request(method, path);
    }
    answer
}

/// The texts of the elements `tag` in `xml`.
fn xml_values<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| rest.split(close.as_str()).next())
        .collect()
}

/// `text` with every byte outside the unreserved set percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
