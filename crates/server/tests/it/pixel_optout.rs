//! The pixel, the opt-out cookie, and Do Not Track / Global Privacy Control.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use heatlake_server::routes::pixel::PIXEL_GIF;

use crate::support::{App, KEY_A, KEY_B, ORIGIN_A, click, events_request, stored_strings};

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn the_pixel_stores_a_beacon_and_answers_a_gif() {
    let app = App::new();
    let reply = app
        .send(get(&format!(
            "/v1/pixel.gif?key={KEY_A}&url=https%3A%2F%2Fa.example%2Fnews%3Fto%3Djane%40example.com&prop.campaign=dec&cb=123"
        )))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("image/gif"));
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store, no-cache, must-revalidate, max-age=0")
    );
    assert_eq!(&reply.body[..], &PIXEL_GIF[..]);
    assert_eq!(&reply.body[..6], b"GIF89a");
    assert_eq!(stored_strings(&app.sink, "type"), [Some("beacon".into())]);
    assert_eq!(
        stored_strings(&app.sink, "url"),
        [Some("https://a.example/news?to=[email]".into())]
    );
    assert_eq!(
        stored_strings(&app.sink, "path"),
        [Some("a.example/news".into())]
    );
    assert_eq!(
        stored_strings(&app.sink, "props"),
        [Some(r#"{"campaign":"dec"}"#.into())]
    );
}

#[tokio::test]
async fn the_pixel_answers_the_gif_on_a_bad_key_or_site_and_stores_nothing() {
    let app = App::new();
    for uri in [
        "/v1/pixel.gif".to_owned(),
        "/v1/pixel.gif?key=hlw_unknown_key_123".to_owned(),
        format!("/v1/pixel.gif?key={KEY_A}&site=b.example"),
        format!("/v1/pixel.gif?key={KEY_A}&ts=12"),
    ] {
        let reply = app.send(get(&uri)).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert_eq!(&reply.body[..], &PIXEL_GIF[..], "{uri}");
    }
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn the_optout_cookie_then_stores_nothing() {
    let app = App::new();
    let reply = app.send(get("/v1/optout?site=a.example")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let cookie = reply.header("set-cookie").unwrap().to_owned();
    assert_eq!(
        cookie,
        "heatlake_optout=1; Max-Age=63072000; Path=/; SameSite=Lax"
    );
    assert!(reply.text().contains("opted out"));
    let cookie_pair = cookie.split(';').next().unwrap();
    let events = app
        .send(
            events_request(KEY_A)
                .header("cookie", format!("other=x; {cookie_pair}"))
                .body(Body::from(click("a.example", 0)))
                .unwrap(),
        )
        .await;
    assert_eq!(events.status, StatusCode::OK);
    assert_eq!(
        events.json(),
        serde_json::json!({"accepted": 0, "dropped": "opt_out"})
    );
    let pixel = app
        .send(
            Request::get(format!("/v1/pixel.gif?key={KEY_A}"))
                .header("cookie", cookie_pair)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(&pixel.body[..], &PIXEL_GIF[..]);
    assert_eq!(app.sink.event_count(), 0);
}

#[tokio::test]
async fn the_optout_cookie_is_secure_when_configured_and_post_works() {
    let mut config = crate::support::two_sites();
    config.cookie_secure = true;
    let app = App::with_config(config);
    let reply = app
        .send(
            Request::post("/v1/optout?site=a.example")
                .header("origin", ORIGIN_A)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        reply.header("set-cookie"),
        Some("heatlake_optout=1; Max-Age=63072000; Path=/; SameSite=None; Secure")
    );
    assert_eq!(reply.header("access-control-allow-origin"), Some(ORIGIN_A));
    // An unknown site opts out the same (hostile.rs: the answer tells no one which sites
    // exist), without CORS headers for an origin no site names.
    let unknown = app
        .send(
            Request::post("/v1/optout?site=nope.example")
                .header("origin", ORIGIN_A)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(unknown.header("set-cookie"), reply.header("set-cookie"));
    assert_eq!(unknown.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn dnt_and_gpc_drop_events_where_the_site_honours_them() {
    let app = App::new();
    for (header, value) in [("dnt", "1"), ("sec-gpc", "1")] {
        let reply = app
            .send(
                events_request(KEY_A)
                    .header(header, value)
                    .body(Body::from(click("a.example", 0)))
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.json(),
            serde_json::json!({"accepted": 0, "dropped": "dnt"})
        );
    }
    assert_eq!(app.sink.event_count(), 0);
    // DNT: 0 is no signal.
    let reply = app
        .send(
            events_request(KEY_A)
                .header("dnt", "0")
                .body(Body::from(click("a.example", 0)))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.json()["accepted"], 1);
    // b.example does not honour DNT (honour_dnt = false).
    let reply = app
        .send(
            events_request(KEY_B)
                .header("dnt", "1")
                .body(Body::from(click("b.example", 0)))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.json()["accepted"], 1);
    assert_eq!(app.sink.event_count(), 2);
}
