//! Errors: [`Error`] for starting and running the server, [`ApiError`] for one refused request.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use heatlake_model::ValidationError;
use serde::Serialize;

use crate::config::ConfigParseError;
use crate::sink::SinkError;

/// Result of server operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {path}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML of the expected shape (unknown keys included).
    #[error("invalid configuration file {path}")]
    ParseConfig {
        /// The file.
        path: PathBuf,
        /// The parser's error, naming the key and its line.
        source: ConfigParseError,
    },
    /// The configuration breaks a rule (duplicate key, bad site id, zero bound, ...).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A file or socket operation failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The sink failed to stop cleanly.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl Error {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Why a request was refused: the `reason` of the error body and of the rejection metrics.
///
/// The set is closed: `docs/collector.md` and `docs/http-api.md` document every reason in their
/// status code tables, and a test checks the tables against [`Reason::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A malformed request or event, or a bad parameter (400).
    Invalid,
    /// No write key (401).
    MissingKey,
    /// A write key (or metrics token) no site has (401).
    UnknownKey,
    /// The `Origin` is not allowed for the key's site (403).
    Origin,
    /// An event's or batch's `site` is not the key's site (403).
    WrongSite,
    /// A size or count bound (413), its name in `limit`.
    TooLarge,
    /// A `Content-Type` or `Content-Encoding` not accepted (415).
    UnsupportedMediaType,
    /// The site's rate bound (429).
    RateLimited,
    /// A bound on requests, memory or the WAL, or not ready or stopping (503).
    Unavailable,
    /// The sink's storage failed a write (a full disk, an I/O error) and is recovering (503,
    /// with `Retry-After`).
    StorageUnavailable,
    /// The sink could not store or could not open (500).
    SinkFailed,
    /// No read key, an unknown one, or none configured (401).
    Unauthorized,
    /// The read key may not read the question's site (403).
    SiteNotAllowed,
    /// SQL that does not parse or plan (400).
    InvalidQuery,
    /// A statement other than a query (400).
    NotReadOnly,
    /// The page has no event in this table version (404).
    UnknownPage,
    /// The table version is past the latest (404).
    UnknownVersion,
    /// Nothing has been committed yet (404).
    NoTable,
    /// No accepted type is offered by the route (406).
    NotAcceptable,
    /// The query ran longer than its time bound (408).
    TimeLimit,
    /// The query needed more memory or spill space than its bounds (413).
    MemoryLimit,
    /// The storage or the engine failed (500).
    QueryFailed,
    /// Encoding an answer or drawing a picture failed (500).
    Internal,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Self; 23] = [
        Self::Invalid,
        Self::MissingKey,
        Self::UnknownKey,
        Self::Origin,
        Self::WrongSite,
        Self::TooLarge,
        Self::UnsupportedMediaType,
        Self::RateLimited,
        Self::Unavailable,
        Self::StorageUnavailable,
        Self::SinkFailed,
        Self::Unauthorized,
        Self::SiteNotAllowed,
        Self::InvalidQuery,
        Self::NotReadOnly,
        Self::UnknownPage,
        Self::UnknownVersion,
        Self::NoTable,
        Self::NotAcceptable,
        Self::TimeLimit,
        Self::MemoryLimit,
        Self::QueryFailed,
        Self::Internal,
    ];

    /// The reason as the error body and the metrics label write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::MissingKey => "missing_key",
            Self::UnknownKey => "unknown_key",
            Self::Origin => "origin",
            Self::WrongSite => "wrong_site",
            Self::TooLarge => "too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::StorageUnavailable => "storage_unavailable",
            Self::SinkFailed => "sink_failed",
            Self::Unauthorized => "unauthorized",
            Self::SiteNotAllowed => "site_not_allowed",
            Self::InvalidQuery => "invalid_query",
            Self::NotReadOnly => "not_read_only",
            Self::UnknownPage => "unknown_page",
            Self::UnknownVersion => "unknown_version",
            Self::NoTable => "no_table",
            Self::NotAcceptable => "not_acceptable",
            Self::TimeLimit => "time_limit",
            Self::MemoryLimit => "memory_limit",
            Self::QueryFailed => "query_failed",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A refused request: its status and the JSON body.
///
/// The body is `{"error": "...", "reason": "...", ...}` with `limit` naming the bound at a limit,
/// and `index`, `field`, `value`, `rule` naming the first invalid event.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The JSON body (boxed: errors travel through every `Result` of a request).
    pub body: Box<ErrorBody>,
}

/// The JSON body of a refused request.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// Why, as a stable label (also the `reason` label of the rejection metrics).
    pub reason: Reason,
    /// The named bound that was reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Cow<'static, str>>,
    /// Index of the offending event in the request body (0-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    /// The offending value, shortened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The rule the event breaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Seconds to wait before retrying (also sent as `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

/// Longest text an error body or log line shows of one message, value or rule, in bytes.
pub const ERROR_TEXT_BYTES_MAX: usize = 1024;

/// `text` as an error may show it: scrubbed like a stored value (an error quotes what a client
/// sent, and error bodies and logs must not carry what the table may not), and shortened to
/// [`ERROR_TEXT_BYTES_MAX`].
pub fn shown(text: String) -> String {
    let mut shown = heatlake_model::error::shown_text(&text);
    if shown.len() > ERROR_TEXT_BYTES_MAX {
        let mut end = ERROR_TEXT_BYTES_MAX - 3;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        shown.truncate(end);
        shown.push_str("...");
    }
    shown
}

impl ApiError {
    /// An error with a status, reason label and message (shown only after [`shown`]).
    pub fn new(status: StatusCode, reason: Reason, error: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                error: shown(error.into()),
                reason,
                limit: None,
                index: None,
                field: None,
                value: None,
                rule: None,
                retry_after_s: None,
            }),
        }
    }

    /// The reason label.
    pub fn reason(&self) -> Reason {
        self.body.reason
    }

    /// A named bound reached: `status` 413, 429 or 503, with `Retry-After` when retrying helps.
    pub fn limit(
        status: StatusCode,
        limit: &'static str,
        error: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let reason = match status {
            StatusCode::PAYLOAD_TOO_LARGE => Reason::TooLarge,
            StatusCode::TOO_MANY_REQUESTS => Reason::RateLimited,
            _ => Reason::Unavailable,
        };
        let mut api = Self::new(status, reason, error);
        api.body.limit = Some(Cow::Borrowed(limit));
        api.body.retry_after_s = retry_after.map(|wait| wait.as_secs_f64().ceil().max(1.0) as u64);
        api
    }

    /// 503 while the sink's storage recovers from a failed write, with `Retry-After`.
    pub fn storage_unavailable(error: impl Into<String>, retry_after: Duration) -> Self {
        let mut api = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Reason::StorageUnavailable,
            error,
        );
        api.body.retry_after_s = Some(retry_after.as_secs_f64().ceil().max(1.0) as u64);
        api
    }

    /// 400 for the event at `index` of the body.
    pub fn invalid_event(index: usize, error: ValidationError) -> Self {
        let mut api = Self::new(
            StatusCode::BAD_REQUEST,
            Reason::Invalid,
            format!("event {index}: {error}"),
        );
        api.body.index = Some(index);
        match error {
            ValidationError::Field { field, value, rule } => {
                api.body.field = Some(field);
                api.body.value = Some(shown(value));
                api.body.rule = Some(shown(rule));
            }
            ValidationError::Malformed { message } => api.body.rule = Some(shown(message)),
        }
        api
    }

    /// 400 for a malformed request (not about one event).
    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Reason::Invalid, error)
    }
}

impl From<SinkError> for ApiError {
    fn from(error: SinkError) -> Self {
        let message = error.to_string();
        match error {
            SinkError::Full {
                limit, retry_after, ..
            } => {
                let mut api = Self::limit(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "collector_full",
                    message,
                    Some(retry_after),
                );
                api.body.limit = Some(Cow::Owned(limit));
                api
            }
            SinkError::TooLarge { limit, .. } => {
                let mut api = Self::limit(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "record_bytes_max",
                    message,
                    None,
                );
                api.body.limit = Some(Cow::Owned(limit));
                api
            }
            SinkError::StorageUnavailable { retry_after, .. } => {
                Self::storage_unavailable(message, retry_after)
            }
            SinkError::ShuttingDown => Self::limit(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                message,
                Some(Duration::from_secs(5)),
            ),
            SinkError::NotReady => Self::limit(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                message,
                Some(Duration::from_secs(1)),
            ),
            SinkError::Append(_) | SinkError::Open(_) | SinkError::Shutdown(_) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                Reason::SinkFailed,
                message,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.body.retry_after_s {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
            .extensions_mut()
            .insert(RejectionReason(self.body.reason));
        response
    }
}

/// The reason label of a refused request, carried to the metrics layer in the response.
#[derive(Debug, Clone, Copy)]
pub struct RejectionReason(pub Reason);

/// A JSON response with status 200.
pub fn json_ok(value: &serde_json::Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
