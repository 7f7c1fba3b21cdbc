//! The attack corpus (`tests/attack/`, issue 11) against the real binary.
//!
//! Every hostile string of `tests/attack/evasions.jsonl` goes in through every way a value
//! reaches the collector: each free-text field of `POST /v1/events`, the parameters of
//! `GET /v1/pixel.gif`, what `POST /v1/rrweb` maps (the Meta `href`, a link's `href`, an
//! element's `id` and `class`, a typed value), fields whose refusal quotes them (`site`, `type`,
//! `path`, an unknown field name, the batch id) and `heatlake import`. After a graceful stop the
//! test looks for each case's canary, in a normalised form (see [`normalise`]), everywhere a
//! value could have been kept: each string of each stored row, the Delta log, the raw bytes of
//! every file the collector and the import wrote, every HTTP answer and the processes' output.
//!
//! A second test floods the collector with hostile bodies of every kind at once and bounds its
//! peak resident memory (`VmHWM`); `tests/attack/README.md` says where the bound comes from.

mod corpus;
mod memory;
mod normalise;
mod probes;
mod search;
mod server;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Instant;

use crate::support::{Sandbox, assert_success};

use corpus::*;
use probes::*;
use search::*;
use server::*;

/// Ways that store any string they are given: every string case must reach the tables
/// through each of them (collected and imported), scrubbed, not refused.
const WAYS_THAT_STORE: [&str; 7] = [
    "events.url(in url)",
    "events.referrer(in url)",
    "events.link(in url)",
    "events.title",
    "events.text",
    "events.value",
    "events.props value",
];

/// Log filter of the collector under attack: Heatlake's own debug lines too, since a log line
/// that quotes a value is a place it can leak.
const LOG_FILTER: &str =
    "info,heatlake=debug,heatlake_server=debug,heatlake_ingest=debug,heatlake_model=debug";

#[test]
fn no_canary_survives_any_way_in() {
    let started = Instant::now();
    let cases = cases();
    let ips = client_ips();
    let sandbox = Sandbox::new();
    let data_dir = sandbox.file("data");
    let config = write_config(&sandbox, &data_dir, "");
    let table = data_dir.join("events");
    let imported = data_dir.join("imported");
    let Plan {
        registry,
        requests,
        import_lines,
    } = plan(&cases, &ips);
    let sent_requests = requests.len();

    let server = Server::start(&sandbox, &config, LOG_FILTER);
    let exchanges = send_all(&server.address, requests);
    assert!(
        exchanges.failures.is_empty(),
        "requests without an answer:\n{}",
        exchanges.failures.join("\n")
    );
    let server_output = server.stop();
    let import_output = import(&sandbox, &imported, &import_lines);

    let events_rows = sandbox.sql_json(table.to_str().unwrap(), "SELECT * FROM events");
    let imported_rows = sandbox.sql_json(imported.to_str().unwrap(), "SELECT * FROM events");
    let evidence = Evidence {
        events_rows: &events_rows,
        imported_rows: &imported_rows,
        data_dir: &data_dir,
        answers: &exchanges.answers,
        server_output: &server_output,
        import_output: &import_output,
    };
    let haystacks = haystacks(&evidence, &registry, &cases, &ips);
    let findings = search(&haystacks, &cases, &registry);
    let ip_findings = client_ip_findings(
        [("events", &events_rows), ("imported", &imported_rows)],
        &registry,
        &cases,
        &ips,
    );
    let stored_per_way = stored_per_way(&[&events_rows, &imported_rows], &registry);

    let string_cases = cases.iter().filter(|case| case.text.is_some()).count();
    eprintln!(
        "attack corpus: {} cases, {} client IPs, {sent_requests} requests ({} with the parts \
         of refused batches), {} rows collected, {} imported, {} haystacks, {:.1} s",
        cases.len(),
        ips.len(),
        exchanges.requests,
        events_rows.len(),
        imported_rows.len(),
        haystacks.len(),
        started.elapsed().as_secs_f64()
    );
    report(&stored_per_way, &findings, &ip_findings);
    for way in WAYS_THAT_STORE {
        assert_eq!(
            stored_per_way.get(way).copied().unwrap_or(0),
            2 * string_cases,
            "rows stored through {way}"
        );
    }
    assert!(
        findings.is_empty() && ip_findings.is_empty(),
        "{} canaries and {} client IPv4 addresses survived; per case:\n{}",
        findings.len(),
        ip_findings.len(),
        summarise(&findings)
    );
}

/// `heatlake import` of the probes' lines, every opt-in on, bad lines reported and skipped.
fn import(sandbox: &Sandbox, table: &Path, lines: &[Vec<u8>]) -> Output {
    let file = sandbox.write_lines("attack.ndjson", lines);
    let output = sandbox.run([
        "import",
        "--table",
        table.to_str().expect("UTF-8"),
        "--json",
        "--max-errors",
        "1000000",
        "--keep-text",
        "--value-field",
        VALUE_FIELD,
        "--ip",
        "truncate",
        &file,
    ]);
    assert_success(&output, "heatlake import of the corpus");
    output
}

/// Prints what was stored per way and every surviving canary (the evidence of a failure).
fn report(stored_per_way: &BTreeMap<String, usize>, findings: &[Finding], ip_findings: &[String]) {
    eprintln!("rows stored per way (collected + imported):");
    for (way, count) in stored_per_way {
        eprintln!("    {way}: {count}");
    }
    eprintln!("surviving canaries per case:\n{}", summarise(findings));
    for finding in findings {
        eprintln!(
            "SURVIVED {} via {} in {}: {}",
            finding.case, finding.way, finding.place, finding.excerpt
        );
    }
    for finding in ip_findings {
        eprintln!("IP PREFIX {finding}");
    }
}
