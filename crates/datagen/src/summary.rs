//! What was written: [`Summary`].

use std::collections::{BTreeMap, BTreeSet};

use heatlake_model::EventType;
use heatlake_model::event::date_days_of;
use serde::Serialize;

/// Counts of what a generator run wrote, exactly: the end-to-end tests compare them with SQL
/// over the imported data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Events written.
    pub events: u64,
    /// Events written per type name (`pageview`, `click`, ...); types never written are absent.
    pub events_by_type: BTreeMap<String, u64>,
    /// Distinct sites with at least one event.
    pub sites: u64,
    /// Distinct visitors with at least one event.
    pub visitors: u64,
    /// Distinct sessions with at least one event.
    pub sessions: u64,
    /// Page views started: equal to `events_by_type["pageview"]`.
    pub pageviews: u64,
    /// Distinct UTC days with at least one event.
    pub days: u64,
    /// Earliest event time, ms since the Unix epoch (absent when nothing was written).
    pub ts_min_ms: Option<i64>,
    /// Latest event time, ms since the Unix epoch (absent when nothing was written).
    pub ts_max_ms: Option<i64>,
}

/// Running counts behind a [`Summary`].
#[derive(Debug, Default)]
pub(crate) struct Tally {
    by_type: [u64; EventType::ALL.len()],
    sites: Vec<bool>,
    visitors: u64,
    sessions: u64,
    last_visitor: Option<u64>,
    last_session: Option<u64>,
    days: BTreeSet<i32>,
    last_day: Option<i32>,
    ts_min_ms: i64,
    ts_max_ms: i64,
    events: u64,
}

impl Tally {
    pub(crate) fn new(sites: usize) -> Self {
        Self {
            sites: vec![false; sites],
            ts_min_ms: i64::MAX,
            ts_max_ms: i64::MIN,
            ..Self::default()
        }
    }

    /// Counts one written event of `site`, visitor serial `visitor` and session serial `session`.
    #[inline]
    pub(crate) fn count(
        &mut self,
        site: usize,
        visitor: u64,
        session: u64,
        event_type: EventType,
        ts_ms: i64,
    ) {
        self.events += 1;
        self.by_type[event_type as usize] += 1;
        if self.last_session != Some(session) {
            self.last_session = Some(session);
            self.sessions += 1;
            self.sites[site] = true;
            if self.last_visitor != Some(visitor) {
                self.last_visitor = Some(visitor);
                self.visitors += 1;
            }
        }
        let day = date_days_of(ts_ms);
        if self.last_day != Some(day) {
            self.last_day = Some(day);
            self.days.insert(day);
        }
        self.ts_min_ms = self.ts_min_ms.min(ts_ms);
        self.ts_max_ms = self.ts_max_ms.max(ts_ms);
    }

    /// Events counted so far.
    pub(crate) fn events(&self) -> u64 {
        self.events
    }

    pub(crate) fn summary(&self) -> Summary {
        let events_by_type = EventType::ALL
            .iter()
            .zip(self.by_type)
            .filter(|(_, count)| *count > 0)
            .map(|(event_type, count)| (event_type.as_str().to_owned(), count))
            .collect();
        let written = self.events > 0;
        Summary {
            events: self.events,
            events_by_type,
            sites: self.sites.iter().filter(|seen| **seen).count() as u64,
            visitors: self.visitors,
            sessions: self.sessions,
            pageviews: self.by_type[EventType::Pageview as usize],
            days: self.days.len() as u64,
            ts_min_ms: written.then_some(self.ts_min_ms),
            ts_max_ms: written.then_some(self.ts_max_ms),
        }
    }
}
