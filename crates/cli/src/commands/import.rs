//! `heatlake import`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use heatlake_ingest::{CompactOptions, ImportOptions, ImportProgress, SortOrder};
use heatlake_model::PrivacyPolicy;
use heatlake_model::privacy::ip::IpMode;
use heatlake_table::TableLocation;

use super::compact;
use crate::{progress, secret};

/// Arguments of `heatlake import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// NDJSON files in the wire format, plain or gzip (detected from the content); `-` reads
    /// standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The table: a path, file:// or s3:// URL. Default: $HEATLAKE_TABLE, else
    /// DATA_DIR/events (DATA_DIR: $HEATLAKE_HOME, else ./heatlake-data).
    #[arg(long, value_name = "URL")]
    table: Option<String>,
    /// Bad lines to report and skip; one more aborts the import, committing nothing.
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_errors: u64,
    /// Row order within data files.
    #[arg(long, value_enum, default_value_t = SortArg::PathTypeTs)]
    sort: SortArg,
    /// Keep the (scrubbed) visible text of clicked elements.
    #[arg(long)]
    keep_text: bool,
    /// Keep the (scrubbed) value of this input field (its `field` value); repeatable.
    #[arg(long = "value-field", value_name = "FIELD")]
    value_fields: Vec<String>,
    /// What to store of client IPs sent in `ip`: nothing, or the /24 (IPv4) or /48 (IPv6).
    #[arg(long, value_enum, default_value_t = IpArg::Drop)]
    ip: IpArg,
    /// Rows per data file at most.
    #[arg(long, default_value_t = 1 << 20, value_name = "ROWS")]
    file_rows: usize,
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = 1 << 18, value_name = "ROWS")]
    row_group_rows: usize,
    /// Leave the files as the import wrote them: by default, after the import's commit, every
    /// partition whose files overlap in `path` is rewritten as one sorted run (`heatlake compact`),
    /// in a second commit.
    #[arg(long)]
    no_compact: bool,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    json: bool,
}

/// The `--sort` choices of the commands that write data files.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SortArg {
    /// path, type, ts
    PathTypeTs,
    /// path, pageview_id, ts
    PathPageviewTs,
}

impl SortArg {
    /// The row order it names.
    pub(crate) fn order(self) -> SortOrder {
        match self {
            SortArg::PathTypeTs => SortOrder::PathTypeTime,
            SortArg::PathPageviewTs => SortOrder::PathPageviewTime,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum IpArg {
    Drop,
    Truncate,
}

/// Runs the import and prints its report.
pub async fn run(args: ImportArgs) -> Result<()> {
    let location = TableLocation::resolve(args.table.as_deref())?;
    let mut options = ImportOptions::new(secret::load_or_create()?);
    options.max_errors = args.max_errors;
    options.file_rows_max = args.file_rows.max(1);
    options.row_group_rows = args.row_group_rows.max(1);
    options.sort_order = args.sort.order();
    options.privacy = PrivacyPolicy {
        keep_text: args.keep_text,
        value_fields: args.value_fields,
        ip: match args.ip {
            IpArg::Drop => IpMode::Drop,
            IpArg::Truncate => IpMode::Truncate,
        },
    };
    let total_bytes: u64 = args
        .files
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|metadata| metadata.len())
        .sum();
    let counters = Arc::new(ImportProgress::default());
    let bar = progress::bytes_bar(total_bytes, "importing");
    let ticker = {
        let counters = Arc::clone(&counters);
        let bar = bar.clone();
        tokio::spawn(async move {
            loop {
                bar.set_position(counters.bytes_read.load(Ordering::Relaxed));
                bar.set_message(format!(
                    "importing: {} events, {} files",
                    counters.events.load(Ordering::Relaxed),
                    counters.files_written.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let started = Instant::now();
    let outcome = heatlake_ingest::import(&location, &args.files, &options, counters).await;
    ticker.abort();
    bar.finish_and_clear();
    let report = outcome.with_context(|| format!("while importing into {location}"))?;
    let elapsed = started.elapsed();
    for rejection in &report.rejected {
        eprintln!("rejected {rejection}");
    }
    let compaction = if args.no_compact {
        None
    } else {
        let options = CompactOptions {
            layout: options.layout(),
            file_rows_max: options.file_rows_max,
            ..CompactOptions::default()
        };
        let started = Instant::now();
        let compaction = compact::compact_with_progress(&location, &options).await?;
        Some((compaction, started.elapsed()))
    };
    if args.json {
        let mut json = serde_json::to_value(&report)?;
        if let Some((compaction, _)) = &compaction {
            json["compaction"] = serde_json::to_value(compaction)?;
        }
        println!("{json}");
    } else {
        println!(
            "{} version {} of {location}: {} events in {} files ({:.1} MB, {:.1} bytes/event) across {} partitions; {} lines rejected; {:.1} s, {:.0} events/s",
            if report.created {
                "created"
            } else {
                "committed"
            },
            report.version,
            report.events,
            report.data_files,
            report.data_bytes as f64 / 1e6,
            report.data_bytes as f64 / report.events.max(1) as f64,
            report.partitions,
            report.rejected.len(),
            elapsed.as_secs_f64(),
            report.events as f64 / elapsed.as_secs_f64().max(1e-9),
        );
        if let Some((compaction, elapsed)) = &compaction {
            println!("{}", compact::summary(&location, compaction, *elapsed));
        }
    }
    Ok(())
}
