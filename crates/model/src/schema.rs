//! The one Arrow schema of the `events` table (schema v1).
//!
//! Types are the ones Delta Lake can hold and read back unchanged: Delta has no unsigned integers
//! and stores timestamps in microseconds, so ids are `Int64` (a 64-bit hash reinterpreted as
//! signed) and `ts` is `Timestamp(Microsecond, "UTC")` holding millisecond values. Strings are plain
//! `Utf8` in Arrow (dictionary Arrow types slowed DataFusion group-bys when measured); Parquet still
//! dictionary-encodes them on disk.
//!
//! The columns themselves are listed once, in [`columns`](crate::columns).

use std::sync::{Arc, LazyLock};

use arrow_schema::{Schema, SchemaRef};

/// Partition columns, in partition order.
pub const PARTITION_COLUMNS: [&str; 2] = ["site", "date"];

/// Version of the table schema, recorded in the table's metadata.
pub const SCHEMA_VERSION: u32 = 1;

static EVENT_SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| Arc::new(Schema::new(crate::columns::event_fields())));

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
