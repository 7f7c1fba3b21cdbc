//! Where visits come from and when: referrers, campaign query strings, session start times.
//!
//! A few URLs and referrers deliberately carry an e-mail address, a test card number
//! (4111 1111 1111 1111 and friends, Luhn-valid, never real) or URL credentials, so that every
//! privacy scrubber has work to do on generated data.

use std::fmt::Write;

use rand::Rng;
use rand::rngs::SmallRng;

use crate::catalog::{Catalog, PageKind};
use crate::config::{DAY_MS, GenConfig};
use crate::rng::{Cdf, chance};

/// How a session's first page view was reached, with its share of sessions.
pub const ENTRY_SHARES: [(Entry, f64); 6] = [
    (Entry::Direct, 0.35),
    (Entry::Search, 0.30),
    (Entry::Social, 0.12),
    (Entry::OtherSite, 0.10),
    (Entry::Newsletter, 0.08),
    (Entry::Ads, 0.05),
];

/// Weights of session starts per UTC hour of day: quiet nights, a morning rise, busy evenings.
pub const HOUR_WEIGHTS: [f64; 24] = [
    2.0, 1.4, 1.0, 0.8, 0.8, 1.0, 1.8, 3.2, 4.8, 5.8, 6.3, 6.6, 6.9, 6.7, 6.4, 6.4, 6.7, 7.1, 7.6,
    8.0, 7.7, 6.4, 4.8, 3.2,
];

/// Weight of a Saturday or Sunday relative to a weekday.
pub const WEEKEND_WEIGHT: f64 = 0.8;

/// Share of sessions entering from a newsletter whose URL carries the subscriber's e-mail address.
pub const NEWSLETTER_EMAIL_SHARE: f64 = 0.05;
/// Share of search and other-site referrers that carry a test card number or URL credentials.
pub const REFERRER_SECRET_SHARE: f64 = 0.01;
/// Share of checkout page views whose URL carries a test card number.
pub const CHECKOUT_CARD_SHARE: f64 = 0.01;

/// How a session's first page view was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entry {
    /// Typed or bookmarked: no referrer.
    Direct,
    /// A search engine.
    Search,
    /// A social network.
    Social,
    /// A link on another site.
    OtherSite,
    /// A newsletter link with `utm_*` parameters.
    Newsletter,
    /// A paid search ad with `utm_*` parameters and a click id.
    Ads,
}

const SEARCH_WORDS: [&str; 12] = [
    "best", "cheap", "review", "how", "to", "guide", "near", "me", "open", "hours", "price", "2026",
];

const TEST_CARDS: [&str; 3] = [
    "4111111111111111",
    "5555555555554444",
    "4012-8888-8888-1881",
];
const TEST_EMAILS: [&str; 3] = [
    "jane.doe@example.com",
    "j.smith@example.org",
    "max+news@example.net",
];

/// Precomputed weights of the entry mix and of session start times.
#[derive(Debug, Clone)]
pub(crate) struct Traffic {
    entries: Cdf,
    days: Cdf,
    hours: Cdf,
    start_ms: i64,
    latest_start_ms: i64,
}

impl Traffic {
    /// `pageview_span_ms` is the longest a page view may last: sessions start early enough for
    /// their first page view to end within the last day.
    pub(crate) fn new(config: &GenConfig, pageview_span_ms: i64) -> Self {
        let first_day = config.start_ms.div_euclid(DAY_MS);
        let days = Cdf::new((0..i64::from(config.days)).map(|day| {
            // 1970-01-01 was a Thursday, so with Sunday as 0 the weekday is `(days + 4) mod 7`.
            let weekday = (first_day + day + 4).rem_euclid(7);
            if weekday == 0 || weekday == 6 {
                WEEKEND_WEIGHT
            } else {
                1.0
            }
        }));
        Self {
            entries: Cdf::new(ENTRY_SHARES.iter().map(|(_, share)| *share)),
            days,
            hours: Cdf::new(HOUR_WEIGHTS),
            start_ms: config.start_ms,
            latest_start_ms: config.end_ms() - pageview_span_ms - 1,
        }
    }

    /// A session start time: a weighted day, a weighted hour, a uniform moment within it.
    pub(crate) fn session_start(&self, rng: &mut SmallRng) -> i64 {
        let day = self.days.pick(rng) as i64;
        let hour = self.hours.pick(rng) as i64;
        let ms = rng.random_range(0..3_600_000);
        (self.start_ms + day * DAY_MS + hour * 3_600_000 + ms).min(self.latest_start_ms)
    }

    /// Picks how the session was entered; writes its referrer (empty for none) and the query
    /// string (with `?`, or empty) the landing URL gets.
    pub(crate) fn entry(
        &self,
        rng: &mut SmallRng,
        catalog: &Catalog,
        site_index: usize,
        referrer: &mut String,
        query: &mut String,
    ) -> Entry {
        let site = &catalog.sites()[site_index];
        referrer.clear();
        query.clear();
        let entry = ENTRY_SHARES[self.entries.pick(rng)].0;
        // Writing into a String cannot fail.
        let _ = match entry {
            Entry::Direct => Ok(()),
            Entry::Search => search_referrer(rng, referrer),
            Entry::Social => {
                let _ = match rng.random_range(0..5) {
                    0 => write!(referrer, "https://t.co/{:010x}", rng.random::<u64>() >> 24),
                    1 => write!(referrer, "https://www.facebook.com/"),
                    2 => write!(referrer, "https://l.instagram.com/"),
                    3 => write!(
                        referrer,
                        "https://www.reddit.com/r/{}/",
                        pick(rng, &SEARCH_WORDS)
                    ),
                    _ => write!(referrer, "https://www.linkedin.com/"),
                };
                write!(query, "?utm_source=social&utm_medium=organic")
            }
            Entry::OtherSite => {
                if chance(rng, REFERRER_SECRET_SHARE) {
                    write!(
                        referrer,
                        "https://admin:hunter2@intranet.example.net/reports/weekly"
                    )
                } else if catalog.sites().len() > 1 && chance(rng, 0.5) {
                    // Another of the generated sites, never the site itself.
                    let pick = rng.random_range(0..catalog.sites().len() - 1);
                    let other = &catalog.sites()[if pick >= site_index { pick + 1 } else { pick }];
                    let page = &other.pages()[rng.random_range(0..other.pages().len().min(20))];
                    write!(referrer, "https://{}", page.path)
                } else {
                    write!(
                        referrer,
                        "https://news.ycombinator.com/item?id={}",
                        rng.random_range(41_000_000..43_000_000)
                    )
                }
            }
            Entry::Newsletter => {
                if chance(rng, 0.3) {
                    referrer.push_str("https://mail.google.com/");
                }
                let campaign = ["weekly", "digest", "sale"][rng.random_range(0..3)];
                let _ = write!(
                    query,
                    "?utm_source=newsletter&utm_medium=email&utm_campaign=nov-{campaign}"
                );
                if chance(rng, NEWSLETTER_EMAIL_SHARE) {
                    let _ = write!(query, "&subscriber={}", pick(rng, &TEST_EMAILS));
                }
                Ok(())
            }
            Entry::Ads => {
                referrer.push_str("https://www.google.com/");
                write!(
                    query,
                    "?utm_source=google&utm_medium=cpc&utm_campaign={}&gclid={:016x}",
                    site.brand.to_ascii_lowercase(),
                    rng.random::<u64>()
                )
            }
        };
        entry
    }
}

fn pick<'a>(rng: &mut SmallRng, words: &[&'a str]) -> &'a str {
    words[rng.random_range(0..words.len())]
}

fn search_referrer(rng: &mut SmallRng, referrer: &mut String) -> std::fmt::Result {
    match rng.random_range(0..100) {
        0..80 => write!(referrer, "https://www.google.com/"),
        80..92 => {
            write!(
                referrer,
                "https://www.bing.com/search?q={}+{}",
                pick(rng, &SEARCH_WORDS),
                pick(rng, &SEARCH_WORDS)
            )?;
            if chance(rng, REFERRER_SECRET_SHARE * 10.0) {
                write!(referrer, "+refund+{}", pick(rng, &TEST_CARDS))?;
            }
            Ok(())
        }
        _ => write!(referrer, "https://duckduckgo.com/"),
    }
}

/// Appends the page's own query string or fragment (search terms, sorting, variants, and on
/// checkout pages now and then a test card number) to `url`.
pub(crate) fn page_query(rng: &mut SmallRng, kind: PageKind, url: &mut String) {
    let has_query = url.contains('?');
    let separator = if has_query { '&' } else { '?' };
    let _ = match kind {
        PageKind::Search => write!(
            url,
            "{separator}q={}+{}",
            pick(rng, &SEARCH_WORDS),
            pick(rng, &SEARCH_WORDS)
        ),
        PageKind::Listing if chance(rng, 0.15) => {
            write!(url, "{separator}page={}", rng.random_range(2..6))
        }
        PageKind::Listing if chance(rng, 0.1) => write!(url, "{separator}sort=price"),
        PageKind::Product if chance(rng, 0.1) => {
            write!(url, "{separator}variant={}", rng.random_range(1..5))
        }
        PageKind::Checkout if chance(rng, CHECKOUT_CARD_SHARE) => {
            write!(url, "{separator}card={}", pick(rng, &TEST_CARDS))
        }
        PageKind::Article if chance(rng, 0.02) => write!(url, "#comments"),
        _ => Ok(()),
    };
}
