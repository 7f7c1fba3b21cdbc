//! Every part of a request is bounded before the work it causes: ids and JSON at decode, the
//! mapped events before mapping, and the node tree's work per click and per mutation.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::json_bounds::JsonBounds;
use crate::validate::ID_BYTES_MAX;

#[test]
fn decode_refuses_oversized_ids_before_they_are_copied_into_every_event() {
    use crate::validate::SITE_BYTES_MAX;
    let long_id = "i".repeat(ID_BYTES_MAX + 1);
    let long_site = "s".repeat(SITE_BYTES_MAX + 1);
    let cases = [
        (
            "visitor_id",
            format!(r#"{{"site":"a","visitor_id":"{long_id}","pageview_id":"p","events":[]}}"#),
            "must be at most 128 bytes long",
        ),
        (
            "session_id",
            format!(r#"{{"site":"a","session_id":"{long_id}","pageview_id":"p","events":[]}}"#),
            "must be at most 128 bytes long",
        ),
        (
            "site",
            format!(r#"{{"site":"{long_site}","pageview_id":"p","events":[]}}"#),
            "must be 1 to 64 bytes long",
        ),
        (
            "site",
            r#"{"site":"","pageview_id":"p","events":[]}"#.to_owned(),
            "must be 1 to 64 bytes long",
        ),
    ];
    for (field, body, rule) in cases {
        let error = RrwebBatch::decode(body.as_bytes()).unwrap_err();
        assert_eq!(error.field_name(), Some(field), "{error}");
        assert!(error.to_string().ends_with(rule), "{error}");
    }
    let id = "i".repeat(ID_BYTES_MAX);
    let site = "s".repeat(SITE_BYTES_MAX);
    let body = format!(
        r#"{{"site":"{site}","visitor_id":"{id}","session_id":"{id}","pageview_id":"{id}","events":[]}}"#
    );
    let batch = RrwebBatch::decode(body.as_bytes()).unwrap();
    assert_eq!(batch.visitor_id.as_deref(), Some(id.as_str()));
}

#[test]
fn decode_refuses_more_rrweb_events_than_the_callers_bound() {
    let bounds = DecodeBounds {
        events_max: 2,
        ..DecodeBounds::default()
    };
    let body = br#"{"site":"a","pageview_id":"p","events":[{},{},{}]}"#;
    let error = RrwebBatch::decode_within(body, &bounds).unwrap_err();
    assert_eq!(
        error.to_string(),
        "field `events`: value of 3 rrweb events holds more than 2"
    );
    let body = br#"{"site":"a","pageview_id":"p","events":[{},{}]}"#;
    assert_eq!(
        RrwebBatch::decode_within(body, &bounds)
            .unwrap()
            .events
            .len(),
        2
    );
}

#[test]
fn decode_refuses_json_value_bombs_before_decoding_them() {
    let bounds = DecodeBounds {
        json: JsonBounds {
            values_max: 100_000,
            depth_max: 16,
        },
        ..DecodeBounds::default()
    };
    // A megabyte of zeros, which gzip sends in a kilobyte.
    let zeros = vec!["0"; 500_000].join(",");
    let body = format!(
        r#"{{"site":"a","pageview_id":"p","events":[{{"type":5,"timestamp":1,"data":[{zeros}]}}]}}"#
    );
    let error = RrwebBatch::decode_within(body.as_bytes(), &bounds)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("more than json_values_max (100000) values"),
        "{error}"
    );
    let deep = format!("{}{}", "[".repeat(20), "]".repeat(20));
    let body = format!(
        r#"{{"site":"a","pageview_id":"p","events":[{{"type":5,"timestamp":1,"data":{deep}}}]}}"#
    );
    let error = RrwebBatch::decode_within(body.as_bytes(), &bounds)
        .unwrap_err()
        .to_string();
    assert!(error.contains("deeper than json_depth_max (16)"), "{error}");
}

/// A page whose elements nest `depth` deep below `<body>`, the innermost one clicked.
fn deep_page(depth: u32) -> Vec<Value> {
    let mut node = element(1000 + depth, "a", json!({"href": "/deep"}), vec![]);
    for level in (0..depth).rev() {
        node = element(1000 + level, "div", json!({}), vec![node]);
    }
    vec![snapshot(vec![node]), click_on(1000 + depth, 5.0, 5.0)]
}

#[test]
fn the_recordings_and_deep_pages_pass_the_default_bounds() {
    for recording in [BUTTONS, FORM] {
        let body = format!(r#"{{"site":"a","pageview_id":"p","events":{recording}}}"#);
        let batch = RrwebBatch::decode(body.as_bytes()).unwrap();
        assert!(!batch.events.is_empty());
    }
    // 57 divs below <body>, 60 elements in all: their attributes and children reach
    // 6 + 2 * 60 = 126 levels of JSON; serde_json decodes at most 127.
    let events = deep_page(57);
    let body =
        serde_json::to_string(&json!({"site": "a", "pageview_id": "p", "events": events})).unwrap();
    let batch = RrwebBatch::decode(body.as_bytes()).unwrap();
    let out = RrwebMapper::new(RrwebLimits::default())
        .map(&batch, 5000)
        .unwrap();
    assert_eq!(of_type(&out, "click")[0].link.as_deref(), Some("/deep"));
    let too_deep =
        serde_json::to_string(&json!({"site": "a", "pageview_id": "p", "events": deep_page(58)}))
            .unwrap();
    let error = RrwebBatch::decode(too_deep.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("deeper than json_depth_max (127)"),
        "{error}"
    );
}

/// A MouseMove event with `count` positions 50 ms apart.
fn mouse_moves(ts: i64, count: i64) -> Value {
    let positions: Vec<Value> = (0..count)
        .map(|i| json!({"x": 10 + i, "y": 20, "id": 4, "timeOffset": i * 50}))
        .collect();
    incremental(ts, json!({"source": 1, "positions": positions}))
}

#[test]
fn mapping_refuses_a_batch_past_the_callers_event_bound_before_changing_anything() {
    let meta = json!({"type": 4, "timestamp": 1764400000000_i64,
        "data": {"href": "https://a.example/", "width": 1280, "height": 800}});
    // A pageview and three MouseMove events of 32 positions each: 97 events.
    let events = vec![
        meta,
        mouse_moves(1764400001000, 32),
        mouse_moves(1764400003000, 32),
        mouse_moves(1764400005000, 32),
    ];
    let mut mapper = RrwebMapper::new(RrwebLimits::default());
    let error = mapper.map(&batch(&events, 0), 96).unwrap_err();
    assert_eq!(error.field_name(), Some("events"), "{error}");
    assert!(
        error
            .to_string()
            .contains("more than events_per_request_max (96)"),
        "{error}"
    );
    // Nothing was kept of the refused batch: mapped again within a larger bound, it gives all.
    assert_eq!((mapper.pages(), mapper.nodes()), (0, 0));
    let out = mapper.map(&batch(&events, 0), 97).unwrap();
    assert_eq!(out.len(), 97);
    assert_eq!(of_type(&out, "pageview").len(), 1);
    assert_eq!(of_type(&out, "move").len(), 96);
}

#[test]
fn mapping_a_huge_batch_stops_at_the_bound() {
    // 100,000 MouseMove events of 32 positions could map to 3.2 million moves.
    let moves = mouse_moves(1764400001000, 32);
    let events = vec![moves; EVENTS_PER_BATCH_MAX];
    let mut mapper = RrwebMapper::new(RrwebLimits::default());
    let error = mapper.map(&batch(&events, 0), 5000).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("field `events`: value of 100000 rrweb events may map to more than events_per_request_max (5000)"),
        "{error}"
    );
}

#[test]
fn removing_unknown_nodes_makes_no_room_past_the_node_limits() {
    let limits = RrwebLimits {
        pages_max: 10,
        nodes_per_page_max: 8,
        nodes_total_max: 20,
    };
    // The snapshot holds 4 nodes; each mutation adds one and "removes" one that never existed.
    let mut events = vec![snapshot(vec![])];
    for round in 0..50_u32 {
        events.push(incremental(
            1764400001000,
            json!({"source": 0,
                "removes": [{"parentId": 4, "id": 90_000 + round}],
                "adds": [{"parentId": 4, "nextId": null, "node": element(100 + round, "p", json!({}), vec![])}],
                "texts": [], "attributes": []}),
        ));
    }
    let mut mapper = RrwebMapper::new(limits);
    mapper.map(&batch(&events, 0), usize::MAX).unwrap();
    assert_eq!(mapper.nodes(), 8);
    let page = mapper.pages.values().next().unwrap();
    let kept = (100..150)
        .filter(|&id| page.tree.selector(id, SELECTOR_BYTES_MAX).is_some())
        .count();
    assert_eq!(kept, 4);
}

/// A list of `children` items under `ul#list`.
fn huge_list(children: u32) -> NodeTree {
    let items: Vec<Value> = (0..children)
        .map(|i| element(100 + i, "li", json!({}), vec![]))
        .collect();
    let page = snapshot(vec![element(50, "ul", json!({"id": "list"}), items)]);
    let mut tree = NodeTree::new(1_000_000);
    tree.load_snapshot(&page["data"]["node"]);
    tree
}

#[test]
fn a_click_in_a_huge_sibling_list_costs_bounded_work() {
    const CHILDREN: u32 = 20_000;
    let tree = huge_list(CHILDREN);
    let last = 100 + CHILDREN - 1;
    let before = tree.sibling_steps.get();
    for _ in 0..100 {
        tree.selector(last, SELECTOR_BYTES_MAX);
    }
    let per_click = (tree.sibling_steps.get() - before) / 100;
    assert!(
        per_click <= (SELECTOR_DEPTH_MAX * SIBLINGS_SCANNED_MAX) as u64,
        "{per_click} sibling steps per click"
    );
    // Placed exactly among the first siblings; past them, the click goes to the list.
    assert_eq!(
        tree.selector(102, SELECTOR_BYTES_MAX).as_deref(),
        Some("ul#list > li:nth-of-type(3)")
    );
    let placed = 100 + SIBLINGS_SCANNED_MAX as u32 - 1;
    assert_eq!(
        tree.selector(placed, SELECTOR_BYTES_MAX),
        Some(format!("ul#list > li:nth-of-type({SIBLINGS_SCANNED_MAX})"))
    );
    assert_eq!(
        tree.selector(last, SELECTOR_BYTES_MAX).as_deref(),
        Some("ul#list")
    );
}

#[test]
fn mutations_of_a_huge_sibling_list_cost_bounded_work() {
    const CHILDREN: u32 = 20_000;
    let mut tree = huge_list(CHILDREN);
    let before = tree.sibling_steps.get();
    for i in 0..1000 {
        tree.apply_mutation(&json!({
            "removes": [{"parentId": 50, "id": 100 + CHILDREN - 1 - i}],
            "adds": [{"parentId": 50, "nextId": 100, "node": element(500_000 + i, "li", json!({}), vec![])}],
        }));
    }
    let per_mutation = (tree.sibling_steps.get() - before) / 1000;
    assert!(
        per_mutation <= 8,
        "{per_mutation} sibling steps per mutation"
    );
    assert_eq!(tree.nodes(), 5 + CHILDREN as usize);
    // Each item went in before item 100, after the items added before it.
    assert_eq!(
        tree.selector(500_000, SELECTOR_BYTES_MAX).as_deref(),
        Some("ul#list > li:nth-of-type(1)")
    );
    assert_eq!(
        tree.selector(500_001, SELECTOR_BYTES_MAX).as_deref(),
        Some("ul#list > li:nth-of-type(2)")
    );
    // Item 100 is now the 1001st: past the siblings scanned, so the click goes to the list.
    assert_eq!(
        tree.selector(100, SELECTOR_BYTES_MAX).as_deref(),
        Some("ul#list")
    );
}

/// One add or remove of a Mutation, over a few ids so that they collide.
fn tree_operation() -> impl Strategy<Value = Value> {
    let id = 0u32..12;
    prop_oneof![
        (
            id.clone(),
            id.clone(),
            proptest::option::of(id.clone()),
            id.clone(),
            any::<bool>()
        )
            .prop_map(|(node, parent, next, child, tagged)| {
                let tag = if tagged { "li" } else { "p" };
                let children = vec![element(child, tag, json!({}), vec![])];
                json!({"adds": [{"parentId": parent, "nextId": next,
                    "node": element(node, tag, json!({}), children)}]})
            }),
        (id.clone(), id)
            .prop_map(|(node, parent)| json!({"removes": [{"parentId": parent, "id": node}]})),
    ]
}

proptest! {
    /// Whatever adds and removes arrive, with ids repeated, unknown parents and wrong `nextId`s,
    /// the tree's links stay consistent, the node bound holds and every selector ends.
    #[test]
    fn the_node_tree_stays_consistent_under_any_mutations(
        operations in proptest::collection::vec(tree_operation(), 1..40),
        nodes_max in 1usize..16,
    ) {
        let mut tree = NodeTree::new(nodes_max);
        let page = snapshot(vec![element(5, "ul", json!({}), vec![])]);
        tree.load_snapshot(&page["data"]["node"]);
        for operation in &operations {
            tree.apply_mutation(operation);
            tree.check_links();
            for id in 0..12 {
                tree.selector(id, SELECTOR_BYTES_MAX);
            }
        }
    }
}
