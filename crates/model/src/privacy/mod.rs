//! Privacy at the door: what a visitor did not choose to give is never stored.
//!
//! [`IngestContext::accept`] is the one entry from a [`WireEvent`] to a storable [`Event`]; every
//! ingest path (batch import, the collector) goes through it. It validates, then:
//! 1. drops typed text: `value` survives only for fields the site allow-lists, `text` only where the
//!    site enables it, and never on `input`/`change` events;
//! 2. scrubs every free-text column (e-mails, card numbers, credentials, secrets, tokens, IP
//!    addresses) with [`scrub::scrub`], and props values under secret-named keys;
//! 3. drops the client IP, or truncates it to its network where the site asks ([`ip::ip_prefix`]);
//! 4. replaces sender ids by site-keyed pseudonyms ([`ids::SiteIdKey`]).

pub mod ids;
pub mod ip;
pub mod scrub;

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::event::date_days_of;
use crate::useragent::{browser_and_os, device_class};
use crate::validate::validate;
use crate::{Event, EventType, ValidationError, WireEvent};
use ids::{IdSecret, SiteIdKey};
use ip::{IpMode, ip_prefix};
use scrub::scrub;

/// What a site chooses to keep beyond the defaults. The default keeps the least.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyPolicy {
    /// Keep the (scrubbed) visible text of clicked elements. Default: off.
    pub keep_text: bool,
    /// Input fields (exact `field` value) whose `value` is kept, scrubbed. Default: none.
    pub value_fields: Vec<String>,
    /// What to do with the client IP. Default: drop it.
    pub ip: IpMode,
}

/// Everything needed to turn wire events into stored events: the id secret, the per-site
/// policies and the receive time.
#[derive(Debug, Clone)]
pub struct IngestContext {
    secret: IdSecret,
    default_policy: PrivacyPolicy,
    site_policies: HashMap<String, PrivacyPolicy>,
    site_keys: HashMap<String, SiteIdKey>,
    user_agents: HashMap<String, (Option<&'static str>, Option<&'static str>)>,
    recent_ids: RecentPseudonyms,
    received_at_ms: i64,
}

/// The last pseudonym computed for each kind of id (visitor, session, page view) of one site.
/// A page view's events arrive together, so most events repeat the previous event's ids, and a
/// keyed hash per id per event was the largest single cost of an import when profiled.
#[derive(Debug, Clone, Default)]
struct RecentPseudonyms {
    site: String,
    entries: [Option<(String, i64)>; 3],
}

impl RecentPseudonyms {
    /// The pseudonym of `raw` as id kind `kind` on `site`, computed with `key` when not recent.
    fn pseudonymise(&mut self, site: &str, kind: usize, raw: &str, key: &SiteIdKey) -> i64 {
        if self.site != site {
            self.site.clear();
            self.site.push_str(site);
            self.entries = Default::default();
        }
        match &mut self.entries[kind] {
            Some((recent, pseudonym)) if recent == raw => *pseudonym,
            entry => {
                let pseudonym = key.pseudonymise(raw);
                *entry = Some((raw.to_owned(), pseudonym));
                pseudonym
            }
        }
    }
}

/// Distinct user agents whose browser and OS are remembered; parsing one costs microseconds and
/// traffic repeats a few hundred of them. When full, the cache is emptied and refilled.
pub const USER_AGENT_CACHE_ENTRIES_MAX: usize = 4096;

impl IngestContext {
    /// A context with one policy for every site.
    pub fn new(secret: IdSecret, default_policy: PrivacyPolicy, received_at_ms: i64) -> Self {
        Self {
            secret,
            default_policy,
            site_policies: HashMap::new(),
            site_keys: HashMap::new(),
            user_agents: HashMap::new(),
            recent_ids: RecentPseudonyms::default(),
            received_at_ms,
        }
    }

    /// A context with a fixed, public secret and the default policy: for tests and examples only,
    /// since anyone can recompute its pseudonyms.
    pub fn for_tests(received_at_ms: i64) -> Self {
        Self::new(
            IdSecret::generate_from([7; 32]),
            PrivacyPolicy::default(),
            received_at_ms,
        )
    }

    /// Sets the policy of one site.
    pub fn with_site_policy(mut self, site: impl Into<String>, policy: PrivacyPolicy) -> Self {
        self.site_policies.insert(site.into(), policy);
        self
    }

    /// Sets the time stamped into `received_at`.
    pub fn set_received_at_ms(&mut self, received_at_ms: i64) {
        self.received_at_ms = received_at_ms;
    }

    /// Validates `wire` and applies the privacy rules, giving the event as it will be stored.
    pub fn accept<'a>(&mut self, wire: WireEvent<'a>) -> Result<Event<'a>, ValidationError> {
        let event_type = validate(&wire)?;
        let site = wire.site.unwrap_or_default();
        if let Cow::Owned(_) = scrub(&site) {
            return Err(ValidationError::field(
                "site",
                "(hidden)",
                "looks like it holds personal data (an e-mail, card number, secret or IP address)",
            ));
        }
        let policy = self
            .site_policies
            .get(site.as_ref())
            .unwrap_or(&self.default_policy);
        let ip_prefix = match wire.ip.as_deref() {
            // The refused value may still be an address (`198.51.100.23:443`), so the message
            // shows neither it nor `InvalidIp`'s text, which quotes it.
            Some(ip) => ip_prefix(ip, policy.ip).map_err(|_| {
                ValidationError::field(
                    "ip",
                    "(hidden)",
                    "is not an IPv4 address like 203.0.113.7 or an IPv6 address like 2001:db8::7 \
                     (without port or brackets)",
                )
            })?,
            None => None,
        };
        // The length survives even when the value is dropped.
        let input_len = wire
            .input_len
            .or_else(|| {
                wire.value
                    .as_deref()
                    .map(|value| value.chars().count() as i64)
            })
            .map(|len| len.min(crate::validate::INPUT_LEN_MAX) as i32);
        let typed = matches!(event_type, EventType::Input | EventType::Change);
        let value = match (wire.value, wire.field.as_deref()) {
            (Some(value), Some(field)) if policy.value_fields.iter().any(|f| f == field) => {
                Some(scrub_cow(value))
            }
            _ => None,
        };
        let text = if policy.keep_text && !typed {
            wire.text.map(scrub_cow)
        } else {
            None
        };
        let (browser, os) = match wire.ua.as_deref() {
            Some(user_agent) => self.browser_and_os(user_agent),
            None => (None, None),
        };
        if !self.site_keys.contains_key(site.as_ref()) {
            let key = SiteIdKey::new(&self.secret, &site);
            self.site_keys.insert(site.to_string(), key);
        }
        let key = &self.site_keys[site.as_ref()];
        let recent = &mut self.recent_ids;
        let mut pseudonym = |kind: usize, id: Option<Cow<'_, str>>| {
            id.map(|id| recent.pseudonymise(&site, kind, &id, key))
        };
        let path = match wire.path {
            Some(path) => Some(scrub_cow(path)),
            None => wire
                .url
                .as_deref()
                .map(page_key)
                .map(|key| scrub_cow(Cow::Owned(key))),
        };
        let ts_ms = wire.ts.unwrap_or_default();
        Ok(Event {
            date_days: date_days_of(ts_ms),
            ts_ms,
            received_at_ms: self.received_at_ms,
            visitor_id: pseudonym(0, wire.visitor_id),
            session_id: pseudonym(1, wire.session_id),
            pageview_id: pseudonym(2, wire.pageview_id),
            seq: wire.seq.map(|seq| seq as i32),
            event_type,
            url: wire.url.map(scrub_cow),
            path,
            referrer: wire.referrer.map(scrub_cow),
            title: wire.title.map(scrub_cow),
            x: wire.x.map(round_px),
            y: wire.y.map(round_px),
            target: wire.target.map(scrub_cow),
            target_rx: wire.target_rx.map(|r| r as f32),
            target_ry: wire.target_ry.map(|r| r as f32),
            target_fixed: wire.target_fixed,
            button: wire.button.map(|b| b as i8),
            dead: wire.dead,
            link: wire.link.map(scrub_cow),
            text,
            viewport_w: wire.viewport_w.map(round_px),
            viewport_h: wire.viewport_h.map(round_px),
            doc_w: wire.doc_w.map(round_px),
            doc_h: wire.doc_h.map(round_px),
            scroll_x: wire.scroll_x.map(round_px),
            scroll_y: wire.scroll_y.map(round_px),
            device: wire.viewport_w.map(|w| device_class(round_px(w))),
            browser,
            os,
            field: wire.field.map(scrub_cow),
            input_len,
            value,
            duration_ms: wire.duration_ms,
            props: wire
                .props
                .map(|props| Cow::Owned(scrub_json(props).to_string())),
            ip_prefix,
            site,
        })
    }
}

impl IngestContext {
    fn browser_and_os(&mut self, user_agent: &str) -> (Option<&'static str>, Option<&'static str>) {
        if let Some(known) = self.user_agents.get(user_agent) {
            return *known;
        }
        if self.user_agents.len() >= USER_AGENT_CACHE_ENTRIES_MAX {
            self.user_agents.clear();
        }
        let parsed = browser_and_os(user_agent);
        self.user_agents.insert(user_agent.to_owned(), parsed);
        parsed
    }
}

/// Scrubs a string, keeping the borrow when nothing changed.
fn scrub_cow(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(borrowed) => scrub(borrowed),
        Cow::Owned(owned) => match scrub(&owned) {
            Cow::Borrowed(_) => Cow::Owned(owned),
            Cow::Owned(scrubbed) => Cow::Owned(scrubbed),
        },
    }
}

/// Scrubs every key and string of a JSON value; a number that scrubbing would change (a card
/// number sent as a number) becomes the scrubbed string, and the value of a key that names a
/// secret ([`scrub::is_secret_name`]: `password`, `authToken`...) becomes
/// [`scrub::REDACTED_MARKER`] whatever its type, objects and arrays included.
fn scrub_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(scrub_cow(Cow::Owned(text)).into_owned()),
        Value::Number(number) => {
            let text = number.to_string();
            match scrub(&text) {
                Cow::Borrowed(_) => Value::Number(number),
                Cow::Owned(scrubbed) => Value::String(scrubbed),
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(scrub_json).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| {
                    let value = if scrub::is_secret_name(key.as_bytes()) {
                        Value::String(scrub::REDACTED_MARKER.to_owned())
                    } else {
                        scrub_json(value)
                    };
                    (scrub(&key).into_owned(), value)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Rounds a validated CSS px value (0..=1e6) to the nearest integer.
fn round_px(px: f64) -> i32 {
    px.round() as i32
}

/// The page key of a URL: lower-case host + path, without scheme, credentials, port, query or
/// fragment. A URL without a scheme is taken as it is, less query and fragment.
pub fn page_key(url: &str) -> String {
    let without_fragment = url.split(['?', '#']).next().unwrap_or_default();
    let rest = match without_fragment.find("://") {
        Some(index) => &without_fragment[index + 3..],
        None => without_fragment,
    };
    let (authority, path) = match rest.find('/') {
        Some(index) => rest.split_at(index),
        None => (rest, "/"),
    };
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = match host.rfind(':') {
        Some(index) if !host.ends_with(']') => &host[..index],
        _ => host,
    };
    format!("{}{}", host.to_ascii_lowercase(), path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_line;

    fn accept<'a>(context: &mut IngestContext, line: &'a str) -> Event<'a> {
        context
            .accept(decode_line(line.as_bytes()).unwrap())
            .unwrap()
    }

    #[test]
    fn typed_text_is_never_stored_by_default() {
        let mut context = IngestContext::for_tests(0);
        let event = accept(
            &mut context,
            r##"{"v":1,"site":"a","type":"input","ts":1764400000000,"field":"#email","value":"jane@example.com","text":"jane"}"##,
        );
        assert_eq!(event.value, None);
        assert_eq!(event.text, None);
        assert_eq!(event.input_len, Some(16));
        assert_eq!(event.field.as_deref(), Some("#email"));
    }

    #[test]
    fn allow_listed_values_are_kept_scrubbed() {
        let policy = PrivacyPolicy {
            value_fields: vec!["#coupon".into()],
            keep_text: true,
            ip: IpMode::Truncate,
        };
        let mut context = IngestContext::for_tests(0).with_site_policy("a", policy);
        let event = accept(
            &mut context,
            r##"{"v":1,"site":"a","type":"change","ts":1764400000000,"field":"#coupon","value":"CODE-X 4111 1111 1111 1111","ip":"203.0.113.77"}"##,
        );
        assert_eq!(event.value.as_deref(), Some("CODE-X [card]"));
        assert_eq!(event.ip_prefix.as_deref(), Some("203.0.113.0/24"));
        let click = accept(
            &mut context,
            r##"{"v":1,"site":"a","type":"click","ts":1764400000000,"x":1,"y":2,"text":"Mail jane@example.com"}"##,
        );
        assert_eq!(click.text.as_deref(), Some("Mail [email]"));
    }

    #[test]
    fn an_invalid_ip_is_not_echoed_in_the_error() {
        let policy = PrivacyPolicy {
            ip: IpMode::Truncate,
            ..PrivacyPolicy::default()
        };
        let mut context = IngestContext::for_tests(0).with_site_policy("a", policy);
        let line = r#"{"v":1,"site":"a","type":"pageview","ts":1764400000000,"url":"https://a.example/","ip":"198.51.100.23:443"}"#;
        let error = context
            .accept(decode_line(line.as_bytes()).unwrap())
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "field `ip`: value (hidden) is not an IPv4 address like 203.0.113.7 or an IPv6 address \
             like 2001:db8::7 (without port or brackets)"
        );
    }

    #[test]
    fn derives_server_side_fields() {
        let mut context = IngestContext::for_tests(1764400001000);
        let event = accept(
            &mut context,
            r##"{"v":1,"site":"a","type":"pageview","ts":1764400000000,"url":"https://User:pw@Shop.Example:443/cart?id=1#top","viewport_w":390.4,"ip":"203.0.113.77","ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","visitor_id":"v1","props":{"card":4111111111111111,"to":"jane@example.com"}}"##,
        );
        assert_eq!(event.path.as_deref(), Some("shop.example/cart"));
        assert_eq!(
            event.url.as_deref(),
            Some("https://[credentials]@Shop.Example:443/cart?id=1#top")
        );
        assert_eq!(event.date_days, 20421);
        assert_eq!(event.received_at_ms, 1764400001000);
        assert_eq!(event.viewport_w, Some(390));
        assert_eq!(event.device, Some("mobile"));
        assert_eq!((event.browser, event.os), (Some("Chrome"), Some("Windows")));
        assert_eq!(event.ip_prefix, None, "IPs are dropped by default");
        assert_eq!(
            event.props.as_deref(),
            Some(r##"{"card":"[card]","to":"[email]"}"##)
        );
        let key = SiteIdKey::new(&IdSecret::generate_from([7; 32]), "a");
        assert_eq!(event.visitor_id, Some(key.pseudonymise("v1")));
    }

    #[test]
    fn page_keys() {
        assert_eq!(page_key("https://A.example/x/y?q=1#f"), "a.example/x/y");
        assert_eq!(page_key("http://a.example"), "a.example/");
        assert_eq!(page_key("http://u:p@a.example:8080/p"), "a.example/p");
        assert_eq!(page_key("a.example/p?x"), "a.example/p");
    }
}
