//! CORS: browsers may send events only from a site's allowed origins.
//!
//! A preflight (`OPTIONS`) is answered when some site allows the `Origin`; the real request's
//! `Origin` must be allowed by the site of its write key, else 403 and nothing is stored.
//! Allowed origins are echoed (never `*`) with `Access-Control-Allow-Credentials: true`, so that
//! the opt-out cookie travels with `fetch(..., {credentials: "include"})` and `sendBeacon`.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Request headers a browser may send to the collector.
pub const ALLOWED_HEADERS: &str =
    "content-type, content-encoding, x-heatlake-key, x-heatlake-batch";
/// How long a browser may cache a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE_S: u32 = 86_400;

/// The `Origin` of sandboxed iframes, `data:` and `file:` pages: any page can send it.
pub const NULL_ORIGIN: &str = "null";

/// Whether `origin` is in `allowed` (exact match of scheme://host[:port], or `*`). `*` does not
/// cover [`NULL_ORIGIN`]: a page of unknown origin is allowed only where `null` is listed.
pub fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    allowed
        .iter()
        .any(|entry| (entry == "*" && origin != NULL_ORIGIN) || entry.eq_ignore_ascii_case(origin))
}

/// The request's `Origin`, if it sent one (`null` included). A value that is not visible ASCII
/// is taken as `null`: it cannot name an allowed origin.
pub fn request_origin(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::ORIGIN)?;
    match value.to_str() {
        Ok("") => None,
        Ok(origin) => Some(origin),
        Err(_) => Some(NULL_ORIGIN),
    }
}

/// Adds the CORS answer headers for an allowed `origin`.
pub fn add_headers(response: &mut Response, origin: &str) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Answers a preflight: 204 with the allowed methods and headers when some site allows the
/// origin, else 403.
pub fn preflight(state: &AppState, headers: &HeaderMap) -> Response {
    let allowed = request_origin(headers).filter(|origin| {
        state
            .sites()
            .iter()
            .any(|site| origin_allowed(&site.config.allowed_origins, origin))
    });
    let Some(origin) = allowed else {
        return (StatusCode::FORBIDDEN, "origin not allowed by any site").into_response();
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    add_headers(&mut response, origin);
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, GET, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(PREFLIGHT_MAX_AGE_S),
    );
    response
}
