//! The handlers of the read routes. Each reads like its contract: the read key ([`ReadGrant`],
//! 401), the parameters (400), then [`prepare`] (format 406, site 403, version 400, permit 503,
//! session 404) and the question, answered under the limits.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use heatlake_query::ScopedSession;
use heatlake_query::analytics::heatmap::HeatmapMode;
use heatlake_query::analytics::question::Question;
use heatlake_query::answer::Answer;
use heatlake_query::render::picture::{off_runtime, picture_drawing};
use serde::Deserialize;

use super::answer::{Format, encode, query_error, respond};
use super::params::{self, Query};
use super::{ReadGrant, Reader};
use crate::error::ApiError;
use crate::state::AppState;

const TABLES: &[Format] = &[Format::Json, Format::Csv, Format::Arrow];
const TABLES_AND_PNG: &[Format] = &[Format::Json, Format::Csv, Format::Arrow, Format::Png];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/sql", post(post_sql))
        .route("/v1/heatmap", get(get_heatmap))
        .route("/v1/scroll", get(get_scroll))
        .route("/v1/ctr", get(get_ctr))
        .route("/v1/frustration", get(get_frustration))
        .route("/v1/funnel", get(get_funnel))
}

fn pairs(query: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// A question ready to run: its format, a session over the key's sites and a permit.
struct Prepared<'a> {
    reader: &'a Reader,
    format: Format,
    session: ScopedSession,
    /// Held until the answer is built (moved into the drawing of a picture).
    permit: tokio::sync::OwnedSemaphorePermit,
}

/// The checks every question shares, in order: format (406), `site` when the question names
/// one (403), `version` (its error comes here, after those), a permit (503), the session
/// (404 unknown version or no table).
async fn prepare<'a>(
    reader: &'a Reader,
    headers: &HeaderMap,
    grant: &ReadGrant,
    format_parameter: Option<&str>,
    site: Option<&str>,
    version: Result<Option<u64>, ApiError>,
    offered: &[Format],
) -> Result<Prepared<'a>, ApiError> {
    let format = Format::negotiate(headers, format_parameter, offered)?;
    if let Some(site) = site {
        grant.check_site(site)?;
    }
    let version = version?;
    let permit = reader.permit()?;
    let session = reader.session(grant, version).await?;
    Ok(Prepared {
        reader,
        format,
        session,
        permit,
    })
}

impl Prepared<'_> {
    /// The most rows a part of an answer may have.
    fn rows_max(&self) -> usize {
        self.reader.limits().answer_rows_max
    }

    /// The response of `answer`, a question run by [`ScopedSession::answer`] in this session.
    fn respond(&self, answer: heatlake_query::Result<Answer>) -> Result<Response, ApiError> {
        let limits = self.reader.limits();
        encode(&answer.map_err(query_error(limits))?, self.format, limits)
    }

    /// Runs `question` in this session and responds with its parts.
    async fn answer(self, question: &Question) -> Result<Response, ApiError> {
        let answer = self
            .session
            .answer(question.parts(), self.rows_max(), async |session| {
                question.frames(session.events()).await
            })
            .await;
        self.respond(answer)
    }
}

/// The tail every table-answered question shares: the checks of [`prepare`] with `question`'s
/// site, then its answer.
async fn ask(
    state: &AppState,
    grant: &ReadGrant,
    headers: &HeaderMap,
    query: &Query,
    question: Question,
) -> Result<Response, ApiError> {
    let site = Some(question.site());
    let prepared = prepare(
        state.reader(),
        headers,
        grant,
        query.format(),
        site,
        query.version(),
        TABLES,
    )
    .await?;
    prepared.answer(&question).await
}

/// `GET /v1/heatmap`: cells of a click or move heatmap, or its picture (`format=png`).
async fn get_heatmap(
    State(state): State<AppState>,
    grant: ReadGrant,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let reader = state.reader();
    let query = Query::parse(pairs(raw), params::HEATMAP, &[])?;
    let params = params::heatmap(&query)?;
    let offered = if params.mode == HeatmapMode::Page {
        TABLES_AND_PNG
    } else {
        TABLES
    };
    let prepared = prepare(
        reader,
        &headers,
        &grant,
        query.format(),
        Some(&params.site),
        query.version(),
        offered,
    )
    .await?;
    if prepared.format != Format::Png {
        return prepared.answer(&Question::Heatmap(params)).await;
    }
    let Prepared {
        session, permit, ..
    } = prepared;
    let drawing = session
        .run_limited(picture_drawing(session.events(), &params, None))
        .await
        .map_err(query_error(reader.limits()))?;
    // Drawn on the blocking pool; the permit goes with it, so at most concurrent_queries_max
    // pictures draw at once, even if this request is dropped.
    let picture = off_runtime(move || {
        let _permit = permit;
        drawing.render()
    })
    .await
    .map_err(query_error(reader.limits()))?;
    Ok(respond(Format::Png, session.events().version(), picture))
}

/// `GET /v1/scroll`: the summary and the reach curve (`part=summary|reach` for one of them).
async fn get_scroll(
    State(state): State<AppState>,
    grant: ReadGrant,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = Query::parse(pairs(raw), params::SCROLL, &[])?;
    ask(&state, &grant, &headers, &query, params::scroll(&query)?).await
}

/// `GET /v1/ctr`: click-through per element, or per next page (`next_pages=true`).
async fn get_ctr(
    State(state): State<AppState>,
    grant: ReadGrant,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = Query::parse(pairs(raw), params::CTR, &[])?;
    ask(&state, &grant, &headers, &query, params::ctr(&query)?).await
}

/// `GET /v1/frustration`: rage and dead clicks per element or per page.
async fn get_frustration(
    State(state): State<AppState>,
    grant: ReadGrant,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = Query::parse(pairs(raw), params::FRUSTRATION, &[])?;
    ask(
        &state,
        &grant,
        &headers,
        &query,
        params::frustration(&query)?,
    )
    .await
}

/// `GET /v1/funnel`: sessions through ordered steps (`step` repeated).
async fn get_funnel(
    State(state): State<AppState>,
    grant: ReadGrant,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = Query::parse(pairs(raw), params::FUNNEL, &["step"])?;
    ask(&state, &grant, &headers, &query, params::funnel(&query)?).await
}

/// The JSON form of a `POST /v1/sql` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlRequest {
    sql: String,
    #[serde(default)]
    version: Option<u64>,
}

/// `POST /v1/sql`: one read-only query over the key's sites. The body is the SQL text, or
/// JSON `{"sql": "...", "version": N}` with `Content-Type: application/json`. The body's
/// bound (413), its form (400) and the version's (400) come before the shared checks.
async fn post_sql(
    State(state): State<AppState>,
    grant: ReadGrant,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let reader = state.reader();
    let query = Query::parse(pairs(raw), &[], &[])?;
    let limits = reader.limits();
    // Read at most one byte past the bound: a larger body is refused, never buffered.
    let body = axum::body::to_bytes(body, limits.sql_bytes_max)
        .await
        .map_err(|_| {
            ApiError::limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                "sql_bytes_max",
                format!(
                    "the body is larger than sql_bytes_max ({} bytes), or was cut off",
                    limits.sql_bytes_max
                ),
                None,
            )
        })?;
    let (sql, body_version) = sql_body(&headers, &body)?;
    let version = match (query.version()?, body_version) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "version is given both in the query string and in the body",
            ));
        }
        (from_query, from_body) => from_query.or(from_body),
    };
    let prepared = prepare(
        reader,
        &headers,
        &grant,
        query.format(),
        None,
        Ok(version),
        TABLES,
    )
    .await?;
    let answer = prepared
        .session
        .answer(&["result"], prepared.rows_max(), async |session| {
            Ok(vec![session.plan(&sql).await?])
        })
        .await;
    prepared.respond(answer)
}

fn sql_body(headers: &HeaderMap, body: &Bytes) -> Result<(String, Option<u64>), ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    let (sql, version) = if is_json {
        let request: SqlRequest = serde_json::from_slice(body).map_err(|error| {
            ApiError::bad_request(format!(
                "the body is not JSON {{\"sql\": \"...\", \"version\": N}}: {error}"
            ))
        })?;
        (request.sql, request.version)
    } else {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("the SQL text is not UTF-8"))?;
        (text.to_owned(), None)
    };
    if sql.trim().is_empty() {
        return Err(ApiError::bad_request("no SQL in the body"));
    }
    Ok((sql, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::ARROW_STREAM_TYPE;

    #[test]
    fn formats_follow_the_parameter_then_accept() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            Format::negotiate(&headers, None, TABLES).unwrap(),
            Format::Json
        );
        headers.insert(header::ACCEPT, "text/csv, */*;q=0.1".parse().unwrap());
        assert_eq!(
            Format::negotiate(&headers, None, TABLES).unwrap(),
            Format::Csv
        );
        assert_eq!(
            Format::negotiate(&headers, Some("arrow"), TABLES).unwrap(),
            Format::Arrow
        );
        headers.insert(header::ACCEPT, ARROW_STREAM_TYPE.parse().unwrap());
        assert_eq!(
            Format::negotiate(&headers, None, TABLES).unwrap(),
            Format::Arrow
        );
        headers.insert(header::ACCEPT, "image/png".parse().unwrap());
        assert_eq!(
            Format::negotiate(&headers, None, TABLES)
                .unwrap_err()
                .status,
            StatusCode::NOT_ACCEPTABLE
        );
        assert_eq!(
            Format::negotiate(&headers, Some("png"), TABLES)
                .unwrap_err()
                .status,
            StatusCode::BAD_REQUEST
        );
    }
}
