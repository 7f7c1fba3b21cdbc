//! Compaction on a real table: an import cut into many small files per partition is rewritten
//! as one sorted run per partition, with the same rows, and a second run changes nothing; a
//! vacuum then deletes the replaced files.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use deltalake::datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use heatlake_datagen::{GenConfig, write_ndjson_file};
use heatlake_ingest::{CompactOptions, ImportOptions, VacuumOptions, compact, import, vacuum};
use heatlake_model::privacy::ids::IdSecret;
use heatlake_table::TableLocation;

/// A digest of every row: per (site, date, type) the count and sums over several columns, and
/// the exact multiset of (pageview_id, seq, ts) as an ordered list.
async fn digest(location: &TableLocation, version: Option<u64>) -> Vec<String> {
    let table = heatlake_table::open(location, version).await.unwrap();
    let context = SessionContext::new();
    context
        .register_table("events", table.table_provider().await.unwrap())
        .unwrap();
    let batches = context
        .sql(
            "SELECT CAST(site AS VARCHAR), CAST(date AS VARCHAR), type, count(*), \
             sum(CAST(x AS BIGINT)), sum(CAST(y AS BIGINT)), sum(CAST(seq AS BIGINT)), \
             sum(pageview_id % 1000003), count(DISTINCT path), min(ts), max(ts) \
             FROM events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    text.lines().map(str::to_owned).collect()
}

/// (site, date) → [(path min, path max, rows)] of the table's files, from the Delta log.
async fn files(
    location: &TableLocation,
) -> BTreeMap<(String, String), Vec<(String, String, usize)>> {
    let table = heatlake_table::open(location, None).await.unwrap();
    let views: Vec<_> = table
        .snapshot()
        .unwrap()
        .snapshot()
        .file_views(table.log_store().as_ref(), None)
        .try_collect()
        .await
        .unwrap();
    let mut files: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for view in views {
        let values = view.partition_values_map();
        let value = |name: &str| values[name].clone().unwrap();
        let stats: serde_json::Value = serde_json::from_str(&view.stats().unwrap()).unwrap();
        files
            .entry((value("site"), value("date")))
            .or_default()
            .push((
                stats["minValues"]["path"].as_str().unwrap().to_owned(),
                stats["maxValues"]["path"].as_str().unwrap().to_owned(),
                view.num_records().unwrap(),
            ));
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_makes_one_sorted_run_per_partition_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    let mut config = GenConfig::with_events(60_000, 3);
    config.days = 2;
    write_ndjson_file(&config, &input, |_| {}).unwrap();
    let location = TableLocation::parse(dir.path().join("events").to_str().unwrap()).unwrap();
    let mut options = ImportOptions::new(IdSecret::generate_from([3; 32]));
    // Small buffers: every partition gets many files, each holding every page of its site.
    options.buffered_rows_max = 4_000;
    options.file_rows_max = 2_000;
    let report = import(&location, &[input], &options, Arc::default())
        .await
        .unwrap();
    let before = files(&location).await;
    assert!(
        before.values().all(|files| files.len() >= 3),
        "the import should leave several files per partition: {before:?}"
    );
    let rows_before = digest(&location, None).await;

    let compact_options = CompactOptions {
        file_rows_max: 5_000,
        ..CompactOptions::default()
    };
    let compacted = compact(&location, &compact_options, |_, _| {})
        .await
        .unwrap();
    assert_eq!(compacted.partitions, before.len());
    assert_eq!(compacted.partitions_compacted, before.len());
    assert_eq!(compacted.rows, 60_000);
    assert_eq!(
        compacted.files_removed,
        before.values().map(Vec::len).sum::<usize>()
    );

    // The same rows, in fewer files whose page ranges follow each other.
    assert_eq!(digest(&location, None).await, rows_before);
    let after = files(&location).await;
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for (partition, files) in &after {
        let rows: usize = files.iter().map(|file| file.2).sum();
        assert_eq!(
            files.len(),
            rows.div_ceil(5_000),
            "{partition:?}: {files:?}"
        );
        assert!(files.iter().all(|file| file.2 <= 5_000));
        let mut ranges: Vec<_> = files.iter().map(|file| (&file.0, &file.1)).collect();
        ranges.sort();
        for pair in ranges.windows(2) {
            assert!(
                pair[0].1 <= pair[1].0,
                "{partition:?}: overlapping {ranges:?}"
            );
        }
    }

    // The version before compaction still reads the old files.
    assert_eq!(digest(&location, Some(report.version)).await, rows_before);

    // Already one sorted run: nothing to do.
    let again = compact(&location, &compact_options, |_, _| {})
        .await
        .unwrap();
    assert_eq!(again.partitions_compacted, 0);
    assert_eq!(again.version, None);

    // A vacuum within the retention period keeps the replaced files; past it, a dry run lists
    // exactly them and a vacuum deletes exactly them.
    let data_files = || {
        let mut files = Vec::new();
        let mut dirs = vec![dir.path().join("events")];
        while let Some(next) = dirs.pop() {
            for entry in std::fs::read_dir(next).unwrap() {
                let path = entry.unwrap().path();
                if path.ends_with("_delta_log") {
                    continue;
                }
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|ext| ext == "parquet") {
                    files.push(path);
                }
            }
        }
        files.len()
    };
    let on_disk = data_files();
    assert_eq!(on_disk, compacted.files_removed + compacted.files_added);
    let kept = vacuum(&location, &VacuumOptions::default()).await.unwrap();
    assert!(kept.files.is_empty(), "{kept:?}");
    let past = VacuumOptions {
        retention: Duration::ZERO,
        dry_run: true,
        ..VacuumOptions::default()
    };
    let listed = vacuum(&location, &past).await.unwrap();
    assert_eq!(listed.files.len(), compacted.files_removed);
    assert_eq!(data_files(), on_disk);
    let deleted = vacuum(
        &location,
        &VacuumOptions {
            dry_run: false,
            ..past
        },
    )
    .await
    .unwrap();
    assert_eq!(deleted.files.len(), compacted.files_removed);
    assert_eq!(data_files(), compacted.files_added);
    assert_eq!(digest(&location, None).await, rows_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_of_one_site_leaves_the_others_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    let mut config = GenConfig::with_events(20_000, 4);
    config.days = 1;
    write_ndjson_file(&config, &input, |_| {}).unwrap();
    let location = TableLocation::parse(dir.path().join("events").to_str().unwrap()).unwrap();
    let mut options = ImportOptions::new(IdSecret::generate_from([4; 32]));
    options.buffered_rows_max = 2_000;
    options.file_rows_max = 1_000;
    import(&location, &[input], &options, Arc::default())
        .await
        .unwrap();
    let before = files(&location).await;
    let compact_options = CompactOptions {
        sites: vec!["shop.example".to_owned()],
        ..CompactOptions::default()
    };
    let report = compact(&location, &compact_options, |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.partitions_compacted, 1);
    let after = files(&location).await;
    for (partition, files) in &after {
        if partition.0 == "shop.example" {
            assert_eq!(files.len(), 1);
        } else {
            assert_eq!(files, &before[partition]);
        }
    }
}

/// Rows of the table at its latest version.
async fn row_count(location: &TableLocation) -> usize {
    let files = files(location).await;
    files.values().flatten().map(|file| file.2).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_files_appended_to_a_partition_it_has_not_reached_yet() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    let mut config = GenConfig::with_events(20_000, 5);
    config.days = 1;
    write_ndjson_file(&config, &input, |_| {}).unwrap();
    let appended = dir.path().join("appended.ndjson");
    write_ndjson_file(
        &GenConfig {
            events: 3_000,
            ..config
        },
        &appended,
        |_| {},
    )
    .unwrap();
    let location = TableLocation::parse(dir.path().join("events").to_str().unwrap()).unwrap();
    let mut options = ImportOptions::new(IdSecret::generate_from([5; 32]));
    options.file_rows_max = 1_000;
    import(&location, &[input], &options, Arc::default())
        .await
        .unwrap();
    let before = files(&location).await;
    assert!(before.len() > 1, "{before:?}");

    // After the first partition's commit, an append (as the collector's) to every partition,
    // those not compacted yet included.
    let mut appended_files = None;
    let report = compact(&location, &CompactOptions::default(), |_, _| {
        if appended_files.is_none() {
            let append = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current()
                    .block_on(import(
                        &location,
                        std::slice::from_ref(&appended),
                        &options,
                        Arc::default(),
                    ))
                    .unwrap()
            });
            appended_files = Some(append.data_files as usize);
        }
    })
    .await
    .unwrap();
    assert!(report.partitions_compacted > 2, "{report:?}");
    assert_eq!(report.partitions_compacted, before.len());
    assert_eq!(report.rows, 20_000);
    // Each partition is its compacted run plus the appended files, neither read nor removed.
    assert_eq!(row_count(&location).await, 23_000);
    let after = files(&location).await;
    assert_eq!(
        after.values().map(Vec::len).sum::<usize>(),
        before.len() + appended_files.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_compactions_at_once_leave_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    let mut config = GenConfig::with_events(20_000, 7);
    config.days = 2;
    write_ndjson_file(&config, &input, |_| {}).unwrap();
    let location = TableLocation::parse(dir.path().join("events").to_str().unwrap()).unwrap();
    let mut options = ImportOptions::new(IdSecret::generate_from([7; 32]));
    options.file_rows_max = 1_000;
    import(&location, &[input], &options, Arc::default())
        .await
        .unwrap();
    let before = files(&location).await;
    assert!(before.len() > 2, "{before:?}");
    let rows_before = digest(&location, None).await;

    // The second compaction runs after the first one's first partition commit: it rewrites the
    // partitions the first one has planned but not reached yet, which must then leave them be.
    let mut second = None;
    let first = compact(&location, &CompactOptions::default(), |_, _| {
        if second.is_none() {
            second = Some(tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current()
                    .block_on(compact(&location, &CompactOptions::default(), |_, _| {}))
                    .unwrap()
            }));
        }
    })
    .await
    .unwrap();
    let second = second.unwrap();
    assert_eq!(first.partitions_compacted, 1, "{first:?}");
    assert!(second.partitions_compacted > 1, "{second:?}");
    assert_eq!(
        first.partitions_compacted_elsewhere, second.partitions_compacted,
        "{first:?}"
    );
    assert_eq!(row_count(&location).await, 20_000);
    assert_eq!(digest(&location, None).await, rows_before);
    let after = files(&location).await;
    assert!(after.values().all(|files| files.len() == 1), "{after:?}");
}
