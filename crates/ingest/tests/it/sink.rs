//! The collector behind the event sink seam: readiness while the WAL replays, the collector's
//! refusals in the sink's terms, a failed open, and a stop during start-up.

use std::time::Duration;

use heatlake_ingest::collector::{Collector, CollectorSink};
use heatlake_ingest::sink::{Appended, EventSink, SinkError};

use crate::collector::{events, expected, options, stored, table_in};

// A current-thread runtime: the collector opens in a spawned task, which runs only once the
// test awaits, so the sink is still opening right after `CollectorSink::open` returns.
#[tokio::test]
async fn appends_wait_for_the_wal_then_are_stored_once_and_refused_after_shutdown() {
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let sink = CollectorSink::open(location.clone(), options(&directory.path().join("wal")));
    assert!(!sink.is_ready());
    assert!(matches!(
        sink.append("a.example", None, events("a.example", 1, 0, 2, false))
            .await,
        Err(SinkError::NotReady)
    ));

    sink.opened().await.unwrap();
    assert!(sink.is_ready());
    let batch = || events("a.example", 1, 0, 3, false);
    assert_eq!(
        sink.append("a.example", Some("batch-1"), batch())
            .await
            .unwrap(),
        Appended::Stored
    );
    assert_eq!(
        sink.append("a.example", Some("batch-1"), batch())
            .await
            .unwrap(),
        Appended::Duplicate
    );
    assert_eq!(sink.stats().committed_events, 0);

    sink.shutdown().await.unwrap();
    assert!(!sink.is_ready());
    assert!(matches!(
        sink.append("a.example", None, batch()).await,
        Err(SinkError::ShuttingDown)
    ));
    let stats = sink.stats();
    assert_eq!((stats.committed_events, stats.commits), (3, 1));
    assert_eq!(stored(&location).await, expected("a.example", 1, 0..3));
}

#[tokio::test]
async fn a_full_wal_is_a_named_bound_to_retry_after() {
    let directory = tempfile::tempdir().unwrap();
    let mut options = options(&directory.path().join("wal"));
    options.wal.wal_bytes_max = 12_000;
    let sink = CollectorSink::open(table_in(directory.path()), options);
    sink.opened().await.unwrap();
    let mut stored_batches = 0;
    let refused = loop {
        match sink
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
    match &refused {
        SinkError::Full {
            limit,
            retry_after,
            message,
        } => {
            assert_eq!(limit, "wal_bytes_max");
            assert_eq!(*retry_after, Duration::from_secs(2));
            assert!(message.contains("wal_bytes_max 12000"), "{message}");
        }
        other => panic!("expected Full, got {other:?}"),
    }
    sink.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failed_open_is_reported_once_and_nothing_is_taken() {
    let directory = tempfile::tempdir().unwrap();
    // A file where the WAL directory should be.
    let wal_dir = directory.path().join("wal");
    std::fs::write(&wal_dir, b"not a directory").unwrap();
    let sink = CollectorSink::open(table_in(directory.path()), options(&wal_dir));
    let error = sink.opened().await.unwrap_err();
    assert!(matches!(error, SinkError::Open(_)), "{error:?}");
    assert_eq!(error.to_string(), "the collector could not be opened");
    let cause = std::error::Error::source(&error).expect("the cause is the source");
    assert_eq!(
        cause.to_string(),
        format!("write-ahead log {}", wal_dir.display())
    );
    assert!(!sink.is_ready());
    assert!(matches!(
        sink.append("a.example", None, events("a.example", 1, 0, 1, false))
            .await,
        Err(SinkError::NotReady)
    ));
    // Nothing was taken: stopping has nothing to commit.
    sink.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_start_up_commits_what_an_earlier_run_left_in_the_wal() {
    let directory = tempfile::tempdir().unwrap();
    let location = table_in(directory.path());
    let wal_dir = directory.path().join("wal");
    {
        // An earlier run that stopped without committing: its events are only in the WAL.
        let collector = Collector::open(location.clone(), options(&wal_dir))
            .await
            .unwrap();
        collector
            .append("a.example", None, events("a.example", 5, 0, 4, false))
            .await
            .unwrap();
    }
    let sink = CollectorSink::open(location.clone(), options(&wal_dir));
    sink.shutdown().await.unwrap();
    assert_eq!(stored(&location).await, expected("a.example", 5, 0..4));
}
