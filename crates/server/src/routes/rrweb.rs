//! `POST /v1/rrweb`: event batches of an unmodified rrweb recorder (`docs/rrweb.md`), mapped to
//! wire events by [`RrwebMapper`], then stored exactly like `POST /v1/events`: the same key,
//! CORS, opt-out, bounds, validation, privacy and durability.
//!
//! The mappers keep each recorded page's node tree between its batches. They are split into
//! [`MAPPER_SHARDS`] shards by page view, each behind its own lock, so that pages recorded at the
//! same time do not wait for each other; each shard gets an equal part of [`RrwebLimits`].

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::Response;
use heatlake_model::json_bounds::{JsonBounds, check_json};
use heatlake_model::rrweb::{DecodeBounds, RrwebBatch, RrwebLimits, RrwebMapper};
use serde_json::json;

use super::events::{preflight, store};
use super::write::{self, BatchId, EventBody, WriteSite};
use crate::budget::{Reservation, run_cpu};
use crate::error::{ApiError, Reason, json_ok};
use crate::ingest::Sender;
use crate::state::AppState;

/// Independent mapper shards (page views are spread over them by a hash of their id).
pub(crate) const MAPPER_SHARDS: usize = 8;

/// The `/v1/rrweb` route's state: the collector's, and the mappers.
#[derive(Clone)]
pub(crate) struct RrwebState {
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
    pub(crate) fn new(app: AppState, limits: RrwebLimits) -> Self {
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
        let mut mapper = shard.lock().unwrap_or_else(PoisonError::into_inner);
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
pub(crate) fn router(app: AppState) -> Router<AppState> {
    let pipeline = middleware::from_fn_with_state(app.clone(), write::pipeline);
    Router::new()
        .route(
            "/v1/rrweb",
            axum::routing::post(post_rrweb.layer(pipeline)).options(preflight),
        )
        .with_state(RrwebState::new(app, RrwebLimits::default()))
}

/// Handles `POST /v1/rrweb` (behind [`write::pipeline`]).
async fn post_rrweb(
    State(state): State<RrwebState>,
    site: WriteSite,
    BatchId(batch_id): BatchId,
    sender: Sender,
    body: EventBody,
) -> Result<Response, ApiError> {
    let app = &state.app;
    let limits = &app.config().limits;
    let EventBody {
        bytes: body,
        reservation: mut moved,
    } = body;
    // Measuring, decoding and mapping are CPU work of the size of the body: off the serving
    // threads. The decoded JSON tree is the largest thing a batch holds: it is reserved from the
    // in-flight budget after measuring and before decoding.
    let mappers = state.clone();
    let site_id = site.site().config.id.clone();
    let events_max = limits.events_per_request_max;
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
    store(
        app,
        site.site(),
        &sender,
        batch_id.as_deref(),
        events.into_iter().map(Ok),
    )
    .await
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
            Reason::WrongSite,
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
