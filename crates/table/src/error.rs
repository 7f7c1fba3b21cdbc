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
    /// A data file's entry in the Delta log is not one Heatlake can read.
    #[error("table {location}: data file {path}: {message}")]
    BadDataFile {
        /// The table.
        location: String,
        /// The data file, relative to the table.
        path: String,
        /// What is wrong.
        message: String,
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
    #[error("table {location} has no version {version} (its latest is {latest})")]
    VersionNotFound {
        /// The table location.
        location: String,
        /// The version asked for.
        version: u64,
        /// The latest version.
        latest: u64,
    },
    /// The bucket of an `s3://` location does not exist.
    #[error("bucket {bucket} does not exist (table {location})")]
    BucketNotFound {
        /// The bucket name.
        bucket: String,
        /// The table location.
        location: String,
    },
    /// The store refused the credentials.
    #[error("access to {location} denied: {reason}")]
    AccessDenied {
        /// The table location.
        location: String,
        /// What the store said, shortened.
        reason: String,
    },
    /// Delta Lake or the object store failed.
    #[error("table {location}")]
    Delta {
        /// The table location.
        location: String,
        /// The underlying error.
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
}

impl Error {
    /// Wraps a Delta Lake error with the location it happened at, recognising the store errors a
    /// user can act on (a missing bucket, refused credentials) so they read as one plain line.
    pub fn delta(location: &TableLocation, source: deltalake::DeltaTableError) -> Self {
        let text = source.to_string();
        if text.contains("NoSuchBucket") {
            return Self::BucketNotFound {
                bucket: location.url().host_str().unwrap_or_default().to_owned(),
                location: location.to_string(),
            };
        }
        for code in [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "ExpiredToken",
        ] {
            if text.contains(code) {
                return Self::AccessDenied {
                    location: location.to_string(),
                    reason: code.to_owned(),
                };
            }
        }
        Self::Delta {
            location: location.to_string(),
            source: Box::new(source),
        }
    }
}
