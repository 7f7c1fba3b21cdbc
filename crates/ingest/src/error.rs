//! Errors of importing events.

use std::fmt;
use std::path::PathBuf;

use crate::import::Rejection;

/// Result of ingest operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an import stopped. Whatever the reason, nothing was committed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file could not be opened or read.
    #[error("cannot read {path}")]
    Read {
        /// The input file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The directory of a new local table could not be created.
    #[error("cannot create the table directory {path}")]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A gzip input ended early or is corrupt.
    #[error("{path}: broken gzip stream after line {line}")]
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
        first: Box<Rejection>,
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
    #[error("invalid Parquet settings")]
    Parquet(#[source] parquet::errors::ParquetError),
    /// The flusher's runtime (its threads) could not be started.
    #[error("starting the flusher's threads")]
    FlushRuntime(#[source] std::io::Error),
    /// The write-ahead log could not be read or written.
    #[error("write-ahead log {path}")]
    Wal {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The write-ahead log could not be brought back to a known state after a failed write or
    /// sync (cutting its active segment back, starting a fresh one): it is tried again.
    #[error("the write-ahead log has not recovered from a failed write ({attempts} attempts)")]
    WalRecovery {
        /// Recovery attempts so far.
        attempts: u64,
        /// Why the latest attempt failed.
        #[source]
        source: Box<Error>,
    },
    /// The write-ahead log holds something that is not a sequence of whole records where whole
    /// records must be (not a torn tail, which is cut at start-up).
    #[error("write-ahead log {path} is damaged at byte {offset}: {reason}")]
    WalDamaged {
        /// The segment file or directory.
        path: PathBuf,
        /// Where in the file.
        offset: u64,
        /// What was found.
        reason: String,
    },
    /// The table says this collector committed WAL records that its WAL directory does not
    /// hold: the directory belongs to another collector, or was replaced.
    #[error(
        "the table holds WAL records up to {committed_seq} of {app_id}, but the WAL in {dir} ends at {wal_seq}: is this the WAL directory of that collector?"
    )]
    WalBehindTable {
        /// The WAL directory.
        dir: PathBuf,
        /// The last record in the WAL.
        wal_seq: u64,
        /// The last record the table holds.
        committed_seq: u64,
        /// The collector's transaction id.
        app_id: String,
    },
    /// Shutdown gave up committing; the events stay in the WAL and are committed at the next
    /// start.
    #[error(
        "{events} events could not be committed before shutdown; they stay in the write-ahead log for the next start"
    )]
    FlushAbandoned {
        /// Events left in the WAL.
        events: u64,
        /// The last failure.
        #[source]
        source: Box<Error>,
    },
    /// An option is out of its range.
    #[error("{option}: {message}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Compaction read a different number of rows from a partition than its files hold;
    /// nothing was committed for it.
    #[error(
        "compacting site={site}/date={date}: the files hold {expected} rows but {found} were read; nothing was committed"
    )]
    CompactionMismatch {
        /// The partition's site.
        site: String,
        /// The partition's date.
        date: String,
        /// Rows in the partition's files, from the Delta log.
        expected: u64,
        /// Rows read and rewritten.
        found: u64,
    },
    /// Other writers committed before every attempt of a rewrite; nothing was committed for it.
    #[error(
        "{location}: other writers committed first {attempts} times in a row; the rewrite was not committed"
    )]
    RewriteContended {
        /// The table.
        location: String,
        /// Commit attempts made.
        attempts: usize,
    },
    /// A commit reported an error, and reading the log afterwards to learn whether it landed
    /// failed too: its data files were kept, so that the table is whole either way.
    #[error(
        "{location}: the commit reported an error and whether it landed could not be checked; its {files} data files were kept: look at the table's latest version before importing again"
    )]
    CommitOutcomeUnknown {
        /// The table.
        location: String,
        /// Data files of the commit, kept in the table's directory.
        files: usize,
        /// The commit's error.
        #[source]
        source: Box<Error>,
    },
    /// The query engine failed while merging files.
    #[error("merging data files")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow failed while sorting a batch.
    #[error("sorting events")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// An error and its causes on one line, each said once (`message: cause: cause`), for logs
/// that have no binary to print the chain.
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}
