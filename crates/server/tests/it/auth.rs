//! Write keys, the site of each event, and CORS.

use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::support::{App, KEY_A, KEY_B, ORIGIN_A, click, clicks, events_request};

#[tokio::test]
async fn a_valid_key_stores_the_events_and_answers_the_count() {
    let app = App::new();
    let reply = app.post(KEY_A, clicks("a.example", 3)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json(), serde_json::json!({"accepted": 3}));
    let batches = app.sink.batches();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].site, "a.example");
    assert_eq!(batches[0].events.num_rows(), 3);
    assert_eq!(batches[0].batch_id, None);
}

#[tokio::test]
async fn a_missing_or_unknown_key_is_401_and_stores_nothing() {
    let app = App::new();
    let missing = app
        .send(
            Request::post("/v1/events")
                .body(Body::from(click("a.example", 0)))
                .unwrap(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.json()["reason"], "missing_key");
    let unknown = app
        .post("hlw_not_a_key_at_all", click("a.example", 0))
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.json()["error"], "unknown write key");
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn the_key_may_come_in_the_query_string() {
    let app = App::new();
    let reply = app
        .send(
            Request::post(format!("/v1/events?key={KEY_A}"))
                .body(Body::from(click("a.example", 0)))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(app.sink.event_count(), 1);
}

#[tokio::test]
async fn another_sites_key_is_403_naming_the_event_and_stores_nothing() {
    let app = App::new();
    // b.example's key with one event of a.example among b.example events.
    let body = format!("{}\n{}\n", click("b.example", 0), click("a.example", 1));
    let reply = app.post(KEY_B, body).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let json = reply.json();
    assert_eq!(json["reason"], "wrong_site");
    assert_eq!(json["index"], 1);
    assert_eq!(json["field"], "site");
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn an_allowed_origin_gets_cors_headers() {
    let app = App::new();
    let reply = app
        .send(
            events_request(KEY_A)
                .header("origin", ORIGIN_A)
                .body(Body::from(click("a.example", 0)))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), Some(ORIGIN_A));
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(reply.header("vary"), Some("Origin"));
}

#[tokio::test]
async fn an_origin_of_another_site_is_403_and_stores_nothing() {
    let app = App::new();
    let reply = app
        .send(
            events_request(KEY_A)
                .header("origin", "https://b.example")
                .body(Body::from(click("a.example", 0)))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.json()["reason"], "origin");
    assert_eq!(reply.header("access-control-allow-origin"), None);
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn a_preflight_is_answered_for_origins_some_site_allows() {
    let app = App::new();
    let preflight = |origin: &str| {
        Request::options("/v1/events")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "x-heatlake-key, content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let allowed = app.send(preflight("https://b.example")).await;
    assert_eq!(allowed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://b.example")
    );
    assert_eq!(
        allowed.header("access-control-allow-methods"),
        Some("POST, GET, OPTIONS")
    );
    assert!(
        allowed
            .header("access-control-allow-headers")
            .is_some_and(|headers| headers.contains("x-heatlake-key"))
    );
    assert_eq!(allowed.header("access-control-max-age"), Some("86400"));
    let refused = app.send(preflight("https://evil.example")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_repeated_batch_id_is_acknowledged_without_storing_twice() {
    let app = App::new();
    let send = || {
        app.send(
            events_request(KEY_A)
                .header("x-heatlake-batch", "batch-0001")
                .body(Body::from(clicks("a.example", 2)))
                .unwrap(),
        )
    };
    let first = send().await;
    assert_eq!(first.json(), serde_json::json!({"accepted": 2}));
    let again = send().await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.json(),
        serde_json::json!({"accepted": 2, "duplicate": true})
    );
    assert_eq!(app.sink.event_count(), 2);
    // The sink sees a keyed hash of the batch id, never what the client wrote in it.
    let stored = app.sink.batches()[0].batch_id.clone().unwrap();
    assert_eq!(stored.len(), 16);
    assert_ne!(stored, "batch-0001");
    assert_eq!(
        Some(stored),
        app.state
            .site_by_id("a.example")
            .map(|site| site.batch_key("batch-0001"))
    );
    // The query parameter works too, and names the same batch.
    let by_query = app
        .send(
            Request::post(format!("/v1/events?key={KEY_A}&batch=batch-0001"))
                .body(Body::from(clicks("a.example", 2)))
                .unwrap(),
        )
        .await;
    assert_eq!(by_query.json()["duplicate"], true);
    assert_eq!(app.sink.event_count(), 2);
}
