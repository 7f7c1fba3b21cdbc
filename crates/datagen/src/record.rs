//! What the walker hands to an output: the context of a page view and one event in it.

use heatlake_model::EventType;
use rand::Rng;
use rand::rngs::SmallRng;

use crate::catalog::{Page, Site};

/// A sender id: 16 lower-case hex digits, like a first-party cookie value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct HexId([u8; 16]);

impl HexId {
    pub(crate) fn random(rng: &mut SmallRng) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut value: u64 = rng.random();
        let mut bytes = [0u8; 16];
        for byte in bytes.iter_mut().rev() {
            *byte = DIGITS[(value & 0xf) as usize];
            value >>= 4;
        }
        Self(bytes)
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

/// Everything the events of one page view share.
#[derive(Debug)]
pub(crate) struct PageviewContext<'c> {
    /// Index of the site in the catalogue.
    pub(crate) site_index: usize,
    pub(crate) site: &'c Site,
    pub(crate) page: &'c Page,
    /// Serial numbers of the visitor and session in this run (not ids): they change exactly when
    /// a new visitor or session begins.
    pub(crate) visitor_serial: u64,
    pub(crate) session_serial: u64,
    pub(crate) visitor_id: HexId,
    pub(crate) session_id: HexId,
    pub(crate) pageview_id: HexId,
    /// Full URL of the page view, with any query string.
    pub(crate) url: String,
    /// Referrer; empty for none.
    pub(crate) referrer: String,
    pub(crate) ua: &'static str,
    /// Client IP; empty for none.
    pub(crate) ip: String,
}

impl PageviewContext<'_> {
    pub(crate) fn referrer(&self) -> Option<&str> {
        (!self.referrer.is_empty()).then_some(self.referrer.as_str())
    }

    pub(crate) fn ip(&self) -> Option<&str> {
        (!self.ip.is_empty()).then_some(self.ip.as_str())
    }
}

/// A string as sent and as the privacy filter stores it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text<'a> {
    pub(crate) raw: &'a str,
    /// `None`: not known in advance; the Parquet output scrubs `raw` itself.
    pub(crate) stored: Option<&'a str>,
}

/// One event, with the fields beyond the page view's context. `pageview` events also carry the
/// context's URL, referrer, title, user agent and IP; every event carries the page key (`path`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GenEvent<'a> {
    pub(crate) event_type: EventType,
    pub(crate) ts_ms: i64,
    pub(crate) seq: i32,
    pub(crate) viewport_w: i32,
    pub(crate) viewport_h: i32,
    pub(crate) doc_w: Option<i32>,
    pub(crate) doc_h: Option<i32>,
    pub(crate) x: Option<i32>,
    pub(crate) y: Option<i32>,
    pub(crate) target: Option<Text<'a>>,
    /// Position inside the target in thousandths (0..=1000).
    pub(crate) target_rx_milli: Option<u16>,
    pub(crate) target_ry_milli: Option<u16>,
    /// Sent only when true.
    pub(crate) target_fixed: bool,
    pub(crate) button: Option<i8>,
    /// Sent only when true.
    pub(crate) dead: bool,
    pub(crate) link: Option<Text<'a>>,
    pub(crate) text: Option<&'a str>,
    pub(crate) scroll_y: Option<i32>,
    pub(crate) field: Option<Text<'a>>,
    pub(crate) input_len: Option<i32>,
    pub(crate) duration_ms: Option<i64>,
    /// A compact JSON object with sorted keys and no text a scrubber would change.
    pub(crate) props: Option<&'a str>,
}

impl GenEvent<'_> {
    pub(crate) fn new(
        event_type: EventType,
        ts_ms: i64,
        seq: i32,
        viewport_w: i32,
        viewport_h: i32,
    ) -> Self {
        Self {
            event_type,
            ts_ms,
            seq,
            viewport_w,
            viewport_h,
            doc_w: None,
            doc_h: None,
            x: None,
            y: None,
            target: None,
            target_rx_milli: None,
            target_ry_milli: None,
            target_fixed: false,
            button: None,
            dead: false,
            link: None,
            text: None,
            scroll_y: None,
            field: None,
            input_len: None,
            duration_ms: None,
            props: None,
        }
    }
}

/// Where generated events go.
pub(crate) trait Sink {
    /// Called before the first event of each page view.
    fn begin_pageview(&mut self, context: &PageviewContext<'_>) -> crate::Result<()>;
    /// Writes one event.
    fn event(&mut self, context: &PageviewContext<'_>, event: &GenEvent<'_>) -> crate::Result<()>;
}
