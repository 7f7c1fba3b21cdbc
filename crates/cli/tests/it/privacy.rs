//! Privacy at the door, seen from the outside: what a visitor did not choose to give is not in
//! the table, whatever column it was sent in.

use serde_json::{Value, json};

use crate::support::{Sandbox, as_str};

/// The personal data sent, and fragments of it that must appear nowhere in the stored rows.
const EMAIL: &str = "jane.doe@example.com";
const CARD_SPACED: &str = "4111 1111 1111 1111";
const VISITOR: &str = "alice-cookie-123";
const FORBIDDEN: [&str; 9] = [
    "jane",
    "example.com",
    "%40example",
    "4111",
    "1111",
    "203.0.113",
    "2001:db8",
    VISITOR,
    "alice-session",
];

/// The events of one visitor on two sites, carrying personal data in every free-text field.
fn leaky_lines() -> Vec<Vec<u8>> {
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let events = [
        json!({"v":1,"site":"a.example","type":"pageview","ts":1_764_400_000_000_i64,
            "visitor_id":VISITOR,"session_id":"alice-session","pageview_id":"alice-pv-1","seq":0,
            "url":format!("https://shop.example/account?email={EMAIL}&card={CARD_SPACED}"),
            "referrer":"https://mail.example/inbox?from=jane.doe%40example.com",
            "title":"Account","viewport_w":1280,"viewport_h":800,"ip":"203.0.113.77","ua":ua,
            "props":{"note":format!("card {}", CARD_SPACED.replace(' ', "-")),"contact":EMAIL,"card":4_111_111_111_111_111_i64}}),
        json!({"v":1,"site":"a.example","type":"click","ts":1_764_400_001_000_i64,
            "visitor_id":VISITOR,"session_id":"alice-session","pageview_id":"alice-pv-1","seq":1,
            "url":"https://shop.example/account","x":120,"y":340,"target":"a.mail",
            "link":format!("mailto:{EMAIL}?subject=card {CARD_SPACED}"),
            "text":format!("Pay {CARD_SPACED} as {EMAIL}"),"ip":"2001:db8::1"}),
        json!({"v":1,"site":"a.example","type":"input","ts":1_764_400_002_000_i64,
            "visitor_id":VISITOR,"session_id":"alice-session","pageview_id":"alice-pv-1","seq":2,
            "url":"https://shop.example/account","field":"#email","input_len":20,"value":EMAIL,"text":"jane"}),
        json!({"v":1,"site":"a.example","type":"change","ts":1_764_400_003_000_i64,
            "visitor_id":VISITOR,"session_id":"alice-session","pageview_id":"alice-pv-1","seq":3,
            "url":"https://shop.example/account","field":"#card","input_len":19,"value":CARD_SPACED}),
        json!({"v":1,"site":"b.example","type":"pageview","ts":1_764_400_004_000_i64,
            "visitor_id":VISITOR,"session_id":"alice-session","pageview_id":"alice-pv-2","seq":0,
            "url":"https://b.example/"}),
        json!({"v":1,"site":"a.example","type":"pageview","ts":1_764_400_005_000_i64,
            "visitor_id":VISITOR,"session_id":"alice-session","pageview_id":"alice-pv-3","seq":0,
            "url":"https://shop.example/"}),
    ];
    events
        .iter()
        .map(|event| event.to_string().into_bytes())
        .collect()
}

fn all_rows(sandbox: &Sandbox, table: &str) -> Vec<Value> {
    sandbox.sql_json(table, "SELECT * FROM events ORDER BY ts")
}

/// Every string value of every row, one per line. Numbers are left out: the 64-bit pseudonyms
/// are random-looking digits that may hold any four-digit sequence.
fn stored_strings(rows: &[Value]) -> String {
    rows.iter()
        .flat_map(|row| row.as_object().expect("rows are objects").iter())
        .filter_map(|(column, value)| value.as_str().map(|text| format!("{column}: {text}")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `row[column]` is absent or null.
fn is_null(row: &Value, column: &str) -> bool {
    row.get(column).is_none_or(Value::is_null)
}

#[test]
fn personal_data_is_not_stored_in_any_column() {
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("events");
    let file = sandbox.write_lines("leaky.ndjson", &leaky_lines());
    let report = sandbox.import_ok(&table, &[&file], &[]);
    assert_eq!(report.events(), 6, "{}", report.0);

    let rows = all_rows(&sandbox, &table);
    assert_eq!(rows.len(), 6);
    let stored = stored_strings(&rows);
    for fragment in FORBIDDEN {
        assert!(
            !stored.contains(fragment),
            "{fragment:?} was stored:\n{stored}"
        );
    }
    for row in &rows {
        assert!(
            is_null(row, "value"),
            "typed values are never stored by default: {row}"
        );
        assert!(
            is_null(row, "text"),
            "element text is off by default: {row}"
        );
        assert!(
            is_null(row, "ip_prefix"),
            "IPs are dropped by default: {row}"
        );
        for id in ["visitor_id", "session_id", "pageview_id"] {
            assert!(row[id].is_i64(), "{id} is an integer pseudonym: {row}");
        }
    }

    let pageview = &rows[0];
    assert_eq!(
        as_str(&pageview["url"]),
        "https://shop.example/account?email=[email]&card=[card]"
    );
    assert_eq!(as_str(&pageview["path"]), "shop.example/account");
    assert_eq!(
        as_str(&pageview["referrer"]),
        "https://mail.example/inbox?from=[email]"
    );
    let props: Value = serde_json::from_str(as_str(&pageview["props"])).expect("props hold JSON");
    assert_eq!(
        props,
        json!({"note": "card [card]", "contact": "[email]", "card": "[card]"})
    );
    assert_eq!(as_str(&pageview["browser"]), "Chrome");

    let click = &rows[1];
    assert_eq!(as_str(&click["link"]), "mailto:[email]?subject=card [card]");
    assert_eq!(
        (click["x"].as_i64(), click["y"].as_i64()),
        (Some(120), Some(340))
    );

    let input = &rows[2];
    assert_eq!(as_str(&input["field"]), "#email");
    assert_eq!(
        input["input_len"].as_i64(),
        Some(20),
        "the length is kept, the text is not"
    );

    // One visitor: the same pseudonym on one site, unrelated ones on two sites.
    let visitor_on = |site: &str| -> Vec<i64> {
        rows.iter()
            .filter(|row| row["site"] == site)
            .map(|row| row["visitor_id"].as_i64().expect("integer"))
            .collect()
    };
    let on_a = visitor_on("a.example");
    let on_b = visitor_on("b.example");
    assert_eq!(on_a.len(), 5);
    assert!(
        on_a.iter().all(|id| *id == on_a[0]),
        "same visitor, same site, same id: {on_a:?}"
    );
    assert_eq!(on_b.len(), 1);
    assert_ne!(
        on_a[0], on_b[0],
        "the same visitor on two sites gets unrelated ids"
    );
    let sessions: Vec<i64> = rows
        .iter()
        .map(|row| row["session_id"].as_i64().expect("integer"))
        .collect();
    assert_ne!(sessions[0], sessions[4], "session ids are site-scoped too");
}

#[test]
fn card_numbers_percent_encoded_or_plus_separated_in_urls_are_scrubbed() {
    // Browsers send spaces in URLs as %20, and HTML forms (GET) as `+`: a card number typed
    // with spaces reaches the collector in these forms, not with plain spaces.
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("events");
    let line = json!({"v":1,"site":"a.example","type":"pageview","ts":1_764_400_000_000_i64,
        "url":"https://shop.example/pay?card=4111%201111%201111%201111&step=2",
        "referrer":"https://shop.example/checkout?card=4111+1111+1111+1111&step=1",
        "props":{"href":"https://shop.example/pay?card=4111%2D1111%2D1111%2D1111"}});
    let file = sandbox.write_lines("encoded.ndjson", &[line.to_string().into_bytes()]);
    sandbox.import_ok(&table, &[&file], &[]);
    let rows = all_rows(&sandbox, &table);
    let stored = stored_strings(&rows);
    assert!(
        !stored.contains("4111"),
        "a card number was stored:\n{stored}"
    );
    assert!(
        !stored.contains("1111"),
        "card digits were stored:\n{stored}"
    );
}

#[test]
fn opted_in_text_values_and_ip_prefixes_are_kept_scrubbed() {
    let sandbox = Sandbox::new();
    let table = sandbox.local_table("events");
    let file = sandbox.write_lines("leaky.ndjson", &leaky_lines());
    sandbox.import_ok(
        &table,
        &[&file],
        &["--keep-text", "--value-field", "#card", "--ip", "truncate"],
    );
    let rows = all_rows(&sandbox, &table);
    let stored = stored_strings(&rows);
    for fragment in ["jane", "example.com", "4111", "203.0.113.77", VISITOR] {
        assert!(
            !stored.contains(fragment),
            "{fragment:?} was stored:\n{stored}"
        );
    }
    assert_eq!(as_str(&rows[0]["ip_prefix"]), "203.0.113.0/24");
    assert_eq!(as_str(&rows[1]["ip_prefix"]), "2001:db8::/48");
    assert_eq!(as_str(&rows[1]["text"]), "Pay [card] as [email]");
    assert!(
        is_null(&rows[2], "text"),
        "text is never kept on input events: {}",
        rows[2]
    );
    assert!(
        is_null(&rows[2], "value"),
        "#email is not allow-listed: {}",
        rows[2]
    );
    assert_eq!(
        as_str(&rows[3]["value"]),
        "[card]",
        "allow-listed values are scrubbed"
    );
}
