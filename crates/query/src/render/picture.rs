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
/// median viewport height of the page views in the heatmap's segment.
pub async fn heat_picture(
    session: &EventsSession,
    params: &HeatmapParams,
    screenshot: Option<Vec<u8>>,
) -> Result<Vec<u8>> {
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
    render_heatmap_png(&cells, &options)
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
