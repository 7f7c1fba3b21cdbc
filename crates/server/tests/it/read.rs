//! The read routes over a real Delta table: each question and its segments answers what the
//! library answers (and the fixture's hand-computed numbers); every format decodes; versions
//! pin; no key, parameter or SQL reaches another site's rows; limits end queries clearly.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use heatlake_query::analytics::ctr::{CtrParams, ElementKey, LinkParams, element_ctr, link_ctr};
use heatlake_query::analytics::frustration::{FrustrationLevel, FrustrationParams, frustration};
use heatlake_query::analytics::funnel::{FunnelParams, FunnelStep, funnel};
use heatlake_query::analytics::heatmap::{HeatmapKind, HeatmapMode, HeatmapParams, heatmap};
use heatlake_query::analytics::scroll::{ScrollParams, scroll_depth};
use heatlake_query::analytics::{Segment, collect};
use heatlake_query::render::picture::heat_picture;
use heatlake_query::render::png::decode_rgba;
use heatlake_query::{EventsSession, QueryOptions};
use heatlake_server::ReadsConfig;
use serde_json::json;

use crate::fixture::rows;
use crate::read_support::{
    P, READ_BOTH, READ_FX, READ_ONE, ReadApp, SITE, arrow_batches, json_rows,
};
use crate::support::KEY_A;

async fn library(read: &ReadApp) -> EventsSession {
    EventsSession::open(&read.location, None, &QueryOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_question_answers_what_the_library_answers() {
    let read = ReadApp::new().await;
    let session = library(&read).await;
    let mobile = Segment {
        device: Some("mobile".into()),
        ..Segment::default()
    };
    let cases = [
        (
            "/v1/heatmap?site=fx.example&page=fx.example/p&bin_px=4096&device=mobile",
            heatmap(
                &session,
                &HeatmapParams {
                    site: SITE.into(),
                    path: P.into(),
                    bin_px: 4096,
                    segment: mobile.clone(),
                    ..HeatmapParams::default()
                },
            )
            .await
            .unwrap(),
        ),
        (
            "/v1/heatmap?site=fx.example&page=fx.example/p&mode=viewport-centred&bin_px=100&viewport_w_min=900&viewport_w_max=1000",
            heatmap(
                &session,
                &HeatmapParams {
                    site: SITE.into(),
                    path: P.into(),
                    bin_px: 100,
                    mode: HeatmapMode::ViewportCentred,
                    segment: Segment {
                        viewport_w_min: Some(900),
                        viewport_w_max: Some(1000),
                        ..Segment::default()
                    },
                    ..HeatmapParams::default()
                },
            )
            .await
            .unwrap(),
        ),
        (
            "/v1/heatmap?site=fx.example&page=fx.example/p&kind=click&mode=element&element_cells=4&browser=Firefox&os=Linux",
            heatmap(
                &session,
                &HeatmapParams {
                    site: SITE.into(),
                    path: P.into(),
                    kind: HeatmapKind::Click,
                    mode: HeatmapMode::Element,
                    element_cells: 4,
                    segment: Segment {
                        browser: Some("Firefox".into()),
                        os: Some("Linux".into()),
                        ..Segment::default()
                    },
                    ..HeatmapParams::default()
                },
            )
            .await
            .unwrap(),
        ),
        (
            "/v1/scroll?site=fx.example&page=fx.example/p&part=reach&from=2026-11-01&to=2026-11-03T00:00:00Z",
            scroll_depth(
                &session,
                &ScrollParams {
                    site: SITE.into(),
                    path: P.into(),
                    segment: Segment {
                        from: Some("2026-11-01".into()),
                        to: Some("2026-11-03T00:00:00Z".into()),
                        ..Segment::default()
                    },
                },
            )
            .await
            .unwrap()
            .reach,
        ),
        (
            "/v1/ctr?site=fx.example&page=fx.example/p&by=link&limit=5&referrer_domain=google.com",
            element_ctr(
                &session,
                &CtrParams {
                    site: SITE.into(),
                    path: P.into(),
                    by: ElementKey::Link,
                    limit: 5,
                    segment: Segment {
                        referrer_domain: Some("google.com".into()),
                        ..Segment::default()
                    },
                },
            )
            .await
            .unwrap(),
        ),
        (
            "/v1/ctr?site=fx.example&page=fx.example/p&next_pages=true&predicate=viewport_w%20%3E%20500",
            link_ctr(
                &session,
                &LinkParams {
                    site: SITE.into(),
                    path: P.into(),
                    segment: Segment {
                        predicate: Some("viewport_w > 500".into()),
                        ..Segment::default()
                    },
                    ..LinkParams::default()
                },
            )
            .await
            .unwrap(),
        ),
        (
            "/v1/frustration?site=fx.example&level=page&limit=2",
            frustration(
                &session,
                &FrustrationParams {
                    site: SITE.into(),
                    level: FrustrationLevel::Page,
                    limit: 2,
                    ..FrustrationParams::default()
                },
            )
            .await
            .unwrap(),
        ),
        (
            "/v1/funnel?site=fx.example&step=fx.example/p&step=fx.example/q&step=sql:type%20%3D%20%27submit%27&window_s=60",
            funnel(
                &session,
                &FunnelParams {
                    site: SITE.into(),
                    steps: vec![
                        FunnelStep::Path(P.into()),
                        FunnelStep::Path("fx.example/q".into()),
                        FunnelStep::Predicate("type = 'submit'".into()),
                    ],
                    window_s: 60,
                    ..FunnelParams::default()
                },
            )
            .await
            .unwrap(),
        ),
    ];
    for (uri, frame) in cases {
        let expected = rows(&collect(frame).await.unwrap());
        let reply = read
            .get_accepting(READ_FX, uri, Some("application/vnd.apache.arrow.stream"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
        assert_eq!(
            reply.header("content-type"),
            Some("application/vnd.apache.arrow.stream")
        );
        assert_eq!(reply.header("heatlake-table-version"), Some("0"), "{uri}");
        assert_eq!(rows(&arrow_batches(&reply.body)), expected, "{uri}");
    }
}

#[tokio::test]
async fn json_answers_carry_the_hand_computed_numbers() {
    let read = ReadApp::new().await;
    let heat = read
        .get(
            READ_FX,
            "/v1/heatmap?site=fx.example&page=fx.example/p&bin_px=4096&device=mobile",
        )
        .await;
    assert_eq!(heat.status, StatusCode::OK, "{}", heat.text());
    assert_eq!(heat.header("content-type"), Some("application/json"));
    let body = heat.json();
    assert_eq!(body["version"], 0);
    assert_eq!(
        body["columns"],
        json!([
            {"name": "fixed", "type": "Boolean"},
            {"name": "cell_x", "type": "Int64"},
            {"name": "cell_y", "type": "Int64"},
            {"name": "events", "type": "Int64"},
            {"name": "visitors", "type": "Int64"},
        ])
    );
    assert_eq!(json_rows(&body), ["false|0|0|5|1", "true|0|0|1|1"]);

    // Scroll without `part`: both parts in one object.
    let scroll = read
        .get(READ_FX, "/v1/scroll?site=fx.example&page=fx.example/p")
        .await
        .json();
    assert_eq!(
        json_rows(&scroll["summary"]),
        ["3|2|1|0.85|0.85|800.0|2500.0|0.32"]
    );
    let reach = json_rows(&scroll["reach"]);
    assert_eq!(reach.len(), 101);
    assert_eq!(reach[70], "70|2|1.0");
    assert_eq!(reach[71], "71|1|0.5");

    let funnel = read
        .get(
            READ_FX,
            "/v1/funnel?site=fx.example&step=fx.example/p&step=fx.example/q&step=sql:type%20%3D%20%27submit%27",
        )
        .await;
    assert_eq!(funnel.status, StatusCode::OK, "{}", funnel.text());
    assert_eq!(
        json_rows(&funnel.json()),
        [
            "1|fx.example/p|3|1.0|||",
            "2|fx.example/q|2|0.6666666666666666|0.6666666666666666|60.0|60.0",
            "3|type = 'submit'|1|0.3333333333333333|0.5|40.0|40.0",
        ]
    );
}

#[tokio::test]
async fn csv_arrow_and_png_decode() {
    let read = ReadApp::new().await;
    let uri = "/v1/heatmap?site=fx.example&page=fx.example/p&bin_px=1000";
    let csv = read.get_accepting(READ_FX, uri, Some("text/csv")).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        csv.text(),
        "fixed,cell_x,cell_y,events,visitors\n\
         false,0,0,8,2\nfalse,0,1,4,1\ntrue,0,0,1,1\n"
    );
    let by_parameter = read.get(READ_FX, &format!("{uri}&format=csv")).await;
    assert_eq!(by_parameter.body, csv.body);
    let empty = read
        .get(
            READ_FX,
            "/v1/heatmap?site=fx.example&page=fx.example/p&from=2030-01-01&format=csv",
        )
        .await;
    assert_eq!(empty.text(), "fixed,cell_x,cell_y,events,visitors\n");

    let arrow = read.get(READ_FX, &format!("{uri}&format=arrow")).await;
    let batches = arrow_batches(&arrow.body);
    assert_eq!(
        rows(&batches),
        ["false|0|0|8|2", "false|0|1|4|1", "true|0|0|1|1"]
    );

    // The picture is the CLI's: the same bytes as the library draws.
    let png = read.get_accepting(READ_FX, uri, Some("image/png")).await;
    assert_eq!(png.status, StatusCode::OK, "{}", png.text());
    assert_eq!(png.header("content-type"), Some("image/png"));
    let params = HeatmapParams {
        site: SITE.into(),
        path: P.into(),
        bin_px: 1000,
        ..HeatmapParams::default()
    };
    let expected = heat_picture(&library(&read).await, &params, None)
        .await
        .unwrap();
    assert_eq!(png.body.as_ref(), expected.as_slice());
    let (width, height, _) = decode_rgba(&png.body).unwrap();
    // A 40 px scale left of one 1000 px cell column; two cells high above the 44 px legend.
    assert_eq!((width, height), (40 + 1000, 2 * 1000 + 44));

    // No picture of element cells; no format that is not offered.
    let element = read
        .get(
            READ_FX,
            "/v1/heatmap?site=fx.example&page=fx.example/p&mode=element&format=png",
        )
        .await;
    assert_eq!(
        element.status,
        StatusCode::BAD_REQUEST,
        "{}",
        element.text()
    );
    let not_offered = read
        .get_accepting(
            READ_FX,
            "/v1/ctr?site=fx.example&page=fx.example/p",
            Some("image/png"),
        )
        .await;
    assert_eq!(not_offered.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(not_offered.json()["reason"], "not_acceptable");
    let two_parts = read
        .get(
            READ_FX,
            "/v1/scroll?site=fx.example&page=fx.example/p&format=csv",
        )
        .await;
    assert_eq!(two_parts.status, StatusCode::BAD_REQUEST);
    assert!(two_parts.text().contains("part="), "{}", two_parts.text());
}

#[tokio::test]
async fn versions_pin_and_new_commits_show() {
    let read = ReadApp::new().await;
    let count = "SELECT count(*) AS n FROM events";
    assert_eq!(json_rows(&read.sql(READ_FX, count).await.json()), ["26"]);
    let extra = json!({
        "v": 1, "site": SITE, "type": "click", "ts": 1_793_613_700_000_i64, "pageview_id": "pv9",
        "seq": 0, "path": P, "x": 5, "y": 5, "viewport_w": 1000, "visitor_id": "v9",
    });
    crate::fixture::import_events(read.directory.path(), "more.ndjson", &[extra]).await;
    let latest = read.sql(READ_FX, count).await;
    assert_eq!(latest.header("heatlake-table-version"), Some("1"));
    assert_eq!(json_rows(&latest.json()), ["27"]);
    let pinned = read
        .app
        .send(
            Request::post("/v1/sql")
                .header("authorization", format!("Bearer {READ_FX}"))
                .header("content-type", "application/json")
                .body(Body::from(json!({"sql": count, "version": 0}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(pinned.status, StatusCode::OK, "{}", pinned.text());
    assert_eq!(pinned.json()["version"], 0);
    assert_eq!(json_rows(&pinned.json()), ["26"]);
    let heat = |version: &str| {
        format!(
            "/v1/heatmap?site=fx.example&page=fx.example/p&bin_px=4096&from=2026-11-02{version}"
        )
    };
    assert_eq!(
        json_rows(&read.get(READ_FX, &heat("&version=0")).await.json()),
        ["false|0|0|4|1"]
    );
    assert_eq!(
        json_rows(&read.get(READ_FX, &heat("")).await.json()),
        ["false|0|0|5|2"]
    );
    let unknown = read.get(READ_FX, &heat("&version=7")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["reason"], "unknown_version");
    let bad = read.get(READ_FX, &heat("&version=latest")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_snapshot_is_reused_until_its_refresh_delay() {
    let read = ReadApp::with_reads(ReadsConfig {
        snapshot_refresh_ms: 3_600_000,
        ..ReadsConfig::default()
    })
    .await;
    let count = "SELECT count(*) FROM events";
    assert_eq!(json_rows(&read.sql(READ_FX, count).await.json()), ["26"]);
    let extra = json!({
        "v": 1, "site": SITE, "type": "click", "ts": 1_793_613_700_000_i64, "pageview_id": "pv9",
        "seq": 0, "path": P, "x": 5, "y": 5,
    });
    crate::fixture::import_events(read.directory.path(), "more.ndjson", &[extra]).await;
    // Within the delay the cached snapshot answers; a pinned version is read from the log.
    assert_eq!(json_rows(&read.sql(READ_FX, count).await.json()), ["26"]);
    let pinned = read
        .app
        .send(
            Request::post("/v1/sql?version=1")
                .header("x-heatlake-key", READ_FX)
                .body(Body::from(count))
                .unwrap(),
        )
        .await;
    assert_eq!(json_rows(&pinned.json()), ["27"]);
}

#[tokio::test]
async fn keys_are_checked_before_anything_is_read() {
    let read = ReadApp::new().await;
    let uri = "/v1/heatmap?site=fx.example&page=fx.example/p";
    let missing = read
        .app
        .send(Request::get(uri).body(Body::empty()).unwrap())
        .await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.json()["reason"], "unauthorized");
    for key in ["hlr_not_a_key_at_all", KEY_A] {
        let reply = read.get(key, uri).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{key}");
        assert_eq!(reply.json()["error"], "unknown read key");
    }
    // Not in the query string.
    let in_query = read
        .app
        .send(
            Request::get(format!("{uri}&key={READ_FX}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(in_query.status, StatusCode::UNAUTHORIZED);
    // A read key is no write key.
    let write = read
        .app
        .post(READ_BOTH, crate::support::click("a.example", 0))
        .await;
    assert_eq!(write.status, StatusCode::UNAUTHORIZED);
    assert_eq!(read.app.sink.event_count(), 0);
    // Both headers carry it.
    let header = read
        .app
        .send(
            Request::get(uri)
                .header("x-heatlake-key", READ_FX)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(header.status, StatusCode::OK, "{}", header.text());
}

#[tokio::test]
async fn without_read_keys_the_read_routes_say_so() {
    let app = crate::support::App::new();
    let reply = app
        .send(
            Request::post("/v1/sql")
                .header("authorization", "Bearer hlr_anything_at_all_1")
                .body(Body::from("SELECT 1"))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("no read keys are configured"),
        "{}",
        reply.text()
    );
}

#[tokio::test]
async fn another_sites_questions_are_forbidden() {
    let read = ReadApp::new().await;
    for uri in [
        "/v1/heatmap?site=fx.example&page=fx.example/p&format=png",
        "/v1/scroll?site=fx.example&page=fx.example/p",
        "/v1/ctr?site=fx.example&page=fx.example/p",
        "/v1/frustration?site=fx.example",
        "/v1/funnel?site=fx.example&step=fx.example/p",
    ] {
        let reply = read.get(READ_ONE, uri).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{uri}");
        assert_eq!(reply.json()["reason"], "site_not_allowed", "{uri}");
        assert!(!reply.text().contains("cell_x"), "{uri}");
        // The key of both sites may ask.
        assert_eq!(
            read.get(READ_BOTH, uri).await.status,
            StatusCode::OK,
            "{uri}"
        );
    }
    // A segment predicate is one expression over the key's rows: it cannot widen the scope.
    let predicate = read
        .get(
            READ_ONE,
            "/v1/frustration?site=one.example&level=page&predicate=site%20%3D%20%27fx.example%27%20OR%20true",
        )
        .await;
    assert_eq!(predicate.status, StatusCode::OK, "{}", predicate.text());
    assert!(
        !predicate.text().contains("fx.example/"),
        "{}",
        predicate.text()
    );
}

#[tokio::test]
async fn no_sql_reaches_another_sites_rows() {
    let read = ReadApp::new().await;
    let cases = [
        ("SELECT count(*) FROM events", "1"),
        ("SELECT count(*) FROM events WHERE site = 'fx.example'", "0"),
        (
            "SELECT string_agg(DISTINCT site, ',') FROM events",
            "one.example",
        ),
        (
            "SELECT (SELECT count(*) FROM events WHERE site = 'fx.example')",
            "0",
        ),
        (
            "SELECT count(DISTINCT b.site) FROM events a CROSS JOIN events b",
            "1",
        ),
        (
            "SELECT count(*) FROM (SELECT site FROM events UNION ALL SELECT site FROM events)",
            "2",
        ),
        (
            "WITH e AS (SELECT * FROM events) SELECT count(*) FROM e",
            "1",
        ),
        ("SELECT count(*) FROM datafusion.public.events", "1"),
        (
            "SELECT count(*) FROM events WHERE pageview_id IN (SELECT pageview_id FROM events)",
            "1",
        ),
    ];
    for (sql, expected) in cases {
        let reply = read.sql(READ_ONE, sql).await;
        assert_eq!(reply.status, StatusCode::OK, "{sql}: {}", reply.text());
        assert_eq!(json_rows(&reply.json()), [expected], "{sql}");
    }
    let every_row = read.sql(READ_ONE, "SELECT * FROM events").await;
    assert_eq!(every_row.status, StatusCode::OK);
    let body = every_row.json();
    assert_eq!(body["rows"].as_array().unwrap().len(), 1);
    assert!(
        !every_row.text().contains("fx.example"),
        "{}",
        every_row.text()
    );

    let table = read.location.local_path().unwrap();
    let table = table.to_str().unwrap();
    let out = read.directory.path().join("out.csv");
    let refused = [
        (
            format!("COPY (SELECT * FROM events) TO '{}'", out.display()),
            "not_read_only",
        ),
        ("CREATE TABLE t AS SELECT 1".to_owned(), "not_read_only"),
        (
            "CREATE VIEW everything AS SELECT * FROM events".to_owned(),
            "not_read_only",
        ),
        (
            format!("CREATE EXTERNAL TABLE raw STORED AS PARQUET LOCATION '{table}'"),
            "not_read_only",
        ),
        (
            "INSERT INTO events SELECT * FROM events".to_owned(),
            "invalid_query",
        ),
        ("DROP TABLE events".to_owned(), "invalid_query"),
        (
            "SET datafusion.execution.batch_size = 1".to_owned(),
            "invalid_query",
        ),
        (
            "SELECT * FROM information_schema.tables".to_owned(),
            "invalid_query",
        ),
        (format!("SELECT * FROM '{table}'"), "invalid_query"),
        (
            format!("SELECT * FROM read_parquet('{table}')"),
            "invalid_query",
        ),
        ("SELECT * FROM heatlake.events".to_owned(), "invalid_query"),
        ("SELEC 1".to_owned(), "invalid_query"),
    ];
    for (sql, reason) in &refused {
        let reply = read.sql(READ_ONE, sql).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{sql}: {}",
            reply.text()
        );
        let body = reply.json();
        assert!(
            ["not_read_only", "invalid_query"].contains(&body["reason"].as_str().unwrap()),
            "{sql}: {body}"
        );
        if *reason == "not_read_only" {
            assert_eq!(body["reason"], "not_read_only", "{sql}: {body}");
        }
        assert!(!body["error"].as_str().unwrap().is_empty());
        assert!(!reply.text().contains("backtrace"), "{sql}");
    }
    assert!(!out.exists());
    assert_eq!(
        json_rows(
            &read
                .sql(READ_ONE, "SELECT count(*) FROM events")
                .await
                .json()
        ),
        ["1"]
    );
}

/// A value the query's own expression cannot convert is the question's fault, wherever
/// DataFusion evaluates it: in a projection, or pushed down into the Parquet reader's row filter
/// (there the error reaches Heatlake wrapped in a Parquet error).
#[tokio::test]
async fn a_cast_that_fails_on_the_rows_is_400_wherever_it_runs() {
    let read = ReadApp::new().await;
    for sql in [
        "SELECT count(*) FROM events WHERE CAST(path AS INT) = 3",
        "SELECT CAST(path AS INT) FROM events",
    ] {
        let reply = read.sql(READ_ONE, sql).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{sql}: {}",
            reply.text()
        );
        let body = reply.json();
        assert_eq!(body["reason"], "invalid_query", "{sql}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("Cannot cast string"),
            "{sql}: {body}"
        );
    }
}

#[tokio::test]
async fn bad_parameters_are_400_naming_them() {
    let read = ReadApp::new().await;
    for (uri, names) in [
        ("/v1/heatmap?site=fx.example&page=fx.example/p&bin=8", "bin"),
        (
            "/v1/heatmap?site=fx.example&page=fx.example/p&bin_px=big",
            "bin_px",
        ),
        (
            "/v1/heatmap?site=fx.example&page=fx.example/p&bin_px=0",
            "bin_px",
        ),
        (
            "/v1/heatmap?site=fx.example&page=fx.example/p&mode=diagonal",
            "diagonal",
        ),
        (
            "/v1/heatmap?site=fx.example&page=fx.example/p&device=fridge",
            "device",
        ),
        (
            "/v1/heatmap?site=fx.example&page=fx.example/p&from=yesterday",
            "from",
        ),
        (
            "/v1/heatmap?site=fx.example&site=one.example&page=fx.example/p",
            "site",
        ),
        (
            "/v1/scroll?site=fx.example&page=fx.example/p&part=middle",
            "part",
        ),
        ("/v1/funnel?site=fx.example&step=sql:x%20%3E", "steps"),
        (
            "/v1/heatmap?site=fx.example&page=fx.example/p&format=xml",
            "xml",
        ),
    ] {
        let reply = read.get(READ_FX, uri).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            reply.text()
        );
        assert!(reply.text().contains(names), "{uri}: {}", reply.text());
    }
    let unknown_page = read
        .get(
            READ_FX,
            "/v1/heatmap?site=fx.example&page=fx.example/nowhere",
        )
        .await;
    assert_eq!(unknown_page.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown_page.json()["reason"], "unknown_page");
}

#[tokio::test]
async fn limits_end_queries_with_named_errors() {
    let read = ReadApp::with_reads(ReadsConfig {
        query_time_max_ms: 300,
        answer_rows_max: 20,
        answer_bytes_max: 4096,
        sql_bytes_max: 1024,
        snapshot_refresh_ms: 0,
        ..ReadsConfig::default()
    })
    .await;
    let cases = [
        (
            "SELECT max(a.value + b.value) FROM generate_series(1, 1000000) a \
             CROSS JOIN generate_series(1, 1000000) b"
                .to_owned(),
            StatusCode::REQUEST_TIMEOUT,
            "query_time_max_ms",
        ),
        ("SELECT * FROM events".to_owned(), StatusCode::OK, ""),
        (
            "SELECT value FROM generate_series(1, 21)".to_owned(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "answer_rows_max",
        ),
        (
            "SELECT repeat('x', 1000) FROM generate_series(1, 10)".to_owned(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "answer_bytes_max",
        ),
        (
            format!("SELECT 1 -- {}", "x".repeat(1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "sql_bytes_max",
        ),
    ];
    for (sql, status, limit) in &cases {
        let reply = read.sql(READ_ONE, sql).await;
        assert_eq!(reply.status, *status, "{sql}: {}", reply.text());
        if !limit.is_empty() {
            assert_eq!(reply.json()["limit"], *limit, "{sql}");
            assert!(
                reply.json()["error"].as_str().unwrap().contains(limit),
                "{sql}"
            );
        }
    }
    // The limits hold for the ready-made questions too.
    let rows = read
        .get(
            READ_FX,
            "/v1/heatmap?site=fx.example&page=fx.example/p&bin_px=1",
        )
        .await;
    assert_eq!(rows.status, StatusCode::OK, "{}", rows.text());
    let many = read
        .get(
            READ_FX,
            "/v1/scroll?site=fx.example&page=fx.example/p&part=reach",
        )
        .await;
    assert_eq!(many.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(many.json()["limit"], "answer_rows_max");
    // And the server still answers.
    assert_eq!(
        json_rows(
            &read
                .sql(READ_ONE, "SELECT count(*) FROM events")
                .await
                .json()
        ),
        ["1"]
    );
}

#[tokio::test]
async fn a_query_past_its_memory_limit_is_413() {
    let read = ReadApp::with_reads(ReadsConfig {
        query_memory_bytes_max: 256 * 1024,
        snapshot_refresh_ms: 0,
        ..ReadsConfig::default()
    })
    .await;
    let reply = read
        .sql(
            READ_ONE,
            "SELECT count(*) FROM generate_series(1, 2000000) a \
             JOIN generate_series(1, 2000000) b ON a.value = b.value",
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
    let body = reply.json();
    assert_eq!(body["reason"], "memory_limit");
    assert_eq!(body["limit"], "query_memory_bytes_max");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("the query needed more than query_memory_bytes_max (262144 bytes)"),
        "{body}"
    );
    assert_eq!(
        json_rows(&read.sql(READ_ONE, "SELECT 1 AS one").await.json()),
        ["1"]
    );
}

#[tokio::test]
async fn too_many_queries_at_once_get_503() {
    let read = ReadApp::with_reads(ReadsConfig {
        concurrent_queries_max: 1,
        snapshot_refresh_ms: 0,
        ..ReadsConfig::default()
    })
    .await;
    let held = read.app.state.reader().permit().unwrap();
    let busy = read.sql(READ_ONE, "SELECT 1").await;
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.json()["limit"], "concurrent_queries_max");
    assert_eq!(busy.header("retry-after"), Some("1"));
    drop(held);
    assert_eq!(read.sql(READ_ONE, "SELECT 1").await.status, StatusCode::OK);
}
