//! Integration tests of the ingest crate: the collector's WAL, flusher and exactly-once commits;
//! compaction.

mod collector;
mod compact;
