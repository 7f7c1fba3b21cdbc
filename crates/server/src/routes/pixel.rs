//! `GET /v1/pixel.gif`: the web beacon. Records one `beacon` event from the query and always
//! answers a transparent 1x1 GIF, also when the key is bad or the event invalid (then nothing is
//! stored; the reason is counted in `/metrics` and logged at debug level).
//!
//! Query parameters: `key` (required), `site` (optional, must be the key's site), `url`,
//! `referrer`, `title`, `visitor_id`, `session_id`, `pageview_id`, `seq`, `ts` (ms; default:
//! now), `batch` (batch id), and `prop.NAME=VALUE` for string properties (`props`). Other
//! parameters (cache busters) are ignored.

use std::borrow::Cow;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use heatlake_model::WireEvent;
use heatlake_model::wire::WIRE_VERSION;

use crate::error::{ApiError, RejectionReason};
use crate::ingest::{AcceptedTime, Sender, build_batch, now_ms};
use crate::request::{drop_reason, query_pairs, query_value};
use crate::routes::write::WriteSite;
use crate::sink::Appended;
use crate::state::{AppState, SiteState};

/// A transparent 1x1 GIF (43 bytes).
pub const PIXEL_GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Prefix of query parameters that become `props` entries.
pub(crate) const PROP_PREFIX: &str = "prop.";

/// Handles `GET /v1/pixel.gif`.
pub(crate) async fn get_pixel(
    State(state): State<AppState>,
    site: Result<WriteSite, ApiError>,
    sender: Sender,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let outcome = match site {
        Ok(site) => record(&state, site.site(), &sender, &query_pairs(&uri), &headers).await,
        Err(error) => Err(error),
    };
    let mut response = (StatusCode::OK, PIXEL_GIF).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::EXPIRES, HeaderValue::from_static("0"));
    if let Err(error) = outcome {
        tracing::debug!(reason = %error.reason(), error = %error.body.error, "pixel stored nothing");
        response
            .extensions_mut()
            .insert(RejectionReason(error.reason()));
    }
    response
}

async fn record(
    state: &AppState,
    site: &SiteState,
    sender: &Sender,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let metrics = state.metrics();
    if let Some(reason) = drop_reason(headers, site.config.honour_dnt) {
        metrics.dropped(reason);
        return Ok(());
    }
    site.try_take(1).map_err(|wait| {
        ApiError::limit(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_events_per_second",
            "rate bound reached",
            Some(wait),
        )
    })?;
    let text = |name: &str| query_value(query, name).map(Cow::Borrowed);
    let number = |name: &str| query_value(query, name).and_then(|value| value.parse::<i64>().ok());
    let props: serde_json::Map<String, serde_json::Value> = query
        .iter()
        .filter_map(|(name, value)| {
            name.strip_prefix(PROP_PREFIX)
                .map(|prop| (prop.to_owned(), serde_json::Value::from(value.as_str())))
        })
        .collect();
    let wire = WireEvent {
        v: Some(WIRE_VERSION),
        site: Some(text("site").unwrap_or(Cow::Borrowed(site.config.id.as_str()))),
        event_type: Some(Cow::Borrowed("beacon")),
        ts: Some(number("ts").unwrap_or_else(now_ms)),
        visitor_id: text("visitor_id"),
        session_id: text("session_id"),
        pageview_id: text("pageview_id"),
        seq: number("seq"),
        url: text("url"),
        referrer: text("referrer"),
        title: text("title"),
        props: (!props.is_empty()).then_some(serde_json::Value::Object(props)),
        ..WireEvent::default()
    };
    let events = build_batch(
        site,
        std::iter::once(Ok(wire)),
        sender,
        AcceptedTime::now(&state.config().limits),
    )?;
    let batch_id = query_value(query, "batch").filter(|id| crate::keys::valid_batch_id(id));
    match state
        .sink()
        .append(
            &site.config.id,
            batch_id.map(|id| site.batch_key(id)).as_deref(),
            events,
        )
        .await?
    {
        Appended::Stored => metrics.events_accepted(&site.config.id, 1),
        Appended::Duplicate => {}
    }
    Ok(())
}
