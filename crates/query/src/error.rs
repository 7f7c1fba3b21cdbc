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
