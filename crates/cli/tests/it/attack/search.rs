//! Looking for the canaries in what was stored, answered and logged.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::corpus::*;
use super::normalise::Haystack;
use super::probes::Registry;

/// Every file under `dir`, recursively.
pub(super) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A surviving canary.
#[derive(Debug)]
pub(super) struct Finding {
    pub(super) case: String,
    pub(super) way: String,
    pub(super) place: String,
    pub(super) excerpt: String,
}

/// Searches every haystack for every canary. A haystack that belongs to a probe names that
/// probe's case and way; any other (a log line, a file) names every case with that canary.
pub(super) fn search(haystacks: &[Haystack], cases: &[Case], registry: &Registry) -> Vec<Finding> {
    let mut findings = Vec::new();
    for haystack in haystacks {
        for case in cases {
            if !haystack.holds(case.kind, &case.canary) {
                continue;
            }
            let way = match haystack.probe {
                Some(id) => registry.probes[&id].way.clone(),
                None => "(not attributable)".to_owned(),
            };
            findings.push(Finding {
                case: case.name.clone(),
                way,
                place: haystack.place.clone(),
                excerpt: haystack.original.clone(),
            });
        }
    }
    findings
}

/// The haystacks of a table: each string of each row, attributed by `seq`.
pub(super) fn row_haystacks(
    table_name: &str,
    rows: &[Value],
    registry: &Registry,
    cases: &[Case],
    ips: &[ClientIp],
) -> Vec<Haystack> {
    let mut haystacks = Vec::new();
    for row in rows {
        let probe = row["seq"].as_i64().and_then(|seq| registry.of_seq(seq));
        let who = probe.map_or("(unknown probe)".to_owned(), |id| {
            registry.describe(id, cases, ips)
        });
        for (column, value) in row.as_object().expect("rows are objects") {
            if let Some(text) = value.as_str() {
                haystacks.push(Haystack::new(
                    format!("{table_name} row of [{who}], column {column}"),
                    probe,
                    text,
                ));
            }
        }
    }
    haystacks
}

/// Lines of text (logs, reports) as haystacks.
pub(super) fn line_haystacks(what: &str, text: &str) -> Vec<Haystack> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| Haystack::new(format!("{what} line {}", number + 1), None, line))
        .collect()
}

/// Whether the IPv4 address can be read back from a stored `ip_prefix` (`a.b.c.d/n` or
/// `v6/n`): all of it as the IPv4 network, or its 32 bits (or their complement, as Teredo
/// stores them) anywhere on a 16-bit boundary of the IPv6 network's kept bits.
pub(super) fn keeps_ipv4(prefix: &str, ipv4: Ipv4Addr) -> bool {
    let Some((network, length)) = prefix.split_once('/') else {
        return prefix.contains(&ipv4.to_string());
    };
    let length: u32 = length.parse().unwrap_or(128);
    if let Ok(v4) = network.parse::<Ipv4Addr>() {
        return v4 == ipv4 || length > 24;
    }
    let Ok(v6) = network.parse::<Ipv6Addr>() else {
        return prefix.contains(&ipv4.to_string());
    };
    let bits = v6.to_bits();
    let needle = ipv4.to_bits();
    (0..=96).step_by(16).any(|offset| {
        offset + 32 <= length as usize && {
            let window = (bits >> (96 - offset)) as u32;
            window == needle || window == !needle
        }
    })
}

pub(super) fn summarise(findings: &[Finding]) -> String {
    let mut by_case: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for finding in findings {
        let place_kind = finding
            .place
            .split([',', '['])
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let way = finding
            .way
            .split(" via ")
            .nth(1)
            .unwrap_or(&finding.way)
            .to_owned();
        by_case
            .entry(&finding.case)
            .or_default()
            .insert(format!("{way} -> {place_kind}"));
    }
    let mut summary = String::new();
    for (case, ways) in &by_case {
        summary.push_str(&format!("{case} ({} ways):\n", ways.len()));
        for way in ways {
            summary.push_str(&format!("    {way}\n"));
        }
    }
    summary
}

/// What the search looks through: the two tables' rows, the files under `data_dir`, the HTTP
/// answers, the server's output and the import's.
pub(super) struct Evidence<'a> {
    pub(super) events_rows: &'a [Value],
    pub(super) imported_rows: &'a [Value],
    pub(super) data_dir: &'a Path,
    pub(super) answers: &'a [(Vec<u64>, u16, String)],
    pub(super) server_output: &'a str,
    pub(super) import_output: &'a Output,
}

/// Every place a value could have been kept, as haystacks.
pub(super) fn haystacks(
    evidence: &Evidence<'_>,
    registry: &Registry,
    cases: &[Case],
    ips: &[ClientIp],
) -> Vec<Haystack> {
    let mut haystacks = row_haystacks("events", evidence.events_rows, registry, cases, ips);
    haystacks.extend(row_haystacks(
        "imported",
        evidence.imported_rows,
        registry,
        cases,
        ips,
    ));
    for file in files_under(evidence.data_dir) {
        let bytes = std::fs::read(&file).expect("a data file can be read");
        let relative = file
            .strip_prefix(evidence.data_dir)
            .unwrap()
            .display()
            .to_string();
        if relative.contains("_delta_log") {
            haystacks.extend(line_haystacks(
                &format!("delta log {relative}"),
                &String::from_utf8_lossy(&bytes),
            ));
        } else {
            haystacks.push(Haystack::new(
                format!("raw bytes of {relative}"),
                None,
                &String::from_utf8_lossy(&bytes),
            ));
        }
    }
    for (probes, status, body) in evidence.answers {
        let who = probes
            .iter()
            .map(|id| registry.describe(*id, cases, ips))
            .collect::<Vec<_>>();
        let probe = probes.first().copied().filter(|_| probes.len() == 1);
        let place = if probes.len() == 1 {
            format!("HTTP {status} answer to [{}]", who[0])
        } else {
            format!("HTTP {status} answer to a batch of {} probes", probes.len())
        };
        haystacks.push(Haystack::new(place, probe, body));
    }
    haystacks.extend(line_haystacks("server output", evidence.server_output));
    haystacks.extend(line_haystacks(
        "import stdout",
        &String::from_utf8_lossy(&evidence.import_output.stdout),
    ));
    haystacks.extend(line_haystacks(
        "import stderr",
        &String::from_utf8_lossy(&evidence.import_output.stderr),
    ));

    haystacks
}

/// Client-address probes whose stored `ip_prefix` still holds the embedded IPv4 address.
pub(super) fn client_ip_findings(
    tables: [(&str, &[Value]); 2],
    registry: &Registry,
    cases: &[Case],
    ips: &[ClientIp],
) -> Vec<String> {
    // Client addresses: the stored prefix must not hold the embedded IPv4 address.
    let mut ip_findings = Vec::new();
    for (table_name, rows) in tables {
        for row in rows.iter() {
            let Some(id) = row["seq"].as_i64().and_then(|seq| registry.of_seq(seq)) else {
                continue;
            };
            let Some(ip_case) = registry.probes[&id].ip_case else {
                continue;
            };
            if let Some(prefix) = row["ip_prefix"].as_str()
                && keeps_ipv4(prefix, ips[ip_case].canary)
            {
                ip_findings.push(format!(
                    "{table_name}: [{}] sent {} and stored ip_prefix {prefix}, which holds {}",
                    registry.describe(id, cases, ips),
                    ips[ip_case].ip,
                    ips[ip_case].canary
                ));
            }
        }
    }

    ip_findings
}

/// Rows stored per way in (both tables), so a scrubber that passes by refusing is seen.
pub(super) fn stored_per_way(rows: &[&[Value]], registry: &Registry) -> BTreeMap<String, usize> {
    let mut stored_per_way: BTreeMap<String, usize> = BTreeMap::new();
    for row in rows.iter().flat_map(|rows| rows.iter()) {
        if let Some(id) = row["seq"].as_i64().and_then(|seq| registry.of_seq(seq)) {
            *stored_per_way
                .entry(registry.probes[&id].way.clone())
                .or_default() += 1;
        }
    }
    stored_per_way
}
