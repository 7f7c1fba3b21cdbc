//! The events the ingest benchmarks run on: the first events of the 1 M standard set
//! (`GenConfig::standard(StandardScale::OneMillion)`, seed 1), accepted with the default privacy
//! policy as an import accepts them, as one Arrow batch of `event_schema()` (every site and day
//! of those events together, not split into partitions).

use arrow::array::RecordBatch;
use heatlake_datagen::{GenConfig, StandardScale, for_each_wire_event};
use heatlake_model::privacy::ids::IdSecret;
use heatlake_model::{EventBatchBuilder, IngestContext, PrivacyPolicy};

/// `received_at` stamped on every event (a fixed time, so runs compare).
const RECEIVED_AT_MS: i64 = 1_764_400_000_000;

/// The first `events` events as one batch.
pub fn event_batch(events: usize) -> RecordBatch {
    let config = GenConfig {
        events: events as u64,
        ..GenConfig::standard(StandardScale::OneMillion)
    };
    let mut context = IngestContext::new(
        IdSecret::generate_from([1; 32]),
        PrivacyPolicy::default(),
        RECEIVED_AT_MS,
    );
    let mut builder = EventBatchBuilder::with_capacity(events);
    for_each_wire_event(&config, |wire| {
        let event = context.accept(wire).expect("generated events are valid");
        builder.append(&event);
    })
    .expect("the generator runs in memory");
    let batch = builder.finish();
    assert_eq!(batch.num_rows(), events);
    batch
}
