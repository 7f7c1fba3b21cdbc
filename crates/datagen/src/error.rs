//! Why generation failed.

use std::path::PathBuf;

/// Result of data generation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the data generator: a configuration it cannot honour, or an output it cannot write.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A [`GenConfig`](crate::GenConfig) field holds a value outside its documented range.
    #[error("invalid generator configuration: `{field}` = {value} {rule}")]
    Config {
        /// Name of the configuration field.
        field: &'static str,
        /// The value given, as text.
        value: String,
        /// The rule it breaks, phrased to follow the value.
        rule: String,
    },
    /// Writing NDJSON to a caller-supplied writer failed.
    #[error("while writing NDJSON: {source}")]
    Write {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Creating, writing or finishing a file failed.
    #[error("while writing {}: {source}", path.display())]
    File {
        /// The file or directory concerned.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet writer refused a batch or failed to finish a file.
    #[error("while writing Parquet file {}: {source}", path.display())]
    Parquet {
        /// The Parquet file being written.
        path: PathBuf,
        /// The Parquet error.
        #[source]
        source: parquet::errors::ParquetError,
    },
}

impl Error {
    pub(crate) fn config(
        field: &'static str,
        value: impl ToString,
        rule: impl Into<String>,
    ) -> Self {
        Self::Config {
            field,
            value: value.to_string(),
            rule: rule.into(),
        }
    }
}
