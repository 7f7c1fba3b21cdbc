//! The rules an event must meet to be stored (schema v1).
//!
//! Every bound is a named constant so that docs, errors and tests use the same numbers. A rule that
//! fails produces a [`ValidationError`] naming the field, the value and the rule.

use crate::wire::{WIRE_VERSION, WireEvent};
use crate::{EventType, ValidationError};

/// Earliest accepted `ts`: 2000-01-01T00:00:00Z.
pub const TS_MIN_MS: i64 = 946_684_800_000;
/// Latest accepted `ts`: 2100-01-01T00:00:00Z.
pub const TS_MAX_MS: i64 = 4_102_444_800_000;
/// Longest site name, in bytes.
pub const SITE_BYTES_MAX: usize = 64;
/// Longest sender id (visitor, session, page view), in bytes.
pub const ID_BYTES_MAX: usize = 128;
/// Longest URL (`url`, `referrer`, `link`), in bytes.
pub const URL_BYTES_MAX: usize = 2048;
/// Longest `path`, in bytes.
pub const PATH_BYTES_MAX: usize = 1024;
/// Longest `title`, in bytes.
pub const TITLE_BYTES_MAX: usize = 512;
/// Longest `target` selector, in bytes.
pub const TARGET_BYTES_MAX: usize = 512;
/// Longest `text`, in bytes.
pub const TEXT_BYTES_MAX: usize = 256;
/// Longest `field`, in bytes.
pub const FIELD_BYTES_MAX: usize = 256;
/// Longest `value`, in bytes.
pub const VALUE_BYTES_MAX: usize = 1024;
/// Longest `props` object, in bytes of compact JSON.
pub const PROPS_BYTES_MAX: usize = 4096;
/// Longest `ua`, in bytes.
pub const USER_AGENT_BYTES_MAX: usize = 1024;
/// Longest `ip`, in bytes.
pub const IP_BYTES_MAX: usize = 64;
/// Largest page coordinate, scroll offset or document size, in CSS px.
pub const PAGE_PX_MAX: f64 = 1_000_000.0;
/// Largest viewport size, in CSS px.
pub const VIEWPORT_PX_MAX: f64 = 100_000.0;
/// Largest `seq`.
pub const SEQ_MAX: i64 = i32::MAX as i64;
/// Largest `input_len`.
pub const INPUT_LEN_MAX: i64 = 1_000_000;
/// Largest `duration_ms`: 30 days.
pub const DURATION_MS_MAX: i64 = 30 * 86_400_000;
/// Largest mouse `button` number.
pub const BUTTON_MAX: i64 = 4;

/// Checks `event` against every rule of schema v1 and returns its type.
pub fn validate(event: &WireEvent<'_>) -> Result<EventType, ValidationError> {
    match event.v {
        Some(WIRE_VERSION) => {}
        Some(other) => {
            return Err(ValidationError::field(
                "v",
                other,
                format!("is not a supported wire format version (this build reads {WIRE_VERSION})"),
            ));
        }
        None => return Err(missing("v")),
    }
    let site = event.site.as_deref().ok_or_else(|| missing("site"))?;
    check_site(site)?;
    let event_type: EventType = event
        .event_type
        .as_deref()
        .ok_or_else(|| missing("type"))?
        .parse()?;
    let ts = event.ts.ok_or_else(|| missing("ts"))?;
    if !(TS_MIN_MS..=TS_MAX_MS).contains(&ts) {
        return Err(ValidationError::field(
            "ts",
            ts,
            "is outside 2000-01-01..2100-01-01 (milliseconds since the Unix epoch)",
        ));
    }
    check_integer("seq", event.seq, 0, SEQ_MAX)?;
    for (name, value) in [
        ("visitor_id", &event.visitor_id),
        ("session_id", &event.session_id),
        ("pageview_id", &event.pageview_id),
    ] {
        if let Some(id) = value.as_deref()
            && (id.is_empty() || id.len() > ID_BYTES_MAX)
        {
            return Err(ValidationError::field(
                name,
                format!("{id:?}"),
                format!("must be 1 to {ID_BYTES_MAX} bytes long"),
            ));
        }
    }
    for (name, value, max) in [
        ("url", &event.url, URL_BYTES_MAX),
        ("path", &event.path, PATH_BYTES_MAX),
        ("referrer", &event.referrer, URL_BYTES_MAX),
        ("title", &event.title, TITLE_BYTES_MAX),
        ("target", &event.target, TARGET_BYTES_MAX),
        ("link", &event.link, URL_BYTES_MAX),
        ("text", &event.text, TEXT_BYTES_MAX),
        ("field", &event.field, FIELD_BYTES_MAX),
        ("value", &event.value, VALUE_BYTES_MAX),
        ("ua", &event.ua, USER_AGENT_BYTES_MAX),
        ("ip", &event.ip, IP_BYTES_MAX),
    ] {
        if let Some(text) = value.as_deref() {
            check_length(name, text, max)?;
        }
    }
    if let Some(path) = event.path.as_deref()
        && path.contains(['?', '#'])
    {
        return Err(ValidationError::field(
            "path",
            format!("{path:?}"),
            "must not contain a query or fragment (`?`, `#`): it is the page key, host + path",
        ));
    }
    if let Some(props) = &event.props {
        if !props.is_object() {
            return Err(ValidationError::field(
                "props",
                props,
                "must be a JSON object",
            ));
        }
        let bytes = props.to_string().len();
        if bytes > PROPS_BYTES_MAX {
            return Err(ValidationError::field(
                "props",
                format!("of {bytes} bytes"),
                format!("is longer than {PROPS_BYTES_MAX} bytes"),
            ));
        }
    }
    for (name, value, min, max) in [
        ("x", event.x, 0.0, PAGE_PX_MAX),
        ("y", event.y, 0.0, PAGE_PX_MAX),
        ("target_rx", event.target_rx, 0.0, 1.0),
        ("target_ry", event.target_ry, 0.0, 1.0),
        ("viewport_w", event.viewport_w, 1.0, VIEWPORT_PX_MAX),
        ("viewport_h", event.viewport_h, 1.0, VIEWPORT_PX_MAX),
        ("doc_w", event.doc_w, 1.0, PAGE_PX_MAX),
        ("doc_h", event.doc_h, 1.0, PAGE_PX_MAX),
        ("scroll_x", event.scroll_x, 0.0, PAGE_PX_MAX),
        ("scroll_y", event.scroll_y, 0.0, PAGE_PX_MAX),
    ] {
        check_number(name, value, min, max)?;
    }
    check_integer("button", event.button, 0, BUTTON_MAX)?;
    check_integer("input_len", event.input_len, 0, INPUT_LEN_MAX)?;
    check_integer("duration_ms", event.duration_ms, 0, DURATION_MS_MAX)?;
    check_required_for_type(event, event_type)?;
    Ok(event_type)
}

fn missing(field: &'static str) -> ValidationError {
    ValidationError::field(field, "(missing)", "is required")
}

fn check_site(site: &str) -> Result<(), ValidationError> {
    let valid_chars = site
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_'));
    if site.is_empty() || site.len() > SITE_BYTES_MAX || !valid_chars {
        return Err(ValidationError::field(
            "site",
            format!("{site:?}"),
            format!("must be 1 to {SITE_BYTES_MAX} characters of a-z, 0-9, `.`, `-`, `_`"),
        ));
    }
    Ok(())
}

fn check_length(field: &'static str, text: &str, max: usize) -> Result<(), ValidationError> {
    if text.len() > max {
        return Err(ValidationError::field(
            field,
            format!("{text:?}"),
            format!("is {} bytes long, more than the {max} allowed", text.len()),
        ));
    }
    Ok(())
}

fn check_number(
    field: &'static str,
    value: Option<f64>,
    min: f64,
    max: f64,
) -> Result<(), ValidationError> {
    match value {
        Some(number) if !(min..=max).contains(&number) => Err(ValidationError::field(
            field,
            number,
            format!("is outside {min}..={max}"),
        )),
        _ => Ok(()),
    }
}

fn check_integer(
    field: &'static str,
    value: Option<i64>,
    min: i64,
    max: i64,
) -> Result<(), ValidationError> {
    match value {
        Some(number) if !(min..=max).contains(&number) => Err(ValidationError::field(
            field,
            number,
            format!("is outside {min}..={max}"),
        )),
        _ => Ok(()),
    }
}

/// Fields without which an event of a type cannot be used by any analytics question.
fn check_required_for_type(
    event: &WireEvent<'_>,
    event_type: EventType,
) -> Result<(), ValidationError> {
    let requirement = |field: &'static str, present: bool| {
        if present {
            Ok(())
        } else {
            Err(ValidationError::field(
                field,
                "(missing)",
                format!("is required for `{event_type}` events"),
            ))
        }
    };
    match event_type {
        EventType::Pageview => requirement("url", event.url.is_some() || event.path.is_some()),
        EventType::Click | EventType::Move => {
            requirement("x", event.x.is_some())?;
            requirement("y", event.y.is_some())
        }
        EventType::Scroll => requirement("scroll_y", event.scroll_y.is_some()),
        EventType::Input | EventType::Change => requirement("field", event.field.is_some()),
        EventType::Resize => {
            requirement("viewport_w", event.viewport_w.is_some())?;
            requirement("viewport_h", event.viewport_h.is_some())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_line;

    fn check(line: &str) -> Result<EventType, String> {
        validate(&decode_line(line.as_bytes()).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_a_minimal_click() {
        let line = r#"{"v":1,"site":"a.example","type":"click","ts":1764400000000,"x":1,"y":2}"#;
        assert_eq!(check(line), Ok(EventType::Click));
    }

    #[test]
    fn names_field_value_and_rule() {
        let cases = [
            (
                r#"{"site":"a","type":"click","ts":1764400000000}"#,
                "field `v`: value (missing) is required",
            ),
            (
                r#"{"v":2,"site":"a","type":"click","ts":1764400000000}"#,
                "field `v`: value 2 is not a supported wire format version (this build reads 1)",
            ),
            (
                r#"{"v":1,"type":"click","ts":1764400000000}"#,
                "field `site`: value (missing) is required",
            ),
            (
                r#"{"v":1,"site":"A b","type":"click","ts":1764400000000}"#,
                "field `site`: value \"A b\" must be 1 to 64 characters of a-z, 0-9, `.`, `-`, `_`",
            ),
            (
                r#"{"v":1,"site":"a","type":"tap","ts":1764400000000}"#,
                "field `type`: value \"tap\" is not an event type (pageview, click, move, scroll, input, change, submit, resize, visibility, leave, beacon, custom)",
            ),
            (
                r#"{"v":1,"site":"a","type":"click","ts":5}"#,
                "field `ts`: value 5 is outside 2000-01-01..2100-01-01 (milliseconds since the Unix epoch)",
            ),
            (
                r#"{"v":1,"site":"a","type":"click","ts":1764400000000,"x":-3,"y":1}"#,
                "field `x`: value -3 is outside 0..=1000000",
            ),
            (
                r#"{"v":1,"site":"a","type":"click","ts":1764400000000,"x":3}"#,
                "field `y`: value (missing) is required for `click` events",
            ),
            (
                r#"{"v":1,"site":"a","type":"click","ts":1764400000000,"x":1,"y":1,"target_rx":1.5}"#,
                "field `target_rx`: value 1.5 is outside 0..=1",
            ),
            (
                r#"{"v":1,"site":"a","type":"pageview","ts":1764400000000,"path":"a/b?c=1"}"#,
                "field `path`: value \"a/b?c=1\" must not contain a query or fragment (`?`, `#`): it is the page key, host + path",
            ),
            (
                r#"{"v":1,"site":"a","type":"custom","ts":1764400000000,"props":[1]}"#,
                "field `props`: value [1] must be a JSON object",
            ),
            (
                r#"{"v":1,"site":"a","type":"input","ts":1764400000000}"#,
                "field `field`: value (missing) is required for `input` events",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(check(line).unwrap_err(), expected, "for {line}");
        }
    }

    #[test]
    fn refuses_over_long_strings() {
        let title = "t".repeat(TITLE_BYTES_MAX + 1);
        let line =
            format!(r#"{{"v":1,"site":"a","type":"custom","ts":1764400000000,"title":"{title}"}}"#);
        let error = check(&line).unwrap_err();
        assert!(
            error.ends_with("is 513 bytes long, more than the 512 allowed"),
            "{error}"
        );
        assert!(error.starts_with("field `title`: value \"ttt"), "{error}");
    }
}
