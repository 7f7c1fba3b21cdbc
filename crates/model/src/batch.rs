//! Arrow record batches of [`event_schema`](crate::event_schema) built from [`Event`]s.
//!
//! The builder itself, [`EventBatchBuilder`], is generated from the column table in
//! [`columns`](crate::columns); this is how an [`Event`] becomes one of its rows.

use crate::Event;
pub use crate::columns::{EventBatchBuilder, EventRow};

impl EventBatchBuilder {
    /// Appends one event as a row.
    #[inline]
    pub fn append(&mut self, event: &Event<'_>) {
        // No `..` on either side: a field of `Event` without a column, or a column without a
        // field, does not compile.
        let Event {
            site,
            date_days,
            ts_ms,
            received_at_ms,
            visitor_id,
            session_id,
            pageview_id,
            seq,
            event_type,
            url,
            path,
            referrer,
            title,
            x,
            y,
            target,
            target_rx,
            target_ry,
            target_fixed,
            button,
            dead,
            link,
            text,
            viewport_w,
            viewport_h,
            doc_w,
            doc_h,
            scroll_x,
            scroll_y,
            device,
            browser,
            os,
            field,
            input_len,
            value,
            duration_ms,
            props,
            ip_prefix,
        } = event;
        self.push_row(EventRow {
            site,
            date: *date_days,
            ts: ts_ms * 1000,
            received_at: received_at_ms * 1000,
            visitor_id: *visitor_id,
            session_id: *session_id,
            pageview_id: *pageview_id,
            seq: *seq,
            event_type: event_type.as_str(),
            url: url.as_deref(),
            path: path.as_deref(),
            referrer: referrer.as_deref(),
            title: title.as_deref(),
            x: *x,
            y: *y,
            target: target.as_deref(),
            target_rx: *target_rx,
            target_ry: *target_ry,
            target_fixed: *target_fixed,
            button: *button,
            dead: *dead,
            link: link.as_deref(),
            text: text.as_deref(),
            viewport_w: *viewport_w,
            viewport_h: *viewport_h,
            doc_w: *doc_w,
            doc_h: *doc_h,
            scroll_x: *scroll_x,
            scroll_y: *scroll_y,
            device: *device,
            browser: *browser,
            os: *os,
            field: field.as_deref(),
            input_len: *input_len,
            value: value.as_deref(),
            duration_ms: *duration_ms,
            props: props.as_deref(),
            ip_prefix: ip_prefix.as_deref(),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::columns::EVENT_COLUMNS;
    use crate::{Event, WireEvent};

    /// The field names of a struct's `Debug` output, in declaration order.
    fn debug_field_names(debug: &str) -> Vec<&str> {
        let body = debug
            .split_once(" { ")
            .and_then(|(_, body)| body.strip_suffix(" }"))
            .expect("a braced struct");
        body.split(", ")
            .map(|field| field.split_once(": ").expect("name: value").0)
            .collect()
    }

    fn column_names() -> Vec<&'static str> {
        EVENT_COLUMNS.iter().map(|column| column.name).collect()
    }

    #[test]
    fn event_fields_follow_the_column_table() {
        let debug = format!("{:?}", Event::default());
        let fields: Vec<&str> = debug_field_names(&debug)
            .into_iter()
            .map(|name| match name {
                // Units in the Rust name, not in SQL; `type` is a Rust keyword.
                "date_days" => "date",
                "ts_ms" => "ts",
                "received_at_ms" => "received_at",
                "event_type" => "type",
                name => name,
            })
            .collect();
        assert_eq!(fields, column_names());
    }

    #[test]
    fn wire_fields_are_the_columns_a_sender_may_set() {
        let debug = format!("{:?}", WireEvent::default());
        let mut fields = debug_field_names(&debug);
        // The wire format's own fields: its version, and the inputs `browser`, `os` and
        // `ip_prefix` are derived from.
        assert_eq!(fields.remove(0), "v");
        assert_eq!(fields.split_off(fields.len() - 2), ["ua", "ip"]);
        let fields: Vec<&str> = fields
            .into_iter()
            .map(|name| if name == "event_type" { "type" } else { name })
            .collect();
        let mut expected: Vec<&str> = column_names()
            .into_iter()
            .filter(|name| !crate::wire::SERVER_SIDE_FIELDS.contains(name))
            .collect();
        // The wire format names what happened right after where.
        let event_type = expected.iter().position(|name| *name == "type").unwrap();
        let event_type = expected.remove(event_type);
        expected.insert(1, event_type);
        assert_eq!(fields, expected);
    }
}
