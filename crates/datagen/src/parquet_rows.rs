//! The stored row of a generated event, built directly.
//!
//! This is the row `IngestContext::accept` followed by `EventBatchBuilder::append` produces,
//! without the intermediate `Event`: what a page view's events share is scrubbed and
//! pseudonymised once per page view ([`StoredPageview`]). The integration test
//! `parquet::rows_equal_accepted_wire_events` holds the two equal, column by column.

use std::borrow::Cow;

use heatlake_model::EventType;
use heatlake_model::batch::{EventBatchBuilder, EventRow};
use heatlake_model::event::date_days_of;
use heatlake_model::privacy::scrub::scrub;
use heatlake_model::useragent::device_class;

use crate::record::{GenEvent, PageviewContext, Text};

/// The stored form of what a page view's events share, computed once per page view.
#[derive(Debug, Default)]
pub(crate) struct StoredPageview {
    pub(crate) visitor_serial: Option<u64>,
    pub(crate) session_serial: Option<u64>,
    pub(crate) visitor_id: i64,
    pub(crate) session_id: i64,
    pub(crate) pageview_id: i64,
    pub(crate) url: String,
    pub(crate) referrer: Option<String>,
    pub(crate) browser: Option<&'static str>,
    pub(crate) os: Option<&'static str>,
    pub(crate) ip_prefix: Option<String>,
}

/// Appends the stored row of `event`: what `accept` under the default privacy policy makes of
/// it (no element text, no typed values, no horizontal scroll, which the generator never sends),
/// received at `received_at_ms`; `page` holds the page view's scrubbed and pseudonymised fields.
#[inline]
pub(crate) fn push_stored_row(
    rows: &mut EventBatchBuilder,
    received_at_ms: i64,
    context: &PageviewContext<'_>,
    page: &StoredPageview,
    event: &GenEvent<'_>,
) {
    let is_pageview = event.event_type == EventType::Pageview;
    let on_pageview = |value| if is_pageview { value } else { None };
    let target = stored(event.target);
    let link = stored(event.link);
    let field = stored(event.field);
    rows.push_row(EventRow {
        site: &context.site.name,
        date: date_days_of(event.ts_ms),
        ts: event.ts_ms * 1000,
        received_at: received_at_ms * 1000,
        visitor_id: Some(page.visitor_id),
        session_id: Some(page.session_id),
        pageview_id: Some(page.pageview_id),
        seq: Some(event.seq),
        event_type: event.event_type.as_str(),
        url: on_pageview(Some(page.url.as_str())),
        path: Some(context.page.stored_path.as_str()),
        referrer: on_pageview(page.referrer.as_deref()),
        title: on_pageview(Some(context.page.stored_title.as_str())),
        x: event.x,
        y: event.y,
        target: target.as_deref(),
        target_rx: event.target_rx_milli.map(milli_to_f32),
        target_ry: event.target_ry_milli.map(milli_to_f32),
        target_fixed: event.target_fixed.then_some(true),
        button: event.button,
        dead: event.dead.then_some(true),
        link: link.as_deref(),
        text: None,
        viewport_w: Some(event.viewport_w),
        viewport_h: Some(event.viewport_h),
        doc_w: event.doc_w,
        doc_h: event.doc_h,
        scroll_x: None,
        scroll_y: event.scroll_y,
        device: Some(device_class(event.viewport_w)),
        browser: on_pageview(page.browser),
        os: on_pageview(page.os),
        field: field.as_deref(),
        input_len: event.input_len,
        value: None,
        duration_ms: event.duration_ms,
        props: event.props,
        ip_prefix: on_pageview(page.ip_prefix.as_deref()),
    });
}

/// The stored form of a string: known in advance, or scrubbed now.
#[inline]
fn stored(text: Option<Text<'_>>) -> Option<Cow<'_, str>> {
    text.map(|Text { raw, stored }| stored.map_or_else(|| scrub(raw), Cow::Borrowed))
}

/// Thousandths as the wire decoder reads them: the nearest `f64`, then narrowed to `f32`.
fn milli_to_f32(milli: u16) -> f32 {
    (f64::from(milli) / 1000.0) as f32
}
