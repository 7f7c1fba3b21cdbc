//! An NDJSON import: the input split into lines as the import splits them, every line through the
//! same path with one context, so that its pseudonym and user-agent caches carry over from line to
//! line as they do in a real import.
#![no_main]

use heatlake_fuzz::{BatchSink, ingest_context, ingest_line, ndjson_lines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let mut context = ingest_context();
    let mut sink = BatchSink::default();
    for line in ndjson_lines(body) {
        ingest_line(&mut context, &mut sink, line);
    }
    sink.finish();
});
