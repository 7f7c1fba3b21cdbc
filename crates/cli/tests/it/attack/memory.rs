//! The collector under hostile load of every kind at once, and its peak resident memory.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::http_exchange;

use super::corpus::*;
use super::normalise::{percent_encode, shorten};
use super::probes::{element, rrweb_click, rrweb_meta, rrweb_snapshot};
use super::server::{Server, now_ms, write_config};
use crate::support::Sandbox;

/// Peak resident memory the collector may reach under [`hostile_load`], bytes. Measured
/// (tests/attack/README.md) and given a margin; docs/collector.md names it `memory_max`.
pub(super) const PEAK_RSS_BYTES_MAX: u64 = 1024 * 1024 * 1024;
/// Concurrent requests of each hostile kind.
pub(super) const CONCURRENT_PER_KIND: usize = 64;
/// Requests each of those senders makes.
pub(super) const ROUNDS_PER_SENDER: usize = 2;
/// Pixel requests each pixel sender makes (they are small).
pub(super) const PIXELS_PER_SENDER: usize = 50;

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip to memory");
    encoder.finish().expect("gzip to memory")
}

/// `[0,0,...,0]` of about `bytes` bytes.
pub(super) fn zeros_array(bytes: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(bytes + 2);
    body.push(b'[');
    while body.len() + 2 < bytes {
        body.extend_from_slice(b"0,");
    }
    body.extend_from_slice(b"0]");
    body
}

/// A FullSnapshot whose body has `children` empty `<div>`s, and a click on the last one.
pub(super) fn huge_snapshot_batch(children: u32, id: u64) -> Vec<u8> {
    let ts = now_ms();
    let divs: Vec<Value> = (0..children)
        .map(|n| element(10 + n, "div", json!({}), vec![]))
        .collect();
    json!({
        "site": SITE, "pageview_id": format!("flood-snapshot-{id}"), "offset": 0,
        "events": [rrweb_meta(ts, SAFE_URL), rrweb_snapshot(ts + 1, divs),
            rrweb_click(ts + 2, 10 + children - 1)],
    })
    .to_string()
    .into_bytes()
}

/// `VmHWM` or `VmRSS` of a process, bytes.
pub(super) fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("the collector's /proc status can be read");
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .expect("a size in kB");
    kib * 1024
}

/// One hostile request kind: a name, the request, and the statuses it may get.
pub(super) struct Hostile {
    pub(super) kind: &'static str,
    pub(super) method: &'static str,
    pub(super) target: String,
    pub(super) headers: Vec<(&'static str, &'static str)>,
    pub(super) body: Arc<Vec<u8>>,
    pub(super) allowed: &'static [u16],
    pub(super) per_sender: usize,
}

pub(super) fn hostile_load() -> Vec<Hostile> {
    let key_target = |route: &str| format!("{route}?key={WRITE_KEY}");
    let gzip_headers = vec![("Content-Encoding", "gzip")];
    // 1 GiB of zeros would be a body at the 1 MiB limit; 256 MiB makes the same point (it
    // inflates 32 times past body_decoded_bytes_max) in a quarter of the time.
    let zeros_bomb = Arc::new(gzip(&vec![0u8; 256 << 20]));
    let zeros_json_bomb = Arc::new(gzip(&zeros_array((8 << 20) - 1024)));
    let zeros_json_plain = Arc::new(zeros_array((1 << 20) - 64));
    let deep_nesting = Arc::new(vec![b'['; (1 << 20) - 64]);
    let deep_nesting_bomb = Arc::new(gzip(&vec![b'['; (8 << 20) - 1024]));
    let long_id = "i".repeat(1_000_000);
    let megabyte_id = Arc::new(
        json!({"site": SITE, "pageview_id": long_id, "offset": 0, "events": []})
            .to_string()
            .into_bytes(),
    );
    let megabyte_visitor = Arc::new(
        json!({"site": SITE, "pageview_id": "p", "visitor_id": long_id, "offset": 0,
            "events": [rrweb_meta(now_ms(), SAFE_URL)]})
        .to_string()
        .into_bytes(),
    );
    let snapshot = huge_snapshot_batch(100_000, 0);
    let snapshot_bomb = Arc::new(gzip(&snapshot));
    assert!(
        snapshot_bomb.len() < 1 << 20 && snapshot.len() < 8 << 20,
        "the snapshot must pass the body bounds: {} bytes gzip, {} plain",
        snapshot_bomb.len(),
        snapshot.len()
    );
    let long_query: String = (0..40)
        .map(|n| format!("&prop.p{n}={}", "x".repeat(200)))
        .collect();
    let refused: &[u16] = &[400, 413, 503];
    vec![
        Hostile {
            kind: "events gzip bomb (256 MiB of zeros)",
            method: "POST",
            target: key_target("/v1/events"),
            headers: gzip_headers.clone(),
            body: zeros_bomb.clone(),
            allowed: refused,
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "events gzip of [0,0,...] at 8 MiB",
            method: "POST",
            target: key_target("/v1/events"),
            headers: gzip_headers.clone(),
            body: zeros_json_bomb.clone(),
            allowed: refused,
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "events [0,0,...] at 1 MiB",
            method: "POST",
            target: key_target("/v1/events"),
            headers: vec![],
            body: zeros_json_plain,
            allowed: refused,
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "events [[[[... 1 MiB deep",
            method: "POST",
            target: key_target("/v1/events"),
            headers: vec![],
            body: deep_nesting.clone(),
            allowed: refused,
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "rrweb gzip bomb (256 MiB of zeros)",
            method: "POST",
            target: key_target("/v1/rrweb"),
            headers: gzip_headers.clone(),
            body: zeros_bomb,
            allowed: refused,
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "rrweb gzip of [0,0,...] at 8 MiB",
            method: "POST",
            target: key_target("/v1/rrweb"),
            headers: gzip_headers.clone(),
            body: zeros_json_bomb,
            allowed: refused,
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "rrweb gzip of [[[[... 8 MiB deep",
            method: "POST",
            target: key_target("/v1/rrweb"),
            headers: gzip_headers.clone(),
            body: deep_nesting_bomb,
            allowed: refused,
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "rrweb [[[[... 1 MiB deep",
            method: "POST",
            target: key_target("/v1/rrweb"),
            headers: vec![],
            body: deep_nesting,
            allowed: refused,
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "rrweb batch with a 1 MB pageview_id",
            method: "POST",
            target: key_target("/v1/rrweb"),
            headers: vec![],
            body: megabyte_id,
            allowed: refused,
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "rrweb batch with a 1 MB visitor_id",
            method: "POST",
            target: key_target("/v1/rrweb"),
            headers: vec![],
            body: megabyte_visitor,
            allowed: refused,
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "rrweb gzip FullSnapshot of 100,000 children + a click",
            method: "POST",
            target: key_target("/v1/rrweb"),
            headers: gzip_headers,
            body: snapshot_bomb,
            allowed: &[200, 400, 413, 503],
            per_sender: ROUNDS_PER_SENDER,
        },
        Hostile {
            kind: "pixel flood with 8 KiB queries",
            method: "GET",
            target: format!(
                "/v1/pixel.gif?key={WRITE_KEY}&url={}{long_query}",
                percent_encode(SAFE_URL)
            ),
            headers: vec![],
            body: Arc::new(Vec::new()),
            allowed: &[200, 431, 414, 400],
            per_sender: PIXELS_PER_SENDER,
        },
    ]
}

#[test]
fn hostile_bodies_of_every_kind_at_once_stay_under_the_memory_bound() {
    let started = Instant::now();
    let load = hostile_load();
    let prepared = started.elapsed();
    let sandbox = Sandbox::new();
    let data_dir = sandbox.file("data");
    let config = write_config(&sandbox, &data_dir, "");
    let server = Server::start(&sandbox, &config, "info");
    let pid = server.pid();
    let rss_at_start = proc_status_bytes(pid, "VmHWM");

    let address = server.address.clone();
    let statuses: Arc<Mutex<BTreeMap<(&'static str, String), usize>>> = Arc::default();
    let unexpected: Arc<Mutex<Vec<String>>> = Arc::default();
    let running = Arc::new(AtomicUsize::new(0));
    let load_started = Instant::now();
    let mut threads = Vec::new();
    for hostile in load {
        let hostile = Arc::new(hostile);
        for _ in 0..CONCURRENT_PER_KIND {
            let hostile = Arc::clone(&hostile);
            let address = address.clone();
            let statuses = Arc::clone(&statuses);
            let unexpected = Arc::clone(&unexpected);
            let running = Arc::clone(&running);
            running.fetch_add(1, Ordering::SeqCst);
            threads.push(std::thread::spawn(move || {
                for _ in 0..hostile.per_sender {
                    let answer = http_exchange(
                        &address,
                        hostile.method,
                        &hostile.target,
                        &hostile.headers,
                        &hostile.body,
                        REQUEST_TIMEOUT,
                    );
                    let outcome = match &answer {
                        Ok(answer) => answer.status.to_string(),
                        // A refusal while the body is still being sent can reset the
                        // connection before the answer is read.
                        Err(error) => format!("no answer ({:?})", error.kind()),
                    };
                    if let Ok(answer) = &answer
                        && !hostile.allowed.contains(&answer.status)
                    {
                        unexpected.lock().unwrap().push(format!(
                            "{}: {} {}",
                            hostile.kind,
                            answer.status,
                            shorten(&String::from_utf8_lossy(&answer.body), 300)
                        ));
                    }
                    *statuses
                        .lock()
                        .unwrap()
                        .entry((hostile.kind, outcome))
                        .or_default() += 1;
                }
                running.fetch_sub(1, Ordering::SeqCst);
            }));
        }
    }
    let mut rss_samples_max = 0;
    while running.load(Ordering::SeqCst) > 0 {
        rss_samples_max = rss_samples_max.max(proc_status_bytes(pid, "VmRSS"));
        std::thread::sleep(Duration::from_millis(20));
    }
    for thread in threads {
        thread.join().expect("a hostile sender ends");
    }
    let load_time = load_started.elapsed();
    let peak = proc_status_bytes(pid, "VmHWM");
    let healthy = server.get("/healthz").map(|answer| answer.status);
    let output = server.stop();

    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    eprintln!(
        "hostile load: prepared in {:.1} s, sent in {:.1} s; collector VmHWM {:.0} MiB at \
         start, {:.0} MiB peak (VmRSS sampled every 20 ms: max {:.0} MiB); bound {:.0} MiB",
        prepared.as_secs_f64(),
        load_time.as_secs_f64(),
        mib(rss_at_start),
        mib(peak),
        mib(rss_samples_max),
        mib(PEAK_RSS_BYTES_MAX)
    );
    for ((kind, outcome), count) in statuses.lock().unwrap().iter() {
        eprintln!("    {kind}: {outcome} x{count}");
    }
    assert_eq!(
        healthy,
        Some(200),
        "the collector answers /healthz after the load"
    );
    assert!(
        unexpected.lock().unwrap().is_empty(),
        "unexpected answers:\n{}\ncollector output:\n{}",
        unexpected.lock().unwrap().join("\n"),
        shorten(&output, 4000)
    );
    assert!(
        peak <= PEAK_RSS_BYTES_MAX,
        "the collector's peak RSS was {:.0} MiB, over the bound of {:.0} MiB",
        mib(peak),
        mib(PEAK_RSS_BYTES_MAX)
    );
}
