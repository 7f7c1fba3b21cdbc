//! The routes, and the layers around them: request metrics on every route; the concurrency and
//! time bounds on the `/v1` routes that store events (the read routes, in the `read` module, have
//! their own).

mod events;
mod health;
mod metrics;
mod optout;
mod pages;
pub mod pixel;
mod rrweb;
pub mod tracker;
mod write;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::{ApiError, RejectionReason};
use crate::state::AppState;

/// Seconds a client is asked to wait after a 503 at `concurrent_requests_max` or
/// `request_timeout_ms`.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The collector's routes over `state`.
pub fn build_router(state: AppState) -> Router {
    let pipeline = middleware::from_fn_with_state(state.clone(), write::pipeline);
    let ingest = Router::new()
        .route(
            "/v1/events",
            axum::routing::post(events::post_events.layer(pipeline)).options(events::preflight),
        )
        .route("/v1/pixel.gif", get(pixel::get_pixel))
        .route("/v1/optout", get(optout::optout).post(optout::optout))
        .merge(rrweb::router(state.clone()))
        .route_layer(middleware::from_fn_with_state(state.clone(), bound));
    Router::new()
        .merge(ingest)
        .merge(crate::read::router())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/t.js", get(tracker::get_tracker))
        .route("/pages/{*path}", get(pages::get_page))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// `concurrent_requests_max` and `request_timeout_ms`: 503 with `Retry-After` at either.
async fn bound(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = &state.config().limits;
    let Ok(_permit) = state.request_permits().clone().try_acquire_owned() else {
        return ApiError::limit(
            StatusCode::SERVICE_UNAVAILABLE,
            "concurrent_requests_max",
            format!(
                "more than concurrent_requests_max ({}) requests in flight",
                limits.concurrent_requests_max
            ),
            Some(BUSY_RETRY_AFTER),
        )
        .into_response();
    };
    let timeout = Duration::from_millis(limits.request_timeout_ms);
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::limit(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout_ms",
            format!(
                "the request took longer than request_timeout_ms ({} ms); retry it with the same batch id",
                limits.request_timeout_ms
            ),
            Some(BUSY_RETRY_AFTER),
        )
        .into_response(),
    }
}

/// Records every request's latency by route and status, and refused requests by reason.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    let metrics = state.metrics();
    metrics.request(&route, response.status().as_u16(), started.elapsed());
    if let Some(RejectionReason(reason)) = response.extensions().get::<RejectionReason>() {
        metrics.request_rejected(*reason);
    }
    response
}
