//! The body of `POST /v1/rrweb`, decoded within its bounds.

use serde::Deserialize;
use serde_json::Value;

use super::{EVENTS_PER_BATCH_MAX, SEQ_SLOTS_PER_EVENT};
use crate::ValidationError;
use crate::json_bounds::{JsonBounds, check_json};
use crate::validate::{ID_BYTES_MAX, SEQ_MAX, SITE_BYTES_MAX};

/// The body of `POST /v1/rrweb`: the sender's ids and a batch of unmodified rrweb events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RrwebBatch {
    /// The site, as in every wire event.
    pub site: String,
    /// The sender's visitor id (optional).
    #[serde(default)]
    pub visitor_id: Option<String>,
    /// The sender's session id (optional).
    #[serde(default)]
    pub session_id: Option<String>,
    /// The sender's id of this page load: one rrweb recording of one page.
    pub pageview_id: String,
    /// Number of rrweb events of this page view posted before this batch; numbers the events
    /// (`seq`) so that a batch retried or mapped again gives the same events.
    #[serde(default)]
    pub offset: u32,
    /// rrweb events as the recorder emitted them.
    pub events: Vec<Value>,
}

impl RrwebBatch {
    /// Decodes a `POST /v1/rrweb` body within [`DecodeBounds::default`], naming the field that is
    /// wrong.
    pub fn decode(body: &[u8]) -> Result<Self, ValidationError> {
        Self::decode_within(body, &DecodeBounds::default())
    }

    /// Decodes a `POST /v1/rrweb` body within `bounds`, naming the field that is wrong.
    ///
    /// The body's JSON is measured ([`check_json`]) before it is decoded; the ids, which every
    /// mapped event copies, are held to the wire format's bounds here rather than after mapping.
    pub fn decode_within(body: &[u8], bounds: &DecodeBounds) -> Result<Self, ValidationError> {
        check_json(body, &bounds.json).map_err(|error| match error {
            ValidationError::Malformed { message } => {
                ValidationError::malformed(format!("rrweb batch: {message}"))
            }
            other => other,
        })?;
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let batch: Self = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            ValidationError::malformed(if path.is_empty() || path == "." {
                format!("rrweb batch: {inner}")
            } else {
                format!("rrweb batch: field `{path}`: {inner}")
            })
        })?;
        deserializer
            .end()
            .map_err(|error| ValidationError::malformed(format!("rrweb batch: {error}")))?;
        if batch.site.is_empty() || batch.site.len() > SITE_BYTES_MAX {
            return Err(ValidationError::field(
                "site",
                shown(&batch.site),
                format!("must be 1 to {SITE_BYTES_MAX} bytes long"),
            ));
        }
        if batch.pageview_id.is_empty() || batch.pageview_id.len() > ID_BYTES_MAX {
            return Err(ValidationError::field(
                "pageview_id",
                shown(&batch.pageview_id),
                format!("must be 1 to {ID_BYTES_MAX} bytes long"),
            ));
        }
        for (field, id) in [
            ("visitor_id", &batch.visitor_id),
            ("session_id", &batch.session_id),
        ] {
            if let Some(id) = id
                && id.len() > ID_BYTES_MAX
            {
                return Err(ValidationError::field(
                    field,
                    shown(id),
                    format!("must be at most {ID_BYTES_MAX} bytes long"),
                ));
            }
        }
        if batch.events.len() > bounds.events_max {
            return Err(ValidationError::field(
                "events",
                format!("of {} rrweb events", batch.events.len()),
                format!("holds more than {}", bounds.events_max),
            ));
        }
        let last = u64::from(batch.offset) + batch.events.len() as u64;
        if last * u64::from(SEQ_SLOTS_PER_EVENT) > SEQ_MAX as u64 {
            return Err(ValidationError::field(
                "offset",
                batch.offset,
                format!(
                    "leaves no room for {} events: a page view holds at most {} rrweb events",
                    batch.events.len(),
                    SEQ_MAX as u64 / u64::from(SEQ_SLOTS_PER_EVENT)
                ),
            ));
        }
        Ok(batch)
    }
}

/// A sent string for an error message: quoted when short, by its length when long (so that a
/// megabyte id is not copied to be shortened).
fn shown(text: &str) -> String {
    if text.len() <= 60 {
        format!("{text:?}")
    } else {
        format!("of {} bytes", text.len())
    }
}

/// Bounds of one `POST /v1/rrweb` body, checked by [`RrwebBatch::decode_within`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeBounds {
    /// Most rrweb events in the batch. Default [`EVENTS_PER_BATCH_MAX`].
    pub events_max: usize,
    /// Values and nesting of the body's JSON, counted before it is decoded.
    /// Default [`JsonBounds::default`].
    pub json: JsonBounds,
}

impl Default for DecodeBounds {
    fn default() -> Self {
        Self {
            events_max: EVENTS_PER_BATCH_MAX,
            json: JsonBounds::default(),
        }
    }
}
