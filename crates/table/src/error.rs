//! Errors of reaching the table.

use crate::TableLocation;

/// Result of table operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the table could not be reached, opened or created.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The location string is not a path or a supported URL.
    #[error("invalid table location {location:?}: {reason}")]
    InvalidLocation {
        /// The location as given.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing at the location is a Delta table.
    #[error(
        "no table at {location}: import data first (`heatlake import --table {location} FILE`)"
    )]
    TableNotFound {
        /// The table location.
        location: String,
    },
    /// The requested version does not exist.
    #[error("table {location} has no version {version}")]
    VersionNotFound {
        /// The table location.
        location: String,
        /// The version asked for.
        version: u64,
    },
    /// Delta Lake or the object store failed.
    #[error("table {location}: {source}")]
    Delta {
        /// The table location.
        location: String,
        /// The underlying error.
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
}

impl Error {
    /// Wraps a Delta Lake error with the location it happened at.
    pub fn delta(location: &TableLocation, source: deltalake::DeltaTableError) -> Self {
        Self::Delta {
            location: location.to_string(),
            source: Box::new(source),
        }
    }
}
