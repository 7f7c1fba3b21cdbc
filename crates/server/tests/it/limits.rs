//! Named bounds: 413, 429 and 503 with `Retry-After` and a JSON body naming the bound. The
//! bounds on time (`request_timeout_ms`, `idle_timeout_ms`, `shutdown_grace_ms`) are in
//! `timeouts.rs`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use heatlake_ingest::collector::AppendError;
use heatlake_server::SinkError;

use crate::held_sink::{Hold, within};
use crate::support::{App, KEY_A, clicks, events_request, gzip, send_to, two_sites};

#[tokio::test]
async fn a_gzip_bomb_is_413_naming_the_decoded_bound() {
    let mut config = two_sites();
    config.limits.body_decoded_bytes_max = 64 * 1024;
    let app = App::with_config(config);
    // 16 MiB of zeros compress to about 16 KiB: well under body_bytes_max.
    let bomb = gzip(&vec![b' '; 16 << 20]);
    assert!(bomb.len() < 64 * 1024);
    let reply = app
        .send(
            events_request(KEY_A)
                .header("content-encoding", "gzip")
                .body(Body::from(bomb))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let json = reply.json();
    assert_eq!(json["limit"], "body_decoded_bytes_max");
    assert_eq!(
        json["error"],
        "the decompressed request body is larger than body_decoded_bytes_max (65536 bytes)"
    );
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn a_body_over_body_bytes_max_is_413() {
    let mut config = two_sites();
    config.limits.body_bytes_max = 1000;
    let app = App::with_config(config);
    let reply = app.post(KEY_A, clicks("a.example", 10)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["limit"], "body_bytes_max");
    assert_eq!(reply.json()["reason"], "too_large");
    // A body whose length is not declared is cut at the bound too.
    let stream = futures::stream::iter(
        (0..10).map(|seq| Ok::<_, std::io::Error>(crate::support::click("a.example", seq) + "\n")),
    );
    let reply = app
        .send(
            events_request(KEY_A)
                .body(Body::from_stream(stream))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn too_many_events_is_413_naming_the_bound() {
    let mut config = two_sites();
    config.limits.events_per_request_max = 5;
    let app = App::with_config(config);
    let reply = app.post(KEY_A, clicks("a.example", 6)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["limit"], "events_per_request_max");
    assert_eq!(
        reply.json()["error"],
        "more than events_per_request_max (5) events in one request"
    );
    assert_eq!(app.post(KEY_A, clicks("a.example", 5)).await.status, 200);
    assert_eq!(app.sink.event_count(), 5);
}

#[tokio::test]
async fn the_site_rate_bound_is_429_with_retry_after() {
    let mut config = two_sites();
    config.sites[0].rate_events_per_second = 1;
    config.sites[0].rate_burst_events = 10;
    let app = App::with_config(config);
    assert_eq!(app.post(KEY_A, clicks("a.example", 10)).await.status, 200);
    let reply = app.post(KEY_A, clicks("a.example", 3)).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // 3 events at 1 event/s from an (almost) empty bucket: about 3 s.
    let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((2..=3).contains(&retry_after), "{retry_after}");
    let json = reply.json();
    assert_eq!(json["limit"], "rate_events_per_second");
    assert_eq!(json["retry_after_s"], retry_after);
    assert_eq!(app.sink.event_count(), 10);
    // The other site has its own bucket.
    let other = app
        .post(crate::support::KEY_B, clicks("b.example", 3))
        .await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn a_full_sink_is_503_with_retry_after_naming_its_bound() {
    let app = App::new();
    app.sink.set_failure(Some(SinkError::Full {
        limit: "wal_bytes_max".into(),
        retry_after: Duration::from_secs(2),
        message: "the write-ahead log holds 1073741824 bytes".into(),
    }));
    let reply = app.post(KEY_A, clicks("a.example", 2)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.header("retry-after"), Some("2"));
    let json = reply.json();
    assert_eq!(json["limit"], "wal_bytes_max");
    assert_eq!(
        json["error"],
        "wal_bytes_max reached: the write-ahead log holds 1073741824 bytes"
    );
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn a_failed_write_of_the_sink_is_503_with_retry_after_and_stores_nothing() {
    let app = App::new();
    let disk_full = heatlake_ingest::Error::Wal {
        path: "/var/lib/heatlake/wal/00000000000000000001.wal".into(),
        source: std::io::Error::from_raw_os_error(28),
    };
    app.sink
        .set_failure(Some(SinkError::from(AppendError::Unavailable(Arc::new(
            disk_full,
        )))));
    let reply = app.post(KEY_A, clicks("a.example", 2)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.header("retry-after"), Some("5"));
    let json = reply.json();
    assert_eq!(json["reason"], "storage_unavailable");
    assert_eq!(json["retry_after_s"], 5);
    assert_eq!(
        json["error"],
        "the collector cannot store events now (its write-ahead log failed a write)"
    );
    assert_eq!(app.sink.event_count(), 0);
    app.sink.set_failure(None);
    let reply = app.post(KEY_A, clicks("a.example", 2)).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn readyz_and_appends_wait_for_the_sink_to_be_ready() {
    let app = App::new();
    app.sink.set_ready(false);
    let get = |path: &str| axum::http::Request::get(path).body(Body::empty()).unwrap();
    let readyz = app.send(get("/readyz")).await;
    assert_eq!(readyz.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(readyz.header("retry-after"), Some("1"));
    let append = app.post(KEY_A, clicks("a.example", 1)).await;
    assert_eq!(append.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(append.json()["limit"], "not_ready");
    assert_eq!(app.send(get("/healthz")).await.status, StatusCode::OK);
    app.sink.set_ready(true);
    let readyz = app.send(get("/readyz")).await;
    assert_eq!(
        (readyz.status, readyz.text().as_str()),
        (StatusCode::OK, "ready\n")
    );
}

#[tokio::test]
async fn a_batch_too_large_for_the_sink_is_413_and_a_stopping_sink_503() {
    let app = App::new();
    app.sink.set_failure(Some(SinkError::TooLarge {
        limit: "record_bytes_max".into(),
        message: "a batch of 70000000 bytes is larger than one WAL record may hold".into(),
    }));
    let reply = app.post(KEY_A, clicks("a.example", 2)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["limit"], "record_bytes_max");
    assert_eq!(reply.header("retry-after"), None);
    app.sink.set_failure(Some(SinkError::ShuttingDown));
    let reply = app.post(KEY_A, clicks("a.example", 2)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["limit"], "shutting_down");
    assert_eq!(reply.header("retry-after"), Some("5"));
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn past_concurrent_requests_max_a_request_is_503_until_one_in_flight_finishes() {
    let mut config = two_sites();
    config.limits.concurrent_requests_max = 2;
    let (app, held) = App::with_held_sink(config);
    held.hold(Hold::BeforeStoring);
    let in_flight: Vec<_> = (0..2)
        .map(|_| tokio::spawn(send_to(app.router.clone(), clicks_request(1))))
        .collect();
    held.wait_waiting(2).await;

    let refused = within(
        "the request past the bound",
        app.post(KEY_A, clicks("a.example", 1)),
    )
    .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header("retry-after"), Some("1"));
    let json = refused.json();
    assert_eq!(
        (&json["reason"], &json["limit"], &json["retry_after_s"]),
        (
            &serde_json::json!("unavailable"),
            &serde_json::json!("concurrent_requests_max"),
            &serde_json::json!(1)
        )
    );
    assert_eq!(
        json["error"],
        "more than concurrent_requests_max (2) requests in flight"
    );
    // The health routes are outside the bound: a busy collector is alive and ready.
    let get = |path: &str| axum::http::Request::get(path).body(Body::empty()).unwrap();
    let healthz = within("/healthz", app.send(get("/healthz"))).await;
    assert_eq!(
        (healthz.status, healthz.text().as_str()),
        (StatusCode::OK, "ok\n")
    );
    let readyz = within("/readyz", app.send(get("/readyz"))).await;
    assert_eq!(readyz.status, StatusCode::OK);
    assert_eq!(app.sink.event_count(), 0);

    // One finishes; its permit goes back, and the next request is taken.
    held.hold(Hold::Nothing);
    held.release(1);
    let (finished, _, mut still_in_flight) = within(
        "one request to finish",
        futures::future::select_all(in_flight),
    )
    .await;
    let finished = finished.unwrap();
    assert_eq!(
        (finished.status, finished.text().as_str()),
        (StatusCode::OK, r#"{"accepted":1}"#)
    );
    let taken = within("the next request", app.post(KEY_A, clicks("a.example", 3))).await;
    assert_eq!(
        (taken.status, taken.text().as_str()),
        (StatusCode::OK, r#"{"accepted":3}"#)
    );
    held.release(1);
    let last = within("the last request", still_in_flight.pop().unwrap())
        .await
        .unwrap();
    assert_eq!(last.status, StatusCode::OK);
    assert_eq!(app.sink.event_count(), 5);
}

/// A `POST /v1/events` of `count` clicks of `a.example`.
fn clicks_request(count: u32) -> axum::http::Request<Body> {
    events_request(KEY_A)
        .body(Body::from(clicks("a.example", count)))
        .unwrap()
}
