//! `heatlake compact`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use heatlake_ingest::{CompactOptions, CompactReport, FileLayout};
use heatlake_table::TableLocation;

use super::import::SortArg;
use crate::progress;

/// Arguments of `heatlake compact`.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// The table: a path, file:// or s3:// URL. Default: $HEATLAKE_TABLE, else
    /// DATA_DIR/events (DATA_DIR: $HEATLAKE_HOME, else ./heatlake-data).
    #[arg(long, value_name = "URL")]
    table: Option<String>,
    /// Compact only this site's partitions; repeatable. Default: every site.
    #[arg(long = "site", value_name = "SITE")]
    sites: Vec<String>,
    /// Row order within the new data files.
    #[arg(long, value_enum, default_value_t = SortArg::PathTypeTs)]
    sort: SortArg,
    /// Rows per new data file at most.
    #[arg(long, default_value_t = 1 << 20, value_name = "ROWS")]
    file_rows: usize,
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = FileLayout::default().row_group_rows, value_name = "ROWS")]
    row_group_rows: usize,
    /// Memory the merge of one partition may hold before it spills to disk, in MiB.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    memory_mb: usize,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    json: bool,
}

/// Runs the compaction and prints its report.
pub async fn run(args: CompactArgs) -> Result<()> {
    let location = TableLocation::resolve(args.table.as_deref())?;
    let options = CompactOptions {
        layout: FileLayout {
            row_group_rows: args.row_group_rows.max(1),
            sort_order: args.sort.order(),
            ..FileLayout::default()
        },
        file_rows_max: args.file_rows.max(1),
        memory_bytes_max: args.memory_mb.max(1) << 20,
        sites: args.sites,
    };
    let started = Instant::now();
    let report = compact_with_progress(&location, &options).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", summary(&location, &report, started.elapsed()));
    }
    Ok(())
}

/// Compacts with a progress bar on standard error.
pub async fn compact_with_progress(
    location: &TableLocation,
    options: &CompactOptions,
) -> Result<CompactReport> {
    let bar = progress::count_bar(0, "compacting partitions");
    let outcome = heatlake_ingest::compact(location, options, |report, total| {
        bar.set_length(total as u64);
        bar.set_position(report.partitions_compacted as u64);
    })
    .await;
    bar.finish_and_clear();
    outcome.with_context(|| format!("while compacting {location}"))
}

/// One line saying what a compaction did.
pub fn summary(location: &TableLocation, report: &CompactReport, elapsed: Duration) -> String {
    let elsewhere = match report.partitions_compacted_elsewhere {
        0 => String::new(),
        partitions => format!(" ({partitions} compacted by another writer at the same time)"),
    };
    if report.partitions_compacted == 0 {
        return format!(
            "compaction: nothing to do in {location} ({} partitions, each one sorted run){elsewhere}",
            report.partitions
        );
    }
    format!(
        "compaction: version {} of {location}: {} of {} partitions rewritten{elsewhere}, {} files replaced by {}, {} rows; {:.1} s",
        report.version.unwrap_or_default(),
        report.partitions_compacted,
        report.partitions,
        report.files_removed,
        report.files_added,
        report.rows,
        elapsed.as_secs_f64(),
    )
}
