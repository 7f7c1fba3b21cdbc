//! `GET /healthz` (the process answers) and `GET /readyz` (the sink takes events).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::sink::STORAGE_RETRY_AFTER;
use crate::state::AppState;

/// Handles `GET /healthz`: 200 while the process serves HTTP.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Handles `GET /readyz`: 200 once the sink has replayed its log, 503 before, while stopping,
/// and while its storage recovers from a failed write.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.is_shutting_down() {
        return ApiError::limit(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the collector is shutting down",
            Some(Duration::from_secs(5)),
        )
        .into_response();
    }
    if !state.sink().is_ready() {
        if state.sink().stats().storage_degraded {
            return ApiError::storage_unavailable(
                "the collector's write-ahead log failed a write and is recovering",
                STORAGE_RETRY_AFTER,
            )
            .into_response();
        }
        return ApiError::limit(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the collector is not ready yet (replaying its write-ahead log)",
            Some(Duration::from_secs(1)),
        )
        .into_response();
    }
    (StatusCode::OK, "ready\n").into_response()
}
