//! The heat picture of a question: run a page-mode heatmap and the fold (median viewport
//! height of the same page views), then draw them ([`super::png`]).

use arrow::array::{Array, AsArray};
use arrow::datatypes::Float64Type;

use super::png::{PngOptions, page_cells, render_heatmap_png};
use crate::analytics::collect;
use crate::analytics::heatmap::{HeatmapMode, HeatmapParams, heatmap};
use crate::analytics::scroll::{ScrollParams, scroll_depth};
use crate::{Error, EventsSession, Result};

/// The PNG heat picture of a page-mode heatmap over `screenshot` (if any), with the fold at the
/// median viewport height of the page views in the heatmap's segment: [`picture_drawing`], then
/// [`PictureDrawing::render`] on tokio's blocking pool.
pub async fn heat_picture(
    session: &EventsSession,
    params: &HeatmapParams,
    screenshot: Option<Vec<u8>>,
) -> Result<Vec<u8>> {
    let drawing = picture_drawing(session, params, screenshot).await?;
    off_runtime(move || drawing.render()).await
}

/// What a heat picture is drawn from: the answers of its questions, before any drawing.
#[derive(Debug, Clone)]
pub struct PictureDrawing {
    cells: Vec<(i64, i64, f64)>,
    options: PngOptions,
}

impl PictureDrawing {
    /// Draws the picture: CPU-bound (up to [`super::png::PICTURE_PIXELS_MAX`] pixels), so run it
    /// off the threads that serve requests ([`off_runtime`]).
    pub fn render(&self) -> Result<Vec<u8>> {
        render_heatmap_png(&self.cells, &self.options)
    }
}

/// Runs the questions of a heat picture (the page-mode heatmap and the fold): async, the part
/// to run under a query's limits.
pub async fn picture_drawing(
    session: &EventsSession,
    params: &HeatmapParams,
    screenshot: Option<Vec<u8>>,
) -> Result<PictureDrawing> {
    if params.mode != HeatmapMode::Page {
        return Err(Error::InvalidParameter {
            parameter: "mode",
            message: format!(
                "a picture is drawn for page-mode heatmaps only (got {:?})",
                params.mode
            ),
        });
    }
    let cells = page_cells(&collect(heatmap(session, params).await?).await?)?;
    let fold_px = fold_px(session, params).await?;
    let options = PngOptions {
        bin_px: params.bin_px,
        width_px: None,
        fold_px,
        screenshot,
    };
    Ok(PictureDrawing { cells, options })
}

/// Runs `work` (drawing, decoding) on tokio's blocking pool, so that a picture never holds a
/// thread that serves requests. The blocking pool itself is large: callers bound how many
/// pictures draw at once (the read routes move their `concurrent_queries_max` permit into
/// `work`, so it is held until the drawing ends even if the request is abandoned).
pub async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| Error::Render {
            message: format!("the drawing task ended without a picture: {error}"),
        })?
}

/// The median viewport height of the page views in the heatmap's segment.
async fn fold_px(session: &EventsSession, params: &HeatmapParams) -> Result<Option<f64>> {
    let scroll = ScrollParams {
        site: params.site.clone(),
        path: params.path.clone(),
        segment: params.segment.clone(),
    };
    let summary = collect(scroll_depth(session, &scroll).await?.summary).await?;
    Ok(summary
        .iter()
        .find(|batch| batch.num_rows() > 0)
        .and_then(|batch| {
            let column = batch
                .column_by_name("fold_px")?
                .as_primitive_opt::<Float64Type>()?;
            column.is_valid(0).then(|| column.value(0))
        }))
}
