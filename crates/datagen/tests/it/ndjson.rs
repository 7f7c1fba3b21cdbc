//! The NDJSON output: valid wire events, read back equal, counted exactly by the summary.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use heatlake_datagen::{Error, for_each_wire_event, write_ndjson_file};
use heatlake_model::event::date_days_of;
use heatlake_model::validate::validate;
use heatlake_model::{EventType, WireEvent, decode_line};

use crate::{config, ndjson};

#[test]
fn every_event_validates() {
    for seed in [1, 2, 3] {
        let (text, _) = ndjson(&config(4_000, seed));
        for (number, line) in text.lines().enumerate() {
            let wire = decode_line(line.as_bytes())
                .unwrap_or_else(|e| panic!("line {number}: {e}\n{line}"));
            validate(&wire).unwrap_or_else(|e| panic!("line {number}: {e}\n{line}"));
            assert_eq!(wire.v, Some(1));
        }
    }
}

#[test]
fn lines_decode_to_the_wire_events() {
    let config = config(6_000, 5);
    let (text, summary) = ndjson(&config);
    let mut lines = text.lines();
    let mut compared = 0u64;
    let wire_summary = for_each_wire_event(&config, |expected: WireEvent<'_>| {
        let line = lines.next().expect("as many lines as events");
        assert_eq!(decode_line(line.as_bytes()).unwrap(), expected, "{line}");
        compared += 1;
    })
    .unwrap();
    assert_eq!(compared, 6_000);
    assert_eq!(lines.next(), None);
    assert_eq!(wire_summary, summary);
}

#[test]
fn summary_matches_a_recount() {
    let (text, summary) = ndjson(&config(30_000, 9));
    let mut by_type = BTreeMap::<String, u64>::new();
    let (mut sites, mut visitors, mut sessions, mut days) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    let (mut ts_min, mut ts_max) = (i64::MAX, i64::MIN);
    for line in text.lines() {
        let event = decode_line(line.as_bytes()).unwrap();
        let site = event.site.clone().unwrap().into_owned();
        *by_type
            .entry(event.event_type.unwrap().into_owned())
            .or_default() += 1;
        visitors.insert((site.clone(), event.visitor_id.unwrap().into_owned()));
        sessions.insert((site.clone(), event.session_id.unwrap().into_owned()));
        sites.insert(site);
        let ts = event.ts.unwrap();
        days.insert(date_days_of(ts));
        (ts_min, ts_max) = (ts_min.min(ts), ts_max.max(ts));
    }
    assert_eq!(summary.events, 30_000);
    assert_eq!(summary.events_by_type, by_type);
    assert_eq!(summary.events_by_type.values().sum::<u64>(), 30_000);
    assert_eq!(summary.pageviews, by_type["pageview"]);
    assert_eq!(summary.sites, sites.len() as u64);
    assert_eq!(summary.visitors, visitors.len() as u64);
    assert_eq!(summary.sessions, sessions.len() as u64);
    assert_eq!(summary.days, days.len() as u64);
    assert_eq!(
        (summary.ts_min_ms, summary.ts_max_ms),
        (Some(ts_min), Some(ts_max))
    );
    assert_eq!(summary.sites, 5);
    assert_eq!(summary.days, 7);
}

#[test]
fn page_views_are_well_formed() {
    let config = config(40_000, 4);
    let (text, _) = ndjson(&config);
    let events: Vec<WireEvent<'_>> = text
        .lines()
        .map(|line| decode_line(line.as_bytes()).unwrap())
        .collect();
    let mut by_pageview: HashMap<&str, Vec<&WireEvent<'_>>> = HashMap::new();
    let mut order = Vec::new();
    for event in &events {
        let id = event.pageview_id.as_deref().unwrap();
        by_pageview.entry(id).or_insert_with(|| {
            order.push(id);
            Vec::new()
        });
        by_pageview.get_mut(id).unwrap().push(event);
    }
    let last = *order.last().unwrap();
    for id in &order {
        let page = &by_pageview[id];
        assert_eq!(
            page[0].event_type.as_deref(),
            Some("pageview"),
            "page view {id} starts with its pageview"
        );
        for (index, event) in page.iter().enumerate() {
            assert_eq!(
                event.seq,
                Some(index as i64),
                "seq numbers count from 0 in {id}"
            );
            assert_eq!(event.session_id, page[0].session_id);
            assert_eq!(event.visitor_id, page[0].visitor_id);
            assert_eq!(event.path, page[0].path);
            assert!(event.ts.unwrap() >= config.start_ms && event.ts.unwrap() < config.end_ms());
            if index > 0 {
                assert!(
                    event.ts > page[index - 1].ts,
                    "time stamps increase within {id}"
                );
            }
            if event.event_type.as_deref() == Some("leave") {
                assert_eq!(index, page.len() - 1, "leave is the last event of {id}");
            }
        }
        let complete = page.last().unwrap().event_type.as_deref() == Some("leave");
        assert!(
            complete || *id == last,
            "only the last page view may be cut short: {id}"
        );
        let first = page[0];
        assert!(
            first.url.is_some()
                && first.title.is_some()
                && first.ua.is_some()
                && first.doc_h.is_some()
        );
        let url = first.url.as_deref().unwrap();
        assert!(
            url.starts_with(&format!("https://{}", first.path.as_deref().unwrap())),
            "{url}"
        );
    }
    // The page views of a session follow one another in time.
    let mut session_end: HashMap<&str, i64> = HashMap::new();
    for id in &order {
        let page = &by_pageview[id];
        let session = page[0].session_id.as_deref().unwrap();
        if let Some(end) = session_end.get(session) {
            assert!(
                page[0].ts.unwrap() > *end,
                "page views of {session} do not overlap"
            );
        }
        session_end.insert(session, page.last().unwrap().ts.unwrap());
    }
}

#[test]
fn fields_follow_the_event_type() {
    let (text, _) = ndjson(&config(20_000, 12));
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        let event = decode_line(line.as_bytes()).unwrap();
        let event_type: EventType = event.event_type.as_deref().unwrap().parse().unwrap();
        seen.insert(event_type.as_str());
        assert!(
            event.viewport_w.is_some() && event.viewport_h.is_some() && event.path.is_some(),
            "{line}"
        );
        assert_eq!(
            event.value, None,
            "typed values are never generated: {line}"
        );
        assert_eq!(
            event.url.is_some(),
            event_type == EventType::Pageview,
            "{line}"
        );
        assert_eq!(
            event.ua.is_some(),
            event_type == EventType::Pageview,
            "{line}"
        );
        match event_type {
            EventType::Click => {
                assert!(
                    event.target.is_some()
                        && event.target_rx.is_some()
                        && event.target_ry.is_some(),
                    "{line}"
                );
                assert_eq!(event.button, Some(0), "{line}");
            }
            EventType::Move => assert!(
                event.target.is_none() && event.x.is_some() && event.y.is_some(),
                "{line}"
            ),
            EventType::Scroll => {
                assert!(event.scroll_y.is_some() && event.doc_h.is_some(), "{line}")
            }
            EventType::Input | EventType::Change => {
                assert!(event.field.is_some() && event.input_len.is_some(), "{line}");
            }
            EventType::Submit => assert!(
                event.target.as_deref().unwrap().starts_with("form"),
                "{line}"
            ),
            EventType::Visibility => assert!(event.duration_ms.unwrap() >= 2_000, "{line}"),
            EventType::Leave => {
                assert!(
                    event.scroll_y.is_some()
                        && event.doc_h.is_some()
                        && event.duration_ms.is_some(),
                    "{line}"
                );
            }
            EventType::Resize => assert!(event.doc_w.is_some() && event.doc_h.is_some(), "{line}"),
            EventType::Custom => assert_eq!(
                event.props.as_ref().unwrap()["name"],
                "add_to_cart",
                "{line}"
            ),
            EventType::Pageview => {
                assert!(event.doc_w.is_some() && event.title.is_some(), "{line}")
            }
            EventType::Beacon => panic!("beacons are not generated: {line}"),
        }
    }
    let expected = [
        "change",
        "click",
        "custom",
        "input",
        "leave",
        "move",
        "pageview",
        "resize",
        "scroll",
        "submit",
        "visibility",
    ];
    assert_eq!(seen, expected.into_iter().collect());
}

#[test]
fn files_are_gzipped_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(2_000, 6);
    let (expected, expected_summary) = ndjson(&config);

    let plain = dir.path().join("nested/events.ndjson");
    assert_eq!(
        write_ndjson_file(&config, &plain, |_| {}).unwrap(),
        expected_summary
    );
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), expected);

    let gzipped = dir.path().join("events.ndjson.gz");
    write_ndjson_file(&config, &gzipped, |_| {}).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&gzipped).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, expected);
    assert!(
        std::fs::metadata(&gzipped).unwrap().len() * 5 < expected.len() as u64,
        "gzip compresses"
    );

    let blocked = dir.path().join("events.ndjson.gz/inside.ndjson");
    let error = write_ndjson_file(&config, &blocked, |_| {}).unwrap_err();
    assert!(
        matches!(&error, Error::File { path, .. } if path == &blocked),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("while writing {}: ", blocked.display())),
        "{error}"
    );
}
