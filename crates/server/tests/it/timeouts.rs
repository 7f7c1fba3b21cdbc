//! The bounds on time: `request_timeout_ms` (with a retry through the real write-ahead-log
//! collector), `idle_timeout_ms` and `shutdown_grace_ms` (over real TCP sockets).
//!
//! Requests are made slow by a [`HeldSink`] that holds their appends until the test lets them
//! go, so no test depends on how fast the machine is; a bound that is broken shows as a wait
//! that does not end within [`crate::held_sink::NEVER`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use heatlake_ingest::collector::CollectorSink;
use heatlake_server::{AppState, Appended, EventSink, Metrics, ServerConfig, build_router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::held_sink::{HeldSink, Hold, within};
use crate::support::{
    App, KEY_A, Reply, clicks, events_request, send_to, state_over, state_over_memory, two_sites,
};

/// A router over the durable collector in a temporary directory, behind a [`HeldSink`].
struct Durable {
    router: Router,
    held: Arc<HeldSink>,
    collector: Arc<CollectorSink>,
    _directory: tempfile::TempDir,
}

impl Durable {
    async fn new(config: ServerConfig) -> Self {
        let directory = tempfile::tempdir().unwrap();
        let mut config = config;
        config.data_dir = directory.path().to_path_buf();
        let location = heatlake_table::TableLocation::parse(&config.table_location()).unwrap();
        let options = heatlake_server::collector_options(&config, &Metrics::new());
        let collector = CollectorSink::open(location, options);
        collector.opened().await.unwrap();
        let held = HeldSink::new(collector.clone());
        let router = build_router(state_over(config, held.clone()));
        Self {
            router,
            held,
            collector,
            _directory: directory,
        }
    }

    /// Posts four clicks of `a.example` as batch `batch_id`.
    async fn post_batch(&self, batch_id: &str) -> Reply {
        let request = events_request(KEY_A)
            .header("x-heatlake-batch", batch_id)
            .body(Body::from(clicks("a.example", 4)))
            .unwrap();
        within("an answer", send_to(self.router.clone(), request)).await
    }

    /// Stops the collector (which commits everything acknowledged) and says how many events
    /// the table holds.
    async fn committed_events(&self) -> u64 {
        self.collector.shutdown().await.unwrap();
        self.collector.stats().committed_events
    }
}

/// The configuration with `request_timeout_ms` of 1 s: long enough for a request of four
/// events to reach the sink on a loaded machine.
fn with_request_timeout() -> ServerConfig {
    let mut config = two_sites();
    config.limits.request_timeout_ms = 1000;
    config
}

fn assert_timed_out(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.header("retry-after"), Some("1"));
    let json = reply.json();
    assert_eq!(
        (&json["reason"], &json["limit"]),
        (
            &serde_json::json!("unavailable"),
            &serde_json::json!("request_timeout_ms")
        )
    );
    assert_eq!(
        json["error"],
        "the request took longer than request_timeout_ms (1000 ms); retry it with the same batch id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_timed_out_after_its_batch_was_stored_is_a_duplicate_when_retried() {
    let durable = Durable::new(with_request_timeout()).await;
    durable.held.hold(Hold::BeforeAnswering);
    assert_timed_out(&durable.post_batch("retried-1").await);
    // The client heard 503, yet the batch is in the WAL.
    assert_eq!(durable.held.outcomes(), [Ok(Appended::Stored)]);

    durable.held.hold(Hold::Nothing);
    let retry = durable.post_batch("retried-1").await;
    assert_eq!(
        (retry.status, retry.text().as_str()),
        (StatusCode::OK, r#"{"accepted":4,"duplicate":true}"#)
    );
    assert_eq!(durable.committed_events().await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_timed_out_before_its_batch_was_stored_is_stored_once_when_retried() {
    let durable = Durable::new(with_request_timeout()).await;
    // The timed-out append is still on its way to the WAL and arrives after the retry.
    durable.held.hold(Hold::BeforeStoringDetached);
    assert_timed_out(&durable.post_batch("retried-2").await);
    durable.held.wait_waiting(1).await;

    durable.held.hold(Hold::Nothing);
    let retry = durable.post_batch("retried-2").await;
    assert_eq!(
        (retry.status, retry.text().as_str()),
        (StatusCode::OK, r#"{"accepted":4}"#)
    );
    durable.held.release(1);
    assert_eq!(
        durable.held.wait_outcomes(2).await,
        [Ok(Appended::Stored), Ok(Appended::Duplicate)]
    );
    assert_eq!(durable.committed_events().await, 4);
}

/// A server on a free port of 127.0.0.1, and what stops it.
struct Serving {
    address: SocketAddr,
    state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: JoinHandle<heatlake_server::Result<()>>,
}

impl Serving {
    fn start(state: AppState) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(heatlake_server::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Self {
            address,
            state,
            stop: Some(stop),
            server,
        }
    }

    /// Asks the server to stop and waits until it no longer accepts.
    async fn begin_stop(&mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        let state = self.state.clone();
        within("the server to stop accepting", async move {
            while !state.is_shutting_down() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }

    /// Waits until `serve` returned, and says how it did.
    async fn stopped(self) -> heatlake_server::Result<()> {
        within("serve to return", self.server).await.unwrap()
    }
}

/// Reads one answer (head and a `content-length` body) from `stream`.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await.unwrap();
        assert_ne!(
            read,
            0,
            "closed mid-answer: {:?}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .expect("a content-length")
                .parse()
                .unwrap();
            if body.len() >= length {
                return text;
            }
        }
    }
}

/// Reads `stream` until the server closes it; returns what it sent meanwhile.
async fn read_until_closed(stream: &mut (impl AsyncReadExt + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return received,
            Ok(read) => received.extend_from_slice(&chunk[..read]),
        }
    }
}

/// `idle_timeout_ms` of 1 s: a test's request is written well within it after connecting.
fn with_idle_timeout() -> ServerConfig {
    let mut config = two_sites();
    config.limits.idle_timeout_ms = 1000;
    config
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_idle_timeout_ms() {
    let serving = Serving::start(state_over_memory(with_idle_timeout()).0);
    let mut stream = TcpStream::connect(serving.address).await.unwrap();
    // Two requests on the connection: it is kept alive between them.
    for _ in 0..2 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: heatlake.test\r\n\r\n")
            .await
            .unwrap();
        let answer = within("an answer", read_answer(&mut stream)).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok\n"), "{answer}");
    }
    let after_idle = within(
        "the idle connection to be closed",
        read_until_closed(&mut stream),
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&after_idle), "");
}

#[tokio::test]
async fn a_client_sending_its_headers_too_slowly_is_cut_after_idle_timeout_ms() {
    let serving = Serving::start(state_over_memory(with_idle_timeout()).0);
    let stream = TcpStream::connect(serving.address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: heatlake.test\r\nx-slow: ")
        .await
        .unwrap();
    // A byte every 100 ms, for ever: the connection is never idle for idle_timeout_ms, but its
    // headers never end.
    let trickle = tokio::spawn(async move {
        let mut sent = 0u64;
        while writer.write_all(b"a").await.is_ok() {
            sent += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sent
    });
    let received = within("the slow client to be cut", read_until_closed(&mut reader)).await;
    assert_eq!(String::from_utf8_lossy(&received), "");
    let sent = within("the trickle to fail", trickle).await.unwrap();
    assert!(sent > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_shutdown_a_request_that_finishes_within_the_grace_gets_its_answer() {
    let mut config = two_sites();
    config.limits.shutdown_grace_ms = 60_000;
    let (app, held) = App::with_held_sink(config);
    let mut serving = Serving::start(app.state.clone());
    held.hold(Hold::BeforeStoring);
    let request = tokio::spawn(post_over_tcp(serving.address, 2));
    held.wait_waiting(1).await;
    serving.begin_stop().await;
    held.release(1);
    let answer = within("the answer", request).await.unwrap().unwrap();
    assert_eq!(answer, (200, r#"{"accepted":2}"#.to_owned()));
    serving.stopped().await.unwrap();
    assert!(app.sink.is_shut_down());
    assert_eq!(app.sink.event_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_shutdown_a_request_still_running_after_the_grace_is_closed() {
    let mut config = two_sites();
    config.limits.shutdown_grace_ms = 300;
    // Longer than a test waits: the request would not end on its own.
    config.limits.request_timeout_ms = 3_600_000;
    let (app, held) = App::with_held_sink(config);
    let mut serving = Serving::start(app.state.clone());
    // Held for ever: only the grace ends it.
    held.hold(Hold::BeforeStoring);
    let request = tokio::spawn(post_over_tcp(serving.address, 2));
    held.wait_waiting(1).await;
    serving.begin_stop().await;
    serving.stopped().await.unwrap();
    assert!(app.sink.is_shut_down());
    let answer = within("the request to be closed", request).await.unwrap();
    let error = answer.expect_err("closed without an answer");
    assert!(!error.is_timeout(), "{error}");
    // The request itself was dropped, not left running.
    held.wait_waiting(0).await;
    assert_eq!(app.sink.event_count(), 0);
}

/// Posts `count` clicks of `a.example` over a new connection to `address`; the status and body.
async fn post_over_tcp(address: SocketAddr, count: u32) -> reqwest::Result<(u16, String)> {
    let reply = reqwest::Client::new()
        .post(format!("http://{address}/v1/events"))
        .header("x-heatlake-key", KEY_A)
        .body(clicks("a.example", count))
        .send()
        .await?;
    let status = reply.status().as_u16();
    Ok((status, reply.text().await?))
}

#[test]
fn batch_id_window_ms_sets_the_collectors_window() {
    let mut config = two_sites();
    config.collector.batch_id_window_ms = Some(1500);
    let options = heatlake_server::collector_options(&config, &Metrics::new());
    assert_eq!(options.wal.batch_id_window, Duration::from_millis(1500));
}
