//! The collector's configuration: a TOML file, then `HEATLAKE_*` environment variables, then
//! command-line flags (applied by the binary), over the defaults of one [`Default`] impl each.
//!
//! `docs/heatlake.example.toml` is a complete, commented example; `docs/collector.md` explains
//! every key. Unknown keys are an error that names them.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use heatlake_ingest::{DEFAULT_HOME, HOME_ENV_VAR, TABLE_ENV_VAR, WAL_DIR_ENV_VAR};
use heatlake_model::PrivacyPolicy;
use heatlake_query::{FunctionLimits, ScopeLimits};
use serde::Deserialize;

use crate::error::{Error, Result};

/// Environment variable overriding [`ServerConfig::listen`].
pub const LISTEN_ENV_VAR: &str = "HEATLAKE_LISTEN";
/// Environment variable overriding [`ServerConfig::client_ip_header`].
pub const CLIENT_IP_HEADER_ENV_VAR: &str = "HEATLAKE_CLIENT_IP_HEADER";
/// The id of the development site added when no site is configured.
pub const DEV_SITE_ID: &str = "dev";

/// Configuration text that is not TOML of the expected shape (unknown keys included). The
/// message is the parser's, naming the key and its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.to_string().trim_end())]
pub struct ConfigParseError(pub toml::de::Error);

/// Everything the collector needs to run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Data directory: the id secret, the development write key, and the default table and
    /// WAL locations live here. Default `./heatlake-data` (as for every command:
    /// [`heatlake_ingest::DataHome`]).
    pub data_dir: PathBuf,
    /// The events table: a path, `file://` or `s3://` URL. Default `<data_dir>/events`.
    pub table: Option<String>,
    /// Directory of the write-ahead log. Default `<data_dir>/wal`.
    pub wal_dir: Option<PathBuf>,
    /// A request header holding the client address set by a trusted reverse proxy (for example
    /// `X-Forwarded-For`; its last entry is used). Default: none, the peer address is used. Set it
    /// only behind a proxy that overwrites the header, or clients can claim any address.
    pub client_ip_header: Option<String>,
    /// Mark the opt-out cookie `Secure; SameSite=None`, so that browsers send it on cross-site
    /// requests. Needs the collector to be reached over https. Default `false` (plain http
    /// development: `SameSite=Lax`).
    pub cookie_secure: bool,
    /// Bounds on requests.
    pub limits: LimitsConfig,
    /// Settings passed to the durable collector (write-ahead log and flusher).
    pub collector: CollectorConfig,
    /// The sites this collector accepts events for. Empty: a development site is added.
    pub sites: Vec<SiteConfig>,
    /// Keys of the read routes (`/v1/sql`, `/v1/heatmap`, ...), each naming the sites it may
    /// read. Empty: the read routes answer 401 (with no configuration file at all, the binary
    /// adds a development read key for the development site).
    pub read_keys: Vec<ReadKeyConfig>,
    /// Bounds on the read routes.
    pub reads: ReadsConfig,
    /// A secret that unlocks the per-site series of `/metrics` (`Authorization: Bearer
    /// <token>`; at least 16 ASCII characters, not a write or read key). Default: none, and
    /// `/metrics` names no site.
    pub metrics_token: Option<String>,
    /// A directory whose files are served under `/pages/` (the browser tests' fixture pages,
    /// which must come from the collector's origin). Default: none, `/pages/` answers 404.
    pub pages_dir: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from(DEFAULT_HOME),
            table: None,
            wal_dir: None,
            client_ip_header: None,
            cookie_secure: false,
            limits: LimitsConfig::default(),
            collector: CollectorConfig::default(),
            sites: Vec::new(),
            read_keys: Vec::new(),
            reads: ReadsConfig::default(),
            metrics_token: None,
            pages_dir: None,
        }
    }
}

/// Named bounds on requests. At a bound the answer is 413, 429 or 503 with a JSON body naming it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body as received (compressed or not), in bytes. Default 1 MiB.
    pub body_bytes_max: usize,
    /// Largest request body after decompression, in bytes; a gzip bomb stops here. Default 8 MiB.
    pub body_decoded_bytes_max: usize,
    /// Most events in one request. Default 5000.
    pub events_per_request_max: usize,
    /// Longest a request may take, body upload included, in ms; then 503. Default 10 s.
    pub request_timeout_ms: u64,
    /// Longest an idle keep-alive connection stays open (and longest to send request headers),
    /// in ms. Default 60 s.
    pub idle_timeout_ms: u64,
    /// Most requests handled at once on the `/v1` routes; more get 503. Default 1024.
    pub concurrent_requests_max: usize,
    /// Longest to wait for requests in flight at shutdown before closing them, in ms. Default 10 s.
    pub shutdown_grace_ms: u64,
    /// Oldest `ts` accepted, in ms before the time of receipt; older events refuse their
    /// request with 400 (`heatlake import` takes back-fills). Default 7 days.
    pub ts_past_max_ms: u64,
    /// Newest `ts` accepted, in ms after the time of receipt (clock skew of senders). Default
    /// 1 day.
    pub ts_future_max_ms: u64,
    /// Bytes that requests being decoded may hold at once, over all requests: bodies as
    /// received and decoded, and the decoded JSON of rrweb batches. A request that would pass
    /// it gets 503 with `Retry-After` before it is decoded. Default 256 MiB.
    pub inflight_bytes_max: usize,
    /// CPU-heavy request work (decompressing large bodies, mapping rrweb batches) running at
    /// once, on threads apart from those that serve requests; more waits (within
    /// `request_timeout_ms`). Default: the number of cores.
    pub cpu_tasks_max: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            body_bytes_max: 1 << 20,
            body_decoded_bytes_max: 8 << 20,
            events_per_request_max: 5000,
            request_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            concurrent_requests_max: 1024,
            shutdown_grace_ms: 10_000,
            ts_past_max_ms: 7 * 86_400_000,
            ts_future_max_ms: 86_400_000,
            inflight_bytes_max: 256 << 20,
            cpu_tasks_max: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

/// A read key: a secret (unlike a write key, it never sits in page source) that lets its holder
/// query the rows of the sites it names, and nothing else. It is not a write key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadKeyConfig {
    /// The key (at least 16 ASCII characters; `hlr_` and random hex by convention). Required.
    pub key: String,
    /// The site ids it may read (at least one). Queries see only these sites' rows. Required.
    pub sites: Vec<String>,
}

/// Named bounds on the read routes. At a bound the answer is 408, 413 or 503 with a JSON body
/// naming it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadsConfig {
    /// Longest one query may plan and run, in ms; then it is cancelled and the answer is 408.
    /// Default 30 s.
    pub query_time_max_ms: u64,
    /// Memory one query's operators may hold at once, in bytes; sorts and aggregations spill to
    /// disk past it, other operators fail with 413. Default 512 MiB.
    pub query_memory_bytes_max: usize,
    /// Most rows in one answer (each part of a scroll answer); more is 413. Default 100 000.
    pub answer_rows_max: usize,
    /// Most bytes of one encoded answer (JSON, CSV, Arrow IPC); more is 413. Default 64 MiB.
    pub answer_bytes_max: usize,
    /// Largest `POST /v1/sql` body, in bytes; more is 413. Default 64 KiB.
    pub sql_bytes_max: usize,
    /// Most read requests answered at once; more get 503 with `Retry-After`. Default 4.
    pub concurrent_queries_max: usize,
    /// How old the table snapshot queries read may be, in ms: new commits become visible to
    /// reads of the latest version within this delay. 0 reads the log on every request.
    /// Default 1000.
    pub snapshot_refresh_ms: u64,
    /// Bytes one query's sorts and aggregations may spill to disk at once; more is 413.
    /// Default 1 GiB (DataFusion's own default is 100 GiB per session, and every request makes
    /// a session).
    pub query_spill_bytes_max: u64,
    /// Bytes one call of a function that builds values outside the memory pool (`repeat`,
    /// `lpad`, `concat`, `range`, ...) may return for one batch of rows, worked out from its
    /// arguments before anything is built; more is 413. Default 64 MiB.
    pub function_output_bytes_max: u64,
    /// Rows of the table functions `generate_series` and `range`; more is 413.
    /// Default 100 000 000.
    pub series_rows_max: u64,
}

impl Default for ReadsConfig {
    fn default() -> Self {
        // The bounds the query crate enforces keep its defaults: one source for each value.
        let query = ScopeLimits::default();
        Self {
            query_time_max_ms: 30_000,
            query_memory_bytes_max: 512 << 20,
            answer_rows_max: 100_000,
            answer_bytes_max: 64 << 20,
            sql_bytes_max: 64 << 10,
            concurrent_queries_max: 4,
            snapshot_refresh_ms: 1000,
            query_spill_bytes_max: query.spill_bytes_max,
            function_output_bytes_max: query.functions.output_bytes_max,
            series_rows_max: query.functions.series_rows_max,
        }
    }
}

impl ReadsConfig {
    /// The limits of one query's session.
    pub fn scope_limits(&self) -> ScopeLimits {
        ScopeLimits {
            query_time_max: Duration::from_millis(self.query_time_max_ms),
            memory_bytes_max: self.query_memory_bytes_max,
            spill_bytes_max: self.query_spill_bytes_max,
            functions: FunctionLimits {
                output_bytes_max: self.function_output_bytes_max,
                series_rows_max: self.series_rows_max,
            },
        }
    }
}

/// Settings of the durable collector (write-ahead log and flusher). Unset keys keep the
/// collector's own defaults, listed here and in `docs/collector.md`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorConfig {
    /// Most bytes of write-ahead log on disk; past it appends get 503 until commits catch up.
    /// Collector default 1 GiB.
    pub wal_bytes_max: Option<u64>,
    /// Flush to Parquet and commit once this many events wait. Collector default 500 000.
    pub flush_rows_max: Option<usize>,
    /// Flush once the waiting events take this many bytes of Arrow memory. Collector default
    /// 96 MiB.
    pub flush_bytes_max: Option<usize>,
    /// Flush at the latest this long after the oldest waiting event arrived, in ms. Collector
    /// default 30 000.
    pub flush_age_max_ms: Option<u64>,
    /// How long a batch id is remembered for deduplication, in ms. Collector default 600 000.
    pub batch_id_window_ms: Option<u64>,
}

/// One site: its write key, where its pages are, and what it keeps.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// The site id, as in events' `site` (1-64 characters of `a-z 0-9 . - _`). Required.
    pub id: String,
    /// The write key: it sits in public page source and only allows writing to this site. Required.
    pub write_key: String,
    /// Origins (`https://shop.example`, scheme + host + port) whose pages may send events; `*`
    /// allows any but `null` (sandboxed iframes, `data:` pages), which must be listed itself.
    /// Requests without an `Origin` header (servers, curl, `<img>` pixels) are not limited by it.
    /// Default: none, so browsers can only use the pixel.
    pub allowed_origins: Vec<String>,
    /// Drop events of requests with `DNT: 1` or `Sec-GPC: 1`. Default `true`.
    pub honour_dnt: bool,
    /// Sustained rate of events accepted for the site, per second. Default 100 000.
    pub rate_events_per_second: u32,
    /// Events that may arrive at once above the sustained rate. Default 200 000.
    pub rate_burst_events: u32,
    /// What the site keeps beyond the defaults (`keep_text`, `value_fields`, `ip`).
    pub privacy: PrivacyPolicy,
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            id: String::new(),
            write_key: String::new(),
            allowed_origins: Vec::new(),
            honour_dnt: true,
            rate_events_per_second: 100_000,
            rate_burst_events: 200_000,
            privacy: PrivacyPolicy::default(),
        }
    }
}

impl ServerConfig {
    /// Reads a TOML configuration file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text).map_err(|source| Error::ParseConfig {
            path: path.to_owned(),
            source,
        })
    }

    /// Parses TOML text; the error names the key and its line.
    pub fn from_toml(text: &str) -> std::result::Result<Self, ConfigParseError> {
        toml::from_str(text).map_err(ConfigParseError)
    }

    /// Applies the `HEATLAKE_*` environment variables through `lookup` (the process
    /// environment is `|name| std::env::var(name).ok()`). Empty values are ignored.
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<()> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        if let Some(listen) = get(LISTEN_ENV_VAR) {
            self.listen = listen.trim().parse().map_err(|_| {
                Error::InvalidConfig(format!(
                    "{LISTEN_ENV_VAR}={listen:?} is not an address like 127.0.0.1:8080"
                ))
            })?;
        }
        if let Some(home) = get(HOME_ENV_VAR) {
            self.data_dir = PathBuf::from(home);
        }
        if let Some(table) = get(TABLE_ENV_VAR) {
            self.table = Some(table);
        }
        if let Some(wal_dir) = get(WAL_DIR_ENV_VAR) {
            self.wal_dir = Some(PathBuf::from(wal_dir));
        }
        if let Some(header) = get(CLIENT_IP_HEADER_ENV_VAR) {
            self.client_ip_header = Some(header);
        }
        Ok(())
    }

    /// The table location: [`ServerConfig::table`], else `<data_dir>/events`.
    pub fn table_location(&self) -> String {
        self.table
            .clone()
            .unwrap_or_else(|| heatlake_ingest::default_table_in(&self.data_dir))
    }

    /// The WAL directory: [`ServerConfig::wal_dir`], else `<data_dir>/wal`.
    pub fn wal_directory(&self) -> PathBuf {
        self.wal_dir
            .clone()
            .unwrap_or_else(|| heatlake_ingest::default_wal_dir_in(&self.data_dir))
    }

    /// Adds the development site `dev` with `write_key`, allowing every origin.
    pub fn add_dev_site(&mut self, write_key: String) {
        self.sites.push(SiteConfig {
            id: DEV_SITE_ID.to_owned(),
            write_key,
            allowed_origins: vec!["*".to_owned()],
            ..SiteConfig::default()
        });
    }

    /// Adds a read key for the development site `dev`.
    pub fn add_dev_read_key(&mut self, key: String) {
        self.read_keys.push(ReadKeyConfig {
            key,
            sites: vec![DEV_SITE_ID.to_owned()],
        });
    }

    /// Checks the rules the types cannot: unique site ids and keys, valid ids, non-zero bounds.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(Error::InvalidConfig(message));
        let limits = &self.limits;
        for (name, value) in [
            ("limits.body_bytes_max", limits.body_bytes_max as u64),
            (
                "limits.body_decoded_bytes_max",
                limits.body_decoded_bytes_max as u64,
            ),
            (
                "limits.events_per_request_max",
                limits.events_per_request_max as u64,
            ),
            ("limits.request_timeout_ms", limits.request_timeout_ms),
            ("limits.idle_timeout_ms", limits.idle_timeout_ms),
            (
                "limits.concurrent_requests_max",
                limits.concurrent_requests_max as u64,
            ),
            (
                "limits.inflight_bytes_max",
                limits.inflight_bytes_max as u64,
            ),
            ("limits.cpu_tasks_max", limits.cpu_tasks_max as u64),
        ] {
            if value == 0 {
                return invalid(format!("`{name}` must be greater than 0"));
            }
        }
        let one_request_bytes_max = limits.body_bytes_max + limits.body_decoded_bytes_max;
        if limits.inflight_bytes_max < one_request_bytes_max {
            return invalid(format!(
                "`limits.inflight_bytes_max` ({}) must be at least body_bytes_max + body_decoded_bytes_max ({one_request_bytes_max}), or the largest request could never be taken",
                limits.inflight_bytes_max
            ));
        }
        let reads = &self.reads;
        for (name, value) in [
            ("reads.query_time_max_ms", reads.query_time_max_ms),
            (
                "reads.query_memory_bytes_max",
                reads.query_memory_bytes_max as u64,
            ),
            ("reads.answer_rows_max", reads.answer_rows_max as u64),
            ("reads.answer_bytes_max", reads.answer_bytes_max as u64),
            ("reads.sql_bytes_max", reads.sql_bytes_max as u64),
            (
                "reads.concurrent_queries_max",
                reads.concurrent_queries_max as u64,
            ),
            ("reads.query_spill_bytes_max", reads.query_spill_bytes_max),
            (
                "reads.function_output_bytes_max",
                reads.function_output_bytes_max,
            ),
            ("reads.series_rows_max", reads.series_rows_max),
        ] {
            if value == 0 {
                return invalid(format!("`{name}` must be greater than 0"));
            }
        }
        let mut ids = HashSet::new();
        let mut keys = HashSet::new();
        for (index, site) in self.sites.iter().enumerate() {
            let id = &site.id;
            if !valid_site_id(id) {
                return invalid(format!(
                    "sites[{index}]: `id` {id:?} must be 1-64 characters of a-z 0-9 . - _"
                ));
            }
            if !ids.insert(id.as_str()) {
                return invalid(format!("sites[{index}]: site `{id}` is configured twice"));
            }
            if site.write_key.len() < 16 || !site.write_key.is_ascii() {
                return invalid(format!(
                    "site `{id}`: `write_key` must be at least 16 ASCII characters"
                ));
            }
            if !keys.insert(site.write_key.as_str()) {
                return invalid(format!(
                    "site `{id}`: its `write_key` is also another site's key"
                ));
            }
            if site.rate_events_per_second == 0 || site.rate_burst_events == 0 {
                return invalid(format!(
                    "site `{id}`: `rate_events_per_second` and `rate_burst_events` must be greater than 0"
                ));
            }
            for origin in &site.allowed_origins {
                if origin != "*"
                    && origin != crate::cors::NULL_ORIGIN
                    && (!origin.contains("://") || origin.ends_with('/'))
                {
                    return invalid(format!(
                        "site `{id}`: allowed origin {origin:?} must be `*`, `null` or scheme://host[:port] without a trailing slash"
                    ));
                }
            }
        }
        self.validate_read_keys(&keys)?;
        if let Some(token) = &self.metrics_token
            && (token.len() < 16
                || !token.is_ascii()
                || token.trim() != token
                || keys.contains(token.as_str())
                || self.read_keys.iter().any(|read| &read.key == token))
        {
            return invalid(
                "`metrics_token` must be at least 16 ASCII characters without surrounding spaces, and no write or read key"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// Read keys: long enough, unique, never a write key, naming valid sites.
    fn validate_read_keys(&self, write_keys: &HashSet<&str>) -> Result<()> {
        let invalid = |message: String| Err(Error::InvalidConfig(message));
        let mut read_keys = HashSet::new();
        for (index, read_key) in self.read_keys.iter().enumerate() {
            let key = &read_key.key;
            if key.len() < 16 || !key.is_ascii() || key.trim() != key {
                return invalid(format!(
                    "read_keys[{index}]: `key` must be at least 16 ASCII characters without surrounding spaces"
                ));
            }
            if write_keys.contains(key.as_str()) {
                return invalid(format!(
                    "read_keys[{index}]: the key is also a site's write key; a read key must be a separate secret"
                ));
            }
            if !read_keys.insert(key.as_str()) {
                return invalid(format!("read_keys[{index}]: the key is configured twice"));
            }
            if read_key.sites.is_empty() {
                return invalid(format!(
                    "read_keys[{index}]: `sites` must name at least one site"
                ));
            }
            for site in &read_key.sites {
                if !valid_site_id(site) {
                    return invalid(format!(
                        "read_keys[{index}]: site {site:?} must be 1-64 characters of a-z 0-9 . - _"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether `id` is a valid site id: 1-64 characters of `a-z 0-9 . - _`.
pub fn valid_site_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || b".-_".contains(&byte)
        })
}
