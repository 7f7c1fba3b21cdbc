//! Serving the router on a TCP listener, with idle timeouts and a graceful stop; the collector's
//! options from the configuration.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use heatlake_ingest::collector::{CollectorOptions, CommitReport};

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::request::PeerAddr;
use crate::routes::build_router;
use crate::state::AppState;

/// Pause after a failed `accept` (out of file descriptors, ...), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Binds the configured listen address.
pub async fn bind(state: &AppState) -> Result<TcpListener> {
    let address = state.config().listen;
    TcpListener::bind(address)
        .await
        .map_err(|error| Error::io(format!("cannot listen on {address}"), error))
}

/// Serves HTTP/1.1 on `listener` until `shutdown` completes; then stops accepting, lets requests
/// in flight finish (at most `shutdown_grace_ms`, then closes their connections), and shuts the
/// sink down (flush, commit).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let router = build_router(state.clone());
    let idle_timeout = Duration::from_millis(state.config().limits.idle_timeout_ms);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(idle_timeout);
    let graceful = GracefulShutdown::new();
    // Set once the grace is over (or gone with this function): every connection still open is
    // then dropped, which closes its socket and drops the request it serves. The tasks outlive
    // `serve` otherwise, holding requests the caller believes stopped.
    let (close, closed) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |request: hyper::Request<hyper::body::Incoming>| {
                    let mut request = request.map(axum::body::Body::new);
                    request.extensions_mut().insert(PeerAddr(peer));
                    request
                });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        let mut closed = closed.clone();
        tokio::spawn(async move {
            tokio::select! {
                outcome = connection => if let Err(error) = outcome {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                },
                _ = closed.wait_for(|closed| *closed) => {
                    tracing::debug!(%peer, "connection closed after shutdown_grace_ms");
                }
            }
        });
    }
    drop(listener);
    state.begin_shutdown();
    tracing::info!("stopped accepting; finishing requests in flight");
    let grace = Duration::from_millis(state.config().limits.shutdown_grace_ms);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "requests still in flight after shutdown_grace_ms; closing them"
        );
        close.send_replace(true);
    }
    tracing::info!("flushing and committing what was acknowledged");
    state.sink().shutdown().await?;
    Ok(())
}

/// The durable collector's options: the WAL directory and the `[collector]` section of `config`
/// over the collector's own defaults, with every commit recorded in `metrics`.
pub fn collector_options(config: &ServerConfig, metrics: &Metrics) -> CollectorOptions {
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
