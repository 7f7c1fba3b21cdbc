//! `POST /v1/events`: a JSON array or NDJSON of wire-format events.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use heatlake_model::{ValidationError, WireEvent, decode_line};
use serde_json::json;

use crate::body::{check_content_type, read_body, split_events};
use crate::cors;
use crate::error::{ApiError, json_ok};
use crate::ingest::{AcceptedTime, Sender, build_batch};
use crate::keys::{
    BATCH_HEADER, BATCH_PARAMETER, KEY_HEADER, KEY_PARAMETER, header_or_query, valid_batch_id,
};
use crate::request::{drop_reason, query_pairs};
use crate::sink::Appended;
use crate::state::{AppState, SiteState};

/// Handles `POST /v1/events`.
pub async fn post_events(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = query_pairs(&parts.uri);
    let site = match authenticate(&state, &parts, &query) {
        Ok(site) => site,
        Err(error) => return error.into_response(),
    };
    let origin = match allowed_origin(site, &parts) {
        Ok(origin) => origin,
        Err(error) => return error.into_response(),
    };
    let mut response = match accept(&state, site, &parts, &query, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    if let Some(origin) = origin {
        cors::add_headers(&mut response, origin);
    }
    response
}

/// The request's `Origin`, if it sent one and `site` allows it; a 403 if it does not.
pub fn allowed_origin<'r>(site: &SiteState, parts: &'r Parts) -> Result<Option<&'r str>, ApiError> {
    let origin = cors::request_origin(&parts.headers);
    if let Some(origin) = origin
        && !cors::origin_allowed(&site.config.allowed_origins, origin)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin",
            format!(
                "origin {origin:?} is not allowed for site {:?} (see allowed_origins)",
                site.config.id
            ),
        ));
    }
    Ok(origin)
}

/// The site of the request's write key: 401 when it is missing or unknown.
pub fn authenticate<'s>(
    state: &'s AppState,
    parts: &Parts,
    query: &[(String, String)],
) -> Result<&'s SiteState, ApiError> {
    let Some(key) = header_or_query(&parts.headers, query, KEY_HEADER, KEY_PARAMETER) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_key",
            "missing write key: send the header X-Heatlake-Key or the query parameter `key`",
        ));
    };
    state
        .site_by_key(key)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unknown_key", "unknown write key"))
}

async fn accept(
    state: &AppState,
    site: &SiteState,
    parts: &Parts,
    query: &[(String, String)],
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let metrics = state.metrics();
    if let Some(reason) = drop_reason(&parts.headers, site.config.honour_dnt) {
        metrics.dropped(reason);
        return Ok(json_ok(&json!({"accepted": 0, "dropped": reason})));
    }
    check_content_type(&parts.headers)?;
    let batch_id = header_or_query(&parts.headers, query, BATCH_HEADER, BATCH_PARAMETER);
    if let Some(batch_id) = batch_id
        && !valid_batch_id(batch_id)
    {
        return Err(ApiError::bad_request(
            "the batch id must be 1-128 visible ASCII characters",
        ));
    }
    let limits = &state.config().limits;
    let mut reservation = state.inflight().empty();
    let (received_bytes, body) = read_body(&parts.headers, body, state, &mut reservation).await?;
    metrics.body_bytes(received_bytes, body.len());
    let lines = split_events(&body, limits.events_per_request_max)?;
    // The events are copied once more into Arrow columns, at most about the body's size.
    reservation.grow(body.len())?;
    let sender = Sender::of(state, parts);
    store(
        state,
        site,
        &sender,
        batch_id,
        lines.into_iter().map(decode_line),
    )
    .await
}

/// The common end of every route that stores events: takes the events from the site's rate
/// bound, builds them into one batch (any invalid event refuses the whole request) and appends
/// it to the sink.
pub async fn store<'a>(
    state: &AppState,
    site: &SiteState,
    sender: &'a Sender<'a>,
    batch_id: Option<&str>,
    events: impl ExactSizeIterator<Item = Result<WireEvent<'a>, ValidationError>>,
) -> Result<Response, ApiError> {
    let metrics = state.metrics();
    let count = events.len();
    let batch_key = batch_id.map(|id| site.batch_key(id));
    if let Err(wait) = site.try_take(count) {
        metrics.events_rejected("rate_limited", count);
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

/// Handles `OPTIONS /v1/events` (CORS preflight).
pub async fn preflight(State(state): State<AppState>, request: Request) -> Response {
    cors::preflight(&state, request.headers())
}
