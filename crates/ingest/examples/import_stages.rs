//! Per-stage CPU cost of an import, measured on one thread over lines held in memory:
//! decode → validate + privacy → Arrow rows → sort → Parquet encode.
//!
//! `cargo run --release -p heatlake-ingest --example import_stages -- FILE.ndjson [LINES]`
//! (plain NDJSON; `heatlake gen --events 1000000 --seed 1 --out FILE.ndjson` makes one).

use std::io::BufRead;
use std::time::Instant;

use heatlake_ingest::writer::{file_batch, sort_batch, writer_properties};
use heatlake_ingest::{ImportOptions, SortOrder};
use heatlake_model::privacy::ids::IdSecret;
use heatlake_model::{EventBatchBuilder, IngestContext, decode_line, file_schema};
use parquet::arrow::ArrowWriter;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: import_stages FILE.ndjson [LINES]");
    let limit: usize = args
        .next()
        .map_or(1_000_000, |n| n.parse().expect("LINES is a number"));
    let file = std::io::BufReader::new(std::fs::File::open(&path).expect("readable input"));
    let lines: Vec<Vec<u8>> = file
        .split(b'\n')
        .take(limit)
        .map(|line| line.expect("readable line"))
        .collect();
    let count = lines.len() as f64;
    let bytes: usize = lines.iter().map(Vec::len).sum();
    println!(
        "{} lines, {:.0} bytes/line",
        lines.len(),
        bytes as f64 / count
    );
    let per_event = |label: &str, started: Instant| {
        let micros = started.elapsed().as_secs_f64() * 1e6 / count;
        println!("{label:<32} {micros:>6.3} µs/event");
        micros
    };

    let started = Instant::now();
    for line in &lines {
        std::hint::black_box(decode_line(line).expect("valid line"));
    }
    let decode = per_event("decode (serde_json)", started);

    let mut options = ImportOptions::new(IdSecret::generate_from([1; 32]));
    // Settings to compare, from the environment.
    if let Ok(level) = std::env::var("ZSTD_LEVEL") {
        options.zstd_level = level.parse().expect("ZSTD_LEVEL is a number");
    }
    if let Ok(rows) = std::env::var("ROW_GROUP_ROWS") {
        options.row_group_rows = rows.parse().expect("ROW_GROUP_ROWS is a number");
    }
    let mut context = IngestContext::new(options.id_secret.clone(), options.privacy.clone(), 0);
    let started = Instant::now();
    for line in &lines {
        let event = context
            .accept(decode_line(line).expect("valid line"))
            .expect("valid event");
        std::hint::black_box(event);
    }
    let accept = per_event("decode + validate + privacy", started) - decode;

    let started = Instant::now();
    let mut builder = EventBatchBuilder::with_capacity(8192);
    for line in &lines {
        let event = context
            .accept(decode_line(line).expect("valid line"))
            .expect("valid event");
        builder.append(&event);
    }
    let batch = builder.finish();
    let build = per_event("... + Arrow rows", started) - decode - accept;

    for order in [SortOrder::PathTypeTime, SortOrder::PathPageviewTime] {
        let started = Instant::now();
        let sorted = sort_batch(&batch, order).expect("sortable");
        let sort = per_event(&format!("sort {order:?}"), started);
        let mut options = options.clone();
        options.sort_order = order;
        let properties = writer_properties(&options.layout()).expect("valid settings");
        let file_batch = file_batch(&sorted).expect("an events batch");
        let started = Instant::now();
        let mut encoded = Vec::new();
        let mut writer =
            ArrowWriter::try_new(&mut encoded, file_schema(), Some(properties)).unwrap();
        writer.write(&file_batch).unwrap();
        writer.close().unwrap();
        let encode = per_event(&format!("Parquet encode {order:?}"), started);
        println!(
            "  {order:?}: {:.2} bytes/event (one file, no partitioning); total {:.3} µs/event",
            encoded.len() as f64 / count,
            decode + accept + build + sort + encode
        );
        print_column_sizes(encoded, count);
    }
}

/// Compressed bytes per event of each column, largest first.
fn print_column_sizes(encoded: Vec<u8>, events: f64) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(bytes::Bytes::from(encoded)).expect("a Parquet file");
    let metadata = reader.metadata();
    let mut sizes: Vec<(String, i64)> = Vec::new();
    for row_group in metadata.row_groups() {
        for (index, column) in row_group.columns().iter().enumerate() {
            let name = column.column_path().string();
            match sizes.get_mut(index) {
                Some(entry) => entry.1 += column.compressed_size(),
                None => sizes.push((name, column.compressed_size())),
            }
        }
    }
    sizes.sort_by_key(|(_, size)| -size);
    let shown: Vec<String> = sizes
        .iter()
        .take(12)
        .map(|(name, size)| format!("{name} {:.2}", *size as f64 / events))
        .collect();
    println!("  bytes/event by column: {}", shown.join(", "));
}
