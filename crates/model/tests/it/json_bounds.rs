//! The JSON pre-scan counts what `serde_json` builds, refuses past its bounds, and its cost
//! figure ([`VALUE_BYTES_WORST`]) holds for the shapes that cost the most per value.

use std::mem::size_of;

use heatlake_model::json_bounds::{
    JsonBounds, JsonShape, SERDE_JSON_DEPTH_MAX, VALUE_BYTES_WORST, check_json,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const BUTTONS: &str = include_str!("../../../../datasets/rrweb/buttons.json");
const FORM: &str = include_str!("../../../../datasets/rrweb/form.json");

/// Values and depth of a decoded tree, counted the way [`check_json`] counts the text.
fn shape_of(value: &Value) -> JsonShape {
    let children: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(members) => members.values().collect(),
        _ => {
            return JsonShape {
                values: 1,
                depth: 0,
            };
        }
    };
    let mut shape = JsonShape {
        values: 1,
        depth: 1,
    };
    for child in children {
        let inner = shape_of(child);
        shape.values += inner.values;
        shape.depth = shape.depth.max(inner.depth + 1);
    }
    shape
}

/// Bytes a decoded tree holds: its root slot and what every node allocates. Arrays and strings by
/// their real capacity; an object's members by the B-tree leaf they sit in (11 key and value slots
/// and 16 bytes of links) when it is at its emptiest after a split (5 members), plus the key text.
fn decoded_bytes(value: &Value) -> usize {
    size_of::<Value>() + heap_bytes(value)
}

fn heap_bytes(value: &Value) -> usize {
    const LEAF_SLOTS: usize = 11;
    const LEAF_FILL_MIN: usize = 5;
    let leaf = LEAF_SLOTS * (size_of::<String>() + size_of::<Value>()) + 16;
    match value {
        Value::String(text) => text.capacity(),
        Value::Array(items) => {
            items.capacity() * size_of::<Value>() + items.iter().map(heap_bytes).sum::<usize>()
        }
        Value::Object(members) => members
            .iter()
            .map(|(key, value)| leaf.div_ceil(LEAF_FILL_MIN) + key.capacity() + heap_bytes(value))
            .sum(),
        _ => 0,
    }
}

#[test]
fn counts_values_and_depth_past_strings_and_escapes() {
    let bounds = JsonBounds::default();
    let text = br#" {"a" : [1, -2.5e3, {"b":"x"}], "c":null, "d":true} "#;
    assert_eq!(
        check_json(text, &bounds).unwrap(),
        JsonShape {
            values: 8,
            depth: 3
        }
    );
    let text = br#"["a\"]", "\\", "[{", "\\\"{", "\u005b"]"#;
    assert_eq!(
        check_json(text, &bounds).unwrap(),
        JsonShape {
            values: 6,
            depth: 1
        }
    );
    assert_eq!(
        check_json(b"0", &bounds).unwrap(),
        JsonShape {
            values: 1,
            depth: 0
        }
    );
    assert_eq!(check_json(b"", &bounds).unwrap(), JsonShape::default());
}

#[test]
fn refuses_past_each_bound_and_names_it() {
    let bounds = JsonBounds {
        values_max: 4,
        depth_max: 2,
    };
    assert_eq!(check_json(b"[0,0,0]", &bounds).unwrap().values, 4);
    assert_eq!(
        check_json(b"[0,0,0,0]", &bounds).unwrap_err().to_string(),
        "malformed event: the JSON text holds more than json_values_max (4) values (at byte 7)"
    );
    assert_eq!(check_json(b"[[0]]", &bounds).unwrap().depth, 2);
    assert_eq!(
        check_json(b"[[{}]]", &bounds).unwrap_err().to_string(),
        "malformed event: the JSON text nests deeper than json_depth_max (2) (at byte 2)"
    );
}

#[test]
fn the_recordings_pass_the_default_bounds_and_count_as_decoded() {
    for recording in [BUTTONS, FORM] {
        let shape = check_json(recording.as_bytes(), &JsonBounds::default()).unwrap();
        let value: Value = serde_json::from_str(recording).unwrap();
        assert_eq!(shape, shape_of(&value));
        assert!(decoded_bytes(&value) <= shape.decoded_bytes_worst());
    }
}

#[test]
fn the_default_depth_is_what_serde_json_decodes() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let deepest = nested(SERDE_JSON_DEPTH_MAX);
    assert_eq!(
        check_json(deepest.as_bytes(), &JsonBounds::default())
            .unwrap()
            .depth,
        SERDE_JSON_DEPTH_MAX
    );
    assert!(serde_json::from_str::<Value>(&deepest).is_ok());
    let deeper = nested(SERDE_JSON_DEPTH_MAX + 1);
    assert!(check_json(deeper.as_bytes(), &JsonBounds::default()).is_err());
    assert!(serde_json::from_str::<Value>(&deeper).is_err());
}

/// The shapes that cost the most memory per value, each under a mebibyte long; one value more
/// than a power of two, so that each array holds twice the capacity it needs (its worst case).
fn costly_shapes() -> Vec<(&'static str, String)> {
    const N: usize = (1 << 18) + 1;
    let list = |item: &dyn Fn(usize) -> String| {
        format!("[{}]", (0..N).map(item).collect::<Vec<_>>().join(","))
    };
    vec![
        ("zeros", list(&|_| "0".to_owned())),
        ("empty arrays", list(&|_| "[]".to_owned())),
        ("empty strings", list(&|_| r#""""#.to_owned())),
        ("empty objects", list(&|_| "{}".to_owned())),
        (
            "members",
            format!(
                "{{{}}}",
                (0..N)
                    .map(|i| format!(r#""{i:x}":0"#))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
    ]
}

#[test]
fn a_value_costs_at_most_value_bytes_worst_once_decoded() {
    assert_eq!(size_of::<Value>(), 32);
    for (name, text) in costly_shapes() {
        let shape = check_json(text.as_bytes(), &JsonBounds::default()).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(shape, shape_of(&value), "{name}");
        let bytes = decoded_bytes(&value);
        let per_value = bytes as f64 / shape.values as f64;
        println!(
            "{name}: {} bytes of JSON, {} values, {bytes} bytes decoded, {per_value:.1} per value, {:.1} per JSON byte",
            text.len(),
            shape.values,
            bytes as f64 / text.len() as f64
        );
        assert!(per_value <= VALUE_BYTES_WORST as f64, "{name}: {per_value}");
    }
}

#[test]
fn an_eight_mebibyte_body_of_zeros_is_four_million_values() {
    let body = format!("[{}0]", "0,".repeat((8 << 20) / 2 - 1));
    assert_eq!(body.len(), (8 << 20) + 1);
    let shape = check_json(
        body.as_bytes(),
        &JsonBounds {
            values_max: usize::MAX,
            ..JsonBounds::default()
        },
    )
    .unwrap();
    assert_eq!(shape.values, (1 << 22) + 1);
    assert_eq!(
        shape.decoded_bytes_worst(),
        ((1 << 22) + 1) * VALUE_BYTES_WORST
    );
    assert!(check_json(body.as_bytes(), &JsonBounds::default()).is_err());
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e9..1e9f64).prop_map(|n| json!(n)),
        "[\\PC\"\\\\\\[\\]{},:]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[\\PC\"\\[{]{0,4}", inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    /// Whatever the text, compact or pretty, the scan counts what the decoder builds.
    #[test]
    fn the_scan_counts_what_serde_json_builds(value in any_json()) {
        let bounds = JsonBounds { values_max: usize::MAX, depth_max: usize::MAX };
        for text in [serde_json::to_string(&value).unwrap(), serde_json::to_string_pretty(&value).unwrap()] {
            prop_assert_eq!(check_json(text.as_bytes(), &bounds).unwrap(), shape_of(&value));
        }
    }
}
