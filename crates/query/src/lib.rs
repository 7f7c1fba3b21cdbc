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
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use std::sync::Arc;
//! # use heatlake_ingest::{ImportOptions, import};
//! # use heatlake_model::privacy::ids::IdSecret;
//! use heatlake_query::{EventsSession, QueryOptions};
//! use heatlake_table::TableLocation;
//!
//! # let dir = tempfile::tempdir()?;
//! # let input = dir.path().join("events.ndjson");
//! # std::fs::write(&input, concat!(
//! #     r#"{"v":1,"site":"shop.example","type":"click","ts":1764400000000,"pageview_id":"pv-1","#,
//! #     r#""seq":3,"path":"shop.example/cart","x":120,"y":640}"#, "\n"))?;
//! # let table = dir.path().join("events");
//! let location = TableLocation::parse(table.to_str().unwrap())?;
//! let runtime = tokio::runtime::Runtime::new()?;
//! # let options = ImportOptions::new(IdSecret::generate_from([1; 32]));
//! # runtime.block_on(import(&location, &[input], &options, Arc::default()))?;
//! let batches = runtime.block_on(async {
//!     let session = EventsSession::open(&location, None, &QueryOptions::default()).await?;
//!     session.collect("SELECT type, count(*) AS events FROM events GROUP BY type").await
//! })?;
//! let table = arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
//! assert!(table.contains("| click | 1      |"), "{table}");
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
