//! `GET|POST /v1/optout[?site=S]`: sets the opt-out cookie `heatlake_optout=1`.
//!
//! The cookie belongs to the collector's host, so it opts the browser out of every site this
//! collector serves. The answer is the same whatever `site` says (known, unknown or absent), so
//! it does not tell anyone which sites a collector serves; `site` only decides which site's
//! allowed origins receive CORS headers. It lives two years. With `cookie_secure = true` (collector behind https) it
//! is `SameSite=None; Secure`, so browsers send it on the cross-site requests of a tracker;
//! otherwise `SameSite=Lax` (plain http development). It is not `HttpOnly`, so that a tracker
//! served from the collector's host can read it and stop sending.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::cors;
use crate::request::{OPTOUT_COOKIE, query_pairs, query_value};
use crate::state::AppState;

/// Lifetime of the opt-out cookie: two years, in seconds.
pub const OPTOUT_COOKIE_MAX_AGE_S: u64 = 2 * 365 * 86_400;

/// The answer's text, the same for every site.
pub const OPTED_OUT_TEXT: &str = "You have opted out: events from this browser to the sites of this collector are no longer recorded.\n";

/// Handles `GET|POST /v1/optout`.
pub async fn optout(State(state): State<AppState>, request: Request) -> Response {
    let query = query_pairs(request.uri());
    let site = query_value(&query, "site").and_then(|id| state.site_by_id(id));
    let attributes = if state.config().cookie_secure {
        "SameSite=None; Secure"
    } else {
        "SameSite=Lax"
    };
    let cookie =
        format!("{OPTOUT_COOKIE}=1; Max-Age={OPTOUT_COOKIE_MAX_AGE_S}; Path=/; {attributes}");
    let mut response = (StatusCode::OK, OPTED_OUT_TEXT).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    if let Some(origin) = cors::request_origin(request.headers())
        && let Some(site) = site
        && cors::origin_allowed(&site.config.allowed_origins, origin)
    {
        cors::add_headers(&mut response, origin);
    }
    response
}
