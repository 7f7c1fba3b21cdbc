//! `heatlake vacuum`.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use heatlake_ingest::VacuumOptions;
use heatlake_table::TableLocation;

/// Arguments of `heatlake vacuum`.
#[derive(Debug, Args)]
pub struct VacuumArgs {
    /// The table: a path, file:// or s3:// URL. Default: $HEATLAKE_TABLE, else
    /// DATA_DIR/events (DATA_DIR: $HEATLAKE_HOME, else ./heatlake-data).
    #[arg(long, value_name = "URL")]
    table: Option<String>,
    /// Delete files removed from the table longer ago than this many hours. Versions older than
    /// that may then no longer be readable with --version.
    #[arg(long, default_value_t = 168.0, value_name = "HOURS")]
    retain_hours: f64,
    /// Also delete files no version references (left by an import or flush that failed before
    /// its commit). With a collector running, keep --retain-hours above its flush interval.
    #[arg(long)]
    full: bool,
    /// List what would be deleted, delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    json: bool,
}

/// Runs the vacuum and prints its report.
pub async fn run(args: VacuumArgs) -> Result<()> {
    let location = TableLocation::resolve(args.table.as_deref())?;
    if !args.retain_hours.is_finite() || args.retain_hours < 0.0 {
        anyhow::bail!(
            "--retain-hours must be 0 or more, got {}",
            args.retain_hours
        );
    }
    let options = VacuumOptions {
        retention: Duration::from_secs_f64(args.retain_hours * 3600.0),
        full: args.full,
        dry_run: args.dry_run,
    };
    let report = heatlake_ingest::vacuum(&location, &options)
        .await
        .with_context(|| format!("while vacuuming {location}"))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for file in &report.files {
            println!("{file}");
        }
        eprintln!(
            "{location}: {} files {}",
            report.files.len(),
            if report.dry_run {
                "would be deleted (dry run)"
            } else {
                "deleted"
            }
        );
    }
    Ok(())
}
