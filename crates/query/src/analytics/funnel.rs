//! Funnels: ordered steps within one session and a time window.

use datafusion::dataframe::DataFrame;
use serde::{Deserialize, Serialize};

use super::segment::parse_predicate;
use super::{Segment, invalid, literal, plan, required};
use crate::{EventsSession, Result};

/// Default window from a session's first step to its last, in seconds.
pub const WINDOW_S_DEFAULT: u32 = 3600;
/// Largest accepted window, in seconds (31 days).
pub const WINDOW_S_MAX: u32 = 31 * 24 * 3600;
/// Most steps of a funnel.
pub const STEPS_MAX: usize = 20;

/// One step of a funnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunnelStep {
    /// A page view of this page (`type = 'pageview' AND path = ...`).
    Path(String),
    /// Any event matching this SQL expression over `events`.
    Predicate(String),
}

impl FunnelStep {
    /// A step as people write it (a `--step` flag, a `step=` parameter): `sql:EXPR` is an
    /// event predicate, anything else a page path.
    ///
    /// ```
    /// use heatlake_query::analytics::funnel::FunnelStep;
    /// assert_eq!(FunnelStep::from_text("shop.example/cart"), FunnelStep::Path("shop.example/cart".into()));
    /// assert_eq!(FunnelStep::from_text("sql:type = 'submit'"), FunnelStep::Predicate("type = 'submit'".into()));
    /// ```
    pub fn from_text(text: &str) -> Self {
        match text.strip_prefix("sql:") {
            Some(predicate) => Self::Predicate(predicate.to_owned()),
            None => Self::Path(text.to_owned()),
        }
    }

    /// The step as a SQL condition on events.
    fn condition(&self) -> Result<String> {
        match self {
            Self::Path(path) => {
                required("steps", path)?;
                Ok(format!("type = 'pageview' AND path = {}", literal(path)))
            }
            Self::Predicate(text) => {
                parse_predicate(text).map_err(|error| crate::Error::InvalidParameter {
                    parameter: "steps",
                    message: format!("step {text:?}: {error}"),
                })
            }
        }
    }

    /// How the step is shown.
    pub fn label(&self) -> &str {
        match self {
            Self::Path(text) | Self::Predicate(text) => text,
        }
    }
}

/// Parameters of a funnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunnelParams {
    /// Site.
    pub site: String,
    /// The steps, in order (1 to 20).
    pub steps: Vec<FunnelStep>,
    /// Every step must come within this many seconds of the session's step-1 event. Default 3600.
    pub window_s: u32,
    /// Which traffic (applied to the events of every step).
    #[serde(flatten)]
    pub segment: Segment,
}

impl Default for FunnelParams {
    fn default() -> Self {
        Self {
            site: String::new(),
            steps: Vec::new(),
            window_s: WINDOW_S_DEFAULT,
            segment: Segment::default(),
        }
    }
}

impl FunnelParams {
    /// The SQL. Columns: `step` (1-based), `label`, `sessions` (entrants: sessions that reached
    /// the step after every earlier one, in order), `conversion` (of step 1's sessions),
    /// `conversion_from_previous`, `median_seconds` and `avg_seconds` from the previous step.
    ///
    /// A session reaches step k when it has events e1..ek matching steps 1..k with strictly
    /// increasing `ts` and `ek.ts - e1.ts <= window_s`. Every step-1 event is a possible start,
    /// and from each start the earliest next match is taken (which can only help later steps).
    /// Times between steps come from the session's earliest start that reaches the step.
    pub fn sql(&self) -> Result<String> {
        required("site", &self.site)?;
        if self.steps.is_empty() || self.steps.len() > STEPS_MAX {
            return invalid(
                "steps",
                format!("1 to {STEPS_MAX} steps, got {}", self.steps.len()),
            );
        }
        if self.window_s == 0 || self.window_s > WINDOW_S_MAX {
            return invalid(
                "window_s",
                format!("must be 1..={WINDOW_S_MAX}, got {}", self.window_s),
            );
        }
        let filter = self.segment.where_sql(&self.site, None)?;
        let window = self.window_s;
        let mut ctes = Vec::new();
        let mut stats = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            let k = index + 1;
            ctes.push(format!(
                "s{k} AS (SELECT DISTINCT session_id, ts FROM events \
                   WHERE {filter} AND session_id IS NOT NULL AND ({}))",
                step.condition()?
            ));
            if k == 1 {
                ctes.push(
                    "r1 AS (SELECT session_id, ts AS t1, ts AS t_prev, ts AS t_k FROM s1)".into(),
                );
            } else {
                let previous = k - 1;
                ctes.push(format!(
                    "r{k} AS (SELECT r.session_id, r.t1, r.t_k AS t_prev, min(s.ts) AS t_k \
                       FROM r{previous} r JOIN s{k} s ON s.session_id = r.session_id \
                         AND s.ts > r.t_k AND s.ts <= r.t1 + INTERVAL '{window} seconds' \
                       GROUP BY r.session_id, r.t1, r.t_k)"
                ));
            }
            // The earliest start's gap by an ordered aggregate, not a self-join: every
            // reference to r{k} would plan its whole chain of joins again.
            ctes.push(format!(
                "f{k} AS (SELECT session_id, \
                   first_value(CAST(t_k AS BIGINT) - CAST(t_prev AS BIGINT) ORDER BY t1) / 1000000.0 AS seconds \
                   FROM r{k} GROUP BY session_id)"
            ));
            let (median, average) = if k == 1 {
                ("CAST(NULL AS DOUBLE)", "CAST(NULL AS DOUBLE)")
            } else {
                ("median(seconds)", "avg(seconds)")
            };
            stats.push(format!(
                "SELECT {k} AS step, {} AS label, count(*) AS sessions, \
                   {median} AS median_seconds, {average} AS avg_seconds FROM f{k}",
                literal(step.label())
            ));
        }
        Ok(format!(
            "WITH {}, stats AS ({}) \
             SELECT step, label, sessions, \
               CAST(sessions AS DOUBLE) / NULLIF(first_value(sessions) OVER (ORDER BY step), 0) AS conversion, \
               CAST(sessions AS DOUBLE) / NULLIF(lag(sessions) OVER (ORDER BY step), 0) AS conversion_from_previous, \
               median_seconds, avg_seconds \
             FROM stats ORDER BY step",
            ctes.join(", "),
            stats.join(" UNION ALL ")
        ))
    }
}

/// Plans the funnel; fails on bad parameters.
pub async fn funnel(session: &EventsSession, params: &FunnelParams) -> Result<DataFrame> {
    let query = params.sql()?;
    plan(session, &query).await
}
