//! `heatlake funnel`: sessions through ordered steps within a time window.

use anyhow::Result;
use clap::Args;
use heatlake_query::analytics::funnel::{FunnelParams, FunnelStep, WINDOW_S_DEFAULT};
use heatlake_query::analytics::question::Question;

use super::question::{OutputArgs, SegmentArgs, TableArgs, answer};

/// Arguments of `heatlake funnel`.
#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// Site.
    #[arg(long)]
    site: String,
    /// A step, in order: a page path, or `sql:EXPR` for any event matching a SQL expression
    /// (for example `--step 'sql:type = '\''submit'\'''`). Repeat for each step.
    #[arg(long = "step", value_name = "PATH|sql:EXPR", required = true)]
    steps: Vec<String>,
    /// Every step within this many seconds of the session's first step.
    #[arg(long, default_value_t = WINDOW_S_DEFAULT)]
    window_s: u32,
    #[command(flatten)]
    table: TableArgs,
    #[command(flatten)]
    segment: SegmentArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Runs the funnel.
pub async fn run(args: FunnelArgs) -> Result<()> {
    let params = FunnelParams {
        site: args.site.clone(),
        steps: args
            .steps
            .iter()
            .map(|step| FunnelStep::from_text(step))
            .collect(),
        window_s: args.window_s,
        segment: args.segment.segment(),
    };
    answer(&args.table, &args.output, &Question::Funnel(params)).await
}
