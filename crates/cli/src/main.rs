//! `heatlake`: generate, import and query web interaction events in a Delta Lake table.
//!
//! The binary only parses arguments, shows progress and maps errors to exit codes; the work is
//! done by the library crates, where tests can reach it.

mod commands;
mod progress;
mod secret;
mod stdout;

use std::io::ErrorKind;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Heatlake: web interaction events (page views, clicks, moves, scrolls) in a Delta Lake table,
/// private by design, queried with SQL.
#[derive(Debug, Parser)]
#[command(name = "heatlake", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a deterministic synthetic data set (NDJSON wire format, or Parquet).
    Gen(commands::generate::GenArgs),
    /// Import NDJSON event files (plain or gzip) into the events table, in one commit.
    Import(commands::import::ImportArgs),
    /// Rewrite each partition's data files as one sorted run of large files, so that statistics
    /// prune by page; the rows stay the same.
    Compact(commands::compact::CompactArgs),
    /// Delete data files that compaction removed from the table longer ago than a retention
    /// period (and, with --full, files no version references).
    Vacuum(commands::vacuum::VacuumArgs),
    /// Run SQL over the events table: a query, a file of queries, or an interactive shell.
    Sql(commands::sql::SqlArgs),
    /// Click or move heatmap of a page: counts and distinct visitors per cell.
    Heatmap(commands::heatmap::HeatmapArgs),
    /// Scroll depth of a page: share of page views reaching each depth, and the fold.
    Scroll(commands::scroll::ScrollArgs),
    /// Click-through per element of a page, or per link to the next page.
    Ctr(commands::ctr::CtrArgs),
    /// Rage clicks and dead clicks per element or per page.
    Frustration(commands::frustration::FrustrationArgs),
    /// Sessions through ordered steps within a time window.
    Funnel(commands::funnel::FunnelArgs),
    /// One self-contained HTML report about a page: heatmaps, scroll depth, CTR, frustration.
    Report(commands::report::ReportArgs),
    /// Run the collector: the HTTP service websites send events to, durable in a write-ahead log
    /// and committed to the events table.
    Serve(commands::serve::ServeArgs),
    /// Drop the damaged bytes of the collector's write-ahead log, which `serve` refuses to start
    /// on, and report exactly what was dropped (stop the collector first).
    SalvageWal(commands::salvage_wal::SalvageWalArgs),
    /// Time the peer-comparison question set in this process (see benches/compare.sh).
    Bench(commands::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("heatlake: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Gen(args) => commands::generate::run(args).await,
            Command::Import(args) => commands::import::run(args).await,
            Command::Compact(args) => commands::compact::run(args).await,
            Command::Vacuum(args) => commands::vacuum::run(args).await,
            Command::Sql(args) => commands::sql::run(args).await,
            Command::Heatmap(args) => commands::heatmap::run(args).await,
            Command::Scroll(args) => commands::scroll::run(args).await,
            Command::Ctr(args) => commands::ctr::run(args).await,
            Command::Frustration(args) => commands::frustration::run(args).await,
            Command::Funnel(args) => commands::funnel::run(args).await,
            Command::Report(args) => commands::report::run(args).await,
            Command::Serve(args) => commands::serve::run(args).await,
            Command::SalvageWal(args) => commands::salvage_wal::run(args).await,
            Command::Bench(args) => commands::bench::run(args).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("heatlake: {}", error_message(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each once. Heatlake's errors and contexts say their own
/// part only and leave the cause to the `source()` chain; the libraries below (DataFusion, Arrow,
/// Parquet, Delta Lake, object_store) write their causes into their own messages, so the chain
/// is followed down to the first of those and no further.
fn error_message(error: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in error.chain() {
        // One line: some store errors carry a multi-line response body.
        parts.push(
            cause
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        );
        if says_its_causes(cause) {
            break;
        }
    }
    parts.join(": ")
}

/// Whether `error` is of a library that writes its causes into its own message (boxed or not,
/// as an error may hold its source).
fn says_its_causes(error: &(dyn std::error::Error + 'static)) -> bool {
    fn is<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
        error.is::<T>() || error.is::<Box<T>>()
    }
    is::<datafusion::error::DataFusionError>(error)
        || is::<arrow::error::ArrowError>(error)
        || is::<datafusion::parquet::errors::ParquetError>(error)
        || is::<deltalake::DeltaTableError>(error)
        || is::<deltalake::ObjectStoreError>(error)
}

/// A closed stdout (`heatlake sql ... | head`) is the reader's choice, not a failure: an
/// [`std::io::Error`] of kind `BrokenPipe` in the chain, or one standard output noted where an
/// encoder dropped it.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    stdout::reader_gone()
        || error.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == ErrorKind::BrokenPipe)
        })
}
