//! `heatlake ctr`: click-through per element of a page, or per link to the next page.

use anyhow::Result;
use clap::{Args, ValueEnum};
use heatlake_query::analytics::ctr::{CtrParams, ElementKey, LIMIT_DEFAULT, LinkParams};
use heatlake_query::analytics::question::Question;

use super::question::{OutputArgs, SegmentArgs, TableArgs, answer};

/// Arguments of `heatlake ctr`.
#[derive(Debug, Args)]
pub struct CtrArgs {
    /// Site.
    #[arg(long)]
    site: String,
    /// Page (`path`).
    #[arg(long, value_name = "PATH")]
    page: String,
    /// Group clicks by target selector or by link href.
    #[arg(long, value_enum, default_value = "target")]
    by: ByArg,
    /// Instead of elements: the pages visited next in the same session (link A -> B).
    #[arg(long, conflicts_with = "by")]
    next_pages: bool,
    /// At most this many rows.
    #[arg(long, default_value_t = LIMIT_DEFAULT)]
    limit: u32,
    #[command(flatten)]
    table: TableArgs,
    #[command(flatten)]
    segment: SegmentArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ByArg {
    Target,
    Link,
}

/// Runs the click-through question.
pub async fn run(args: CtrArgs) -> Result<()> {
    let question = if args.next_pages {
        let params = LinkParams {
            site: args.site.clone(),
            path: args.page.clone(),
            limit: args.limit,
            segment: args.segment.segment(),
        };
        Question::LinkCtr(params)
    } else {
        let params = CtrParams {
            site: args.site.clone(),
            path: args.page.clone(),
            by: match args.by {
                ByArg::Target => ElementKey::Target,
                ByArg::Link => ElementKey::Link,
            },
            limit: args.limit,
            segment: args.segment.segment(),
        };
        Question::ElementCtr(params)
    };
    answer(&args.table, &args.output, &question).await
}
