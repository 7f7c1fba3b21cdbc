//! `GET /t.js`: the browser tracker, embedded in the binary so that a collector serves it with no
//! other file. Its source is `tracker/src/heatlake.js`; `tracker/build.mjs` builds the committed
//! `tracker/dist/heatlake.js` this includes (`docs/tracker.md`).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The tracker script as built.
pub const TRACKER_JS: &str = include_str!("../../../../tracker/dist/heatlake.js");

/// How long browsers and CDNs may use the script without asking again, in seconds; after that they
/// revalidate with the ETag, so a new collector version reaches pages within this time.
pub(crate) const TRACKER_MAX_AGE_S: u32 = 3600;

/// The script's ETag: a hash of its bytes (SipHash with fixed keys: the same in every process).
static TRACKER_ETAG: LazyLock<HeaderValue> = LazyLock::new(|| {
    let mut hasher = DefaultHasher::new();
    TRACKER_JS.hash(&mut hasher);
    HeaderValue::from_str(&format!("\"{:016x}\"", hasher.finish()))
        .expect("hex digits in quotes are a valid header value")
});

/// Handles `GET /t.js`: the script, or 304 when the browser's copy is current.
pub(crate) async fn get_tracker(headers: HeaderMap) -> Response {
    let etag = &*TRACKER_ETAG;
    let cached = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == etag.to_str().unwrap_or_default() || tag.trim() == "*");
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, TRACKER_JS).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={TRACKER_MAX_AGE_S}"))
            .expect("a valid header value"),
    );
    headers.insert(header::ETAG, etag.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
