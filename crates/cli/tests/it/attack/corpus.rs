//! The corpus files of `tests/attack/` and the constants every probe shares.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde_json::Value;

/// The hostile strings, one JSON object per line: `name`, `kind`, `text` or `props`, `canary`.
pub(super) const EVASIONS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/attack/evasions.jsonl"
));
/// Client addresses that embed an IPv4 address: `name`, `ip`, `canary`.
pub(super) const CLIENT_IPS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/attack/client_ips.jsonl"
));

/// The site every probe is sent to, its write key, and the allow-listed input field.
pub(super) const SITE: &str = "shop.example";
pub(super) const WRITE_KEY: &str = "hlw_attack_corpus_5c1e9a";
pub(super) const VALUE_FIELD: &str = "input[name=coupon]";
/// A page URL that holds nothing personal, for events whose hostile part is elsewhere.
pub(super) const SAFE_URL: &str = "https://shop.example/checkout";
/// Hostile strings are also sent inside a URL, where URL fields are sure to be accepted.
pub(super) const EMBEDDING_URL: &str = "https://shop.example/search?q=";
/// rrweb probes get ids from here, so that their `seq` ((offset + i) * 32, offset = id * 10)
/// is far above every other probe's `seq` (its id).
pub(super) const RRWEB_FIRST_ID: u64 = 100_000;
pub(super) const RRWEB_SEQ_PER_ID: i64 = 320;

/// Longest the collector may take to answer `/readyz`, and to exit after SIGTERM.
pub(super) const START_TIMEOUT: Duration = Duration::from_secs(60);
pub(super) const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on one read or write of one HTTP exchange.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Threads sending the privacy probes.
pub(super) const SENDERS: usize = 8;
/// Rounds of decoding (escapes, HTML entities, percent) when normalising stored text: more than
/// any case of the corpus nests.
pub(super) const DECODE_ROUNDS_MAX: usize = 8;

/// What kind of secret a canary is, which decides how it is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Digits only; looked for with every separator dropped.
    Card,
    /// A lower-case address.
    Email,
    /// A token, password or signature, lower-case.
    Secret,
    /// An IP address as written.
    Ip,
}

/// One line of the corpus.
#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) name: String,
    pub(super) kind: Kind,
    /// The hostile string, for cases sent as a string.
    pub(super) text: Option<String>,
    /// A hostile `props` object, for cases sent as custom data.
    pub(super) props: Option<Value>,
    pub(super) canary: String,
}

pub(super) fn cases() -> Vec<Case> {
    EVASIONS
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let case: Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("corpus line is not JSON ({error}): {line}"));
            let kind = match case["kind"].as_str() {
                Some("card") => Kind::Card,
                Some("email") => Kind::Email,
                Some("secret") => Kind::Secret,
                Some("ip") => Kind::Ip,
                other => panic!("unknown kind {other:?}: {line}"),
            };
            let canary = case["canary"].as_str().expect("a canary").to_owned();
            assert_eq!(
                canary,
                canary.to_lowercase(),
                "canaries are lower-case: {line}"
            );
            if kind == Kind::Card {
                assert!(canary.bytes().all(|b| b.is_ascii_digit()), "{line}");
                assert!(luhn_valid(&canary), "a card canary must pass Luhn: {line}");
            }
            let case = Case {
                name: case["name"].as_str().expect("a name").to_owned(),
                kind,
                text: case["text"].as_str().map(str::to_owned),
                props: case.get("props").cloned(),
                canary,
            };
            assert!(case.text.is_some() != case.props.is_some(), "{line}");
            case
        })
        .collect()
}

/// One line of `client_ips.jsonl`.
#[derive(Debug, Clone)]
pub(super) struct ClientIp {
    pub(super) name: String,
    pub(super) ip: String,
    pub(super) canary: Ipv4Addr,
}

pub(super) fn client_ips() -> Vec<ClientIp> {
    CLIENT_IPS
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("client IP lines are JSON");
            ClientIp {
                name: value["name"].as_str().unwrap().to_owned(),
                ip: value["ip"].as_str().unwrap().to_owned(),
                canary: value["canary"].as_str().unwrap().parse().unwrap(),
            }
        })
        .collect()
}

pub(super) fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(index, byte)| {
            let digit = u32::from(byte - b'0');
            if index % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
