//! Data files: row order, Parquet settings, and writing one sorted file per partition chunk.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use arrow::array::{
    Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow::compute::take_record_batch;
use delta_kernel::expressions::Scalar;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake::kernel::{Action, Add, Remove};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter, WriteMode};
use deltalake::{DeltaTable, DeltaTableError};
use heatlake_model::parquet_settings;
use heatlake_model::schema::PARTITION_COLUMNS;
use heatlake_model::{EventType, event_schema};
use heatlake_table::TableLocation;
use indexmap::IndexMap;
use parquet::file::properties::WriterProperties;

use crate::{Error, FileLayout, Result, SortOrder};

/// The Parquet writer properties of every data file: [`FileLayout::parquet_settings`].
pub fn writer_properties(options: &FileLayout) -> Result<WriterProperties> {
    parquet_settings::writer_properties(&options.parquet_settings()).map_err(Error::Parquet)
}

/// Sorts a batch of [`event_schema`] or [`file_schema`](heatlake_model::file_schema) rows by
/// `order` (nulls first, ascending).
///
/// Rather than a generic multi-column comparison (string compares on every step, which showed in
/// profiles), each row gets a fixed-width key: the rank of its `path` among the batch's distinct
/// paths, then the rank of its `type` or its `pageview_id`, then `ts`.
pub fn sort_batch(batch: &RecordBatch, order: SortOrder) -> Result<RecordBatch> {
    let path_ranks = string_ranks(batch, "path")?;
    let second: Vec<i64> = match order {
        SortOrder::PathTypeTime => {
            let types = column::<StringArray>(batch, "type")?;
            types
                .iter()
                .map(|name| i64::from(type_rank(name)))
                .collect()
        }
        SortOrder::PathPageviewTime => {
            let ids = column::<Int64Array>(batch, "pageview_id")?;
            // Nulls first: below every id.
            (0..ids.len())
                .map(|row| {
                    if ids.is_null(row) {
                        i64::MIN
                    } else {
                        ids.value(row)
                    }
                })
                .collect()
        }
    };
    let ts = column::<TimestampMicrosecondArray>(batch, "ts")?;
    let mut keys: Vec<(u32, i64, i64, u32)> = (0..batch.num_rows())
        .map(|row| (path_ranks[row], second[row], ts.value(row), row as u32))
        .collect();
    keys.sort_unstable();
    let indices = UInt32Array::from_iter_values(keys.into_iter().map(|key| key.3));
    Ok(take_record_batch(batch, &indices)?)
}

/// The rank of an event type's name in byte order (the order a string sort gives).
fn type_rank(name: Option<&str>) -> u8 {
    static SORTED: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        let mut names: Vec<&'static str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        names.sort_unstable();
        names
    });
    name.map_or(0, |name| {
        SORTED
            .iter()
            .position(|known| *known == name)
            .map_or(u8::MAX, |rank| rank as u8 + 1)
    })
}

/// The rank of each row's value among the distinct values of a string column (nulls rank 0).
/// One hash lookup per row gives a provisional id; sorting the few distinct values turns ids
/// into ranks.
fn string_ranks(batch: &RecordBatch, name: &str) -> Result<Vec<u32>> {
    let values = column::<StringArray>(batch, name)?;
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let provisional: Vec<u32> = values
        .iter()
        .map(|value| {
            value.map_or(0, |value| {
                let next = ids.len() as u32 + 1;
                *ids.entry(value).or_insert(next)
            })
        })
        .collect();
    let mut distinct: Vec<(&str, u32)> = ids.into_iter().collect();
    distinct.sort_unstable();
    let mut rank_of_id = vec![0u32; distinct.len() + 1];
    for (rank, (_, id)) in distinct.into_iter().enumerate() {
        rank_of_id[id as usize] = rank as u32 + 1;
    }
    Ok(provisional
        .into_iter()
        .map(|id| rank_of_id[id as usize])
        .collect())
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    let index = batch.schema().index_of(name)?;
    Ok(batch
        .column(index)
        .as_any()
        .downcast_ref::<T>()
        .expect("event_schema fixes each column's type"))
}

/// `batch` without its partition columns, which live in a data file's path, not in the file.
pub fn file_batch(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = batch.schema();
    let file_columns: Vec<usize> = (0..schema.fields().len())
        .filter(|&index| !PARTITION_COLUMNS.contains(&schema.field(index).name().as_str()))
        .collect();
    Ok(batch.project(&file_columns)?)
}

/// Writes sorted data files into the table's directory layout (`site=S/date=D/`), returning
/// their Delta `add` actions (with statistics) without committing them.
pub struct DataFileWriter {
    location: TableLocation,
    properties: WriterProperties,
    sort_order: SortOrder,
}

impl DataFileWriter {
    /// A writer for the table at `location`.
    pub fn new(location: TableLocation, layout: &FileLayout) -> Result<Self> {
        Ok(Self {
            location,
            properties: writer_properties(layout)?,
            sort_order: layout.sort_order,
        })
    }

    /// Sorts `batch` (all rows of one partition) and writes it as one data file.
    pub async fn write(&self, site: &str, date_days: i32, batch: RecordBatch) -> Result<Vec<Add>> {
        // Drop the partition columns before sorting rather than reorder them only to be stripped.
        let batch = sort_batch(&file_batch(&batch)?, self.sort_order)?;
        self.write_sorted(site, date_days, vec![batch]).await
    }

    /// Writes `batches` ([`file_schema`](heatlake_model::file_schema) rows already in the
    /// layout's order, in turn) as one data file.
    pub async fn write_sorted(
        &self,
        site: &str,
        date_days: i32,
        batches: Vec<RecordBatch>,
    ) -> Result<Vec<Add>> {
        let delta = |source| Error::from(heatlake_table::Error::delta(&self.location, source));
        heatlake_table::register_object_stores();
        let mut writer = RecordBatchWriter::try_new(
            self.location.url().as_str(),
            event_schema(),
            Some(PARTITION_COLUMNS.map(str::to_owned).to_vec()),
            Some(self.location.storage_options()),
        )
        .map_err(delta)?
        .with_writer_properties(self.properties.clone());
        let partition_values: IndexMap<String, Scalar> = IndexMap::from([
            ("site".to_owned(), Scalar::String(site.to_owned())),
            ("date".to_owned(), Scalar::Date(date_days)),
        ]);
        for batch in batches {
            writer
                .write_partition(batch, &partition_values, WriteMode::Default)
                .await
                .map_err(delta)?;
        }
        writer.flush().await.map_err(delta)
    }
}

/// Commits `actions` (data files, and any transaction marker) to the table as an append, or
/// creates the table with them when there is none yet. Returns the new version and the table
/// it created, if it did.
pub async fn commit_append(
    location: &TableLocation,
    table: Option<&DeltaTable>,
    actions: Vec<Action>,
) -> Result<(u64, Option<DeltaTable>)> {
    let delta = |source| Error::from(heatlake_table::Error::delta(location, source));
    let Some(table) = table else {
        let table = heatlake_table::create_builder(location, actions)?
            .await
            .map_err(delta)?;
        return Ok((table.version().unwrap_or_default(), Some(table)));
    };
    let operation = DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: Some(PARTITION_COLUMNS.map(str::to_owned).to_vec()),
        predicate: None,
    };
    Ok((commit(location, table, actions, operation).await?, None))
}

/// Commits `actions` to an existing table as `operation`; returns the new version.
pub async fn commit(
    location: &TableLocation,
    table: &DeltaTable,
    actions: Vec<Action>,
    operation: DeltaOperation,
) -> Result<u64> {
    let delta = |source| Error::from(heatlake_table::Error::delta(location, source));
    let snapshot = table.snapshot().map_err(delta)?;
    // From CommitProperties rather than CommitBuilder::default(), which runs no post-commit
    // hook: the hook writes a checkpoint every `delta.checkpointInterval` commits, without
    // which every open and every refresh replays the whole log.
    let finalized = CommitBuilder::from(CommitProperties::default())
        .with_actions(actions)
        .build(Some(snapshot), table.log_store(), operation)
        .await
        .map_err(delta)?;
    Ok(finalized.version())
}

/// Attempts to commit one rewrite at most this many times: each failed attempt means another
/// writer committed first, and the next one starts from the table reloaded.
pub const REWRITE_COMMIT_ATTEMPTS_MAX: usize = 20;

/// Commits a rewrite as `operation`: `removes` (files of `table`'s snapshot) replaced by `adds`
/// (the same rows). Returns the new version, or `None` when another writer removed one of those
/// files first, so that the rewrite must not be committed (its rows are already elsewhere).
///
/// deltalake's conflict check does not catch two rewrites of the same files: it only compares
/// removals with `dataChange = true`, and a rewrite's are `false`, so both would commit and
/// every row of the files would be in the table twice. Here a rewrite commits only on the
/// exact version it has checked (deltalake's own retries off): when another commit lands
/// first, `table` is reloaded and the rewrite is tried again only if every file it removes is
/// still in the table.
pub async fn commit_rewrite(
    location: &TableLocation,
    table: &mut DeltaTable,
    removes: Vec<Remove>,
    adds: Vec<Add>,
    operation: DeltaOperation,
) -> Result<Option<u64>> {
    let delta = |source| Error::from(heatlake_table::Error::delta(location, source));
    let removed: HashSet<String> = removes.iter().map(|remove| remove.path.clone()).collect();
    let actions: Vec<Action> = removes
        .into_iter()
        .map(Action::Remove)
        .chain(adds.into_iter().map(Action::Add))
        .collect();
    for _ in 0..REWRITE_COMMIT_ATTEMPTS_MAX {
        let live: HashSet<String> = heatlake_table::data_files(table, location)
            .await?
            .into_iter()
            .map(|file| file.rewrite_remove().path)
            .collect();
        if !removed.is_subset(&live) {
            return Ok(None);
        }
        let snapshot = table.snapshot().map_err(delta)?;
        let outcome = CommitBuilder::from(CommitProperties::default().with_max_retries(0))
            .with_actions(actions.clone())
            .build(Some(snapshot), table.log_store(), operation.clone())
            .await;
        match outcome {
            Ok(finalized) => return Ok(Some(finalized.version())),
            // Another commit landed on the version checked: look again.
            Err(DeltaTableError::Transaction {
                source: TransactionError::MaxCommitAttempts(_),
            }) => table.update_state().await.map_err(delta)?,
            Err(source) => return Err(delta(source)),
        }
    }
    Err(Error::RewriteContended {
        location: location.to_string(),
        attempts: REWRITE_COMMIT_ATTEMPTS_MAX,
    })
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use heatlake_model::{Event, EventBatchBuilder, EventType};

    use super::*;

    fn batch(rows: &[(Option<&str>, EventType, i64, Option<i64>)]) -> RecordBatch {
        let mut builder = EventBatchBuilder::with_capacity(rows.len());
        for (path, event_type, ts_ms, pageview_id) in rows {
            builder.append(&Event {
                site: "a".into(),
                path: path.map(Into::into),
                event_type: *event_type,
                ts_ms: *ts_ms,
                pageview_id: *pageview_id,
                ..Event::default()
            });
        }
        builder.finish()
    }

    fn rows_of(batch: &RecordBatch) -> Vec<(Option<String>, String, i64)> {
        let path = batch.column_by_name("path").unwrap().as_string::<i32>();
        let kind = batch.column_by_name("type").unwrap().as_string::<i32>();
        let ts = batch
            .column_by_name("ts")
            .unwrap()
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        (0..batch.num_rows())
            .map(|row| {
                let path = (!path.is_null(row)).then(|| path.value(row).to_owned());
                (path, kind.value(row).to_owned(), ts.value(row) / 1000)
            })
            .collect()
    }

    #[test]
    fn sorts_by_path_then_type_name_then_time_with_null_paths_first() {
        use EventType::{Click, Move, Pageview, Scroll};
        let unsorted = batch(&[
            (Some("b/"), Click, 5, None),
            (Some("a/x"), Scroll, 1, None),
            (Some("a/x"), Click, 9, None),
            (None, Pageview, 7, None),
            (Some("a/x"), Click, 2, None),
            (Some("a/"), Move, 3, None),
        ]);
        let sorted = sort_batch(&unsorted, SortOrder::PathTypeTime).unwrap();
        let expected = [
            (None, "pageview", 7),
            (Some("a/"), "move", 3),
            (Some("a/x"), "click", 2),
            (Some("a/x"), "click", 9),
            (Some("a/x"), "scroll", 1),
            (Some("b/"), "click", 5),
        ]
        .map(|(path, kind, ts)| (path.map(str::to_owned), kind.to_owned(), ts));
        assert_eq!(rows_of(&sorted), expected);
    }

    #[test]
    fn sorts_by_path_then_pageview_then_time() {
        use EventType::{Click, Move};
        let unsorted = batch(&[
            (Some("a/"), Click, 4, Some(20)),
            (Some("a/"), Move, 1, Some(20)),
            (Some("a/"), Click, 9, Some(-5)),
            (Some("a/"), Move, 2, None),
        ]);
        let sorted = sort_batch(&unsorted, SortOrder::PathPageviewTime).unwrap();
        let times: Vec<i64> = rows_of(&sorted).into_iter().map(|row| row.2).collect();
        assert_eq!(times, [2, 9, 1, 4]);
    }
}
