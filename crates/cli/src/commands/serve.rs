//! `heatlake serve`: the collector, with the durable write-ahead-log [`Collector`] of
//! `heatlake-ingest` behind the HTTP service of `heatlake-server`.
//!
//! The listener opens at once; `/readyz` says 503 and appends are refused with 503 until the
//! collector has replayed its write-ahead log. SIGTERM or Ctrl-C: stop accepting, finish the
//! requests in flight, flush and commit everything acknowledged, exit 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use clap::Args;
use futures::future::BoxFuture;
use heatlake_ingest::collector::{
    AppendError, Appended, Collector, CollectorOptions, CommitReport,
};
use heatlake_server::config::DEV_SITE_ID;
use heatlake_server::{AppState, EventSink, Metrics, ServerConfig, SinkError, SinkStats};
use heatlake_table::TableLocation;

use crate::secret;

/// How long a client is asked to wait when the write-ahead log is full.
const WAL_FULL_RETRY_AFTER: Duration = Duration::from_secs(2);

/// Arguments of `heatlake serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file (see docs/heatlake.example.toml). Without it: defaults, the
    /// HEATLAKE_* environment variables, and a development site `dev`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on. Default: $HEATLAKE_LISTEN, else the file's `listen`, else
    /// 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// The table: a path, file:// or s3:// URL. Default: $HEATLAKE_TABLE, else the file's
    /// `table`, else <data dir>/events.
    #[arg(long, value_name = "URL")]
    table: Option<String>,
}

/// Runs the collector until SIGTERM or Ctrl-C.
pub async fn run(args: ServeArgs) -> Result<()> {
    init_logging();
    let mut config = match &args.config {
        Some(path) => ServerConfig::from_file(path)?,
        None => ServerConfig::default(),
    };
    config.apply_env(|name| std::env::var(name).ok())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(table) = args.table {
        config.table = Some(table);
    }
    let dev_site = config.sites.is_empty();
    if dev_site {
        let key = heatlake_server::keys::load_or_create_dev_key(&config.data_dir)?;
        config.add_dev_site(key);
        if config.read_keys.is_empty() {
            let read_key = heatlake_server::keys::load_or_create_dev_read_key(&config.data_dir)?;
            config.add_dev_read_key(read_key);
        }
    }
    let secret = secret::load_or_create_in(&config.data_dir)?;
    let location = TableLocation::parse(&config.table_location()).with_context(|| {
        format!(
            "while reading the table location {}",
            config.table_location()
        )
    })?;
    let metrics = Metrics::new();
    let options = collector_options(&config, &metrics);
    let sink = Arc::new(CollectorSink::default());
    let state = AppState::new(config.clone(), &secret, sink.clone(), metrics)?;
    let listener = heatlake_server::bind(&state).await?;
    let address = listener
        .local_addr()
        .context("while reading the listen address")?;
    tracing::info!(
        %address,
        table = %location,
        wal = %config.wal_directory().display(),
        sites = config.sites.len(),
        "collector listening"
    );
    // On standard output, for scripts and tests that start the collector on port 0.
    // Before the address is printed: whoever reads it may send a signal at once.
    let stop_signal = shutdown_signal()?;
    println!("heatlake collector listening on http://{address}");
    if dev_site {
        print_dev_instructions(&config, address);
    }
    let (open_failed, open_failure) = tokio::sync::oneshot::channel::<anyhow::Error>();
    {
        let sink = Arc::clone(&sink);
        let wal_dir = config.wal_directory();
        tokio::spawn(async move {
            match Collector::open(location, options).await {
                Ok(collector) => {
                    let stats = collector.stats();
                    tracing::info!(
                        recovered_records = stats.recovered_records,
                        "write-ahead log replayed; ready"
                    );
                    let _ = sink.collector.set(collector);
                }
                Err(error) => {
                    sink.open_failed
                        .store(true, std::sync::atomic::Ordering::Release);
                    let error = anyhow::Error::new(error).context(format!(
                        "while opening the collector (WAL {})",
                        wal_dir.display()
                    ));
                    let _ = open_failed.send(error);
                }
            }
        });
    }
    let mut open_error = None;
    let stop = async {
        // The sender is dropped once the collector opened: only an error ends the wait.
        let open_failed = async {
            match open_failure.await {
                Ok(error) => error,
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop_signal => tracing::info!("stopping"),
            error = open_failed => open_error = Some(error),
        }
    };
    heatlake_server::serve(listener, state, stop).await?;
    if let Some(error) = open_error {
        return Err(error);
    }
    tracing::info!("stopped; everything acknowledged is committed");
    Ok(())
}

/// The collector's options from the `[collector]` section, with commits recorded in `metrics`.
fn collector_options(config: &ServerConfig, metrics: &Metrics) -> CollectorOptions {
    let mut options = CollectorOptions::new(config.wal_directory());
    let settings = &config.collector;
    if let Some(bytes) = settings.wal_bytes_max {
        options.wal.wal_bytes_max = bytes;
    }
    if let Some(rows) = settings.flush_rows_max {
        options.flush_rows_max = rows;
    }
    if let Some(bytes) = settings.flush_bytes_max {
        options.flush_bytes_max = bytes;
    }
    if let Some(ms) = settings.flush_age_max_ms {
        options.flush_age_max = Duration::from_millis(ms);
    }
    if let Some(ms) = settings.batch_id_window_ms {
        options.wal.batch_id_window = Duration::from_millis(ms);
    }
    let metrics = metrics.clone();
    options.on_commit = Some(Arc::new(move |report: &CommitReport| {
        metrics.commit(report.duration);
        tracing::debug!(
            events = report.events,
            files = report.files,
            version = report.version,
            "committed"
        );
    }));
    options
}

/// The durable collector behind the HTTP service; empty until the WAL is replayed.
#[derive(Default)]
struct CollectorSink {
    collector: OnceLock<Collector>,
    /// Set when opening the collector failed (nothing to flush then).
    open_failed: std::sync::atomic::AtomicBool,
}

/// How often a stop that arrives while the collector is still opening checks on it.
const OPEN_POLL_INTERVAL: Duration = Duration::from_millis(20);

impl EventSink for CollectorSink {
    fn append<'a>(
        &'a self,
        site: &'a str,
        batch_id: Option<&'a str>,
        events: RecordBatch,
    ) -> BoxFuture<'a, Result<heatlake_server::Appended, SinkError>> {
        Box::pin(async move {
            let collector = self.collector.get().ok_or(SinkError::NotReady)?;
            match collector.append(site, batch_id, events).await {
                Ok(Appended::Stored { .. }) => Ok(heatlake_server::Appended::Stored),
                Ok(Appended::Duplicate { .. }) => Ok(heatlake_server::Appended::Duplicate),
                Err(error) => Err(sink_error(error)),
            }
        })
    }

    fn stats(&self) -> SinkStats {
        let Some(collector) = self.collector.get() else {
            return SinkStats::default();
        };
        let stats = collector.stats();
        SinkStats {
            wal_bytes: stats.wal_bytes,
            backlog_events: stats.events_pending,
            committed_events: stats.events_committed,
            commits: stats.commits,
        }
    }

    fn is_ready(&self) -> bool {
        self.collector.get().is_some_and(Collector::is_ready)
    }

    fn shutdown(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            // A stop during start-up waits for the WAL to open, then commits what it holds:
            // events acknowledged by an earlier run are in that WAL, not yet in the table.
            loop {
                if let Some(collector) = self.collector.get() {
                    return collector
                        .shutdown()
                        .await
                        .map_err(|error| SinkError::Failed(format!("{error:#}")));
                }
                if self.open_failed.load(std::sync::atomic::Ordering::Acquire) {
                    return Ok(());
                }
                tokio::time::sleep(OPEN_POLL_INTERVAL).await;
            }
        })
    }
}

/// The collector's refusals in the server's terms (503 with Retry-After for a full WAL).
fn sink_error(error: AppendError) -> SinkError {
    let message = error.to_string();
    match error {
        AppendError::WalFull { .. } => SinkError::Full {
            limit: "wal_bytes_max".to_owned(),
            retry_after: WAL_FULL_RETRY_AFTER,
            message,
        },
        AppendError::RecordTooLarge { .. } => SinkError::TooLarge {
            limit: "record_bytes_max".to_owned(),
            message,
        },
        AppendError::ShuttingDown => SinkError::ShuttingDown,
        _ => SinkError::Failed(message),
    }
}

/// Logs to standard error; `RUST_LOG` chooses what (default: Heatlake's own `info`, the
/// libraries' warnings).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "warn,heatlake=info,heatlake_server=info,heatlake_ingest=info",
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
/// Registers SIGTERM and SIGINT (Ctrl-C) handlers now, so that a signal arriving at any moment
/// after this call stops the collector cleanly; the returned future ends at the first one.
fn shutdown_signal() -> Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("while handling SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("while handling SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// Prints the development site's key and a curl command that sends one event.
fn print_dev_instructions(config: &ServerConfig, address: SocketAddr) {
    let key = &config.sites[0].write_key;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    println!(
        "Development site `{DEV_SITE_ID}` (no sites configured), write key: {key}\n\
         (kept in {}; any origin may send)\n\
         Send an event:\n  \
         curl -sS http://{address}/v1/events -H 'X-Heatlake-Key: {key}' \\\n    \
         --data-binary '{{\"v\":1,\"site\":\"{DEV_SITE_ID}\",\"type\":\"pageview\",\"ts\":{now_ms},\"url\":\"http://localhost/hello\",\"pageview_id\":\"pv-1\",\"seq\":0}}'",
        config
            .data_dir
            .join(heatlake_server::keys::DEV_KEY_FILE)
            .display()
    );
    if let Some(read_key) = config
        .read_keys
        .iter()
        .find(|read_key| read_key.sites == [DEV_SITE_ID])
    {
        println!(
            "Development read key (site `{DEV_SITE_ID}`): {}\n\
             (kept in {}; a secret: it reads the site's events)\n\
             Query them once committed:\n  \
             curl -sS http://{address}/v1/sql -H 'Authorization: Bearer {}' \\\n    \
             --data-binary 'SELECT type, count(*) FROM events GROUP BY type'",
            read_key.key,
            config
                .data_dir
                .join(heatlake_server::keys::DEV_READ_KEY_FILE)
                .display(),
            read_key.key
        );
    }
}
