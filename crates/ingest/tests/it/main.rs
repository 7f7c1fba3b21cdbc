//! Integration tests of the ingest crate: the collector's WAL, flusher and exactly-once commits;
//! the collector behind the event sink seam; compaction; the WAL on a disk that fails.

mod collector;
mod compact;
mod faulty_disk;
mod sink;
mod wal_damage;
mod wal_faults;
