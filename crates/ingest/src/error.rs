//! Errors of importing events.

use std::path::PathBuf;

/// Result of ingest operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an import stopped. Whatever the reason, nothing was committed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file could not be opened or read.
    #[error("{path}: {source}")]
    Read {
        /// The input file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The directory of a new local table could not be created.
    #[error("creating the table directory {path}: {source}")]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A gzip input ended early or is corrupt.
    #[error("{path}: broken gzip stream after line {line}: {source}")]
    Gzip {
        /// The input file.
        path: PathBuf,
        /// The last complete line read.
        line: u64,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },
    /// More lines were rejected than `max_errors` allows.
    #[error(
        "{rejected} lines rejected, more than --max-errors {max_errors}; nothing was committed. First: {first}"
    )]
    TooManyRejected {
        /// Lines rejected when the import stopped.
        rejected: u64,
        /// The bound.
        max_errors: u64,
        /// The first rejection, with file and line.
        first: String,
    },
    /// The data file writer stopped; the error that stopped it is the one reported.
    #[error("the data file writer stopped")]
    WriterStopped,
    /// The input held no event at all.
    #[error("no events in the input; nothing was committed")]
    NoEvents,
    /// The table could not be reached or opened.
    #[error(transparent)]
    Table(#[from] heatlake_table::Error),
    /// A Parquet setting is invalid.
    #[error("parquet settings: {0}")]
    Parquet(#[source] parquet::errors::ParquetError),
    /// Arrow failed while sorting a batch.
    #[error("sorting events: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}
