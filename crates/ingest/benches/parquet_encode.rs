//! Writing a data file's rows: the sort by (`path`, `type`, `ts`) and the Parquet encoding with
//! the table's writer properties ([`heatlake_ingest::writer::writer_properties`] of the default
//! [`heatlake_ingest::FileLayout`]: zstd 3, dictionaries, page statistics, `ts` delta-encoded),
//! into memory, for 10,000 and 100,000 events. What `DataFileWriter::write` does besides (the
//! Delta statistics and the object store put) is not measured.
//!
//! `cargo bench --workspace --bench parquet_encode`

use arrow::array::RecordBatch;
use criterion::{BenchmarkId, Criterion, Throughput, black_box};
use heatlake_ingest::writer::{file_batch, sort_batch, writer_properties};
use heatlake_ingest::{FileLayout, SortOrder};
use heatlake_model::file_schema;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

mod input;

/// Batch sizes: a collector request's worth times ten, and an import file of one small partition.
const BATCH_EVENTS: [usize; 2] = [10_000, 100_000];

// The measured steps; not inlined, so a profiler can count one alone (BENCHMARKS.md).

#[inline(never)]
fn bench_sort(batch: &RecordBatch, order: SortOrder) -> RecordBatch {
    let rows = file_batch(batch).expect("an events batch");
    sort_batch(&rows, order).expect("sortable")
}

#[inline(never)]
fn bench_encode(batch: &RecordBatch, properties: &WriterProperties) -> Vec<u8> {
    let mut encoded = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut encoded, file_schema(), Some(properties.clone()))
        .expect("the file schema is writable");
    writer.write(batch).expect("rows of the file schema");
    writer.close().expect("the file closes");
    encoded
}

fn parquet_encode(c: &mut Criterion) {
    let layout = FileLayout::default();
    let properties = writer_properties(&layout).expect("the default layout is valid");
    let mut group = c.benchmark_group("parquet_encode");
    group.sample_size(20);
    for events in BATCH_EVENTS {
        let batch = input::event_batch(events);
        group.throughput(Throughput::Elements(events as u64));
        // As `DataFileWriter::write`: drop the partition columns, then sort.
        group.bench_with_input(BenchmarkId::new("sort", events), &batch, |b, batch| {
            b.iter(|| black_box(bench_sort(batch, layout.sort_order)))
        });
        let sorted = sort_batch(
            &file_batch(&batch).expect("an events batch"),
            layout.sort_order,
        )
        .expect("sortable");
        println!(
            "parquet_encode/{events}: {:.2} bytes/event",
            bench_encode(&sorted, &properties).len() as f64 / events as f64
        );
        group.bench_with_input(BenchmarkId::new("encode", events), &sorted, |b, sorted| {
            b.iter(|| black_box(bench_encode(sorted, &properties)))
        });
    }
    group.finish();
}

// `main` by hand rather than `criterion_group!`, whose undocumented `pub fn` the workspace's
// `missing_docs` lint refuses.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    parquet_encode(&mut criterion);
    criterion.final_summary();
}
