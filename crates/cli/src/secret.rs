//! The secret that keys pseudonymous visitor, session and page view ids.
//!
//! It is read from `HEATLAKE_ID_SECRET` (64 hex digits) if set, else from the file
//! `id-secret` in the data directory ([`DataHome::data_dir`]: `$HEATLAKE_HOME`, default
//! `./heatlake-data`), which is created with a random secret on first use, readable by its owner
//! only. Keep it: ids of later
//! imports match earlier ones only under the same secret. Lose it, and old ids can no longer be
//! linked to new ones (which is also how to rotate it on purpose).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use heatlake_model::privacy::ids::IdSecret;
use heatlake_table::DataHome;

/// Environment variable holding the secret as hex.
pub const SECRET_ENV_VAR: &str = "HEATLAKE_ID_SECRET";

/// Loads the id secret of the data directory the environment names, creating it on first use.
pub fn load_or_create() -> Result<IdSecret> {
    load_or_create_in(DataHome::from_env().data_dir())
}

/// Loads the id secret kept in `data_dir` (unless [`SECRET_ENV_VAR`] is set), creating it on
/// first use.
pub fn load_or_create_in(data_dir: &Path) -> Result<IdSecret> {
    if let Ok(hex) = std::env::var(SECRET_ENV_VAR) {
        return IdSecret::from_hex(hex.trim())
            .with_context(|| format!("{SECRET_ENV_VAR} must be 64 hex digits"));
    }
    let path = data_dir.join("id-secret");
    match std::fs::read_to_string(&path) {
        Ok(hex) => IdSecret::from_hex(hex.trim())
            .with_context(|| format!("while reading the id secret {}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom_fill(&mut seed)?;
            let secret = IdSecret::generate_from(seed);
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("while creating {}", data_dir.display()))?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&path)
                .with_context(|| format!("while creating the id secret {}", path.display()))?;
            writeln!(file, "{}", secret.to_hex())?;
            file.sync_all()?;
            Ok(secret)
        }
        Err(error) => Err(error).with_context(|| format!("while reading {}", path.display())),
    }
}

/// Fills `bytes` from the operating system's random source.
fn getrandom_fill(bytes: &mut [u8]) -> Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(bytes))
        .context("while reading /dev/urandom for a new id secret")
}
