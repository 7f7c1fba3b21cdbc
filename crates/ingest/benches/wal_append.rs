//! Making events durable in the write-ahead log ([`heatlake_ingest::wal`]):
//! - `ipc_encode`: a batch to the Arrow IPC message a record holds (`record::encode_events`, what
//!   `Collector::append` does before handing the batch to the WAL);
//! - `frame`: the record's frame around it with its BLAKE3 checksum (`WalRecord::encode_into`,
//!   what the writer thread does per record);
//! - `append_fsync`: `Wal::append` into segments in a temporary directory, through the writer
//!   thread, each group of records written and synced with `fdatasync` before the append
//!   returns: one append of 10,000 events at a time (one sync each), and ten appends of 1,000
//!   events in flight together (group commit: they share syncs). The IPC encoding is done
//!   beforehand and not measured here.
//!
//! `cargo bench --workspace --bench wal_append` (the WAL goes to the system temporary
//! directory; set `TMPDIR` to measure another disk).

use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use criterion::{BenchmarkId, Criterion, Throughput, black_box};
use heatlake_ingest::wal::record::{WalRecord, encode_events};
use heatlake_ingest::wal::{Wal, WalOptions};

mod input;

const SITE: &str = "shop.example";
const BATCH_EVENTS: usize = 10_000;
/// Events per append in the group commit case: one collector request.
const REQUEST_EVENTS: usize = 1_000;

// The measured encodings; not inlined, so a profiler can count one alone (BENCHMARKS.md).

#[inline(never)]
fn bench_ipc_encode(batch: &RecordBatch) -> Vec<u8> {
    encode_events(batch).expect("an events batch encodes")
}

#[inline(never)]
fn bench_frame(record: &WalRecord, frames: &mut Vec<u8>) {
    frames.clear();
    record.encode_into(frames);
}

fn encode_only(c: &mut Criterion) {
    let batch = input::event_batch(BATCH_EVENTS);
    let ipc = encode_events(&batch).expect("an events batch encodes");
    println!(
        "wal_append: {BATCH_EVENTS} events, {:.0} IPC bytes/event",
        ipc.len() as f64 / BATCH_EVENTS as f64
    );
    let mut group = c.benchmark_group("wal_append");
    group.throughput(Throughput::Elements(BATCH_EVENTS as u64));
    group.bench_function(BenchmarkId::new("ipc_encode", BATCH_EVENTS), |b| {
        b.iter(|| black_box(bench_ipc_encode(black_box(&batch))))
    });
    let record = WalRecord {
        seq: 1,
        appended_at_ms: 1_764_400_000_000,
        site: SITE.to_owned(),
        batch_id: Some("batch-0123456789".to_owned()),
        events: BATCH_EVENTS as u32,
        ipc,
    };
    let mut frames = Vec::with_capacity(record.frame_bytes());
    group.bench_function(BenchmarkId::new("frame", BATCH_EVENTS), |b| {
        b.iter(|| {
            bench_frame(&record, &mut frames);
            black_box(&frames);
        })
    });
    group.finish();
}

fn append_fsync(c: &mut Criterion) {
    let batch = input::event_batch(BATCH_EVENTS);
    let whole = encode_events(&batch).expect("an events batch encodes");
    let requests: Vec<Vec<u8>> = (0..BATCH_EVENTS / REQUEST_EVENTS)
        .map(|index| {
            encode_events(&batch.slice(index * REQUEST_EVENTS, REQUEST_EVENTS))
                .expect("an events batch encodes")
        })
        .collect();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut options = WalOptions::new(dir.path());
    // Nothing here is retried, so committed segments may go at once.
    options.batch_id_window = Duration::ZERO;
    let (wal, _) = Wal::open(&options).expect("a new WAL opens");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    // Stands in for the flusher: deletes closed segments, outside the measured time.
    let release = |wal: &Wal| {
        let now_ms = chrono::Utc::now().timestamp_millis() + 1;
        wal.release_through(wal.durable_seq(), now_ms)
            .expect("segments are deleted");
    };

    let mut group = c.benchmark_group("wal_append");
    group.throughput(Throughput::Elements(BATCH_EVENTS as u64));
    group.sample_size(30);
    group.bench_function(BenchmarkId::new("append_fsync", "1x10000"), |b| {
        b.iter_custom(|iterations| {
            let mut measured = Duration::ZERO;
            for _ in 0..iterations {
                let ipc = whole.clone();
                let started = Instant::now();
                runtime
                    .block_on(wal.append(SITE, None, BATCH_EVENTS as u32, ipc))
                    .expect("appended");
                measured += started.elapsed();
                release(&wal);
            }
            measured
        })
    });
    group.bench_function(BenchmarkId::new("append_fsync", "10x1000"), |b| {
        b.iter_custom(|iterations| {
            let mut measured = Duration::ZERO;
            for _ in 0..iterations {
                let ipcs = requests.clone();
                let started = Instant::now();
                let appends = ipcs
                    .into_iter()
                    .map(|ipc| wal.append(SITE, None, REQUEST_EVENTS as u32, ipc));
                for appended in runtime.block_on(futures::future::join_all(appends)) {
                    appended.expect("appended");
                }
                measured += started.elapsed();
                release(&wal);
            }
            measured
        })
    });
    group.finish();
    let (records, events) = wal.appended();
    println!("wal_append: {records} records, {events} events appended in all");
    wal.close();
}

// `main` by hand rather than `criterion_group!`, whose undocumented `pub fn` the workspace's
// `missing_docs` lint refuses.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    encode_only(&mut criterion);
    append_fsync(&mut criterion);
    criterion.final_summary();
}
