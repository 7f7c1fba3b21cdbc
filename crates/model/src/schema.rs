//! The one Arrow schema of the `events` table (schema v1).
//!
//! Types are the ones Delta Lake can hold and read back unchanged: Delta has no unsigned integers
//! and stores timestamps in microseconds, so ids are `Int64` (a 64-bit hash reinterpreted as
//! signed) and `ts` is `Timestamp(Microsecond, "UTC")` holding millisecond values. Strings are plain
//! `Utf8` in Arrow (dictionary Arrow types slowed DataFusion group-bys when measured); Parquet still
//! dictionary-encodes them on disk.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Partition columns, in partition order.
pub const PARTITION_COLUMNS: [&str; 2] = ["site", "date"];

/// Version of the table schema, recorded in the table's metadata.
pub const SCHEMA_VERSION: u32 = 1;

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

static EVENT_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    use DataType::{Boolean, Date32, Float32, Int8, Int32, Int64, Utf8};
    let column = |name: &str, data_type: DataType| Field::new(name, data_type, true);
    let required = |name: &str, data_type: DataType| Field::new(name, data_type, false);
    Arc::new(Schema::new(vec![
        required("site", Utf8),
        required("date", Date32),
        required("ts", timestamp()),
        required("received_at", timestamp()),
        column("visitor_id", Int64),
        column("session_id", Int64),
        column("pageview_id", Int64),
        column("seq", Int32),
        required("type", Utf8),
        column("url", Utf8),
        column("path", Utf8),
        column("referrer", Utf8),
        column("title", Utf8),
        column("x", Int32),
        column("y", Int32),
        column("target", Utf8),
        column("target_rx", Float32),
        column("target_ry", Float32),
        column("target_fixed", Boolean),
        column("button", Int8),
        column("dead", Boolean),
        column("link", Utf8),
        column("text", Utf8),
        column("viewport_w", Int32),
        column("viewport_h", Int32),
        column("doc_w", Int32),
        column("doc_h", Int32),
        column("scroll_x", Int32),
        column("scroll_y", Int32),
        column("device", Utf8),
        column("browser", Utf8),
        column("os", Utf8),
        column("field", Utf8),
        column("input_len", Int32),
        column("value", Utf8),
        column("duration_ms", Int64),
        column("props", Utf8),
        column("ip_prefix", Utf8),
    ]))
});

static FILE_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let fields = EVENT_SCHEMA
        .fields()
        .iter()
        .filter(|field| !PARTITION_COLUMNS.contains(&field.name().as_str()))
        .cloned()
        .collect::<Vec<_>>();
    Arc::new(Schema::new(fields))
});

/// The full schema of `events`, partition columns first.
pub fn event_schema() -> SchemaRef {
    Arc::clone(&EVENT_SCHEMA)
}

/// The schema of one Parquet data file: [`event_schema`] without the partition columns, whose
/// values Delta Lake keeps in the file's path and log entry.
pub fn file_schema() -> SchemaRef {
    Arc::clone(&FILE_SCHEMA)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_schema_is_event_schema_less_partitions() {
        assert_eq!(event_schema().fields().len(), 38);
        assert_eq!(file_schema().fields().len(), 36);
        assert_eq!(file_schema().field(0).name(), "ts");
        for name in PARTITION_COLUMNS {
            assert!(file_schema().field_with_name(name).is_err());
        }
    }
}
