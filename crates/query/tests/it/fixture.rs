//! A hand-built site whose every answer is worked out by hand in `docs/analytics.md`'s terms.
//!
//! Site `fx.example`, pages `fx.example/p`, `fx.example/q`, `fx.example/cart`:
//! - Session S1 (visitor V1): PV1 on p at 2026-11-01 23:59:00 (desktop 1000×800, doc 2000,
//!   Chrome/Windows, from www.google.com), three clicks of `a.cta` 5 s apart at (0,0), (16,16),
//!   (15,15) (bin edges), a scroll to 400 and a leave at 600: depth 70 %. Then PV2 on q at
//!   00:00:30 the next day (the session spans midnight), doc 600 < viewport 800: depth 100 %.
//! - Session S2 (visitor V2): PV3 on p at 2026-11-01 12:00:00 (mobile 400×700, no document
//!   height, no user agent, no referrer): clicks at +1.0 s (100,100) `button.buy`, +1.5 s
//!   (110,110) `button.buy`, +2.5 s (125,125) `div.x` (gap exactly 1 s, distance exactly 30: a
//!   rage run of 3 on `button.buy`), +3.6 s (130,130) `button.buy` (gap 1.1 s: a new run), a dead
//!   click on `img.hero` at (300,900), a click on the fixed `header > a` at (50,20). Then PV4 on
//!   cart.
//! - Session S3 (visitor V3): PV5 on p at 2026-11-02 10:00:00 (desktop 1400×900, doc 3000,
//!   Firefox/Linux, from news.example): moves at (10,10) and (20,30); clicks at +0 ms (500,1500)
//!   `a.cta`, +200 ms (520,1515) `div.card` (distance 35: no run), +400 ms (530,1520) `div.card`,
//!   +600 ms (530,1540) `a.cta` (a rage run of 3 on `div.card`); a leave at 2500: depth 100 %.
//!   Then PV6 on q at +30 s (viewport 900, doc 1800: 50 %), PV7 on cart at +60 s and a submit at
//!   +70 s.
//! - Site `one.example`: a single page view (viewport 500, doc 1000).

use std::io::Write;
use std::sync::Arc;

use heatlake_ingest::{ImportOptions, import};
use heatlake_model::privacy::ids::IdSecret;
use heatlake_table::TableLocation;
use serde_json::{Value, json};

/// The site of the fixture.
pub const SITE: &str = "fx.example";
/// The main page.
pub const P: &str = "fx.example/p";
/// 2026-11-01 23:59:00 UTC.
const T0: i64 = 1_793_577_540_000;
/// 2026-11-01 12:00:00 UTC.
const T1: i64 = 1_793_534_400_000;
/// 2026-11-02 10:00:00 UTC.
const T2: i64 = 1_793_613_600_000;

const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

struct PageView {
    visitor: &'static str,
    session: &'static str,
    id: &'static str,
    path: &'static str,
    viewport_w: i64,
    seq: i64,
}

impl PageView {
    fn event(&mut self, kind: &str, ts: i64, fields: Value) -> Value {
        let mut event = json!({
            "v": 1, "site": SITE, "type": kind, "ts": ts,
            "visitor_id": self.visitor, "session_id": self.session, "pageview_id": self.id,
            "seq": self.seq, "path": self.path, "viewport_w": self.viewport_w,
        });
        self.seq += 1;
        for (name, value) in fields.as_object().expect("fields are an object") {
            event[name] = value.clone();
        }
        event
    }

    fn click(&mut self, ts: i64, x: i64, y: i64, target: &str, extra: Value) -> Value {
        let mut fields = json!({"x": x, "y": y, "target": target});
        for (name, value) in extra.as_object().expect("extra is an object") {
            fields[name] = value.clone();
        }
        self.event("click", ts, fields)
    }
}

fn page_view(
    visitor: &'static str,
    session: &'static str,
    id: &'static str,
    path: &'static str,
    viewport_w: i64,
) -> PageView {
    PageView {
        visitor,
        session,
        id,
        path,
        viewport_w,
        seq: 0,
    }
}

/// Every event of the fixture.
pub fn events() -> Vec<Value> {
    let mut events = Vec::new();
    let mut pv1 = page_view("v1", "s1", "pv1", P, 1000);
    events.push(pv1.event("pageview", T0, json!({"viewport_h": 800, "doc_h": 2000, "ua": CHROME_WINDOWS, "referrer": "https://www.google.com/search"})));
    events.push(pv1.click(
        T0 + 1000,
        0,
        0,
        "a.cta",
        json!({"target_rx": 0.0, "target_ry": 0.0}),
    ));
    events.push(pv1.click(
        T0 + 6000,
        16,
        16,
        "a.cta",
        json!({"target_rx": 1.0, "target_ry": 1.0}),
    ));
    events.push(pv1.click(
        T0 + 11000,
        15,
        15,
        "a.cta",
        json!({"target_rx": 0.5, "target_ry": 0.5}),
    ));
    events.push(pv1.event(
        "scroll",
        T0 + 20000,
        json!({"scroll_y": 400, "viewport_h": 800, "doc_h": 2000}),
    ));
    events.push(pv1.event(
        "leave",
        T0 + 25000,
        json!({"scroll_y": 600, "viewport_h": 800, "doc_h": 2000}),
    ));
    let mut pv2 = page_view("v1", "s1", "pv2", "fx.example/q", 1000);
    events.push(pv2.event(
        "pageview",
        T0 + 90_000,
        json!({"viewport_h": 800, "doc_h": 600, "ua": CHROME_WINDOWS}),
    ));

    let mut pv3 = page_view("v2", "s2", "pv3", P, 400);
    events.push(pv3.event("pageview", T1, json!({"viewport_h": 700})));
    events.push(pv3.click(T1 + 1000, 100, 100, "button.buy", json!({})));
    events.push(pv3.click(T1 + 1500, 110, 110, "button.buy", json!({})));
    events.push(pv3.click(T1 + 2500, 125, 125, "div.x", json!({})));
    events.push(pv3.click(T1 + 3600, 130, 130, "button.buy", json!({})));
    events.push(pv3.click(T1 + 8000, 300, 900, "img.hero", json!({"dead": true})));
    events.push(pv3.click(
        T1 + 10000,
        50,
        20,
        "header > a",
        json!({"target_fixed": true}),
    ));
    let mut pv4 = page_view("v2", "s2", "pv4", "fx.example/cart", 400);
    events.push(pv4.event(
        "pageview",
        T1 + 60_000,
        json!({"viewport_h": 700, "doc_h": 700}),
    ));

    let mut pv5 = page_view("v3", "s3", "pv5", P, 1400);
    events.push(pv5.event("pageview", T2, json!({"viewport_h": 900, "doc_h": 3000, "ua": FIREFOX_LINUX, "referrer": "https://news.example/x"})));
    events.push(pv5.event("move", T2 + 100, json!({"x": 10, "y": 10})));
    events.push(pv5.event("move", T2 + 150, json!({"x": 20, "y": 30})));
    events.push(pv5.click(T2 + 1000, 500, 1500, "a.cta", json!({})));
    events.push(pv5.click(T2 + 1200, 520, 1515, "div.card", json!({})));
    events.push(pv5.click(T2 + 1400, 530, 1520, "div.card", json!({})));
    events.push(pv5.click(T2 + 1600, 530, 1540, "a.cta", json!({})));
    events.push(pv5.event(
        "leave",
        T2 + 20000,
        json!({"scroll_y": 2500, "viewport_h": 900, "doc_h": 3000}),
    ));
    let mut pv6 = page_view("v3", "s3", "pv6", "fx.example/q", 1400);
    events.push(pv6.event(
        "pageview",
        T2 + 30_000,
        json!({"viewport_h": 900, "doc_h": 1800, "ua": FIREFOX_LINUX}),
    ));
    let mut pv7 = page_view("v3", "s3", "pv7", "fx.example/cart", 1400);
    events.push(pv7.event(
        "pageview",
        T2 + 60_000,
        json!({"viewport_h": 900, "doc_h": 900, "ua": FIREFOX_LINUX}),
    ));
    events.push(pv7.event("submit", T2 + 70_000, json!({"target": "form#checkout"})));

    events.push(json!({
        "v": 1, "site": "one.example", "type": "pageview", "ts": T1, "visitor_id": "w1",
        "session_id": "t1", "pageview_id": "qv1", "seq": 0, "path": "one.example/",
        "viewport_w": 1200, "viewport_h": 500, "doc_h": 1000,
    }));
    events
}

/// Imports `events` into the table at `directory/events` (created, or appended to).
pub async fn import_events(
    directory: &std::path::Path,
    name: &str,
    events: &[Value],
) -> TableLocation {
    let input = directory.join(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    for event in events {
        writeln!(file, "{event}").unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let location = TableLocation::parse(directory.join("events").to_str().unwrap()).unwrap();
    let mut options = ImportOptions::new(IdSecret::generate_from([7; 32]));
    options.received_at_ms = Some(1_793_700_000_000);
    let report = import(&location, &[input], &options, Arc::default())
        .await
        .unwrap();
    assert_eq!(report.events as usize, events.len());
    location
}

/// The fixture imported as version 0 of a table in `directory`.
pub async fn fixture(directory: &std::path::Path) -> TableLocation {
    import_events(directory, "fixture.ndjson", &events()).await
}

/// The rows of `batches`, each cell displayed and joined by `|` (NULL as an empty cell).
pub fn rows(batches: &[arrow::array::RecordBatch]) -> Vec<String> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|formatter| formatter.value(row).to_string())
                .collect();
            rows.push(cells.join("|"));
        }
    }
    rows
}
