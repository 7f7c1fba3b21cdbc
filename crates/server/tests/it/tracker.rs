//! The browser-facing routes of issue #5: `GET /t.js` and `POST /v1/rrweb`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use bytes::Bytes;
use heatlake_model::privacy::ids::IdSecret;
use heatlake_server::routes::tracker::TRACKER_JS;
use heatlake_server::{AppState, MemorySink, Metrics, ServerConfig, SiteConfig, build_router};
use http_body_util::BodyExt;
use tower::ServiceExt;

const KEY: &str = "fixture-write-key";
/// rrweb 2.2.2 recording of the form fixture, typed text and all (datasets/rrweb/).
const FORM: &str = include_str!("../../../../datasets/rrweb/form.json");
const BUTTONS: &str = include_str!("../../../../datasets/rrweb/buttons.json");

fn app() -> (axum::Router, Arc<MemorySink>) {
    let mut config = ServerConfig::default();
    config.sites.push(SiteConfig {
        id: "fixture".to_owned(),
        write_key: KEY.to_owned(),
        allowed_origins: vec!["*".to_owned()],
        ..SiteConfig::default()
    });
    let sink = Arc::new(MemorySink::new());
    let state = AppState::new(
        config,
        &IdSecret::generate_from([7; 32]),
        sink.clone(),
        Metrics::new(),
    )
    .unwrap();
    (build_router(state), sink)
}

async fn send(router: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

fn rrweb_post(body: String) -> Request<Body> {
    Request::post(format!("/v1/rrweb?key={KEY}"))
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(Body::from(body))
        .unwrap()
}

fn rrweb_body(site: &str, events: &str) -> String {
    format!(
        r#"{{"site":"{site}","visitor_id":"v-1","session_id":"s-1","pageview_id":"pv-1","offset":0,"events":{events}}}"#
    )
}

#[tokio::test]
async fn serves_the_tracker_script_with_cache_headers() {
    let (router, _) = app();
    let (status, headers, body) =
        send(&router, Request::get("/t.js").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, TRACKER_JS.as_bytes());
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=3600");
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 18, "{etag}");
    let (status, _, body) = send(
        &router,
        Request::get("/t.js")
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
}

#[tokio::test]
async fn rrweb_batches_are_stored_as_events_without_typed_text() {
    let (router, sink) = app();
    let (status, _, body) = send(&router, rrweb_post(rrweb_body("fixture", FORM))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let stored = sink.event_count();
    assert_eq!(answer["accepted"], stored as u64);
    assert!(stored >= 6, "{stored}");
    let mut strings = String::new();
    let mut input_lengths = Vec::new();
    for batch in sink.batches() {
        let events = &batch.events;
        for (index, field) in events.schema().fields().iter().enumerate() {
            if let Some(column) = events.column(index).as_string_opt::<i32>() {
                strings.extend(column.iter().flatten().map(|value| format!("{value}\n")));
            }
            if field.name() == "input_len" {
                let column = events
                    .column(index)
                    .as_primitive::<arrow_array::types::Int32Type>();
                input_lengths.extend(column.iter().flatten());
            }
        }
    }
    for typed in [
        "Jane Quxley",
        "Quxley",
        "jane.quxley@example.com",
        "4111 1111 1111 1111",
        "zebra umbrella quartz",
        "umbrella",
    ] {
        assert!(!strings.contains(typed), "{typed} was stored");
    }
    assert!(
        strings.contains("input#email"),
        "the e-mail field's change is kept, without a length"
    );
    assert_eq!(input_lengths, [11, 21]);
}

#[tokio::test]
async fn rrweb_clicks_become_page_relative_click_events() {
    let (router, sink) = app();
    let (status, _, _) = send(&router, rrweb_post(rrweb_body("fixture", BUTTONS))).await;
    assert_eq!(status, StatusCode::OK);
    let mut clicks = Vec::new();
    for batch in sink.batches() {
        let events = &batch.events;
        let column = |name: &str| {
            events
                .column(events.schema().index_of(name).unwrap())
                .clone()
        };
        let types = column("type");
        let types = types.as_string::<i32>();
        let ys = column("y");
        let ys = ys.as_primitive::<arrow_array::types::Int32Type>();
        for row in 0..events.num_rows() {
            if types.value(row) == "click" {
                clicks.push(ys.value(row));
            }
        }
    }
    // Client y 420, 440, 32 (+1000 scroll), 425 (+2200 scroll).
    assert_eq!(clicks, [420, 440, 1032, 2625]);
}

#[tokio::test]
async fn rrweb_refusals_name_the_problem_and_store_nothing() {
    let (router, sink) = app();
    let (status, _, body) = send(&router, rrweb_post(rrweb_body("other-site", "[]"))).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, body) = send(
        &router,
        rrweb_post(rrweb_body("fixture", r#"[{"type":3,"data":{}}]"#)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        String::from_utf8_lossy(&body).contains("events[0]"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let mut request = rrweb_post(rrweb_body("fixture", BUTTONS));
    request.headers_mut().insert("dnt", "1".parse().unwrap());
    let (status, _, body) = send(&router, request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("\"accepted\":0"));
    assert_eq!(sink.event_count(), 0);
}
