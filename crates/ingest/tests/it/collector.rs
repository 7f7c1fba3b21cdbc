//! The collector end to end in one process: append, crash (a runtime dropped mid-flight), torn
//! tails, restart, and what the table holds afterwards.

use std::path::Path;
use std::time::Duration;

use arrow::array::{AsArray, RecordBatch};
use deltalake::datafusion::prelude::SessionContext;
use heatlake_ingest::collector::{AppendError, Appended, Collector, CollectorOptions};
use heatlake_model::{Event, EventBatchBuilder, EventType};
use heatlake_table::TableLocation;

/// 2025-12-01 00:00 UTC.
const DAY_MS: i64 = 1_764_547_200_000;

/// `count` click events of `site`, page view `pageview`, with `seq` from `first_seq`; the last
/// one falls on the next day when `span_midnight`.
pub(crate) fn events(
    site: &str,
    pageview: i64,
    first_seq: i32,
    count: i32,
    span_midnight: bool,
) -> RecordBatch {
    let mut builder = EventBatchBuilder::with_capacity(count as usize);
    for n in 0..count {
        let ts_ms = if span_midnight && n == count - 1 {
            DAY_MS + 86_400_000 + 5
        } else {
            DAY_MS + 3_600_000 + i64::from(n)
        };
        builder.append(&Event {
            site: site.to_owned().into(),
            date_days: heatlake_model::event::date_days_of(ts_ms),
            ts_ms,
            received_at_ms: ts_ms,
            pageview_id: Some(pageview),
            seq: Some(first_seq + n),
            event_type: EventType::Click,
            path: Some(format!("{site}/page").into()),
            x: Some(n),
            y: Some(2 * n),
            ..Event::default()
        });
    }
    builder.finish()
}

pub(crate) fn options(wal_dir: &Path) -> CollectorOptions {
    let mut options = CollectorOptions::new(wal_dir);
    // Nothing flushes on its own during a test unless it asks to.
    options.flush_age_max = Duration::from_secs(3600);
    options.retry_delay_min = Duration::from_millis(10);
    options
}

/// (site, pageview_id, seq) of every stored event, sorted, and the number of rows.
pub(crate) async fn stored(location: &TableLocation) -> Vec<(String, i64, i32)> {
    let table = heatlake_table::open(location, None).await.unwrap();
    let context = SessionContext::new();
    context
        .register_table("events", table.table_provider().await.unwrap())
        .unwrap();
    let batches = context
        .sql("SELECT CAST(site AS VARCHAR) AS site, pageview_id, seq FROM events ORDER BY 1, 2, 3")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut rows = Vec::new();
    for batch in batches {
        let sites =
            arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
        let sites = sites.as_string::<i32>();
        let pageviews = batch
            .column(1)
            .as_primitive::<arrow::datatypes::Int64Type>();
        let seqs = batch
            .column(2)
            .as_primitive::<arrow::datatypes::Int32Type>();
        for row in 0..batch.num_rows() {
            rows.push((
                sites.value(row).to_owned(),
                pageviews.value(row),
                seqs.value(row),
            ));
        }
    }
    rows
}

pub(crate) fn expected(
    site: &str,
    pageview: i64,
    seqs: std::ops::Range<i32>,
) -> Vec<(String, i64, i32)> {
    seqs.map(|seq| (site.to_owned(), pageview, seq)).collect()
}

pub(crate) fn table_in(directory: &Path) -> TableLocation {
    TableLocation::parse(directory.join("events").to_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_are_committed_once_at_shutdown_with_the_wal_position() {
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let wal_dir = directory.path().join("wal");
    let collector = Collector::open(location.clone(), options(&wal_dir))
        .await
        .unwrap();
    assert_eq!(
        collector
            .append("a.example", None, events("a.example", 1, 0, 5, true))
            .await
            .unwrap(),
        Appended::Stored
    );
    assert_eq!(collector.stats().durable_seq, 1);
    assert_eq!(
        collector
            .append(
                "b.example",
                Some("batch-1"),
                events("b.example", 2, 0, 3, false)
            )
            .await
            .unwrap(),
        Appended::Stored
    );
    assert_eq!(collector.stats().durable_seq, 2);
    collector.shutdown().await.unwrap();
    let stats = collector.stats();
    assert_eq!(
        (stats.events_committed, stats.committed_seq, stats.commits),
        (8, 2, 1)
    );
    // One file per (site, date): a.example spans midnight.
    assert_eq!(stats.files_written, 3);
    let mut want = expected("a.example", 1, 0..5);
    want.extend(expected("b.example", 2, 0..3));
    assert_eq!(stored(&location).await, want);
    assert!(matches!(
        collector
            .append("a.example", None, events("a.example", 1, 9, 1, false))
            .await,
        Err(AppendError::ShuttingDown)
    ));

    // A restart replays nothing: the table says records 1..=2 are in.
    let again = Collector::open(location.clone(), options(&wal_dir))
        .await
        .unwrap();
    again.shutdown().await.unwrap();
    assert_eq!(again.stats().events_committed, 0);
    assert_eq!(stored(&location).await, want);
}

/// Opens a collector in a runtime of its own, appends, and drops the runtime without a
/// shutdown: the flusher dies mid-flight as in a crash; the WAL records are durable.
fn append_then_crash(
    location: &TableLocation,
    wal_dir: &Path,
    batches: Vec<(Option<&str>, RecordBatch)>,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let collector = Collector::open(location.clone(), options(wal_dir))
            .await
            .unwrap();
        for (batch_id, batch) in batches {
            assert!(matches!(
                collector.append("a.example", batch_id, batch).await,
                Ok(Appended::Stored)
            ));
        }
    });
    drop(runtime);
}

#[test]
fn after_a_crash_the_wal_is_replayed_and_a_retried_batch_is_recognised() {
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let wal_dir = directory.path().join("wal");
    append_then_crash(
        &location,
        &wal_dir,
        vec![
            (Some("first"), events("a.example", 7, 0, 4, false)),
            (None, events("a.example", 7, 4, 2, false)),
        ],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let collector = Collector::open(location.clone(), options(&wal_dir))
            .await
            .unwrap();
        assert_eq!(collector.recovery().records, 2);
        // The sender never saw its answer and retries: recognised, not stored again.
        assert_eq!(
            collector
                .append(
                    "a.example",
                    Some("first"),
                    events("a.example", 7, 0, 4, false)
                )
                .await
                .unwrap(),
            Appended::Duplicate
        );
        assert_eq!(collector.stats().durable_seq, 2, "nothing stored again");
        // The same batch id of another site is another batch.
        assert_eq!(
            collector
                .append(
                    "b.example",
                    Some("first"),
                    events("b.example", 8, 0, 1, false)
                )
                .await
                .unwrap(),
            Appended::Stored
        );
        assert_eq!(collector.stats().durable_seq, 3);
        collector.shutdown().await.unwrap();
        let mut want = expected("a.example", 7, 0..6);
        want.extend(expected("b.example", 8, 0..1));
        assert_eq!(stored(&location).await, want);
    });
}

#[test]
fn a_torn_tail_is_cut_and_the_records_before_it_are_kept() {
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let wal_dir = directory.path().join("wal");
    append_then_crash(
        &location,
        &wal_dir,
        vec![(None, events("a.example", 3, 0, 3, false))],
    );
    let segment = std::fs::read_dir(&wal_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "wal"))
        .unwrap();
    let whole = std::fs::metadata(&segment).unwrap().len();
    // Half a frame: a length that promises more than follows, as a crash mid-write leaves it.
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3, 4, 9, 9]);
    std::fs::write(&segment, &bytes).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let collector = Collector::open(location.clone(), options(&wal_dir))
            .await
            .unwrap();
        assert_eq!(collector.recovery().torn_bytes, 10);
        assert_eq!(std::fs::metadata(&segment).unwrap().len(), whole);
        assert_eq!(
            collector
                .append("a.example", None, events("a.example", 3, 3, 1, false))
                .await
                .unwrap(),
            Appended::Stored
        );
        assert_eq!(collector.stats().durable_seq, 2);
        collector.shutdown().await.unwrap();
        assert_eq!(stored(&location).await, expected("a.example", 3, 0..4));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_wal_refuses_appends_and_names_its_bound() {
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let mut options = options(&directory.path().join("wal"));
    options.wal.wal_bytes_max = 12_000;
    let collector = Collector::open(location.clone(), options).await.unwrap();
    let mut stored_batches = 0;
    let refused = loop {
        match collector
            .append(
                "a.example",
                None,
                events("a.example", 1, stored_batches * 10, 10, false),
            )
            .await
        {
            Ok(_) => stored_batches += 1,
            Err(error) => break error,
        }
        assert!(stored_batches < 100, "the bound never applied");
    };
    assert!(
        matches!(
            refused,
            AppendError::WalFull {
                wal_bytes_max: 12_000,
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("wal_bytes_max 12000"));
    collector.shutdown().await.unwrap();
    assert_eq!(stored(&location).await.len(), stored_batches as usize * 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_flush_on_their_own_once_enough_wait() {
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let mut options = options(&directory.path().join("wal"));
    options.flush_rows_max = 10;
    let collector = Collector::open(location.clone(), options).await.unwrap();
    for n in 0..3 {
        collector
            .append("a.example", None, events("a.example", 4, n * 5, 5, false))
            .await
            .unwrap();
    }
    // 15 events wait, the bound is 10: a flush commits without a shutdown.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while collector.stats().events_committed < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "no flush: {:?}",
            collector.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(heatlake_table::open(&location, None).await.is_ok());
    collector.shutdown().await.unwrap();
    assert_eq!(stored(&location).await, expected("a.example", 4, 0..15));
}

/// Regression: waiting events were measured with Arrow's memory size, which counts a decoded
/// record's shared buffer once per column, so `flush_bytes_max` cut flushes far too early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_bound_counts_the_events_once() {
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let mut options = options(&directory.path().join("wal"));
    options.flush_bytes_max = 1 << 20;
    let collector = Collector::open(location.clone(), options).await.unwrap();
    for n in 0..20 {
        collector
            .append(
                "a.example",
                None,
                events("a.example", 5, n * 100, 100, false),
            )
            .await
            .unwrap();
    }
    collector.shutdown().await.unwrap();
    // 2,000 events take far less than 1 MiB in the WAL: one flush, at shutdown.
    assert!(collector.stats().wal_bytes < 1 << 20);
    assert_eq!(collector.stats().commits, 1);
    assert_eq!(stored(&location).await.len(), 2000);
}

/// Compaction commits (remove + add) while the collector commits appends to the same partition:
/// Delta's conflict resolution must keep every appended file, and the rewrite every row. Every
/// compaction beside the collector must succeed (only "no table yet" before the first flush is
/// expected), and the appends go on after a compaction has committed, so the test cannot pass on
/// a compaction that runs only after the collector stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_while_the_collector_commits_loses_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let wal_dir = directory.path().join("wal");
    let mut collector_options = options(&wal_dir);
    collector_options.flush_age_max = Duration::from_millis(20);
    let collector = std::sync::Arc::new(
        Collector::open(location.clone(), collector_options)
            .await
            .unwrap(),
    );
    const PAGEVIEWS: i64 = 60;
    /// Longest the appender waits for a compaction to commit beside it.
    const COMPACTION_WAIT: Duration = Duration::from_secs(60);
    let compacted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let appender = {
        let collector = std::sync::Arc::clone(&collector);
        let compacted = std::sync::Arc::clone(&compacted);
        tokio::spawn(async move {
            for pageview in 0..PAGEVIEWS {
                if pageview == PAGEVIEWS / 2 {
                    let deadline = tokio::time::Instant::now() + COMPACTION_WAIT;
                    while compacted.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                        assert!(
                            tokio::time::Instant::now() < deadline,
                            "no compaction committed beside the flushes"
                        );
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                collector
                    .append(
                        "a.example",
                        None,
                        events("a.example", pageview, 0, 10, false),
                    )
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(8)).await;
            }
        })
    };
    let compact_options = heatlake_ingest::CompactOptions::default();
    let mut table_seen = false;
    while !appender.is_finished() {
        match heatlake_ingest::compact(&location, &compact_options, |_, _| {}).await {
            Ok(report) => {
                table_seen = true;
                compacted.fetch_add(
                    report.partitions_compacted,
                    std::sync::atomic::Ordering::SeqCst,
                );
            }
            Err(heatlake_ingest::Error::Table(heatlake_table::Error::TableNotFound { .. }))
                if !table_seen => {}
            Err(error) => panic!("compaction beside the collector failed: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    appender.await.unwrap();
    collector.shutdown().await.unwrap();
    let mut all = Vec::new();
    for pageview in 0..PAGEVIEWS {
        all.extend(expected("a.example", pageview, 0..10));
    }
    assert_eq!(stored(&location).await, all);
}

/// The batch id window runs from when the batch was stored: a retry within it is recognised
/// (stored once), a retry after it is a new batch (stored again), and that second store starts
/// a window of its own. A window of 3 s leaves an immediate retry well within it even on a
/// loaded machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_id_is_a_duplicate_within_the_window_and_stored_again_after_it() {
    const WINDOW: Duration = Duration::from_secs(3);
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let mut collector_options = options(&directory.path().join("wal"));
    collector_options.wal.batch_id_window = WINDOW;
    let collector = Collector::open(location.clone(), collector_options)
        .await
        .unwrap();
    let append = || {
        collector.append(
            "a.example",
            Some("batch-1"),
            events("a.example", 1, 0, 3, false),
        )
    };
    assert_eq!(append().await.unwrap(), Appended::Stored);
    assert_eq!(append().await.unwrap(), Appended::Duplicate);
    // The record's time was taken before the append returned: past it by more than the window
    // now, whatever the clock's granularity.
    tokio::time::sleep(WINDOW + Duration::from_millis(100)).await;
    assert_eq!(append().await.unwrap(), Appended::Stored);
    assert_eq!(append().await.unwrap(), Appended::Duplicate);
    collector.shutdown().await.unwrap();
    assert_eq!(collector.stats().events_appended, 6);
    let mut twice = expected("a.example", 1, 0..3);
    twice.extend(expected("a.example", 1, 0..3));
    twice.sort();
    assert_eq!(stored(&location).await, twice);
}
