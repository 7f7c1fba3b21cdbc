//! The examples in docs/wire-format.md are real: each decodes, validates and covers every type.

use std::collections::BTreeSet;

use heatlake_model::{EventType, IngestContext, decode_line};

const DOC: &str = include_str!("../../../../docs/wire-format.md");

fn examples() -> Vec<&'static str> {
    let start = DOC.find("```json\n").expect("the doc has a json block") + "```json\n".len();
    let end = start + DOC[start..].find("```").expect("the json block ends");
    DOC[start..end]
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect()
}

#[test]
fn every_documented_example_is_accepted() {
    let mut context = IngestContext::for_tests(1_764_576_100_000);
    let mut types = BTreeSet::new();
    for line in examples() {
        let wire = decode_line(line.as_bytes()).unwrap_or_else(|error| panic!("{line}: {error}"));
        let event = context
            .accept(wire)
            .unwrap_or_else(|error| panic!("{line}: {error}"));
        types.insert(event.event_type);
    }
    assert_eq!(types, EventType::ALL.into_iter().collect::<BTreeSet<_>>());
}

#[test]
fn the_documented_change_value_is_dropped_by_default() {
    let mut context = IngestContext::for_tests(0);
    let line = examples()
        .into_iter()
        .find(|line| line.contains(r#""type":"change""#))
        .unwrap();
    let event = context
        .accept(decode_line(line.as_bytes()).unwrap())
        .unwrap();
    assert_eq!(event.value, None);
    assert_eq!(event.input_len, Some(6));
}
