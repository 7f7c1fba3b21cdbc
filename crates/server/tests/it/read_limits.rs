//! The read routes' bounds on what a query builds outside its memory pool (pictures, function
//! values, series), what their answers carry (CSV cells a spreadsheet would run), and what their
//! errors show.

use axum::http::StatusCode;
use heatlake_server::ReadsConfig;
use serde_json::json;

use crate::read_support::{P, READ_FX, READ_ONE, ReadApp, SITE, json_rows};

/// Regression: one click at (999 999, 999 999) made a `bin_px=1` picture of 16 424×16 428 px,
/// whose canvas and grid (GiBs) were allocated on the serving thread.
#[tokio::test]
async fn a_picture_past_its_pixel_bound_is_413_naming_it() {
    let read = ReadApp::new().await;
    let far = json!({
        "v": 1, "site": SITE, "type": "click", "ts": 1_793_613_700_000_i64, "pageview_id": "pv9",
        "seq": 0, "path": P, "x": 999_999, "y": 999_999, "viewport_w": 1000, "visitor_id": "v9",
    });
    crate::fixture::import_events(read.directory.path(), "far.ndjson", &[far]).await;
    let picture = "/v1/heatmap?site=fx.example&page=fx.example/p&format=png";
    let reply = read.get(READ_FX, &format!("{picture}&bin_px=1")).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
    let body = reply.json();
    assert_eq!(body["reason"], "too_large");
    assert_eq!(body["limit"], "picture_pixels_max");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("the picture would be 16424×16428 px, more than 33554432 pixels"),
        "{body}"
    );
    // Without the far click the same picture draws.
    let near = read
        .get(
            READ_FX,
            &format!("{picture}&bin_px=1&predicate=x%20%3C%2010000"),
        )
        .await;
    assert_eq!(near.status, StatusCode::OK, "{}", near.text());
    assert_eq!(near.header("content-type"), Some("image/png"));
}

/// Regression: these built their whole value (GBs) before any bound: at planning for constants
/// (constant folding), per batch for columns. Each is now refused from its arguments.
#[tokio::test]
async fn functions_that_build_large_values_are_refused_from_their_arguments() {
    let read = ReadApp::with_reads(ReadsConfig {
        query_time_max_ms: 5_000,
        snapshot_refresh_ms: 0,
        ..ReadsConfig::default()
    })
    .await;
    let refused = [
        ("SELECT length(repeat('x', 2000000000))", "repeat"),
        ("SELECT repeat('x', 2000000000)", "repeat"),
        (
            "SELECT length(repeat(arrow_cast('x', 'Utf8View'), 100000000))",
            "repeat",
        ),
        (
            "SELECT length(repeat(arrow_cast('x', 'LargeUtf8'), 100000000))",
            "repeat",
        ),
        (
            "SELECT max(length(repeat(path, 10000000))) FROM events",
            "repeat",
        ),
        ("SELECT length(lpad('x', 1000000000))", "lpad"),
        ("SELECT length(rpad('x', 1000000000, 'ab'))", "rpad"),
        (
            "SELECT length(concat(repeat('x', 40000000), repeat('x', 40000000)))",
            "concat",
        ),
        (
            "SELECT length(concat_ws(',', repeat('x', 40000000), repeat('x', 40000000)))",
            "concat_ws",
        ),
        (
            "SELECT length(replace(repeat('x', 1000), 'x', repeat('y', 100000)))",
            "replace",
        ),
        (
            "SELECT length(regexp_replace(repeat('x', 10000), 'x', repeat('y', 10000), 'g'))",
            "regexp_replace",
        ),
        (
            "WITH a AS (SELECT arrow_cast(repeat('x', 40000000), 'LargeUtf8') AS s) \
             SELECT length(s || s) FROM a",
            "||",
        ),
        (
            "WITH a AS (SELECT arrow_cast(repeat('x', 40000000), 'Utf8View') AS s) \
             SELECT length(s || 'y' || s) FROM a",
            "||",
        ),
        ("SELECT cardinality(range(0, 300000000))", "range"),
        (
            "SELECT cardinality(generate_series(1, 300000000))",
            "generate_series",
        ),
        (
            "SELECT cardinality(range(TIMESTAMP '1970-01-01', TIMESTAMP '2026-01-01', INTERVAL '1 second'))",
            "range",
        ),
        (
            "SELECT cardinality(array_repeat(1, 300000000))",
            "array_repeat",
        ),
        (
            "WITH a AS (SELECT range(0, 5000000) AS l) SELECT cardinality(l || l) FROM a",
            "array_concat",
        ),
        (
            "SELECT cardinality(array_resize([1], 300000000))",
            "array_resize",
        ),
    ];
    for (sql, function) in refused {
        let reply = read.sql(READ_ONE, sql).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{sql}: {}",
            reply.text()
        );
        let body = reply.json();
        assert_eq!(body["reason"], "too_large", "{sql}");
        assert_eq!(body["limit"], "function_output_bytes_max", "{sql}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(
            error.starts_with(&format!("function `{function}` would produce "))
                && error.ends_with("bytes, more than function_output_bytes_max (67108864)"),
            "{sql}: {error}"
        );
    }
    let series = read
        .sql(
            READ_ONE,
            "SELECT count(*) FROM generate_series(1, 1000000000000)",
        )
        .await;
    assert_eq!(
        series.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        series.text()
    );
    assert_eq!(series.json()["limit"], "series_rows_max");
    assert_eq!(
        series.json()["error"],
        "function `generate_series` would produce 1000000000000 rows, more than series_rows_max (100000000)"
    );
    // The ready-made questions' predicates go through the same functions.
    let predicate = read
        .get(
            READ_FX,
            "/v1/heatmap?site=fx.example&page=fx.example/p&predicate=length(repeat(path%2C%20100000000))%20%3E%200",
        )
        .await;
    assert_eq!(
        predicate.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        predicate.text()
    );
    assert_eq!(predicate.json()["limit"], "function_output_bytes_max");
    // Within the bounds the functions answer as the built-ins do.
    let within = [
        ("SELECT length(repeat('x', 1000000))", "1000000"),
        ("SELECT repeat('ab', 3)", "ababab"),
        ("SELECT repeat('x', -1) = ''", "true"),
        ("SELECT lpad('7', 3, '0')", "007"),
        ("SELECT rpad('ab', 1)", "a"),
        ("SELECT concat('a', NULL, 'b', 1)", "ab1"),
        ("SELECT concat_ws('-', 'a', 'b')", "a-b"),
        ("SELECT replace('a.b.c', '.', '::')", "a::b::c"),
        ("SELECT regexp_replace('a1b22', '[0-9]+', '#', 'g')", "a#b#"),
        ("SELECT cardinality(range(0, 1000000))", "1000000"),
        ("SELECT generate_series(1, 3)", "[1,2,3]"),
        ("SELECT array_repeat('a', 2)", "[\"a\",\"a\"]"),
        ("SELECT array_resize([1, 2], 3, 0)", "[1,2,0]"),
        ("SELECT 'a' || 'b'", "ab"),
        ("SELECT ('a' || NULL) IS NULL", "true"),
        ("SELECT 'a' || 1", "a1"),
        (
            "SELECT arrow_typeof(arrow_cast('a', 'Utf8View') || 'b')",
            "Utf8View",
        ),
        ("SELECT [1] || [2]", "[1,2]"),
        ("SELECT count(*) FROM generate_series(1, 1000)", "1000"),
        ("SELECT count(*) FROM range(1, 1000)", "999"),
        // The key's longest path is `one.example/`, 12 characters.
        (
            "SELECT max(length(repeat(path, 1000))) FROM events",
            "12000",
        ),
    ];
    for (sql, expected) in within {
        let reply = read.sql(READ_ONE, sql).await;
        assert_eq!(reply.status, StatusCode::OK, "{sql}: {}", reply.text());
        assert_eq!(json_rows(&reply.json()), [expected], "{sql}");
    }
}

/// Regression: CSV answers carried cells such as `=HYPERLINK(...)` as they were, which a
/// spreadsheet opening the file runs as formulas.
#[tokio::test]
async fn csv_text_cells_that_a_spreadsheet_would_run_open_as_text() {
    let read = ReadApp::new().await;
    let sql = "SELECT '=HYPERLINK(\"http://e.example\")' AS formula, -1 AS number, \
               -1.5 AS real, '-1' AS text, '@x' AS at, '+x' AS plus, concat(chr(9), 't') AS tab, \
               concat(chr(13), 'r') AS cr, 'a=b' AS inner_sign, \
               arrow_cast('=large', 'LargeUtf8') AS large, arrow_cast('=view', 'Utf8View') AS view, \
               arrow_cast('=dict', 'Dictionary(Int32, Utf8)') AS dict, \
               CAST(NULL AS VARCHAR) AS nothing";
    let reply = read
        .app
        .send(
            axum::http::Request::post("/v1/sql?format=csv")
                .header("authorization", format!("Bearer {READ_ONE}"))
                .body(axum::body::Body::from(sql))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.text(),
        "formula,number,real,text,at,plus,tab,cr,inner_sign,large,view,dict,nothing\n\
         \"'=HYPERLINK(\"\"http://e.example\"\")\",-1,-1.5,'-1,'@x,'+x,'\tt,\"'\rr\",a=b,'=large,'=view,'=dict,\n"
    );
    // JSON and Arrow carry the values as they are.
    let json = read.sql(READ_ONE, sql).await.json();
    assert_eq!(
        json["rows"][0]["formula"],
        "=HYPERLINK(\"http://e.example\")"
    );
    assert_eq!(json["rows"][0]["text"], "-1");
}

/// Regression: a predicate's `N'...'` literal was printed back without escaping its quotes, so
/// `N'a'') OR (site <> ''x'` ended the question's own conditions (within the key's sites).
#[tokio::test]
async fn a_predicate_cannot_end_the_questions_conditions() {
    let read = ReadApp::new().await;
    let reply = read
        .get(
            READ_FX,
            "/v1/heatmap?site=fx.example&page=fx.example/p&predicate=path%20%3D%20N%27a%27%27)%20OR%20(site%20%3C%3E%20%27%27x%27",
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert_eq!(reply.json()["field"], "predicate");
    let funnel = read
        .get(
            READ_FX,
            "/v1/funnel?site=fx.example&step=fx.example/p&step=sql:path%20%3D%20N%27a%27%27)%20OR%20(site%20%3C%3E%20%27%27x%27",
        )
        .await;
    assert_eq!(funnel.status, StatusCode::BAD_REQUEST, "{}", funnel.text());
    assert_eq!(funnel.json()["field"], "steps");
}

/// Errors quote values of the rows they failed on; the rows a key reaches are its sites' only,
/// so no error shows another site's values (the fixture's other site is `fx.example`).
#[tokio::test]
async fn errors_show_no_other_sites_values() {
    let read = ReadApp::new().await;
    let failing = [
        "SELECT CAST(path AS INT) FROM events",
        "SELECT count(*) FROM events WHERE CAST(path AS INT) = 1",
        "SELECT count(*) FROM events WHERE site IS NOT NULL AND arrow_cast(path, 'Int64') > 0",
        "SELECT to_timestamp(path) FROM events",
        "SELECT count(*) FROM events a JOIN events b ON CAST(a.path AS INT) = b.seq",
        "SELECT CAST(site AS INT) FROM events ORDER BY 1",
    ];
    for sql in failing {
        let reply = read.sql(READ_ONE, sql).await;
        // A cast that fails inside the Parquet reader's row filter is still answered 500
        // `query_failed` (its error arrives as text); what matters here is what it quotes.
        assert!(
            reply.status == StatusCode::BAD_REQUEST
                || reply.status == StatusCode::INTERNAL_SERVER_ERROR,
            "{sql}: {}",
            reply.text()
        );
        let text = reply.text();
        assert!(text.contains("one.example"), "{sql}: {text}");
        assert!(!text.contains("fx.example"), "{sql}: {text}");
    }
}

/// The function bounds come from `[reads]`: a series and a value far below the defaults are
/// refused once configured lower, naming the configured values, and allowed below them.
#[tokio::test]
async fn function_bounds_are_the_configured_ones() {
    let read = ReadApp::with_reads(ReadsConfig {
        snapshot_refresh_ms: 0,
        series_rows_max: 1_000,
        function_output_bytes_max: 4_096,
        ..ReadsConfig::default()
    })
    .await;
    let series = read
        .sql(READ_ONE, "SELECT count(*) FROM generate_series(1, 5000)")
        .await;
    assert_eq!(
        series.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        series.text()
    );
    assert_eq!(
        series.json()["error"],
        "function `generate_series` would produce 5000 rows, more than series_rows_max (1000)"
    );
    let value = read
        .sql(READ_ONE, "SELECT length(repeat('x', 10000))")
        .await;
    assert_eq!(
        value.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        value.text()
    );
    assert_eq!(value.json()["limit"], "function_output_bytes_max");
    let allowed = read
        .sql(
            READ_ONE,
            "SELECT (SELECT count(*) FROM generate_series(1, 999)) AS n, length(repeat('x', 100)) AS l",
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text());
}
