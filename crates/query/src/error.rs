//! Errors of querying.

use datafusion::error::DataFusionError;

/// Result of query operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a query could not run or its result could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The table could not be reached or opened.
    #[error(transparent)]
    Table(#[from] heatlake_table::Error),
    /// Planning or running the query failed (including SQL errors).
    #[error("{0}")]
    DataFusion(#[from] DataFusionError),
    /// Formatting the result failed.
    #[error("writing the result: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Writing the Parquet result failed.
    #[error("writing the result as Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
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
    /// Writing the result to its destination failed.
    #[error("writing the result: {0}")]
    Io(#[from] std::io::Error),
}

impl From<Error> for DataFusionError {
    fn from(error: Error) -> Self {
        match error {
            Error::DataFusion(error) => error,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}
