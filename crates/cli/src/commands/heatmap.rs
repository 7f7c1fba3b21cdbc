//! `heatlake heatmap`: click or move counts per cell of a page, as a table or a picture.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use heatlake_query::analytics::heatmap::{
    BIN_PX_DEFAULT, ELEMENT_CELLS_DEFAULT, HeatmapKind, HeatmapMode, HeatmapParams,
};
use heatlake_query::analytics::question::Question;
use heatlake_query::render::picture::heat_picture;

use super::question::{OutputArgs, SegmentArgs, TableArgs, answer};

/// Arguments of `heatlake heatmap`.
#[derive(Debug, Args)]
pub struct HeatmapArgs {
    /// Site.
    #[arg(long)]
    site: String,
    /// Page (`path`: host + path).
    #[arg(long, value_name = "PATH")]
    page: String,
    /// Events counted.
    #[arg(long, value_enum, default_value = "click")]
    kind: KindArg,
    /// Position mapping: page px, x from the viewport centre, or per element.
    #[arg(long, value_enum, default_value = "page")]
    mode: ModeArg,
    /// Cell size in CSS px.
    #[arg(long, default_value_t = BIN_PX_DEFAULT)]
    bin_px: u32,
    /// Cells per axis of an element (element mode).
    #[arg(long, default_value_t = ELEMENT_CELLS_DEFAULT)]
    element_cells: u32,
    /// Draw a heat picture to this PNG file instead of printing the cells (page mode only).
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
    /// A PNG screenshot of the page to draw the heat over (with --png).
    #[arg(long, value_name = "FILE", requires = "png")]
    screenshot: Option<PathBuf>,
    #[command(flatten)]
    table: TableArgs,
    #[command(flatten)]
    segment: SegmentArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Click,
    Move,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    Page,
    ViewportCentred,
    Element,
}

impl HeatmapArgs {
    /// The question's parameters.
    pub fn params(&self) -> HeatmapParams {
        HeatmapParams {
            site: self.site.clone(),
            path: self.page.clone(),
            kind: match self.kind {
                KindArg::Click => HeatmapKind::Click,
                KindArg::Move => HeatmapKind::Move,
            },
            bin_px: self.bin_px,
            mode: match self.mode {
                ModeArg::Page => HeatmapMode::Page,
                ModeArg::ViewportCentred => HeatmapMode::ViewportCentred,
                ModeArg::Element => HeatmapMode::Element,
            },
            element_cells: self.element_cells,
            segment: self.segment.segment(),
        }
    }
}

/// Runs the heatmap.
pub async fn run(args: HeatmapArgs) -> Result<()> {
    args.output.check()?;
    let params = args.params();
    if args.png.is_some() && params.mode != HeatmapMode::Page {
        bail!(
            "--png draws page-mode heatmaps only (got --mode {:?})",
            args.mode
        );
    }
    let screenshot = match &args.screenshot {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("while reading {}", path.display()))?)
        }
        None => None,
    };
    let Some(png_path) = &args.png else {
        return answer(&args.table, &args.output, &Question::Heatmap(params)).await;
    };
    let session = args.table.open().await?;
    let picture = heat_picture(&session, &params, screenshot).await?;
    std::fs::write(png_path, picture)
        .with_context(|| format!("while writing {}", png_path.display()))?;
    eprintln!("wrote {}", png_path.display());
    Ok(())
}
