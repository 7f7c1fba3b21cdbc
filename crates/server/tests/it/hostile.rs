//! Hostile input at the write routes: what a holder of a public write key (or nobody at all)
//! can make the collector do. Each test names the attack it stops.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use heatlake_server::LimitsConfig;

use crate::support::{App, KEY_A, ORIGIN_A, click, events_request, two_sites};

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// A click of `a.example` at `ts` (ms since the epoch).
fn click_at(ts: i64) -> String {
    format!(
        r#"{{"v":1,"site":"a.example","type":"click","ts":{ts},"pageview_id":"pv-1","seq":1,"path":"a.example/p","x":10,"y":20}}"#
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Posts one click of `a.example` with `Origin: origin`.
async fn post_from(app: &App, origin: &str) -> crate::support::Reply {
    app.send(
        events_request(KEY_A)
            .header("origin", origin)
            .body(Body::from(click("a.example", 0)))
            .unwrap(),
    )
    .await
}

/// `two_sites` with `a.example`'s allowed origins set to `origins`.
fn a_allowing(origins: &[&str]) -> App {
    let mut config = two_sites();
    config.sites[0].allowed_origins = origins.iter().map(|&origin| origin.into()).collect();
    App::with_config(config)
}

#[tokio::test]
async fn origin_null_is_refused_where_origins_are_limited() {
    // Sandboxed iframes and `data:` pages send `Origin: null`; it is not "no Origin".
    let app = App::new();
    let reply = post_from(&app, "null").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    assert_eq!(reply.json()["reason"], "origin");
    assert_eq!(app.sink.event_count(), 0);
    // A site that lists `null` explicitly takes it.
    let app = a_allowing(&[ORIGIN_A, "null"]);
    let reply = post_from(&app, "null").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    // `*` allows every origin but `null`.
    let app = a_allowing(&["*"]);
    for (origin, expected) in [
        ("https://any.example", StatusCode::OK),
        ("null", StatusCode::FORBIDDEN),
    ] {
        let reply = post_from(&app, origin).await;
        assert_eq!(reply.status, expected, "{origin}: {}", reply.text());
    }
    // The pixel is for browsers without CORS: `null` there is refused the same way (a GIF,
    // nothing stored).
    let app = App::new();
    let pixel = app
        .send(
            Request::get(format!(
                "/v1/pixel.gif?key={KEY_A}&url=https%3A%2F%2Fa.example%2F"
            ))
            .header("origin", "null")
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(pixel.status, StatusCode::OK);
    assert_eq!(app.sink.event_count(), 0, "a null origin stored a beacon");
}

#[tokio::test]
async fn opt_out_does_not_tell_which_sites_exist() {
    let app = App::new();
    let known = app.send(get("/v1/optout?site=a.example")).await;
    let unknown = app.send(get("/v1/optout?site=no-such-site.example")).await;
    let missing = app.send(get("/v1/optout")).await;
    assert_eq!(known.status, StatusCode::OK);
    for reply in [&unknown, &missing] {
        assert_eq!(reply.status, known.status);
        assert_eq!(reply.header("set-cookie"), known.header("set-cookie"));
        assert_eq!(reply.body, known.body, "the body depends on the site");
    }
}

#[tokio::test]
async fn metrics_name_no_site_without_the_metrics_token() {
    let mut config = two_sites();
    config.metrics_token = Some("hlm_metrics_token_0123".into());
    let app = App::with_config(config);
    assert_eq!(
        app.post(KEY_A, click("a.example", 0)).await.status,
        StatusCode::OK
    );
    let public = app.send(get("/metrics")).await.text();
    assert!(!public.contains("a.example"), "{public}");
    assert!(!public.contains("b.example"), "{public}");
    assert!(
        public.contains("heatlake_events_accepted_total 1\n"),
        "{public}"
    );
    assert!(public.ends_with("# EOF\n"));
    assert_eq!(public.matches("# EOF").count(), 1);
    let wrong = app
        .send(
            Request::get("/metrics")
                .header("authorization", "Bearer hlm_wrong_token_00000")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let private = app
        .send(
            Request::get("/metrics")
                .header("authorization", "Bearer hlm_metrics_token_0123")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .text();
    assert!(
        private.contains("heatlake_site_events_accepted_total{site=\"a.example\"} 1\n"),
        "{private}"
    );
    assert!(private.contains("heatlake_events_accepted_total 1\n"));
    assert_eq!(private.matches("# EOF").count(), 1);
}

#[tokio::test]
async fn error_bodies_show_values_only_after_scrubbing() {
    let app = App::new();
    let card = "4111 1111 1111 1111";
    // A site name that holds a card number: refused as another site, without echoing it.
    let line =
        click("a.example", 0).replace("\"site\":\"a.example\"", &format!("\"site\":\"x {card}\""));
    let reply = app.post(KEY_A, line).await;
    assert!(reply.status.is_client_error(), "{}", reply.text());
    assert!(!reply.text().contains("4111"), "{}", reply.text());
    // A malformed value quoted by the decoder.
    let line = click("a.example", 0).replace("\"x\":10", &format!("\"x\":\"{card}\""));
    let reply = app.post(KEY_A, line).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(!reply.text().contains("4111"), "{}", reply.text());
    // An origin header carrying an e-mail address.
    let reply = app
        .send(
            events_request(KEY_A)
                .header("origin", "https://jane.doe@example.com")
                .body(Body::from(click("a.example", 0)))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(!reply.text().contains("jane.doe"), "{}", reply.text());
}

#[tokio::test]
async fn events_outside_the_accepted_time_window_are_refused() {
    // One request could otherwise create a partition for every day of 2000-2100.
    let mut config = two_sites();
    config.limits = LimitsConfig::default();
    let app = App::with_config(config);
    let now = now_ms();
    let day = 86_400_000;
    for (ts, expected) in [
        (now, StatusCode::OK),
        (now - 6 * day, StatusCode::OK),
        (now + day / 2, StatusCode::OK),
        (now - 8 * day, StatusCode::BAD_REQUEST),
        (now + 2 * day, StatusCode::BAD_REQUEST),
        (946_684_800_000, StatusCode::BAD_REQUEST),
    ] {
        let reply = app.post(KEY_A, click_at(ts)).await;
        assert_eq!(reply.status, expected, "ts {ts}: {}", reply.text());
        if expected == StatusCode::BAD_REQUEST {
            let body = reply.json();
            assert_eq!(body["field"], "ts", "{body}");
            assert_eq!(
                body["limit"],
                if ts > now {
                    "ts_future_max_ms"
                } else {
                    "ts_past_max_ms"
                }
            );
        }
    }
    assert_eq!(app.sink.event_count(), 3);
    // The window is configurable.
    let mut config = two_sites();
    config.limits = LimitsConfig::default();
    config.limits.ts_past_max_ms = 30 * day as u64;
    let app = App::with_config(config);
    assert_eq!(
        app.post(KEY_A, click_at(now - 20 * day)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_collector_refuses_work_past_its_in_flight_byte_budget() {
    // Each request alone is within its bounds; together they would hold more memory than the
    // collector may: the budget answers 503 with Retry-After before decoding.
    let mut config = two_sites();
    config.limits.body_bytes_max = 16 << 10;
    config.limits.body_decoded_bytes_max = 32 << 10;
    config.limits.inflight_bytes_max = 64 << 10;
    let app = App::with_config(config);
    let held = app
        .state
        .inflight()
        .try_reserve(60 << 10)
        .expect("within the budget");
    let body = crate::support::clicks("a.example", 50);
    assert!(body.len() > 4 << 10);
    let reply = app.post(KEY_A, body.clone()).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text()
    );
    assert_eq!(reply.json()["limit"], "inflight_bytes_max");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(app.sink.event_count(), 0);
    drop(held);
    assert_eq!(app.post(KEY_A, body).await.status, StatusCode::OK);
    // Everything a request reserved is given back when it is answered.
    assert_eq!(app.state.inflight().available_bytes(), 64 << 10);
}

/// An rrweb batch whose decoding and mapping take the CPU a while: a snapshot of a page with
/// `divs` elements under `body`, and a click on the last one.
fn heavy_rrweb_batch(pageview_id: &str, divs: u32) -> Vec<u8> {
    let children: Vec<serde_json::Value> = (0..divs)
        .map(|index| {
            serde_json::json!({"type": 2, "tagName": "div", "attributes": {"class": "c"},
                "childNodes": [], "id": 10 + index})
        })
        .collect();
    let body = serde_json::json!({"type": 2, "tagName": "body", "attributes": {},
        "childNodes": children, "id": 4});
    let html = serde_json::json!({"type": 2, "tagName": "html", "attributes": {},
        "childNodes": [body], "id": 2});
    let ts = now_ms();
    let batch = serde_json::json!({
    "site": "a.example", "pageview_id": pageview_id, "offset": 0,
    "events": [
        {"type": 4, "timestamp": ts, "data": {"href": "https://a.example/p", "width": 1280, "height": 800}},
        {"type": 2, "timestamp": ts, "data": {"node": {"type": 0, "childNodes": [html], "id": 1},
            "initialOffset": {"left": 0, "top": 0}}},
        {"type": 3, "timestamp": ts + 1, "data": {"source": 2, "type": 2, "id": 9 + divs, "x": 5, "y": 5}},
    ]});
    serde_json::to_vec(&batch).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn health_checks_answer_while_rrweb_batches_are_mapped() {
    // One serving thread: if decoding and mapping ran on it, the health check could only be
    // answered after the batch in front of it. They run on the blocking pool, so it answers
    // while the batch is still being worked on.
    let mut config = two_sites();
    config.limits.cpu_tasks_max = 1;
    // Sent uncompressed, so that nothing before the mapping waits.
    config.limits.body_bytes_max = 8 << 20;
    let app = std::sync::Arc::new(App::with_config(config));
    let (done_sender, mut done) = tokio::sync::mpsc::unbounded_channel();
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|index| heavy_rrweb_batch(&format!("pv-heavy-{index}"), 40_000))
        .collect();
    for body in bodies {
        let app = app.clone();
        let done_sender = done_sender.clone();
        tokio::spawn(async move {
            let reply = app
                .send(
                    Request::post("/v1/rrweb")
                        .header("x-heatlake-key", KEY_A)
                        .header("content-type", "application/json")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await;
            let _ = done_sender.send(("rrweb", reply.status));
        });
    }
    tokio::task::yield_now().await;
    let health_app = app.clone();
    let health_sender = done_sender.clone();
    tokio::spawn(async move {
        let reply = health_app.send(get("/healthz")).await;
        let _ = health_sender.send(("healthz", reply.status));
    });
    drop(done_sender);
    let mut order = Vec::new();
    while let Some(finished) = done.recv().await {
        order.push(finished);
    }
    assert_eq!(order.len(), 4);
    assert_eq!(order[0], ("healthz", StatusCode::OK), "{order:?}");
    for (_, status) in &order[1..] {
        assert_eq!(*status, StatusCode::OK, "{order:?}");
    }
}
