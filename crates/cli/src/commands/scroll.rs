//! `heatlake scroll`: how far down a page its page views got.

use anyhow::Result;
use clap::Args;
use heatlake_query::analytics::question::{Question, ScrollPart};
use heatlake_query::analytics::scroll::ScrollParams;

use super::question::{OutputArgs, SegmentArgs, TableArgs, answer};

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
    let question = Question::Scroll {
        params: ScrollParams {
            site: args.site.clone(),
            path: args.page.clone(),
            segment: args.segment.segment(),
        },
        part: if args.summary {
            ScrollPart::Summary
        } else {
            ScrollPart::Both
        },
    };
    answer(&args.table, &args.output, &question).await
}
