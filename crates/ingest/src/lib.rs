//! Getting events into the `events` Delta table.
//!
//! A batch import ([`import()`]) reads NDJSON in the wire format (plain or gzip), validates each
//! line and applies the privacy rules through [`heatlake_model::IngestContext`], buffers Arrow
//! rows per partition (site, date), writes each partition chunk as one Parquet file sorted so
//! that a page's events sit together ([`SortOrder`]), and commits every file in one Delta
//! transaction. Either the whole import is committed or nothing is.
//!
//! The HTTP collector writes through the [`sink::EventSink`] seam defined here, which the
//! write-ahead-log [`collector`] implements ([`collector::CollectorSink`]).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use heatlake_ingest::{ImportOptions, import};
//! use heatlake_model::privacy::ids::IdSecret;
//! use heatlake_table::TableLocation;
//!
//! let dir = tempfile::tempdir()?;
//! let input = dir.path().join("events.ndjson");
//! std::fs::write(&input, concat!(
//!     r#"{"v":1,"site":"shop.example","type":"click","ts":1764400000000,"pageview_id":"pv-1","#,
//!     r#""seq":3,"path":"shop.example/cart","x":120,"y":640}"#, "\n",
//!     r#"{"v":1,"site":"shop.example","type":"click","ts":1764400000500,"pageview_id":"pv-1","#,
//!     r#""seq":4,"path":"shop.example/cart","x":-5,"y":640}"#, "\n",
//! ))?;
//! let location = TableLocation::parse(dir.path().join("events").to_str().unwrap())?;
//! let mut options = ImportOptions::new(IdSecret::generate_from([1; 32]));
//! // By default one invalid line fails the whole import; allow one here.
//! options.max_errors = 1;
//! let runtime = tokio::runtime::Runtime::new()?;
//! let report = runtime.block_on(import(&location, &[input], &options, Arc::default()))?;
//! // The first line is stored; the second is refused (x < 0) and named in the report.
//! assert_eq!((report.events, report.rejected.len(), report.version), (1, 1, 0));
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod collector;
pub mod compact;
mod error;
pub mod import;
mod options;
pub mod reader;
pub mod sink;
pub mod vacuum;
pub mod wal;
pub mod writer;

pub use compact::{CompactOptions, CompactReport, compact};
pub use error::{Error, ErrorChain, Result};
// The one resolver of the data directory, table and WAL defaults (defined by the table crate),
// for callers that configure a collector without depending on the table crate.
pub use heatlake_table::{
    DEFAULT_HOME, DataHome, HOME_ENV_VAR, TABLE_ENV_VAR, WAL_DIR_ENV_VAR, default_table_in,
    default_wal_dir_in,
};
pub use import::{ImportProgress, ImportReport, Rejection, RejectionReason, import};
pub use options::{FileLayout, ImportOptions, SortOrder};
pub use vacuum::{VacuumOptions, VacuumReport, vacuum};
