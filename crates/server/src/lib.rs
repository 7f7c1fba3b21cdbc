//! Heatlake's HTTP collector: the service websites send events to.
//!
//! A request goes through, in order: the write key (401), the `Origin` against the key's site
//! (403), the visitor's opt-out cookie and Do Not Track / GPC (2xx, nothing stored), the body
//! bounds (413), the site's rate bound (429), decoding, the site check and validation of every
//! event (403/400 naming the event, nothing stored), privacy ([`heatlake_model::IngestContext`]),
//! and last the [`EventSink`], whose `Ok` means durable: only then the 2xx.
//!
//! ```text
//! POST /v1/events --key--> site --CORS, opt-out--> body (gzip/deflate, bounds) --split--> lines
//!   --rate--> decode_line --> IngestContext::accept --> EventBatchBuilder --> EventSink::append --> 200
//! ```
//!
//! The read routes (`POST /v1/sql`, `GET /v1/heatmap`, ...) answer holders of a read
//! key with the rows of the sites the key names, through `heatlake-query`'s scoped sessions.
//!
//! `docs/collector.md` documents the endpoints, status codes, limits and configuration.
//!
//! ```
//! use std::sync::Arc;
//! use heatlake_model::privacy::ids::IdSecret;
//! use heatlake_server::{AppState, MemorySink, Metrics, ServerConfig, build_router};
//!
//! let mut config = ServerConfig::default();
//! config.add_dev_site("hlw_dev_0123456789abcdef".to_owned());
//! let sink = Arc::new(MemorySink::new());
//! let state = AppState::new(config, &IdSecret::generate_from([7; 32]), sink, Metrics::new()).unwrap();
//! let _router = build_router(state);
//! ```
#![warn(missing_docs)]

mod body;
mod budget;
pub mod config;
mod cors;
mod error;
mod ingest;
pub mod keys;
mod metrics;
mod ratelimit;
mod read;
mod request;
pub mod routes;
pub mod serve;
pub mod sink;
mod state;

pub use config::{
    CollectorConfig, LimitsConfig, ReadKeyConfig, ReadsConfig, ServerConfig, SiteConfig,
};
pub use error::{Error, Reason, Result};
pub use metrics::Metrics;
pub use request::PeerAddr;
pub use routes::build_router;
pub use serve::{bind, collector_options, serve};
pub use sink::{Appended, EventSink, MemorySink, SinkError, SinkStats, StoredBatch};
pub use state::AppState;
