//! Arrow record batches of [`event_schema`] built from [`Event`]s.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float32Builder, Int8Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};

use crate::{Event, event_schema};

/// Column builders for the `events` schema, appended one event at a time.
///
/// ```
/// # use heatlake_model::{Event, EventBatchBuilder};
/// let mut builder = EventBatchBuilder::with_capacity(2);
/// builder.append(&Event { site: "a".into(), ts_ms: 1_000, ..Event::default() });
/// assert_eq!(builder.finish().num_rows(), 1);
/// ```
#[derive(Debug)]
pub struct EventBatchBuilder {
    site: StringBuilder,
    date: Date32Builder,
    ts: TimestampMicrosecondBuilder,
    received_at: TimestampMicrosecondBuilder,
    visitor_id: Int64Builder,
    session_id: Int64Builder,
    pageview_id: Int64Builder,
    seq: Int32Builder,
    event_type: StringBuilder,
    url: StringBuilder,
    path: StringBuilder,
    referrer: StringBuilder,
    title: StringBuilder,
    x: Int32Builder,
    y: Int32Builder,
    target: StringBuilder,
    target_rx: Float32Builder,
    target_ry: Float32Builder,
    target_fixed: BooleanBuilder,
    button: Int8Builder,
    dead: BooleanBuilder,
    link: StringBuilder,
    text: StringBuilder,
    viewport_w: Int32Builder,
    viewport_h: Int32Builder,
    doc_w: Int32Builder,
    doc_h: Int32Builder,
    scroll_x: Int32Builder,
    scroll_y: Int32Builder,
    device: StringBuilder,
    browser: StringBuilder,
    os: StringBuilder,
    field: StringBuilder,
    input_len: Int32Builder,
    value: StringBuilder,
    duration_ms: Int64Builder,
    props: StringBuilder,
    ip_prefix: StringBuilder,
    rows: usize,
}

impl EventBatchBuilder {
    /// Builders sized for `rows` events.
    pub fn with_capacity(rows: usize) -> Self {
        let strings =
            |bytes_per_row: usize| StringBuilder::with_capacity(rows, rows * bytes_per_row);
        Self {
            site: strings(12),
            date: Date32Builder::with_capacity(rows),
            ts: TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            received_at: TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            visitor_id: Int64Builder::with_capacity(rows),
            session_id: Int64Builder::with_capacity(rows),
            pageview_id: Int64Builder::with_capacity(rows),
            seq: Int32Builder::with_capacity(rows),
            event_type: strings(6),
            url: strings(40),
            path: strings(24),
            referrer: strings(0),
            title: strings(0),
            x: Int32Builder::with_capacity(rows),
            y: Int32Builder::with_capacity(rows),
            target: strings(16),
            target_rx: Float32Builder::with_capacity(rows),
            target_ry: Float32Builder::with_capacity(rows),
            target_fixed: BooleanBuilder::with_capacity(rows),
            button: Int8Builder::with_capacity(rows),
            dead: BooleanBuilder::with_capacity(rows),
            link: strings(0),
            text: strings(0),
            viewport_w: Int32Builder::with_capacity(rows),
            viewport_h: Int32Builder::with_capacity(rows),
            doc_w: Int32Builder::with_capacity(rows),
            doc_h: Int32Builder::with_capacity(rows),
            scroll_x: Int32Builder::with_capacity(rows),
            scroll_y: Int32Builder::with_capacity(rows),
            device: strings(7),
            browser: strings(6),
            os: strings(6),
            field: strings(0),
            input_len: Int32Builder::with_capacity(rows),
            value: strings(0),
            duration_ms: Int64Builder::with_capacity(rows),
            props: strings(0),
            ip_prefix: strings(0),
            rows: 0,
        }
    }

    /// Events appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no event was appended since the last [`finish`](Self::finish).
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one event as a row.
    pub fn append(&mut self, event: &Event<'_>) {
        self.site.append_value(&event.site);
        self.date.append_value(event.date_days);
        self.ts.append_value(event.ts_ms * 1000);
        self.received_at.append_value(event.received_at_ms * 1000);
        self.visitor_id.append_option(event.visitor_id);
        self.session_id.append_option(event.session_id);
        self.pageview_id.append_option(event.pageview_id);
        self.seq.append_option(event.seq);
        self.event_type.append_value(event.event_type.as_str());
        self.url.append_option(event.url.as_deref());
        self.path.append_option(event.path.as_deref());
        self.referrer.append_option(event.referrer.as_deref());
        self.title.append_option(event.title.as_deref());
        self.x.append_option(event.x);
        self.y.append_option(event.y);
        self.target.append_option(event.target.as_deref());
        self.target_rx.append_option(event.target_rx);
        self.target_ry.append_option(event.target_ry);
        self.target_fixed.append_option(event.target_fixed);
        self.button.append_option(event.button);
        self.dead.append_option(event.dead);
        self.link.append_option(event.link.as_deref());
        self.text.append_option(event.text.as_deref());
        self.viewport_w.append_option(event.viewport_w);
        self.viewport_h.append_option(event.viewport_h);
        self.doc_w.append_option(event.doc_w);
        self.doc_h.append_option(event.doc_h);
        self.scroll_x.append_option(event.scroll_x);
        self.scroll_y.append_option(event.scroll_y);
        self.device.append_option(event.device);
        self.browser.append_option(event.browser);
        self.os.append_option(event.os);
        self.field.append_option(event.field.as_deref());
        self.input_len.append_option(event.input_len);
        self.value.append_option(event.value.as_deref());
        self.duration_ms.append_option(event.duration_ms);
        self.props.append_option(event.props.as_deref());
        self.ip_prefix.append_option(event.ip_prefix.as_deref());
        self.rows += 1;
    }

    /// The rows appended so far as one batch of [`event_schema`]; the builder starts empty again.
    pub fn finish(&mut self) -> RecordBatch {
        self.rows = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.site.finish()),
            Arc::new(self.date.finish()),
            Arc::new(self.ts.finish()),
            Arc::new(self.received_at.finish()),
            Arc::new(self.visitor_id.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.pageview_id.finish()),
            Arc::new(self.seq.finish()),
            Arc::new(self.event_type.finish()),
            Arc::new(self.url.finish()),
            Arc::new(self.path.finish()),
            Arc::new(self.referrer.finish()),
            Arc::new(self.title.finish()),
            Arc::new(self.x.finish()),
            Arc::new(self.y.finish()),
            Arc::new(self.target.finish()),
            Arc::new(self.target_rx.finish()),
            Arc::new(self.target_ry.finish()),
            Arc::new(self.target_fixed.finish()),
            Arc::new(self.button.finish()),
            Arc::new(self.dead.finish()),
            Arc::new(self.link.finish()),
            Arc::new(self.text.finish()),
            Arc::new(self.viewport_w.finish()),
            Arc::new(self.viewport_h.finish()),
            Arc::new(self.doc_w.finish()),
            Arc::new(self.doc_h.finish()),
            Arc::new(self.scroll_x.finish()),
            Arc::new(self.scroll_y.finish()),
            Arc::new(self.device.finish()),
            Arc::new(self.browser.finish()),
            Arc::new(self.os.finish()),
            Arc::new(self.field.finish()),
            Arc::new(self.input_len.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.duration_ms.finish()),
            Arc::new(self.props.finish()),
            Arc::new(self.ip_prefix.finish()),
        ];
        RecordBatch::try_new(event_schema(), columns)
            .expect("builders follow event_schema column for column")
    }
}
