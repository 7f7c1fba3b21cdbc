//! `heatlake serve` as a real process: events posted over TCP, SIGTERM, then the table holds
//! exactly the acknowledged events.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Sandbox, as_u64, http_status_and_body};

/// Longest the collector may take to replay its log and answer `/readyz`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest the collector may take to flush, commit and exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);

/// One HTTP/1.1 exchange on a fresh connection: the status and the body.
fn http(address: &str, request_head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("the collector accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "{request_head}\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    http_status_and_body(&response)
}

/// Starts `heatlake serve` on a free port; returns the process and its address.
fn start(sandbox: &Sandbox, table: &str) -> (Child, String) {
    let mut child = sandbox
        .command()
        .args(["serve", "--listen", "127.0.0.1:0", "--table", table])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("heatlake serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("heatlake serve prints its address")
            .unwrap();
        if let Some(url) = line.strip_prefix("heatlake collector listening on http://") {
            break url.trim().to_owned();
        }
    };
    // Keep draining standard output so the collector never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let started = Instant::now();
    while http(&address, "GET /readyz HTTP/1.1", b"").0 != 200 {
        assert!(
            started.elapsed() < READY_TIMEOUT,
            "the collector never got ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, address)
}

/// A click of the dev site, stamped now (the collector refuses events older than a week).
fn event(seq: u64) -> String {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    format!(
        r#"{{"v":1,"site":"dev","type":"click","ts":{ts},"pageview_id":"pv-tcp","seq":{seq},"path":"localhost/p","x":10,"y":20}}"#
    )
}

#[test]
fn acknowledged_events_are_in_the_table_exactly_once_after_sigterm() {
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("events");
    let (mut child, address) = start(&sandbox, &table);
    let key = std::fs::read_to_string(sandbox.file("home/dev-write-key")).unwrap();
    let post = |batch: &str, body: String| {
        http(
            &address,
            &format!(
                "POST /v1/events HTTP/1.1\r\nX-Heatlake-Key: {}\r\nX-Heatlake-Batch: {batch}",
                key.trim()
            ),
            body.as_bytes(),
        )
    };
    let first: String = (0..3).map(|seq| event(seq) + "\n").collect();
    assert_eq!(
        post("b-1", first.clone()),
        (200, r#"{"accepted":3}"#.to_owned())
    );
    let second: String = (3..5).map(|seq| event(seq) + "\n").collect();
    assert_eq!(post("b-2", second), (200, r#"{"accepted":2}"#.to_owned()));
    // A retry of the first batch is acknowledged and not stored again.
    assert_eq!(
        post("b-1", first),
        (200, r#"{"accepted":3,"duplicate":true}"#.to_owned())
    );
    // A request with one invalid event stores nothing.
    let (status, _) = post("b-3", format!("{}\n{{\"v\":1}}\n", event(99)));
    assert_eq!(status, 400);

    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < STOP_TIMEOUT,
            "the collector did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "heatlake serve exited with {status}");

    let rows = sandbox.sql_json(&table, "SELECT seq FROM events ORDER BY seq");
    let seqs: Vec<u64> = rows.iter().map(|row| as_u64(&row["seq"])).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
}

#[test]
fn the_development_read_key_reads_the_dev_sites_committed_events_over_http() {
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("events");
    let lines: Vec<Vec<u8>> = (0..4).map(|seq| event(seq).into_bytes()).collect();
    let input = sandbox.write_lines("dev.ndjson", &lines);
    sandbox.import_ok(&table, &[&input], &[]);
    let (mut child, address) = start(&sandbox, &table);
    let read_key = std::fs::read_to_string(sandbox.file("home/dev-read-key")).unwrap();
    let read_key = read_key.trim();
    assert!(read_key.starts_with("hlr_dev_"), "{read_key}");
    let write_key = std::fs::read_to_string(sandbox.file("home/dev-write-key")).unwrap();
    let sql = |key: &str, query: &str| {
        http(
            &address,
            &format!("POST /v1/sql HTTP/1.1\r\nAuthorization: Bearer {key}"),
            query.as_bytes(),
        )
    };
    assert_eq!(
        sql(read_key, "SELECT count(*) AS n FROM events"),
        (
            200,
            r#"{"version":0,"columns":[{"name":"n","type":"Int64"}],"rows":[{"n":4}]}"#.to_owned()
                + "\n"
        )
    );
    let (status, body) = sql(write_key.trim(), "SELECT 1");
    assert_eq!(status, 401, "{body}");
    let (status, body) = http(
        &address,
        &format!(
            "GET /v1/heatmap?site=dev&page=localhost/p&format=csv HTTP/1.1\r\nX-Heatlake-Key: {read_key}"
        ),
        b"",
    );
    assert_eq!(
        (status, body.as_str()),
        (200, "fixed,cell_x,cell_y,events,visitors\nfalse,0,1,4,0\n")
    );
    let (status, body) = http(
        &address,
        &format!(
            "GET /v1/heatmap?site=shop.example&page=shop.example/ HTTP/1.1\r\nAuthorization: Bearer {read_key}"
        ),
        b"",
    );
    assert_eq!(status, 403, "{body}");
    child.kill().unwrap();
    child.wait().unwrap();
}
