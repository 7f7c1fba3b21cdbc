//! What every request handler shares: the configuration, the sites, the sink, the reader and the
//! metrics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use heatlake_model::IngestContext;
use heatlake_model::privacy::ids::{IdSecret, SiteIdKey};
use tokio::sync::Semaphore;

use crate::budget::InflightBudget;
use crate::config::{ServerConfig, SiteConfig};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::ratelimit::TokenBucket;
use crate::read::Reader;
use crate::sink::EventSink;

/// Ingest contexts kept per site for reuse (each holds caches of pseudonyms and user agents).
const CONTEXTS_PER_SITE_MAX: usize = 8;

/// One configured site and its running state.
#[derive(Debug)]
pub struct SiteState {
    /// The site's configuration.
    pub config: SiteConfig,
    bucket: Mutex<TokenBucket>,
    template: IngestContext,
    contexts: Mutex<Vec<IngestContext>>,
    batch_id_key: SiteIdKey,
}

impl SiteState {
    fn new(config: SiteConfig, secret: &IdSecret) -> Self {
        let template = IngestContext::new(secret.clone(), config.privacy.clone(), 0);
        Self {
            bucket: Mutex::new(TokenBucket::new(
                config.rate_events_per_second,
                config.rate_burst_events,
                Instant::now(),
            )),
            template,
            contexts: Mutex::new(Vec::new()),
            batch_id_key: SiteIdKey::new(secret, &format!("batch-id\u{0}{}", config.id)),
            config,
        }
    }

    /// The key a client's batch id is deduplicated by: a keyed hash of it, so that whatever a
    /// client puts in a batch id (it is theirs to choose) never reaches the WAL or a log.
    pub fn batch_key(&self, batch_id: &str) -> String {
        format!("{:016x}", self.batch_id_key.pseudonymise(batch_id))
    }

    /// Takes `events` from the site's rate bucket, or says how long to wait.
    pub fn try_take(&self, events: usize) -> Result<(), std::time::Duration> {
        lock(&self.bucket).try_take(events, Instant::now())
    }

    /// An ingest context for this site (the site's privacy policy, the id secret), stamped with
    /// `received_at_ms`. Give it back with [`SiteState::give_back`].
    pub fn take_context(&self, received_at_ms: i64) -> IngestContext {
        let mut context = lock(&self.contexts)
            .pop()
            .unwrap_or_else(|| self.template.clone());
        context.set_received_at_ms(received_at_ms);
        context
    }

    /// Returns a context for reuse.
    pub fn give_back(&self, context: IngestContext) {
        let mut contexts = lock(&self.contexts);
        if contexts.len() < CONTEXTS_PER_SITE_MAX {
            contexts.push(context);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Shared state of the router; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: ServerConfig,
    sites: Vec<SiteState>,
    by_key: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
    sink: Arc<dyn EventSink>,
    metrics: Metrics,
    requests: Arc<Semaphore>,
    inflight: InflightBudget,
    cpu_permits: Arc<Semaphore>,
    reader: Reader,
    shutting_down: AtomicBool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("sites", &self.0.by_id.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Checks `config` and builds the state. `secret` keys the visitor/session/page view
    /// pseudonyms; `metrics` is passed in so that the sink's commit callback can record into it.
    pub fn new(
        config: ServerConfig,
        secret: &IdSecret,
        sink: Arc<dyn EventSink>,
        metrics: Metrics,
    ) -> Result<Self> {
        config.validate()?;
        let sites: Vec<SiteState> = config
            .sites
            .iter()
            .map(|site| SiteState::new(site.clone(), secret))
            .collect();
        let by_key = sites
            .iter()
            .enumerate()
            .map(|(index, site)| (site.config.write_key.clone(), index))
            .collect();
        let by_id = sites
            .iter()
            .enumerate()
            .map(|(index, site)| (site.config.id.clone(), index))
            .collect();
        let requests = Arc::new(Semaphore::new(config.limits.concurrent_requests_max));
        let inflight = InflightBudget::new(config.limits.inflight_bytes_max);
        let cpu_permits = Arc::new(Semaphore::new(config.limits.cpu_tasks_max));
        let reader = Reader::new(&config)?;
        Ok(Self(Arc::new(Inner {
            config,
            sites,
            by_key,
            by_id,
            sink,
            metrics,
            requests,
            inflight,
            cpu_permits,
            reader,
            shutting_down: AtomicBool::new(false),
        })))
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The sites.
    pub(crate) fn sites(&self) -> &[SiteState] {
        &self.0.sites
    }

    /// The index of the site whose write key is `key`, for [`Self::site_at`].
    pub(crate) fn site_index_by_key(&self, key: &str) -> Option<usize> {
        self.0.by_key.get(key).copied()
    }

    /// The site at `index` of [`Self::sites`].
    pub(crate) fn site_at(&self, index: usize) -> &SiteState {
        &self.0.sites[index]
    }

    /// The site with id `id`.
    pub fn site_by_id(&self, id: &str) -> Option<&SiteState> {
        self.0.by_id.get(id).map(|index| &self.0.sites[*index])
    }

    /// The sink events go to.
    pub fn sink(&self) -> &Arc<dyn EventSink> {
        &self.0.sink
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Permits for requests in flight on the `/v1` routes (`concurrent_requests_max`).
    pub(crate) fn request_permits(&self) -> &Arc<Semaphore> {
        &self.0.requests
    }

    /// Bytes requests may hold while they are decoded (`inflight_bytes_max`).
    pub fn inflight(&self) -> &InflightBudget {
        &self.0.inflight
    }

    /// Permits for CPU-heavy work off the serving threads (`cpu_tasks_max`); see
    /// [`crate::budget::run_cpu`].
    pub(crate) fn cpu_permits(&self) -> &Arc<Semaphore> {
        &self.0.cpu_permits
    }

    /// The read routes' keys, table snapshot and bounds.
    pub fn reader(&self) -> &Reader {
        &self.0.reader
    }

    /// Marks the server as stopping: `/readyz` answers 503 from now on.
    pub fn begin_shutdown(&self) {
        self.0.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Whether the server is stopping.
    pub fn is_shutting_down(&self) -> bool {
        self.0.shutting_down.load(Ordering::SeqCst)
    }
}
