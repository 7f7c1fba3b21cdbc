//! Load generator for the collector benchmark (`benches/collector.sh`).
//!
//! ```text
//! loadgen config INPUT.ndjson CONFIG.toml TABLE DATA_DIR    # a collector config with a key per site
//! loadgen send INPUT.ndjson ADDRESS [--connections N] [--batch-events N] [--rate EVENTS_PER_S]
//! ```
//! `send` reads the NDJSON events, groups them per site into request bodies of `batch-events`
//! events (built before the clock starts), and posts them over `connections` keep-alive
//! HTTP/1.1 connections, each body once. With `--rate` it paces requests to that many events per
//! second (to measure latency below the peak). It prints one JSON line: events, seconds,
//! events/s at acknowledgement, and ack latency percentiles.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpStream;

/// Pause before sending a body again after a 429 or 503.
const BACKPRESSURE_PAUSE: Duration = Duration::from_millis(100);

/// The write key of `site` in the generated config.
fn write_key(site: &str) -> String {
    format!("hlw_bench_{}", site.replace(['.', '-'], "_"))
}

/// Each line's site, read without parsing the whole event.
fn site_of(line: &str) -> Option<&str> {
    let start = line.find(r#""site":""#)? + 8;
    let end = start + line[start..].find('"')?;
    Some(&line[start..end])
}

fn read_lines(input: &str) -> Vec<String> {
    let file = std::fs::File::open(input).unwrap_or_else(|error| panic!("{input}: {error}"));
    BufReader::with_capacity(1 << 20, file)
        .lines()
        .map(|line| line.expect("the input is readable"))
        .filter(|line| !line.trim().is_empty())
        .collect()
}

fn write_config(input: &str, config: &str, table: &str, data_dir: &str) {
    let mut sites: Vec<String> = read_lines(input)
        .iter()
        .filter_map(|line| site_of(line).map(str::to_owned))
        .collect();
    sites.sort();
    sites.dedup();
    let mut text = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"{data_dir}\"\ntable = \"{table}\"\nwal_dir = \"{data_dir}/wal\"\n\n[limits]\nbody_bytes_max = 4_194_304\nbody_decoded_bytes_max = 4_194_304\nevents_per_request_max = 10_000\n# a replay of generated events, older than the default accepted window\nts_past_max_ms = 3_155_760_000_000\n"
    );
    for site in sites {
        text.push_str(&format!(
            "\n[[sites]]\nid = \"{site}\"\nwrite_key = \"{}\"\nallowed_origins = [\"*\"]\nrate_events_per_second = 100_000_000\nrate_burst_events = 100_000_000\n",
            write_key(&site)
        ));
    }
    std::fs::write(config, text).expect("the config can be written");
}

/// One prepared request: its bytes and its number of events.
struct Request {
    bytes: Vec<u8>,
    events: usize,
}

fn prepare(input: &str, address: &str, batch_events: usize) -> Vec<Request> {
    let mut by_site: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut requests = Vec::new();
    let mut finish = |site: &str, lines: &mut Vec<String>| {
        let body = lines.join("\n");
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nHost: {address}\r\nX-Heatlake-Key: {}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
            write_key(site),
            body.len()
        );
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        requests.push(Request {
            bytes,
            events: lines.len(),
        });
        lines.clear();
    };
    for line in read_lines(input) {
        let site = site_of(&line)
            .expect("every event names its site")
            .to_owned();
        let lines = by_site.entry(site.clone()).or_default();
        lines.push(line);
        if lines.len() >= batch_events {
            finish(&site, lines);
        }
    }
    for (site, mut lines) in by_site {
        if !lines.is_empty() {
            finish(&site, &mut lines);
        }
    }
    requests
}

/// Sends one request on a keep-alive connection and reads the answer; returns the status.
async fn exchange(stream: &mut AsyncBufReader<TcpStream>, request: &[u8]) -> std::io::Result<u16> {
    stream.get_mut().write_all(request).await?;
    let mut status_line = String::new();
    stream.read_line(&mut status_line).await?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut content_length = 0usize;
    loop {
        let mut header = String::new();
        stream.read_line(&mut header).await?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; content_length];
    stream.read_exact(&mut body).await?;
    if status != 200 && status != 429 && status != 503 {
        eprintln!(
            "loadgen: status {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(status)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

async fn send(
    input: &str,
    address: &str,
    connections: usize,
    batch_events: usize,
    rate: Option<f64>,
) {
    let requests = Arc::new(prepare(input, address, batch_events));
    let events: usize = requests.iter().map(|request| request.events).sum();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let requests = Arc::clone(&requests);
        let next = Arc::clone(&next);
        let address = address.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut stream = AsyncBufReader::new(
                TcpStream::connect(&address)
                    .await
                    .expect("the collector accepts"),
            );
            stream.get_ref().set_nodelay(true).expect("nodelay");
            let mut latencies = Vec::new();
            let mut failed = 0u64;
            let mut pushed_back = 0u64;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(index) else {
                    break;
                };
                if let Some(rate) = rate {
                    // Request `index` is due when the events before it fit the rate.
                    let before: f64 = index as f64 * request.events as f64;
                    let due = started + Duration::from_secs_f64(before / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let sent = Instant::now();
                // 429 and 503 are backpressure: wait and send the same body again, as a
                // tracker would; the time until the 200 counts as its latency.
                loop {
                    match exchange(&mut stream, &request.bytes).await {
                        Ok(200) => {
                            latencies.push(sent.elapsed());
                            break;
                        }
                        Ok(429 | 503) => {
                            pushed_back += 1;
                            tokio::time::sleep(BACKPRESSURE_PAUSE).await;
                        }
                        Ok(_) => {
                            failed += 1;
                            break;
                        }
                        Err(error) => panic!("loadgen: connection failed: {error}"),
                    }
                }
            }
            (latencies, failed, pushed_back)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    let mut pushed_back = 0;
    for task in tasks {
        let (mut own, own_failed, own_pushed_back) =
            task.await.expect("a sender task does not panic");
        latencies.append(&mut own);
        failed += own_failed;
        pushed_back += own_pushed_back;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "events": events,
            "requests": requests.len(),
            "failed_requests": failed,
            "pushed_back_answers": pushed_back,
            "connections": connections,
            "batch_events": batch_events,
            "rate_target": rate,
            "seconds": seconds,
            "events_per_second": events as f64 / seconds,
            "ack_ms_p50": percentile(&latencies, 0.50),
            "ack_ms_p99": percentile(&latencies, 0.99),
            "ack_ms_max": percentile(&latencies, 1.0),
        })
    );
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .map(|value| {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("config") if args.len() == 5 => write_config(&args[1], &args[2], &args[3], &args[4]),
        Some("send") if args.len() >= 3 => {
            let connections = flag(&args, "--connections").unwrap_or(8);
            let batch_events = flag(&args, "--batch-events").unwrap_or(1000);
            let rate = flag(&args, "--rate");
            send(&args[1], &args[2], connections, batch_events, rate).await;
        }
        _ => {
            eprintln!(
                "usage: loadgen config INPUT CONFIG TABLE DATA_DIR | loadgen send INPUT ADDRESS [--connections N] [--batch-events N] [--rate EVENTS_PER_S]"
            );
            std::process::exit(2);
        }
    }
}
