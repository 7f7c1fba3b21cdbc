//! How visitors behave: the rates and shapes the session walker draws from.
//!
//! Each constant is documented where it is used in `datasets/README.md`; change both together.

/// A visitor's number of sessions: 1, plus one more with this probability each time (at most
/// [`SESSIONS_PER_VISITOR_MAX`]). Mean about 1.5.
pub const SESSION_REPEAT_RATE: f64 = 0.35;
/// Most sessions one visitor has.
pub const SESSIONS_PER_VISITOR_MAX: u32 = 8;
/// Least time between the end of a visitor's session and the start of their next one.
pub const SESSION_GAP_MIN_MS: i64 = 30 * 60_000;

/// A session's number of page views: 1, plus one more with this probability each time (at most
/// [`PAGEVIEWS_PER_SESSION_MAX`]); an external link or the end of the time range ends it early.
/// Mean about 3.
pub const PAGEVIEW_REPEAT_RATE: f64 = 0.7;
/// Most page views in one session.
pub const PAGEVIEWS_PER_SESSION_MAX: u32 = 40;

/// Share of page views on a scrollable page that never scroll.
pub const SCROLL_NONE_SHARE: f64 = 0.25;
/// Share of page views on a scrollable page that scroll to the bottom.
pub const SCROLL_BOTTOM_SHARE: f64 = 0.15;
/// The others scroll to a fraction `u^SCROLL_DEPTH_EXPONENT` of the scrollable range (`u`
/// uniform in 0..1): many shallow, few deep.
pub const SCROLL_DEPTH_EXPONENT: f64 = 1.7;
/// A scrolling visitor stops every this many viewport heights to read (at most
/// [`SCROLL_STOPS_MAX`] stops).
pub const SCROLL_STOP_VIEWPORTS: f64 = 0.7;
/// Most reading stops in one page view.
pub const SCROLL_STOPS_MAX: u32 = 10;
/// Probability of scrolling back up a little at a stop.
pub const SCROLL_BACK_RATE: f64 = 0.08;

/// Mean reading time at one stop on articles and guides, in ms (exponential).
pub const READ_MEAN_LONG_MS: f64 = 7_000.0;
/// Mean reading time at one stop on other pages, in ms (exponential).
pub const READ_MEAN_MS: f64 = 3_500.0;
/// Desktop visitors send one `move` per this many ms of reading (at most [`MOVES_PER_STOP_MAX`]
/// per stop); touch devices send none.
pub const MOVE_INTERVAL_MS: i64 = 600;
/// Most `move` events at one stop.
pub const MOVES_PER_STOP_MAX: i64 = 12;

/// Probability of a click (on a visible element, by click weight) at each stop.
pub const CLICK_RATE_PER_STOP: f64 = 0.3;
/// Share of dead clicks that turn into a rage-click burst.
pub const RAGE_SHARE_OF_DEAD: f64 = 0.25;
/// Clicks in a rage burst: 3 to 6, each 100..=400 ms after the previous one and within 6 px in
/// x and y (so |dx| + |dy| <= 12, inside the 30 px rule).
pub const RAGE_CLICKS: (u32, u32) = (3, 6);

/// Probability per stop that the page is hidden for a while (2 s to 10 min, log-uniform); a
/// `visibility` event with the hidden time as `duration_ms` marks the return.
pub const VISIBILITY_RATE_PER_STOP: f64 = 0.03;
/// Probability that a desktop page view has one window resize.
pub const RESIZE_RATE_PER_PAGEVIEW: f64 = 0.02;
/// Probability of abandoning a form after each field.
pub const FORM_ABANDON_RATE_PER_FIELD: f64 = 0.06;
/// Most `input` events per field (trackers debounce typing); a `change` follows them.
pub const INPUTS_PER_FIELD_MAX: u32 = 4;

/// Longest time a page view lasts; no session starts a page view that could end after the last
/// day.
pub const PAGEVIEW_SPAN_MAX_MS: i64 = 40 * 60_000;
/// After this much time in a page view, no new reading stop begins.
pub const PAGEVIEW_ACTIVE_MAX_MS: i64 = 20 * 60_000;
