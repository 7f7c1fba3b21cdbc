//! Click and move heatmaps: event counts and distinct visitors per grid cell.

use datafusion::dataframe::DataFrame;
use serde::{Deserialize, Serialize};

use super::{Segment, ensure_page_exists, invalid, plan, required};
use crate::{EventsSession, Result};

/// Default cell size in CSS px.
pub const BIN_PX_DEFAULT: u32 = 16;
/// Largest accepted cell size in CSS px.
pub const BIN_PX_MAX: u32 = 4096;
/// Default cells per axis of an element in [`HeatmapMode::Element`].
pub const ELEMENT_CELLS_DEFAULT: u32 = 10;
/// Largest accepted cells per axis of an element.
pub const ELEMENT_CELLS_MAX: u32 = 1000;

/// Which events a heatmap counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeatmapKind {
    /// `click` events.
    #[default]
    Click,
    /// `move` events (an attention proxy), unweighted.
    Move,
}

impl HeatmapKind {
    /// The event type counted.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Click => "click",
            Self::Move => "move",
        }
    }
}

/// How positions map to cells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeatmapMode {
    /// Page px: cell (`floor(x / bin_px)`, `floor(y / bin_px)`).
    #[default]
    Page,
    /// x measured from the viewport's centre line (`x - viewport_w / 2`), y in page px: the
    /// columns of a centred responsive layout line up across viewport widths. `cell_x` may be
    /// negative.
    ViewportCentred,
    /// Per element (`target`): its box cut into `element_cells` × `element_cells` cells by the
    /// position inside it (`target_rx`, `target_ry`, 0..1; 1.0 falls in the last cell). Clicks
    /// only.
    Element,
}

/// Parameters of a heatmap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeatmapParams {
    /// Site.
    pub site: String,
    /// Page (`path`: host + path).
    pub path: String,
    /// Clicks or moves.
    pub kind: HeatmapKind,
    /// Cell size in CSS px (page and viewport-centred modes). Default 16.
    pub bin_px: u32,
    /// Position mapping.
    pub mode: HeatmapMode,
    /// Cells per axis of an element (element mode). Default 10.
    pub element_cells: u32,
    /// Which traffic.
    #[serde(flatten)]
    pub segment: Segment,
}

impl Default for HeatmapParams {
    fn default() -> Self {
        Self {
            site: String::new(),
            path: String::new(),
            kind: HeatmapKind::default(),
            bin_px: BIN_PX_DEFAULT,
            mode: HeatmapMode::default(),
            element_cells: ELEMENT_CELLS_DEFAULT,
            segment: Segment::default(),
        }
    }
}

impl HeatmapParams {
    /// The SQL of the question. Columns: page and viewport-centred modes `fixed, cell_x, cell_y,
    /// events, visitors`; element mode `target, fixed, cell_x, cell_y, events, visitors`. `fixed`
    /// is true for clicks inside fixed/sticky elements, whose `y` is viewport-relative: they are
    /// never mixed with page positions.
    pub fn sql(&self) -> Result<String> {
        required("site", &self.site)?;
        required("path", &self.path)?;
        if self.bin_px == 0 || self.bin_px > BIN_PX_MAX {
            return invalid(
                "bin_px",
                format!("must be 1..={BIN_PX_MAX}, got {}", self.bin_px),
            );
        }
        if self.element_cells == 0 || self.element_cells > ELEMENT_CELLS_MAX {
            return invalid(
                "element_cells",
                format!(
                    "must be 1..={ELEMENT_CELLS_MAX}, got {}",
                    self.element_cells
                ),
            );
        }
        let filter = self.segment.where_sql(&self.site, Some(&self.path))?;
        let event_type = self.kind.event_type();
        let bin = self.bin_px;
        let fixed = "coalesce(target_fixed, false) AS fixed";
        let y_cell = format!("CAST(floor(CAST(y AS DOUBLE) / {bin}) AS BIGINT) AS cell_y");
        let (keys, cells, required_columns) = match self.mode {
            HeatmapMode::Page => (
                "fixed, cell_x, cell_y",
                format!(
                    "{fixed}, CAST(floor(CAST(x AS DOUBLE) / {bin}) AS BIGINT) AS cell_x, {y_cell}"
                ),
                "x IS NOT NULL AND y IS NOT NULL",
            ),
            HeatmapMode::ViewportCentred => (
                "fixed, cell_x, cell_y",
                format!(
                    "{fixed}, CAST(floor((x - viewport_w / 2.0) / {bin}) AS BIGINT) AS cell_x, {y_cell}"
                ),
                "x IS NOT NULL AND y IS NOT NULL AND viewport_w IS NOT NULL",
            ),
            HeatmapMode::Element => {
                if self.kind != HeatmapKind::Click {
                    return invalid("mode", "element mode needs clicks (moves carry no target)");
                }
                let cells = self.element_cells;
                let last = cells - 1;
                (
                    "target, fixed, cell_x, cell_y",
                    format!(
                        "target, {fixed}, \
                         CAST(least(floor(CAST(target_rx AS DOUBLE) * {cells}), {last}) AS BIGINT) AS cell_x, \
                         CAST(least(floor(CAST(target_ry AS DOUBLE) * {cells}), {last}) AS BIGINT) AS cell_y"
                    ),
                    "target IS NOT NULL AND target_rx IS NOT NULL AND target_ry IS NOT NULL",
                )
            }
        };
        Ok(format!(
            "SELECT {keys}, count(*) AS events, count(DISTINCT visitor_id) AS visitors \
             FROM (SELECT {cells}, visitor_id FROM events \
                   WHERE {filter} AND type = '{event_type}' AND {required_columns}) \
             GROUP BY {keys} ORDER BY {keys}"
        ))
    }
}

/// Plans the heatmap; fails on bad parameters or a page the table has never seen.
pub async fn heatmap(session: &EventsSession, params: &HeatmapParams) -> Result<DataFrame> {
    let query = params.sql()?;
    ensure_page_exists(session, &params.site, &params.path).await?;
    plan(session, &query).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::funnel::{FunnelParams, FunnelStep};

    #[test]
    fn parameters_deserialise_with_defaults_and_a_flat_segment() {
        let params: HeatmapParams = serde_json::from_str(
            r#"{"site": "s", "path": "s/p", "mode": "viewport_centred", "device": "mobile"}"#,
        )
        .unwrap();
        assert_eq!(params.bin_px, BIN_PX_DEFAULT);
        assert_eq!(params.mode, HeatmapMode::ViewportCentred);
        assert_eq!(params.segment.device.as_deref(), Some("mobile"));
        let funnel: FunnelParams = serde_json::from_str(
            r#"{"site": "s", "steps": [{"path": "s/"}, {"predicate": "type = 'submit'"}]}"#,
        )
        .unwrap();
        assert_eq!(
            funnel.steps,
            [
                FunnelStep::Path("s/".into()),
                FunnelStep::Predicate("type = 'submit'".into())
            ]
        );
        assert_eq!(funnel.window_s, crate::analytics::funnel::WINDOW_S_DEFAULT);
    }
}
