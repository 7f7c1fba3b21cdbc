//! Ready-made questions over `events`: heatmaps, scroll depth, click-through, frustration and
//! funnels, each a DataFusion plan built from typed parameters (see `docs/analytics.md` for the
//! exact meaning of every number).
//!
//! Every question is one SQL statement over `events`, so it runs inside DataFusion (pruning,
//! parallelism, spilling) and would run unchanged on a distributed engine; nothing is loaded into
//! Rust collections. User values enter the SQL only as escaped string literals or numbers, and
//! the one free-form input, [`Segment::predicate`], is parsed as a single SQL expression and
//! printed back from its syntax tree, so it cannot end the expression it sits in.
//!
//! A question reads the session's table version: open the [`EventsSession`] at a version to pin
//! a report.

pub mod ctr;
pub mod frustration;
pub mod funnel;
pub mod heatmap;
pub mod question;
pub mod scroll;
mod segment;

use arrow::array::RecordBatch;
use datafusion::dataframe::DataFrame;

pub use segment::Segment;

use crate::{Error, EventsSession, Result};

/// Quotes `value` as a SQL string literal (single quotes doubled).
pub(crate) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Fails with [`Error::InvalidParameter`] naming `parameter`.
pub(crate) fn invalid<T>(parameter: &'static str, message: impl Into<String>) -> Result<T> {
    Err(Error::InvalidParameter {
        parameter,
        message: message.into(),
    })
}

/// Checks that a required text parameter is not empty.
pub(crate) fn required(parameter: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return invalid(parameter, "must not be empty");
    }
    Ok(())
}

/// Fails with [`Error::UnknownPage`] when `site` has no event on `path` in this table version
/// (ignoring the segment: a page with events outside the segment is known, its answer empty).
pub(crate) async fn ensure_page_exists(
    session: &EventsSession,
    site: &str,
    path: &str,
) -> Result<()> {
    let query = format!(
        "SELECT 1 FROM events WHERE site = {} AND path = {} LIMIT 1",
        literal(site),
        literal(path)
    );
    let batches = session.collect(&query).await?;
    if batches.iter().all(|batch| batch.num_rows() == 0) {
        return Err(Error::UnknownPage {
            site: site.to_owned(),
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Plans `query` (an analytics statement) in `session`.
pub(crate) async fn plan(session: &EventsSession, query: &str) -> Result<DataFrame> {
    session.sql(query).await
}

/// Runs a planned question and collects its batches.
pub async fn collect(frame: DataFrame) -> Result<Vec<RecordBatch>> {
    Ok(frame.collect().await?)
}
