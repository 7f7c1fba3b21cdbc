//! Body formats and encodings, invalid events, and the server-side facts filled in.

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use flate2::Compression;
use flate2::write::{DeflateEncoder, ZlibEncoder};
use heatlake_server::PeerAddr;

use crate::support::{App, KEY_A, KEY_B, click, clicks, events_request, gzip, stored_strings};

#[tokio::test]
async fn a_json_array_is_accepted() {
    let app = App::new();
    let body = format!("[{}, {}]", click("a.example", 0), click("a.example", 1));
    let reply = app
        .send(
            Request::post("/v1/events")
                .header("x-heatlake-key", KEY_A)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.json(), serde_json::json!({"accepted": 2}));
    assert_eq!(app.sink.event_count(), 2);
}

#[tokio::test]
async fn gzip_and_both_kinds_of_deflate_bodies_are_accepted() {
    let app = App::new();
    let plain = clicks("a.example", 4);
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
    zlib.write_all(plain.as_bytes()).unwrap();
    let mut raw = DeflateEncoder::new(Vec::new(), Compression::default());
    raw.write_all(plain.as_bytes()).unwrap();
    for (encoding, body) in [
        ("gzip", gzip(plain.as_bytes())),
        ("deflate", zlib.finish().unwrap()),
        ("deflate", raw.finish().unwrap()),
    ] {
        let reply = app
            .send(
                events_request(KEY_A)
                    .header("content-encoding", encoding)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{encoding}: {}", reply.text());
        assert_eq!(reply.json()["accepted"], 4);
    }
    assert_eq!(app.sink.event_count(), 12);
}

#[tokio::test]
async fn a_text_plain_beacon_body_with_the_key_in_the_query_is_accepted() {
    let app = App::new();
    // What navigator.sendBeacon(url, string) sends: text/plain, no custom headers.
    let reply = app
        .send(
            Request::post(format!("/v1/events?key={KEY_A}"))
                .header("content-type", "text/plain;charset=UTF-8")
                .header("origin", "https://a.example")
                .body(Body::from(clicks("a.example", 2)))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(app.sink.event_count(), 2);
}

#[tokio::test]
async fn other_media_types_and_encodings_are_415() {
    let app = App::new();
    let xml = app
        .send(
            Request::post("/v1/events")
                .header("x-heatlake-key", KEY_A)
                .header("content-type", "application/xml")
                .body(Body::from(click("a.example", 0)))
                .unwrap(),
        )
        .await;
    assert_eq!(xml.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let brotli = app
        .send(
            events_request(KEY_A)
                .header("content-encoding", "br")
                .body(Body::from(click("a.example", 0)))
                .unwrap(),
        )
        .await;
    assert_eq!(brotli.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn one_invalid_event_refuses_the_request_naming_index_field_and_rule() {
    let app = App::new();
    let bad = r#"{"v":1,"site":"a.example","type":"click","ts":1764576004210,"x":-3,"y":20}"#;
    let body = format!(
        "{}\n{}\n{bad}\n",
        click("a.example", 0),
        click("a.example", 1)
    );
    let reply = app.post(KEY_A, body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let json = reply.json();
    assert_eq!(json["index"], 2);
    assert_eq!(json["field"], "x");
    assert_eq!(json["value"], "-3");
    assert_eq!(json["rule"], "is outside 0..=1000000");
    assert_eq!(
        json["error"],
        "event 2: field `x`: value -3 is outside 0..=1000000"
    );
    assert_eq!(
        app.sink.event_count(),
        0,
        "nothing of the request is stored"
    );
}

#[tokio::test]
async fn a_malformed_event_names_its_index_and_the_decoder_message() {
    let app = App::new();
    let body = format!(
        "{}\n{{\"v\":1,\"sit\":\"a.example\"}}\n",
        click("a.example", 0)
    );
    let reply = app.post(KEY_A, body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let json = reply.json();
    assert_eq!(json["index"], 1);
    assert_eq!(
        json["rule"],
        "unknown field `sit` (wire format v1; see docs/wire-format.md)"
    );
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn user_agent_and_client_address_are_filled_in_and_privacy_applies() {
    let app = App::new();
    let event = r#"{"v":1,"site":"b.example","type":"pageview","ts":1764576000000,"url":"https://b.example/x?email=jane@example.com","viewport_w":1440}"#;
    let mut request = events_request(KEY_B)
        .header(
            "user-agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        )
        .body(Body::from(event))
        .unwrap();
    request
        .extensions_mut()
        .insert(PeerAddr("203.0.113.77:40000".parse().unwrap()));
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        stored_strings(&app.sink, "browser"),
        [Some("Chrome".into())]
    );
    assert_eq!(stored_strings(&app.sink, "os"), [Some("Windows".into())]);
    // b.example keeps the /24; a.example (the default) keeps nothing of the address.
    assert_eq!(
        stored_strings(&app.sink, "ip_prefix"),
        [Some("203.0.113.0/24".into())]
    );
    assert_eq!(
        stored_strings(&app.sink, "url"),
        [Some("https://b.example/x?email=[email]".into())]
    );
}

#[tokio::test]
async fn the_default_policy_drops_the_client_address() {
    let app = App::new();
    let mut request = events_request(KEY_A)
        .body(Body::from(click("a.example", 0)))
        .unwrap();
    request
        .extensions_mut()
        .insert(PeerAddr("203.0.113.77:40000".parse().unwrap()));
    assert_eq!(app.send(request).await.status, StatusCode::OK);
    assert_eq!(stored_strings(&app.sink, "ip_prefix"), [None]);
}

#[tokio::test]
async fn a_trusted_proxy_header_gives_the_client_address_when_configured() {
    let mut config = crate::support::two_sites();
    config.client_ip_header = Some("x-forwarded-for".into());
    let app = App::with_config(config);
    let mut request = events_request(KEY_B)
        .header("x-forwarded-for", "198.51.100.1, 192.0.2.9")
        .body(Body::from(click("b.example", 0)))
        .unwrap();
    request
        .extensions_mut()
        .insert(PeerAddr("10.0.0.1:40000".parse().unwrap()));
    assert_eq!(app.send(request).await.status, StatusCode::OK);
    assert_eq!(
        stored_strings(&app.sink, "ip_prefix"),
        [Some("192.0.2.0/24".into())]
    );
}
