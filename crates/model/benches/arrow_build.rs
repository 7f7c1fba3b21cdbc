//! Building Arrow record batches from accepted events: [`heatlake_model::EventBatchBuilder`]
//! `append` for each of 10,000 generated events, then `finish` (the 38 columns of
//! `event_schema()`).
//!
//! `cargo bench --workspace --bench arrow_build`

use arrow_array::RecordBatch;
use criterion::{Criterion, Throughput, black_box};
use heatlake_model::{Event, EventBatchBuilder};

#[allow(dead_code, reason = "each benchmark uses part of the shared input")]
mod input;

/// One measured batch from builders sized for `capacity` rows; not inlined, so a profiler can
/// count it alone (BENCHMARKS.md).
#[inline(never)]
fn bench_build(events: &[Event<'_>], capacity: usize) -> RecordBatch {
    let mut builder = EventBatchBuilder::with_capacity(capacity);
    for event in events {
        builder.append(black_box(event));
    }
    builder.finish()
}

fn arrow_build(c: &mut Criterion) {
    let lines = input::ndjson_lines();
    let mut context = input::ingest_context();
    let events: Vec<_> = input::wire_events(&lines)
        .into_iter()
        .map(|wire| context.accept(wire).expect("generated events are valid"))
        .collect();
    let mut group = c.benchmark_group("arrow_build");
    group.throughput(Throughput::Elements(events.len() as u64));
    // Sized for the batch, as the collector sizes a request's builder.
    group.bench_function("append_finish_presized", |b| {
        b.iter(|| black_box(bench_build(&events, events.len())))
    });
    // Started at 8,192 rows and grown, as the import starts each partition's builder.
    group.bench_function("append_finish_grown", |b| {
        b.iter(|| black_box(bench_build(&events, 8192)))
    });
    group.finish();
}

// `main` by hand rather than `criterion_group!`, whose undocumented `pub fn` the workspace's
// `missing_docs` lint refuses.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    arrow_build(&mut criterion);
    criterion.final_summary();
}
