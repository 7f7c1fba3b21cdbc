//! Compaction: rewriting a partition's data files as one sorted run of large files.
//!
//! Every import chunk and every collector flush writes its own sorted file, so a busy (site, day)
//! partition ends up with many files, each holding every page of the site: statistics on `path`
//! then prune nothing (each file's `path` range is the whole site) and a one-page question opens
//! every file of its days. Compaction merges a partition's files into one sorted run cut into
//! files of at most `file_rows_max` rows, whose `path` ranges no longer overlap: a one-page
//! question then opens one file per day and, inside it, only the row groups of its page.
//!
//! A partition is compacted when it has two or more files whose `path` ranges (from the Delta
//! statistics) overlap, or more files than its rows need (small files); a partition that is
//! already one sorted run of full files is left alone, so running compaction again changes
//! nothing. Each partition is one Delta commit (operation `OPTIMIZE`,
//! `dataChange = false`) that removes the old files and adds the new ones: readers see either
//! the old files or the new ones, never both, and the rows are the same. Files appended
//! concurrently (by the collector) are not in the set a commit removes, so they are kept. When
//! another compaction (another process's, or an import's) has removed some of a partition's
//! files first, the partition is left to it and its new files are deleted
//! ([`commit_rewrite`]): the rows are never written into the table twice.
//!
//! The merge is a DataFusion sort, within a memory limit past which it spills to disk, over the
//! rows of exactly the files the commit removes: they are read through the table's one reader,
//! [`heatlake_table::scan::SnapshotTable`], over that file set of the snapshot being compacted,
//! so a file appended since is neither read nor removed. The rows read must be the rows the
//! Delta log counts in those files, or nothing is committed.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::error::ArrowError;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext, col};
use deltalake::kernel::Add;
use deltalake::protocol::DeltaOperation;
use futures::TryStreamExt;
use heatlake_model::file_schema;
use heatlake_table::scan::{SnapshotTable, register_store};
use heatlake_table::{DataFile, TableLocation};

use crate::import::delete_files;
use crate::writer::{DataFileWriter, commit_rewrite, file_batch};
use crate::{Error, FileLayout, Result};

/// How compaction runs.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Layout of the new files (row order, row groups, compression).
    pub layout: FileLayout,
    /// Rows per new data file at most. Default 1,048,576, as the import.
    pub file_rows_max: usize,
    /// Memory the merge may hold before it spills to disk. Default 1 GiB.
    pub memory_bytes_max: usize,
    /// Compact only these sites' partitions. Empty: every site.
    pub sites: Vec<String>,
}

impl Default for CompactOptions {
    fn default() -> Self {
        Self {
            layout: FileLayout::default(),
            file_rows_max: 1 << 20,
            memory_bytes_max: 1 << 30,
            sites: Vec::new(),
        }
    }
}

/// What one compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CompactReport {
    /// Partitions in the table.
    pub partitions: usize,
    /// Partitions rewritten (the others were already one sorted run, or one file).
    pub partitions_compacted: usize,
    /// Partitions left as another writer's concurrent compaction rewrote them first.
    pub partitions_compacted_elsewhere: usize,
    /// Data files removed from the table.
    pub files_removed: usize,
    /// Data files added.
    pub files_added: usize,
    /// Rows rewritten.
    pub rows: u64,
    /// The table version after the last commit, if anything was committed.
    pub version: Option<u64>,
}

/// What decides whether a partition needs compaction, of one of its data files.
#[derive(Debug, Clone)]
struct PartitionFile {
    rows: Option<usize>,
    path_min: Option<String>,
    path_max: Option<String>,
}

/// One partition's data files at the snapshot being compacted.
#[derive(Debug, Default)]
struct Partition {
    /// The files, as the scan reads them and the commit removes them.
    files: Vec<DataFile>,
    /// The same files' row counts and `path` ranges, in the same order.
    summaries: Vec<PartitionFile>,
}

/// (site, date) → its files.
type Partitions = BTreeMap<(String, String), Partition>;

/// Compacts the table at `location`; see the module documentation. `on_partition` is called
/// after each partition's commit with the report so far, for progress.
pub async fn compact(
    location: &TableLocation,
    options: &CompactOptions,
    mut on_partition: impl FnMut(&CompactReport, usize),
) -> Result<CompactReport> {
    if options.file_rows_max == 0 {
        return Err(Error::InvalidOption {
            option: "file_rows_max",
            message: "must be at least 1".into(),
        });
    }
    let delta = |source| Error::from(heatlake_table::Error::delta(location, source));
    let mut table = heatlake_table::open(location, None).await?;
    let partitions = partitions(&table, location).await?;
    let mut report = CompactReport {
        partitions: partitions.len(),
        ..CompactReport::default()
    };
    let chosen: Vec<_> = partitions
        .into_iter()
        .filter(|((site, _), partition)| {
            (options.sites.is_empty() || options.sites.contains(site))
                && needs_compaction(&partition.summaries, options.file_rows_max)
        })
        .collect();
    if !chosen.is_empty() {
        // A rewrite's commit must not replace another writer's.
        heatlake_table::ensure_conditional_put(location).await?;
    }
    let writer = DataFileWriter::new(location.clone(), &options.layout)?;
    let total = chosen.len();
    for ((site, date), Partition { files, summaries }) in chosen {
        let date_days = heatlake_table::date_days(&date).ok_or_else(|| Error::InvalidOption {
            option: "date",
            message: format!("partition value {date:?} is not a YYYY-MM-DD date"),
        })?;
        let (adds, rows) =
            rewrite_partition(&table, &writer, &files, &site, date_days, options).await?;
        let expected: u64 = summaries
            .iter()
            .map(|file| file.rows.unwrap_or_default() as u64)
            .sum();
        if summaries.iter().all(|file| file.rows.is_some()) && expected != rows {
            return Err(Error::CompactionMismatch {
                site,
                date,
                expected,
                found: rows,
            });
        }
        let added = adds.len();
        let removed = files.len();
        let removes = files.iter().map(DataFile::rewrite_remove).collect();
        let operation = DeltaOperation::Optimize {
            predicate: Some(format!("site = '{site}' AND date = '{date}'")),
            target_size: options.file_rows_max as i64,
        };
        let committed =
            commit_rewrite(location, &mut table, removes, adds.clone(), operation).await?;
        let Some(version) = committed else {
            // Another compaction rewrote some of these files first.
            delete_files(location, &adds).await;
            report.partitions_compacted_elsewhere += 1;
            continue;
        };
        report.version = Some(version);
        report.partitions_compacted += 1;
        report.files_removed += removed;
        report.files_added += added;
        report.rows += rows;
        table.update_state().await.map_err(delta)?;
        on_partition(&report, total);
    }
    Ok(report)
}

/// The table's data files by partition, with their `path` ranges.
async fn partitions(table: &deltalake::DeltaTable, location: &TableLocation) -> Result<Partitions> {
    let mut partitions = Partitions::new();
    for file in heatlake_table::data_files(table, location).await? {
        let (path_min, path_max) = path_range(file.stats.as_deref());
        let partition = partitions
            .entry((file.site.clone(), file.date.clone()))
            .or_default();
        partition.summaries.push(PartitionFile {
            rows: file.rows,
            path_min,
            path_max,
        });
        partition.files.push(file);
    }
    Ok(partitions)
}

/// The `path` range of a file from its Delta statistics (JSON), if they hold one.
fn path_range(stats: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(stats) = stats.and_then(|stats| serde_json::from_str::<serde_json::Value>(stats).ok())
    else {
        return (None, None);
    };
    let bound = |key: &str| {
        stats
            .get(key)
            .and_then(|values| values.get("path"))
            .and_then(|path| path.as_str())
            .map(str::to_owned)
    };
    (bound("minValues"), bound("maxValues"))
}

/// Whether a partition's files are not yet one sorted run of full files: two or more files, and
/// either some two whose `path` ranges overlap (or are unknown), or more files than its rows
/// need at `file_rows_max` rows per file (small files, such as the collector's flushes of a
/// one-page site, whose ranges may only touch). Files that touch at a boundary value are a run:
/// the sort cut them there.
fn needs_compaction(files: &[PartitionFile], file_rows_max: usize) -> bool {
    if files.len() < 2 {
        return false;
    }
    let rows: usize = files.iter().map(|file| file.rows.unwrap_or(0)).sum();
    if files.len() > rows.div_ceil(file_rows_max).max(1) {
        return true;
    }
    let mut ranges = Vec::with_capacity(files.len());
    for file in files {
        let (Some(min), Some(max)) = (&file.path_min, &file.path_max) else {
            return true;
        };
        ranges.push((min.as_str(), max.as_str()));
    }
    ranges.sort_unstable();
    ranges.windows(2).any(|pair| pair[1].0 < pair[0].1)
}

/// Writes all rows of one partition's `files` (of `table`'s snapshot), sorted by the layout's
/// order, as new data files of at most `file_rows_max` rows; returns their `add` actions (not
/// committed, `dataChange = false`) and the rows written.
async fn rewrite_partition(
    table: &deltalake::DeltaTable,
    writer: &DataFileWriter,
    files: &[DataFile],
    site: &str,
    date_days: i32,
    options: &CompactOptions,
) -> Result<(Vec<Add>, u64)> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairSpillPool::new(options.memory_bytes_max)))
        .build_arc()?;
    let config = SessionConfig::new().with_target_partitions(1);
    let context = SessionContext::new_with_config_rt(config, runtime);
    let store_url = register_store(&context.runtime_env(), table);
    // Exactly the files the commit removes, all of the one partition: nothing to filter out.
    let provider = SnapshotTable::from_files(files.iter().cloned(), store_url);
    let order = options
        .layout
        .sort_order
        .columns()
        .map(|name| col(name).sort(true, true))
        .to_vec();
    let frame = context.read_table(Arc::new(provider))?.sort(order)?;
    let mut stream = frame.execute_stream().await?;
    let mut cutter = FileCutter::new(options.file_rows_max);
    let mut adds = Vec::new();
    let mut rows = 0;
    let mut write = async |chunk: Vec<RecordBatch>| -> Result<()> {
        rows += chunk
            .iter()
            .map(|batch| batch.num_rows() as u64)
            .sum::<u64>();
        for mut add in writer.write_sorted(site, date_days, chunk).await? {
            add.data_change = false;
            adds.push(add);
        }
        Ok(())
    };
    while let Some(batch) = stream.try_next().await? {
        for chunk in cutter.push(to_file_schema(&batch)?) {
            write(chunk).await?;
        }
    }
    if let Some(chunk) = cutter.finish() {
        write(chunk).await?;
    }
    Ok((adds, rows))
}

/// A scanned batch (partition columns included, engine types) as a data file batch.
fn to_file_schema(batch: &RecordBatch) -> Result<RecordBatch> {
    let batch = file_batch(batch)?;
    let schema = file_schema();
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let column = batch.column_by_name(field.name()).ok_or_else(|| {
                ArrowError::SchemaError(format!("the table has no column {}", field.name()))
            })?;
            cast(column, field.data_type())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Cuts a stream of batches into runs of at most `rows_max` rows, slicing a batch at a cut.
struct FileCutter {
    rows_max: usize,
    current: Vec<RecordBatch>,
    current_rows: usize,
}

impl FileCutter {
    fn new(rows_max: usize) -> Self {
        Self {
            rows_max,
            current: Vec::new(),
            current_rows: 0,
        }
    }

    /// Adds `batch`; returns the runs it completed.
    fn push(&mut self, batch: RecordBatch) -> Vec<Vec<RecordBatch>> {
        let mut full = Vec::new();
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (self.rows_max - self.current_rows).min(batch.num_rows() - offset);
            self.current.push(batch.slice(offset, take));
            self.current_rows += take;
            offset += take;
            if self.current_rows == self.rows_max {
                full.push(std::mem::take(&mut self.current));
                self.current_rows = 0;
            }
        }
        full
    }

    /// The last, partial run, if any.
    fn finish(self) -> Option<Vec<RecordBatch>> {
        (!self.current.is_empty()).then_some(self.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(min: Option<&str>, max: Option<&str>, rows: usize) -> PartitionFile {
        PartitionFile {
            rows: Some(rows),
            path_min: min.map(str::to_owned),
            path_max: max.map(str::to_owned),
        }
    }

    #[test]
    fn a_sorted_run_of_full_files_is_left_alone() {
        let full = 10;
        assert!(!needs_compaction(&[file(Some("a"), Some("z"), 3)], full));
        assert!(!needs_compaction(
            &[
                file(Some("m"), Some("z"), 5),
                file(Some("a"), Some("m"), full),
            ],
            full
        ));
        assert!(needs_compaction(
            &[
                file(Some("a"), Some("n"), full),
                file(Some("m"), Some("z"), full),
            ],
            full
        ));
        assert!(needs_compaction(
            &[file(Some("a"), Some("b"), full), file(None, None, full)],
            full
        ));
        // Small files of one page touch but are not a run of full files.
        assert!(needs_compaction(
            &[file(Some("p"), Some("p"), 3), file(Some("p"), Some("p"), 3)],
            full
        ));
    }

    #[test]
    fn chunks_cut_at_the_row_bound() {
        let schema = file_schema();
        let mut cutter = FileCutter::new(3);
        assert!(cutter.push(RecordBatch::new_empty(schema)).is_empty());
        assert!(cutter.finish().is_none());
        let mut builder = heatlake_model::EventBatchBuilder::with_capacity(7);
        for ts_ms in 0..7 {
            builder.append(&heatlake_model::Event {
                site: "a".into(),
                ts_ms,
                ..heatlake_model::Event::default()
            });
        }
        let batch = file_batch(&builder.finish()).unwrap();
        let mut cutter = FileCutter::new(5);
        let mut cut = cutter.push(batch.clone());
        cut.extend(cutter.push(batch));
        cut.extend(cutter.finish());
        let sizes: Vec<Vec<usize>> = cut
            .iter()
            .map(|chunk| chunk.iter().map(RecordBatch::num_rows).collect())
            .collect();
        assert_eq!(sizes, [vec![5], vec![2, 3], vec![4]]);
    }
}
