//! SQL over the `events` Delta table with Apache DataFusion.
//!
//! [`EventsSession::open`] loads the table (latest or a pinned version), registers it as
//! `events` in a DataFusion session tuned for it (filter pushdown into the Parquet scan, so
//! row-group and page statistics prune), and runs SQL. Filters on `site` and `date` select
//! partitions from the Delta log before any file is opened; filters on `path`, `type` and `ts`
//! skip files by their Delta statistics and row groups by their Parquet statistics. [`output`]
//! writes results as a table, CSV, JSON lines or Parquet; [`answer`] collects the answers of
//! a [`ScopedSession`] within row bounds and encodes them (JSON, CSV, Arrow IPC) within byte
//! bounds, and [`Error::kind`] tells its callers what failed without naming the storage or the
//! engine.
//!
//! ```no_run
//! # async fn example() -> heatlake_query::Result<()> {
//! use heatlake_query::{EventsSession, QueryOptions};
//! use heatlake_table::TableLocation;
//!
//! let location = TableLocation::parse("./heatlake-data/events")?;
//! let session = EventsSession::open(&location, None, &QueryOptions::default()).await?;
//! let batches = session.collect("SELECT type, count(*) FROM events GROUP BY type").await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod analytics;
pub mod answer;
pub mod bounded;
mod error;
pub mod output;
pub mod render;
pub mod scoped;
mod session;
pub mod snapshot;

pub use bounded::FunctionLimits;
pub use error::{Error, ErrorKind, Result};
pub use heatlake_table::TableLocation;
pub use scoped::{ScopeLimits, ScopedSession};
pub use session::{EVENTS_TABLE, EventsSession, QueryOptions};
pub use snapshot::LatestTable;
