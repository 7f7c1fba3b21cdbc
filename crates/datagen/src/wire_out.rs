//! The events as [`WireEvent`]s, for callers that feed them to an ingest path directly.

use std::borrow::Cow;

use heatlake_model::EventType;
use heatlake_model::wire::{WIRE_VERSION, WireEvent};

use crate::Result;
use crate::catalog::Catalog;
use crate::config::GenConfig;
use crate::record::{GenEvent, PageviewContext, Sink};
use crate::session::walk;
use crate::summary::Summary;

/// Calls `each` with every event of `config`, in order, as the [`WireEvent`] that
/// [`decode_line`](heatlake_model::decode_line) reads from the matching line of
/// [`write_ndjson`](crate::write_ndjson)'s output.
///
/// ```
/// let config = heatlake_datagen::GenConfig::with_events(20, 5);
/// let mut types = Vec::new();
/// heatlake_datagen::for_each_wire_event(&config, |event| {
///     types.push(event.event_type.unwrap().into_owned());
/// })?;
/// assert_eq!(types[0], "pageview");
/// assert_eq!(types.len(), 20);
/// # Ok::<(), heatlake_datagen::Error>(())
/// ```
pub fn for_each_wire_event(config: &GenConfig, each: impl FnMut(WireEvent<'_>)) -> Result<Summary> {
    let catalog = Catalog::new(config)?;
    let (summary, _) = walk(config, &catalog, WireSink { each }, &mut |_| {})?;
    Ok(summary)
}

struct WireSink<F> {
    each: F,
}

impl<F: FnMut(WireEvent<'_>)> Sink for WireSink<F> {
    fn begin_pageview(&mut self, _context: &PageviewContext<'_>) -> Result<()> {
        Ok(())
    }

    fn event(&mut self, context: &PageviewContext<'_>, event: &GenEvent<'_>) -> Result<()> {
        let is_pageview = event.event_type == EventType::Pageview;
        let px = |value: Option<i32>| value.map(f64::from);
        let milli = |value: Option<u16>| value.map(|m| f64::from(m) / 1000.0);
        let wire = WireEvent {
            v: Some(WIRE_VERSION),
            site: Some(Cow::Borrowed(&context.site.name)),
            event_type: Some(Cow::Borrowed(event.event_type.as_str())),
            ts: Some(event.ts_ms),
            visitor_id: Some(Cow::Borrowed(context.visitor_id.as_str())),
            session_id: Some(Cow::Borrowed(context.session_id.as_str())),
            pageview_id: Some(Cow::Borrowed(context.pageview_id.as_str())),
            seq: Some(i64::from(event.seq)),
            url: is_pageview.then_some(Cow::Borrowed(context.url.as_str())),
            path: Some(Cow::Borrowed(&context.page.path)),
            referrer: if is_pageview {
                context.referrer().map(Cow::Borrowed)
            } else {
                None
            },
            title: is_pageview.then_some(Cow::Borrowed(context.page.title.as_str())),
            x: px(event.x),
            y: px(event.y),
            target: event.target.map(|t| Cow::Borrowed(t.raw)),
            target_rx: milli(event.target_rx_milli),
            target_ry: milli(event.target_ry_milli),
            target_fixed: event.target_fixed.then_some(true),
            button: event.button.map(i64::from),
            dead: event.dead.then_some(true),
            link: event.link.map(|t| Cow::Borrowed(t.raw)),
            text: event.text.map(Cow::Borrowed),
            viewport_w: Some(f64::from(event.viewport_w)),
            viewport_h: Some(f64::from(event.viewport_h)),
            doc_w: px(event.doc_w),
            doc_h: px(event.doc_h),
            scroll_x: None,
            scroll_y: px(event.scroll_y),
            field: event.field.map(|t| Cow::Borrowed(t.raw)),
            input_len: event.input_len.map(i64::from),
            value: None,
            duration_ms: event.duration_ms,
            props: event
                .props
                .map(|props| serde_json::from_str(props).expect("generated props are JSON")),
            ua: is_pageview.then_some(Cow::Borrowed(context.ua)),
            ip: if is_pageview {
                context.ip().map(Cow::Borrowed)
            } else {
                None
            },
        };
        (self.each)(wire);
        Ok(())
    }
}
