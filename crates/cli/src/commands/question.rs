//! What every analytics command shares: the table and version, the segment flags, and the
//! output.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use datafusion::dataframe::DataFrame;
use heatlake_query::analytics::Segment;
use heatlake_query::analytics::question::Question;
use heatlake_query::output::{OutputFormat, write_frame};
use heatlake_query::{EventsSession, QueryOptions};
use heatlake_table::TableLocation;

use super::sql::OutputFormatArg;

/// Checks the output flags, opens the table, plans `question` and writes its parts.
pub async fn answer(table: &TableArgs, output: &OutputArgs, question: &Question) -> Result<()> {
    output.check()?;
    let session = table.open().await?;
    output.write(question.frames(&session).await?).await
}

/// The table and the version to read.
#[derive(Debug, Args)]
pub struct TableArgs {
    /// The table: a path, file:// or s3:// URL. Default: $HEATLAKE_TABLE, else
    /// DATA_DIR/events (DATA_DIR: $HEATLAKE_HOME, else ./heatlake-data).
    #[arg(long, value_name = "URL")]
    pub table: Option<String>,
    /// Read this version of the table instead of the latest (reports rerun identically).
    #[arg(long, value_name = "N")]
    pub version: Option<u64>,
}

impl TableArgs {
    /// Opens the session.
    pub async fn open(&self) -> Result<EventsSession> {
        let location = TableLocation::resolve(self.table.as_deref())?;
        EventsSession::open(&location, self.version, &QueryOptions::default())
            .await
            .with_context(|| format!("while opening {location}"))
    }
}

/// Segment flags (see `docs/analytics.md`).
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// Events at or after this instant: YYYY-MM-DD (UTC) or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Events before this instant: YYYY-MM-DD (UTC) or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Device class: desktop, tablet or mobile.
    #[arg(long)]
    pub device: Option<String>,
    /// Smallest viewport width in px (inclusive).
    #[arg(long, value_name = "PX")]
    pub viewport_w_min: Option<i32>,
    /// Largest viewport width in px (inclusive).
    #[arg(long, value_name = "PX")]
    pub viewport_w_max: Option<i32>,
    /// Browser of the page view (for example Chrome).
    #[arg(long)]
    pub browser: Option<String>,
    /// Operating system of the page view (for example Windows).
    #[arg(long)]
    pub os: Option<String>,
    /// Referrer domain of the page view (subdomains match).
    #[arg(long, value_name = "DOMAIN")]
    pub referrer_domain: Option<String>,
    /// Any SQL boolean expression over the columns of events, applied to every event read.
    #[arg(long, value_name = "SQL")]
    pub predicate: Option<String>,
}

impl SegmentArgs {
    /// The segment.
    pub fn segment(&self) -> Segment {
        Segment {
            from: self.from.clone(),
            to: self.to.clone(),
            device: self.device.clone(),
            viewport_w_min: self.viewport_w_min,
            viewport_w_max: self.viewport_w_max,
            browser: self.browser.clone(),
            os: self.os.clone(),
            referrer_domain: self.referrer_domain.clone(),
            predicate: self.predicate.clone(),
        }
    }
}

/// Where and how a result is written.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format: table, csv, json (one object per line) or parquet (needs --output).
    #[arg(long, default_value = "table", value_parser = clap::value_parser!(OutputFormatArg))]
    pub format: OutputFormatArg,
    /// Write the result to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Run the question and print its executed plan with metrics (rows, time, files and row
    /// groups pruned) instead of its answer.
    #[arg(long)]
    pub explain_analyze: bool,
}

impl OutputArgs {
    /// Checks the combination before any work is done.
    pub fn check(&self) -> Result<()> {
        if self.format.format() == OutputFormat::Parquet && self.output.is_none() {
            bail!("--format parquet needs --output FILE");
        }
        Ok(())
    }

    /// Writes `frames` one after the other to the destination.
    pub async fn write(&self, frames: Vec<DataFrame>) -> Result<()> {
        let format = self.format.format();
        if format == OutputFormat::Parquet && frames.len() > 1 {
            bail!(
                "--format parquet writes one result; this question has {}",
                frames.len()
            );
        }
        let mut destination: Box<dyn Write + Send> = match &self.output {
            Some(path) => Box::new(BufWriter::new(
                File::create(path).with_context(|| format!("while creating {}", path.display()))?,
            )),
            None => Box::new(BufWriter::new(crate::stdout::stdout())),
        };
        for frame in frames {
            let frame = if self.explain_analyze {
                frame.explain(false, true)?
            } else {
                frame
            };
            write_frame(frame, format, &mut destination).await?;
        }
        destination.flush()?;
        Ok(())
    }
}
