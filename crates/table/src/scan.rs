//! Reading the table: a DataFusion table over a set of one snapshot's data files.
//!
//! Every reader of the table goes through [`SnapshotTable`]: queries over all the files of a
//! version, compaction over the files of one partition that its commit will remove.
//!
//! deltalake's own table provider reads through the Delta kernel's scan (file listing and a
//! transform of every batch above the Parquet reader); on the 10 M set that path took about
//! twice as long as DataFusion's Parquet scan over the same files with the same SQL (`heatlake
//! bench --engine datafusion`). Heatlake's data files are plain: no deletion vectors, no column
//! mapping, partition values only in the paths. So the table is read by DataFusion's Parquet
//! source directly, over exactly the files given (time travel stays exact: removed files that
//! are still on the store are not read):
//!
//! - the file list, sizes and partition values come from the Delta log ([`data_files`]);
//! - files are skipped at planning by the query's filters against their partition values and
//!   their Delta statistics of `path`, `type` and `ts` (a one-page question opens only the files
//!   that hold the page);
//! - row groups and pages are skipped by the Parquet source (statistics, page index, filter
//!   pushdown), as for any Parquet table.
//!
//! The statistics are used only to skip files, never to answer a query, so a truncated string
//! bound cannot leak into a result.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use datafusion::prelude::SessionContext;
//! use heatlake_table::TableLocation;
//! use heatlake_table::scan::{SnapshotTable, register_store};
//!
//! let location = TableLocation::parse("./heatlake-data/events")?;
//! let table = heatlake_table::open(&location, None).await?;
//! let context = SessionContext::new();
//! let store_url = register_store(&context.runtime_env(), &table);
//! let events = SnapshotTable::try_new(&location, &table, store_url).await?;
//! context.register_table("events", Arc::new(events))?;
//! let batches = context.sql("SELECT count(*) FROM events").await?.collect().await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::Session;
use datafusion::common::pruning::PrunableStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, Statistics, ToDFSchema};
use datafusion::datasource::TableProvider;
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::Result as DfResult;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::scalar::ScalarValue;
use deltalake::DeltaTable;
use heatlake_model::file_schema;

use crate::{DataFile, Result, TableLocation, data_files};

/// Columns whose Delta statistics are used to skip files.
const PRUNING_COLUMNS: [&str; 3] = ["path", "type", "ts"];

/// Registers `table`'s object store (rooted at the table) in `runtime`, under the URL that the
/// data file paths of its log resolve against; returns that URL, for [`SnapshotTable`].
pub fn register_store(runtime: &RuntimeEnv, table: &DeltaTable) -> ObjectStoreUrl {
    let store_url = table.log_store().object_store_url();
    runtime.register_object_store(store_url.as_ref(), table.log_store().object_store(None));
    store_url
}

/// One data file to scan.
#[derive(Debug, Clone)]
struct ScanFile {
    file: PartitionedFile,
    /// In table column order; min/max only for the partition and [`PRUNING_COLUMNS`].
    statistics: Arc<Statistics>,
}

/// The `events` table over a set of one Delta snapshot's data files: all of them
/// ([`Self::try_new`]) or those given ([`Self::from_files`]).
#[derive(Debug)]
pub struct SnapshotTable {
    /// `site`, `date`, then the data file columns (strings as views), as deltalake's provider
    /// showed them, so that answers keep their column order and types.
    schema: SchemaRef,
    /// The data file columns as read (strings as views).
    file_schema: SchemaRef,
    /// Where the files are: the table's root on its object store.
    store_url: ObjectStoreUrl,
    files: Vec<ScanFile>,
}

impl SnapshotTable {
    /// The table over every data file of `table`'s loaded version. The table's object store
    /// must be registered in the session under `store_url` ([`register_store`]).
    pub async fn try_new(
        location: &TableLocation,
        table: &DeltaTable,
        store_url: ObjectStoreUrl,
    ) -> Result<Self> {
        Ok(Self::from_files(
            data_files(table, location).await?,
            store_url,
        ))
    }

    /// The table over exactly `files` (of one snapshot, from [`data_files`]), for a reader that
    /// must see no other file, such as compaction, which reads the files its commit removes.
    /// The table's object store must be registered under `store_url` ([`register_store`]).
    pub fn from_files(
        files: impl IntoIterator<Item = DataFile>,
        store_url: ObjectStoreUrl,
    ) -> Self {
        let file_schema = view_schema(&file_schema());
        let site = Field::new(
            "site",
            DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::Utf8)),
            false,
        );
        let date = Field::new("date", DataType::Date32, false);
        let mut fields = vec![Arc::new(site), Arc::new(date)];
        fields.extend(file_schema.fields().iter().cloned());
        let schema = Arc::new(Schema::new(fields));
        // The scan's own column order: file columns, then the partition columns.
        let mut scan_fields: Vec<FieldRef> = file_schema.fields().iter().cloned().collect();
        scan_fields.extend(schema.fields()[..2].iter().cloned());
        let scan_schema = Schema::new(scan_fields);
        let files = files
            .into_iter()
            .map(|data_file| {
                let partition_values = vec![
                    ScalarValue::Dictionary(
                        Box::new(DataType::UInt16),
                        Box::new(ScalarValue::Utf8(Some(data_file.site))),
                    ),
                    ScalarValue::Date32(Some(data_file.date_days)),
                ];
                let statistics = statistics(
                    &schema,
                    &partition_values,
                    data_file.rows,
                    data_file.stats.as_deref(),
                );
                // Row counts for the planner (join sides); no column bounds, which the planner
                // could use as answers.
                let mut scan_statistics = Statistics::new_unknown(&scan_schema);
                scan_statistics.num_rows = statistics.num_rows;
                let file = PartitionedFile::new(data_file.path, data_file.size)
                    .with_partition_values(partition_values)
                    .with_statistics(Arc::new(scan_statistics));
                ScanFile {
                    file,
                    statistics: Arc::new(statistics),
                }
            })
            .collect();
        Self {
            schema,
            file_schema,
            store_url,
            files,
        }
    }

    /// The URL the data file paths resolve against (see [`register_store`]).
    pub fn store_url(&self) -> &ObjectStoreUrl {
        &self.store_url
    }

    /// The number of data files the table reads at most.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The files the filters may need: all, less those whose partition values or statistics
    /// rule every row out.
    ///
    /// Each conjunct prunes on its own, so one that cannot become a pruning predicate leaves
    /// the others in force; above all a read scope's `site IN (...)`, so that another site's
    /// files are never opened (their rows would otherwise reach the operators below the
    /// scope's filter, and an error raised on one of them, such as a failed cast, quotes it).
    fn candidate_files(&self, state: &dyn Session, filters: &[Expr]) -> DfResult<Vec<usize>> {
        let mut keep = vec![true; self.files.len()];
        let conjuncts: Vec<&Expr> = filters.iter().flat_map(split_conjunction).collect();
        if conjuncts.is_empty() {
            return Ok((0..self.files.len()).collect());
        }
        let df_schema = self.schema.clone().to_dfschema()?;
        let statistics = PrunableStatistics::new(
            self.files
                .iter()
                .map(|file| file.statistics.clone())
                .collect(),
            self.schema.clone(),
        );
        for conjunct in conjuncts {
            let Ok(physical) = state.create_physical_expr(conjunct.clone(), &df_schema) else {
                continue;
            };
            let Some(pruning) = PruningPredicateBuilder::new()
                .with_file_schema(self.schema.clone())
                .build(physical)
            else {
                continue;
            };
            for (keep, kept) in keep.iter_mut().zip(pruning.prune(&statistics)?) {
                *keep &= kept;
            }
        }
        Ok((0..self.files.len()).filter(|&index| keep[index]).collect())
    }
}

#[async_trait]
impl TableProvider for SnapshotTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // Filters skip files here and row groups in the Parquet source; a filter above the
        // scan still decides every row.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let candidates = self.candidate_files(state, filters)?;
        // Table order is (site, date, file columns); the scan's is (file columns, site, date).
        let file_columns = self.file_schema.fields().len();
        let to_scan = |index: usize| match index {
            0 => file_columns,
            1 => file_columns + 1,
            column => column - 2,
        };
        let scan_projection: Vec<usize> = match projection {
            Some(projection) => projection.iter().map(|&index| to_scan(index)).collect(),
            None => (0..self.schema.fields().len()).map(to_scan).collect(),
        };
        if candidates.is_empty() {
            let projected = match projection {
                Some(projection) => Arc::new(self.schema.project(projection)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        let partitions = state.config().target_partitions().max(1);
        let mut groups: Vec<Vec<PartitionedFile>> =
            vec![Vec::new(); partitions.min(candidates.len())];
        let mut sizes = vec![0u64; groups.len()];
        // Largest first onto the lightest group: balanced scan partitions.
        let mut ordered = candidates;
        ordered.sort_by_key(|&index| std::cmp::Reverse(self.files[index].file.object_meta.size));
        for index in ordered {
            let lightest = (0..groups.len())
                .min_by_key(|&group| sizes[group])
                .expect("at least one group");
            sizes[lightest] += self.files[index].file.object_meta.size;
            groups[lightest].push(self.files[index].file.clone());
        }
        let partition_fields: Vec<FieldRef> = self.schema.fields()[..2].to_vec();
        let table_schema = TableSchema::builder(self.file_schema.clone())
            .with_table_partition_cols(partition_fields)
            .build();
        let options = state.table_options().parquet.clone();
        let source = ParquetSource::new(table_schema).with_table_parquet_options(options.clone());
        let config = FileScanConfigBuilder::new(self.store_url.clone(), Arc::new(source))
            .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
            .with_projection_indices(Some(scan_projection))?
            .with_limit(limit)
            .build();
        ParquetFormat::default()
            .with_options(options)
            .create_physical_plan(state, config)
            .await
    }
}

/// `schema` with every string column read as a string view, as DataFusion reads Parquet.
fn view_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => {
                field.as_ref().clone().with_data_type(DataType::Utf8View)
            }
            _ => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A file's statistics in table column order: its partition values as exact bounds, and the
/// Delta statistics' bounds of [`PRUNING_COLUMNS`]; everything else unknown.
fn statistics(
    schema: &Schema,
    partition_values: &[ScalarValue],
    rows: Option<usize>,
    stats: Option<&str>,
) -> Statistics {
    let json: Option<serde_json::Value> = stats.and_then(|stats| serde_json::from_str(stats).ok());
    let bound = |key: &str, name: &str, data_type: &DataType| -> Precision<ScalarValue> {
        let Some(value) = json.as_ref().and_then(|json| json.get(key)?.get(name)) else {
            return Precision::Absent;
        };
        match (data_type, value) {
            (DataType::Utf8View, serde_json::Value::String(text)) => {
                Precision::Exact(ScalarValue::Utf8View(Some(text.clone())))
            }
            (DataType::Timestamp(TimeUnit::Microsecond, zone), serde_json::Value::String(text)) => {
                match chrono::DateTime::parse_from_rfc3339(text) {
                    // Delta keeps time bounds to the millisecond: widen the maximum by one.
                    Ok(time) => {
                        let micros =
                            time.timestamp_micros() + if key == "maxValues" { 999 } else { 0 };
                        Precision::Exact(ScalarValue::TimestampMicrosecond(
                            Some(micros),
                            zone.clone(),
                        ))
                    }
                    Err(_) => Precision::Absent,
                }
            }
            _ => Precision::Absent,
        }
    };
    let mut statistics = Statistics::new_unknown(schema);
    statistics.num_rows = rows.map_or(Precision::Absent, Precision::Exact);
    for (index, field) in schema.fields().iter().enumerate() {
        let column = &mut statistics.column_statistics[index];
        if index < partition_values.len() {
            *column = ColumnStatistics::new_unknown()
                .with_min_value(Precision::Exact(partition_values[index].clone()))
                .with_max_value(Precision::Exact(partition_values[index].clone()))
                .with_null_count(Precision::Exact(0));
        } else if PRUNING_COLUMNS.contains(&field.name().as_str()) {
            *column = ColumnStatistics::new_unknown()
                .with_min_value(bound("minValues", field.name(), field.data_type()))
                .with_max_value(bound("maxValues", field.name(), field.data_type()));
        }
    }
    statistics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_statistics_hold_partition_values_and_the_pruning_bounds_only() {
        let table = SnapshotTable::from_files([], ObjectStoreUrl::local_filesystem());
        let partition_values = [
            ScalarValue::Utf8(Some("shop.example".into())),
            ScalarValue::Date32(Some(20_393)),
        ];
        let stats = r#"{"numRecords": 3,
            "minValues": {"path": "/a", "ts": "2025-11-02T10:00:00.000Z", "x": 1},
            "maxValues": {"path": "/z", "ts": "2025-11-02T11:00:00.123Z", "x": 9}}"#;
        let statistics = statistics(&table.schema, &partition_values, Some(3), Some(stats));
        assert_eq!(statistics.num_rows, Precision::Exact(3));
        let column = |name: &str| {
            &statistics.column_statistics[table.schema.index_of(name).expect("a table column")]
        };
        assert_eq!(
            column("site").min_value,
            Precision::Exact(partition_values[0].clone())
        );
        assert_eq!(
            column("date").max_value,
            Precision::Exact(partition_values[1].clone())
        );
        assert_eq!(
            column("path").min_value,
            Precision::Exact(ScalarValue::Utf8View(Some("/a".into())))
        );
        // Delta keeps milliseconds: the maximum covers the whole last millisecond.
        let ts_max = chrono::DateTime::parse_from_rfc3339("2025-11-02T11:00:00.123Z")
            .expect("a valid time")
            .timestamp_micros()
            + 999;
        assert!(matches!(
            &column("ts").max_value,
            Precision::Exact(ScalarValue::TimestampMicrosecond(Some(micros), _)) if *micros == ts_max
        ));
        // Bounds of other columns are never used, so never read.
        assert_eq!(column("x").min_value, Precision::Absent);
        assert_eq!(table.file_count(), 0);
    }
}
