//! JSON decoding of wire-format lines: [`heatlake_model::decode_line`], the first step of both
//! the import and the collector, on 10,000 generated NDJSON lines.
//!
//! `cargo bench --workspace --bench decode`

use criterion::{Criterion, Throughput, black_box};
use heatlake_model::decode_line;

#[allow(dead_code, reason = "each benchmark uses part of the shared input")]
mod input;

/// One measured batch; not inlined, so a profiler can count it alone (BENCHMARKS.md).
#[inline(never)]
fn bench_decode_lines(lines: &[Vec<u8>]) {
    for line in lines {
        black_box(decode_line(black_box(line)).expect("generated lines decode"));
    }
}

fn decode(c: &mut Criterion) {
    let lines = input::ndjson_lines();
    println!(
        "decode: {} lines, {:.0} bytes/line",
        lines.len(),
        input::bytes_per_line(&lines)
    );
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("decode_line", |b| b.iter(|| bench_decode_lines(&lines)));
    group.finish();
}

// `main` by hand rather than `criterion_group!`, whose undocumented `pub fn` the workspace's
// `missing_docs` lint refuses.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    decode(&mut criterion);
    criterion.final_summary();
}
