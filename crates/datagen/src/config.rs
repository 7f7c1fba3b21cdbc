//! What to generate: [`GenConfig`] and the standard scales used by tests and benchmarks.

use chrono::NaiveDate;

use crate::{Error, Result};

/// Midnight UTC of 2026-11-01, the default first day.
pub const DEFAULT_START_MS: i64 = 1_793_491_200_000;

/// Most sites a configuration may ask for.
pub const SITES_MAX: u32 = 1_000;
/// Most pages one site may have.
pub const PAGES_PER_SITE_MAX: u32 = 100_000;
/// Most pages over all sites (bounds the catalogue's memory, which does not grow with `events`).
pub const PAGES_TOTAL_MAX: u64 = 1_000_000;
/// Most days the generated traffic may span.
pub const DAYS_MAX: u32 = 3_660;

/// What to generate. The same configuration always produces the same events, byte for byte.
///
/// ```
/// use heatlake_datagen::GenConfig;
/// let config = GenConfig { events: 10_000, seed: 7, ..GenConfig::default() };
/// assert_eq!(config.sites, 5);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GenConfig {
    /// Number of events to write, exactly: the last page view is cut short when the count is
    /// reached. Default: 1,000,000.
    pub events: u64,
    /// Seed of every random choice (catalogue, visitors, sessions). Default: 1.
    pub seed: u64,
    /// Number of sites (`shop.example`, `news.example`, `docs.example`, `blog.example`,
    /// `app.example`, then further named sites, then `site-N.example`); their traffic shares are
    /// skewed, Zipf-like with exponent 1. `1..=`[`SITES_MAX`]. Default: 5.
    pub sites: u32,
    /// Pages per site; rank 0 is the home page. `1..=`[`PAGES_PER_SITE_MAX`], and
    /// `sites * pages_per_site <= `[`PAGES_TOTAL_MAX`]. Default: 200.
    pub pages_per_site: u32,
    /// Exponent of the Zipf-like page popularity (`1 / rank^exponent`), used for entry pages and
    /// for navigation that does not follow a clicked link. `0.0..=4.0`. Default: 1.1.
    pub page_popularity_exponent: f64,
    /// Start of the first day, milliseconds since the Unix epoch, UTC. Must be a midnight (UTC).
    /// Default: 2026-11-01T00:00Z ([`DEFAULT_START_MS`]).
    pub start_ms: i64,
    /// Number of days the sessions are spread over, with a daily cycle (quiet nights, busy
    /// evenings) and quieter weekends. No event falls outside them. `1..=`[`DAYS_MAX`]. Default: 7.
    pub days: u32,
}

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            events: 1_000_000,
            seed: 1,
            sites: 5,
            pages_per_site: 200,
            page_popularity_exponent: 1.1,
            start_ms: DEFAULT_START_MS,
            days: 7,
        }
    }
}

impl GenConfig {
    /// The default configuration with `events` events and `seed`.
    pub fn with_events(events: u64, seed: u64) -> Self {
        Self {
            events,
            seed,
            ..Self::default()
        }
    }

    /// The configuration of a standard scale (see [`StandardScale`]).
    pub fn standard(scale: StandardScale) -> Self {
        Self::with_events(scale.events(), scale.seed())
    }

    /// The configuration of the committed sample `datasets/sample-1k.ndjson`: 1,000 events,
    /// seed 42.
    pub fn sample() -> Self {
        Self::with_events(1_000, 42)
    }

    /// Sets the first day from a `YYYY-MM-DD` date (midnight UTC).
    pub fn with_start_date(mut self, date: &str) -> Result<Self> {
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|error| {
            Error::config(
                "start_date",
                format!("{date:?}"),
                format!("is not a YYYY-MM-DD date ({error})"),
            )
        })?;
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        self.start_ms = midnight.timestamp_millis();
        self.check()?;
        Ok(self)
    }

    /// End of the last day (exclusive), milliseconds since the Unix epoch.
    pub fn end_ms(&self) -> i64 {
        self.start_ms + i64::from(self.days) * DAY_MS
    }

    /// Checks every field against its documented range.
    pub fn check(&self) -> Result<()> {
        if !(1..=SITES_MAX).contains(&self.sites) {
            return Err(Error::config(
                "sites",
                self.sites,
                format!("is outside 1..={SITES_MAX}"),
            ));
        }
        if !(1..=PAGES_PER_SITE_MAX).contains(&self.pages_per_site) {
            return Err(Error::config(
                "pages_per_site",
                self.pages_per_site,
                format!("is outside 1..={PAGES_PER_SITE_MAX}"),
            ));
        }
        let pages_total = u64::from(self.sites) * u64::from(self.pages_per_site);
        if pages_total > PAGES_TOTAL_MAX {
            return Err(Error::config(
                "pages_per_site",
                self.pages_per_site,
                format!(
                    "gives {pages_total} pages over {} sites, more than the {PAGES_TOTAL_MAX} allowed",
                    self.sites
                ),
            ));
        }
        if !(0.0..=4.0).contains(&self.page_popularity_exponent) {
            return Err(Error::config(
                "page_popularity_exponent",
                self.page_popularity_exponent,
                "is outside 0.0..=4.0",
            ));
        }
        if !(1..=DAYS_MAX).contains(&self.days) {
            return Err(Error::config(
                "days",
                self.days,
                format!("is outside 1..={DAYS_MAX}"),
            ));
        }
        let (ts_min, ts_max) = (
            heatlake_model::validate::TS_MIN_MS,
            heatlake_model::validate::TS_MAX_MS,
        );
        if self.start_ms.rem_euclid(DAY_MS) != 0 || self.start_ms < ts_min || self.end_ms() > ts_max
        {
            return Err(Error::config(
                "start_ms",
                self.start_ms,
                "must be a midnight UTC such that every day lies within 2000-01-01..2100-01-01",
            ));
        }
        Ok(())
    }
}

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// The data sets every test and benchmark agrees on (`datasets/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StandardScale {
    /// 1,000,000 events, seed 1: `datasets/generated/events-1m.ndjson.gz`.
    OneMillion,
    /// 10,000,000 events, seed 10: `datasets/generated/events-10m.ndjson.gz`.
    TenMillion,
    /// 100,000,000 events, seed 100: `datasets/generated/events-100m.ndjson.gz`.
    HundredMillion,
}

impl StandardScale {
    /// Every standard scale, smallest first.
    pub const ALL: [StandardScale; 3] = [
        StandardScale::OneMillion,
        StandardScale::TenMillion,
        StandardScale::HundredMillion,
    ];

    /// Number of events.
    pub const fn events(self) -> u64 {
        match self {
            StandardScale::OneMillion => 1_000_000,
            StandardScale::TenMillion => 10_000_000,
            StandardScale::HundredMillion => 100_000_000,
        }
    }

    /// Seed.
    pub const fn seed(self) -> u64 {
        match self {
            StandardScale::OneMillion => 1,
            StandardScale::TenMillion => 10,
            StandardScale::HundredMillion => 100,
        }
    }

    /// Short name used in file names: `1m`, `10m`, `100m`.
    pub const fn name(self) -> &'static str {
        match self {
            StandardScale::OneMillion => "1m",
            StandardScale::TenMillion => "10m",
            StandardScale::HundredMillion => "100m",
        }
    }

    /// The file name of the scale's NDJSON data set under `datasets/generated/`:
    /// `events-1m.ndjson.gz`, `events-10m.ndjson.gz`, `events-100m.ndjson.gz`.
    pub const fn file_name(self) -> &'static str {
        match self {
            StandardScale::OneMillion => "events-1m.ndjson.gz",
            StandardScale::TenMillion => "events-10m.ndjson.gz",
            StandardScale::HundredMillion => "events-100m.ndjson.gz",
        }
    }

    /// The scale named `1m`, `10m` or `100m`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scale| scale.name() == name)
    }
}
