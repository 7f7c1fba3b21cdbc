//! Integration tests of the ingest crate: the collector's WAL, flusher and exactly-once commits;
//! the collector behind the event sink seam; compaction.

mod collector;
mod compact;
mod sink;
