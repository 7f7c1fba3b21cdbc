//! `heatlake salvage-wal`: the explicit way past a damaged write-ahead log, which `heatlake
//! serve` refuses to start on. It drops the damaged bytes, keeps a copy of each segment it
//! changes, and says exactly what it dropped.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use heatlake_ingest::wal::salvage::{SalvageReport, salvage};
use heatlake_server::ServerConfig;

/// Arguments of `heatlake salvage-wal`.
#[derive(Debug, Args)]
pub struct SalvageWalArgs {
    /// The collector's TOML configuration file, for its `wal_dir` (as `heatlake serve`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The WAL directory. Default: as `heatlake serve` resolves it ($HEATLAKE_WAL_DIR, else the
    /// file's `wal_dir`, else DATA_DIR/wal).
    #[arg(long, value_name = "DIR")]
    wal_dir: Option<PathBuf>,
    /// Report what would be dropped, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    json: bool,
}

/// Salvages the WAL (the collector must be stopped) and prints what was dropped.
pub async fn run(args: SalvageWalArgs) -> Result<()> {
    let dir = match args.wal_dir {
        Some(dir) => dir,
        None => {
            let mut config = match &args.config {
                Some(path) => ServerConfig::from_file(path)?,
                None => ServerConfig::default(),
            };
            config.apply_env(|name| std::env::var(name).ok())?;
            config.wal_directory()
        }
    };
    anyhow::ensure!(dir.is_dir(), "no WAL directory at {}", dir.display());
    let dry_run = args.dry_run;
    let scanned = dir.clone();
    let report = tokio::task::spawn_blocking(move || salvage(&scanned, dry_run))
        .await
        .context("the salvage thread stopped")?
        .with_context(|| format!("while salvaging the WAL in {}", dir.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(report: &SalvageReport) {
    let verb = if report.dry_run {
        "would drop"
    } else {
        "dropped"
    };
    for dropped in &report.dropped {
        let what = match (dropped.torn_tail, dropped.lost_seqs) {
            (true, _) => "a torn tail (never acknowledged)".to_owned(),
            (false, Some((first, last))) if first == last => format!("record {first} lost"),
            (false, Some((first, last))) => {
                format!(
                    "records {first}..={last} lost ({} records)",
                    last - first + 1
                )
            }
            (false, None) => "no record lost".to_owned(),
        };
        println!(
            "{}: {verb} {} bytes at byte {}: {what}",
            dropped.path.display(),
            dropped.bytes,
            dropped.offset
        );
    }
    let mut copies: Vec<_> = report
        .dropped
        .iter()
        .filter_map(|dropped| dropped.kept_copy.as_ref())
        .collect();
    copies.dedup();
    for copy in copies {
        println!("kept the segment as it was in {}", copy.display());
    }
    println!(
        "{}: {} segments, {} records kept, {} records lost{}",
        report.dir.display(),
        report.segments,
        report.records_kept,
        report.records_lost(),
        if report.dry_run {
            " (dry run: nothing changed)"
        } else if report.dropped.is_empty() {
            " (nothing to drop)"
        } else {
            ""
        }
    );
}
