//! Where the table lives, and where Heatlake keeps its files when no flag says otherwise.
//!
//! Every command resolves its defaults through [`DataHome`]: the data directory is
//! `$HEATLAKE_HOME` (default `./heatlake-data`); the table is `--table`, else `$HEATLAKE_TABLE`,
//! else `<data dir>/events`; the collector's write-ahead log is `$HEATLAKE_WAL_DIR`, else
//! `<data dir>/wal`. Secrets (the id secret, development keys) live in the data directory.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use crate::{Error, Result};

/// Environment variable naming the data directory.
pub const HOME_ENV_VAR: &str = "HEATLAKE_HOME";
/// The data directory when [`HOME_ENV_VAR`] is not set.
pub const DEFAULT_HOME: &str = "./heatlake-data";
/// Environment variable naming the table when `--table` is not given.
pub const TABLE_ENV_VAR: &str = "HEATLAKE_TABLE";
/// Environment variable naming the collector's write-ahead-log directory.
pub const WAL_DIR_ENV_VAR: &str = "HEATLAKE_WAL_DIR";
/// The table's directory inside the data directory.
const TABLE_DIR_NAME: &str = "events";
/// The write-ahead log's directory inside the data directory.
const WAL_DIR_NAME: &str = "wal";

/// The table in `data_dir` when nothing names another: `<data_dir>/events`.
pub fn default_table_in(data_dir: &Path) -> String {
    data_dir.join(TABLE_DIR_NAME).to_string_lossy().into_owned()
}

/// The write-ahead-log directory in `data_dir` when nothing names another: `<data_dir>/wal`.
pub fn default_wal_dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join(WAL_DIR_NAME)
}

/// The data directory, table and write-ahead log as the environment names them, with the
/// defaults for what it does not: the one resolver every command goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataHome {
    data_dir: PathBuf,
    table: Option<String>,
    wal_dir: Option<PathBuf>,
}

impl DataHome {
    /// From the process environment ([`HOME_ENV_VAR`], [`TABLE_ENV_VAR`], [`WAL_DIR_ENV_VAR`]).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From the variables `lookup` answers; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        Self {
            data_dir: get(HOME_ENV_VAR).map_or_else(|| PathBuf::from(DEFAULT_HOME), PathBuf::from),
            table: get(TABLE_ENV_VAR),
            wal_dir: get(WAL_DIR_ENV_VAR).map(PathBuf::from),
        }
    }

    /// The data directory: [`HOME_ENV_VAR`], else [`DEFAULT_HOME`].
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The table named by the environment: [`TABLE_ENV_VAR`], else `<data dir>/events`.
    pub fn table(&self) -> String {
        self.table
            .clone()
            .unwrap_or_else(|| default_table_in(&self.data_dir))
    }

    /// The write-ahead-log directory: [`WAL_DIR_ENV_VAR`], else `<data dir>/wal`.
    pub fn wal_dir(&self) -> PathBuf {
        self.wal_dir
            .clone()
            .unwrap_or_else(|| default_wal_dir_in(&self.data_dir))
    }

    /// The table given by `--table` (`flag`), else by [`DataHome::table`].
    pub fn table_location(&self, flag: Option<&str>) -> Result<TableLocation> {
        match flag {
            Some(location) => TableLocation::parse(location),
            None => TableLocation::parse(&self.table()),
        }
    }
}

/// A table's location: a local directory or an object store URL, plus the options to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLocation {
    url: Url,
}

impl TableLocation {
    /// Parses a plain path (relative paths are made absolute), a `file://` URL or an `s3://`
    /// URL. Other schemes are refused with the list of supported ones.
    pub fn parse(location: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidLocation {
            location: location.to_owned(),
            reason,
        };
        if location.trim().is_empty() {
            return Err(invalid("it is empty".to_owned()));
        }
        let url = match Url::parse(location) {
            Ok(url) if url.scheme().len() > 1 => url,
            // No scheme (or a Windows drive letter): a local path.
            _ => {
                let path = Path::new(location);
                let absolute = if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    std::env::current_dir()
                        .map_err(|error| {
                            invalid(format!("cannot resolve a relative path: {error}"))
                        })?
                        .join(path)
                };
                let normalised = normalise(&absolute);
                Url::from_directory_path(&normalised)
                    .map_err(|()| invalid("not a usable directory path".to_owned()))?
            }
        };
        match url.scheme() {
            "file" | "s3" | "s3a" | "memory" => {}
            other => {
                return Err(invalid(format!(
                    "unsupported scheme `{other}://` (supported: a path, file://, s3://)"
                )));
            }
        }
        if url.scheme().starts_with("s3") && url.host_str().is_none_or(|bucket| bucket.len() < 3) {
            return Err(invalid(
                "an s3:// URL needs a bucket name of 3 or more characters".to_owned(),
            ));
        }
        Ok(Self { url })
    }

    /// The location given by `--table`, else by the environment ([`DataHome::from_env`]).
    pub fn resolve(flag: Option<&str>) -> Result<Self> {
        DataHome::from_env().table_location(flag)
    }

    /// The table's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The local directory of a `file://` table.
    pub fn local_path(&self) -> Option<PathBuf> {
        (self.url.scheme() == "file")
            .then(|| self.url.to_file_path().ok())
            .flatten()
    }

    /// Options for the object store. S3 settings come from the standard AWS environment
    /// variables, read by the store itself; nothing is needed here for local tables.
    pub fn storage_options(&self) -> HashMap<String, String> {
        HashMap::new()
    }
}

impl fmt::Display for TableLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.local_path() {
            Some(path) => write!(f, "{}", path.display()),
            None => write!(f, "{}", self.url),
        }
    }
}

/// Removes `.` and `..` components without touching the file system (the directory may not
/// exist yet).
fn normalise(path: &Path) -> PathBuf {
    let mut normalised = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normalised.pop();
            }
            other => normalised.push(other),
        }
    }
    normalised
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_urls() {
        let absolute = TableLocation::parse("/data/events").unwrap();
        assert_eq!(absolute.url().as_str(), "file:///data/events/");
        let relative = TableLocation::parse("./heatlake-data/../x/events").unwrap();
        let expected = std::env::current_dir().unwrap().join("x/events");
        assert_eq!(relative.local_path().unwrap(), expected);
        let s3 = TableLocation::parse("s3://bucket/tables/events").unwrap();
        assert_eq!(s3.url().as_str(), "s3://bucket/tables/events");
        assert_eq!(s3.to_string(), "s3://bucket/tables/events");
    }

    #[test]
    fn the_home_names_the_table_and_the_wal_unless_their_own_variables_do() {
        let home = DataHome::from_lookup(|name| (name == HOME_ENV_VAR).then(|| "/x".to_owned()));
        assert_eq!(home.data_dir(), Path::new("/x"));
        assert_eq!(home.table(), "/x/events");
        assert_eq!(home.wal_dir(), Path::new("/x/wal"));
        let home = DataHome::from_lookup(|name| match name {
            HOME_ENV_VAR => Some("/x".to_owned()),
            TABLE_ENV_VAR => Some("s3://bucket/events".to_owned()),
            WAL_DIR_ENV_VAR => Some("/fast/wal".to_owned()),
            _ => None,
        });
        assert_eq!(home.table(), "s3://bucket/events");
        assert_eq!(home.wal_dir(), Path::new("/fast/wal"));
        let flag = home.table_location(Some("/y/events")).unwrap();
        assert_eq!(flag.url().as_str(), "file:///y/events/");
        let defaults = DataHome::from_lookup(|_| Some(String::new()));
        assert_eq!(defaults.table(), "./heatlake-data/events");
        assert_eq!(defaults.wal_dir(), Path::new("./heatlake-data/wal"));
    }

    #[test]
    fn refuses_what_it_cannot_reach() {
        let error = TableLocation::parse("ftp://host/events")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "invalid table location \"ftp://host/events\": unsupported scheme `ftp://` (supported: a path, file://, s3://)"
        );
        let error = TableLocation::parse("s3://ab/events")
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with("needs a bucket name of 3 or more characters"),
            "{error}"
        );
        assert!(TableLocation::parse(" ").is_err());
    }
}
