//! One wire event as the collector receives it: arbitrary bytes through `decode_line`,
//! `IngestContext::accept` and `EventBatchBuilder`. Nothing on that path may panic, and whatever is
//! stored must already be scrubbed.
#![no_main]

use heatlake_fuzz::{BatchSink, ingest_context, ingest_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    let mut context = ingest_context();
    let mut sink = BatchSink::default();
    ingest_line(&mut context, &mut sink, line);
    sink.finish();
});
