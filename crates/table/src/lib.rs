//! The `events` Delta Lake table on object storage: where it is, how to reach it, how to open,
//! create and read it.
//!
//! A table is named by a [`TableLocation`]: a plain path, a `file://` URL or an `s3://` URL. S3
//! locations take their credentials, region and endpoint from the standard AWS environment
//! variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
//! `AWS_ALLOW_HTTP`, ...), so any S3-compatible store works. Commits on S3 use conditional puts
//! (`If-None-Match: *`), so concurrent writers never overwrite each other's log entries.
//!
//! Every reader of the table's rows, queries and compaction alike, reads through [`scan`]: a
//! DataFusion table over exactly a given set of one snapshot's data files ([`data_files`]).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use heatlake_table::TableLocation;
//!
//! let bucket = TableLocation::parse("s3://analytics/heatlake/events")?;
//! assert_eq!(bucket.to_string(), "s3://analytics/heatlake/events");
//!
//! let dir = tempfile::tempdir()?;
//! let local = TableLocation::parse(dir.path().join("events").to_str().unwrap())?;
//! let runtime = tokio::runtime::Runtime::new()?;
//! // No commit yet: there is no table to open (an import or the collector creates it).
//! assert!(runtime.block_on(heatlake_table::open_if_exists(&local))?.is_none());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod conditional_put;
mod error;
mod files;
mod location;
mod s3;
pub mod scan;

use std::sync::Arc;

use deltalake::kernel::engine::arrow_conversion::TryFromArrow;
use deltalake::kernel::{Action, StructType};
use deltalake::operations::create::CreateBuilder;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use heatlake_model::schema::{PARTITION_COLUMNS, SCHEMA_VERSION, event_schema};

pub use conditional_put::{ConditionalPut, ensure_conditional_put, probe_conditional_put};
pub use error::{Error, Result};
pub use files::{DataFile, data_files, date_days};
pub use location::{
    DEFAULT_HOME, DataHome, HOME_ENV_VAR, TABLE_ENV_VAR, TableLocation, WAL_DIR_ENV_VAR,
    default_table_in, default_wal_dir_in,
};

/// The table's name in its Delta metadata.
pub const TABLE_NAME: &str = "events";

/// Opens the table at `location`, at its latest version or at `version`.
///
/// A location holding no Delta table is an [`Error::TableNotFound`].
pub async fn open(location: &TableLocation, version: Option<u64>) -> Result<DeltaTable> {
    s3::register();
    if let Some(path) = location.local_path()
        && !path.join("_delta_log").is_dir()
    {
        return Err(Error::TableNotFound {
            location: location.to_string(),
        });
    }
    let builder = || {
        DeltaTableBuilder::from_url(location.url().clone())
            .map(|builder| builder.with_storage_options(location.storage_options()))
            .map_err(|source| Error::delta(location, source))
    };
    let not_found_or_delta = |source| match source {
        DeltaTableError::NotATable(_) => Error::TableNotFound {
            location: location.to_string(),
        },
        source => Error::delta(location, source),
    };
    let Some(version) = version else {
        return builder()?.load().await.map_err(not_found_or_delta);
    };
    // Loaded from its checkpoint and the commits after it, as the latest version is. Not after
    // `DeltaTable::get_latest_version`: on a table not loaded yet, that walks the log from commit
    // 0, which deltalake's expired-log cleanup (on by default, after 30 days) deletes once a
    // checkpoint covers it, and every pinned read would then fail.
    let pinned_error = match builder()?.with_version(version).load().await {
        Ok(table) => return Ok(table),
        Err(error) => error,
    };
    // Only a failed load pays for the latest snapshot, to tell a version not written yet apart
    // from one that cannot be read.
    let latest = builder()?
        .load()
        .await
        .map_err(not_found_or_delta)?
        .version()
        .unwrap_or_default();
    if version > latest {
        return Err(Error::VersionNotFound {
            location: location.to_string(),
            version,
            latest,
        });
    }
    Err(not_found_or_delta(pinned_error))
}

/// Opens the table at `location` if there is one there.
pub async fn open_if_exists(location: &TableLocation) -> Result<Option<DeltaTable>> {
    match open(location, None).await {
        Ok(table) => Ok(Some(table)),
        Err(Error::TableNotFound { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// A builder that creates the `events` table at `location` with `actions` (typically the data
/// files of a first import) in its very first commit, so that a table never exists without the
/// data that created it.
pub fn create_builder(location: &TableLocation, actions: Vec<Action>) -> Result<CreateBuilder> {
    s3::register();
    let schema = StructType::try_from_arrow(event_schema().as_ref())
        .map_err(|source| Error::delta(location, DeltaTableError::from(source)))?;
    // Checkpoints keep opening the table fast as the log grows.
    let properties = [("delta.checkpointInterval", Some("50"))];
    Ok(CreateBuilder::new()
        .with_location(location.url().as_str())
        .with_storage_options(location.storage_options())
        .with_table_name(TABLE_NAME)
        .with_comment(format!(
            "Heatlake web interaction events, schema v{SCHEMA_VERSION}"
        ))
        .with_columns(schema.fields().cloned())
        .with_partition_columns(PARTITION_COLUMNS)
        .with_configuration(properties)
        .with_actions(actions))
}

/// Registers Heatlake's object stores (the `s3://` scheme) with Delta Lake and DataFusion's
/// store lookup. Called by [`open`] and [`create_builder`]; idempotent.
pub fn register_object_stores() {
    s3::register();
}

/// An object store rooted at the table's location, for code that writes data files itself.
pub fn object_store(location: &TableLocation) -> Result<Arc<dyn object_store::ObjectStore>> {
    s3::register();
    let log_store = DeltaTableBuilder::from_url(location.url().clone())
        .map_err(|source| Error::delta(location, source))?
        .with_storage_options(location.storage_options())
        .build_storage()
        .map_err(|source| Error::delta(location, source))?;
    Ok(log_store.object_store(None))
}
