//! Where the table lives.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use url::Url;

use crate::{Error, Result};

/// The table used when neither `--table` nor [`TABLE_ENV_VAR`] names one.
pub const DEFAULT_TABLE_PATH: &str = "./heatlake-data/events";

/// Environment variable naming the table when `--table` is not given.
pub const TABLE_ENV_VAR: &str = "HEATLAKE_TABLE";

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

    /// The location given by `--table`, else by [`TABLE_ENV_VAR`], else [`DEFAULT_TABLE_PATH`].
    pub fn resolve(flag: Option<&str>) -> Result<Self> {
        match flag {
            Some(location) => Self::parse(location),
            None => match std::env::var(TABLE_ENV_VAR) {
                Ok(location) if !location.is_empty() => Self::parse(&location),
                _ => Self::parse(DEFAULT_TABLE_PATH),
            },
        }
    }

    /// The table's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The local directory of a `file://` table.
    pub fn local_path(&self) -> Option<std::path::PathBuf> {
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
fn normalise(path: &Path) -> std::path::PathBuf {
    let mut normalised = std::path::PathBuf::new();
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
