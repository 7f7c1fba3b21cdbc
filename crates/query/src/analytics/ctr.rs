//! Click-through: per element of a page, and per link from a page to the next page.

use datafusion::dataframe::DataFrame;
use serde::{Deserialize, Serialize};

use super::{Segment, ensure_page_exists, invalid, literal, plan, required};
use crate::{EventsSession, Result};

/// Default number of rows of a click-through answer.
pub const LIMIT_DEFAULT: u32 = 50;
/// Largest accepted row limit.
pub const LIMIT_MAX: u32 = 100_000;

/// What identifies an element.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementKey {
    /// The CSS selector path of the clicked element (`target`).
    #[default]
    Target,
    /// The href of the clicked link (`link`); clicks on non-links are left out.
    Link,
}

impl ElementKey {
    fn column(self) -> &'static str {
        match self {
            Self::Target => "target",
            Self::Link => "link",
        }
    }
}

/// Parameters of click-through per element of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CtrParams {
    /// Site.
    pub site: String,
    /// Page (`path`).
    pub path: String,
    /// Group clicks by target selector or by link.
    pub by: ElementKey,
    /// At most this many elements, most clicked page views first. Default 50.
    pub limit: u32,
    /// Which traffic.
    #[serde(flatten)]
    pub segment: Segment,
}

impl Default for CtrParams {
    fn default() -> Self {
        Self {
            site: String::new(),
            path: String::new(),
            by: ElementKey::default(),
            limit: LIMIT_DEFAULT,
            segment: Segment::default(),
        }
    }
}

fn check_limit(limit: u32) -> Result<()> {
    if limit == 0 || limit > LIMIT_MAX {
        return invalid("limit", format!("must be 1..={LIMIT_MAX}, got {limit}"));
    }
    Ok(())
}

impl CtrParams {
    /// The SQL. Columns: `element, clicks, pageviews_clicked, pageviews, ctr, exposed,
    /// attractiveness`.
    ///
    /// `pageviews` are the page's page views (distinct `pageview_id` with a `pageview` event in
    /// the segment); only clicks of those page views count. `exposed` counts the page views
    /// whose viewport bottom reached the element's top, estimated as the smallest `y` of any
    /// click on it (a fixed element is always exposed); a page view's deepest bottom is the
    /// largest `scroll_y + viewport_h` of its events, or `y + 1` of its own non-fixed clicks.
    pub fn sql(&self) -> Result<String> {
        required("site", &self.site)?;
        required("path", &self.path)?;
        check_limit(self.limit)?;
        let filter = self.segment.where_sql(&self.site, Some(&self.path))?;
        let element = self.by.column();
        let limit = self.limit;
        Ok(format!(
            "WITH pv AS (SELECT DISTINCT pageview_id FROM events \
                 WHERE {filter} AND type = 'pageview' AND pageview_id IS NOT NULL), \
             page_events AS (SELECT * FROM events WHERE {filter} \
                 AND pageview_id IN (SELECT pageview_id FROM pv)), \
             reach AS (SELECT pageview_id, greatest( \
                   coalesce(max(CASE WHEN viewport_h IS NOT NULL \
                       THEN CAST(coalesce(scroll_y, 0) AS BIGINT) + viewport_h END), 0), \
                   coalesce(max(CASE WHEN type = 'click' AND NOT coalesce(target_fixed, false) \
                       THEN CAST(y AS BIGINT) + 1 END), 0)) AS bottom_px \
                 FROM page_events GROUP BY pageview_id), \
             per_element AS (SELECT {element} AS element, count(*) AS clicks, \
                   count(DISTINCT pageview_id) AS pageviews_clicked, min(y) AS top_y, \
                   bool_or(coalesce(target_fixed, false)) AS fixed \
                 FROM page_events WHERE type = 'click' AND {element} IS NOT NULL GROUP BY {element}), \
             exposure AS (SELECT per_element.element, count(reach.pageview_id) AS exposed \
                 FROM per_element LEFT JOIN reach \
                   ON per_element.fixed OR reach.bottom_px > coalesce(per_element.top_y, 0) \
                 GROUP BY per_element.element), \
             total AS (SELECT count(*) AS n FROM pv) \
             SELECT per_element.element, per_element.clicks, per_element.pageviews_clicked, \
               total.n AS pageviews, \
               CAST(per_element.pageviews_clicked AS DOUBLE) / NULLIF(total.n, 0) AS ctr, \
               exposure.exposed, \
               CAST(per_element.pageviews_clicked AS DOUBLE) / NULLIF(exposure.exposed, 0) AS attractiveness \
             FROM per_element CROSS JOIN total \
               JOIN exposure ON exposure.element = per_element.element \
             ORDER BY per_element.pageviews_clicked DESC, per_element.clicks DESC, per_element.element \
             LIMIT {limit}"
        ))
    }
}

/// Parameters of click-through from one page to the pages visited next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkParams {
    /// Site.
    pub site: String,
    /// The page A whose page views are followed.
    pub path: String,
    /// At most this many next pages, most followed first. Default 50.
    pub limit: u32,
    /// Which traffic (applied to the page views of A and of the next pages alike).
    #[serde(flatten)]
    pub segment: Segment,
}

impl Default for LinkParams {
    fn default() -> Self {
        Self {
            site: String::new(),
            path: String::new(),
            limit: LIMIT_DEFAULT,
            segment: Segment::default(),
        }
    }
}

impl LinkParams {
    /// The SQL. Columns: `to_path, pageviews, pageviews_from, ctr`: page views of A whose next
    /// page view in the same session (by `ts`, then `pageview_id`) is of `to_path`, out of all
    /// page views of A. The last page view of a session has no next page and counts only in
    /// `pageviews_from`.
    ///
    /// One window over all page views ordered by session (`lead(session_id)` marks where a
    /// session ends) rather than a window partition per session, which DataFusion 55 runs
    /// much slower.
    pub fn sql(&self) -> Result<String> {
        required("site", &self.site)?;
        required("path", &self.path)?;
        check_limit(self.limit)?;
        let filter = self.segment.where_sql(&self.site, None)?;
        let from = literal(&self.path);
        let limit = self.limit;
        Ok(format!(
            "WITH pv AS (SELECT session_id, pageview_id, ts, path FROM events \
                 WHERE {filter} AND type = 'pageview' \
                   AND session_id IS NOT NULL AND pageview_id IS NOT NULL), \
             sessions AS (SELECT DISTINCT session_id FROM pv WHERE path = {from}), \
             ordered AS (SELECT pageview_id, path, \
                   CASE WHEN lead(session_id) OVER (ORDER BY session_id, ts, pageview_id) = session_id \
                     THEN lead(path) OVER (ORDER BY session_id, ts, pageview_id) END AS next_path \
                 FROM pv WHERE session_id IN (SELECT session_id FROM sessions)), \
             from_page AS (SELECT pageview_id, next_path FROM ordered WHERE path = {from}), \
             total AS (SELECT count(DISTINCT pageview_id) AS n FROM from_page) \
             SELECT next_path AS to_path, count(DISTINCT pageview_id) AS pageviews, \
               max(total.n) AS pageviews_from, \
               CAST(count(DISTINCT pageview_id) AS DOUBLE) / NULLIF(max(total.n), 0) AS ctr \
             FROM from_page CROSS JOIN total WHERE next_path IS NOT NULL \
             GROUP BY next_path ORDER BY pageviews DESC, to_path LIMIT {limit}"
        ))
    }
}

/// Plans click-through per element; fails on bad parameters or an unknown page.
pub async fn element_ctr(session: &EventsSession, params: &CtrParams) -> Result<DataFrame> {
    let query = params.sql()?;
    ensure_page_exists(session, &params.site, &params.path).await?;
    plan(session, &query).await
}

/// Plans click-through per link A -> B; fails on bad parameters or an unknown page.
pub async fn link_ctr(session: &EventsSession, params: &LinkParams) -> Result<DataFrame> {
    let query = params.sql()?;
    ensure_page_exists(session, &params.site, &params.path).await?;
    plan(session, &query).await
}
