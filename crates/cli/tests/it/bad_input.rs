//! Bad input ends an import with exit code 1 and one clear error, and leaves the table exactly
//! as it was: same rows, same version, same files.

use std::collections::BTreeMap;
use std::io::Write;

use crate::support::{
    S3Bucket, S3Endpoint, Sandbox, assert_failure, free_loopback_port, lines, list_files,
};

/// An error line longer than this is not one a person reads.
const ERROR_BYTES_MAX: usize = 1024;

/// Good events the table holds before each bad import.
const EVENTS_BEFORE: u64 = 50;

/// What must not change when an import fails.
#[derive(Debug, PartialEq, Eq)]
struct TableState {
    count: u64,
    files: BTreeMap<String, u64>,
}

/// A sandbox with a local table holding [`EVENTS_BEFORE`] events (version 0).
struct Fixture {
    sandbox: Sandbox,
    table: String,
}

impl Fixture {
    fn new() -> Self {
        let sandbox = Sandbox::new();
        let table = sandbox.local_table("events");
        let good = sandbox.write_lines("good.ndjson", &lines::clicks(EVENTS_BEFORE));
        let report = sandbox.import_ok(&table, &[&good], &[]);
        assert_eq!(report.version(), 0);
        Self { sandbox, table }
    }

    fn state(&self) -> TableState {
        TableState {
            count: self.sandbox.count(&self.table),
            files: list_files(std::path::Path::new(&self.table)),
        }
    }

    /// Imports `file` (with `extra` options), expects failure and an unchanged table; returns
    /// the error line, which must contain every one of `expected`.
    fn rejects(&self, file: &str, extra: &[&str], expected: &[&str]) -> String {
        let before = self.state();
        assert_eq!(before.count, EVENTS_BEFORE);
        let output = self.sandbox.import(&self.table, &[file], extra);
        let error = assert_failure(&output, &format!("import of {file}"));
        for part in expected {
            assert!(
                error.contains(part),
                "expected {part:?} in the error:\n{error}"
            );
        }
        assert!(
            error.len() <= ERROR_BYTES_MAX,
            "the error line is {} bytes long, more than {ERROR_BYTES_MAX}: {}...",
            error.len(),
            &error[..error.floor_char_boundary(300)]
        );
        assert_eq!(
            self.state(),
            before,
            "a failed import left the table as it was"
        );
        let versions =
            self.sandbox
                .run(["sql", "--table", &self.table, "--version", "1", "SELECT 1"]);
        assert_failure(&versions, "sql --version 1 after a failed import");
        error
    }

    /// A file of good clicks with `bad` as line 4 (of 6).
    fn with_bad_fourth_line(&self, name: &str, bad: &[u8]) -> String {
        let mut content = lines::clicks(3);
        content.push(bad.to_vec());
        content.extend((3..5).map(|n| lines::click("a.example", n)));
        self.sandbox.write_lines(name, &content)
    }
}

fn line_of(json: &str) -> Vec<u8> {
    json.as_bytes().to_vec()
}

#[test]
fn malformed_json_names_file_and_line() {
    let fixture = Fixture::new();
    let file = fixture.with_bad_fourth_line(
        "malformed.ndjson",
        br#"{"v":1,"site":"a.example","type":"click","ts":1764400000000,"x":1,"#,
    );
    let error = fixture.rejects(&file, &[], &[&format!("{file}:4:"), "malformed event"]);
    assert!(error.contains("EOF while parsing"), "{error}");
}

#[test]
fn wrong_type_names_the_field() {
    let fixture = Fixture::new();
    let file = fixture.with_bad_fourth_line(
        "wrong-type.ndjson",
        &line_of(
            r#"{"v":1,"site":"a.example","type":"click","ts":1764400000000,"x":"left","y":3}"#,
        ),
    );
    fixture.rejects(
        &file,
        &[],
        &[
            &format!("{file}:4:"),
            "field `x`",
            "invalid type: string \"left\"",
        ],
    );
}

#[test]
fn unknown_event_type_lists_the_known_ones() {
    let fixture = Fixture::new();
    let file = fixture.with_bad_fourth_line(
        "unknown-type.ndjson",
        &line_of(r#"{"v":1,"site":"a.example","type":"tap","ts":1764400000000,"x":1,"y":3}"#),
    );
    fixture.rejects(
        &file,
        &[],
        &[
            &format!("{file}:4:"),
            "field `type`",
            "\"tap\" is not an event type",
            "pageview, click",
        ],
    );
}

#[test]
fn missing_site_is_named() {
    let fixture = Fixture::new();
    let file = fixture.with_bad_fourth_line(
        "no-site.ndjson",
        &line_of(r#"{"v":1,"type":"click","ts":1764400000000,"x":1,"y":3}"#),
    );
    fixture.rejects(
        &file,
        &[],
        &[&format!("{file}:4:"), "field `site`", "is required"],
    );
}

#[test]
fn coordinates_out_of_range_give_the_range() {
    let fixture = Fixture::new();
    let file = fixture.with_bad_fourth_line(
        "negative-x.ndjson",
        &line_of(r#"{"v":1,"site":"a.example","type":"click","ts":1764400000000,"x":-5,"y":3}"#),
    );
    fixture.rejects(
        &file,
        &[],
        &[
            &format!("{file}:4:"),
            "field `x`: value -5 is outside 0..=1000000",
        ],
    );
}

#[test]
fn over_long_title_gives_the_limit_without_echoing_the_title() {
    let fixture = Fixture::new();
    let title = "t".repeat(10 * 1024);
    let file = fixture.with_bad_fourth_line(
        "long-title.ndjson",
        &line_of(&format!(
            r#"{{"v":1,"site":"a.example","type":"pageview","ts":1764400000000,"url":"https://a.example/","title":"{title}"}}"#
        )),
    );
    fixture.rejects(
        &file,
        &[],
        &[
            &format!("{file}:4:"),
            "field `title`",
            "10240 bytes long, more than the 512 allowed",
        ],
    );
}

#[test]
fn invalid_utf8_names_the_line() {
    let fixture = Fixture::new();
    let mut bad = line_of(
        r#"{"v":1,"site":"a.example","type":"click","ts":1764400000000,"x":1,"y":3,"target":"a.XX"}"#,
    );
    let at = bad
        .windows(2)
        .position(|pair| pair == b"XX")
        .expect("marker present");
    bad[at] = 0xff;
    bad[at + 1] = 0xfe;
    let file = fixture.with_bad_fourth_line("invalid-utf8.ndjson", &bad);
    let error = fixture.rejects(&file, &[], &[&format!("{file}:4:")]);
    let lower = error.to_lowercase();
    assert!(
        lower.contains("unicode") || lower.contains("utf-8"),
        "{error}"
    );
}

#[test]
fn truncated_gzip_names_the_file_and_removes_data_files_already_written() {
    let fixture = Fixture::new();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for line in lines::clicks(20_000) {
        encoder.write_all(&line).expect("in memory");
        encoder.write_all(b"\n").expect("in memory");
    }
    let compressed = encoder.finish().expect("in memory");
    let file = fixture.sandbox.write_bytes(
        "truncated.ndjson.gz",
        &compressed[..compressed.len() * 2 / 3],
    );
    // Small data files, so that some are written before the broken end is reached.
    let error = fixture.rejects(&file, &["--file-rows", "1000"], &[&file, "gzip"]);
    assert!(error.contains("after line"), "{error}");
}

#[test]
fn a_bad_line_after_data_files_were_written_leaves_no_files() {
    let fixture = Fixture::new();
    let mut content = lines::clicks(5_000);
    content.push(line_of(
        r#"{"v":1,"site":"a.example","type":"click","ts":1764400000000,"x":1}"#,
    ));
    let file = fixture
        .sandbox
        .write_lines("late-bad-line.ndjson", &content);
    fixture.rejects(
        &file,
        &["--file-rows", "500"],
        &[
            &format!("{file}:5001:"),
            "field `y`",
            "required for `click` events",
        ],
    );
}

#[test]
fn empty_input_commits_nothing() {
    let fixture = Fixture::new();
    let empty = fixture.sandbox.write_bytes("empty.ndjson", b"");
    fixture.rejects(&empty, &[], &["no events"]);
    let blank = fixture.sandbox.write_bytes("blank.ndjson", b"\n  \n\r\n");
    fixture.rejects(&blank, &[], &["no events"]);
}

#[test]
fn a_failed_first_import_creates_no_table() {
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("events");
    let mut content = lines::clicks(3_000);
    content.push(line_of("not json"));
    let file = sandbox.write_lines("bad.ndjson", &content);
    let output = sandbox.import(&table, &[&file], &["--file-rows", "500"]);
    let error = assert_failure(&output, "failed first import");
    assert!(error.contains(&format!("{file}:3001:")), "{error}");
    assert_eq!(list_files(std::path::Path::new(&table)), BTreeMap::new());
    let output = sandbox.run(["sql", "--table", &table, "SELECT count(*) FROM events"]);
    let error = assert_failure(&output, "sql after a failed first import");
    assert!(error.contains("no table at"), "{error}");
}

#[test]
fn up_to_max_errors_bad_lines_are_reported_and_the_rest_committed() {
    let fixture = Fixture::new();
    let mut content = lines::clicks(10);
    content[2] =
        line_of(r#"{"v":1,"site":"a.example","type":"click","ts":1764400000000,"x":-5,"y":1}"#);
    content[6] = line_of(r#"{"v":1,"site":"a.example","type":"tap","ts":1764400000000}"#);
    let file = fixture.sandbox.write_lines("two-bad.ndjson", &content);
    let output = fixture
        .sandbox
        .import(&fixture.table, &[&file], &["--json", "--max-errors", "2"]);
    crate::support::assert_success(&output, "import with two bad lines and --max-errors 2");
    let report =
        crate::support::ImportReport(crate::support::single_json(&output.stdout, "import --json"));
    assert_eq!(report.version(), 1);
    assert_eq!(report.events(), 8);
    let rejected: Vec<(String, u64)> = report
        .rejected()
        .into_iter()
        .map(|(path, line, _)| (path, line))
        .collect();
    assert_eq!(rejected, [(file.clone(), 3), (file.clone(), 7)]);

    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr_lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(
        stderr_lines.len(),
        2,
        "two rejections and nothing else:\n{stderr}"
    );
    assert!(
        stderr_lines[0].starts_with(&format!("rejected {file}:3: "))
            && stderr_lines[0].contains("field `x`"),
        "{stderr}"
    );
    assert!(
        stderr_lines[1].starts_with(&format!("rejected {file}:7: "))
            && stderr_lines[1].contains("field `type`"),
        "{stderr}"
    );
    assert_eq!(fixture.sandbox.count(&fixture.table), EVENTS_BEFORE + 8);
}

#[test]
fn one_bad_line_more_than_max_errors_commits_nothing() {
    let fixture = Fixture::new();
    let mut content = lines::clicks(10);
    for index in [2, 6, 8] {
        content[index] =
            line_of(r#"{"v":1,"site":"a.example","type":"click","ts":1764400000000,"x":-5,"y":1}"#);
    }
    let file = fixture.sandbox.write_lines("three-bad.ndjson", &content);
    fixture.rejects(
        &file,
        &["--max-errors", "2"],
        &[
            "3 lines rejected, more than --max-errors 2",
            &format!("{file}:3:"),
        ],
    );
}

#[test]
fn an_unreachable_s3_endpoint_names_the_location() {
    let closed = S3Endpoint::at(format!("http://127.0.0.1:{}", free_loopback_port()));
    let sandbox = Sandbox::with_s3(S3Bucket::unchecked(closed, "hl-unreachable"));
    let table = sandbox.bucket().url("events");
    let file = sandbox.write_lines("good.ndjson", &lines::clicks(10));
    let output = sandbox.import(&table, &[&file], &[]);
    let error = assert_failure(&output, "import to an unreachable endpoint");
    assert!(error.contains("s3://hl-unreachable/events"), "{error}");
}

#[test]
fn a_missing_bucket_names_the_location_and_is_not_created() {
    let endpoint = S3Endpoint::shared();
    let bucket = endpoint.missing_bucket();
    let sandbox = Sandbox::with_s3(bucket.clone());
    let table = bucket.url("events");
    let file = sandbox.write_lines("good.ndjson", &lines::clicks(10));
    let output = sandbox.import(&table, &[&file], &[]);
    let error = assert_failure(&output, "import to a missing bucket");
    assert!(error.contains(&table), "{error}");
    let (status, body) = endpoint.http_request("GET", &format!("/{}", bucket.name()));
    assert_eq!(status, 404, "the bucket still does not exist: {body}");
}
