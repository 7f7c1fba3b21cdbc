//! The table's latest snapshot, kept between queries: loading the Delta log (last checkpoint
//! plus the commits after it) is the slow part of opening a session, building a session over
//! a loaded snapshot is not.
//!
//! [`LatestTable::latest`] hands out the snapshot as it was at most `refresh_after` ago; past
//! that it first reads the commits made since (an incremental update: one listing of the log and
//! the new commit files). Callers never wait on each other's refresh longer than that one read:
//! the refresh runs under a lock, so concurrent queries share it instead of repeating it.

use std::time::{Duration, Instant};

use deltalake::DeltaTable;
use heatlake_table::TableLocation;
use tokio::sync::Mutex;

use crate::{Error, Result};

/// The latest snapshot of the table at one location, refreshed at most every `refresh_after`.
pub struct LatestTable {
    location: TableLocation,
    refresh_after: Duration,
    loaded: Mutex<Option<Loaded>>,
}

struct Loaded {
    table: DeltaTable,
    checked_at: Instant,
}

impl LatestTable {
    /// A cache of the table at `location`; nothing is read until the first call.
    /// `refresh_after` zero reads the log for new commits on every call.
    pub fn new(location: TableLocation, refresh_after: Duration) -> Self {
        Self {
            location,
            refresh_after,
            loaded: Mutex::new(None),
        }
    }

    /// The table's location.
    pub fn location(&self) -> &TableLocation {
        &self.location
    }

    /// The latest version of the table as of at most `refresh_after` ago.
    ///
    /// A table that does not exist yet is [`heatlake_table::Error::TableNotFound`] (and is
    /// looked for again on the next call).
    pub async fn latest(&self) -> Result<DeltaTable> {
        let mut loaded = self.loaded.lock().await;
        match loaded.as_mut() {
            Some(current) if current.checked_at.elapsed() < self.refresh_after => {
                Ok(current.table.clone())
            }
            Some(current) => {
                let checked_at = Instant::now();
                current
                    .table
                    .update_incremental(None)
                    .await
                    .map_err(|source| {
                        Error::from(heatlake_table::Error::delta(&self.location, source))
                    })?;
                current.checked_at = checked_at;
                Ok(current.table.clone())
            }
            None => {
                let checked_at = Instant::now();
                let table = heatlake_table::open(&self.location, None).await?;
                *loaded = Some(Loaded {
                    table: table.clone(),
                    checked_at,
                });
                Ok(table)
            }
        }
    }

    /// The table at `version`: the cached snapshot when it is that version, else a fresh load
    /// (pinned versions are not cached; an unknown version is
    /// [`heatlake_table::Error::VersionNotFound`]).
    pub async fn at_version(&self, version: u64) -> Result<DeltaTable> {
        {
            let loaded = self.loaded.lock().await;
            if let Some(current) = loaded.as_ref()
                && current.table.version() == Some(version)
            {
                return Ok(current.table.clone());
            }
        }
        Ok(heatlake_table::open(&self.location, Some(version)).await?)
    }

    /// [`Self::latest`] or [`Self::at_version`].
    pub async fn table(&self, version: Option<u64>) -> Result<DeltaTable> {
        match version {
            Some(version) => self.at_version(version).await,
            None => self.latest().await,
        }
    }
}
