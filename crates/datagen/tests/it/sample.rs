//! The committed sample `datasets/sample-1k.ndjson` is what the generator makes of
//! `GenConfig::sample()` (1,000 events, seed 42). After an intended change to the generator,
//! regenerate it with `HEATLAKE_BLESS=1 cargo test -p heatlake-datagen --test it sample`.

use std::path::PathBuf;

use heatlake_datagen::GenConfig;

use crate::ndjson;

/// The sample in the checkout being tested. `cargo test` sets `CARGO_MANIFEST_DIR` when it runs
/// the binary; the compile-time value can name another checkout that shares the build directory.
fn sample_path() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir.join("../../datasets/sample-1k.ndjson")
}

#[test]
fn committed_sample_is_current() {
    let config = GenConfig::sample();
    assert_eq!((config.events, config.seed), (1_000, 42));
    let (text, summary) = ndjson(&config);
    let path = sample_path();
    if std::env::var_os("HEATLAKE_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error} (HEATLAKE_BLESS=1 writes it)", path.display()));
    assert!(
        committed == text,
        "{} is stale: regenerate it with HEATLAKE_BLESS=1 cargo test -p heatlake-datagen --test it sample",
        path.display()
    );
    insta::assert_snapshot!(
        "sample_1k_summary",
        serde_json::to_string_pretty(&summary).unwrap()
    );
}
