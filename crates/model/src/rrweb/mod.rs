//! rrweb recordings as Heatlake events.
//!
//! A page recorded with an unmodified [rrweb](https://github.com/rrweb-io/rrweb) recorder posts its
//! event batches to the collector's `POST /v1/rrweb` inside an [`RrwebBatch`] (`docs/rrweb.md`).
//! [`RrwebMapper::map`] turns a batch into wire events, which then take the same path as native
//! ones (validation, privacy, the WAL):
//!
//! | rrweb | Heatlake |
//! | --- | --- |
//! | Meta (4), first of a page view | `pageview` (url, viewport) |
//! | FullSnapshot (2) | the page's node tree and initial scroll; a `scroll` when it starts scrolled |
//! | Custom (5) `heatlake.document` `{width, height}` | the document size carried by later events |
//! | MouseInteraction (3/2) Click | `click`: page x/y (client + scroll), selector, link |
//! | MouseMove (3/1), TouchMove (3/6) | `move`, page x/y, at most one per 50 ms |
//! | Scroll (3/3) of the document | `scroll` |
//! | ViewportResize (3/4) | `resize` |
//! | Input (3/5) | `input` with the length; `change` with no length for password, e-mail, tel, card fields and checkboxes |
//! | Mutation (3/0) | keeps the node tree current |
//!
//! Typed text never leaves the mapper: an Input event's `text` is read for its length only, and
//! the snapshot keeps no text or value at all. The per-page state (node tree, scroll, viewport) is
//! bounded by [`RrwebLimits`].
//!
//! Every part of a request is bounded before the work it causes: [`RrwebBatch::decode_within`]
//! counts the body's JSON values and depth before decoding it and holds the ids and the number of
//! rrweb events to [`DecodeBounds`]; [`RrwebMapper::map`] counts what a batch can map to before
//! mapping any of it and refuses a batch past the caller's `events_max`; the node tree does a
//! bounded amount of work per click and per mutation ([`SIBLINGS_SCANNED_MAX`]).
//!
//! ```
//! use heatlake_model::rrweb::{RrwebBatch, RrwebLimits, RrwebMapper};
//!
//! let body = br#"{"site":"shop.example","pageview_id":"pv-1","offset":0,"events":[
//!   {"type":4,"timestamp":1764400000000,"data":{"href":"https://shop.example/a","width":1280,"height":800}},
//!   {"type":3,"timestamp":1764400000500,"data":{"source":3,"id":1,"x":0,"y":600}},
//!   {"type":3,"timestamp":1764400001000,"data":{"source":2,"type":2,"id":9,"x":100,"y":40}}]}"#;
//! let batch = RrwebBatch::decode(body).unwrap();
//! let events = RrwebMapper::new(RrwebLimits::default()).map(&batch, 5000).unwrap();
//! let click = events.iter().find(|e| e.event_type.as_deref() == Some("click")).unwrap();
//! assert_eq!((click.x, click.y), (Some(100.0), Some(640.0)));
//! assert_eq!(click.path.as_deref(), Some("shop.example/a"));
//! ```

mod batch;
mod tree;

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

pub use batch::{DecodeBounds, RrwebBatch};
pub use tree::{FieldKind, NodeTree, SELECTOR_DEPTH_MAX, SIBLINGS_SCANNED_MAX, is_sensitive};

use crate::privacy::page_key;
use crate::validate::{PAGE_PX_MAX, URL_BYTES_MAX, VIEWPORT_PX_MAX};
use crate::wire::WIRE_VERSION;
use crate::{ValidationError, WireEvent};

/// rrweb `EventType` values.
mod event_type {
    pub const FULL_SNAPSHOT: u64 = 2;
    pub const INCREMENTAL: u64 = 3;
    pub const META: u64 = 4;
    pub const CUSTOM: u64 = 5;
}

/// rrweb `IncrementalSource` values.
mod source {
    pub const MUTATION: u64 = 0;
    pub const MOUSE_MOVE: u64 = 1;
    pub const MOUSE_INTERACTION: u64 = 2;
    pub const SCROLL: u64 = 3;
    pub const VIEWPORT_RESIZE: u64 = 4;
    pub const INPUT: u64 = 5;
    pub const TOUCH_MOVE: u64 = 6;
}

/// rrweb `MouseInteractions.Click`.
const MOUSE_CLICK: u64 = 2;

/// The custom event (`rrweb.record.addCustomEvent`) that carries the document size.
pub const DOCUMENT_SIZE_TAG: &str = "heatlake.document";

/// `seq` numbers reserved per rrweb event: a MouseMove event's positions become up to this many
/// `move` events, numbered `(offset + index) * SEQ_SLOTS_PER_EVENT + k`.
pub const SEQ_SLOTS_PER_EVENT: u32 = 32;

/// Most rrweb events in one batch.
pub const EVENTS_PER_BATCH_MAX: usize = 100_000;

/// Shortest interval between two `move` events of a page, as the tracker's 20 per second.
pub const MOVE_INTERVAL_MS: i64 = 50;

/// Bounds of the mapper's memory: what it keeps per recorded page, and for how many pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RrwebLimits {
    /// Page views whose state is kept; the least recently used is forgotten first.
    pub pages_max: usize,
    /// Nodes kept per page; nodes beyond it get no selector.
    pub nodes_per_page_max: usize,
    /// Nodes kept over all pages; least recently used pages are forgotten to stay under it.
    pub nodes_total_max: usize,
}

impl Default for RrwebLimits {
    fn default() -> Self {
        Self {
            pages_max: 2_000,
            nodes_per_page_max: 50_000,
            nodes_total_max: 2_000_000,
        }
    }
}

/// What the mapper knows about one recorded page view between batches.
#[derive(Debug, Clone)]
struct PageState {
    last_used: u64,
    path: Option<String>,
    pageview_sent: bool,
    scroll_x: f64,
    scroll_y: f64,
    viewport_w: Option<f64>,
    viewport_h: Option<f64>,
    doc_w: Option<f64>,
    doc_h: Option<f64>,
    last_move_ms: i64,
    last_input_node: Option<u32>,
    tree: NodeTree,
}

/// Maps rrweb batches to wire events, keeping each page's node tree between batches.
#[derive(Debug, Clone)]
pub struct RrwebMapper {
    limits: RrwebLimits,
    pages: HashMap<(String, String), PageState>,
    uses: u64,
    nodes_total: usize,
}

impl RrwebMapper {
    /// A mapper with no pages yet.
    pub fn new(limits: RrwebLimits) -> Self {
        Self {
            limits,
            pages: HashMap::new(),
            uses: 0,
            nodes_total: 0,
        }
    }

    /// Page views whose state is kept.
    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    /// Nodes kept over all pages.
    pub fn nodes(&self) -> usize {
        self.nodes_total
    }

    /// Maps one batch to at most `events_max` wire events (the collector passes its
    /// `events_per_request_max`).
    ///
    /// Before anything is mapped or any page state changes, every event is checked and what it
    /// can map to is counted: an event without a numeric `type` or `timestamp` refuses the batch
    /// (naming its index), and so does a batch that could map to more than `events_max` events
    /// (naming `events_per_request_max`), as soon as its count passes the bound. A MouseMove
    /// counts as its positions (at most [`SEQ_SLOTS_PER_EVENT`]), a Mutation, a superseded Input
    /// and a Custom event as none, every other event as one. Events of unknown types, or without
    /// the fields a mapping needs, are skipped.
    pub fn map(
        &mut self,
        batch: &RrwebBatch,
        events_max: usize,
    ) -> Result<Vec<WireEvent<'static>>, ValidationError> {
        let superseded = plan(batch, events_max)?;
        let key = (batch.site.clone(), batch.pageview_id.clone());
        self.uses += 1;
        if !self.pages.contains_key(&key) {
            while self.pages.len() >= self.limits.pages_max.max(1) {
                self.evict_least_recent(&key);
            }
            self.pages.insert(
                key.clone(),
                PageState {
                    last_used: 0,
                    path: None,
                    pageview_sent: false,
                    scroll_x: 0.0,
                    scroll_y: 0.0,
                    viewport_w: None,
                    viewport_h: None,
                    doc_w: None,
                    doc_h: None,
                    last_move_ms: i64::MIN,
                    last_input_node: None,
                    tree: NodeTree::new(self.limits.nodes_per_page_max),
                },
            );
        }
        let page = self.pages.get_mut(&key).expect("inserted above");
        page.last_used = self.uses;
        let nodes_before = page.tree.nodes();
        let mut out = Vec::new();
        for (index, event) in batch.events.iter().enumerate() {
            let kind = event
                .get("type")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed(index, "`type` must be an rrweb event type number"))?;
            let ts = event
                .get("timestamp")
                .and_then(Value::as_f64)
                .ok_or_else(|| malformed(index, "`timestamp` must be milliseconds"))?
                as i64;
            let seq = (batch.offset as usize + index) as i64 * i64::from(SEQ_SLOTS_PER_EVENT);
            let data = event.get("data").unwrap_or(&Value::Null);
            let mut emitter = Emitter {
                batch,
                page,
                out: &mut out,
                ts,
                seq,
            };
            match kind {
                event_type::META => emitter.meta(data),
                event_type::FULL_SNAPSHOT => emitter.full_snapshot(data),
                event_type::CUSTOM => emitter.custom(data),
                event_type::INCREMENTAL => {
                    let superseded = superseded.get(index).copied().unwrap_or(false);
                    emitter.incremental(data, superseded)
                }
                _ => {}
            }
        }
        debug_assert!(out.len() <= events_max, "plan() counts every mapped event");
        let nodes_after = page.tree.nodes();
        self.nodes_total = (self.nodes_total + nodes_after).saturating_sub(nodes_before);
        while self.nodes_total > self.limits.nodes_total_max && self.pages.len() > 1 {
            self.evict_least_recent(&key);
        }
        Ok(out)
    }

    /// Forgets the least recently used page other than `keep`.
    fn evict_least_recent(&mut self, keep: &(String, String)) {
        let oldest = self
            .pages
            .iter()
            .filter(|(key, _)| *key != keep)
            .min_by_key(|(_, page)| page.last_used)
            .map(|(key, _)| key.clone());
        match oldest {
            Some(key) => {
                if let Some(page) = self.pages.remove(&key) {
                    self.nodes_total = self.nodes_total.saturating_sub(page.tree.nodes());
                }
            }
            None => self.pages.clear(),
        }
    }
}

/// Checks that every event has a `type` and a `timestamp`, and that the batch cannot map to more
/// than `events_max` events, stopping at the first event that breaks either; returns the
/// superseded Input events ([`superseded_inputs`]).
fn plan(batch: &RrwebBatch, events_max: usize) -> Result<Vec<bool>, ValidationError> {
    let superseded = superseded_inputs(&batch.events);
    let mut events_most = 0usize;
    for (index, event) in batch.events.iter().enumerate() {
        let kind = event
            .get("type")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed(index, "`type` must be an rrweb event type number"))?;
        event
            .get("timestamp")
            .and_then(Value::as_f64)
            .ok_or_else(|| malformed(index, "`timestamp` must be milliseconds"))?;
        let data = event.get("data").unwrap_or(&Value::Null);
        events_most += match kind {
            event_type::META | event_type::FULL_SNAPSHOT => 1,
            event_type::INCREMENTAL => match data.get("source").and_then(Value::as_u64) {
                Some(source::MOUSE_MOVE | source::TOUCH_MOVE) => data
                    .get("positions")
                    .and_then(Value::as_array)
                    .map_or(0, |positions| {
                        positions.len().min(SEQ_SLOTS_PER_EVENT as usize)
                    }),
                Some(source::MOUSE_INTERACTION) => {
                    usize::from(data.get("type").and_then(Value::as_u64) == Some(MOUSE_CLICK))
                }
                Some(source::SCROLL | source::VIEWPORT_RESIZE) => 1,
                Some(source::INPUT) => usize::from(!superseded[index]),
                _ => 0,
            },
            _ => 0,
        };
        if events_most > events_max {
            return Err(ValidationError::field(
                "events",
                format!("of {} rrweb events", batch.events.len()),
                format!(
                    "may map to more than events_per_request_max ({events_max}) events \
                     (at events[{index}]); send smaller batches"
                ),
            ));
        }
    }
    Ok(superseded)
}

fn malformed(index: usize, message: &str) -> ValidationError {
    ValidationError::malformed(format!("rrweb batch: field `events[{index}]`: {message}"))
}

/// Marks Input events followed, later in the batch, by another Input event on the same node
/// with no other Input in between: rrweb sends the whole value per keystroke, so only the last
/// of a run says anything new.
fn superseded_inputs(events: &[Value]) -> Vec<bool> {
    let mut superseded = vec![false; events.len()];
    let mut previous: Option<(usize, u64)> = None;
    for (index, event) in events.iter().enumerate() {
        let data = event.get("data").unwrap_or(&Value::Null);
        let is_input = event.get("type").and_then(Value::as_u64) == Some(event_type::INCREMENTAL)
            && data.get("source").and_then(Value::as_u64) == Some(source::INPUT);
        if !is_input {
            continue;
        }
        let Some(node) = data.get("id").and_then(Value::as_u64) else {
            continue;
        };
        if let Some((previous_index, previous_node)) = previous
            && previous_node == node
        {
            superseded[previous_index] = true;
        }
        previous = Some((index, node));
    }
    superseded
}

/// Emits the wire events of one rrweb event.
struct Emitter<'m> {
    batch: &'m RrwebBatch,
    page: &'m mut PageState,
    out: &'m mut Vec<WireEvent<'static>>,
    ts: i64,
    seq: i64,
}

impl Emitter<'_> {
    fn event(&self, event_type: &'static str, slot: i64) -> WireEvent<'static> {
        let owned = |text: &Option<String>| text.clone().map(Cow::Owned);
        WireEvent {
            v: Some(WIRE_VERSION),
            site: Some(Cow::Owned(self.batch.site.clone())),
            event_type: Some(Cow::Borrowed(event_type)),
            ts: Some(self.ts),
            visitor_id: owned(&self.batch.visitor_id),
            session_id: owned(&self.batch.session_id),
            pageview_id: Some(Cow::Owned(self.batch.pageview_id.clone())),
            seq: Some(self.seq + slot),
            path: owned(&self.page.path),
            ..WireEvent::default()
        }
    }

    fn push(&mut self, event: WireEvent<'static>) {
        self.out.push(event);
    }

    fn meta(&mut self, data: &Value) {
        let Some(href) = data.get("href").and_then(Value::as_str) else {
            return;
        };
        let url = truncate(href, URL_BYTES_MAX);
        self.page.path = Some(page_key(&url));
        self.page.viewport_w = viewport_px(data.get("width"));
        self.page.viewport_h = viewport_px(data.get("height"));
        // rrweb repeats Meta with every full snapshot (checkouts): one page view is one page view.
        if self.page.pageview_sent {
            return;
        }
        self.page.pageview_sent = true;
        let mut event = self.event("pageview", 0);
        event.url = Some(Cow::Owned(url));
        event.viewport_w = self.page.viewport_w;
        event.viewport_h = self.page.viewport_h;
        event.doc_w = self.page.doc_w;
        event.doc_h = self.page.doc_h;
        self.push(event);
    }

    fn full_snapshot(&mut self, data: &Value) {
        if let Some(node) = data.get("node") {
            self.page.tree.load_snapshot(node);
        }
        let offset = data.get("initialOffset");
        let left = offset.and_then(|o| o.get("left")).and_then(Value::as_f64);
        let top = offset.and_then(|o| o.get("top")).and_then(Value::as_f64);
        self.page.scroll_x = page_px(left.unwrap_or(0.0));
        self.page.scroll_y = page_px(top.unwrap_or(0.0));
        if self.page.scroll_y > 0.0 {
            self.scroll_event();
        }
    }

    fn custom(&mut self, data: &Value) {
        if data.get("tag").and_then(Value::as_str) != Some(DOCUMENT_SIZE_TAG) {
            return;
        }
        let payload = data.get("payload");
        if let Some(width) = document_px(payload.and_then(|p| p.get("width"))) {
            self.page.doc_w = Some(width);
        }
        if let Some(height) = document_px(payload.and_then(|p| p.get("height"))) {
            self.page.doc_h = Some(height);
        }
    }

    fn incremental(&mut self, data: &Value, superseded: bool) {
        match data.get("source").and_then(Value::as_u64) {
            Some(source::MUTATION) => self.page.tree.apply_mutation(data),
            Some(source::MOUSE_MOVE | source::TOUCH_MOVE) => self.moves(data),
            Some(source::MOUSE_INTERACTION) => self.click(data),
            Some(source::SCROLL) => self.scroll(data),
            Some(source::VIEWPORT_RESIZE) => self.resize(data),
            Some(source::INPUT) if !superseded => self.input(data),
            _ => {}
        }
    }

    fn moves(&mut self, data: &Value) {
        let positions = data
            .get("positions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut slot = 0;
        for position in positions {
            if slot >= i64::from(SEQ_SLOTS_PER_EVENT) {
                break;
            }
            let (Some(x), Some(y)) = (number(position, "x"), number(position, "y")) else {
                continue;
            };
            let ts = self.ts + number(position, "timeOffset").unwrap_or(0.0) as i64;
            if ts < self.page.last_move_ms.saturating_add(MOVE_INTERVAL_MS) {
                continue;
            }
            self.page.last_move_ms = ts;
            let mut event = self.event("move", slot);
            event.ts = Some(ts);
            event.x = Some(page_px(x + self.page.scroll_x));
            event.y = Some(page_px(y + self.page.scroll_y));
            event.viewport_w = self.page.viewport_w;
            self.push(event);
            slot += 1;
        }
    }

    fn click(&mut self, data: &Value) {
        if data.get("type").and_then(Value::as_u64) != Some(MOUSE_CLICK) {
            return;
        }
        let (Some(x), Some(y)) = (number(data, "x"), number(data, "y")) else {
            return;
        };
        // A keyboard activation is a Click at client (0, 0): without the element's box it cannot
        // be placed at the element's centre as the tracker does, so it is left out.
        if x == 0.0 && y == 0.0 {
            return;
        }
        let node = data
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|id| u32::try_from(id).ok());
        let tree = &self.page.tree;
        let fixed = node.is_some_and(|id| tree.inline_fixed(id));
        let target = node.and_then(|id| tree.selector(id, tree::SELECTOR_BYTES_MAX));
        let link = node
            .and_then(|id| tree.link(id))
            .map(|href| truncate(href, URL_BYTES_MAX));
        let mut event = self.event("click", 0);
        event.x = Some(page_px(x + self.page.scroll_x));
        event.y = Some(page_px(if fixed { y } else { y + self.page.scroll_y }));
        event.target = target.map(Cow::Owned);
        event.target_fixed = fixed.then_some(true);
        event.button = Some(0);
        event.link = link.map(Cow::Owned);
        event.viewport_w = self.page.viewport_w;
        self.push(event);
    }

    fn scroll(&mut self, data: &Value) {
        let node = data.get("id").and_then(Value::as_u64);
        // Element scrollers are not the page's scroll; without a snapshot, rrweb's document is 1.
        let document = self.page.tree.document().unwrap_or(1);
        if node != Some(u64::from(document)) {
            return;
        }
        let (Some(x), Some(y)) = (number(data, "x"), number(data, "y")) else {
            return;
        };
        self.page.scroll_x = page_px(x);
        self.page.scroll_y = page_px(y);
        self.scroll_event();
    }

    fn scroll_event(&mut self) {
        let mut event = self.event("scroll", 0);
        event.scroll_x = Some(self.page.scroll_x);
        event.scroll_y = Some(self.page.scroll_y);
        event.viewport_h = self.page.viewport_h;
        event.doc_h = self.page.doc_h;
        self.push(event);
    }

    fn resize(&mut self, data: &Value) {
        let (Some(width), Some(height)) = (
            viewport_px(data.get("width")),
            viewport_px(data.get("height")),
        ) else {
            return;
        };
        self.page.viewport_w = Some(width);
        self.page.viewport_h = Some(height);
        let mut event = self.event("resize", 0);
        event.viewport_w = Some(width);
        event.viewport_h = Some(height);
        event.doc_w = self.page.doc_w;
        event.doc_h = self.page.doc_h;
        self.push(event);
    }

    /// The field and the length of its value, never the value itself.
    fn input(&mut self, data: &Value) {
        let Some(node) = data
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|id| u32::try_from(id).ok())
        else {
            return;
        };
        let tree = &self.page.tree;
        let Some(field) = tree.selector(node, tree::FIELD_BYTES_MAX) else {
            return;
        };
        let kind = tree.field_kind(node).unwrap_or(FieldKind::Sensitive);
        let repeated = self.page.last_input_node == Some(node);
        self.page.last_input_node = Some(node);
        let mut event = match kind {
            FieldKind::Text => {
                let mut event = self.event("input", 0);
                let length = data
                    .get("text")
                    .and_then(Value::as_str)
                    .map_or(0, |text| text.chars().count());
                event.input_len = Some(length.min(crate::validate::INPUT_LEN_MAX as usize) as i64);
                event
            }
            // One "changed" per run of typing into the field, and no length.
            FieldKind::Sensitive if repeated => return,
            FieldKind::Sensitive | FieldKind::Choice => self.event("change", 0),
        };
        event.field = Some(Cow::Owned(field));
        self.push(event);
    }
}

fn number(value: &Value, key: &str) -> Option<f64> {
    value
        .get(key)
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite())
}

/// A page coordinate, rounded and clamped to the wire format's range.
fn page_px(value: f64) -> f64 {
    value.round().clamp(0.0, PAGE_PX_MAX)
}

fn viewport_px(value: Option<&Value>) -> Option<f64> {
    let px = value?.as_f64()?.round();
    (px >= 1.0).then(|| px.min(VIEWPORT_PX_MAX))
}

fn document_px(value: Option<&Value>) -> Option<f64> {
    let px = value?.as_f64()?.round();
    (px >= 1.0).then(|| px.min(PAGE_PX_MAX))
}

/// `text` cut to at most `bytes_max` bytes at a character boundary.
fn truncate(text: &str, bytes_max: usize) -> String {
    let mut end = text.len().min(bytes_max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests;
