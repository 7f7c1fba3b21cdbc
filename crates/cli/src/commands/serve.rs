//! `heatlake serve`: the collector, with the durable write-ahead-log [`CollectorSink`] of
//! `heatlake-ingest` behind the HTTP service of `heatlake-server`.
//!
//! The listener opens at once; `/readyz` says 503 and appends are refused with 503 until the
//! collector has replayed its write-ahead log. SIGTERM or Ctrl-C: stop accepting, finish the
//! requests in flight, flush and commit everything acknowledged, exit 0.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use heatlake_ingest::collector::CollectorSink;
use heatlake_server::config::DEV_SITE_ID;
use heatlake_server::{AppState, Metrics, ServerConfig, SinkError};
use heatlake_table::TableLocation;

use crate::secret;

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
    /// `table`, else DATA_DIR/events (DATA_DIR: $HEATLAKE_HOME, else the file's `data_dir`,
    /// else ./heatlake-data).
    #[arg(long, value_name = "URL")]
    table: Option<String>,
}

/// Longest the start-up waits for the table's store to answer the conditional-put check.
const STORE_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Refuses a store that does not refuse to create an object that exists: there, another
/// writer's commit could replace this collector's. A store that cannot be reached yet does
/// not stop the start (the WAL takes appends); the flusher checks before its first commit.
async fn check_store(location: &TableLocation) -> Result<()> {
    let check = heatlake_table::ensure_conditional_put(location);
    match tokio::time::timeout(STORE_CHECK_TIMEOUT, check).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error @ heatlake_table::Error::ConditionalPutIgnored { .. })) => Err(error.into()),
        Ok(Err(error)) => {
            tracing::warn!(
                "the table's store could not be checked yet; the collector checks before it commits: {}",
                heatlake_ingest::ErrorChain(&error)
            );
            Ok(())
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = STORE_CHECK_TIMEOUT.as_millis() as u64,
                "the table's store did not answer yet; the collector checks before it commits"
            );
            Ok(())
        }
    }
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
    let options = heatlake_server::collector_options(&config, &metrics);
    let wal_dir = config.wal_directory();
    let table = location.to_string();
    check_store(&location).await?;
    // Opens in the background: the listener answers at once, /readyz says 503 until ready.
    let sink = CollectorSink::open(location, options);
    let state = AppState::new(config.clone(), &secret, sink.clone(), metrics)?;
    let listener = heatlake_server::bind(&state).await?;
    let address = listener
        .local_addr()
        .context("while reading the listen address")?;
    tracing::info!(
        %address,
        %table,
        wal = %wal_dir.display(),
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
    let mut open_error = None;
    let stop = async {
        let open_failed = async {
            match sink.opened().await {
                Err(SinkError::Open(error)) => error,
                // Open (or any other answer): only a signal stops the collector now.
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop_signal => tracing::info!("stopping"),
            error = open_failed => open_error = Some(error),
        }
    };
    heatlake_server::serve(listener, state, stop).await?;
    if let Some(error) = open_error {
        // Damage is never repaired silently; the way past it is an explicit command.
        let hint = if matches!(*error, heatlake_ingest::Error::WalDamaged { .. }) {
            "; `heatlake salvage-wal` drops the damaged bytes and reports what they held"
        } else {
            ""
        };
        return Err(anyhow::Error::new(error).context(format!(
            "while opening the collector (WAL {}{hint})",
            wal_dir.display()
        )));
    }
    tracing::info!("stopped; everything acknowledged is committed");
    Ok(())
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
