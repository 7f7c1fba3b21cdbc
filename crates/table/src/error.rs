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
    /// The store replaced an object that a create-if-absent put should have refused.
    #[error(
        "{location}: the store does not refuse to create an object that exists (it ignores `If-None-Match: *`), so two writers could replace each other's commits; Heatlake writes only to stores that honour conditional writes (AWS S3, MinIO, Cloudflare R2, a local file system with hard links)"
    )]
    ConditionalPutIgnored {
        /// The table location.
        location: String,
    },
    /// The object store failed outside Delta Lake.
    #[error("table {location}: the object store failed")]
    Store {
        /// The table location.
        location: String,
        /// The underlying error.
        #[source]
        source: Box<object_store::Error>,
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
        Self::recognised(location, &source.to_string()).unwrap_or_else(|| Self::Delta {
            location: location.to_string(),
            source: Box::new(source),
        })
    }

    /// Wraps an object store error as [`Error::delta`] wraps a Delta Lake one.
    pub fn store(location: &TableLocation, source: object_store::Error) -> Self {
        Self::recognised(location, &source.to_string()).unwrap_or_else(|| Self::Store {
            location: location.to_string(),
            source: Box::new(source),
        })
    }

    /// A missing bucket or refused credentials, from the store's error text.
    fn recognised(location: &TableLocation, text: &str) -> Option<Self> {
        if text.contains("NoSuchBucket") {
            return Some(Self::BucketNotFound {
                bucket: location.url().host_str().unwrap_or_default().to_owned(),
                location: location.to_string(),
            });
        }
        [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "ExpiredToken",
        ]
        .into_iter()
        .find(|code| text.contains(code))
        .map(|code| Self::AccessDenied {
            location: location.to_string(),
            reason: code.to_owned(),
        })
    }
}
