//! `POST /v1/events`: a JSON array or NDJSON of wire-format events.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use heatlake_model::{ValidationError, WireEvent, decode_line};
use serde_json::json;

use super::write::{BatchId, EventBody, WriteSite};
use crate::body::split_events;
use crate::cors;
use crate::error::{ApiError, Reason, json_ok};
use crate::ingest::{AcceptedTime, Sender, build_batch};
use crate::sink::Appended;
use crate::state::{AppState, SiteState};

/// Handles `POST /v1/events` (behind [`super::write::pipeline`]).
pub(crate) async fn post_events(
    State(state): State<AppState>,
    site: WriteSite,
    BatchId(batch_id): BatchId,
    sender: Sender,
    mut body: EventBody,
) -> Result<Response, ApiError> {
    let lines = split_events(&body.bytes, state.config().limits.events_per_request_max)?;
    // The events are copied once more into Arrow columns, at most about the body's size.
    body.reservation.grow(body.bytes.len())?;
    store(
        &state,
        site.site(),
        &sender,
        batch_id.as_deref(),
        lines.into_iter().map(decode_line),
    )
    .await
}

/// The common end of every route that stores events: takes the events from the site's rate
/// bound, builds them into one batch (any invalid event refuses the whole request) and appends
/// it to the sink.
pub(crate) async fn store<'a>(
    state: &AppState,
    site: &SiteState,
    sender: &'a Sender,
    batch_id: Option<&str>,
    events: impl ExactSizeIterator<Item = Result<WireEvent<'a>, ValidationError>>,
) -> Result<Response, ApiError> {
    let metrics = state.metrics();
    let count = events.len();
    let batch_key = batch_id.map(|id| site.batch_key(id));
    if let Err(wait) = site.try_take(count) {
        metrics.events_rejected(Reason::RateLimited, count);
        return Err(ApiError::limit(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_events_per_second",
            format!(
                "site {:?} sends more than rate_events_per_second ({}, burst rate_burst_events {})",
                site.config.id, site.config.rate_events_per_second, site.config.rate_burst_events
            ),
            Some(wait),
        ));
    }
    let events = build_batch(
        site,
        events,
        sender,
        AcceptedTime::now(&state.config().limits),
    )
    .inspect_err(|error| metrics.events_rejected(error.reason(), count))?;
    let appended = state
        .sink()
        .append(&site.config.id, batch_key.as_deref(), events)
        .await
        .map_err(ApiError::from)
        .inspect_err(|error| metrics.events_rejected(error.reason(), count))?;
    Ok(match appended {
        Appended::Stored => {
            metrics.events_accepted(&site.config.id, count);
            json_ok(&json!({"accepted": count}))
        }
        Appended::Duplicate => json_ok(&json!({"accepted": count, "duplicate": true})),
    })
}

/// Handles `OPTIONS /v1/events` and `OPTIONS /v1/rrweb` (CORS preflight).
pub(crate) async fn preflight(State(state): State<AppState>, request: Request) -> Response {
    cors::preflight(&state, request.headers())
}
