//! Why an event was refused.

use std::fmt;

/// Result of model operations.
pub type Result<T, E = ValidationError> = std::result::Result<T, E>;

/// An event that breaks the wire format or a rule of schema v1.
///
/// The message names the field, the offending value (shortened) and the rule, so that whoever sent
/// the event can fix it without reading Heatlake's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The bytes are not one JSON object of the wire format.
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
        /// The value as sent, shortened for display.
        value: String,
        /// The rule the value breaks, phrased to follow the value.
        rule: String,
    },
}

impl ValidationError {
    /// A field error; `value` is shown shortened to at most 60 characters.
    pub fn field(field: &'static str, value: impl fmt::Display, rule: impl Into<String>) -> Self {
        let mut shown = value.to_string();
        if shown.chars().count() > 60 {
            shown = shown.chars().take(57).collect::<String>() + "...";
        }
        Self::Field {
            field,
            value: shown,
            rule: rule.into(),
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
