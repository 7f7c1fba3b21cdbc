//! A TCP proxy on loopback in front of the test S3 server, which the fault tests control: it
//! forwards, refuses or stalls connections, answers a share of requests with an error of its
//! own, and can forward a commit's `PUT` to the store but lose the store's answer on the way
//! back (the request took effect; the writer never hears so: the classic duplicate-commit
//! hazard). It counts what it did, so a test can prove its fault happened; its own tests are
//! at the end of this file.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{S3Bucket, TEST_AUTHORIZATION, http_status_and_body};

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Forward both ways.
    Pass = 0,
    /// Close every connection, new and open.
    Refuse = 1,
    /// Accept, forward nothing; close the connections when the stall ends.
    Stall = 2,
}

/// What the proxy did, and what it is asked to do besides its mode.
#[derive(Default)]
struct State {
    mode: AtomicU8,
    /// Commit `PUT`s (`…/_delta_log/NNNNNNNNNNNNNNNNNNNN.json`) whose answers are still to
    /// be lost.
    commit_answers_to_lose: AtomicU64,
    /// Commit `PUT`s the store answered 200 and the writer never heard of.
    commit_answers_lost: AtomicU64,
    /// Whether `PUT`s of a commit whose answer was lost are cut off unanswered when sent again
    /// (the network stays down for the writer's retries), rather than reach the store.
    cut_retries: AtomicBool,
    /// The commits whose answers were lost.
    lost_commits: Mutex<HashSet<String>>,
    /// Retried commit `PUT`s cut off.
    retries_cut: AtomicU64,
    /// Requests answered `503 Slow Down` by the proxy, per thousand requests.
    errors_per_mille: AtomicU64,
    /// Requests answered with an error by the proxy.
    errors_injected: AtomicU64,
    /// Whether `If-None-Match` headers are removed from requests: the store then behaves
    /// as one that ignores conditional writes.
    strip_conditions: AtomicBool,
    /// `If-None-Match` headers removed.
    conditions_stripped: AtomicU64,
    /// Requests seen (their first bytes).
    requests: AtomicU64,
    /// xorshift64* state for the error draws.
    draws: Mutex<u64>,
}

/// A running proxy; it lives as long as the test process.
pub struct StoreProxy {
    state: Arc<State>,
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub url: String,
}

impl StoreProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:PORT`), forwarding everything.
    pub fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("the proxy can listen");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            draws: Mutex::new(0x9E37_79B9_7F4A_7C15),
            ..State::default()
        });
        let accept_state = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let state = Arc::clone(&accept_state);
                let upstream = upstream.clone();
                std::thread::spawn(move || relay(client, &upstream, &state));
            }
        });
        Self { state, url }
    }

    /// Forward, refuse or stall from now on.
    pub fn set(&self, mode: Mode) {
        self.state.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Loses the answers of the next `count` commit `PUT`s (the store still takes them); the
    /// writer's retries of them reach the store, which refuses them: the version exists.
    pub fn lose_commit_answers(&self, count: u64) {
        self.state.cut_retries.store(false, Ordering::SeqCst);
        self.state
            .commit_answers_to_lose
            .store(count, Ordering::SeqCst);
    }

    /// Loses the answers of the next `count` commit `PUT`s (the store still takes them), and
    /// cuts off every retry of them unanswered: the writer sees only errors, although its
    /// commit is in the table.
    pub fn lose_commit_answers_and_cut_retries(&self, count: u64) {
        self.state.cut_retries.store(true, Ordering::SeqCst);
        self.state
            .commit_answers_to_lose
            .store(count, Ordering::SeqCst);
    }

    /// Retried commit `PUT`s cut off so far.
    pub fn retries_cut(&self) -> u64 {
        self.state.retries_cut.load(Ordering::SeqCst)
    }

    /// Commit `PUT`s so far that the store answered 200 and the writer never heard of.
    pub fn commit_answers_lost(&self) -> u64 {
        self.state.commit_answers_lost.load(Ordering::SeqCst)
    }

    /// Answers this share of requests (per thousand, drawn at random) `503 Slow Down` without
    /// forwarding them; 0 turns it off.
    pub fn inject_errors_per_mille(&self, per_mille: u64) {
        self.state
            .errors_per_mille
            .store(per_mille, Ordering::SeqCst);
    }

    /// Requests the proxy answered with an error of its own.
    pub fn errors_injected(&self) -> u64 {
        self.state.errors_injected.load(Ordering::SeqCst)
    }

    /// Removes `If-None-Match` from every request from now on (`true`), so that the store
    /// replaces objects that a create should have left alone, as stores that ignore
    /// conditional writes do.
    pub fn ignore_conditional_puts(&self, ignore: bool) {
        self.state.strip_conditions.store(ignore, Ordering::SeqCst);
    }

    /// `If-None-Match` headers removed so far.
    pub fn conditions_stripped(&self) -> u64 {
        self.state.conditions_stripped.load(Ordering::SeqCst)
    }

    /// Requests seen.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl State {
    fn mode(&self) -> u8 {
        self.mode.load(Ordering::SeqCst)
    }

    /// Whether the next request draws an injected error.
    fn draw_error(&self) -> bool {
        let per_mille = self.errors_per_mille.load(Ordering::SeqCst);
        if per_mille == 0 {
            return false;
        }
        let mut draws = self.draws.lock().unwrap();
        *draws ^= *draws >> 12;
        *draws ^= *draws << 25;
        *draws ^= *draws >> 27;
        draws.wrapping_mul(0x2545_F491_4F6C_DD1D) % 1000 < per_mille
    }

    /// Claims one lost answer for a commit `PUT`, if any are still to be lost.
    fn claim_lost_answer(&self) -> bool {
        self.commit_answers_to_lose
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }
}

/// The path, when `bytes` (the start of a request) are a `PUT` of a Delta commit file.
fn commit_put_path(bytes: &[u8]) -> Option<String> {
    let line = bytes.split(|byte| *byte == b'\r').next()?;
    let mut parts = std::str::from_utf8(line).ok()?.split(' ');
    let (Some("PUT"), Some(target)) = (parts.next(), parts.next()) else {
        return None;
    };
    let path = target.split('?').next()?;
    let (_, name) = path.rsplit_once("/_delta_log/")?;
    let version = name.strip_suffix(".json")?;
    (version.len() == 20 && version.bytes().all(|byte| byte.is_ascii_digit()))
        .then(|| path.to_owned())
}

/// `bytes` (the start of a request) without their `If-None-Match` header line, if they have one.
fn without_condition(bytes: &[u8]) -> Option<Vec<u8>> {
    let lower = bytes.to_ascii_lowercase();
    let needle = b"\r\nif-none-match:";
    let start = lower
        .windows(needle.len())
        .position(|window| window == needle)?;
    let end = start
        + 2
        + lower[start + 2..]
            .windows(2)
            .position(|window| window == b"\r\n")?;
    let mut kept = bytes[..start].to_vec();
    kept.extend_from_slice(&bytes[end..]);
    Some(kept)
}

/// Whether `bytes` start a request (a method, a space, a path), rather than continue a body.
fn starts_request(bytes: &[u8]) -> bool {
    ["GET /", "PUT /", "POST /", "HEAD /", "DELETE /"]
        .iter()
        .any(|start| bytes.starts_with(start.as_bytes()))
}

/// What an injected error looks like: S3's answer when it sheds load.
const INJECTED_ERROR: &[u8] = b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n\
Content-Length: 86\r\nConnection: close\r\n\r\n\
<Error><Code>SlowDown</Code><Message>Injected by the test proxy</Message></Error>\n\n\n\n";

/// Forwards one connection while the mode allows it.
fn relay(client: TcpStream, upstream: &str, state: &Arc<State>) {
    let started_in = state.mode();
    if started_in == Mode::Refuse as u8 {
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    if started_in == Mode::Stall as u8 {
        while state.mode() == Mode::Stall as u8 {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    // Set by the request direction before it forwards a commit whose answer is to be lost;
    // the answer direction then drops the answer and closes the client's connection.
    let lose_answer: Arc<Mutex<Option<String>>> = Arc::default();
    let requests = {
        let (mut from, mut to) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let mut answer_to = client.try_clone().unwrap();
        let state = Arc::clone(state);
        let lose_answer = Arc::clone(&lose_answer);
        std::thread::spawn(move || {
            pump(&mut from, &mut to, &state, |chunk| {
                if !starts_request(chunk) {
                    return Forward::Yes;
                }
                state.requests.fetch_add(1, Ordering::SeqCst);
                if state.draw_error() {
                    state.errors_injected.fetch_add(1, Ordering::SeqCst);
                    let _ = answer_to.write_all(INJECTED_ERROR);
                    return Forward::Close;
                }
                if state.strip_conditions.load(Ordering::SeqCst)
                    && let Some(kept) = without_condition(chunk)
                {
                    state.conditions_stripped.fetch_add(1, Ordering::SeqCst);
                    return Forward::Replace(kept);
                }
                let Some(path) = commit_put_path(chunk) else {
                    return Forward::Yes;
                };
                if state.cut_retries.load(Ordering::SeqCst)
                    && state.lost_commits.lock().unwrap().contains(&path)
                {
                    state.retries_cut.fetch_add(1, Ordering::SeqCst);
                    return Forward::Close;
                }
                if state.claim_lost_answer() {
                    *lose_answer.lock().unwrap() = Some(path);
                }
                Forward::Yes
            });
        })
    };
    let answers = {
        let (mut from, mut to) = (server, client);
        let state = Arc::clone(state);
        std::thread::spawn(move || {
            pump(&mut from, &mut to, &state, |chunk| {
                let Some(path) = lose_answer.lock().unwrap().take() else {
                    return Forward::Yes;
                };
                if chunk.starts_with(b"HTTP/1.1 200") {
                    state.lost_commits.lock().unwrap().insert(path);
                    state.commit_answers_lost.fetch_add(1, Ordering::SeqCst);
                    Forward::Close
                } else {
                    // The store refused it (the version exists): it took nothing, so this
                    // answer is passed on and the claim goes back for a later commit.
                    state.commit_answers_to_lose.fetch_add(1, Ordering::SeqCst);
                    Forward::Yes
                }
            });
        })
    };
    let _ = requests.join();
    let _ = answers.join();
}

/// What to do with a chunk.
enum Forward {
    Yes,
    /// Send these bytes instead.
    Replace(Vec<u8>),
    /// Drop it and close both connections.
    Close,
}

/// Copies `from` to `to` chunk by chunk, asking `decide` about each, until either side closes
/// or a fault begins.
fn pump(
    from: &mut TcpStream,
    to: &mut TcpStream,
    state: &State,
    mut decide: impl FnMut(&[u8]) -> Forward,
) {
    from.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        if state.mode() != Mode::Pass as u8 {
            // A fault began: hold the bytes (a stall) or drop the line (refuse).
            while state.mode() == Mode::Stall as u8 {
                std::thread::sleep(Duration::from_millis(20));
            }
            break;
        }
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => match decide(&buffer[..read]) {
                Forward::Yes => {
                    if to.write_all(&buffer[..read]).is_err() {
                        break;
                    }
                }
                Forward::Replace(bytes) => {
                    if to.write_all(&bytes).is_err() {
                        break;
                    }
                }
                Forward::Close => break,
            },
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
}

/// A `PUT` of `path` with `body` through `address`, with `If-None-Match: *` when
/// `only_if_absent` (as a Delta commit is sent); the raw answer (empty when the connection
/// closed without one). moto checks no signatures.
fn raw_put(address: &str, path: &str, body: &str, only_if_absent: bool) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let condition = if only_if_absent {
        "If-None-Match: *\r\n"
    } else {
        ""
    };
    // Written whole or cut off by an injected error's close; either way the answer is read.
    let _ = write!(
        stream,
        "PUT {path} HTTP/1.1\r\nHost: {address}\r\n{TEST_AUTHORIZATION}\r\n{condition}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn the_proxy_loses_only_commit_answers_and_the_store_keeps_the_commit() {
    let bucket = S3Bucket::create("proxy");
    let proxy = StoreProxy::start(bucket.endpoint().url());
    let address = proxy.url.trim_start_matches("http://").to_owned();
    let bucket_name = bucket.name();
    proxy.lose_commit_answers(1);
    // Not a commit: answered.
    let data = raw_put(
        &address,
        &format!("/{bucket_name}/t/part-0.parquet"),
        "data",
        false,
    );
    assert_eq!(http_status_and_body(&data).0, 200, "{data}");
    // A commit: taken by the store, its answer lost.
    let commit = format!("/{bucket_name}/t/_delta_log/00000000000000000000.json");
    let lost = raw_put(&address, &commit, "{}", false);
    assert_eq!(lost, "", "the commit's answer is lost");
    assert_eq!(proxy.commit_answers_lost(), 1);
    let (status, body) = bucket.endpoint().http_request("GET", &commit);
    assert_eq!(
        (status, body.as_str()),
        (200, "{}"),
        "the store has the commit"
    );
    // Only as many answers as asked for are lost.
    let next = format!("/{bucket_name}/t/_delta_log/00000000000000000001.json");
    assert_eq!(
        http_status_and_body(&raw_put(&address, &next, "{}", false)).0,
        200
    );
    assert_eq!(proxy.commit_answers_lost(), 1);
    // A retry reaches the store, which refuses it when the writer asks for a new object: the
    // proxy passes that answer on and loses the next 200 instead.
    proxy.lose_commit_answers(1);
    let conditional = raw_put(&address, &commit, "{}", true);
    assert_eq!(http_status_and_body(&conditional).0, 412, "{conditional}");
    assert_eq!(
        proxy.commit_answers_lost(),
        1,
        "a refusal is not a lost answer"
    );
    // With retries cut: the lost commit's path is cut off unanswered from then on.
    proxy.lose_commit_answers_and_cut_retries(1);
    let third = format!("/{bucket_name}/t/_delta_log/00000000000000000002.json");
    assert_eq!(raw_put(&address, &third, "{}", false), "");
    assert_eq!(proxy.commit_answers_lost(), 2);
    assert_eq!(
        raw_put(&address, &third, "{}", true),
        "",
        "the retry is cut off"
    );
    assert_eq!(proxy.retries_cut(), 1);
    assert_eq!(bucket.endpoint().http_request("GET", &third).0, 200);
}

#[test]
fn the_proxy_injects_errors_at_the_asked_rate_without_forwarding_them() {
    let bucket = S3Bucket::create("proxy-errors");
    let proxy = StoreProxy::start(bucket.endpoint().url());
    let address = proxy.url.trim_start_matches("http://").to_owned();
    proxy.inject_errors_per_mille(1000);
    let path = format!("/{}/refused.txt", bucket.name());
    let answer = raw_put(&address, &path, "x", false);
    assert_eq!(http_status_and_body(&answer).0, 503, "{answer}");
    let (status, _) = bucket.endpoint().http_request("GET", &path);
    assert_eq!(status, 404, "an injected error never reaches the store");
    proxy.inject_errors_per_mille(300);
    let mut errors = 0;
    for n in 0..200 {
        let answer = raw_put(&address, &format!("/{}/o-{n}", bucket.name()), "x", false);
        if http_status_and_body(&answer).0 == 503 {
            errors += 1;
        }
    }
    // 30 % of 200 draws: a binomial with a standard deviation of 6.5.
    assert!((30..=90).contains(&errors), "{errors} of 200 refused");
    assert_eq!(proxy.errors_injected(), 1 + errors);
    proxy.inject_errors_per_mille(0);
    assert_eq!(
        http_status_and_body(&raw_put(&address, &path, "x", false)).0,
        200
    );
}

#[test]
fn the_proxy_can_make_the_store_ignore_conditional_puts() {
    let bucket = S3Bucket::create("proxy-conditions");
    let proxy = StoreProxy::start(bucket.endpoint().url());
    let address = proxy.url.trim_start_matches("http://").to_owned();
    let path = format!("/{}/t/_delta_log/00000000000000000000.json", bucket.name());
    assert_eq!(
        http_status_and_body(&raw_put(&address, &path, "{}", true)).0,
        200
    );
    let refused = raw_put(&address, &path, "{}", true);
    assert_eq!(http_status_and_body(&refused).0, 412, "{refused}");
    proxy.ignore_conditional_puts(true);
    let replaced = raw_put(&address, &path, "{}", true);
    assert_eq!(http_status_and_body(&replaced).0, 200, "{replaced}");
    assert_eq!(proxy.conditions_stripped(), 1);
}
