//! `heatlake report`: one self-contained HTML file about a page.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use heatlake_query::analytics::collect;
use heatlake_query::analytics::ctr::{CtrParams, element_ctr};
use heatlake_query::analytics::frustration::{FrustrationParams, frustration};
use heatlake_query::analytics::heatmap::{BIN_PX_DEFAULT, HeatmapKind, HeatmapParams};
use heatlake_query::analytics::scroll::{ScrollParams, scroll_depth};
use heatlake_query::render::html::{ReportContent, render_report};
use heatlake_query::render::picture::heat_picture;

use super::question::{SegmentArgs, TableArgs};

/// Arguments of `heatlake report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Site.
    #[arg(long)]
    site: String,
    /// Page (`path`).
    #[arg(long, value_name = "PATH")]
    page: String,
    /// The HTML file to write.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,
    /// Cell size of the heatmaps in CSS px.
    #[arg(long, default_value_t = BIN_PX_DEFAULT)]
    bin_px: u32,
    /// A PNG screenshot of the page to draw the heatmaps over.
    #[arg(long, value_name = "FILE")]
    screenshot: Option<PathBuf>,
    #[command(flatten)]
    table: TableArgs,
    #[command(flatten)]
    segment: SegmentArgs,
}

/// Runs every question for the page and writes the report.
pub async fn run(args: ReportArgs) -> Result<()> {
    let screenshot = match &args.screenshot {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("while reading {}", path.display()))?)
        }
        None => None,
    };
    let session = args.table.open().await?;
    let segment = args.segment.segment();
    let clicks = HeatmapParams {
        site: args.site.clone(),
        path: args.page.clone(),
        bin_px: args.bin_px,
        segment: segment.clone(),
        ..HeatmapParams::default()
    };
    let click_png = heat_picture(&session, &clicks, screenshot.clone()).await?;
    let moves = HeatmapParams {
        kind: HeatmapKind::Move,
        ..clicks.clone()
    };
    let move_png = heat_picture(&session, &moves, screenshot).await?;
    let scroll = scroll_depth(
        &session,
        &ScrollParams {
            site: args.site.clone(),
            path: args.page.clone(),
            segment: segment.clone(),
        },
    )
    .await?;
    let scroll_summary = collect(scroll.summary).await?;
    let scroll_reach = collect(scroll.reach).await?;
    let ctr = collect(
        element_ctr(
            &session,
            &CtrParams {
                site: args.site.clone(),
                path: args.page.clone(),
                segment: segment.clone(),
                ..CtrParams::default()
            },
        )
        .await?,
    )
    .await?;
    let frustrations = collect(
        frustration(
            &session,
            &FrustrationParams {
                site: args.site.clone(),
                path: Some(args.page.clone()),
                segment: segment.clone(),
                ..FrustrationParams::default()
            },
        )
        .await?,
    )
    .await?;
    let mut parameters = vec![("bin_px".to_owned(), args.bin_px.to_string())];
    let segment_json = serde_json::to_value(&segment)?;
    if let Some(fields) = segment_json.as_object() {
        for (name, value) in fields {
            if !value.is_null() {
                let shown = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                parameters.push((name.clone(), shown));
            }
        }
    }
    let table = session.location().to_string();
    let html = render_report(&ReportContent {
        site: &args.site,
        path: &args.page,
        table: &table,
        version: session.version(),
        parameters,
        click_png: &click_png,
        move_png: Some(&move_png),
        scroll_summary: &scroll_summary,
        scroll_reach: &scroll_reach,
        ctr: &ctr,
        frustration: &frustrations,
    })?;
    std::fs::write(&args.out, html)
        .with_context(|| format!("while writing {}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
