//! `heatlake gen`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use heatlake_datagen::{GenConfig, write_ndjson_file, write_parquet};

use crate::{progress, secret};

/// Arguments of `heatlake gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Number of events to write, exactly.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    events: u64,
    /// Seed of every random choice: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
    /// Output: an NDJSON file (gzip when it ends in .gz) or, with --format parquet, a directory.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GenFormat::Ndjson)]
    format: GenFormat,
    /// Number of sites.
    #[arg(long, default_value_t = GenConfig::default().sites, value_name = "N")]
    sites: u32,
    /// Pages per site.
    #[arg(long, default_value_t = GenConfig::default().pages_per_site, value_name = "N")]
    pages_per_site: u32,
    /// Days the sessions are spread over.
    #[arg(long, default_value_t = GenConfig::default().days, value_name = "N")]
    days: u32,
    /// First day, YYYY-MM-DD (UTC). Default: 2026-11-01.
    #[arg(long, value_name = "DATE")]
    start_date: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GenFormat {
    /// Wire-format NDJSON, what a tracker sends (input for `heatlake import`).
    Ndjson,
    /// Parquet files of the stored schema, ids pseudonymised with this data directory's secret.
    Parquet,
}

/// Generates the data set and prints its summary as JSON on standard output.
pub async fn run(args: GenArgs) -> Result<()> {
    let mut config = GenConfig {
        events: args.events,
        seed: args.seed,
        sites: args.sites,
        pages_per_site: args.pages_per_site,
        days: args.days,
        ..GenConfig::default()
    };
    if let Some(date) = &args.start_date {
        config = config.with_start_date(date)?;
    }
    config.check()?;
    let bar = progress::count_bar(config.events, "generating");
    let started = Instant::now();
    let report_progress = |written: u64| bar.set_position(written);
    let summary = match args.format {
        GenFormat::Ndjson => {
            if args.out.is_dir() {
                bail!(
                    "{} is a directory: NDJSON output needs a file name",
                    args.out.display()
                );
            }
            write_ndjson_file(&config, &args.out, report_progress)
        }
        GenFormat::Parquet => {
            let secret = secret::load_or_create()?;
            let received_at_ms = chrono_now_ms();
            write_parquet(&config, &args.out, &secret, received_at_ms, report_progress)
        }
    }
    .with_context(|| format!("while generating {}", args.out.display()))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} events to {} in {elapsed:.1} s ({:.0} events/s)",
        summary.events,
        args.out.display(),
        summary.events as f64 / elapsed.max(1e-9)
    );
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}
