//! The native JSON wire format, version 1.
//!
//! One event is one JSON object whose field names are the SQL column names of schema v1, plus `v`
//! (the format version) and two input-only fields, `ua` and `ip`, from which the server derives
//! `browser`, `os` and `ip_prefix` (they are never stored as sent). Ids are strings chosen by the
//! sender (a first-party cookie value, a random page view id); they are stored only as site-keyed
//! pseudonyms. `docs/wire-format.md` is the reference, with an example per event type.
//!
//! Fields the server derives (`received_at`, `date`, `device`, `browser`, `os`, `ip_prefix`) are
//! refused when sent, as is any unknown field: a typo is an error, not a silently empty column.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::json_bounds::{JsonBounds, SERDE_JSON_DEPTH_MAX, check_json};

/// The wire format version this build reads and writes.
pub const WIRE_VERSION: u32 = 1;

/// Fields the server derives; a sender may not set them.
pub const SERVER_SIDE_FIELDS: [&str; 6] = [
    "received_at",
    "date",
    "device",
    "browser",
    "os",
    "ip_prefix",
];

/// One event as sent, before validation and privacy transforms.
///
/// Every field is optional at this level so that [`crate::validate`] can name a missing required
/// field in the same words as a wrong one. Strings borrow from the input where it has no escapes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireEvent<'a> {
    /// Wire format version; must be [`WIRE_VERSION`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<u32>,
    /// Site the event belongs to.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub site: Option<Cow<'a, str>>,
    /// Event type name (see [`crate::EventType`]).
    #[serde(
        rename = "type",
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub event_type: Option<Cow<'a, str>>,
    /// When it happened, milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<i64>,
    /// The sender's visitor id (first-party, per site).
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub visitor_id: Option<Cow<'a, str>>,
    /// The sender's session id.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<Cow<'a, str>>,
    /// The sender's page view id.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub pageview_id: Option<Cow<'a, str>>,
    /// Number of the event within its page view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// Page URL.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<Cow<'a, str>>,
    /// Page key (host + path); derived from `url` when absent.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub path: Option<Cow<'a, str>>,
    /// Referrer URL.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub referrer: Option<Cow<'a, str>>,
    /// Page title.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<Cow<'a, str>>,
    /// Page x in CSS px (fractions are rounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    /// Page y in CSS px (viewport y for fixed targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    /// CSS selector path of the element.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub target: Option<Cow<'a, str>>,
    /// Position inside the element, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rx: Option<f64>,
    /// Position inside the element, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ry: Option<f64>,
    /// The element is fixed or sticky.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_fixed: Option<bool>,
    /// Mouse button, 0..=4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<i64>,
    /// The click changed nothing on the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead: Option<bool>,
    /// Href of a clicked link.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub link: Option<Cow<'a, str>>,
    /// Short visible text of the element.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub text: Option<Cow<'a, str>>,
    /// Viewport width in CSS px.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewport_w: Option<f64>,
    /// Viewport height in CSS px.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewport_h: Option<f64>,
    /// Document width in CSS px.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_w: Option<f64>,
    /// Document height in CSS px.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_h: Option<f64>,
    /// Horizontal scroll offset in CSS px.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scroll_x: Option<f64>,
    /// Vertical scroll offset in CSS px.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scroll_y: Option<f64>,
    /// Selector or name of the input field.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub field: Option<Cow<'a, str>>,
    /// Length of the field's value in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_len: Option<i64>,
    /// The field's value (stored only for allow-listed fields).
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Cow<'a, str>>,
    /// Duration in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// Custom data: a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<serde_json::Value>,
    /// Input only: the user agent, from which `browser` and `os` are derived.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub ua: Option<Cow<'a, str>>,
    /// Input only: the client IP, dropped or truncated per the site's policy.
    #[serde(
        borrow,
        default,
        deserialize_with = "borrow_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub ip: Option<Cow<'a, str>>,
}

/// Deserialises an optional string, borrowing from the input when it has no escapes (serde
/// borrows a `Cow` only when it is not wrapped in an `Option`).
fn borrow_str<'de, D>(deserializer: D) -> Result<Option<Cow<'de, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'de>>::deserialize(deserializer)?.map(|borrowed| borrowed.0))
}

/// Most JSON values in one wire event, counted before it is decoded so that a line of
/// `"props":[0,0,...]` never becomes a large `Value` tree. An event that validation accepts holds
/// some 40 fields and a `props` of at most [`PROPS_BYTES_MAX`](crate::validate::PROPS_BYTES_MAX)
/// bytes, which is at most 2,048 values: this bound never refuses an event that could be stored.
pub const VALUES_PER_EVENT_MAX: usize = crate::validate::PROPS_BYTES_MAX;

/// Decodes one wire-format JSON object.
///
/// A line longer than [`VALUES_PER_EVENT_MAX`] bytes is first scanned with
/// [`check_json`] and refused past that many values (a value takes at least one byte, so shorter
/// lines, the tracker's, are not scanned). The fast path is a plain `serde_json` decode; only when
/// it fails is the line decoded again to find the path of the offending field for the error
/// message.
pub fn decode_line(line: &[u8]) -> Result<WireEvent<'_>, ValidationError> {
    if line.len() > VALUES_PER_EVENT_MAX {
        check_json(
            line,
            &JsonBounds {
                values_max: VALUES_PER_EVENT_MAX,
                depth_max: SERDE_JSON_DEPTH_MAX,
            },
        )?;
    }
    match serde_json::from_slice(line) {
        Ok(event) => Ok(event),
        Err(_) => Err(describe_decode_error(line)),
    }
}

fn describe_decode_error(line: &[u8]) -> ValidationError {
    let mut deserializer = serde_json::Deserializer::from_slice(line);
    let error = match serde_path_to_error::deserialize::<_, WireEvent<'_>>(&mut deserializer) {
        Ok(_) => {
            // Accepted field by field but not as a whole: trailing characters after the object.
            return match deserializer.end() {
                Err(error) => ValidationError::malformed(error.to_string()),
                Ok(()) => ValidationError::malformed("not a single JSON object"),
            };
        }
        Err(error) => error,
    };
    let path = error.path().to_string();
    let inner = error.into_inner();
    let text = inner.to_string();
    if let Some(field) = SERVER_SIDE_FIELDS
        .iter()
        .find(|name| text.starts_with(&format!("unknown field `{name}`")))
    {
        return ValidationError::malformed(format!(
            "field `{field}` is derived by the server and may not be sent"
        ));
    }
    if text.starts_with("unknown field") {
        let name = text.split('`').nth(1).unwrap_or("?");
        return ValidationError::malformed(format!(
            "unknown field `{name}` (wire format v{WIRE_VERSION}; see docs/wire-format.md)"
        ));
    }
    let message = if path.is_empty() || path == "." {
        text
    } else {
        format!("field `{path}`: {text}")
    };
    ValidationError::malformed(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings() {
        let line = br#"{"v":1,"site":"a.example","type":"click","ts":1,"target":"div > a"}"#;
        let event = decode_line(line).unwrap();
        assert!(matches!(event.target, Some(Cow::Borrowed("div > a"))));
        assert_eq!(event.ts, Some(1));
    }

    #[test]
    fn names_the_field_of_a_wrong_type() {
        let line = br#"{"v":1,"site":"a.example","type":"click","ts":1,"x":"left"}"#;
        let error = decode_line(line).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "malformed event: field `x`: invalid type: string \"left\", expected f64"
            ),
            "{error}"
        );
    }

    #[test]
    fn refuses_server_side_fields() {
        let line = br#"{"v":1,"site":"a.example","type":"click","ts":1,"device":"mobile"}"#;
        assert_eq!(
            decode_line(line).unwrap_err().to_string(),
            "malformed event: field `device` is derived by the server and may not be sent"
        );
    }

    #[test]
    fn refuses_unknown_fields_and_trailing_garbage() {
        let line = br#"{"v":1,"sit":"a.example"}"#;
        assert_eq!(
            decode_line(line).unwrap_err().to_string(),
            "malformed event: unknown field `sit` (wire format v1; see docs/wire-format.md)"
        );
        let error = decode_line(br#"{"v":1} x"#).unwrap_err().to_string();
        assert!(error.contains("trailing characters"), "{error}");
        let error = decode_line(b"{\"v\":1,\"site\":\"\xff\"}")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("invalid unicode") || error.contains("UTF-8"),
            "{error}"
        );
    }

    #[test]
    fn refuses_a_props_value_bomb_before_building_it() {
        let zeros = vec!["0"; 100_000].join(",");
        let line = format!(
            r#"{{"v":1,"site":"a","type":"custom","ts":1764400000000,"props":{{"a":[{zeros}]}}}}"#
        );
        let error = decode_line(line.as_bytes()).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "malformed event: the JSON text holds more than json_values_max (4096) values"
            ),
            "{error}"
        );
        // A long line of few values is decoded as before.
        let title = "t".repeat(8000);
        let line = format!(
            r#"{{"v":1,"site":"a","type":"pageview","ts":1764400000000,"title":"{title}","props":{{"a":[0,1]}}}}"#
        );
        let event = decode_line(line.as_bytes()).unwrap();
        assert_eq!(event.props, Some(serde_json::json!({"a": [0, 1]})));
    }
}
