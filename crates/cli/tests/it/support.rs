//! Running the `heatlake` binary in isolation, and a real S3-compatible server for it.
//!
//! Every [`Sandbox`] is a fresh temporary directory used as the working directory and as
//! `HEATLAKE_HOME`, so a test never reads or writes the repository or the user's data. Variables
//! that would point the binary elsewhere (`HEATLAKE_TABLE`, `HEATLAKE_ID_SECRET`, `AWS_*`,
//! proxies) are removed from its environment.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test, built by cargo for this test target.
pub const BINARY: &str = env!("CARGO_BIN_EXE_heatlake");

/// Environment variable naming an already running S3-compatible endpoint (set by
/// `scripts/test`); without it the tests start `moto_server` themselves.
pub const S3_ENDPOINT_ENV_VAR: &str = "HEATLAKE_TEST_S3_ENDPOINT";

/// How long `moto_server` may take to answer after it was started.
const MOTO_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Bound on one HTTP exchange with the S3 server when creating a bucket.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// An `Authorization` header that makes a request non-anonymous for moto.
pub const TEST_AUTHORIZATION: &str = "Authorization: AWS4-HMAC-SHA256 \
    Credential=heatlake-test/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// Variables removed from the binary's environment so that only what a test sets counts.
const ISOLATED_ENV_VARS: [&str; 9] = [
    "HEATLAKE_TABLE",
    "HEATLAKE_ID_SECRET",
    "HEATLAKE_HOME",
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
];

/// A temporary working directory and `HEATLAKE_HOME` for runs of the binary.
pub struct Sandbox {
    dir: tempfile::TempDir,
    s3: Option<S3Bucket>,
}

impl Sandbox {
    /// A fresh, empty sandbox.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("heatlake-it-")
            .tempdir()
            .expect("a temporary directory can be created");
        std::fs::create_dir(dir.path().join("home")).expect("the home directory can be created");
        Self { dir, s3: None }
    }

    /// A sandbox whose runs reach `bucket` on the test S3 server (credentials and endpoint in
    /// the standard AWS variables).
    pub fn with_s3(bucket: S3Bucket) -> Self {
        let mut sandbox = Self::new();
        sandbox.s3 = Some(bucket);
        sandbox
    }

    /// The sandbox directory (the binary's working directory).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `name` inside the sandbox.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A local table directory inside the sandbox, as the string given to `--table`.
    pub fn local_table(&self, name: &str) -> String {
        self.file(name)
            .to_str()
            .expect("temporary paths are UTF-8")
            .to_owned()
    }

    /// The S3 bucket of this sandbox; panics when it was made without one.
    pub fn bucket(&self) -> &S3Bucket {
        self.s3
            .as_ref()
            .expect("this sandbox was made with Sandbox::with_s3")
    }

    /// The binary with the sandbox's environment, ready for arguments.
    pub fn command(&self) -> Command {
        let mut command = Command::new(BINARY);
        command.current_dir(self.path()).stdin(Stdio::null());
        for name in ISOLATED_ENV_VARS {
            command.env_remove(name);
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        command
            .env("HEATLAKE_HOME", self.file("home"))
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost");
        if let Some(bucket) = &self.s3 {
            bucket.endpoint.configure(&mut command);
        }
        command
    }

    /// Runs the binary with `args` and returns what it did.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.command();
        command.args(args);
        command
            .output()
            .unwrap_or_else(|error| panic!("cannot run {BINARY}: {error}"))
    }

    /// `python3 tests/tools/table_batches.py TABLE` with this sandbox's environment (its S3
    /// endpoint and credentials): the table as two readers that share no code with Heatlake see
    /// it. Needs the Python packages of `tests/requirements.txt` (scripts/test installs them).
    pub fn independent_table_read(&self, table: &str) -> Value {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/tools/table_batches.py");
        let mut command = Command::new("python3");
        command
            .arg(&script)
            .arg(table)
            .current_dir(self.path())
            .stdin(Stdio::null());
        if let Some(bucket) = &self.s3 {
            bucket.endpoint.configure(&mut command);
        }
        let output = command
            .output()
            .unwrap_or_else(|error| panic!("cannot run python3 {}: {error}", script.display()));
        assert!(
            output.status.success(),
            "{} failed (are the packages of tests/requirements.txt installed?): {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("table_batches.py prints JSON")
    }

    /// `heatlake gen --events N --seed S --out FILE`; returns the printed summary. `out` is
    /// relative to the sandbox; a name ending in `.gz` gives gzip.
    pub fn generate(&self, events: u64, seed: u64, out: &str) -> GenSummary {
        let output = self.run([
            "gen",
            "--events",
            &events.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
            out,
        ]);
        assert_success(&output, "heatlake gen");
        let summary = GenSummary(single_json(&output.stdout, "heatlake gen"));
        assert_eq!(summary.events(), events, "gen summary: {}", summary.0);
        summary
    }

    /// `heatlake import --table TABLE [extra...] FILE...`, whatever its outcome.
    pub fn import(&self, table: &str, files: &[&str], extra: &[&str]) -> Output {
        let mut args = vec!["import", "--table", table];
        args.extend_from_slice(extra);
        args.extend_from_slice(files);
        self.run(args)
    }

    /// `heatlake import --json`, which must succeed; returns its report.
    pub fn import_ok(&self, table: &str, files: &[&str], extra: &[&str]) -> ImportReport {
        let mut all = vec!["--json"];
        all.extend_from_slice(extra);
        let output = self.import(table, files, &all);
        assert_success(&output, "heatlake import");
        ImportReport(single_json(&output.stdout, "heatlake import --json"))
    }

    /// `heatlake sql --format json`, which must succeed; returns one value per row.
    pub fn sql_json(&self, table: &str, query: &str) -> Vec<Value> {
        self.sql_json_at(table, None, query)
    }

    /// [`Self::sql_json`] at a given table version.
    pub fn sql_json_at(&self, table: &str, version: Option<i64>, query: &str) -> Vec<Value> {
        let mut args = vec![
            "sql".to_owned(),
            "--table".to_owned(),
            table.to_owned(),
            "--format".to_owned(),
            "json".to_owned(),
        ];
        if let Some(version) = version {
            args.extend(["--version".to_owned(), version.to_string()]);
        }
        args.push(query.to_owned());
        let output = self.run(&args);
        assert_success(&output, &format!("heatlake sql {query:?}"));
        json_lines(&output.stdout)
    }

    /// `SELECT count(*)` of the table at its latest version.
    pub fn count(&self, table: &str) -> u64 {
        let rows = self.sql_json(table, "SELECT count(*) AS n FROM events");
        assert_eq!(rows.len(), 1, "{rows:?}");
        as_u64(&rows[0]["n"])
    }

    /// Event counts per `type` at the latest version.
    pub fn counts_per_type(&self, table: &str) -> BTreeMap<String, u64> {
        self.counts_per_type_at(table, None)
    }

    /// Event counts per `type` at `version`.
    pub fn counts_per_type_at(&self, table: &str, version: Option<i64>) -> BTreeMap<String, u64> {
        let rows = self.sql_json_at(
            table,
            version,
            "SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY type",
        );
        rows.iter()
            .map(|row| (as_str(&row["type"]).to_owned(), as_u64(&row["n"])))
            .collect()
    }

    /// Writes `lines` (each without its line end) as a file in the sandbox; returns its path.
    pub fn write_lines(&self, name: &str, lines: &[Vec<u8>]) -> String {
        let mut content = Vec::new();
        for line in lines {
            content.extend_from_slice(line);
            content.push(b'\n');
        }
        self.write_bytes(name, &content)
    }

    /// Writes `content` as a file in the sandbox; returns its path.
    pub fn write_bytes(&self, name: &str, content: &[u8]) -> String {
        let path = self.file(name);
        std::fs::write(&path, content).expect("the sandbox is writable");
        path.to_str().expect("temporary paths are UTF-8").to_owned()
    }
}

/// What `heatlake gen` printed.
#[derive(Debug, Clone)]
pub struct GenSummary(pub Value);

impl GenSummary {
    /// Events generated.
    pub fn events(&self) -> u64 {
        as_u64(&self.0["events"])
    }

    /// Events generated per type, types with none left out.
    pub fn events_per_type(&self) -> BTreeMap<String, u64> {
        counts_per_type(&self.0)
    }

    /// A count in the summary (`sites`, `visitors`, `sessions`, `pageviews`, `days`).
    pub fn count(&self, name: &str) -> u64 {
        as_u64(&self.0[name])
    }
}

/// What `heatlake import --json` printed.
#[derive(Debug, Clone)]
pub struct ImportReport(pub Value);

impl ImportReport {
    /// The committed table version.
    pub fn version(&self) -> i64 {
        self.0["version"]
            .as_i64()
            .unwrap_or_else(|| panic!("no integer version in {}", self.0))
    }

    /// Whether the import created the table.
    pub fn created(&self) -> bool {
        self.0["created"]
            .as_bool()
            .unwrap_or_else(|| panic!("no boolean created in {}", self.0))
    }

    /// Events committed.
    pub fn events(&self) -> u64 {
        as_u64(&self.0["events"])
    }

    /// Events committed per type, types with none left out.
    pub fn events_per_type(&self) -> BTreeMap<String, u64> {
        counts_per_type(&self.0)
    }

    /// `(path, line, reason)` of each rejected line.
    pub fn rejected(&self) -> Vec<(String, u64, String)> {
        self.0["rejected"]
            .as_array()
            .unwrap_or_else(|| panic!("no rejected array in {}", self.0))
            .iter()
            .map(|rejection| {
                (
                    as_str(&rejection["path"]).to_owned(),
                    as_u64(&rejection["line"]),
                    as_str(&rejection["reason"]).to_owned(),
                )
            })
            .collect()
    }
}

/// Panics with the command's output unless it exited with code 0.
pub fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts exit code 1 and a single `heatlake: ...` error line on stderr; returns that line.
pub fn assert_failure(output: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{what}: expected exit code 1\nstdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        output.stdout.is_empty(),
        "{what}: a failed command printed to stdout:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: expected one error line, got:\n{stderr}"
    );
    assert!(
        lines[0].starts_with("heatlake: "),
        "{what}: the error line must start with `heatlake: `:\n{stderr}"
    );
    lines[0].to_owned()
}

/// The one JSON document printed on stdout.
pub fn single_json(stdout: &[u8], what: &str) -> Value {
    let text = String::from_utf8_lossy(stdout);
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("{what} printed nothing on stdout"));
    assert!(
        lines.next().is_none(),
        "{what} printed more than one line:\n{text}"
    );
    serde_json::from_str(first)
        .unwrap_or_else(|error| panic!("{what} printed no JSON ({error}):\n{text}"))
}

/// One JSON value per non-empty line.
pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
        })
        .collect()
}

/// A JSON number that must be a non-negative integer.
pub fn as_u64(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("expected a non-negative integer, got {value}"))
}

/// A JSON string.
pub fn as_str(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
}

/// The counts per event type of a gen summary or import report (`events_by_type`, or
/// `events_per_type` as first planned), types with none left out.
fn counts_per_type(document: &Value) -> BTreeMap<String, u64> {
    let counts = ["events_by_type", "events_per_type"]
        .iter()
        .map(|name| &document[*name])
        .find(|value| value.is_object())
        .unwrap_or_else(|| panic!("no counts per type in {document}"));
    counts_object(counts)
}

/// `{"name": count, ...}` with zero counts left out.
fn counts_object(value: &Value) -> BTreeMap<String, u64> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("expected an object of counts, got {value}"))
        .iter()
        .map(|(name, count)| (name.clone(), as_u64(count)))
        .filter(|(_, count)| *count > 0)
        .collect()
}

/// Every file under `dir` (relative path → size in bytes); empty when `dir` does not exist.
pub fn list_files(dir: &Path) -> BTreeMap<String, u64> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, u64>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let entry = entry.expect("a directory entry can be read");
            let path = entry.path();
            let metadata = entry.metadata().expect("file metadata can be read");
            if metadata.is_dir() {
                walk(root, &path, files);
            } else {
                let relative = path.strip_prefix(root).expect("under the root");
                files.insert(relative.to_string_lossy().into_owned(), metadata.len());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// Valid wire-format event lines, for tests that build their own input.
pub mod lines {
    /// Milliseconds since the epoch of 2025-11-29T07:06:40Z, inside the accepted range.
    pub const TS_MS: i64 = 1_764_400_000_000;

    /// A valid click on `site`, number `n` in its page view.
    pub fn click(site: &str, n: u64) -> Vec<u8> {
        format!(
            r#"{{"v":1,"site":"{site}","type":"click","ts":{ts},"visitor_id":"visitor-{n}","session_id":"session-{n}","pageview_id":"pv-{n}","seq":{n},"url":"https://{site}/pricing","x":{x},"y":{y},"target":"main > a.buy","viewport_w":1280,"viewport_h":800}}"#,
            ts = TS_MS + n as i64,
            x = 10 + n,
            y = 20 + n,
        )
        .into_bytes()
    }

    /// `count` valid clicks on `a.example`.
    pub fn clicks(count: u64) -> Vec<Vec<u8>> {
        (0..count).map(|n| click("a.example", n)).collect()
    }
}

/// Where the test S3 server is, and how to reach it.
#[derive(Debug, Clone)]
pub struct S3Endpoint {
    url: String,
}

impl S3Endpoint {
    /// An endpoint at `url` (`http://127.0.0.1:PORT`).
    pub fn at(url: impl Into<String>) -> Self {
        Self { url: url.into() }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The shared test server: `HEATLAKE_TEST_S3_ENDPOINT` if set, else a `moto_server` this
    /// process starts once on a free loopback port (and which stops when this process exits).
    pub fn shared() -> Self {
        static SHARED: OnceLock<S3Endpoint> = OnceLock::new();
        SHARED
            .get_or_init(|| match std::env::var(S3_ENDPOINT_ENV_VAR) {
                Ok(url) if !url.is_empty() => S3Endpoint::at(url.trim_end_matches('/')),
                _ => start_moto_server(),
            })
            .clone()
    }

    /// Sets the standard AWS variables that `object_store` reads.
    pub fn configure(&self, command: &mut Command) {
        command
            .env("AWS_ACCESS_KEY_ID", "heatlake-test")
            .env("AWS_SECRET_ACCESS_KEY", "heatlake-test-secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.url)
            .env("AWS_ALLOW_HTTP", "true");
    }

    /// Creates a bucket with a unique name; returns it.
    pub fn create_unique_bucket(&self, purpose: &str) -> S3Bucket {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .subsec_nanos();
        let name = format!("hl-{purpose}-{}-{number}-{nanos}", std::process::id());
        assert!(name.len() <= 63, "bucket name too long: {name}");
        let status = self.http_put(&format!("/{name}"));
        assert_eq!(status, 200, "creating bucket {name} on {}", self.url);
        S3Bucket {
            endpoint: self.clone(),
            name,
        }
    }

    /// A bucket name on this endpoint that was never created.
    pub fn missing_bucket(&self) -> S3Bucket {
        S3Bucket {
            endpoint: self.clone(),
            name: format!("hl-missing-{}", std::process::id()),
        }
    }

    /// Sends a `PUT` with a dummy signature (moto checks none) and returns the HTTP status.
    pub fn http_put(&self, path: &str) -> u16 {
        self.http_request("PUT", path).0
    }

    /// Sends a request without a body and with a dummy signature (moto does not verify
    /// signatures, but answers requests without any as anonymous, which may not read objects);
    /// returns the HTTP status and the body.
    pub fn http_request(&self, method: &str, path: &str) -> (u16, String) {
        let authority = self
            .url
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("the test S3 endpoint must be http://: {}", self.url));
        let address: SocketAddr = authority.parse().unwrap_or_else(|error| {
            panic!(
                "the test S3 endpoint must be http://IP:PORT ({error}): {}",
                self.url
            )
        });
        let mut stream =
            TcpStream::connect_timeout(&address, HTTP_TIMEOUT).unwrap_or_else(|error| {
                panic!("cannot reach the test S3 server at {}: {error}", self.url)
            });
        stream
            .set_read_timeout(Some(HTTP_TIMEOUT))
            .expect("a timeout can be set");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\n{TEST_AUTHORIZATION}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("the request can be sent");
        let mut response = Vec::new();
        // `Connection: close`: the server ends the response by closing.
        let _ = stream.read_to_end(&mut response);
        http_status_and_body(&String::from_utf8_lossy(&response))
    }
}

/// The status and body of a whole HTTP/1.1 response (as read up to the closed connection).
pub fn http_status_and_body(response: &str) -> (u16, String) {
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A bucket on the test S3 server.
#[derive(Debug, Clone)]
pub struct S3Bucket {
    endpoint: S3Endpoint,
    name: String,
}

impl S3Bucket {
    /// A fresh bucket on the shared test server.
    pub fn create(purpose: &str) -> Self {
        S3Endpoint::shared().create_unique_bucket(purpose)
    }

    /// A bucket whose endpoint is `endpoint` (which may be unreachable) and name `name`.
    pub fn unchecked(endpoint: S3Endpoint, name: &str) -> Self {
        Self {
            endpoint,
            name: name.to_owned(),
        }
    }

    /// The server the bucket is on.
    pub fn endpoint(&self) -> &S3Endpoint {
        &self.endpoint
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `s3://BUCKET/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("s3://{}/{path}", self.name)
    }
}

/// A free TCP port on 127.0.0.1 (free when this returns; nothing listens on it).
pub fn free_loopback_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a loopback port can be bound")
        .port()
}

/// Starts `moto_server` on a free loopback port under a small shell guard that stops it when
/// the guard's standard input closes, which happens when this test process exits however it
/// exits. The guard's stdin is leaked on purpose: it must live as long as the process.
#[expect(
    clippy::zombie_processes,
    reason = "the guard lives until this process exits; its stdin closing is what stops it"
)]
fn start_moto_server() -> S3Endpoint {
    let program = moto_server_program().unwrap_or_else(|| {
        panic!(
            "the S3 tests need moto_server (PyPI `moto[server]` 5.x), which is not installed. \
             Run `bash scripts/test`, which installs tests/requirements.txt and starts it, or set \
             {S3_ENDPOINT_ENV_VAR}=http://127.0.0.1:PORT to a running S3-compatible server."
        )
    });
    let port = free_loopback_port();
    let log = std::env::temp_dir().join(format!(
        "heatlake-it-moto-{}-{port}.log",
        std::process::id()
    ));
    let script = format!(
        "{program} -H 127.0.0.1 -p {port} >'{log}' 2>&1 & server=$!; read _; kill $server",
        log = log.display()
    );
    let mut guard: Child = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh can start moto_server");
    let stdin: ChildStdin = guard.stdin.take().expect("the guard's stdin is piped");
    std::mem::forget(stdin);
    let endpoint = S3Endpoint::at(format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    while TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(1),
    )
    .is_err()
    {
        if let Ok(Some(status)) = guard.try_wait() {
            panic!(
                "moto_server exited with {status} before answering; log {}:\n{}",
                log.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < MOTO_START_TIMEOUT,
            "moto_server did not answer on port {port} within {MOTO_START_TIMEOUT:?}; log {}:\n{}",
            log.display(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The log only matters when the server does not start; the server keeps writing to the
    // unlinked file, so nothing is left behind.
    let _ = std::fs::remove_file(&log);
    endpoint
}

/// The command that starts moto: `moto_server`, else `python3 -m moto.server`.
fn moto_server_program() -> Option<&'static str> {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if works("moto_server", &["--help"]) {
        Some("moto_server")
    } else if works("python3", &["-c", "import moto.server, flask_cors"]) {
        Some("python3 -m moto.server")
    } else {
        None
    }
}

/// One HTTP/1.1 answer: the status, the headers (names lower-case) and the body (de-chunked).
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// `(name, value)` in the order received, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body, with any chunked transfer coding removed.
    pub body: Vec<u8>,
}

/// One HTTP/1.1 exchange on a fresh connection to `address` (`127.0.0.1:PORT`), ended by
/// `Connection: close`, bounded by `timeout` per read and write. `target` is sent as given (it
/// must already be percent-encoded). A server may answer and close before the whole body was
/// sent (a 413 while uploading): the answer is still read and returned; the error is returned
/// only when no answer came at all.
pub fn http_exchange(
    address: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<HttpAnswer> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let sent = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body));
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    if response.is_empty() {
        sent?;
        read?;
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the connection closed without an answer",
        ));
    }
    parse_http_answer(&response).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not an HTTP answer: {:?}",
                String::from_utf8_lossy(&response[..response.len().min(200)])
            ),
        )
    })
}

/// The status, headers and de-chunked body of a whole HTTP/1.1 response.
fn parse_http_answer(response: &[u8]) -> Option<HttpAnswer> {
    let head_end = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&response[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let raw = &response[head_end + 4..];
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
    Some(HttpAnswer {
        status,
        headers,
        body,
    })
}

/// The payload of a chunked body; what cannot be parsed is kept as it is.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = raw.windows(2).position(|window| window == b"\r\n") else {
            body.extend_from_slice(raw);
            return body;
        };
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            body.extend_from_slice(raw);
            return body;
        };
        let start = line_end + 2;
        if size == 0 || start + size > raw.len() {
            body.extend_from_slice(&raw[start.min(raw.len())..(start + size).min(raw.len())]);
            return body;
        }
        body.extend_from_slice(&raw[start..start + size]);
        raw = &raw[(start + size + 2).min(raw.len())..];
    }
}

/// Rows and distinct `y` per batch number (`x`), as one reader sees the table.
pub type BatchCounts = BTreeMap<u64, (u64, u64)>;

/// Rows and distinct `y` per `x` of `table` for each independent reader (`deltalake`, `duckdb`),
/// from [`Sandbox::independent_table_read`].
pub fn independent_batch_counts(
    sandbox: &Sandbox,
    table: &str,
) -> Vec<(&'static str, BatchCounts)> {
    let read = sandbox.independent_table_read(table);
    ["deltalake", "duckdb"]
        .into_iter()
        .map(|reader| {
            let counts = read["readers"][reader]
                .as_object()
                .unwrap_or_else(|| panic!("{reader} counts in {read}"))
                .iter()
                .map(|(x, pair)| {
                    let x = x.parse().unwrap_or_else(|_| panic!("{reader}: x = {x}"));
                    (x, (as_u64(&pair[0]), as_u64(&pair[1])))
                })
                .collect();
            (reader, counts)
        })
        .collect()
}
