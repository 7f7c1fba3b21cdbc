//! Integration tests of `heatlake-datagen`: one binary, one module per area.

mod determinism;
mod distributions;
mod ndjson;
mod parquet;
mod sample;

use heatlake_datagen::{GenConfig, Summary, write_ndjson};

/// The NDJSON output of `config` and its summary.
pub fn ndjson(config: &GenConfig) -> (String, Summary) {
    let mut out = Vec::new();
    let summary = write_ndjson(config, &mut out, |_| {}).expect("generation succeeds");
    (String::from_utf8(out).expect("NDJSON is UTF-8"), summary)
}

/// A config of `events` events with `seed`, otherwise the defaults.
pub fn config(events: u64, seed: u64) -> GenConfig {
    GenConfig::with_events(events, seed)
}
