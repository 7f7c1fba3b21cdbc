//! A router over a [`MemorySink`] (or a [`HeldSink`] in front of one) with two sites, and helpers
//! to send requests to it.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use bytes::Bytes;
use heatlake_model::privacy::ids::IdSecret;
use heatlake_server::{
    AppState, EventSink, MemorySink, Metrics, ServerConfig, SiteConfig, build_router,
};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::held_sink::HeldSink;

/// Write key of `a.example`.
pub const KEY_A: &str = "hlw_test_site_a_0001";
/// Write key of `b.example`.
pub const KEY_B: &str = "hlw_test_site_b_0002";
/// A hundred years in ms: an accepted time window that takes every fixture.
pub const CENTURY_MS: u64 = 3_155_760_000_000;
/// The allowed origin of `a.example`.
pub const ORIGIN_A: &str = "https://a.example";

/// Two sites: `a.example` (origin https://a.example) and `b.example` (origin https://b.example,
/// keeps IP prefixes, does not honour DNT).
///
/// The fixtures' events are of 2025-12, so the accepted time window is opened to a century;
/// `hostile.rs` tests the default window.
pub fn two_sites() -> ServerConfig {
    ServerConfig {
        limits: heatlake_server::LimitsConfig {
            ts_past_max_ms: CENTURY_MS,
            ..Default::default()
        },
        sites: vec![
            SiteConfig {
                id: "a.example".into(),
                write_key: KEY_A.into(),
                allowed_origins: vec![ORIGIN_A.into()],
                ..SiteConfig::default()
            },
            SiteConfig {
                id: "b.example".into(),
                write_key: KEY_B.into(),
                allowed_origins: vec!["https://b.example".into()],
                honour_dnt: false,
                privacy: heatlake_model::PrivacyPolicy {
                    ip: heatlake_model::privacy::ip::IpMode::Truncate,
                    ..Default::default()
                },
                ..SiteConfig::default()
            },
        ],
        ..ServerConfig::default()
    }
}

/// The router, its sink and its state.
pub struct App {
    pub router: Router,
    pub sink: Arc<MemorySink>,
    pub state: AppState,
}

impl App {
    /// An app over [`two_sites`].
    pub fn new() -> Self {
        Self::with_config(two_sites())
    }

    /// An app over `config`.
    pub fn with_config(config: ServerConfig) -> Self {
        let (state, sink) = state_over_memory(config);
        Self {
            router: build_router(state.clone()),
            sink,
            state,
        }
    }

    /// An app over `config` whose [`MemorySink`] is behind a [`HeldSink`], which is returned
    /// too.
    pub fn with_held_sink(config: ServerConfig) -> (Self, Arc<HeldSink>) {
        let sink = Arc::new(MemorySink::new());
        let held = HeldSink::new(sink.clone());
        let state = state_over(config, held.clone());
        let app = Self {
            router: build_router(state.clone()),
            sink,
            state,
        };
        (app, held)
    }

    /// Sends one request.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        send_to(self.router.clone(), request).await
    }

    /// Posts `body` to `/v1/events` with the write key in the header.
    pub async fn post(&self, key: &str, body: impl Into<Body>) -> Reply {
        self.send(events_request(key).body(body.into()).unwrap())
            .await
    }
}

/// Sends one request to `router` and reads the answer whole.
pub async fn send_to(router: Router, request: Request<Body>) -> Reply {
    let response = router
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the body can be read")
        .to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

/// A `POST /v1/events` request builder carrying `key` in `X-Heatlake-Key`.
pub fn events_request(key: &str) -> axum::http::request::Builder {
    Request::post("/v1/events")
        .header("x-heatlake-key", key)
        .header("content-type", "application/x-ndjson")
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A valid click event of `site` with sequence number `seq`, as one JSON line.
pub fn click(site: &str, seq: u32) -> String {
    format!(
        r#"{{"v":1,"site":"{site}","type":"click","ts":1764576004210,"pageview_id":"pv-1","seq":{seq},"path":"{site}/p","x":10,"y":20}}"#
    )
}

/// `n` valid clicks of `site` as NDJSON.
pub fn clicks(site: &str, n: u32) -> String {
    (0..n).map(|seq| click(site, seq) + "\n").collect()
}

/// Values of string column `name` over every stored batch.
pub fn stored_strings(sink: &MemorySink, name: &str) -> Vec<Option<String>> {
    use arrow_array::Array;
    sink.batches()
        .iter()
        .flat_map(|batch| {
            let column = batch
                .events
                .column_by_name(name)
                .unwrap_or_else(|| panic!("column {name}"))
                .clone();
            let strings = column
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .expect("a string column")
                .clone();
            (0..strings.len())
                .map(|row| (!strings.is_null(row)).then(|| strings.value(row).to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The state over `config` and a fresh [`MemorySink`], with a fixed id secret.
pub fn state_over_memory(config: ServerConfig) -> (AppState, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::new());
    (state_over(config, sink.clone()), sink)
}

/// The state over `config` and `sink`, with a fixed id secret.
pub fn state_over(config: ServerConfig, sink: Arc<dyn EventSink>) -> AppState {
    AppState::new(
        config,
        &IdSecret::generate_from([7; 32]),
        sink,
        Metrics::new(),
    )
    .expect("the test configuration is valid")
}
