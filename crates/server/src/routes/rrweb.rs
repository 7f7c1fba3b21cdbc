//! `POST /v1/rrweb`: event batches of an unmodified rrweb recorder (`docs/rrweb.md`), mapped to
//! wire events by [`RrwebMapper`], then stored exactly like `POST /v1/events`: the same key,
//! CORS, opt-out, bounds, validation, privacy and durability.
//!
//! The mappers keep each recorded page's node tree between its batches. They are split into
//! [`MAPPER_SHARDS`] shards by page view, each behind its own lock, so that pages recorded at the
//! same time do not wait for each other; each shard gets an equal part of [`RrwebLimits`].

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use heatlake_model::json_bounds::{JsonBounds, check_json};
use heatlake_model::rrweb::{DecodeBounds, RrwebBatch, RrwebLimits, RrwebMapper};
use serde_json::json;

use crate::body::{check_content_type, read_body};
use crate::budget::{Reservation, run_cpu};
use crate::cors;
use crate::error::{ApiError, json_ok};
use crate::ingest::Sender;
use crate::keys::{BATCH_HEADER, BATCH_PARAMETER, header_or_query, valid_batch_id};
use crate::request::{drop_reason, query_pairs};
use crate::routes::events::{allowed_origin, authenticate, preflight};
use crate::state::{AppState, SiteState};

/// Independent mapper shards (page views are spread over them by a hash of their id).
pub const MAPPER_SHARDS: usize = 8;

/// The `/v1/rrweb` route's state: the collector's, and the mappers.
#[derive(Clone)]
pub struct RrwebState {
    app: AppState,
    mappers: Arc<[Mutex<RrwebMapper>]>,
}

impl FromRef<RrwebState> for AppState {
    fn from_ref(state: &RrwebState) -> Self {
        state.app.clone()
    }
}

impl RrwebState {
    /// Mappers within `limits` in all.
    pub fn new(app: AppState, limits: RrwebLimits) -> Self {
        let shard_limits = RrwebLimits {
            pages_max: limits.pages_max.div_ceil(MAPPER_SHARDS),
            nodes_per_page_max: limits.nodes_per_page_max,
            nodes_total_max: limits.nodes_total_max.div_ceil(MAPPER_SHARDS),
        };
        let mappers = (0..MAPPER_SHARDS)
            .map(|_| Mutex::new(RrwebMapper::new(shard_limits)))
            .collect();
        Self { app, mappers }
    }

    /// Maps `batch` to at most `events_max` events (413 `events_per_request_max` past it,
    /// refused before any page state changes).
    fn map(
        &self,
        batch: &RrwebBatch,
        events_max: usize,
    ) -> Result<Vec<heatlake_model::WireEvent<'static>>, ApiError> {
        let mut hasher = DefaultHasher::new();
        (&batch.site, &batch.pageview_id).hash(&mut hasher);
        let shard = &self.mappers[hasher.finish() as usize % MAPPER_SHARDS];
        let mut mapper = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        mapper.map(batch, events_max).map_err(|error| {
            if error.field_name() == Some("events") {
                ApiError::limit(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "events_per_request_max",
                    error.to_string(),
                    None,
                )
            } else {
                ApiError::bad_request(error.to_string())
            }
        })
    }
}

/// The `/v1/rrweb` route, with its own state, for [`crate::build_router`] to merge.
pub fn router(app: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/v1/rrweb",
            axum::routing::post(post_rrweb).options(preflight),
        )
        .with_state(RrwebState::new(app, RrwebLimits::default()))
}

/// Handles `POST /v1/rrweb`.
pub async fn post_rrweb(State(state): State<RrwebState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = query_pairs(&parts.uri);
    let site = match authenticate(&state.app, &parts, &query) {
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

async fn accept(
    state: &RrwebState,
    site: &SiteState,
    parts: &Parts,
    query: &[(String, String)],
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let app = &state.app;
    let metrics = app.metrics();
    if let Some(reason) = drop_reason(&parts.headers, site.config.honour_dnt) {
        metrics.dropped(reason);
        return Ok(json_ok(&json!({"accepted": 0, "dropped": reason})));
    }
    check_content_type(&parts.headers)?;
    let batch_id = header_or_query(&parts.headers, query, BATCH_HEADER, BATCH_PARAMETER);
    if batch_id.is_some_and(|id| !valid_batch_id(id)) {
        return Err(ApiError::bad_request(
            "the batch id must be 1-128 visible ASCII characters",
        ));
    }
    let limits = &app.config().limits;
    let mut reservation = app.inflight().empty();
    let (received_bytes, body) = read_body(&parts.headers, body, app, &mut reservation).await?;
    metrics.body_bytes(received_bytes, body.len());
    // Measuring, decoding and mapping are CPU work of the size of the body: off the serving
    // threads. The decoded JSON tree is the largest thing a batch holds: it is reserved from the
    // in-flight budget after measuring and before decoding.
    let mappers = state.clone();
    let site_id = site.config.id.clone();
    let events_max = limits.events_per_request_max;
    let mut moved = reservation.take();
    let (events, moved) = run_cpu(app.cpu_permits(), move || {
        let events = decode_and_map(&body, &site_id, &mappers, events_max, &mut moved);
        (events, moved)
    })
    .await;
    let _held_until_answered = moved;
    let events = events?;
    if events.is_empty() {
        return Ok(json_ok(&json!({"accepted": 0})));
    }
    let sender = Sender::of(app, parts);
    super::events::store(app, site, &sender, batch_id, events.into_iter().map(Ok)).await
}

/// Measures the batch's JSON, reserves its decoded size, decodes it and maps it: the CPU-heavy
/// part of `/v1/rrweb`, run by [`run_cpu`].
fn decode_and_map(
    body: &[u8],
    site_id: &str,
    mappers: &RrwebState,
    events_max: usize,
    reservation: &mut Reservation,
) -> Result<Vec<heatlake_model::WireEvent<'static>>, ApiError> {
    let shape = check_json(body, &JsonBounds::default())
        .map_err(|error| ApiError::bad_request(format!("rrweb batch: {error}")))?;
    reservation.grow(shape.decoded_bytes_worst())?;
    let batch = RrwebBatch::decode_within(body, &DecodeBounds::default())
        .map_err(|error| ApiError::bad_request(error.to_string()))?;
    if batch.site != site_id {
        let mut error = ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_site",
            format!(
                "site {:?} is not the site of the write key ({site_id:?}); nothing was stored",
                batch.site
            ),
        );
        error.body.field = Some("site");
        return Err(error);
    }
    mappers.map(&batch, events_max)
}
