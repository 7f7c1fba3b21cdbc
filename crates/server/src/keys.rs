//! Keys: where a request carries a write key or a read key, and the development keys kept in
//! the data directory.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use axum::http::HeaderMap;

use crate::error::{Error, Result};

/// Request header holding the write key.
pub(crate) const KEY_HEADER: &str = "x-heatlake-key";
/// Query parameter holding the write key (`sendBeacon` and the pixel cannot set headers).
pub(crate) const KEY_PARAMETER: &str = "key";
/// Request header holding the optional batch id.
pub(crate) const BATCH_HEADER: &str = "x-heatlake-batch";
/// Query parameter holding the optional batch id.
pub(crate) const BATCH_PARAMETER: &str = "batch";
/// Longest batch id, in bytes.
pub(crate) const BATCH_ID_BYTES_MAX: usize = 128;
/// File in the data directory holding the development site's write key.
pub const DEV_KEY_FILE: &str = "dev-write-key";
/// File in the data directory holding the development site's read key.
pub const DEV_READ_KEY_FILE: &str = "dev-read-key";

/// The read key of a request: `Authorization: Bearer <key>`, else the `X-Heatlake-Key` header.
/// Never a query parameter: a read key is a secret, and URLs end up in logs and histories.
pub(crate) fn read_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        });
    bearer
        .or_else(|| {
            headers
                .get(KEY_HEADER)
                .and_then(|value| value.to_str().ok())
        })
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// The value of `header`, else of the query parameter `parameter`.
pub(crate) fn header_or_query<'a>(
    headers: &'a HeaderMap,
    query: &'a [(String, String)],
    header: &str,
    parameter: &str,
) -> Option<&'a str> {
    headers
        .get(header)
        .and_then(|value| value.to_str().ok())
        .or_else(|| {
            query
                .iter()
                .find(|(name, _)| name == parameter)
                .map(|(_, value)| value.as_str())
        })
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// Whether a batch id is acceptable: 1-128 visible ASCII characters.
pub(crate) fn valid_batch_id(batch_id: &str) -> bool {
    batch_id.len() <= BATCH_ID_BYTES_MAX && batch_id.bytes().all(|byte| byte.is_ascii_graphic())
}

/// The development site's write key, read from `<data_dir>/dev-write-key`, or created there
/// (random, readable by its owner only) on first use.
pub fn load_or_create_dev_key(data_dir: &Path) -> Result<String> {
    load_or_create_key(data_dir, DEV_KEY_FILE, "hlw_dev_")
}

/// The development site's read key, read from `<data_dir>/dev-read-key`, or created there
/// (random, readable by its owner only) on first use.
pub fn load_or_create_dev_read_key(data_dir: &Path) -> Result<String> {
    load_or_create_key(data_dir, DEV_READ_KEY_FILE, "hlr_dev_")
}

fn load_or_create_key(data_dir: &Path, file: &str, prefix: &str) -> Result<String> {
    let path: PathBuf = data_dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(key) if !key.trim().is_empty() => return Ok(key.trim().to_owned()),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(Error::io(
                format!("while reading {}", path.display()),
                error,
            ));
        }
    }
    let mut random = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut source| source.read_exact(&mut random))
        .map_err(|error| Error::io("while reading /dev/urandom for a key", error))?;
    let key = format!(
        "{prefix}{}",
        random
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    );
    std::fs::create_dir_all(data_dir)
        .map_err(|error| Error::io(format!("while creating {}", data_dir.display()), error))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|error| Error::io(format!("while creating {}", path.display()), error))?;
    writeln!(file, "{key}")
        .and_then(|()| file.sync_all())
        .map_err(|error| Error::io(format!("while writing {}", path.display()), error))?;
    Ok(key)
}
