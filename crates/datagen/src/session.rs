//! The walker: visitors, their sessions, and the page views of each session, as events.
//!
//! Visitor `i` is generated from its own random stream (seed, `i`), so a run is a pure function
//! of the configuration. Visitors are walked one after another until the event count is reached;
//! nothing is kept from one visitor to the next but counters, so memory does not grow with the
//! number of events.

use rand::Rng;
use rand::rngs::SmallRng;

use crate::behaviour::*;
use crate::catalog::{Catalog, PageLayout};
use crate::config::GenConfig;
use crate::devices::{DevicePicker, IP_SHARE, documentation_ip};
use crate::pageview::{Next, PageviewRun, Scratch};
use crate::record::{GenEvent, HexId, PageviewContext, Sink};
use crate::rng::{STREAM_VISITOR, chance, geometric, rng_for};
use crate::summary::{Summary, Tally};
use crate::traffic::{Traffic, page_query};
use crate::{Error, Result};

/// The progress callback is called every this many events, and once at the end.
pub const PROGRESS_EVENTS: u64 = 65_536;

/// Why a walk stopped early.
#[derive(Debug)]
pub(crate) enum Halt {
    /// The event count was reached.
    Done,
    /// The output failed.
    Failed(Error),
}

/// The output side of a walk: the sink, the count still to write and the tallies.
pub(crate) struct Out<'p, S> {
    pub(crate) sink: S,
    remaining: u64,
    tally: Tally,
    progress: &'p mut dyn FnMut(u64),
}

impl<S: Sink> Out<'_, S> {
    /// Writes one event; `Err(Halt::Done)` once the last one is written.
    #[inline]
    pub(crate) fn emit(
        &mut self,
        context: &PageviewContext<'_>,
        event: &GenEvent<'_>,
    ) -> Result<(), Halt> {
        self.sink.event(context, event).map_err(Halt::Failed)?;
        self.tally.count(
            context.site_index,
            context.visitor_serial,
            context.session_serial,
            event.event_type,
            event.ts_ms,
        );
        self.remaining -= 1;
        let written = self.tally.events();
        if written.is_multiple_of(PROGRESS_EVENTS) {
            (self.progress)(written);
        }
        if self.remaining == 0 {
            return Err(Halt::Done);
        }
        Ok(())
    }
}

/// Walks `config`'s visitors into `sink` until `config.events` events are written.
pub(crate) fn walk<S: Sink>(
    config: &GenConfig,
    catalog: &Catalog,
    sink: S,
    progress: &mut dyn FnMut(u64),
) -> Result<(Summary, S)> {
    let mut walker = Walker {
        config,
        catalog,
        devices: DevicePicker::new(),
        traffic: Traffic::new(config, PAGEVIEW_SPAN_MAX_MS),
        out: Out {
            sink,
            remaining: config.events,
            tally: Tally::new(catalog.sites().len()),
            progress,
        },
        scratch: Scratch {
            layout: PageLayout::default(),
            visible: Vec::with_capacity(64),
            href: String::with_capacity(128),
            props: String::with_capacity(96),
        },
        session_serial: 0,
    };
    if config.events > 0 {
        let mut visitor = 0u64;
        loop {
            match walker.visitor(visitor) {
                Ok(()) => visitor += 1,
                Err(Halt::Done) => break,
                Err(Halt::Failed(error)) => return Err(error),
            }
        }
    }
    let summary = walker.out.tally.summary();
    (walker.out.progress)(summary.events);
    Ok((summary, walker.out.sink))
}

struct Walker<'c, 'p, S> {
    config: &'c GenConfig,
    catalog: &'c Catalog,
    devices: DevicePicker,
    traffic: Traffic,
    out: Out<'p, S>,
    scratch: Scratch,
    session_serial: u64,
}

impl<'c, S: Sink> Walker<'c, '_, S> {
    fn visitor(&mut self, index: u64) -> Result<(), Halt> {
        let mut rng = rng_for(self.config.seed, STREAM_VISITOR, index);
        let site_index = self.catalog.site_shares().pick(&mut rng);
        let device = self.devices.pick(&mut rng);
        let visitor_id = HexId::random(&mut rng);
        let mut ip = String::new();
        if chance(&mut rng, IP_SHARE) {
            documentation_ip(&mut rng, &mut ip);
        }
        let sessions =
            geometric(&mut rng, 1, SESSION_REPEAT_RATE, SESSIONS_PER_VISITOR_MAX) as usize;
        let mut starts = [0i64; SESSIONS_PER_VISITOR_MAX as usize];
        for start in &mut starts[..sessions] {
            *start = self.traffic.session_start(&mut rng);
        }
        starts[..sessions].sort_unstable();
        let latest_start = self.config.end_ms() - PAGEVIEW_SPAN_MAX_MS;
        let mut earliest = self.config.start_ms;
        let mut visit = Visit {
            site_index,
            device,
            visitor_serial: index,
            visitor_id,
            ip,
        };
        for &planned in &starts[..sessions] {
            let start = planned.max(earliest);
            if start >= latest_start {
                break;
            }
            let end = self.session(&mut rng, &mut visit, start)?;
            earliest = end + SESSION_GAP_MIN_MS;
        }
        Ok(())
    }

    /// One session from `start_ms`; returns when its last event happened.
    fn session(
        &mut self,
        rng: &mut SmallRng,
        visit: &mut Visit,
        start_ms: i64,
    ) -> Result<i64, Halt> {
        let catalog: &'c Catalog = self.catalog;
        let site = &catalog.sites()[visit.site_index];
        self.session_serial += 1;
        let session_id = HexId::random(rng);
        let pageviews = geometric(rng, 1, PAGEVIEW_REPEAT_RATE, PAGEVIEWS_PER_SESSION_MAX);
        let mut referrer = String::with_capacity(128);
        let mut query = String::with_capacity(128);
        self.traffic
            .entry(rng, catalog, visit.site_index, &mut referrer, &mut query);
        let mut url = String::with_capacity(128);
        let mut rank = site.page_popularity().pick(rng);
        let mut t = start_ms;
        let latest_start = self.config.end_ms() - PAGEVIEW_SPAN_MAX_MS;
        for number in 0..pageviews {
            if t >= latest_start {
                break;
            }
            let page = &site.pages()[rank];
            url.clear();
            url.push_str("https://");
            url.push_str(&page.path);
            if number == 0 {
                url.push_str(&query);
            }
            page_query(rng, page.kind, &mut url);
            let context = PageviewContext {
                site_index: visit.site_index,
                site,
                page,
                visitor_serial: visit.visitor_serial,
                session_serial: self.session_serial,
                visitor_id: visit.visitor_id,
                session_id,
                pageview_id: HexId::random(rng),
                url,
                referrer,
                ua: visit.device.ua,
                ip: std::mem::take(&mut visit.ip),
            };
            self.out
                .sink
                .begin_pageview(&context)
                .map_err(Halt::Failed)?;
            let run = PageviewRun::new(
                &mut self.out,
                &mut self.scratch,
                &context,
                rank,
                visit.device,
                t,
            );
            let end = run.run(rng)?;
            // The next page view's referrer is this page view's URL.
            (referrer, url, visit.ip) = (context.url, context.referrer, context.ip);
            t = end.end_ms;
            match end.next {
                Next::Exit => break,
                Next::Page(to) => rank = to,
                Next::Anywhere => rank = site.page_popularity().pick(rng),
            }
            t += rng.random_range(300..4_000);
        }
        Ok(t)
    }
}

/// What stays the same over a visitor's sessions.
struct Visit {
    site_index: usize,
    device: crate::devices::Device,
    visitor_serial: u64,
    visitor_id: HexId,
    ip: String,
}

#[cfg(test)]
mod tests {
    use heatlake_model::EventType;

    #[test]
    fn event_type_discriminants_follow_all() {
        for (index, event_type) in EventType::ALL.iter().enumerate() {
            assert_eq!(*event_type as usize, index);
        }
    }
}
