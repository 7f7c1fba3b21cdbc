//! What the routes that store events share, as extractors and one layer.
//!
//! ```text
//! WriteSite (write key 401, Origin 403) --pipeline: opt-out / DNT (200, nothing stored),
//!   Content-Type (415)--> BatchId (400) --> Sender --> EventBody (413, 503) --> the handler
//!   --pipeline: CORS headers on whatever the handler answers
//! ```
//!
//! `POST /v1/events` and `POST /v1/rrweb` run behind [`pipeline`]; the pixel, which answers a
//! GIF whatever happens, takes [`WriteSite`] as a `Result` and stops quietly.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::body::{check_content_type, read_body};
use crate::budget::Reservation;
use crate::cors;
use crate::error::{ApiError, Reason, json_ok};
use crate::ingest::Sender;
use crate::keys::{
    BATCH_HEADER, BATCH_PARAMETER, KEY_HEADER, KEY_PARAMETER, header_or_query, valid_batch_id,
};
use crate::request::{drop_reason, query_pairs};
use crate::state::{AppState, SiteState};

/// The site of the request's write key, whose `allowed_origins` allow the request's `Origin`
/// (if it sent one): extracting it is the write routes' authorisation.
#[derive(Clone)]
pub(crate) struct WriteSite {
    state: AppState,
    index: usize,
    origin: Option<String>,
}

impl WriteSite {
    /// The site.
    pub(crate) fn site(&self) -> &SiteState {
        self.state.site_at(self.index)
    }

    /// The request's `Origin`, allowed by the site.
    fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// 401 without a write key or with an unknown one, 403 for an `Origin` the site does not
    /// allow.
    fn of(state: &AppState, parts: &Parts) -> Result<Self, ApiError> {
        let query = query_pairs(&parts.uri);
        let Some(key) = header_or_query(&parts.headers, &query, KEY_HEADER, KEY_PARAMETER) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                Reason::MissingKey,
                "missing write key: send the header X-Heatlake-Key or the query parameter `key`",
            ));
        };
        let Some(index) = state.site_index_by_key(key) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                Reason::UnknownKey,
                "unknown write key",
            ));
        };
        let site = state.site_at(index);
        let origin = cors::request_origin(&parts.headers);
        if let Some(origin) = origin
            && !cors::origin_allowed(&site.config.allowed_origins, origin)
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                Reason::Origin,
                format!(
                    "origin {origin:?} is not allowed for site {:?} (see allowed_origins)",
                    site.config.id
                ),
            ));
        }
        Ok(Self {
            state: state.clone(),
            index,
            origin: origin.map(str::to_owned),
        })
    }
}

impl<S> FromRequestParts<S> for WriteSite
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Behind [`pipeline`], the layer has found it already.
        if let Some(site) = parts.extensions.get::<Self>() {
            return Ok(site.clone());
        }
        Self::of(&AppState::from_ref(state), parts)
    }
}

/// The layer of the routes that store events: the write key and `Origin` ([`WriteSite`]), the
/// visitor's opt-out and Do Not Track (200 with `dropped`, nothing stored), the
/// `Content-Type` (415), then the handler; every answer after the `Origin` check carries the
/// CORS headers of an allowed origin.
pub(crate) async fn pipeline(
    State(state): State<AppState>,
    site: WriteSite,
    mut request: Request,
    next: Next,
) -> Response {
    let origin = site.origin().map(str::to_owned);
    let mut response = match early_answer(&state, site.site(), request.headers()) {
        Some(response) => response,
        None => {
            request.extensions_mut().insert(site);
            next.run(request).await
        }
    };
    if let Some(origin) = origin {
        cors::add_headers(&mut response, &origin);
    }
    response
}

/// The answer before the handler, if there is one: 200 `dropped` on the visitor's wish, 415 for
/// a body that is not JSON or NDJSON.
fn early_answer(state: &AppState, site: &SiteState, headers: &HeaderMap) -> Option<Response> {
    if let Some(reason) = drop_reason(headers, site.config.honour_dnt) {
        state.metrics().dropped(reason);
        return Some(json_ok(&json!({"accepted": 0, "dropped": reason})));
    }
    check_content_type(headers)
        .err()
        .map(IntoResponse::into_response)
}

/// The client's batch id (header or `batch` parameter), if it sent one; 400 when it is not
/// 1-128 visible ASCII characters.
pub(crate) struct BatchId(pub(crate) Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for BatchId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = query_pairs(&parts.uri);
        match header_or_query(&parts.headers, &query, BATCH_HEADER, BATCH_PARAMETER) {
            Some(batch_id) if !valid_batch_id(batch_id) => Err(ApiError::bad_request(
                "the batch id must be 1-128 visible ASCII characters",
            )),
            batch_id => Ok(Self(batch_id.map(str::to_owned))),
        }
    }
}

/// The sender of the request: its `User-Agent` and its address.
impl<S> FromRequestParts<S> for Sender
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&AppState::from_ref(state), parts))
    }
}

/// The body of a request that stores events, read and decoded within the body bounds and the
/// in-flight budget ([`read_body`]).
pub(crate) struct EventBody {
    /// The decoded body.
    pub(crate) bytes: Bytes,
    /// What the body holds of the in-flight budget; given back when dropped, so keep it until
    /// the request is answered.
    pub(crate) reservation: Reservation,
}

impl<S> FromRequest<S> for EventBody
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let (parts, body) = request.into_parts();
        let mut reservation = state.inflight().empty();
        let (received_bytes, bytes) =
            read_body(&parts.headers, body, &state, &mut reservation).await?;
        state.metrics().body_bytes(received_bytes, bytes.len());
        Ok(Self { bytes, reservation })
    }
}
