//! The data files of one table version, as its Delta log describes them.

use deltalake::DeltaTable;
use deltalake::kernel::Remove;
use futures::TryStreamExt;

use crate::{Error, Result, TableLocation};

/// One data file of a table version.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Path relative to the table root (decoded).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Rows, if the log's statistics say.
    pub rows: Option<usize>,
    /// The `site` partition value.
    pub site: String,
    /// The `date` partition value as days since 1970-01-01.
    pub date_days: i32,
    /// The `date` partition value as written (`YYYY-MM-DD`).
    pub date: String,
    /// The Delta statistics (JSON: `numRecords`, `minValues`, `maxValues`, `nullCount`).
    pub stats: Option<String>,
    /// The action that removes this file from the table (`dataChange` as given).
    remove: Remove,
}

impl DataFile {
    /// The `remove` action of this file, with `dataChange = false` (a rewrite, not a deletion).
    pub fn rewrite_remove(&self) -> Remove {
        self.remove.clone()
    }
}

/// The data files of `table`'s loaded version, in the log's order.
pub async fn data_files(table: &DeltaTable, location: &TableLocation) -> Result<Vec<DataFile>> {
    let delta = |source| Error::delta(location, source);
    let snapshot = table.snapshot().map_err(delta)?;
    let views: Vec<_> = snapshot
        .snapshot()
        .file_views(table.log_store().as_ref(), None)
        .try_collect()
        .await
        .map_err(delta)?;
    views
        .into_iter()
        .map(|view| {
            let values = view.partition_values_map();
            let value = |name: &str| values.get(name).cloned().flatten().unwrap_or_default();
            let date = value("date");
            let date_days = date_days(&date).ok_or_else(|| Error::BadDataFile {
                location: location.to_string(),
                path: view.path().into_owned(),
                message: format!("date partition value {date:?} is not a YYYY-MM-DD date"),
            })?;
            Ok(DataFile {
                path: view.path().into_owned(),
                size: view.size().max(0) as u64,
                rows: view.num_records(),
                site: value("site"),
                date_days,
                date,
                stats: view.stats(),
                remove: view.remove_action(false),
            })
        })
        .collect()
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn date_days(date: &str) -> Option<i32> {
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    i32::try_from((day - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days()).ok()
}

#[cfg(test)]
mod tests {
    use super::date_days;

    #[test]
    fn dates_are_days_since_the_epoch() {
        assert_eq!(date_days("1970-01-01"), Some(0));
        assert_eq!(date_days("1970-01-02"), Some(1));
        assert_eq!(date_days("2000-03-01"), Some(11_017));
        assert_eq!(date_days("2026-11-29"), Some(20_786));
        assert_eq!(date_days("1969-12-31"), Some(-1));
        assert_eq!(date_days("yesterday"), None);
        assert_eq!(date_days("2026-13-01"), None);
    }
}
