//! Vacuum: deleting data files that no table version younger than a retention period needs.
//!
//! Compaction removes files from the table but not from the store, so that readers pinned to an
//! older version (`--version N`) still find them. A vacuum deletes the files removed longer ago
//! than the retention period (default 7 days, the Delta default); in full mode it also deletes
//! files in the table's directory that no version references at all (left by an import or a
//! flush that failed before its commit), if they are older than the retention period.
//!
//! After a vacuum, versions older than the retention period may no longer be readable. With a
//! collector running, keep the retention above its flush interval, or a full vacuum can delete a
//! flush's files between their upload and their commit.

use std::time::Duration;

use deltalake::operations::vacuum::VacuumMode;
use heatlake_table::TableLocation;

use crate::{Error, Result};

/// Default retention: 7 days, as Delta's `delta.deletedFileRetentionDuration` default.
pub const RETENTION_DEFAULT: Duration = Duration::from_secs(7 * 24 * 3600);

/// How a vacuum runs.
#[derive(Debug, Clone)]
pub struct VacuumOptions {
    /// Files removed (or, in full mode, never referenced) longer ago than this are deleted.
    pub retention: Duration,
    /// Also delete files that no version references.
    pub full: bool,
    /// Only list what would be deleted.
    pub dry_run: bool,
}

impl Default for VacuumOptions {
    fn default() -> Self {
        Self {
            retention: RETENTION_DEFAULT,
            full: false,
            dry_run: false,
        }
    }
}

/// What a vacuum did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VacuumReport {
    /// Whether nothing was deleted because it was a dry run.
    pub dry_run: bool,
    /// The files deleted (or, in a dry run, to delete), relative to the table.
    pub files: Vec<String>,
}

/// Vacuums the table at `location`.
pub async fn vacuum(location: &TableLocation, options: &VacuumOptions) -> Result<VacuumReport> {
    let delta = |source| Error::from(heatlake_table::Error::delta(location, source));
    let retention =
        chrono::Duration::from_std(options.retention).map_err(|_| Error::InvalidOption {
            option: "retention",
            message: format!("{:?} is too long", options.retention),
        })?;
    let table = heatlake_table::open(location, None).await?;
    let (_, metrics) = table
        .vacuum()
        .with_retention_period(retention)
        // The retention asked for is the one used, even below the table's configured minimum.
        .with_enforce_retention_duration(false)
        .with_mode(if options.full {
            VacuumMode::Full
        } else {
            VacuumMode::Lite
        })
        .with_dry_run(options.dry_run)
        .await
        .map_err(delta)?;
    Ok(VacuumReport {
        dry_run: metrics.dry_run,
        files: metrics.files_deleted,
    })
}
