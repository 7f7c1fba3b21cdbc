//! Where accepted events go: the [`EventSink`] seam, defined by `heatlake-ingest` (whose
//! write-ahead-log collector implements it) and held by the server as an `Arc<dyn EventSink>`.

pub use heatlake_ingest::sink::{
    Appended, EventSink, MEMORY_SINK_BATCH_IDS_MAX, MemorySink, STORAGE_RETRY_AFTER, SinkError,
    SinkStats, StoredBatch,
};
