//! The read routes: SQL and the ready-made questions over the events table, for holders of a
//! read key.
//!
//! ```text
//! GET /v1/heatmap?site=S&page=P&... --read key (401)--> site allowed? (403) --params (400)-->
//!   format (406) --permit (503)--> ScopedSession over the key's sites (404 unknown version)
//!   --question under the time and memory limits (408/413)--> rows (413 past answer_rows_max)
//!   --> JSON | CSV | Arrow IPC | PNG (413 past answer_bytes_max)
//! ```
//!
//! Every query runs in a [`ScopedSession`] over exactly the sites of the key: its `events` is a
//! view that only ever shows those sites' rows, so no SQL (join, `UNION`, subquery, CTE,
//! qualified name, function) reaches another site's rows, and nothing but a query runs. The
//! table's latest snapshot is kept between requests ([`LatestTable`]) and refreshed at most
//! every `reads.snapshot_refresh_ms`; each request builds its own session over it, with its own
//! memory pool. `docs/http-api.md` documents the routes.

mod answer;
mod params;
mod routes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use heatlake_query::{LatestTable, QueryOptions, ScopedSession, TableLocation};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{ReadsConfig, ServerConfig};
use crate::error::{ApiError, Error, Reason, Result};
use crate::keys;
use crate::state::AppState;

#[cfg(test)]
pub(crate) use answer::ARROW_STREAM_TYPE;

/// Seconds a client is asked to wait at `concurrent_queries_max`.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The read routes.
pub(crate) fn router() -> Router<AppState> {
    routes::router()
}

/// What the read routes share: the keys, the table snapshot and the bounds.
pub struct Reader {
    keys: HashMap<String, Arc<[String]>>,
    table: LatestTable,
    limits: ReadsConfig,
    options: QueryOptions,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("read_keys", &self.keys.len())
            .field("table", &self.table.location().to_string())
            .finish_non_exhaustive()
    }
}

/// The sites a request's read key may read: extracting it is the read routes' authorisation
/// (401 without a known read key).
#[derive(Debug, Clone)]
pub(crate) struct ReadGrant {
    sites: Arc<[String]>,
}

impl ReadGrant {
    /// The sites, in the order the key names them.
    pub(crate) fn sites(&self) -> &[String] {
        &self.sites
    }

    /// 403 unless the key may read `site`.
    pub(crate) fn check_site(&self, site: &str) -> Result<(), ApiError> {
        if self.sites.iter().any(|allowed| allowed == site) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            Reason::SiteNotAllowed,
            format!("this read key may not read site {site:?}"),
        ))
    }
}

impl FromRequestParts<AppState> for ReadGrant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state.reader().authorize(&parts.headers)
    }
}

impl Reader {
    /// The reader of `config`: its read keys, its table and its `[reads]` bounds.
    pub(crate) fn new(config: &ServerConfig) -> Result<Self> {
        let location = TableLocation::parse(&config.table_location()).map_err(|error| {
            Error::InvalidConfig(format!("table {}: {error}", config.table_location()))
        })?;
        let limits = config.reads.clone();
        let keys = config
            .read_keys
            .iter()
            .map(|read_key| (read_key.key.clone(), Arc::from(read_key.sites.clone())))
            .collect();
        Ok(Self {
            keys,
            table: LatestTable::new(location, Duration::from_millis(limits.snapshot_refresh_ms)),
            permits: Arc::new(Semaphore::new(limits.concurrent_queries_max)),
            limits,
            options: QueryOptions::default(),
        })
    }

    /// The bounds.
    pub(crate) fn limits(&self) -> &ReadsConfig {
        &self.limits
    }

    /// The sites the request's read key may read; 401 without a known read key.
    fn authorize(&self, headers: &HeaderMap) -> Result<ReadGrant, ApiError> {
        let unauthorized = |message: &str| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                Reason::Unauthorized,
                message.to_owned(),
            )
        };
        if self.keys.is_empty() {
            return Err(unauthorized(
                "no read keys are configured on this collector: add [[read_keys]] to its configuration",
            ));
        }
        let Some(key) = keys::read_key(headers) else {
            return Err(unauthorized(
                "a read key is required: `Authorization: Bearer <key>` or `X-Heatlake-Key: <key>`",
            ));
        };
        match self.keys.get(key) {
            Some(sites) => Ok(ReadGrant {
                sites: Arc::clone(sites),
            }),
            None => Err(unauthorized("unknown read key")),
        }
    }

    /// A permit to run one query; 503 at `concurrent_queries_max`.
    pub fn permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.permits).try_acquire_owned().map_err(|_| {
            ApiError::limit(
                StatusCode::SERVICE_UNAVAILABLE,
                "concurrent_queries_max",
                format!(
                    "more than concurrent_queries_max ({}) read requests in flight",
                    self.limits.concurrent_queries_max
                ),
                Some(BUSY_RETRY_AFTER),
            )
        })
    }

    /// A session over the grant's sites at `version` (latest when `None`), with this reader's
    /// time and memory limits.
    pub(crate) async fn session(
        &self,
        grant: &ReadGrant,
        version: Option<u64>,
    ) -> Result<ScopedSession, ApiError> {
        let table = self
            .table
            .table(version)
            .await
            .map_err(answer::query_error(&self.limits))?;
        ScopedSession::from_table(
            &table,
            self.table.location(),
            grant.sites(),
            &self.options,
            self.limits.scope_limits(),
        )
        .await
        .map_err(answer::query_error(&self.limits))
    }
}
