//! Deterministic synthetic web interaction events at any scale.
//!
//! `heatlake-datagen` walks made-up visitors through made-up sites and writes what a tracker would
//! have sent: page views, pointer moves clustered around page elements, scrolling that thins out
//! down the page, clicks on the elements of a fixed per-page layout (with dead clicks and
//! rage-click bursts), form input (lengths only, never typed text), visibility changes, resizes and
//! a `leave` summary per page view. `datasets/README.md` describes every distribution.
//!
//! ```text
//! GenConfig --Catalog::new--> sites, pages, layouts
//!           --walk (visitor i from its own seeded stream)--> sessions --> page views --> events
//!           --> write_ndjson       (wire format v1, one JSON object per line)
//!           --> write_parquet      (the rows the collector would store, event_schema())
//!           --> for_each_wire_event (WireEvent values, no I/O)
//! ```
//!
//! - **Deterministic**: the same [`GenConfig`] gives byte-identical output, on every run, whatever
//!   the output; a different seed gives different data. Visitor `i` draws from its own random
//!   stream seeded with (seed, `i`).
//! - **Exact**: exactly `events` events are written (the last page view may be cut short), and the
//!   returned [`Summary`] counts what was written.
//! - **Bounded memory**: events are streamed; only the catalogue (which grows with the number of
//!   pages, not of events) and a few buffers are held.
//! - **Privacy scrubbers get work**: a few URLs, referrers and links carry a fake e-mail address,
//!   a Luhn-valid test card number or URL credentials. Typed values are never generated.
//!
//! ```
//! use heatlake_datagen::{GenConfig, write_ndjson};
//! use heatlake_model::{decode_line, validate::validate};
//!
//! let config = GenConfig { events: 1_000, seed: 42, ..GenConfig::default() };
//! let mut out = Vec::new();
//! let summary = write_ndjson(&config, &mut out, |_written| {})?;
//! assert_eq!(summary.events, 1_000);
//! assert_eq!(summary.pageviews, summary.events_by_type["pageview"]);
//!
//! let text = String::from_utf8(out).unwrap();
//! for line in text.lines() {
//!     validate(&decode_line(line.as_bytes()).unwrap()).unwrap();
//! }
//! # Ok::<(), heatlake_datagen::Error>(())
//! ```
#![warn(missing_docs)]

pub mod behaviour;
pub mod catalog;
mod config;
pub mod devices;
mod error;
mod ndjson;
mod pageview;
mod parquet_out;
mod parquet_rows;
mod record;
mod rng;
mod session;
mod summary;
pub mod traffic;
mod wire_out;

pub use catalog::Catalog;
pub use config::{
    DAYS_MAX, DEFAULT_START_MS, GenConfig, PAGES_PER_SITE_MAX, PAGES_TOTAL_MAX, SITES_MAX,
    StandardScale,
};
pub use error::{Error, Result};
pub use ndjson::{NDJSON_BUFFER_BYTES, write_ndjson, write_ndjson_file};
pub use parquet_out::{
    PARQUET_BATCH_ROWS, PARQUET_DATA_PAGE_BYTES_MAX, PARQUET_DICTIONARY_PAGE_BYTES_MAX,
    PARQUET_FILE_ROWS_MAX, PARQUET_PLAIN_COLUMNS, PARQUET_ROW_GROUP_ROWS, PARQUET_ZSTD_LEVEL,
    ParquetOptions, parquet_file_name, parquet_writer_properties, write_parquet,
    write_parquet_with,
};
pub use session::PROGRESS_EVENTS;
pub use summary::Summary;
pub use wire_out::for_each_wire_event;
