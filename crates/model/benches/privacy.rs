//! Validation and the privacy rules on decoded events: [`heatlake_model::validate::validate`]
//! alone, the free-text scrubber alone, and [`heatlake_model::IngestContext::accept`] (validation,
//! typed-text dropping, scrubbing, user agent, pseudonymous ids), on 10,000 generated events.
//!
//! `cargo bench --workspace --bench privacy`

use std::borrow::Cow;

use criterion::{BatchSize, Criterion, Throughput, black_box};
use heatlake_model::privacy::scrub::scrub;
use heatlake_model::validate::validate;
use heatlake_model::{Event, IngestContext, WireEvent};

#[allow(dead_code, reason = "each benchmark uses part of the shared input")]
mod input;

// The measured batches; not inlined, so a profiler can count one alone (BENCHMARKS.md).

#[inline(never)]
fn bench_validate(wires: &[WireEvent<'_>]) {
    for wire in wires {
        black_box(validate(black_box(wire)).expect("generated events are valid"));
    }
}

#[inline(never)]
fn bench_scrub(texts: &[&str]) {
    for text in texts {
        if let Cow::Owned(scrubbed) = scrub(black_box(text)) {
            black_box(scrubbed);
        }
    }
}

#[inline(never)]
fn bench_accept<'a>(context: &mut IngestContext, wires: Vec<WireEvent<'a>>) -> Vec<Event<'a>> {
    wires
        .into_iter()
        .map(|wire| context.accept(wire).expect("generated events are valid"))
        .collect()
}

fn privacy(c: &mut Criterion) {
    let lines = input::ndjson_lines();
    let wires = input::wire_events(&lines);
    let mut group = c.benchmark_group("privacy");
    group.throughput(Throughput::Elements(wires.len() as u64));

    group.bench_function("validate", |b| b.iter(|| bench_validate(&wires)));

    // Every free-text field `accept` scrubs, as sent.
    let texts: Vec<&str> = wires
        .iter()
        .flat_map(|wire| {
            [
                &wire.url,
                &wire.path,
                &wire.referrer,
                &wire.title,
                &wire.target,
                &wire.link,
            ]
        })
        .filter_map(|text| text.as_deref())
        .collect();
    println!(
        "privacy: {} events, {:.2} free-text fields per event",
        wires.len(),
        texts.len() as f64 / wires.len() as f64
    );
    group.bench_function("scrub_free_text", |b| b.iter(|| bench_scrub(&texts)));

    // One context for the whole run, as an import keeps one: its site keys, user agent cache and
    // recent pseudonyms are warm after the first batch. `accept` takes the event by value, so
    // each batch gets a fresh copy of the decoded events (copying is not measured; dropping the
    // accepted events is not either).
    let mut context = input::ingest_context();
    group.bench_function("accept", |b| {
        b.iter_batched(
            || wires.clone(),
            |batch| bench_accept(&mut context, batch),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

// `main` by hand rather than `criterion_group!`, whose undocumented `pub fn` the workspace's
// `missing_docs` lint refuses.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    privacy(&mut criterion);
    criterion.final_summary();
}
