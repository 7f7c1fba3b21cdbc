//! Frustration signals: rage clicks and dead clicks, per element and per page.

use datafusion::dataframe::DataFrame;
use serde::{Deserialize, Serialize};

use super::{Segment, ensure_page_exists, invalid, plan, required};
use crate::{EventsSession, Result};

/// Clicks in a run before it is a rage click.
pub const RAGE_RUN_CLICKS_MIN: u32 = 3;
/// Largest gap between two clicks of a run.
pub const RAGE_GAP_MS_MAX: u32 = 1000;
/// Largest |dx| + |dy| between two clicks of a run, in CSS px.
pub const RAGE_DISTANCE_PX_MAX: u32 = 30;
/// Default number of rows.
pub const LIMIT_DEFAULT: u32 = 50;
/// Largest accepted row limit.
pub const LIMIT_MAX: u32 = 100_000;

/// Grouping of a frustration answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrustrationLevel {
    /// One row per (page, target).
    #[default]
    Element,
    /// One row per page.
    Page,
}

/// Parameters of a frustration question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrustrationParams {
    /// Site.
    pub site: String,
    /// One page, or every page of the site when absent.
    pub path: Option<String>,
    /// Per element or per page.
    pub level: FrustrationLevel,
    /// At most this many rows, most rage runs first. Default 50.
    pub limit: u32,
    /// Which traffic.
    #[serde(flatten)]
    pub segment: Segment,
}

impl Default for FrustrationParams {
    fn default() -> Self {
        Self {
            site: String::new(),
            path: None,
            level: FrustrationLevel::default(),
            limit: LIMIT_DEFAULT,
            segment: Segment::default(),
        }
    }
}

impl FrustrationParams {
    /// The common part: page views `pv (pageview_id, path)`, their clicks `clicks`, and rage
    /// runs `rage (pageview_id, path, target)`, one row per run of at least 3 clicks.
    fn ctes(&self) -> Result<String> {
        required("site", &self.site)?;
        if let Some(path) = &self.path {
            required("path", path)?;
        }
        if self.limit == 0 || self.limit > LIMIT_MAX {
            return invalid(
                "limit",
                format!("must be 1..={LIMIT_MAX}, got {}", self.limit),
            );
        }
        let filter = self.segment.where_sql(&self.site, self.path.as_deref())?;
        // One window over all clicks ordered by page view, not one window partition per page
        // view: DataFusion 55's window operator pays per partition, and with ~1 click per page
        // view that made the lag 2.4 s of a 3.1 s query on the 10 M set. `lag(pageview_id)`
        // tells where a page view starts; the running sum then numbers runs across all of them.
        let window = "OVER (ORDER BY pageview_id, ts, seq)";
        Ok(format!(
            "pv AS (SELECT DISTINCT pageview_id, path FROM events \
                 WHERE {filter} AND type = 'pageview' AND pageview_id IS NOT NULL), \
             clicks AS (SELECT pageview_id, path, ts, seq, x, y, coalesce(target, '') AS target, \
                   coalesce(dead, false) AS dead FROM events \
                 WHERE {filter} AND type = 'click' AND pageview_id IN (SELECT pageview_id FROM pv)), \
             linked AS (SELECT pageview_id, path, ts, seq, target, \
                   CASE WHEN lag(pageview_id) {window} = pageview_id \
                     AND lag(ts) {window} >= ts - INTERVAL '{RAGE_GAP_MS_MAX} milliseconds' \
                     AND abs(x - lag(x) {window}) + abs(y - lag(y) {window}) <= {RAGE_DISTANCE_PX_MAX} \
                   THEN 0 ELSE 1 END AS starts_run FROM clicks), \
             numbered AS (SELECT pageview_id, path, target, starts_run, \
                   sum(starts_run) {window_rows} AS run FROM linked), \
             rage AS (SELECT pageview_id, path, target FROM ( \
                   SELECT pageview_id, path, count(*) AS n, \
                     max(CASE WHEN starts_run = 1 THEN target END) AS target \
                   FROM numbered GROUP BY pageview_id, path, run) AS runs \
                 WHERE n >= {RAGE_RUN_CLICKS_MIN}), \
             page_total AS (SELECT path, count(DISTINCT pageview_id) AS pageviews FROM pv GROUP BY path)",
            window_rows = "OVER (ORDER BY pageview_id, ts, seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        ))
    }

    /// The SQL.
    ///
    /// Element level, columns `path, target, clicks, rage_runs, rage_pageviews, dead_clicks,
    /// dead_pageviews, pageviews, rage_rate, dead_rate`; page level, columns `path, pageviews,
    /// clicks, rage_runs, rage_pageviews, dead_clicks, dead_pageviews, rage_rate, dead_rate`.
    /// `rage_rate` = page views with a rage run (on the element) / page views of the page;
    /// `dead_rate` = dead clicks / clicks.
    pub fn sql(&self) -> Result<String> {
        let ctes = self.ctes()?;
        let limit = self.limit;
        Ok(match self.level {
            FrustrationLevel::Element => format!(
                "WITH {ctes}, \
                 click_stats AS (SELECT path, target, count(*) AS clicks, \
                     sum(CASE WHEN dead THEN 1 ELSE 0 END) AS dead_clicks, \
                     count(DISTINCT CASE WHEN dead THEN pageview_id END) AS dead_pageviews \
                   FROM clicks GROUP BY path, target), \
                 rage_stats AS (SELECT path, target, count(*) AS rage_runs, \
                     count(DISTINCT pageview_id) AS rage_pageviews FROM rage GROUP BY path, target) \
                 SELECT c.path, c.target, c.clicks, coalesce(r.rage_runs, 0) AS rage_runs, \
                   coalesce(r.rage_pageviews, 0) AS rage_pageviews, c.dead_clicks, c.dead_pageviews, \
                   t.pageviews, \
                   CAST(coalesce(r.rage_pageviews, 0) AS DOUBLE) / t.pageviews AS rage_rate, \
                   CAST(c.dead_clicks AS DOUBLE) / c.clicks AS dead_rate \
                 FROM click_stats c JOIN page_total t ON t.path = c.path \
                   LEFT JOIN rage_stats r ON r.path = c.path AND r.target = c.target \
                 ORDER BY rage_runs DESC, c.dead_clicks DESC, c.path, c.target LIMIT {limit}"
            ),
            FrustrationLevel::Page => format!(
                "WITH {ctes}, \
                 click_stats AS (SELECT path, count(*) AS clicks, \
                     sum(CASE WHEN dead THEN 1 ELSE 0 END) AS dead_clicks, \
                     count(DISTINCT CASE WHEN dead THEN pageview_id END) AS dead_pageviews \
                   FROM clicks GROUP BY path), \
                 rage_stats AS (SELECT path, count(*) AS rage_runs, \
                     count(DISTINCT pageview_id) AS rage_pageviews FROM rage GROUP BY path) \
                 SELECT t.path, t.pageviews, coalesce(c.clicks, 0) AS clicks, \
                   coalesce(r.rage_runs, 0) AS rage_runs, coalesce(r.rage_pageviews, 0) AS rage_pageviews, \
                   coalesce(c.dead_clicks, 0) AS dead_clicks, coalesce(c.dead_pageviews, 0) AS dead_pageviews, \
                   CAST(coalesce(r.rage_pageviews, 0) AS DOUBLE) / t.pageviews AS rage_rate, \
                   CAST(c.dead_clicks AS DOUBLE) / NULLIF(c.clicks, 0) AS dead_rate \
                 FROM page_total t LEFT JOIN click_stats c ON c.path = t.path \
                   LEFT JOIN rage_stats r ON r.path = t.path \
                 ORDER BY rage_runs DESC, dead_clicks DESC, t.path LIMIT {limit}"
            ),
        })
    }
}

/// Plans the frustration answer; fails on bad parameters or an unknown page.
pub async fn frustration(session: &EventsSession, params: &FrustrationParams) -> Result<DataFrame> {
    let query = params.sql()?;
    if let Some(path) = &params.path {
        ensure_page_exists(session, &params.site, path).await?;
    }
    plan(session, &query).await
}
