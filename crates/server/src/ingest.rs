//! From wire events to one Arrow batch of a site: site check, server-side facts (user agent,
//! client address), validation and privacy through [`heatlake_model::IngestContext::accept`].

use std::borrow::Cow;

use arrow_array::RecordBatch;
use axum::http::StatusCode;
use heatlake_model::privacy::ip::IpMode;
use heatlake_model::{EventBatchBuilder, ValidationError, WireEvent};

use axum::http::request::Parts;

use crate::error::{ApiError, Reason};
use crate::request::{PeerAddr, client_ip, user_agent};
use crate::state::{AppState, SiteState};

/// What the server knows about the sender of a request (an extractor of the write routes).
#[derive(Debug, Clone, Default)]
pub(crate) struct Sender {
    /// The `User-Agent` header, used for events without `ua`.
    pub(crate) user_agent: Option<String>,
    /// The client address, used for events without `ip` when the site keeps IP prefixes.
    pub(crate) client_ip: Option<String>,
}

impl Sender {
    /// The sender of the request `parts`: its `User-Agent`, and its address from the trusted
    /// proxy header or the connection.
    pub(crate) fn of(state: &AppState, parts: &Parts) -> Self {
        Self {
            user_agent: user_agent(&parts.headers).map(str::to_owned),
            client_ip: client_ip(
                state.config(),
                &parts.headers,
                parts.extensions.get::<PeerAddr>().copied(),
            ),
        }
    }
}

/// The span of `ts` the collector accepts around the time it receives an event.
///
/// The wire format allows 2000-2100, which `import` keeps for back-fills; at the collector a
/// request with events spread over that span would create a partition per day, each a file
/// per flush, slowing every site's commits and reads. Events outside are refused (not clamped:
/// a moved time stamp would be a wrong fact in the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AcceptedTime {
    /// The time of receipt, ms since the epoch.
    pub(crate) received_at_ms: i64,
    /// How far before the time of receipt `ts` may be, in ms (`limits.ts_past_max_ms`).
    pub(crate) past_max_ms: u64,
    /// How far after the time of receipt `ts` may be, in ms (`limits.ts_future_max_ms`).
    pub(crate) future_max_ms: u64,
}

impl AcceptedTime {
    /// The window of `limits` around now.
    pub(crate) fn now(limits: &crate::config::LimitsConfig) -> Self {
        Self {
            received_at_ms: now_ms(),
            past_max_ms: limits.ts_past_max_ms,
            future_max_ms: limits.ts_future_max_ms,
        }
    }

    /// The named bound `ts` breaks, with the error to show, if it breaks one.
    fn check(&self, ts: i64) -> Result<(), (&'static str, ValidationError)> {
        let earliest = self
            .received_at_ms
            .saturating_sub_unsigned(self.past_max_ms);
        let latest = self
            .received_at_ms
            .saturating_add_unsigned(self.future_max_ms);
        let (limit, bound_ms, direction) = if ts < earliest {
            ("ts_past_max_ms", self.past_max_ms, "before")
        } else if ts > latest {
            ("ts_future_max_ms", self.future_max_ms, "after")
        } else {
            return Ok(());
        };
        let rule = format!(
            "is more than {limit} ({bound_ms} ms) {direction} the time the collector received it ({}); `heatlake import` takes older events",
            self.received_at_ms
        );
        Err((limit, ValidationError::field("ts", ts, rule)))
    }
}

/// Accepts every event or none: the first event that is invalid (400), outside the accepted
/// time (400) or of another site (403) refuses the whole request, naming its index.
pub(crate) fn build_batch<'a>(
    site: &SiteState,
    events: impl ExactSizeIterator<Item = Result<WireEvent<'a>, ValidationError>>,
    sender: &'a Sender,
    accepted_time: AcceptedTime,
) -> Result<RecordBatch, ApiError> {
    let received_at_ms = accepted_time.received_at_ms;
    let mut builder = EventBatchBuilder::with_capacity(events.len());
    let mut context = site.take_context(received_at_ms);
    let keep_ip = site.config.privacy.ip != IpMode::Drop;
    let mut outcome = Ok(());
    for (index, event) in events.enumerate() {
        let mut wire = match event {
            Ok(wire) => wire,
            Err(error) => {
                outcome = Err(ApiError::invalid_event(index, error));
                break;
            }
        };
        if let Some(sent) = wire.site.as_deref()
            && sent != site.config.id
        {
            let mut error = ApiError::new(
                StatusCode::FORBIDDEN,
                Reason::WrongSite,
                format!(
                    "event {index}: site {sent:?} is not the site of the write key ({:?}); nothing was stored",
                    site.config.id
                ),
            );
            error.body.index = Some(index);
            error.body.field = Some("site");
            outcome = Err(error);
            break;
        }
        if let Some(ts) = wire.ts
            && let Err((limit, error)) = accepted_time.check(ts)
        {
            let mut error = ApiError::invalid_event(index, error);
            error.body.limit = Some(Cow::Borrowed(limit));
            outcome = Err(error);
            break;
        }
        if wire.ua.is_none() {
            wire.ua = sender.user_agent.as_deref().map(Cow::Borrowed);
        }
        if keep_ip && wire.ip.is_none() {
            wire.ip = sender.client_ip.as_deref().map(Cow::Borrowed);
        }
        match context.accept(wire) {
            Ok(event) => builder.append(&event),
            Err(error) => {
                outcome = Err(ApiError::invalid_event(index, error));
                break;
            }
        }
    }
    site.give_back(context);
    outcome.map(|()| builder.finish())
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}
