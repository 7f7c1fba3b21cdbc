//! Scroll depth of a page: how far down its page views got, and where the fold is.

use datafusion::dataframe::DataFrame;
use serde::{Deserialize, Serialize};

use super::{Segment, ensure_page_exists, plan, required};
use crate::{EventsSession, Result};

/// Parameters of a scroll-depth question.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScrollParams {
    /// Site.
    pub site: String,
    /// Page (`path`).
    pub path: String,
    /// Which traffic.
    #[serde(flatten)]
    pub segment: Segment,
}

/// The two answers of a scroll-depth question.
pub struct ScrollDepth {
    /// One row: `pageviews, known_depth, unknown_doc_h, avg_depth, median_depth, fold_px,
    /// median_doc_h, fold_share`.
    pub summary: DataFrame,
    /// 101 rows, `depth_pct` 0..=100: `pageviews` reaching it and their `share` of the page
    /// views with a known depth.
    pub reach: DataFrame,
}

impl ScrollParams {
    /// One row per page view of the page: `pct` (whole per cent reached, exact integer
    /// arithmetic, NULL when no event had a document height), `depth` (0..1, as a float),
    /// `viewport_h` (of the `pageview` event) and `doc_h` (the largest seen).
    fn depth_cte(&self) -> Result<String> {
        required("site", &self.site)?;
        required("path", &self.path)?;
        let filter = self.segment.where_sql(&self.site, Some(&self.path))?;
        let known = "doc_h > 0 AND viewport_h IS NOT NULL";
        let bottom = "(CAST(coalesce(scroll_y, 0) AS BIGINT) + viewport_h)";
        Ok(format!(
            "depth AS (SELECT pageview_id, \
               max(CASE WHEN {known} THEN least(100, {bottom} * 100 / doc_h) END) AS pct, \
               max(CASE WHEN {known} THEN least(1.0, CAST({bottom} AS DOUBLE) / doc_h) END) AS depth, \
               max(CASE WHEN type = 'pageview' THEN viewport_h END) AS viewport_h, \
               max(CASE WHEN doc_h > 0 THEN doc_h END) AS doc_h \
             FROM events WHERE {filter} AND pageview_id IS NOT NULL \
             GROUP BY pageview_id \
             HAVING max(CASE WHEN type = 'pageview' THEN 1 ELSE 0 END) = 1)"
        ))
    }

    /// The SQL of the summary row.
    pub fn summary_sql(&self) -> Result<String> {
        Ok(format!(
            "WITH {} SELECT count(*) AS pageviews, count(pct) AS known_depth, \
               count(*) - count(pct) AS unknown_doc_h, \
               avg(depth) AS avg_depth, median(depth) AS median_depth, \
               median(CAST(viewport_h AS DOUBLE)) AS fold_px, \
               median(CAST(doc_h AS DOUBLE)) AS median_doc_h, \
               CASE WHEN median(CAST(viewport_h AS DOUBLE)) >= median(CAST(doc_h AS DOUBLE)) THEN 1.0 \
                 ELSE median(CAST(viewport_h AS DOUBLE)) / median(CAST(doc_h AS DOUBLE)) END AS fold_share \
             FROM depth",
            self.depth_cte()?
        ))
    }

    /// The SQL of the reach curve.
    pub fn reach_sql(&self) -> Result<String> {
        Ok(format!(
            "WITH {}, \
             histogram AS (SELECT pct, count(*) AS n FROM depth WHERE pct IS NOT NULL GROUP BY pct), \
             known AS (SELECT count(pct) AS n FROM depth), \
             steps AS (SELECT value AS depth_pct FROM generate_series(0, 100)) \
             SELECT steps.depth_pct, CAST(coalesce(sum(histogram.n), 0) AS BIGINT) AS pageviews, \
               CAST(coalesce(sum(histogram.n), 0) AS DOUBLE) / NULLIF(max(known.n), 0) AS share \
             FROM steps CROSS JOIN known LEFT JOIN histogram ON histogram.pct >= steps.depth_pct \
             GROUP BY steps.depth_pct ORDER BY steps.depth_pct",
            self.depth_cte()?
        ))
    }
}

/// Plans both answers; fails on bad parameters or an unknown page.
pub async fn scroll_depth(session: &EventsSession, params: &ScrollParams) -> Result<ScrollDepth> {
    let summary_sql = params.summary_sql()?;
    let reach_sql = params.reach_sql()?;
    ensure_page_exists(session, &params.site, &params.path).await?;
    Ok(ScrollDepth {
        summary: plan(session, &summary_sql).await?,
        reach: plan(session, &reach_sql).await?,
    })
}
