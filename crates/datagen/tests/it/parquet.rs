//! The Parquet output holds exactly the rows `IngestContext::accept` makes of the NDJSON output.

use std::fs::File;

use arrow_array::{Array, RecordBatch, StringArray};
use heatlake_datagen::{ParquetOptions, parquet_file_name, write_parquet, write_parquet_with};
use heatlake_model::privacy::ids::IdSecret;
use heatlake_model::{EventBatchBuilder, IngestContext, PrivacyPolicy, decode_line, event_schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::{config, ndjson};

const RECEIVED_AT_MS: i64 = 1_800_000_000_000;

fn read_all(path: &std::path::Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .with_batch_size(4_096)
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn rows_equal_accepted_wire_events() {
    let config = config(20_000, 21);
    let secret = IdSecret::generate_from([9; 32]);
    let dir = tempfile::tempdir().unwrap();
    let options = ParquetOptions {
        file_rows_max: 7_000,
        row_group_rows: 3_000,
    };
    let summary = write_parquet_with(
        &config,
        dir.path(),
        &secret,
        RECEIVED_AT_MS,
        options,
        |_| {},
    )
    .unwrap();

    let (text, ndjson_summary) = ndjson(&config);
    assert_eq!(summary, ndjson_summary);
    let mut context = IngestContext::new(secret.clone(), PrivacyPolicy::default(), RECEIVED_AT_MS);
    let mut accepted = text.lines().map(|line| {
        let wire = decode_line(line.as_bytes()).unwrap();
        context.accept(wire).unwrap()
    });

    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "part-00000.parquet",
            "part-00001.parquet",
            "part-00002.parquet"
        ]
    );

    let mut rows = 0;
    let mut filled = vec![0usize; event_schema().fields().len()];
    for (index, name) in names.iter().enumerate() {
        assert_eq!(*name, parquet_file_name(index));
        let path = dir.path().join(name);
        let metadata = SerializedFileReader::new(File::open(&path).unwrap())
            .unwrap()
            .metadata()
            .clone();
        let expected_rows = if index < 2 { 7_000 } else { 6_000 };
        assert_eq!(metadata.file_metadata().num_rows(), expected_rows, "{name}");
        let group_rows: Vec<i64> = metadata
            .row_groups()
            .iter()
            .map(|group| group.num_rows())
            .collect();
        assert!(
            group_rows.iter().all(|rows| *rows <= 3_000),
            "{name}: {group_rows:?}"
        );
        let column = metadata.row_group(0).column(0);
        assert!(
            matches!(column.compression(), Compression::ZSTD(_)),
            "{:?}",
            column.compression()
        );
        assert!(column.statistics().is_some(), "statistics are written");

        for batch in read_all(&path) {
            assert_eq!(batch.schema(), event_schema());
            let mut builder = EventBatchBuilder::with_capacity(batch.num_rows());
            for _ in 0..batch.num_rows() {
                builder.append(&accepted.next().expect("as many rows as events"));
            }
            let expected = builder.finish();
            for (column, field) in event_schema().fields().iter().enumerate() {
                assert_eq!(
                    expected.column(column),
                    batch.column(column),
                    "column `{}` of rows {rows}..{}",
                    field.name(),
                    rows + batch.num_rows()
                );
            }
            for (column, count) in filled.iter_mut().enumerate() {
                *count += batch.num_rows() - batch.column(column).null_count();
            }
            rows += batch.num_rows();
        }
    }
    assert_eq!(rows, 20_000);
    // The comparison covers every column the generator fills; the default policy keeps no
    // element text, typed values or IP prefixes, and no horizontal scrolling is generated.
    let never = ["text", "value", "scroll_x", "ip_prefix"];
    for (field, count) in event_schema().fields().iter().zip(&filled) {
        let name = field.name().as_str();
        assert_eq!(
            *count == 0,
            never.contains(&name),
            "column `{name}` has {count} values"
        );
    }
    assert!(accepted.next().is_none());
}

#[test]
fn files_are_deterministic_and_hold_pseudonyms_only() {
    let config = config(3_000, 22);
    let secret = IdSecret::generate_from([4; 32]);
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_parquet(&config, first.path(), &secret, RECEIVED_AT_MS, |_| {}).unwrap();
    write_parquet(&config, second.path(), &secret, RECEIVED_AT_MS, |_| {}).unwrap();
    let file = parquet_file_name(0);
    let bytes = std::fs::read(first.path().join(&file)).unwrap();
    assert_eq!(bytes, std::fs::read(second.path().join(&file)).unwrap());
    assert!(!second.path().join(parquet_file_name(1)).exists());

    // Sender ids, user agents and IPs never reach the file; derived families do.
    let (text, _) = ndjson(&config);
    let raw_ids: Vec<String> = text
        .lines()
        .map(|line| {
            decode_line(line.as_bytes())
                .unwrap()
                .visitor_id
                .unwrap()
                .into_owned()
        })
        .collect();
    let mut browsers = std::collections::BTreeSet::new();
    for batch in read_all(&first.path().join(&file)) {
        for (column, field) in event_schema().fields().iter().enumerate() {
            let Some(strings) = batch.column(column).as_any().downcast_ref::<StringArray>() else {
                continue;
            };
            for value in strings.iter().flatten() {
                assert!(
                    !value.contains("Mozilla/5.0"),
                    "`{}` holds a user agent: {value}",
                    field.name()
                );
                assert!(
                    !raw_ids.iter().any(|id| value.contains(id.as_str())),
                    "`{}` holds a sender id",
                    field.name()
                );
                if field.name() == "browser" {
                    browsers.insert(value.to_owned());
                }
            }
        }
        let ip_prefix = batch.column_by_name("ip_prefix").unwrap();
        assert_eq!(
            ip_prefix.null_count(),
            batch.num_rows(),
            "IPs are dropped by default"
        );
    }
    assert!(
        browsers.contains("Chrome") && browsers.contains("Safari"),
        "{browsers:?}"
    );
}

#[test]
fn zero_events_write_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = IdSecret::generate_from([4; 32]);
    let summary =
        write_parquet(&config(0, 1), dir.path(), &secret, RECEIVED_AT_MS, |_| {}).unwrap();
    assert_eq!(summary.events, 0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
