//! `heatlake frustration`: rage clicks and dead clicks per element or per page.

use anyhow::Result;
use clap::{Args, ValueEnum};
use heatlake_query::analytics::frustration::{FrustrationLevel, FrustrationParams, LIMIT_DEFAULT};
use heatlake_query::analytics::question::Question;

use super::question::{OutputArgs, SegmentArgs, TableArgs, answer};

/// Arguments of `heatlake frustration`.
#[derive(Debug, Args)]
pub struct FrustrationArgs {
    /// Site.
    #[arg(long)]
    site: String,
    /// One page (`path`); every page of the site without it.
    #[arg(long, value_name = "PATH")]
    page: Option<String>,
    /// One row per element (page, target) or per page.
    #[arg(long, value_enum, default_value = "element")]
    level: LevelArg,
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
enum LevelArg {
    Element,
    Page,
}

/// Runs the frustration question.
pub async fn run(args: FrustrationArgs) -> Result<()> {
    let params = FrustrationParams {
        site: args.site.clone(),
        path: args.page.clone(),
        level: match args.level {
            LevelArg::Element => FrustrationLevel::Element,
            LevelArg::Page => FrustrationLevel::Page,
        },
        limit: args.limit,
        segment: args.segment.segment(),
    };
    answer(&args.table, &args.output, &Question::Frustration(params)).await
}
