//! A small hand-built table: 3 sites × 2 days × 10 pages × 3 types × 20 events.

use std::io::Write;
use std::sync::Arc;

use heatlake_ingest::{ImportOptions, import};
use heatlake_model::privacy::ids::IdSecret;
use heatlake_table::TableLocation;

/// Events per (site, day, page, type).
pub const EVENTS_PER_GROUP: usize = 20;
/// Sites of the fixture.
pub const SITES: [&str; 3] = ["alpha.example", "beta.example", "gamma.example"];
/// Days of the fixture (ms of midnight UTC): 2026-11-01 and 2026-11-02.
pub const DAYS_MS: [i64; 2] = [1_793_491_200_000, 1_793_577_600_000];
/// Pages per site.
pub const PAGES: usize = 10;
/// Event types of the fixture.
pub const TYPES: [&str; 3] = ["click", "move", "scroll"];

/// Imports the fixture with tiny row groups (so that row-group pruning has groups to prune)
/// and returns the table's location inside `directory`.
pub async fn fixture_table(directory: &std::path::Path, row_group_rows: usize) -> TableLocation {
    let input = directory.join("fixture.ndjson");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    for site in SITES {
        for day in DAYS_MS {
            for page in 0..PAGES {
                for event_type in TYPES {
                    for n in 0..EVENTS_PER_GROUP {
                        let ts = day + (page * 1000 + n) as i64 * 1000;
                        let x = 10 * n;
                        writeln!(
                            file,
                            r#"{{"v":1,"site":"{site}","type":"{event_type}","ts":{ts},"pageview_id":"pv-{page}-{n}","seq":{n},"path":"{site}/page-{page}","x":{x},"y":{x},"scroll_y":{x}}}"#
                        )
                        .unwrap();
                    }
                }
            }
        }
    }
    file.flush().unwrap();
    drop(file);
    let location = TableLocation::parse(directory.join("events").to_str().unwrap()).unwrap();
    let mut options = ImportOptions::new(IdSecret::generate_from([3; 32]));
    options.row_group_rows = row_group_rows;
    options.received_at_ms = Some(1_793_600_000_000);
    let report = import(&location, &[input], &options, Arc::default())
        .await
        .unwrap();
    assert_eq!(
        report.events as usize,
        SITES.len() * DAYS_MS.len() * PAGES * TYPES.len() * EVENTS_PER_GROUP
    );
    assert_eq!(report.partitions, 6);
    location
}

/// Paths of the data files an executed plan scans.
pub fn scanned_files(plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>) -> Vec<String> {
    use datafusion::datasource::physical_plan::FileScanConfig;
    use datafusion::datasource::source::DataSourceExec;

    let mut files = Vec::new();
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>()
        && let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>()
    {
        for group in &config.file_groups {
            for file in group.files() {
                files.push(file.object_meta.location.to_string());
            }
        }
    }
    for child in plan.children() {
        files.extend(scanned_files(child));
    }
    files
}
