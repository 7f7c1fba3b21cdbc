//! A scoped session sees only its sites, whatever the SQL; it refuses anything but queries;
//! its limits end a query with a clear error.

use std::time::Duration;

use heatlake_query::analytics::heatmap::{HeatmapParams, heatmap};
use heatlake_query::{Error, QueryOptions, ScopeLimits, ScopedSession};

use crate::fixture::{P, SITE, fixture, rows};

async fn scoped(sites: &[&str], limits: ScopeLimits) -> (tempfile::TempDir, ScopedSession, String) {
    let directory = tempfile::tempdir().unwrap();
    let location = fixture(directory.path()).await;
    let sites: Vec<String> = sites.iter().map(|site| (*site).to_owned()).collect();
    let session = ScopedSession::open(&location, None, &sites, &QueryOptions::default(), limits)
        .await
        .unwrap();
    let path = location.local_path().unwrap().to_str().unwrap().to_owned();
    (directory, session, path)
}

#[tokio::test]
async fn no_sql_reaches_another_sites_rows() {
    let (_directory, session, table_path) = scoped(&["one.example"], ScopeLimits::default()).await;
    let cases = [
        ("SELECT count(*) FROM events", "1"),
        ("SELECT count(*) FROM events WHERE site = 'fx.example'", "0"),
        (
            "SELECT count(*) FROM events WHERE site <> 'one.example' OR true",
            "1",
        ),
        (
            "SELECT (SELECT count(*) FROM events WHERE site = 'fx.example')",
            "0",
        ),
        (
            "SELECT count(*) FROM events WHERE pageview_id IN (SELECT pageview_id FROM events)",
            "1",
        ),
        (
            "SELECT count(DISTINCT b.site) FROM events a CROSS JOIN events b",
            "1",
        ),
        (
            "SELECT count(*) FROM events a FULL JOIN events b ON a.site <> b.site",
            "2",
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
        ("SELECT count(*) FROM public.events", "1"),
        (
            "SELECT string_agg(DISTINCT site, ',') FROM events",
            "one.example",
        ),
    ];
    for (query, expected) in cases {
        let answer = session
            .collect(query)
            .await
            .unwrap_or_else(|error| panic!("{query}: {error}"));
        assert_eq!(rows(&answer), [expected], "{query}");
    }
    let refused = [
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM heatlake.events",
        &format!("SELECT * FROM '{table_path}'"),
        &format!("SELECT * FROM read_parquet('{table_path}')"),
        &format!("SELECT * FROM parquet_metadata('{table_path}')"),
    ];
    for query in refused {
        let error = session
            .collect(query)
            .await
            .err()
            .unwrap_or_else(|| panic!("{query} ran"));
        assert!(matches!(error, Error::DataFusion(_)), "{query}: {error}");
    }
    // The ready-made questions see the same filtered table.
    let params = HeatmapParams {
        site: SITE.into(),
        path: P.into(),
        ..HeatmapParams::default()
    };
    let error = heatmap(session.events(), &params).await.err().unwrap();
    assert!(matches!(error, Error::UnknownPage { .. }), "{error}");
}

#[tokio::test]
async fn a_scope_of_one_site_sees_all_of_it() {
    let (_directory, session, _) = scoped(&[SITE], ScopeLimits::default()).await;
    let answer = session
        .collect("SELECT site, count(*) FROM events GROUP BY site")
        .await
        .unwrap();
    assert_eq!(rows(&answer), ["fx.example|26"]);
}

#[tokio::test]
async fn only_queries_are_allowed() {
    let (directory, session, table_path) = scoped(&["one.example"], ScopeLimits::default()).await;
    let out = directory.path().join("out.csv");
    let statements = [
        "CREATE VIEW everything AS SELECT * FROM events".to_owned(),
        format!("CREATE EXTERNAL TABLE raw STORED AS PARQUET LOCATION '{table_path}'"),
        format!("COPY (SELECT * FROM events) TO '{}'", out.display()),
        "INSERT INTO events SELECT * FROM events".to_owned(),
        "DROP TABLE events".to_owned(),
        "SET datafusion.execution.batch_size = 1".to_owned(),
        "CREATE TABLE t AS SELECT 1".to_owned(),
    ];
    for statement in &statements {
        let error = session
            .collect(statement)
            .await
            .err()
            .unwrap_or_else(|| panic!("{statement} ran"));
        assert!(
            matches!(error, Error::NotReadOnly { .. } | Error::DataFusion(_)),
            "{statement}: {error}"
        );
    }
    for statement in &statements[..3] {
        let error = session.collect(statement).await.err().unwrap();
        assert!(
            error
                .to_string()
                .starts_with("only read-only queries are allowed"),
            "{statement}: {error}"
        );
    }
    assert!(!out.exists());
    assert_eq!(
        rows(
            &session
                .collect("SELECT count(*) FROM events")
                .await
                .unwrap()
        ),
        ["1"]
    );
}

#[tokio::test]
async fn a_query_past_its_time_limit_is_cancelled() {
    let limits = ScopeLimits {
        query_time_max: Duration::from_millis(300),
        ..ScopeLimits::default()
    };
    let (_directory, session, _) = scoped(&["one.example"], limits).await;
    let error = session
        .collect(
            "SELECT max(a.value + b.value) FROM generate_series(1, 1000000) a \
             CROSS JOIN generate_series(1, 1000000) b",
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(error, Error::TimeLimit { .. }), "{error}");
    assert!(error.to_string().contains("time limit of 300ms"), "{error}");
}

#[tokio::test]
async fn a_query_past_its_memory_limit_fails_clearly() {
    let limits = ScopeLimits {
        memory_bytes_max: 256 * 1024,
        ..ScopeLimits::default()
    };
    let (_directory, session, _) = scoped(&["one.example"], limits).await;
    let error = session
        .collect(
            "SELECT count(*) FROM generate_series(1, 2000000) a \
             JOIN generate_series(1, 2000000) b ON a.value = b.value",
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(error, Error::MemoryLimit { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("the query needed more than its memory limit of 262144 bytes"),
        "{error}"
    );
}

/// Regression: a session's spill had DataFusion's default bound, 100 GiB per session, and every
/// request makes a session.
#[tokio::test]
async fn a_query_past_its_spill_limit_fails_clearly() {
    let sorting = "SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY value DESC) AS r \
                   FROM generate_series(1, 3000000))";
    let limits = ScopeLimits {
        memory_bytes_max: 16 * 1024 * 1024,
        spill_bytes_max: 64 * 1024,
        ..ScopeLimits::default()
    };
    let (_directory, session, _) = scoped(&["one.example"], limits).await;
    let error = session.collect(sorting).await.err().unwrap();
    assert!(
        matches!(error, Error::SpillLimit { bytes: 65_536 }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "the query spilled more than its spill limit of 65536 bytes to disk"
    );
    // With room to spill, the same sort answers.
    let roomy = ScopeLimits {
        memory_bytes_max: 16 * 1024 * 1024,
        ..ScopeLimits::default()
    };
    let (_directory, session, _) = scoped(&["one.example"], roomy).await;
    assert_eq!(rows(&session.collect(sorting).await.unwrap()), ["3000000"]);
}

/// Regression: `repeat`, `range` and the like built their whole value (GBs) outside the memory
/// pool, the constant ones already while planning.
#[tokio::test]
async fn functions_building_large_values_are_refused_before_they_build() {
    let (_directory, session, _) = scoped(&["one.example"], ScopeLimits::default()).await;
    let error = session
        .collect("SELECT length(repeat('x', 2000000000))")
        .await
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "function `repeat` would produce 2000000000 bytes, more than function_output_bytes_max (67108864)"
    );
    assert!(matches!(error, Error::FunctionLimit { .. }), "{error}");
    // Planning alone (where constants are folded) is refused the same way, or leaves the call
    // for the run: either way nothing is built.
    let error = session
        .collect("SELECT count(*) FROM generate_series(1, 1000000000000)")
        .await
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "function `generate_series` would produce 1000000000000 rows, more than series_rows_max (100000000)"
    );
    let small = session
        .collect("SELECT length(repeat('ab', 1000)), cardinality(range(10))")
        .await
        .unwrap();
    assert_eq!(rows(&small), ["2000|10"]);
}
