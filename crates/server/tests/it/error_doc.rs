//! The status code tables of docs/collector.md and docs/http-api.md name every reason of an error
//! body, and only those: together they are [`Reason::ALL`].

use std::collections::BTreeSet;

use heatlake_server::Reason;

const COLLECTOR_DOC: &str = include_str!("../../../../docs/collector.md");
const HTTP_API_DOC: &str = include_str!("../../../../docs/http-api.md");

/// The reasons of the `| status | reason | when |` table under `## Status codes` of `doc`.
fn documented_reasons(doc: &str) -> BTreeSet<&str> {
    let section = &doc[doc
        .find("## Status codes")
        .expect("the doc has a status code table")..];
    let table = &section[section
        .find("| status | reason |")
        .expect("the table's header")..];
    let rows: Vec<&str> = table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .collect();
    assert!(!rows.is_empty(), "the table has rows");
    rows.into_iter()
        .flat_map(|row| {
            let reason = row.split('|').nth(2).expect("a reason column");
            reason
                .split(',')
                .map(|name| name.trim().trim_matches('`'))
                .filter(|name| !name.is_empty())
        })
        .collect()
}

#[test]
fn the_documented_reasons_are_the_reasons() {
    let collector = documented_reasons(COLLECTOR_DOC);
    let http_api = documented_reasons(HTTP_API_DOC);
    let documented: BTreeSet<&str> = collector.union(&http_api).copied().collect();
    let reasons: BTreeSet<&str> = Reason::ALL.iter().map(|reason| reason.as_str()).collect();
    assert_eq!(
        reasons.len(),
        Reason::ALL.len(),
        "no wire name is used twice"
    );
    let undocumented: Vec<_> = reasons.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&reasons).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "reasons not in the docs' tables: {undocumented:?}; documented reasons that do not exist: {unknown:?}"
    );
}

#[test]
fn the_collector_and_read_tables_name_their_own_reasons() {
    let collector = documented_reasons(COLLECTOR_DOC);
    let http_api = documented_reasons(HTTP_API_DOC);
    for reason in ["missing_key", "origin", "wrong_site", "sink_failed"] {
        assert!(collector.contains(reason), "{reason} in collector.md");
    }
    for reason in [
        "unauthorized",
        "invalid_query",
        "time_limit",
        "query_failed",
    ] {
        assert!(http_api.contains(reason), "{reason} in http-api.md");
    }
}
