//! Start-up and the HTTP server: migrate, connect, seed demo content, serve,
//! and on SIGTERM/SIGINT stop accepting, finish in-flight requests within
//! `SHUTDOWN_GRACE_SECONDS`, then exit.

use std::time::Instant;

use actix_web::HttpServer;

use crate::config::{Config, redact_url};
use crate::db::{Db, PoolOptions, migrate};
use crate::state::AppState;
use crate::{AppParts, build_app, demo};

/// Opens the database named by the configuration.
pub fn connect(config: &Config) -> Result<Db, String> {
    Db::connect(
        &config.database_url,
        PoolOptions {
            max_size: config.db_pool_size,
            timeout: config.db_timeout,
            pooler: config.database_pooler,
        },
    )?
    .with_replicas(
        &config.replicas.urls,
        config.replicas.max_lag,
        config.database_pooler,
    )
}

/// Migrates, connects and (in development) seeds: everything before listening.
pub async fn prepare(config: Config) -> Result<AppParts, Box<dyn std::error::Error>> {
    let applied =
        migrate::run_pending(&config.database_url).map_err(|e| format!("migrations failed: {e}"))?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied migrations");
    }
    let db = connect(&config)?;
    let state = AppState::new(config, db)?;
    if state.config.demo_content {
        let password = state.config.demo_admin_password.as_deref();
        demo::seed_if_empty(&state.db, &state.renderer, password).await?;
    }
    Ok(AppParts::new(state))
}

pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    if config.jwt_secret_generated {
        tracing::warn!(
            "JWT_SECRET is not set: using a random one; tokens stop working when the process restarts"
        );
    }
    let bind_addr = config.bind_addr.clone();
    let metrics_addr = config.metrics_addr.clone();
    let workers = config.workers;
    let grace = config.shutdown_grace;
    tracing::info!(database = %redact_url(&config.database_url), environment = ?config.environment, "starting");
    let parts = prepare(config).await?;
    // Database calls run on each worker's blocking threads (actix allows
    // 512 / cores by default). A thread beyond the pool's connections can
    // only wait for one, and keeps its allocator memory while it waits; two
    // more leave room for the SQLite writer and password hashing, and one
    // per search slot for searches.
    let blocking_threads =
        parts.state.db.max_connections() as usize + 2 + parts.state.search.slots.available_permits();
    let metrics = parts.state.metrics.clone();
    let mut server = HttpServer::new(move || build_app(parts.clone()))
        .worker_max_blocking_threads(blocking_threads)
        .shutdown_timeout(grace.as_secs())
        // actix stops at once on SIGINT (dropping requests in flight); both
        // signals get the graceful stop here instead.
        .disable_signals()
        .bind(&bind_addr)
        .map_err(|e| format!("cannot listen on {bind_addr}: {e}"))?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    tracing::info!(addr = %bind_addr, startup_ms = started.elapsed().as_millis() as u64, "listening");
    let metrics_server = match metrics_addr {
        Some(addr) => Some(metrics_listener(&addr, metrics)?),
        None => None,
    };
    let server = server.run();
    let handle = server.handle();
    let metrics_handle = metrics_server.as_ref().map(|s| s.handle());
    if let Some(metrics_server) = metrics_server {
        actix_web::rt::spawn(metrics_server);
    }
    actix_web::rt::spawn(async move {
        let signal = stop_signal().await;
        tracing::info!(
            signal,
            grace_seconds = grace.as_secs(),
            "stopping: finishing requests in flight"
        );
        if let Some(metrics) = metrics_handle {
            metrics.stop(true).await;
        }
        handle.stop(true).await;
    });
    server.await?;
    tracing::info!("stopped");
    Ok(())
}

/// The `METRICS_ADDR` listener: `/metrics` only, one worker.
fn metrics_listener(
    addr: &str,
    metrics: std::sync::Arc<crate::infra::metrics::Metrics>,
) -> Result<actix_web::dev::Server, String> {
    let server = HttpServer::new(move || crate::http::metrics::metrics_app(metrics.clone()))
        .workers(1)
        .disable_signals()
        .bind(addr)
        .map_err(|e| format!("cannot listen on METRICS_ADDR {addr}: {e}"))?;
    tracing::info!(addr = %addr, "metrics listening");
    Ok(server.run())
}

/// Waits for SIGTERM or SIGINT (Ctrl-C); returns its name.
async fn stop_signal() -> &'static str {
    use actix_web::rt::signal::unix::{SignalKind, signal};
    use futures_util::future::{Either, select};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            match select(std::pin::pin!(term.recv()), std::pin::pin!(int.recv())).await {
                Either::Left(_) => "SIGTERM",
                Either::Right(_) => "SIGINT",
            }
        }
        _ => {
            tracing::error!("cannot listen for SIGTERM/SIGINT; stop the process with SIGKILL");
            std::future::pending().await
        }
    }
}
