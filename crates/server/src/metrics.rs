//! Prometheus metrics (OpenMetrics text at `GET /metrics`).
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | `heatlake_events_accepted_total` | counter | (all sites together) |
//! | `heatlake_site_events_accepted_total` | counter | `site`; only with the metrics token |
//! | `heatlake_events_rejected_total` | counter | `reason` (events of refused requests, where counted) |
//! | `heatlake_requests_rejected_total` | counter | `reason` |
//! | `heatlake_requests_dropped_total` | counter | `reason`: `opt_out`, `dnt` (2xx, nothing stored) |
//! | `heatlake_request_bytes_total` | counter | body bytes as received |
//! | `heatlake_request_decoded_bytes_total` | counter | body bytes after decompression |
//! | `heatlake_request_duration_seconds` | histogram | `route`, `status` |
//! | `heatlake_wal_bytes` | gauge | write-ahead log on disk |
//! | `heatlake_wal_degraded` | gauge | 1 while the write-ahead log recovers from a failed write (appends get 503) |
//! | `heatlake_backlog_events` | gauge | acknowledged, not yet committed |
//! | `heatlake_committed_events` | gauge | committed to the table since start |
//! | `heatlake_commits_total` | counter | commits reported by the collector |
//! | `heatlake_commit_duration_seconds` | histogram | put + commit time of each commit |

//!
//! Per-site series tell which sites a collector serves and how busy each is, so they are
//! rendered only for a request carrying the configured `metrics_token` (see
//! [`Metrics::render`]); everything else names no site.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::Reason;
use crate::sink::SinkStats;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabels {
    site: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    status: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn request_histogram() -> Histogram {
    // 0.1 ms .. ~3.3 s
    Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
}

/// The collector's metrics; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Metrics(Arc<MetricsInner>);

#[derive(Debug)]
struct MetricsInner {
    registry: Registry,
    site_registry: Registry,
    events_accepted: Counter,
    site_events_accepted: Family<SiteLabels, Counter>,
    events_rejected: Family<ReasonLabels, Counter>,
    requests_rejected: Family<ReasonLabels, Counter>,
    requests_dropped: Family<ReasonLabels, Counter>,
    request_bytes: Counter,
    request_decoded_bytes: Counter,
    request_duration: HistogramFamily,
    wal_bytes: Gauge,
    wal_degraded: Gauge,
    backlog_events: Gauge,
    committed_events: Gauge,
    commits: Counter,
    commit_duration: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("heatlake");
        let mut site_registry = Registry::with_prefix("heatlake");
        let inner = MetricsInner {
            events_accepted: Counter::default(),
            site_events_accepted: Family::default(),
            events_rejected: Family::default(),
            requests_rejected: Family::default(),
            requests_dropped: Family::default(),
            request_bytes: Counter::default(),
            request_decoded_bytes: Counter::default(),
            request_duration: HistogramFamily::new_with_constructor(request_histogram),
            wal_bytes: Gauge::default(),
            wal_degraded: Gauge::default(),
            backlog_events: Gauge::default(),
            committed_events: Gauge::default(),
            commits: Counter::default(),
            // 1 ms .. ~33 s
            commit_duration: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            registry: Registry::default(),
            site_registry: Registry::default(),
        };
        registry.register(
            "events_accepted",
            "Events acknowledged (durable in the write-ahead log)",
            inner.events_accepted.clone(),
        );
        site_registry.register(
            "site_events_accepted",
            "Events acknowledged (durable in the write-ahead log), by site",
            inner.site_events_accepted.clone(),
        );
        registry.register(
            "events_rejected",
            "Events of refused requests, by reason",
            inner.events_rejected.clone(),
        );
        registry.register(
            "requests_rejected",
            "Refused requests, by reason",
            inner.requests_rejected.clone(),
        );
        registry.register(
            "requests_dropped",
            "Requests answered 2xx whose events were dropped (opt-out, Do Not Track / GPC)",
            inner.requests_dropped.clone(),
        );
        registry.register(
            "request_bytes",
            "Request body bytes as received",
            inner.request_bytes.clone(),
        );
        registry.register(
            "request_decoded_bytes",
            "Request body bytes after decompression",
            inner.request_decoded_bytes.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request, by route and status",
            inner.request_duration.clone(),
        );
        registry.register(
            "wal_bytes",
            "Bytes of write-ahead log on disk",
            inner.wal_bytes.clone(),
        );
        registry.register(
            "wal_degraded",
            "1 while the write-ahead log recovers from a failed write or sync (appends are refused with 503), else 0",
            inner.wal_degraded.clone(),
        );
        registry.register(
            "backlog_events",
            "Events acknowledged but not yet committed to the table",
            inner.backlog_events.clone(),
        );
        registry.register(
            "committed_events",
            "Events committed to the table since start",
            inner.committed_events.clone(),
        );
        registry.register(
            "commits",
            "Table commits reported by the collector",
            inner.commits.clone(),
        );
        registry.register(
            "commit_duration_seconds",
            "Time of one flush: Parquet put and Delta commit",
            inner.commit_duration.clone(),
        );
        Self(Arc::new(MetricsInner {
            registry,
            site_registry,
            ..inner
        }))
    }

    /// Counts `events` acknowledged for `site`.
    pub fn events_accepted(&self, site: &str, events: usize) {
        self.0.events_accepted.inc_by(events as u64);
        self.0
            .site_events_accepted
            .get_or_create(&SiteLabels {
                site: site.to_owned(),
            })
            .inc_by(events as u64);
    }

    /// Counts a refused request.
    pub fn request_rejected(&self, reason: Reason) {
        self.0
            .requests_rejected
            .get_or_create(&ReasonLabels {
                reason: reason.as_str().to_owned(),
            })
            .inc();
    }

    /// Counts the events of a refused request, where their number is known.
    pub fn events_rejected(&self, reason: Reason, events: usize) {
        self.0
            .events_rejected
            .get_or_create(&ReasonLabels {
                reason: reason.as_str().to_owned(),
            })
            .inc_by(events as u64);
    }

    /// Counts a request whose events were dropped on the visitor's wish.
    pub fn dropped(&self, reason: &str) {
        self.0
            .requests_dropped
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts request body bytes, as received and decoded.
    pub fn body_bytes(&self, received: usize, decoded: usize) {
        self.0.request_bytes.inc_by(received as u64);
        self.0.request_decoded_bytes.inc_by(decoded as u64);
    }

    /// Records the time to answer one request.
    pub fn request(&self, route: &str, status: u16, duration: Duration) {
        self.0
            .request_duration
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                status: status.to_string(),
            })
            .observe(duration.as_secs_f64());
    }

    /// Records one commit of the collector (wire this to its `on_commit` callback).
    pub fn commit(&self, duration: Duration) {
        self.0.commits.inc();
        self.0.commit_duration.observe(duration.as_secs_f64());
    }

    /// The metrics as OpenMetrics text, with the sink's current figures; the per-site series
    /// only `with_sites`.
    pub fn render(&self, stats: SinkStats, with_sites: bool) -> String {
        let to_gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.0.wal_bytes.set(to_gauge(stats.wal_bytes));
        self.0.wal_degraded.set(i64::from(stats.storage_degraded));
        self.0.backlog_events.set(to_gauge(stats.backlog_events));
        self.0
            .committed_events
            .set(to_gauge(stats.committed_events));
        let mut text = String::new();
        let mut encoded =
            prometheus_client::encoding::text::encode_registry(&mut text, &self.0.registry);
        if with_sites {
            encoded = encoded.and_then(|()| {
                prometheus_client::encoding::text::encode_registry(&mut text, &self.0.site_registry)
            });
        }
        match encoded.and_then(|()| prometheus_client::encoding::text::encode_eof(&mut text)) {
            Ok(()) => text,
            Err(_) => "# metrics could not be encoded\n".to_owned(),
        }
    }
}
