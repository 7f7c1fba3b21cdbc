//! Why an event was refused.

use std::fmt;

use crate::privacy::scrub::scrub;

/// Most characters of a value shown in a [`ValidationError::Field`].
const SHOWN_CHARS_MAX: usize = 60;

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
        let mut shown = scrub(&value.to_string()).into_owned();
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
            message: scrub(message.as_ref()).into_owned(),
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
