//! gen → import → sql on a local table: what was generated is what SQL counts.

use std::collections::BTreeMap;
use std::io::Read;

use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use crate::support::{Sandbox, as_u64, assert_failure, assert_success, json_lines, lines};

/// Events of the main data set, and its seed.
const EVENTS: u64 = 50_000;
const SEED: u64 = 7;

/// A query whose result has strings and integers, no floats (their text forms differ by
/// format) and no nulls.
const SUMMARY_QUERY: &str = "SELECT type, count(*) AS events, count(DISTINCT pageview_id) AS pageviews, \
     coalesce(sum(x), 0) AS x_sum, count(DISTINCT site) AS sites FROM events GROUP BY type ORDER BY type";

fn sum_counts(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let mut total = a.clone();
    for (name, count) in b {
        *total.entry(name.clone()).or_default() += count;
    }
    total
}

#[test]
fn imported_counts_equal_the_generated_counts() {
    let sandbox = Sandbox::new();
    let summary = sandbox.generate(EVENTS, SEED, "events.ndjson.gz");
    let generated = summary.events_per_type();
    assert_eq!(
        generated.values().sum::<u64>(),
        EVENTS,
        "per-type counts add up: {}",
        summary.0
    );
    assert!(
        generated.len() >= 5
            && generated.contains_key("pageview")
            && generated.contains_key("click"),
        "a realistic mix of types: {generated:?}"
    );

    let table = sandbox.local_table("events");
    let report = sandbox.import_ok(&table, &["events.ndjson.gz"], &[]);
    assert_eq!(report.version(), 0, "{}", report.0);
    assert!(report.created(), "{}", report.0);
    assert_eq!(report.events(), EVENTS, "{}", report.0);
    assert_eq!(report.events_per_type(), generated, "{}", report.0);
    assert_eq!(report.rejected(), Vec::new(), "{}", report.0);
    assert_eq!(as_u64(&report.0["lines"]), EVENTS, "{}", report.0);

    assert_eq!(sandbox.counts_per_type(&table), generated);
    assert_eq!(sandbox.count(&table), EVENTS);

    // The other counts of the summary, each from SQL.
    let facts = sandbox.sql_json(
        &table,
        "SELECT count(DISTINCT site) AS sites, count(DISTINCT visitor_id) AS visitors, \
         count(DISTINCT session_id) AS sessions, count(DISTINCT date) AS days, \
         sum(CASE WHEN type = 'pageview' THEN 1 ELSE 0 END) AS pageviews, \
         CAST(min(ts) AS BIGINT) / 1000 AS ts_min_ms, CAST(max(ts) AS BIGINT) / 1000 AS ts_max_ms \
         FROM events",
    );
    let facts = &facts[0];
    for name in ["sites", "visitors", "sessions", "days", "pageviews"] {
        assert_eq!(
            as_u64(&facts[name]),
            summary.count(name),
            "{name}: {facts} vs {}",
            summary.0
        );
    }
    for name in ["ts_min_ms", "ts_max_ms"] {
        assert_eq!(
            facts[name], summary.0[name],
            "{name}: {facts} vs {}",
            summary.0
        );
    }
    assert_eq!(generated["pageview"], summary.count("pageviews"));
}

#[test]
fn gen_is_deterministic_and_gzip_holds_the_same_lines() {
    let sandbox = Sandbox::new();
    let first = sandbox.generate(5_000, SEED, "first.ndjson");
    let again = sandbox.generate(5_000, SEED, "again.ndjson");
    let gzip = sandbox.generate(5_000, SEED, "again.ndjson.gz");
    sandbox.generate(5_000, SEED + 1, "other.ndjson");
    assert_eq!(first.0, again.0, "same seed, same summary");
    assert_eq!(
        first.0, gzip.0,
        "the output format does not change the summary"
    );

    let read = |name: &str| std::fs::read(sandbox.file(name)).expect("gen wrote the file");
    let plain = read("first.ndjson");
    assert_eq!(plain, read("again.ndjson"), "same seed, same bytes");
    assert_ne!(plain, read("other.ndjson"), "another seed, other events");
    let compressed = read("again.ndjson.gz");
    assert_eq!(&compressed[..2], &[0x1f, 0x8b], "a .gz name gives gzip");
    let mut decompressed = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed.as_slice())
        .read_to_end(&mut decompressed)
        .expect("valid gzip");
    assert_eq!(decompressed, plain);
    let lines = plain
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .count();
    assert_eq!(lines, 5_000);
}

#[test]
fn a_pinned_version_reads_what_that_import_committed() {
    let sandbox = Sandbox::new();
    let first = sandbox.generate(EVENTS, SEED, "first.ndjson");
    let second = sandbox.generate(3_000, SEED + 1, "second.ndjson.gz");
    let table = sandbox.local_table("events");

    let report = sandbox.import_ok(&table, &["first.ndjson"], &[]);
    assert_eq!((report.version(), report.created()), (0, true));
    let report = sandbox.import_ok(&table, &["second.ndjson.gz"], &[]);
    assert_eq!(
        (report.version(), report.created()),
        (1, false),
        "{}",
        report.0
    );
    assert_eq!(report.events(), 3_000);

    let both = sum_counts(&first.events_per_type(), &second.events_per_type());
    assert_eq!(sandbox.counts_per_type(&table), both);
    assert_eq!(sandbox.count(&table), EVENTS + 3_000);
    assert_eq!(
        sandbox.counts_per_type_at(&table, Some(0)),
        first.events_per_type()
    );
    assert_eq!(sandbox.counts_per_type_at(&table, Some(1)), both);

    // The second import overlapped the first one's files in every partition it wrote, so the
    // import compacted those partitions after its commit: new versions, the same rows.
    let compaction = &report.0["compaction"];
    let compacted = compaction["partitions_compacted"].as_u64().unwrap();
    assert!(compacted > 0, "{}", report.0);
    let latest = compaction["version"].as_i64().unwrap();
    assert_eq!(
        latest as u64,
        1 + compacted,
        "one commit per partition: {}",
        report.0
    );
    assert_eq!(sandbox.counts_per_type_at(&table, Some(latest)), both);

    let past = (latest + 1).to_string();
    let output = sandbox.run(["sql", "--table", &table, "--version", &past, "SELECT 1"]);
    let error = assert_failure(&output, "sql --version past the latest");
    assert!(error.contains(&format!("has no version {past}")), "{error}");
}

#[test]
fn a_pinned_version_is_read_from_its_checkpoint_once_the_older_log_is_gone() {
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("events");
    // 50 commits of 10 clicks: versions 0..=49, the checkpoint after the 50th (version 49).
    for commit in 0..50u64 {
        let clicks: Vec<Vec<u8>> = (commit * 10..commit * 10 + 10)
            .map(|n| lines::click("a.example", n))
            .collect();
        let input = sandbox.write_lines(&format!("clicks-{commit}.ndjson"), &clicks);
        sandbox.import_ok(&table, &[&input], &["--no-compact"]);
    }
    let log = std::path::Path::new(&table).join("_delta_log");
    assert!(log.join(format!("{:020}.checkpoint.parquet", 49)).is_file());
    sandbox.import_ok(
        &table,
        &[&sandbox.write_lines("last.ndjson", &lines::clicks(10))],
        &["--no-compact"],
    );
    // What deltalake's expired-log cleanup deletes: the commits the checkpoint covers.
    for version in 0..49 {
        std::fs::remove_file(log.join(format!("{version:020}.json"))).unwrap();
    }

    let count_at = |version| {
        let rows = sandbox.sql_json_at(&table, Some(version), "SELECT count(*) AS n FROM events");
        as_u64(&rows[0]["n"])
    };
    assert_eq!(count_at(49), 500);
    assert_eq!(count_at(50), 510);
    assert_eq!(sandbox.count(&table), 510);
    let output = sandbox.run(["sql", "--table", &table, "--version", "20", "SELECT 1"]);
    assert_failure(&output, "sql --version of a commit no longer in the log");
    let output = sandbox.run(["sql", "--table", &table, "--version", "51", "SELECT 1"]);
    let error = assert_failure(&output, "sql --version past the latest");
    assert!(
        error.contains("has no version 51 (its latest is 50)"),
        "{error}"
    );
}

#[test]
fn csv_json_and_parquet_outputs_agree() {
    let sandbox = Sandbox::new();
    let summary = sandbox.generate(20_000, SEED, "events.ndjson");
    let table = sandbox.local_table("events");
    sandbox.import_ok(&table, &["events.ndjson"], &[]);

    let json = sandbox.sql_json(&table, SUMMARY_QUERY);
    let generated = summary.events_per_type();
    let json_counts: BTreeMap<String, u64> = json
        .iter()
        .map(|row| {
            (
                row["type"].as_str().expect("type").to_owned(),
                as_u64(&row["events"]),
            )
        })
        .collect();
    assert_eq!(json_counts, generated);

    let csv = sandbox.run(["sql", "--table", &table, "--format", "csv", SUMMARY_QUERY]);
    assert_success(&csv, "sql --format csv");
    let csv = String::from_utf8(csv.stdout).expect("CSV is UTF-8");
    let mut csv_lines = csv.lines();
    assert_eq!(
        csv_lines.next(),
        Some("type,events,pageviews,x_sum,sites"),
        "{csv}"
    );
    let csv_rows: Vec<Vec<String>> = csv_lines
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect();
    let json_as_text: Vec<Vec<String>> = json
        .iter()
        .map(|row| {
            ["type", "events", "pageviews", "x_sum", "sites"]
                .iter()
                .map(|column| match &row[*column] {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    assert_eq!(csv_rows, json_as_text);

    let output = sandbox.run([
        "sql",
        "--table",
        &table,
        "--format",
        "parquet",
        "--output",
        "result.parquet",
        SUMMARY_QUERY,
    ]);
    assert_success(&output, "sql --format parquet");
    assert!(output.stdout.is_empty(), "the result went to the file");
    assert_eq!(read_parquet_as_json(&sandbox.file("result.parquet")), json);

    let output = sandbox.run([
        "sql",
        "--table",
        &table,
        "--format",
        "json",
        "-o",
        "result.json",
        SUMMARY_QUERY,
    ]);
    assert_success(&output, "sql --format json --output");
    assert_eq!(
        json_lines(&std::fs::read(sandbox.file("result.json")).expect("written")),
        json
    );

    let output = sandbox.run([
        "sql",
        "--table",
        &table,
        "--format",
        "parquet",
        SUMMARY_QUERY,
    ]);
    let error = assert_failure(&output, "sql --format parquet without --output");
    assert!(error.contains("--output"), "{error}");
}

#[test]
fn sql_on_a_missing_table_says_to_import_first() {
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("nothing-here");
    let output = sandbox.run(["sql", "--table", &table, "SELECT count(*) FROM events"]);
    let error = assert_failure(&output, "sql on a missing table");
    assert!(
        error.contains("no table at") && error.contains("nothing-here"),
        "{error}"
    );
    assert!(
        !sandbox.file("nothing-here").exists(),
        "reading creates nothing"
    );
}

/// A Parquet file's rows as JSON objects, written by the same Arrow JSON writer as
/// `--format json` so that the two compare value for value.
fn read_parquet_as_json(path: &std::path::Path) -> Vec<Value> {
    let file = std::fs::File::open(path).expect("the Parquet output exists");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("a valid Parquet file")
        .build()
        .expect("a reader");
    let mut writer = LineDelimitedWriter::new(Vec::new());
    for batch in reader {
        writer
            .write(&batch.expect("a readable batch"))
            .expect("JSON encoding");
    }
    writer.finish().expect("JSON encoding");
    json_lines(&writer.into_inner())
}

#[test]
fn stdin_input_and_the_default_table_locations() {
    let sandbox = Sandbox::new();
    let summary = sandbox.generate(2_000, SEED, "events.ndjson.gz");

    // `-` reads standard input (gzip detected from the bytes); without --table,
    // HEATLAKE_TABLE nor HEATLAKE_HOME the table is ./heatlake-data/events under the working
    // directory.
    let input = std::fs::File::open(sandbox.file("events.ndjson.gz")).expect("generated");
    let output = sandbox
        .command()
        .env_remove("HEATLAKE_HOME")
        .args(["import", "--json", "-"])
        .stdin(input)
        .output()
        .expect("the binary runs");
    assert_success(&output, "import - (stdin)");
    let default_table = sandbox.local_table("heatlake-data/events");
    assert!(
        sandbox.file("heatlake-data/events/_delta_log").is_dir(),
        "the default table is under the working directory"
    );
    assert_eq!(
        sandbox.counts_per_type(&default_table),
        summary.events_per_type()
    );

    let env_table = sandbox.local_table("from-env");
    let output = sandbox
        .command()
        .env("HEATLAKE_TABLE", &env_table)
        .args(["import", "events.ndjson.gz"])
        .output()
        .expect("the binary runs");
    assert_success(&output, "import into $HEATLAKE_TABLE");
    let output = sandbox
        .command()
        .env("HEATLAKE_TABLE", &env_table)
        .args(["sql", "--format", "csv", "SELECT count(*) AS n FROM events"])
        .output()
        .expect("the binary runs");
    assert_success(&output, "sql on $HEATLAKE_TABLE");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "n\n2000\n");
    assert_eq!(
        sandbox.count(&default_table),
        2_000,
        "the default table is untouched"
    );
}

/// With `HEATLAKE_HOME` set and no `--table`, every command reads and writes `<home>/events`:
/// `import` wrote there while `sql` read ./heatlake-data/events.
#[test]
fn import_and_sql_share_the_default_table_of_heatlake_home() {
    let sandbox = Sandbox::new();
    let summary = sandbox.generate(1_000, SEED, "events.ndjson");
    assert_success(
        &sandbox.run(["import", "events.ndjson"]),
        "import into the home's table",
    );
    assert!(
        sandbox.file("home/events/_delta_log").is_dir(),
        "the table is in HEATLAKE_HOME"
    );
    let output = sandbox.run([
        "sql",
        "--format",
        "json",
        "SELECT count(*) AS n FROM events",
    ]);
    assert_success(&output, "sql over the home's table");
    let rows = json_lines(&output.stdout);
    assert_eq!(as_u64(&rows[0]["n"]), summary.events(), "{rows:?}");
    // The analytics commands read it too: the page is unknown, the table is found.
    let output = sandbox.run([
        "heatmap",
        "--site",
        "none.example",
        "--page",
        "none.example/",
    ]);
    let line = assert_failure(&output, "heatmap over the home's table");
    assert!(line.contains("unknown page"), "{line}");
    assert!(
        !sandbox.file("heatlake-data").exists(),
        "nothing under the working directory's default"
    );
}

/// A reader that closes standard output early (`heatlake sql ... | head`) is no failure, in
/// every format: CSV's encoder reports the closed pipe only as text.
#[test]
fn a_closed_stdout_ends_sql_quietly() {
    use std::io::Read as _;
    use std::process::Stdio;

    let sandbox = Sandbox::new();
    sandbox.generate(5_000, SEED, "events.ndjson");
    let table = sandbox.local_table("events");
    sandbox.import_ok(&table, &["events.ndjson"], &[]);
    for format in ["csv", "json", "table"] {
        let mut child = sandbox
            .command()
            .args(["sql", "--table", &table, "--format", format])
            .arg("SELECT * FROM events")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 16];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "--format {format}: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Without a query, `heatlake sql` is a shell: statements may span lines and end with `;`,
/// `\d` lists the columns, `\q` quits, and the history is kept in the data directory.
#[test]
fn the_shell_runs_statements_from_its_input() {
    use std::io::Write;
    use std::process::Stdio;

    let sandbox = Sandbox::new();
    sandbox.generate(2_000, 3, "events.ndjson");
    let table = sandbox.local_table("events");
    sandbox.import_ok(&table, &["events.ndjson"], &[]);
    let mut child = sandbox
        .command()
        .args(["sql", "--table", &table])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"SELECT count(*)\n  AS n FROM events;\n\\d\nSELECT nonsense FROM events;\n\\q\n",
        )
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stdout.contains("| 2000 |"), "{stdout}");
    assert!(stdout.contains("| pageview_id  | Int64"), "{stdout}");
    // A bad statement is reported and the shell goes on to `\q`.
    assert!(
        stderr.contains("error: ") && stderr.contains("nonsense"),
        "{stderr}"
    );
    let history = std::fs::read_to_string(sandbox.file("home").join("sql-history")).unwrap();
    assert!(history.contains("AS n FROM events;"), "{history}");
}
