//! Answers of the read routes: the format a client asks for, the response of an answer encoded
//! by the query crate (JSON, CSV, Arrow IPC stream) or of a picture (PNG), and the refusals of
//! the query layer as HTTP errors.

use std::borrow::Cow;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use heatlake_query::answer::{Answer, Encoding};
use heatlake_query::{Error as QueryError, ErrorKind};

use crate::config::ReadsConfig;
use crate::error::{ApiError, Reason};

/// Media type of an Arrow IPC stream.
pub const ARROW_STREAM_TYPE: &str = "application/vnd.apache.arrow.stream";
/// Response header carrying the table version an answer was read from.
pub const VERSION_HEADER: &str = "heatlake-table-version";

/// An answer's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: `{"version", "columns", "rows"}` with rows as objects.
    Json,
    /// `text/csv` with a header line.
    Csv,
    /// An Arrow IPC stream (schema, then record batches).
    Arrow,
    /// `image/png` (heatmaps only).
    Png,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Arrow => "arrow",
            Self::Png => "png",
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Arrow => ARROW_STREAM_TYPE,
            Self::Png => "image/png",
        }
    }

    /// The format of a request: `?format=` if given, else the first type of `Accept` that one of
    /// `offered` serves (`*/*`, no `Accept`: JSON); 406 when none.
    pub fn negotiate(
        headers: &HeaderMap,
        format_parameter: Option<&str>,
        offered: &[Format],
    ) -> Result<Self, ApiError> {
        let names = || {
            offered
                .iter()
                .map(|format| format.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(name) = format_parameter {
            return offered
                .iter()
                .copied()
                .find(|format| format.name() == name)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        Reason::Invalid,
                        format!("format {name:?} is not offered here (one of {})", names()),
                    )
                });
        }
        let Some(accept) = headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
        else {
            return Ok(Self::Json);
        };
        for media in accept.split(',') {
            let media = media.split(';').next().unwrap_or("").trim();
            let found = match media {
                "*/*" | "application/*" | "application/json" => Some(Self::Json),
                "text/csv" | "text/*" => Some(Self::Csv),
                ARROW_STREAM_TYPE => Some(Self::Arrow),
                "image/png" | "image/*" => Some(Self::Png),
                _ => None,
            };
            if let Some(format) = found.filter(|format| offered.contains(format)) {
                return Ok(format);
            }
        }
        Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            Reason::NotAcceptable,
            format!(
                "none of the accepted types ({accept}) is offered here; offered: {} (or ?format=)",
                offered
                    .iter()
                    .map(|format| format.media_type())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

impl Format {
    /// The query crate's encoding of a table answer in this format; 406 for PNG, which only a
    /// picture answer has.
    fn encoding(self) -> Result<Encoding, ApiError> {
        match self {
            Self::Json => Ok(Encoding::Json),
            Self::Csv => Ok(Encoding::Csv),
            Self::Arrow => Ok(Encoding::ArrowStream),
            Self::Png => Err(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                Reason::NotAcceptable,
                "PNG is offered for page-mode heatmaps only",
            )),
        }
    }
}

/// `answer` encoded in `format` within `answer_bytes_max`, as a response.
pub(crate) fn encode(
    answer: &Answer,
    format: Format,
    limits: &ReadsConfig,
) -> Result<Response, ApiError> {
    let body = answer
        .encode(format.encoding()?, limits.answer_bytes_max)
        .map_err(query_error(limits))?;
    Ok(respond(format, answer.version(), body))
}

/// The response: body, content type and the table version header.
pub(crate) fn respond(format: Format, version: u64, body: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    headers.insert(VERSION_HEADER, HeaderValue::from(version));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn internal(message: String) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Reason::Internal, message)
}

/// Maps the query layer's errors to HTTP: bad parameters and SQL 400, unknown page, version or
/// table 404, time limit 408, memory, spill, row, function-output and picture limits 413,
/// anything else 500 (a message, never a backtrace).
pub(crate) fn query_error(limits: &ReadsConfig) -> impl Fn(QueryError) -> ApiError + '_ {
    move |error| {
        let message = error.message();
        match error.kind() {
            ErrorKind::InvalidParameter { parameter } => {
                let mut api = ApiError::bad_request(message);
                api.body.field = Some(parameter);
                api
            }
            ErrorKind::NotReadOnly => {
                ApiError::new(StatusCode::BAD_REQUEST, Reason::NotReadOnly, message)
            }
            ErrorKind::UnknownPage => {
                ApiError::new(StatusCode::NOT_FOUND, Reason::UnknownPage, message)
            }
            ErrorKind::VersionNotFound => {
                ApiError::new(StatusCode::NOT_FOUND, Reason::UnknownVersion, message)
            }
            ErrorKind::TableNotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                Reason::NoTable,
                format!("{message} (nothing has been committed yet)"),
            ),
            ErrorKind::TimeLimit => named_limit(
                StatusCode::REQUEST_TIMEOUT,
                Reason::TimeLimit,
                "query_time_max_ms",
                format!(
                    "the query ran longer than query_time_max_ms ({} ms) and was cancelled",
                    limits.query_time_max_ms
                ),
            ),
            ErrorKind::MemoryLimit { what_ran_out } => named_limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                Reason::MemoryLimit,
                "query_memory_bytes_max",
                format!(
                    "the query needed more than query_memory_bytes_max ({} bytes) even after spilling: {what_ran_out}",
                    limits.query_memory_bytes_max
                ),
            ),
            ErrorKind::RowLimit { rows_max } => named_limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                Reason::TooLarge,
                "answer_rows_max",
                format!(
                    "the answer has more than answer_rows_max ({rows_max}) rows: narrow the question or add LIMIT"
                ),
            ),
            ErrorKind::AnswerTooLarge { bytes_max } => ApiError::limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                "answer_bytes_max",
                format!(
                    "the answer is larger than answer_bytes_max ({bytes_max} bytes): narrow the question or add LIMIT"
                ),
                None,
            ),
            ErrorKind::SpillLimit { bytes_max } => named_limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                Reason::MemoryLimit,
                "query_spill_bytes_max",
                format!(
                    "the query needed more than query_memory_bytes_max ({} bytes) in memory and query_spill_bytes_max ({bytes_max} bytes) on disk",
                    limits.query_memory_bytes_max
                ),
            ),
            ErrorKind::FunctionLimit { limit } => named_limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                Reason::TooLarge,
                limit,
                message,
            ),
            ErrorKind::PictureTooLarge => named_limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                Reason::TooLarge,
                "picture_pixels_max",
                message,
            ),
            ErrorKind::SeveralParts { parts } => ApiError::bad_request(format!(
                "this answer has {} parts ({}): CSV and Arrow carry one, choose it with `part=`",
                parts.len(),
                parts.join(", ")
            )),
            ErrorKind::Render => {
                tracing::warn!(error = %message, "drawing a picture failed");
                internal(message)
            }
            ErrorKind::Encode => internal(message),
            ErrorKind::InvalidQuery => {
                ApiError::new(StatusCode::BAD_REQUEST, Reason::InvalidQuery, message)
            }
            _ => {
                tracing::warn!(error = %message, "read query failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Reason::QueryFailed,
                    message,
                )
            }
        }
    }
}

fn named_limit(
    status: StatusCode,
    reason: Reason,
    limit: &'static str,
    message: String,
) -> ApiError {
    let mut api = ApiError::new(status, reason, message);
    api.body.limit = Some(Cow::Borrowed(limit));
    api
}
