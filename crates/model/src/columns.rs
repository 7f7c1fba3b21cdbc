//! The columns of the `events` table, each named once: its SQL name, Arrow type, builder kind
//! (which also says whether it may be null) and meaning.
//!
//! The table below generates [`EVENT_COLUMNS`], the fields of [`event_schema`](crate::event_schema),
//! [`EventRow`] and the [`EventBatchBuilder`] that turns rows into
//! record batches. [`Event`](crate::Event) and [`WireEvent`](crate::WireEvent) are shaped by hand
//! (borrowed strings, units in names, serde attributes); `EventBatchBuilder::append` destructures
//! an `Event` without `..` and builds an `EventRow` without `..`, so a column or a field added on
//! one side only does not compile, and a test holds their field order to this table's.

use arrow_array::types::{
    Date32Type, Float32Type, Int8Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_schema::DataType::{self, Boolean, Date32, Float32, Int8, Int32, Int64, Utf8};
use arrow_schema::{Field, TimeUnit};

use crate::column_builder::{
    ColumnBuilder, Nullable, NullableBooleans, NullableStrings, Required, RequiredStrings,
};

/// One column of the `events` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The SQL name.
    pub name: &'static str,
    /// Whether it may hold nulls.
    pub nullable: bool,
}

/// Generates the column list, the Arrow fields, [`EventRow`] and the batch builder from one
/// table of `field [as "sql name"]: Builder = DataType [, N bytes];` entries, `N` being the
/// typical length of a string value (the builders' initial capacity).
macro_rules! event_columns {
    ($(
        $(#[doc = $doc:literal])+
        $field:ident $(as $name:literal)?: $builder:ty = $data_type:expr $(, $bytes:literal bytes)?;
    )+) => {
        /// The columns of `events`, in schema order.
        pub const EVENT_COLUMNS: [Column; [$(stringify!($field)),+].len()] = [$(
            Column {
                name: event_columns!(@name $field $($name)?),
                nullable: <$builder as ColumnBuilder>::NULLABLE,
            },
        )+];

        /// The fields of [`event_schema`](crate::event_schema), in order.
        pub(crate) fn event_fields() -> Vec<Field> {
            vec![$(
                Field::new(
                    event_columns!(@name $field $($name)?),
                    $data_type,
                    <$builder as ColumnBuilder>::NULLABLE,
                ),
            )+]
        }

        /// One row of `events` as the batch builder takes it: a value per column, `Option` where
        /// the column is nullable, strings borrowed.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct EventRow<'a> {$(
            $(#[doc = $doc])+
            pub $field: <$builder as ColumnBuilder>::Value<'a>,
        )+}

        /// Column builders for the `events` schema, filled one row at a time.
        ///
        /// ```
        /// # use heatlake_model::{Event, EventBatchBuilder};
        /// let mut builder = EventBatchBuilder::with_capacity(2);
        /// builder.append(&Event { site: "a".into(), ts_ms: 1_000, ..Event::default() });
        /// assert_eq!(builder.finish().num_rows(), 1);
        /// ```
        #[derive(Debug)]
        pub struct EventBatchBuilder {
            rows: usize,
            $($field: $builder,)+
        }

        impl EventBatchBuilder {
            /// Builders sized for `rows` rows.
            pub fn with_capacity(rows: usize) -> Self {
                Self {
                    rows: 0,
                    $($field: <$builder as ColumnBuilder>::with_capacity(rows, 0 $(+ $bytes)?),)+
                }
            }

            /// Rows appended since the last [`finish`](Self::finish).
            pub fn len(&self) -> usize {
                self.rows
            }

            /// Whether no row was appended since the last [`finish`](Self::finish).
            pub fn is_empty(&self) -> bool {
                self.rows == 0
            }

            /// Appends one row.
            #[inline]
            pub fn push_row(&mut self, row: EventRow<'_>) {
                self.rows += 1;
                $(self.$field.push(row.$field);)+
            }

            /// The rows appended so far as one batch of [`event_schema`](crate::event_schema);
            /// the builder starts empty again.
            pub fn finish(&mut self) -> arrow_array::RecordBatch {
                self.rows = 0;
                let schema = crate::event_schema();
                let mut fields = schema.fields().iter();
                let mut next_type = || fields.next().expect("one field per column").data_type();
                let columns = vec![$(self.$field.finish(next_type()),)+];
                arrow_array::RecordBatch::try_new(schema, columns)
                    .expect("the builders follow event_schema column for column")
            }
        }
    };
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $name:literal) => { $name };
}

/// `ts` and `received_at`: Delta Lake stores timestamps in microseconds (the values are whole
/// milliseconds).
fn timestamp_utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

event_columns! {
    /// Site the event belongs to (partition column).
    site: RequiredStrings = Utf8, 12 bytes;
    /// UTC day of `ts`, as days since 1970-01-01 (partition column).
    date: Required<Date32Type> = Date32;
    /// When it happened, microseconds since the Unix epoch, UTC.
    ts: Required<TimestampMicrosecondType> = timestamp_utc();
    /// When Heatlake received it, microseconds since the Unix epoch, UTC.
    received_at: Required<TimestampMicrosecondType> = timestamp_utc();
    /// Site-scoped pseudonymous visitor id.
    visitor_id: Nullable<Int64Type> = Int64;
    /// Site-scoped pseudonymous session id.
    session_id: Nullable<Int64Type> = Int64;
    /// Site-scoped pseudonymous page view id.
    pageview_id: Nullable<Int64Type> = Int64;
    /// Number of the event within its page view, assigned by the sender.
    seq: Nullable<Int32Type> = Int32;
    /// What happened: an [`EventType`](crate::EventType) name.
    event_type as "type": RequiredStrings = Utf8, 6 bytes;
    /// Page URL, scrubbed.
    url: NullableStrings = Utf8, 40 bytes;
    /// Page key: host + path, no query or fragment.
    path: NullableStrings = Utf8, 32 bytes;
    /// Referrer, scrubbed.
    referrer: NullableStrings = Utf8, 4 bytes;
    /// Page title, scrubbed.
    title: NullableStrings = Utf8, 4 bytes;
    /// Page x in CSS px.
    x: Nullable<Int32Type> = Int32;
    /// Page y in CSS px (viewport y when `target_fixed`).
    y: Nullable<Int32Type> = Int32;
    /// CSS selector path of the element.
    target: NullableStrings = Utf8, 16 bytes;
    /// Position inside the element, 0..1 from its left edge.
    target_rx: Nullable<Float32Type> = Float32;
    /// Position inside the element, 0..1 from its top edge.
    target_ry: Nullable<Float32Type> = Float32;
    /// The element is fixed or sticky: `y` is relative to the viewport.
    target_fixed: NullableBooleans = Boolean;
    /// Mouse button (0 main, 1 middle, 2 secondary); absent for keyboard activations.
    button: Nullable<Int8Type> = Int8;
    /// The click changed nothing on the page (reported by the tracker).
    dead: NullableBooleans = Boolean;
    /// Href of a clicked link, scrubbed.
    link: NullableStrings = Utf8, 4 bytes;
    /// Short visible text of the element, scrubbed; kept only where the site enables it.
    text: NullableStrings = Utf8;
    /// Viewport width in CSS px.
    viewport_w: Nullable<Int32Type> = Int32;
    /// Viewport height in CSS px.
    viewport_h: Nullable<Int32Type> = Int32;
    /// Document width in CSS px.
    doc_w: Nullable<Int32Type> = Int32;
    /// Document height in CSS px.
    doc_h: Nullable<Int32Type> = Int32;
    /// Horizontal scroll offset in CSS px.
    scroll_x: Nullable<Int32Type> = Int32;
    /// Vertical scroll offset in CSS px (for `leave`: the maximum reached).
    scroll_y: Nullable<Int32Type> = Int32;
    /// `desktop`, `tablet` or `mobile`, from the viewport width.
    device: NullableStrings = Utf8, 7 bytes;
    /// Browser family, from the user agent.
    browser: NullableStrings = Utf8, 6 bytes;
    /// Operating system family, from the user agent.
    os: NullableStrings = Utf8, 6 bytes;
    /// Selector or name of the input field.
    field: NullableStrings = Utf8, 1 bytes;
    /// Length of the field's value, in characters.
    input_len: Nullable<Int32Type> = Int32;
    /// The field's value: only for fields the site allow-lists, scrubbed.
    value: NullableStrings = Utf8;
    /// Duration in ms (visibility, engaged time of a page view).
    duration_ms: Nullable<Int64Type> = Int64;
    /// Custom data as JSON text, scrubbed.
    props: NullableStrings = Utf8;
    /// Truncated IP network (`/24` or `/48`) where the site asks for it; otherwise absent.
    ip_prefix: NullableStrings = Utf8;
}
