use proptest::prelude::*;
use serde_json::{Value, json};

use super::tree::SELECTOR_BYTES_MAX;
use super::*;

/// rrweb 2.2.2 recordings from Chromium (tests/browser/capture-rrweb.mjs), with what the browser
/// saw while recording.
const BUTTONS: &str = include_str!("../../../../datasets/rrweb/buttons.json");
const BUTTONS_EXPECTED: &str = include_str!("../../../../datasets/rrweb/buttons.expected.json");
const FORM: &str = include_str!("../../../../datasets/rrweb/form.json");
const FORM_EXPECTED: &str = include_str!("../../../../datasets/rrweb/form.expected.json");

fn batch(events: &[Value], offset: u32) -> RrwebBatch {
    RrwebBatch {
        site: "fixture".to_owned(),
        visitor_id: Some("v-1".to_owned()),
        session_id: Some("s-1".to_owned()),
        pageview_id: "pv-1".to_owned(),
        offset,
        events: events.to_vec(),
    }
}

/// Maps a recording in batches of `size` events, as a recorder flushing every so often would.
fn map_in_batches(recording: &str, size: usize) -> Vec<WireEvent<'static>> {
    let events: Vec<Value> = serde_json::from_str(recording).unwrap();
    let mut mapper = RrwebMapper::new(RrwebLimits::default());
    let mut out = Vec::new();
    for (index, chunk) in events.chunks(size).enumerate() {
        out.extend(
            mapper
                .map(&batch(chunk, (index * size) as u32), usize::MAX)
                .unwrap(),
        );
    }
    out
}

fn of_type<'a>(events: &'a [WireEvent<'static>], name: &str) -> Vec<&'a WireEvent<'static>> {
    events
        .iter()
        .filter(|e| e.event_type.as_deref() == Some(name))
        .collect()
}

#[test]
fn clicks_land_on_the_page_coordinates_and_targets_the_browser_saw() {
    let expected: Value = serde_json::from_str(BUTTONS_EXPECTED).unwrap();
    // Mouse clicks only: the keyboard activation (button null) has no position in rrweb.
    let expected: Vec<&Value> = expected["clicks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["button"].is_null())
        .collect();
    for size in [1, 7, 1000] {
        let events = map_in_batches(BUTTONS, size);
        let clicks = of_type(&events, "click");
        assert_eq!(clicks.len(), expected.len(), "batches of {size}");
        for (click, want) in clicks.iter().zip(&expected) {
            assert_eq!(click.target.as_deref(), want["target"].as_str());
            assert!((click.x.unwrap() - want["x"].as_f64().unwrap()).abs() <= 2.0);
            // The fixed header is fixed by a stylesheet, which the snapshot does not evaluate:
            // its click is page-relative, not viewport-relative as the tracker reports it.
            assert!((click.y.unwrap() - want["page_y"].as_f64().unwrap()).abs() <= 2.0);
            assert_eq!(click.target_fixed, None);
            assert_eq!(click.button, Some(0));
            assert_eq!(click.viewport_w, Some(1280.0));
            assert_eq!(
                click.path.as_deref(),
                Some("fixture.heatlake.test/pages/buttons.html")
            );
        }
    }
}

#[test]
fn scroll_depth_comes_from_the_document_size_custom_event() {
    let expected: Value = serde_json::from_str(BUTTONS_EXPECTED).unwrap();
    let events = map_in_batches(BUTTONS, 5);
    let depth = of_type(&events, "scroll")
        .iter()
        .map(|e| (e.scroll_y.unwrap() + e.viewport_h.unwrap()) / e.doc_h.unwrap())
        .fold(0.0, f64::max);
    assert_eq!(depth, expected["depth"].as_f64().unwrap());
    assert_eq!(depth, 0.75);
    let scrolls: Vec<f64> = of_type(&events, "scroll")
        .iter()
        .map(|e| e.scroll_y.unwrap())
        .collect();
    assert_eq!(scrolls, [1000.0, 2200.0, 0.0]);
}

#[test]
fn one_pageview_per_page_with_url_and_viewport() {
    let events = map_in_batches(BUTTONS, 3);
    let pageviews = of_type(&events, "pageview");
    assert_eq!(pageviews.len(), 1);
    let pageview = pageviews[0];
    assert_eq!(
        pageview.url.as_deref(),
        Some("http://fixture.heatlake.test/pages/buttons.html")
    );
    assert_eq!(
        (pageview.viewport_w, pageview.viewport_h),
        (Some(1280.0), Some(800.0))
    );
    assert_eq!(pageview.seq, Some(0));
    // Every event validates and carries the sender's ids; seqs are unique and ordered.
    let mut previous = -1;
    for event in &events {
        crate::validate::validate(event).unwrap();
        assert_eq!(event.pageview_id.as_deref(), Some("pv-1"));
        assert_eq!(event.session_id.as_deref(), Some("s-1"));
        let seq = event.seq.unwrap();
        assert!(seq > previous, "{seq} after {previous}");
        previous = seq;
    }
}

#[test]
fn moves_are_page_relative_and_at_most_twenty_per_second() {
    let events = map_in_batches(BUTTONS, 4);
    let moves = of_type(&events, "move");
    assert!(moves.len() >= 5, "{}", moves.len());
    for pair in moves.windows(2) {
        assert!(pair[1].ts.unwrap() - pair[0].ts.unwrap() >= MOVE_INTERVAL_MS);
    }
    // The last move sits on the late button, recorded at client y 425 under a 2200 px scroll.
    let on_late = moves.iter().find(|m| m.x == Some(360.0)).unwrap();
    assert_eq!(on_late.y, Some(2625.0));
}

#[test]
fn typed_text_leaves_only_lengths() {
    let typed: Value = serde_json::from_str(FORM_EXPECTED).unwrap();
    let events = map_in_batches(FORM, 1000);
    let serialized = serde_json::to_string(&events).unwrap();
    for text in typed["typed"].as_object().unwrap().values() {
        let text = text.as_str().unwrap();
        assert!(!serialized.contains(text), "{text} survived");
        // Nor a recognisable piece of it (the snapshot had none: the fields were empty).
        for word in text.split([' ', '@', '.']).filter(|w| w.len() >= 4) {
            assert!(!serialized.contains(word), "{word} of {text} survived");
        }
    }
    assert!(events.iter().all(|e| e.value.is_none() && e.text.is_none()));
    let inputs: Vec<(Option<&str>, &str, Option<i64>)> = events
        .iter()
        .filter(|e| matches!(e.event_type.as_deref(), Some("input" | "change")))
        .map(|e| {
            (
                e.event_type.as_deref(),
                e.field.as_deref().unwrap(),
                e.input_len,
            )
        })
        .collect();
    assert_eq!(
        inputs,
        [
            (Some("input"), "input#name", Some(11)),
            (Some("change"), "input#email", None),
            (Some("change"), "input#card", None),
            (Some("input"), "textarea#comment", Some(21)),
        ]
    );
}

#[test]
fn typing_across_batches_reports_each_batch_last_length_and_one_sensitive_change() {
    let events = map_in_batches(FORM, 10);
    let name_lengths: Vec<i64> = events
        .iter()
        .filter(|e| e.field.as_deref() == Some("input#name"))
        .map(|e| e.input_len.unwrap())
        .collect();
    assert!(name_lengths.len() > 1);
    assert_eq!(name_lengths.last(), Some(&11));
    assert!(name_lengths.windows(2).all(|w| w[0] < w[1]));
    let email_changes = events
        .iter()
        .filter(|e| e.field.as_deref() == Some("input#email"))
        .count();
    assert_eq!(email_changes, 1);
}

fn element(id: u32, tag: &str, attributes: Value, children: Vec<Value>) -> Value {
    json!({"type": 2, "tagName": tag, "attributes": attributes, "childNodes": children, "id": id})
}

fn snapshot(body_children: Vec<Value>) -> Value {
    let body = element(4, "body", json!({}), body_children);
    let html = element(
        2,
        "html",
        json!({}),
        vec![element(3, "head", json!({}), vec![]), body],
    );
    json!({"type": 2, "timestamp": 1764400000000_i64, "data": {
        "node": {"type": 0, "childNodes": [html], "id": 1},
        "initialOffset": {"left": 0, "top": 0}}})
}

fn incremental(ts: i64, data: Value) -> Value {
    json!({"type": 3, "timestamp": ts, "data": data})
}

fn click_on(id: u32, x: f64, y: f64) -> Value {
    incremental(
        1764400001000,
        json!({"source": 2, "type": 2, "id": id, "x": x, "y": y}),
    )
}

#[test]
fn mutations_keep_selectors_current() {
    let list = element(
        10,
        "ul",
        json!({"class": "items"}),
        vec![
            element(11, "li", json!({}), vec![]),
            element(12, "li", json!({"class": "  x y z"}), vec![]),
        ],
    );
    let mut mapper = RrwebMapper::new(RrwebLimits::default());
    let events = vec![
        snapshot(vec![list]),
        click_on(12, 5.0, 5.0),
        // A new first item, an attribute change, then the old first item goes.
        incremental(
            1764400002000,
            json!({"source": 0, "texts": [], "removes": [],
                "adds": [{"parentId": 10, "nextId": 11, "node": {"type": 2, "tagName": "li",
                    "attributes": {"id": "new"}, "childNodes": [], "id": 13}}],
                "attributes": [{"id": 12, "attributes": {"class": "done"}}]}),
        ),
        click_on(12, 5.0, 5.0),
        incremental(
            1764400003000,
            json!({"source": 0, "texts": [], "adds": [], "attributes": [],
                "removes": [{"parentId": 10, "id": 11}]}),
        ),
        click_on(12, 5.0, 5.0),
        click_on(11, 5.0, 5.0),
    ];
    let out = mapper.map(&batch(&events, 0), usize::MAX).unwrap();
    let targets: Vec<Option<&str>> = out.iter().map(|e| e.target.as_deref()).collect();
    assert_eq!(
        targets,
        [
            Some("ul.items > li.x.y:nth-of-type(2)"),
            Some("ul.items > li.done:nth-of-type(3)"),
            Some("ul.items > li.done:nth-of-type(2)"),
            // A removed node has no selector any more; the click still counts.
            None,
        ]
    );
}

#[test]
fn inline_fixed_targets_keep_viewport_y_and_links_resolve() {
    let header = element(
        10,
        "div",
        json!({"style": "position: fixed; top: 0"}),
        vec![element(
            11,
            "a",
            json!({"href": "https://shop.example/cart"}),
            vec![element(12, "span", json!({}), vec![])],
        )],
    );
    let mut mapper = RrwebMapper::new(RrwebLimits::default());
    let events = vec![
        snapshot(vec![header]),
        incremental(
            1764400000500,
            json!({"source": 3, "id": 1, "x": 0, "y": 900}),
        ),
        click_on(12, 40.0, 20.0),
    ];
    let out = mapper.map(&batch(&events, 0), usize::MAX).unwrap();
    let click = out.last().unwrap();
    assert_eq!((click.x, click.y), (Some(40.0), Some(20.0)));
    assert_eq!(click.target_fixed, Some(true));
    assert_eq!(click.target.as_deref(), Some("div > a > span"));
    assert_eq!(click.link.as_deref(), Some("https://shop.example/cart"));
}

#[test]
fn keyboard_activations_and_element_scrolls_are_left_out() {
    let mut mapper = RrwebMapper::new(RrwebLimits::default());
    let events = vec![
        snapshot(vec![element(10, "button", json!({}), vec![])]),
        click_on(10, 0.0, 0.0),
        incremental(
            1764400000500,
            json!({"source": 3, "id": 10, "x": 0, "y": 300}),
        ),
    ];
    assert_eq!(mapper.map(&batch(&events, 0), usize::MAX).unwrap(), vec![]);
}

#[test]
fn refuses_batches_it_cannot_read_and_names_the_event() {
    let error = RrwebBatch::decode(br#"{"site":"a","pageview_id":"p","events":[],"extra":1}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown field `extra`"), "{error}");
    let error = RrwebBatch::decode(br#"{"site":"a","pageview_id":"","events":[]}"#)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "field `pageview_id`: value \"\" must be 1 to 128 bytes long"
    );
    let error =
        RrwebBatch::decode(br#"{"site":"a","pageview_id":"p","offset":67108863,"events":[{},{}]}"#)
            .unwrap_err()
            .to_string();
    assert!(
        error.starts_with("field `offset`: value 67108863 leaves no room"),
        "{error}"
    );
    let body = br#"{"site":"a","pageview_id":"p","events":[{"type":4,"timestamp":1764400000000},{"type":3}]}"#;
    let batch = RrwebBatch::decode(body).unwrap();
    let error = RrwebMapper::new(RrwebLimits::default())
        .map(&batch, usize::MAX)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "malformed event: rrweb batch: field `events[1]`: `timestamp` must be milliseconds"
    );
}

#[test]
fn memory_stays_within_the_limits() {
    let limits = RrwebLimits {
        pages_max: 3,
        nodes_per_page_max: 8,
        nodes_total_max: 20,
    };
    let mut mapper = RrwebMapper::new(limits);
    let many: Vec<Value> = (0..20)
        .map(|i| element(100 + i, "p", json!({}), vec![]))
        .collect();
    let events = vec![snapshot(many)];
    for page in 0..10 {
        let mut page_batch = batch(&events, 0);
        page_batch.pageview_id = format!("pv-{page}");
        mapper.map(&page_batch, usize::MAX).unwrap();
        assert!(mapper.pages() <= 3);
        assert!(mapper.nodes() <= 20, "{}", mapper.nodes());
    }
    assert_eq!(mapper.pages(), 2);
    assert_eq!(mapper.nodes(), 16);
}

fn sensitive_attributes() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"type": "text", "name": "comment"})),
        Just(json!({"type": "email"})),
        Just(json!({"type": "password"})),
        Just(json!({"autocomplete": "cc-number"})),
        Just(json!({"type": "checkbox"})),
        Just(json!({})),
    ]
}

proptest! {
    /// Whatever is typed, into whatever field, in whatever batches: no typed text survives the
    /// mapping, only a field and perhaps a length.
    #[test]
    fn no_input_value_survives(
        attributes in sensitive_attributes(),
        texts in proptest::collection::vec("[a-z0-9 @.+-]{0,30}", 1..12),
        size in 1usize..6,
    ) {
        let secret_texts: Vec<String> = texts.iter().map(|t| format!("Zq{t}")).collect();
        let mut events = vec![snapshot(vec![element(10, "input", attributes, vec![])])];
        for (i, text) in secret_texts.iter().enumerate() {
            events.push(incremental(
                1764400001000 + i as i64,
                json!({"source": 5, "text": text, "isChecked": false, "id": 10}),
            ));
        }
        let mut mapper = RrwebMapper::new(RrwebLimits::default());
        let mut out = Vec::new();
        for (index, chunk) in events.chunks(size).enumerate() {
            out.extend(mapper.map(&batch(chunk, (index * size) as u32), usize::MAX).unwrap());
        }
        let serialized = serde_json::to_string(&out).unwrap();
        prop_assert!(!serialized.contains("Zq"), "{}", serialized);
        for event in &out {
            prop_assert!(event.value.is_none() && event.text.is_none());
            prop_assert_eq!(event.field.as_deref(), Some("input"));
        }
    }
}

/// Every outside input is bounded before work (issue 11).
mod bounds;
