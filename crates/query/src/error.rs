//! Errors of querying.

use arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use parquet::errors::ParquetError;

/// Result of query operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a query could not run or its result could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The table could not be reached or opened.
    #[error(transparent)]
    Table(#[from] heatlake_table::Error),
    /// Planning or running the query failed (including SQL errors).
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    /// Formatting the result failed.
    #[error("writing the result")]
    Arrow(#[from] ArrowError),
    /// Writing the Parquet result failed.
    #[error("writing the result as Parquet")]
    Parquet(#[from] ParquetError),
    /// A question's parameter is wrong (empty, out of range, not parseable).
    #[error("invalid {parameter}: {message}")]
    InvalidParameter {
        /// The parameter's name, as in the parameter structs and the CLI flags.
        parameter: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The page has no event at all in this version of the table.
    #[error("unknown page: site {site:?} has no events on path {path:?}")]
    UnknownPage {
        /// The site asked for.
        site: String,
        /// The page asked for.
        path: String,
    },
    /// A scoped session was given something other than a query.
    #[error("only read-only queries are allowed: {message}")]
    NotReadOnly {
        /// What DataFusion refused.
        message: String,
    },
    /// A scoped query ran longer than its limit (it was cancelled).
    #[error("the query ran longer than its time limit of {limit:?} and was cancelled")]
    TimeLimit {
        /// The limit.
        limit: std::time::Duration,
    },
    /// A scoped query needed more memory than its limit, even after spilling what can spill.
    #[error("the query needed more than its memory limit of {bytes} bytes: {message}")]
    MemoryLimit {
        /// The limit.
        bytes: usize,
        /// What ran out.
        message: String,
    },
    /// An answer had more rows than its caller accepts.
    #[error("the answer has more than {rows_max} rows")]
    RowLimit {
        /// The most rows accepted.
        rows_max: usize,
    },
    /// A picture would have more pixels than [`crate::render::png::PICTURE_PIXELS_MAX`].
    #[error(
        "the picture would be {width_px}×{height_px} px, more than {pixels_max} pixels: narrow the question to the page's area (for example predicate=x < 4000 AND y < 8000)"
    )]
    PictureTooLarge {
        /// Width it would have.
        width_px: usize,
        /// Height it would have.
        height_px: usize,
        /// The bound.
        pixels_max: usize,
    },
    /// A function would build a value (or a batch of values) larger than its bound, or a series
    /// would have more rows than its bound; refused before anything is allocated.
    #[error(
        "function `{function}` would produce {amount} {unit}, more than {limit} ({amount_max})"
    )]
    FunctionLimit {
        /// The SQL function.
        function: String,
        /// What it would produce.
        amount: u128,
        /// `bytes`, `elements` or `rows`.
        unit: &'static str,
        /// The bound's name (`function_output_bytes_max`, `series_rows_max`).
        limit: &'static str,
        /// The bound.
        amount_max: u64,
    },
    /// A scoped query spilled more to disk than its limit.
    #[error("the query spilled more than its spill limit of {bytes} bytes to disk")]
    SpillLimit {
        /// The limit.
        bytes: u64,
    },
    /// Drawing a picture failed.
    #[error("rendering: {message}")]
    Render {
        /// What failed.
        message: String,
    },
    /// An answer is larger, encoded, than its caller accepts.
    #[error("the answer is larger than {bytes_max} bytes")]
    AnswerTooLarge {
        /// The most bytes accepted.
        bytes_max: usize,
    },
    /// An answer of several parts was asked for in an encoding that carries one (CSV, Arrow).
    #[error(
        "the answer has {} parts ({}) and this encoding carries one",
        .parts.len(),
        .parts.join(", ")
    )]
    SeveralParts {
        /// The names of the parts.
        parts: Vec<&'static str>,
    },
    /// Encoding an answer failed.
    #[error("encoding {what}")]
    Encode {
        /// What was being encoded (`the answer`, `the columns`).
        what: &'static str,
        /// What the encoder said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Writing the result to its destination failed.
    #[error("writing the result")]
    Io(#[from] std::io::Error),
}

/// What kind of failure an [`Error`] is, for callers that answer it (for example with an HTTP
/// status) without knowing the storage or the engine underneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind<'a> {
    /// A parameter of the question is wrong.
    InvalidParameter {
        /// The parameter's name.
        parameter: &'static str,
    },
    /// The SQL text does not parse or plan (unknown table, column or function, wrong types).
    InvalidQuery,
    /// The SQL is a statement other than a query.
    NotReadOnly,
    /// The page has no event in this version of the table.
    UnknownPage,
    /// The version asked for is not in the table.
    VersionNotFound,
    /// There is no table yet (nothing has been committed).
    TableNotFound,
    /// The query ran longer than its time limit.
    TimeLimit,
    /// The query needed more memory than its limit.
    MemoryLimit {
        /// What ran out, as the engine says it.
        what_ran_out: &'a str,
    },
    /// The query spilled more to disk than its limit.
    SpillLimit {
        /// The limit, in bytes.
        bytes_max: u64,
    },
    /// The answer has more rows than accepted.
    RowLimit {
        /// The most rows accepted.
        rows_max: usize,
    },
    /// The encoded answer is larger than accepted.
    AnswerTooLarge {
        /// The most bytes accepted.
        bytes_max: usize,
    },
    /// A function would build more than its bound.
    FunctionLimit {
        /// The bound's name (`function_output_bytes_max`, `series_rows_max`).
        limit: &'static str,
    },
    /// A picture would have more pixels than its bound.
    PictureTooLarge,
    /// An answer of several parts was asked for in an encoding that carries one.
    SeveralParts {
        /// The names of the parts.
        parts: &'a [&'static str],
    },
    /// Drawing a picture failed.
    Render,
    /// Encoding an answer failed.
    Encode,
    /// The storage, the engine or the output failed: nothing the question can change.
    Failed,
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind<'_> {
        match self {
            Self::InvalidParameter { parameter, .. } => ErrorKind::InvalidParameter { parameter },
            Self::NotReadOnly { .. } => ErrorKind::NotReadOnly,
            Self::UnknownPage { .. } => ErrorKind::UnknownPage,
            Self::Table(heatlake_table::Error::VersionNotFound { .. }) => {
                ErrorKind::VersionNotFound
            }
            Self::Table(heatlake_table::Error::TableNotFound { .. }) => ErrorKind::TableNotFound,
            Self::TimeLimit { .. } => ErrorKind::TimeLimit,
            Self::MemoryLimit { message, .. } => ErrorKind::MemoryLimit {
                what_ran_out: message,
            },
            Self::SpillLimit { bytes } => ErrorKind::SpillLimit { bytes_max: *bytes },
            Self::RowLimit { rows_max } => ErrorKind::RowLimit {
                rows_max: *rows_max,
            },
            Self::AnswerTooLarge { bytes_max } => ErrorKind::AnswerTooLarge {
                bytes_max: *bytes_max,
            },
            Self::FunctionLimit { limit, .. } => ErrorKind::FunctionLimit { limit },
            Self::PictureTooLarge { .. } => ErrorKind::PictureTooLarge,
            Self::SeveralParts { parts } => ErrorKind::SeveralParts { parts },
            Self::Render { .. } => ErrorKind::Render,
            Self::Encode { .. } => ErrorKind::Encode,
            Self::DataFusion(error) if is_query_mistake(error) => ErrorKind::InvalidQuery,
            Self::Table(_)
            | Self::DataFusion(_)
            | Self::Arrow(_)
            | Self::Parquet(_)
            | Self::Io(_) => ErrorKind::Failed,
        }
    }

    /// Whether the question, not the server or the storage, is at fault: a changed question
    /// (other parameters, SQL, version, a narrower segment) can succeed where this one failed.
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self.kind(),
            ErrorKind::TableNotFound | ErrorKind::Render | ErrorKind::Encode | ErrorKind::Failed
        )
    }

    /// The message for a person on one line, without backtraces: this error's own message,
    /// followed by its direct cause's where the message is only the context of that cause.
    pub fn message(&self) -> String {
        match self {
            Self::DataFusion(error) => error.strip_backtrace(),
            Self::Arrow(source) => format!("{self}: {source}"),
            Self::Parquet(source) => format!("{self}: {source}"),
            Self::Io(source) => format!("{self}: {source}"),
            Self::Encode { source, .. } => format!("{self}: {source}"),
            other => other.to_string(),
        }
    }
}

/// Errors caused by the query text rather than by the server or the storage.
fn is_query_mistake(error: &DataFusionError) -> bool {
    match error.find_root() {
        DataFusionError::SQL(..)
        | DataFusionError::Plan(..)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(..)
        | DataFusionError::Execution(..)
        | DataFusionError::ArrowError(..)
        | DataFusionError::Configuration(..) => true,
        DataFusionError::ParquetError(error) => is_filter_predicate_failure(error),
        _ => false,
    }
}

/// How DataFusion 55 wraps the failure of a filter it pushed into the Parquet reader
/// (`datafusion-datasource-parquet`'s `row_filter.rs`): an `ArrowError::ComputeError` with
/// this text, which the reader returns as a `ParquetError::External`.
const FILTER_PREDICATE_FAILED: &str = "Error evaluating filter predicate";

/// Whether a Parquet reader's error is the query's own filter failing on the rows (a cast of
/// a text that is no number, say), which the same filter evaluated above the scan reports as
/// an Arrow error: the question's fault, not the storage's.
fn is_filter_predicate_failure(error: &ParquetError) -> bool {
    let ParquetError::External(inner) = error else {
        return false;
    };
    matches!(
        inner.downcast_ref::<ArrowError>(),
        Some(ArrowError::ComputeError(message)) if message.starts_with(FILTER_PREDICATE_FAILED)
    )
}

impl From<Error> for DataFusionError {
    fn from(error: Error) -> Self {
        match error {
            Error::DataFusion(error) => error,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}
