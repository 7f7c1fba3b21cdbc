//! `GET /metrics`: Prometheus / OpenMetrics text.
//!
//! Without a token the answer names no site. With `metrics_token` configured, a request that
//! sends it (`Authorization: Bearer <token>`) also gets the per-site series; a wrong token is a
//! 401, so a scraper that is misconfigured finds out.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Reason};
use crate::keys::read_key;
use crate::state::AppState;

/// Handles `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let with_sites = match (read_key(&headers), &state.config().metrics_token) {
        (None, _) => false,
        (Some(sent), Some(token)) if sent == token => true,
        (Some(_), _) => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                Reason::UnknownKey,
                "the metrics token is not this collector's `metrics_token`; send none for the series that name no site",
            )
            .into_response();
        }
    };
    let text = state.metrics().render(state.sink().stats(), with_sites);
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
