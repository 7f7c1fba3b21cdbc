//! The events the model benchmarks run on: the first [`BATCH_EVENTS`] events of the 1 M standard
//! set (`GenConfig::standard(StandardScale::OneMillion)`, seed 1), as NDJSON lines in memory, and
//! an ingest context set up as `heatlake import` sets one up (default privacy policy).

use heatlake_datagen::{GenConfig, StandardScale, write_ndjson};
use heatlake_model::privacy::ids::IdSecret;
use heatlake_model::{IngestContext, PrivacyPolicy, WireEvent, decode_line};

/// Events per measured batch: about one collector request of 1,000 events times ten, or a
/// hundredth of an import's data file.
pub const BATCH_EVENTS: usize = 10_000;

/// `received_at` stamped on every event (a fixed time, so runs compare).
pub const RECEIVED_AT_MS: i64 = 1_764_400_000_000;

/// The wire-format lines, without their line ends.
pub fn ndjson_lines() -> Vec<Vec<u8>> {
    let config = GenConfig {
        events: BATCH_EVENTS as u64,
        ..GenConfig::standard(StandardScale::OneMillion)
    };
    let mut ndjson = Vec::new();
    write_ndjson(&config, &mut ndjson, |_| {}).expect("the generator writes to memory");
    let lines: Vec<Vec<u8>> = ndjson
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(lines.len(), BATCH_EVENTS);
    lines
}

/// The lines decoded; the events borrow from `lines`.
pub fn wire_events(lines: &[Vec<u8>]) -> Vec<WireEvent<'_>> {
    lines
        .iter()
        .map(|line| decode_line(line).expect("generated lines decode"))
        .collect()
}

/// A context as an import makes one: the default policy for every site.
pub fn ingest_context() -> IngestContext {
    IngestContext::new(
        IdSecret::generate_from([1; 32]),
        PrivacyPolicy::default(),
        RECEIVED_AT_MS,
    )
}

/// Mean bytes per line, for the report.
pub fn bytes_per_line(lines: &[Vec<u8>]) -> f64 {
    lines.iter().map(Vec::len).sum::<usize>() as f64 / lines.len() as f64
}
