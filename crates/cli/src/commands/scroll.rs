//! `heatlake scroll`: how far down a page its page views got.

use anyhow::Result;
use clap::Args;
use heatlake_query::analytics::scroll::{ScrollParams, scroll_depth};

use super::question::{OutputArgs, SegmentArgs, TableArgs};

/// Arguments of `heatlake scroll`.
#[derive(Debug, Args)]
pub struct ScrollArgs {
    /// Site.
    #[arg(long)]
    site: String,
    /// Page (`path`).
    #[arg(long, value_name = "PATH")]
    page: String,
    /// Print only the summary row (page views, unknown document heights, average and median
    /// depth, the fold), not the 101-row reach curve.
    #[arg(long)]
    summary: bool,
    #[command(flatten)]
    table: TableArgs,
    #[command(flatten)]
    segment: SegmentArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Runs the scroll-depth question: the summary, then the reach curve.
pub async fn run(args: ScrollArgs) -> Result<()> {
    args.output.check()?;
    let params = ScrollParams {
        site: args.site.clone(),
        path: args.page.clone(),
        segment: args.segment.segment(),
    };
    let session = args.table.open().await?;
    let depth = scroll_depth(&session, &params).await?;
    let frames = if args.summary {
        vec![depth.summary]
    } else {
        vec![depth.summary, depth.reach]
    };
    args.output.write(frames).await
}
