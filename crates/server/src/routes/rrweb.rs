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
use heatlake_model::rrweb::{RrwebBatch, RrwebLimits, RrwebMapper};
use serde_json::json;

use crate::body::{check_content_type, read_body};
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

    fn map(&self, batch: &RrwebBatch) -> Result<Vec<heatlake_model::WireEvent<'static>>, ApiError> {
        let mut hasher = DefaultHasher::new();
        (&batch.site, &batch.pageview_id).hash(&mut hasher);
        let shard = &self.mappers[hasher.finish() as usize % MAPPER_SHARDS];
        let mut mapper = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        mapper
            .map(batch)
            .map_err(|error| ApiError::bad_request(error.to_string()))
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
    let (received_bytes, body) = read_body(&parts.headers, body, limits).await?;
    metrics.body_bytes(received_bytes, body.len());
    let batch =
        RrwebBatch::decode(&body).map_err(|error| ApiError::bad_request(error.to_string()))?;
    if batch.site != site.config.id {
        let mut error = ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_site",
            format!(
                "site {:?} is not the site of the write key ({:?}); nothing was stored",
                batch.site, site.config.id
            ),
        );
        error.body.field = Some("site");
        return Err(error);
    }
    let events = state.map(&batch)?;
    let count = events.len();
    if count == 0 {
        return Ok(json_ok(&json!({"accepted": 0})));
    }
    if count > limits.events_per_request_max {
        return Err(ApiError::limit(
            StatusCode::PAYLOAD_TOO_LARGE,
            "events_per_request_max",
            format!(
                "the rrweb batch maps to {count} events, more than events_per_request_max ({}); send smaller batches",
                limits.events_per_request_max
            ),
            None,
        ));
    }
    let sender = Sender::of(app, parts);
    super::events::store(app, site, &sender, batch_id, events.into_iter().map(Ok)).await
}
