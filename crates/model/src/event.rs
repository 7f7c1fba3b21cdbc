//! The event as stored: one row of the `events` table (schema v1).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::ValidationError;

/// What happened. Stored as its lower-case name in the `type` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum EventType {
    /// A page was shown (also an SPA navigation).
    #[default]
    Pageview,
    /// A pointer or keyboard activation of an element.
    Click,
    /// A sampled pointer position.
    Move,
    /// A (throttled) scroll position.
    Scroll,
    /// Typing in a field: the field and a length, never the text.
    Input,
    /// A field's value was committed (change event).
    Change,
    /// A form was submitted.
    Submit,
    /// The viewport changed size.
    Resize,
    /// The page became hidden or visible again.
    Visibility,
    /// The end-of-pageview summary: maximum scroll reached and engaged time.
    Leave,
    /// A web beacon (pixel) hit.
    Beacon,
    /// Anything the site defines, described in `props`.
    Custom,
}

impl EventType {
    /// Every type, in the order of the wire format documentation.
    pub const ALL: [EventType; 12] = [
        EventType::Pageview,
        EventType::Click,
        EventType::Move,
        EventType::Scroll,
        EventType::Input,
        EventType::Change,
        EventType::Submit,
        EventType::Resize,
        EventType::Visibility,
        EventType::Leave,
        EventType::Beacon,
        EventType::Custom,
    ];

    /// The name used on the wire and in SQL.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::Pageview => "pageview",
            EventType::Click => "click",
            EventType::Move => "move",
            EventType::Scroll => "scroll",
            EventType::Input => "input",
            EventType::Change => "change",
            EventType::Submit => "submit",
            EventType::Resize => "resize",
            EventType::Visibility => "visibility",
            EventType::Leave => "leave",
            EventType::Beacon => "beacon",
            EventType::Custom => "custom",
        }
    }

    /// Whether `x`/`y` are meaningful for this type.
    pub const fn has_position(self) -> bool {
        matches!(self, EventType::Click | EventType::Move)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = ValidationError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| {
                ValidationError::field(
                    "type",
                    format!("{name:?}"),
                    "is not an event type (pageview, click, move, scroll, input, change, submit, resize, visibility, leave, beacon, custom)",
                )
            })
    }
}

/// One validated, privacy-protected event, ready to be appended to an Arrow batch.
///
/// Field names are the SQL column names. Strings borrow from the decoded line where no rewrite was
/// needed. Server-side fields (`received_at_ms`, `date`, `device`, `browser`, `os`, `ip_prefix`) are
/// derived here, never taken from the sender.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event<'a> {
    /// Site the event belongs to (partition column).
    pub site: Cow<'a, str>,
    /// UTC day of `ts`, as days since 1970-01-01 (partition column).
    pub date_days: i32,
    /// When it happened, milliseconds since the Unix epoch, UTC.
    pub ts_ms: i64,
    /// When Heatlake received it, milliseconds since the Unix epoch, UTC.
    pub received_at_ms: i64,
    /// Site-scoped pseudonymous visitor id.
    pub visitor_id: Option<i64>,
    /// Site-scoped pseudonymous session id.
    pub session_id: Option<i64>,
    /// Site-scoped pseudonymous page view id.
    pub pageview_id: Option<i64>,
    /// Number of the event within its page view, assigned by the sender.
    pub seq: Option<i32>,
    /// What happened.
    pub event_type: EventType,
    /// Page URL, scrubbed.
    pub url: Option<Cow<'a, str>>,
    /// Page key: host + path, no query or fragment.
    pub path: Option<Cow<'a, str>>,
    /// Referrer, scrubbed.
    pub referrer: Option<Cow<'a, str>>,
    /// Page title, scrubbed.
    pub title: Option<Cow<'a, str>>,
    /// Page x in CSS px.
    pub x: Option<i32>,
    /// Page y in CSS px (viewport y when `target_fixed`).
    pub y: Option<i32>,
    /// CSS selector path of the element.
    pub target: Option<Cow<'a, str>>,
    /// Position inside the element, 0..1 from its left edge.
    pub target_rx: Option<f32>,
    /// Position inside the element, 0..1 from its top edge.
    pub target_ry: Option<f32>,
    /// The element is fixed or sticky: `y` is relative to the viewport.
    pub target_fixed: Option<bool>,
    /// Mouse button (0 main, 1 middle, 2 secondary); absent for keyboard activations.
    pub button: Option<i8>,
    /// The click changed nothing on the page (reported by the tracker).
    pub dead: Option<bool>,
    /// Href of a clicked link, scrubbed.
    pub link: Option<Cow<'a, str>>,
    /// Short visible text of the element, scrubbed; kept only where the site enables it.
    pub text: Option<Cow<'a, str>>,
    /// Viewport width in CSS px.
    pub viewport_w: Option<i32>,
    /// Viewport height in CSS px.
    pub viewport_h: Option<i32>,
    /// Document width in CSS px.
    pub doc_w: Option<i32>,
    /// Document height in CSS px.
    pub doc_h: Option<i32>,
    /// Horizontal scroll offset in CSS px.
    pub scroll_x: Option<i32>,
    /// Vertical scroll offset in CSS px (for `leave`: the maximum reached).
    pub scroll_y: Option<i32>,
    /// `desktop`, `tablet` or `mobile`, from the viewport width.
    pub device: Option<&'static str>,
    /// Browser family, from the user agent.
    pub browser: Option<&'static str>,
    /// Operating system family, from the user agent.
    pub os: Option<&'static str>,
    /// Selector or name of the input field.
    pub field: Option<Cow<'a, str>>,
    /// Length of the field's value, in characters.
    pub input_len: Option<i32>,
    /// The field's value: only for fields the site allow-lists, scrubbed.
    pub value: Option<Cow<'a, str>>,
    /// Duration in ms (visibility, engaged time of a page view).
    pub duration_ms: Option<i64>,
    /// Custom data as JSON text, scrubbed.
    pub props: Option<Cow<'a, str>>,
    /// Truncated IP network (`/24` or `/48`) where the site asks for it; otherwise absent.
    pub ip_prefix: Option<String>,
}

/// Days since 1970-01-01 of a UTC timestamp in milliseconds.
pub fn date_days_of(ts_ms: i64) -> i32 {
    i32::try_from(ts_ms.div_euclid(86_400_000)).unwrap_or(i32::MAX)
}
