//! Heatlake's event model: what one interaction event is, how it travels, and how it is stored.
//!
//! Everything that reaches the `events` table goes through this crate, in one direction:
//!
//! ```text
//! wire JSON line --decode--> WireEvent --validate--> (checked) --protect--> Event --append--> EventBatchBuilder --> RecordBatch
//! ```
//!
//! - [`wire`] holds the versioned JSON wire format ([`WireEvent`]), the same field names as SQL.
//! - [`validate`] checks a [`WireEvent`] against the rules of schema v1 and names the field, the value
//!   and the rule when one is broken.
//! - [`privacy`] applies the privacy rules before anything is stored: typed text is dropped, free text
//!   is scrubbed of e-mails, card numbers and credentials, raw IPs are dropped or truncated, and ids are
//!   replaced by site-keyed pseudonyms.
//! - [`rrweb`] maps batches of rrweb recorder events to wire events (page-relative coordinates,
//!   selectors from the recorded node tree, lengths instead of typed text).
//! - [`columns`] names each column of the `events` table once; from it come [`schema`], the one
//!   Arrow schema every writer and reader uses, and [`EventBatchBuilder`], which builds record
//!   batches of it from [`Event`]s ([`batch`]) or from rows made directly ([`EventRow`]), with the
//!   column builders of [`column_builder`].
//! - [`parquet_settings`] is the one set of Parquet writer settings, which each writer overrides
//!   explicitly where it differs.
//!
//! The crate does no I/O.
//!
//! ```
//! use heatlake_model::{decode_line, IngestContext, EventBatchBuilder};
//!
//! let line = r#"{"v":1,"site":"shop.example","type":"click","ts":1764400000000,
//!   "pageview_id":"pv-1","seq":3,"path":"shop.example/cart","x":120,"y":640,
//!   "link":"https://shop.example/pay?email=jane@example.com"}"#;
//! let mut context = IngestContext::for_tests(1764400001000);
//! let event = context.accept(decode_line(line.as_bytes()).unwrap()).unwrap();
//! assert_eq!(event.link.as_deref(), Some("https://shop.example/pay?email=[email]"));
//!
//! let mut builder = EventBatchBuilder::with_capacity(1);
//! builder.append(&event);
//! let batch = builder.finish();
//! assert_eq!(batch.num_rows(), 1);
//! ```
#![warn(missing_docs)]

pub mod batch;
pub mod column_builder;
pub mod columns;
pub mod error;
pub mod event;
pub mod json_bounds;
pub mod parquet_settings;
pub mod privacy;
pub mod rrweb;
pub mod schema;
pub mod useragent;
pub mod validate;
pub mod wire;

pub use batch::{EventBatchBuilder, EventRow};
pub use error::{Result, ValidationError};
pub use event::{Event, EventType};
pub use privacy::{IngestContext, PrivacyPolicy};
pub use schema::{event_schema, file_schema};
pub use wire::{WireEvent, decode_line};
