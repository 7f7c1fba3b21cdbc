//! The same data on S3 (a real S3-compatible server, moto) and on local disk answers the same
//! questions with the same results.

use crate::support::{S3Bucket, Sandbox};

/// Questions whose answers must not depend on where the table lives. Every one is fully ordered,
/// so the results compare row by row.
const QUERIES: [&str; 4] = [
    "SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY type",
    "SELECT site, count(DISTINCT pageview_id) AS pageviews FROM events GROUP BY site ORDER BY site",
    "SELECT path, sum(x) AS x_sum FROM events WHERE type = 'click' GROUP BY path \
     ORDER BY x_sum DESC, path LIMIT 10",
    "SELECT site, date, count(*) AS n, min(ts) AS first, max(ts) AS last FROM events \
     GROUP BY site, date ORDER BY site, date",
];

#[test]
fn s3_and_local_tables_give_identical_results() {
    let sandbox = Sandbox::with_s3(S3Bucket::create("same"));
    let summary = sandbox.generate(20_000, 11, "events.ndjson.gz");
    let s3_table = sandbox.bucket().url("tables/events");
    let local_table = sandbox.local_table("events");

    let s3_report = sandbox.import_ok(&s3_table, &["events.ndjson.gz"], &[]);
    let local_report = sandbox.import_ok(&local_table, &["events.ndjson.gz"], &[]);
    assert_eq!(
        (s3_report.version(), s3_report.created()),
        (0, true),
        "{}",
        s3_report.0
    );
    assert_eq!(s3_report.events_per_type(), summary.events_per_type());
    assert_eq!(s3_report.events_per_type(), local_report.events_per_type());
    assert_eq!(s3_report.0["data_files"], local_report.0["data_files"]);
    assert_eq!(s3_report.0["partitions"], local_report.0["partitions"]);

    // The commit really is an object in the bucket, not a local directory.
    let bucket = sandbox.bucket();
    let (status, _) = bucket.endpoint().http_request(
        "GET",
        &format!(
            "/{}/tables/events/_delta_log/00000000000000000000.json",
            bucket.name()
        ),
    );
    assert_eq!(status, 200, "the first commit is in the bucket");
    assert!(!sandbox.file("s3:").exists() && !sandbox.file("tables").exists());

    for query in QUERIES {
        let on_s3 = sandbox.sql_json(&s3_table, query);
        let local = sandbox.sql_json(&local_table, query);
        assert!(!local.is_empty(), "{query} has rows");
        assert_eq!(on_s3, local, "{query}");
    }
    assert_eq!(
        sandbox.counts_per_type(&s3_table),
        summary.events_per_type()
    );
}

#[test]
fn appends_on_s3_commit_new_versions_and_old_ones_stay_readable() {
    let sandbox = Sandbox::with_s3(S3Bucket::create("append"));
    let first = sandbox.generate(4_000, 21, "first.ndjson");
    let second = sandbox.generate(1_000, 22, "second.ndjson");
    let table = sandbox.bucket().url("events");

    let report = sandbox.import_ok(&table, &["first.ndjson"], &[]);
    assert_eq!((report.version(), report.created()), (0, true));
    // The second commit is a conditional put of log entry 1 on an existing table.
    let report = sandbox.import_ok(&table, &["second.ndjson"], &[]);
    assert_eq!(
        (report.version(), report.created()),
        (1, false),
        "{}",
        report.0
    );

    assert_eq!(sandbox.count(&table), 5_000);
    assert_eq!(
        sandbox.counts_per_type_at(&table, Some(0)),
        first.events_per_type()
    );
    let mut both = first.events_per_type();
    for (name, count) in second.events_per_type() {
        *both.entry(name).or_default() += count;
    }
    assert_eq!(sandbox.counts_per_type(&table), both);
}
