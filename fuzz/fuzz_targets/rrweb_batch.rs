//! rrweb recordings: each line of the input is one `POST /v1/rrweb` body, decoded and mapped by
//! one mapper, so that later batches meet the node trees and page state earlier ones left. The
//! mapped events then take the collector's path. A second mapper with tiny limits maps the same
//! batches, to reach the eviction of pages and nodes, and must stay within its limits.
#![no_main]

use heatlake_fuzz::{BatchSink, ingest_context, ingest_wire, ndjson_lines};
use heatlake_model::rrweb::{RrwebBatch, RrwebLimits, RrwebMapper};
use libfuzzer_sys::fuzz_target;

/// Small enough that a few fuzzed batches overflow every limit.
const TINY_LIMITS: RrwebLimits = RrwebLimits {
    pages_max: 2,
    nodes_per_page_max: 16,
    nodes_total_max: 24,
};

/// The collector's default `events_per_request_max`.
const EVENTS_MAX: usize = 5000;

fuzz_target!(|body: &[u8]| {
    let mut mapper = RrwebMapper::new(RrwebLimits::default());
    let mut tiny_mapper = RrwebMapper::new(TINY_LIMITS);
    let mut context = ingest_context();
    let mut sink = BatchSink::default();
    for line in ndjson_lines(body) {
        let Ok(batch) = RrwebBatch::decode(line) else {
            continue;
        };
        if let Ok(events) = mapper.map(&batch, EVENTS_MAX) {
            assert!(events.len() <= EVENTS_MAX, "more events than the bound");
            for event in events {
                ingest_wire(&mut context, &mut sink, event);
            }
        }
        let _ = tiny_mapper.map(&batch, 8);
        let defaults = RrwebLimits::default();
        assert!(mapper.pages() <= defaults.pages_max, "pages over the limit");
        assert!(
            mapper.nodes() <= defaults.nodes_total_max,
            "nodes over the limit"
        );
        assert!(
            tiny_mapper.pages() <= TINY_LIMITS.pages_max,
            "pages over the limit"
        );
        assert!(
            tiny_mapper.nodes() <= TINY_LIMITS.nodes_total_max,
            "nodes over the limit"
        );
    }
    sink.finish();
});
