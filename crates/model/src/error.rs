//! Why an event was refused.

use std::fmt;

use crate::privacy::scrub::scrub;

/// Most characters of a value shown in a [`ValidationError::Field`].
const SHOWN_CHARS_MAX: usize = 60;

/// `text` (a message or value that may quote what a client sent) as an error may show it:
/// scrubbed like a stored value. Messages often quote with Rust's or JSON's escapes (`"4111\t1111
/// ..."`, `\u{a0}`), which would hide a separator from the scrubber, so escapes are read back
/// first, and control characters are escaped again after scrubbing.
pub fn shown_text(text: &str) -> String {
    let unescaped = unescape(text);
    let scrubbed = scrub(&unescaped);
    let mut shown = String::with_capacity(scrubbed.len());
    for character in scrubbed.chars() {
        if character.is_control() {
            shown.extend(character.escape_debug());
        } else {
            shown.push(character);
        }
    }
    shown
}

/// `text` with the escapes of Rust's `{:?}` and JSON strings (`\t \n \r \0 \\ \" \'`,
/// `\u{XXXX}`, `\uXXXX`) read back; anything else is kept as written.
fn unescape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find('\\') {
        out.push_str(&rest[..index]);
        let after = &rest[index + 1..];
        let (decoded, used) = match after.as_bytes().first() {
            Some(b't') => (Some('\t'), 1),
            Some(b'n') => (Some('\n'), 1),
            Some(b'r') => (Some('\r'), 1),
            Some(b'0') => (Some('\0'), 1),
            Some(b'\\') => (Some('\\'), 1),
            Some(b'"') => (Some('"'), 1),
            Some(b'\'') => (Some('\''), 1),
            Some(b'u') => unicode_escape(&after[1..]).map_or((None, 0), |(c, n)| (Some(c), n + 1)),
            _ => (None, 0),
        };
        match decoded {
            Some(character) => {
                out.push(character);
                rest = &after[used..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// The character of `{XXXX}` or `XXXX` (hex) at the start of `text`, and the bytes it took.
fn unicode_escape(text: &str) -> Option<(char, usize)> {
    let (hex, used) = match text.strip_prefix('{') {
        Some(braced) => {
            let end = braced.find('}')?;
            (&braced[..end], end + 2)
        }
        None => (text.get(..4)?, 4),
    };
    if hex.is_empty() || hex.len() > 6 {
        return None;
    }
    let code = u32::from_str_radix(hex, 16).ok()?;
    Some((char::from_u32(code)?, used))
}

/// Result of model operations.
pub type Result<T, E = ValidationError> = std::result::Result<T, E>;

/// An event that breaks the wire format or a rule of schema v1.
///
/// The message names the field, the offending value (shortened) and the rule, so that whoever sent
/// the event can fix it without reading Heatlake's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The bytes are not one JSON object of the wire format. Construct it with
    /// [`ValidationError::malformed`], which scrubs the message.
    #[error("malformed event: {message}")]
    Malformed {
        /// What the JSON decoder reported, with the field path where known.
        message: String,
    },
    /// A field holds a value that breaks a rule.
    #[error("field `{field}`: value {value} {rule}")]
    Field {
        /// The wire / SQL name of the field.
        field: &'static str,
        /// The value as sent, scrubbed and shortened for display.
        value: String,
        /// The rule the value breaks, phrased to follow the value.
        rule: String,
    },
}

impl ValidationError {
    /// A field error; `value` is shown scrubbed ([`scrub`]), then shortened to at most 60
    /// characters, so a 400 answer never echoes a card number or an address it was sent.
    pub fn field(field: &'static str, value: impl fmt::Display, rule: impl Into<String>) -> Self {
        let mut shown = shown_text(&value.to_string());
        if shown.chars().count() > SHOWN_CHARS_MAX {
            shown = shown.chars().take(SHOWN_CHARS_MAX - 3).collect::<String>() + "...";
        }
        Self::Field {
            field,
            value: shown,
            rule: rule.into(),
        }
    }

    /// A malformed-event error; the decoder's message may quote the input
    /// (`invalid type: string "4111 1111 1111 1111"`), so it is scrubbed ([`scrub`]).
    pub fn malformed(message: impl AsRef<str>) -> Self {
        Self::Malformed {
            message: shown_text(message.as_ref()),
        }
    }

    /// The field the error is about, if it is about one.
    pub fn field_name(&self) -> Option<&'static str> {
        match self {
            Self::Field { field, .. } => Some(field),
            Self::Malformed { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_separators_do_not_hide_a_card_from_errors() {
        for quoted in [
            r#"string "4111\t1111\t1111\t1111""#,
            r#""4111\u{a0}1111\u{a0}1111\u{a0}1111""#,
            r#""4111\n1111\n1111\n1111""#,
            r#""4111\u00a01111\u00a01111\u00a01111""#,
        ] {
            let shown = shown_text(quoted);
            assert!(!shown.contains("4111"), "{quoted} -> {shown}");
        }
        assert_eq!(shown_text(r"a\tb \q"), "a\\tb \\q");
    }
}
