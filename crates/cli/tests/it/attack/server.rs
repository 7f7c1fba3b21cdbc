//! `heatlake serve` as a process whose output is kept.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::{HttpAnswer, Sandbox, http_exchange};

use super::corpus::*;

/// A running `heatlake serve` whose standard output and error are collected.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) address: String,
    pub(super) output: Arc<Mutex<Vec<u8>>>,
    pub(super) readers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    pub(super) fn start(sandbox: &Sandbox, config: &Path, log_filter: &str) -> Self {
        let mut child = sandbox
            .command()
            .args(["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", log_filter)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("heatlake serve starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let mut readers = Vec::new();
        let stdout: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("piped"));
        let stderr: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("piped"));
        for stream in [stdout, stderr] {
            let output = Arc::clone(&output);
            let address_sender = address_sender.clone();
            readers.push(std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut line = Vec::new();
                while reader
                    .read_until(b'\n', &mut line)
                    .is_ok_and(|read| read > 0)
                {
                    let text = String::from_utf8_lossy(&line);
                    if let Some(rest) = text.split("listening on http://").nth(1) {
                        let address = rest.split_whitespace().next().unwrap_or("").to_owned();
                        let _ = address_sender.send(address);
                    }
                    output.lock().unwrap().extend_from_slice(&line);
                    line.clear();
                }
            }));
        }
        let address = address_receiver
            .recv_timeout(START_TIMEOUT)
            .expect("heatlake serve prints the address it listens on");
        let server = Self {
            child,
            address,
            output,
            readers,
        };
        let started = Instant::now();
        while server.get("/readyz").map(|answer| answer.status) != Some(200) {
            assert!(
                started.elapsed() < START_TIMEOUT,
                "the collector never got ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub(super) fn get(&self, target: &str) -> Option<HttpAnswer> {
        http_exchange(&self.address, "GET", target, &[], b"", REQUEST_TIMEOUT).ok()
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, a clean exit within [`STOP_TIMEOUT`]; returns everything it printed.
    pub(super) fn stop(mut self) -> String {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM could be sent");
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = self
                .child
                .try_wait()
                .expect("the collector can be waited for")
            {
                break status;
            }
            assert!(Instant::now() < deadline, "the collector did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        for reader in self.readers.drain(..) {
            reader.join().expect("the output reader ends");
        }
        let output = String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned();
        assert!(
            status.success(),
            "heatlake serve exited with {status}:\n{output}"
        );
        output
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The collector's configuration: one site with every opt-in on, so that every field is kept
/// (scrubbed) and every way in is open; default limits.
pub(super) fn write_config(
    sandbox: &Sandbox,
    data_dir: &Path,
    collector_settings: &str,
) -> PathBuf {
    let config = format!(
        r#"listen = "127.0.0.1:0"
data_dir = "{data}"
table = "{data}/events"
wal_dir = "{data}/wal"
client_ip_header = "X-Forwarded-For"

[collector]
{collector_settings}

[[sites]]
id = "{SITE}"
write_key = "{WRITE_KEY}"
allowed_origins = ["*"]
honour_dnt = false
rate_events_per_second = 10_000_000
rate_burst_events = 10_000_000

[sites.privacy]
keep_text = true
value_fields = ["{VALUE_FIELD}"]
ip = "truncate"
"#,
        data = data_dir.display(),
    );
    let path = sandbox.file("collector.toml");
    std::fs::write(&path, config).expect("the config can be written");
    path
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis() as i64
}
