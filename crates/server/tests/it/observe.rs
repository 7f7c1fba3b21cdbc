//! `/metrics` and `/healthz`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::support::{App, KEY_A, click, clicks};

#[tokio::test]
async fn metrics_count_accepted_and_rejected_events_bytes_and_latency() {
    let app = App::new();
    let body = clicks("a.example", 3);
    let body_bytes = body.len();
    assert_eq!(app.post(KEY_A, body).await.status, StatusCode::OK);
    let bad = format!("{}\n{{\"v\":2}}\n", click("a.example", 0));
    assert_eq!(app.post(KEY_A, bad).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.post("hlw_unknown_key_000", click("a.example", 0))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    app.state.metrics().commit(Duration::from_millis(20));
    let reply = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = reply.text();
    for expected in [
        "heatlake_events_accepted_total 3\n".to_owned(),
        "heatlake_events_rejected_total{reason=\"invalid\"} 2\n".to_owned(),
        "heatlake_requests_rejected_total{reason=\"invalid\"} 1\n".to_owned(),
        "heatlake_requests_rejected_total{reason=\"unknown_key\"} 1\n".to_owned(),
        "heatlake_commits_total 1\n".to_owned(),
        "heatlake_commit_duration_seconds_count 1\n".to_owned(),
        "heatlake_committed_events 3\n".to_owned(),
        "heatlake_wal_bytes 0\n".to_owned(),
        "heatlake_wal_degraded 0\n".to_owned(),
        "heatlake_backlog_events 0\n".to_owned(),
        "heatlake_request_duration_seconds_count{route=\"/v1/events\",status=\"200\"} 1\n"
            .to_owned(),
        "heatlake_request_duration_seconds_count{route=\"/v1/events\",status=\"400\"} 1\n"
            .to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected:?} missing in:\n{text}");
    }
    let received: usize = text
        .lines()
        .find_map(|line| line.strip_prefix("heatlake_request_bytes_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        received,
        body_bytes + click("a.example", 0).len() + "\n{\"v\":2}\n".len()
    );
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test]
async fn healthz_answers_ok_and_unknown_routes_404() {
    let app = App::new();
    let reply = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (StatusCode::OK, "ok\n")
    );
    let missing = app
        .send(Request::get("/v2/nothing").body(Body::empty()).unwrap())
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
