//! Filters on `site` and `date` prune partitions (files never opened); filters on `path`,
//! `type` and `ts` prune row groups by their statistics. Shown on the executed plan's metrics.

use std::sync::Arc;

use datafusion::physical_plan::metrics::MetricValue;
use datafusion::physical_plan::{ExecutionPlan, collect};
use heatlake_query::{EventsSession, QueryOptions};

use crate::support::{EVENTS_PER_GROUP, fixture_table};

/// Sums a pruning metric over every node of an executed plan: (pruned, matched).
fn pruning(plan: &Arc<dyn ExecutionPlan>, name: &str) -> (usize, usize) {
    let mut totals = (0, 0);
    for metric in plan.metrics().iter().flat_map(|metrics| metrics.iter()) {
        if let MetricValue::PruningMetrics {
            name: metric_name,
            pruning_metrics,
        } = metric.value()
            && metric_name == name
        {
            totals.0 += pruning_metrics.pruned();
            totals.1 += pruning_metrics.matched();
        }
    }
    for child in plan.children() {
        let (pruned, matched) = pruning(child, name);
        totals.0 += pruned;
        totals.1 += matched;
    }
    totals
}

/// Runs `query`, returning its single count and the executed plan.
async fn run(session: &EventsSession, query: &str) -> (i64, Arc<dyn ExecutionPlan>) {
    let frame = session.sql(query).await.unwrap();
    let plan = frame.create_physical_plan().await.unwrap();
    let batches = collect(Arc::clone(&plan), session.context().task_ctx())
        .await
        .unwrap();
    let count = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap()
        .value(0);
    (count, plan)
}

#[tokio::test]
async fn site_and_date_filters_open_only_their_partition() {
    let directory = tempfile::tempdir().unwrap();
    let location = fixture_table(directory.path(), 100).await;
    let session = EventsSession::open(&location, None, &QueryOptions::default())
        .await
        .unwrap();

    let (count, plan) = run(
        &session,
        "SELECT count(x) FROM events WHERE site = 'beta.example' AND date = DATE '2026-11-02'",
    )
    .await;
    assert_eq!(count, (10 * 3 * EVENTS_PER_GROUP) as i64);
    // One partition holds one data file: only it is scanned, out of the six.
    let files = crate::support::scanned_files(&plan);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].contains("site=beta.example/date=2026-11-02/"),
        "{files:?}"
    );
}

#[tokio::test]
async fn path_type_and_ts_filters_prune_row_groups() {
    let directory = tempfile::tempdir().unwrap();
    // 100-row groups over files sorted by (path, type, ts): each (page, type) run of 20 rows
    // sits in one or two groups.
    let location = fixture_table(directory.path(), 100).await;
    let session = EventsSession::open(&location, None, &QueryOptions::default())
        .await
        .unwrap();

    let (count, plan) = run(
        &session,
        "SELECT count(x) FROM events WHERE site = 'alpha.example' AND path = 'alpha.example/page-3' AND type = 'click'",
    )
    .await;
    assert_eq!(count, (2 * EVENTS_PER_GROUP) as i64);
    let (pruned, matched) = pruning(&plan, "row_groups_pruned_statistics");
    // Each of the two day files has 600 rows in 6 groups; at most 2 groups per file can hold
    // page-3 clicks.
    assert!((2..=4).contains(&matched), "matched {matched}");
    assert_eq!(pruned + matched, 12, "pruned {pruned}, matched {matched}");

    let (count, plan) = run(
        &session,
        "SELECT count(x) FROM events WHERE ts < TIMESTAMP '2026-11-01T00:00:05Z'",
    )
    .await;
    // The first 5 s of 2026-11-01: events n = 0..4 of page 0, for each site and type.
    assert_eq!(count, (3 * 3 * 5) as i64);
    let (pruned, matched) = pruning(&plan, "row_groups_pruned_statistics");
    // Only the first row group of each 2026-11-01 file can hold them.
    assert_eq!(matched, 3, "pruned {pruned}, matched {matched}");
    assert!(pruned >= 15, "pruned {pruned}, matched {matched}");
}
