//! Answers of the read routes: the format a client asks for, the encoders (JSON, CSV, Arrow IPC
//! stream, PNG) with the byte bound, and the refusals of the query layer as HTTP errors.

use std::borrow::Cow;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datafusion::error::DataFusionError;
use heatlake_query::Error as QueryError;

use crate::config::ReadsConfig;
use crate::error::ApiError;

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
                        "invalid",
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
            "not_acceptable",
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

/// One result of a question: its columns and rows.
pub struct Part {
    /// The JSON key of the part when an answer has several (scroll: `summary`, `reach`).
    pub name: &'static str,
    /// The columns.
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
}

/// Encodes `parts` read from table `version` in `format` within `answer_bytes_max`.
/// CSV and Arrow carry one part; JSON one part as `{"version", "columns", "rows"}`, several
/// as `{"version", "<name>": {"columns", "rows"}, ...}`.
pub fn encode(
    parts: &[Part],
    format: Format,
    version: u64,
    limits: &ReadsConfig,
) -> Result<Response, ApiError> {
    let bytes_max = limits.answer_bytes_max;
    let mut body = Vec::new();
    match format {
        Format::Json => {
            body.extend_from_slice(format!("{{\"version\":{version}").as_bytes());
            if let [part] = parts {
                body.push(b',');
                json_part(part, &mut body, bytes_max)?;
            } else {
                for part in parts {
                    body.extend_from_slice(format!(",\"{}\":{{", part.name).as_bytes());
                    json_part(part, &mut body, bytes_max)?;
                    body.push(b'}');
                }
            }
            body.extend_from_slice(b"}\n");
        }
        Format::Csv => {
            let part = single(parts)?;
            let empty = RecordBatch::new_empty(part.schema.clone());
            let batches = if part.batches.is_empty() {
                std::slice::from_ref(&empty)
            } else {
                part.batches.as_slice()
            };
            for (index, batch) in batches.iter().enumerate() {
                // The header once, also for an empty answer (so it still names its columns).
                arrow::csv::WriterBuilder::new()
                    .with_header(index == 0)
                    .build(&mut body)
                    .write(&neutralise_formulas(batch).map_err(encoding)?)
                    .map_err(encoding)?;
                check_bytes(body.len(), bytes_max)?;
            }
        }
        Format::Arrow => {
            let part = single(parts)?;
            let mut writer = arrow::ipc::writer::StreamWriter::try_new(&mut body, &part.schema)
                .map_err(encoding)?;
            for batch in &part.batches {
                writer.write(batch).map_err(encoding)?;
                check_bytes(writer.get_ref().len(), bytes_max)?;
            }
            writer.finish().map_err(encoding)?;
        }
        Format::Png => {
            return Err(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "not_acceptable",
                "PNG is offered for page-mode heatmaps only",
            ));
        }
    }
    check_bytes(body.len(), bytes_max)?;
    Ok(respond(format, version, body))
}

/// First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `batch` with every text cell that a spreadsheet would run as a formula prefixed with `'`, so
/// that it opens as text: a CSV answer can carry what visitors typed (element texts, paths,
/// referrers). Only text columns change (as Utf8); numbers never do, so `-1` stays `-1`.
fn neutralise_formulas(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    use arrow::array::{Array, ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    let needs_quote = |text: &str| text.starts_with(FORMULA_STARTS);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    let mut fields = Vec::with_capacity(batch.num_columns());
    for (column, field) in batch.columns().iter().zip(batch.schema().fields()) {
        let is_text = matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) || matches!(field.data_type(), DataType::Dictionary(_, value)
                if matches!(**value, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View));
        if !is_text {
            columns.push(column.clone());
            fields.push(field.clone());
            continue;
        }
        let text = arrow::compute::cast(column, &DataType::Utf8)?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8 gives a StringArray");
        let quoted: StringArray = text
            .iter()
            .map(|cell| {
                cell.map(|cell| {
                    if needs_quote(cell) {
                        Cow::Owned(format!("'{cell}"))
                    } else {
                        Cow::Borrowed(cell)
                    }
                })
            })
            .collect();
        columns.push(std::sync::Arc::new(quoted));
        fields.push(std::sync::Arc::new(Field::new(
            field.name(),
            DataType::Utf8,
            field.is_nullable(),
        )));
    }
    RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)
}

/// The response: body, content type and the table version header.
pub fn respond(format: Format, version: u64, body: Vec<u8>) -> Response {
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

fn single(parts: &[Part]) -> Result<&Part, ApiError> {
    match parts {
        [part] => Ok(part),
        _ => Err(ApiError::bad_request(format!(
            "this answer has {} parts ({}): CSV and Arrow carry one, choose it with `part=`",
            parts.len(),
            parts
                .iter()
                .map(|part| part.name)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `"columns":[{"name","type"}],"rows":[{...}]`
fn json_part(part: &Part, body: &mut Vec<u8>, bytes_max: usize) -> Result<(), ApiError> {
    let columns: Vec<_> = part
        .schema
        .fields()
        .iter()
        .map(|field| serde_json::json!({"name": field.name(), "type": field.data_type().to_string()}))
        .collect();
    body.extend_from_slice(b"\"columns\":");
    serde_json::to_writer(&mut *body, &columns)
        .map_err(|error| internal(format!("encoding the columns: {error}")))?;
    body.extend_from_slice(b",\"rows\":");
    let mut writer = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::JsonArray>(&mut *body);
    for batch in &part.batches {
        writer.write(batch).map_err(encoding)?;
        check_bytes(writer.get_ref().len(), bytes_max)?;
    }
    writer.finish().map_err(encoding)?;
    if part.batches.is_empty() {
        // The array writer writes nothing at all without rows.
        body.extend_from_slice(b"[]");
    }
    Ok(())
}

fn check_bytes(bytes: usize, bytes_max: usize) -> Result<(), ApiError> {
    if bytes > bytes_max {
        return Err(ApiError::limit(
            StatusCode::PAYLOAD_TOO_LARGE,
            "answer_bytes_max",
            format!(
                "the answer is larger than answer_bytes_max ({bytes_max} bytes): narrow the question or add LIMIT"
            ),
            None,
        ));
    }
    Ok(())
}

fn encoding(error: arrow::error::ArrowError) -> ApiError {
    internal(format!("encoding the answer: {error}"))
}

fn internal(message: String) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}

/// Maps the query layer's errors to HTTP: bad parameters and SQL 400, unknown page, version or
/// table 404, time limit 408, memory, spill, row, function-output and picture limits 413,
/// anything else 500 (a message, never a backtrace).
pub fn query_error(limits: &ReadsConfig) -> impl Fn(QueryError) -> ApiError + '_ {
    move |error| {
        let message = match &error {
            QueryError::DataFusion(inner) => inner.strip_backtrace(),
            other => other.to_string(),
        };
        match error {
            QueryError::InvalidParameter { parameter, .. } => {
                let mut api = ApiError::bad_request(message);
                api.body.field = Some(parameter);
                api
            }
            QueryError::NotReadOnly { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "not_read_only", message)
            }
            QueryError::UnknownPage { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_page", message)
            }
            QueryError::Table(heatlake_table::Error::VersionNotFound { .. }) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_version", message)
            }
            QueryError::Table(heatlake_table::Error::TableNotFound { .. }) => ApiError::new(
                StatusCode::NOT_FOUND,
                "no_table",
                format!("{message} (nothing has been committed yet)"),
            ),
            QueryError::TimeLimit { .. } => named_limit(
                StatusCode::REQUEST_TIMEOUT,
                "time_limit",
                "query_time_max_ms",
                format!(
                    "the query ran longer than query_time_max_ms ({} ms) and was cancelled",
                    limits.query_time_max_ms
                ),
            ),
            QueryError::MemoryLimit {
                message: what_ran_out,
                ..
            } => named_limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                "memory_limit",
                "query_memory_bytes_max",
                format!(
                    "the query needed more than query_memory_bytes_max ({} bytes) even after spilling: {what_ran_out}",
                    limits.query_memory_bytes_max
                ),
            ),
            QueryError::RowLimit { rows_max } => named_limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "answer_rows_max",
                format!(
                    "the answer has more than answer_rows_max ({rows_max}) rows: narrow the question or add LIMIT"
                ),
            ),
            QueryError::SpillLimit { bytes } => named_limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                "memory_limit",
                "query_spill_bytes_max",
                format!(
                    "the query needed more than query_memory_bytes_max ({} bytes) in memory and query_spill_bytes_max ({bytes} bytes) on disk",
                    limits.query_memory_bytes_max
                ),
            ),
            QueryError::FunctionLimit { limit, .. } => {
                named_limit(StatusCode::PAYLOAD_TOO_LARGE, "too_large", limit, message)
            }
            QueryError::PictureTooLarge { .. } => named_limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "picture_pixels_max",
                message,
            ),
            QueryError::Render { .. } => {
                tracing::warn!(error = %message, "drawing a picture failed");
                internal(message)
            }
            QueryError::DataFusion(inner) if is_users_mistake(&inner) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
            }
            _ => {
                tracing::warn!(error = %message, "read query failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "query_failed", message)
            }
        }
    }
}

/// Errors caused by the query text rather than by the server or the storage.
fn is_users_mistake(error: &DataFusionError) -> bool {
    matches!(
        error.find_root(),
        DataFusionError::SQL(..)
            | DataFusionError::Plan(..)
            | DataFusionError::SchemaError(..)
            | DataFusionError::NotImplemented(..)
            | DataFusionError::Execution(..)
            | DataFusionError::ArrowError(..)
            | DataFusionError::Configuration(..)
    )
}

fn named_limit(
    status: StatusCode,
    reason: &'static str,
    limit: &'static str,
    message: String,
) -> ApiError {
    let mut api = ApiError::new(status, reason, message);
    api.body.limit = Some(Cow::Borrowed(limit));
    api
}
