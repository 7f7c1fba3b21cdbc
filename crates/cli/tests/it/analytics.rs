//! The analytics commands from the command line: answers, pictures, the report, and errors that
//! name the bad parameter.

use crate::support::{Sandbox, assert_failure, assert_success, json_lines, lines};

/// A sandbox with a table of clicks on `a.example/pricing` (version 0).
fn clicks_table() -> (Sandbox, String) {
    let sandbox = Sandbox::new();
    let mut events = vec![
        br#"{"v":1,"site":"a.example","type":"pageview","ts":1764400000000,"visitor_id":"visitor-0","session_id":"session-0","pageview_id":"pv-0","seq":0,"url":"https://a.example/pricing","viewport_w":1280,"viewport_h":800,"doc_h":1600}"#.to_vec(),
    ];
    events.extend(lines::clicks(3));
    let input = sandbox.write_lines("clicks.ndjson", &events);
    let table = sandbox.local_table("events");
    sandbox.import_ok(&table, &[&input], &[]);
    (sandbox, table)
}

#[test]
fn heatmap_scroll_and_ctr_answer_in_json() {
    let (sandbox, table) = clicks_table();
    let page = [
        "--site",
        "a.example",
        "--page",
        "a.example/pricing",
        "--table",
        &table,
    ];
    // Clicks at (10,20), (11,21), (12,22): one 16-px cell (0,1).
    let output = sandbox.run([&["heatmap", "--format", "json"][..], &page].concat());
    assert_success(&output, "heatmap");
    let rows = json_lines(&output.stdout);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0]["cell_x"].as_i64(),
            rows[0]["cell_y"].as_i64(),
            rows[0]["events"].as_i64()
        ),
        (Some(0), Some(1), Some(3))
    );

    let output = sandbox.run(
        [
            &["scroll", "--summary", "--format", "json", "--version", "0"][..],
            &page,
        ]
        .concat(),
    );
    assert_success(&output, "scroll");
    let rows = json_lines(&output.stdout);
    assert_eq!(rows[0]["pageviews"].as_i64(), Some(1));
    assert_eq!(rows[0]["avg_depth"].as_f64(), Some(0.5));

    let output = sandbox.run([&["ctr", "--format", "csv"][..], &page].concat());
    assert_success(&output, "ctr");
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "element,clicks,pageviews_clicked,pageviews,ctr,exposed,attractiveness",
            "main > a.buy,1,1,1,1.0,1,1.0"
        ]
    );
}

#[test]
fn png_and_report_files_are_written() {
    let (sandbox, table) = clicks_table();
    let page = [
        "--site",
        "a.example",
        "--page",
        "a.example/pricing",
        "--table",
        &table,
    ];
    let png = sandbox.file("heat.png");
    let output = sandbox.run([&["heatmap", "--png", png.to_str().unwrap()][..], &page].concat());
    assert_success(&output, "heatmap --png");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let (width, height, _) = heatlake_query::render::png::decode_rgba(&bytes).unwrap();
    // Scale 40 px + one 16-px cell column; two cell rows + the 44-px legend.
    assert_eq!((width, height), (56, 76));

    let report = sandbox.file("report.html");
    let output = sandbox.run(
        [
            &[
                "report",
                "--out",
                report.to_str().unwrap(),
                "--device",
                "desktop",
            ][..],
            &page,
        ]
        .concat(),
    );
    assert_success(&output, "report");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<tr><th>table version</th><td>0</td></tr>"));
    assert!(html.contains("<tr><th>device</th><td>desktop</td></tr>"));
    assert_eq!(html.matches("data:image/png;base64,").count(), 2);
}

#[test]
fn bad_input_names_the_parameter() {
    let (sandbox, table) = clicks_table();
    let page = [
        "--site",
        "a.example",
        "--page",
        "a.example/pricing",
        "--table",
        &table,
    ];
    let cases: [(&[&str], &str); 6] = [
        (
            &["heatmap", "--bin-px", "0"],
            "heatlake: invalid bin_px: must be 1..=4096, got 0",
        ),
        (
            &["heatmap", "--predicate", "x > 1) OR (1 = 1"],
            "heatlake: invalid predicate:",
        ),
        (
            &["scroll", "--from", "last week"],
            "heatlake: invalid from:",
        ),
        (&["heatmap", "--version", "9"], "has no version 9"),
        (&["ctr", "--limit", "0"], "heatlake: invalid limit:"),
        (
            &["funnel", "--step", "sql:type = "],
            "heatlake: invalid steps:",
        ),
    ];
    for (args, expected) in cases {
        let mut all: Vec<&str> = args.to_vec();
        if args[0] == "funnel" {
            all.extend(["--site", "a.example", "--table", &table]);
        } else {
            all.extend(page);
        }
        let message = assert_failure(&sandbox.run(&all), &args.join(" "));
        assert!(message.contains(expected), "{args:?}: {message}");
    }
    let output = sandbox.run([
        "heatmap",
        "--site",
        "a.example",
        "--page",
        "a.example/nope",
        "--table",
        &table,
    ]);
    let message = assert_failure(&output, "unknown page");
    assert_eq!(
        message,
        "heatlake: unknown page: site \"a.example\" has no events on path \"a.example/nope\""
    );
}
