//! Running the server: logging, the metrics listener, the HTTP listener and
//! a graceful shutdown on Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;
use axum::routing::get;
use hark_app::App;
use hark_web::{WebConfig, WebState};
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::config::Config;

/// Logs go to stderr, so commands like `hark token create` print only their result.
pub fn init_logging(config: &Config) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(&config.log_level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if config.log_format == "json" { builder.json().try_init() } else { builder.try_init() };
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(config: &Config, app: App) -> anyhow::Result<()> {
    start(config, app).await?.wait().await
}

/// A server that is accepting requests.
pub struct Running {
    pub shutdown: CancellationToken,
    pub workers: hark_jobs::Workers,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub async fn wait(self) -> anyhow::Result<()> {
        self.server.await.map_err(|e| anyhow::anyhow!("the server task failed: {e}"))?
    }
}

/// Binds the listeners and starts the server and workers in the background.
pub async fn start(config: &Config, app: App) -> anyhow::Result<Running> {
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));

    if let Some(address) = config.metrics_address()? {
        serve_metrics(address, shutdown.clone()).await?;
    }

    let web_config = WebConfig {
        secure_cookies: config.secure_cookies,
        max_body_bytes: config.max_body_bytes,
        login_attempts_per_minute: config.login_attempts_per_minute,
        public_url: if config.public_url.trim().is_empty() {
            format!("http://{}", config.listen)
        } else {
            config.public_url.trim().to_owned()
        },
    };
    let intake = hark_app::intake::Intake::start(app.store.clone());
    let workers_config = hark_jobs::WorkerConfig { public_url: web_config.public_url.clone(), ..worker_config(config) };
    let workers = hark_jobs::Workers::new(app.clone(), hark_channels::http::client(), intake.clone(), workers_config);
    let mut worker_tasks = workers.spawn(shutdown.clone());
    let search = crate::search::Search::open(&config.data_dir.join("search"), app.store.clone())?;
    worker_tasks.push(search.spawn(shutdown.clone()));
    worker_tasks.push(tokio::spawn(maintain_database(app.store.clone(), shutdown.clone())));
    let state = WebState::new(app, intake, web_config, shutdown.clone()).with_search(std::sync::Arc::new(search));
    let router = hark_web::router(state);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(address = %config.listen, "serving http://{}", config.listen);
    let stop = shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
            .context("the HTTP server failed")?;
        // Let workers finish the item in hand; their claims' leases cover a crash anyway.
        for task in worker_tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
        }
        tracing::info!("stopped");
        Ok(())
    });
    Ok(Running { shutdown, workers, server })
}

/// The database's own upkeep, hourly (the first soon after start, when a
/// freshly loaded or restored database most needs its statistics).
async fn maintain_database(store: std::sync::Arc<dyn hark_store::Store>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval_at(
        tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(3600),
    );
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {
                if let Err(err) = store.maintain().await {
                    tracing::warn!(%err, "database upkeep failed; trying again in an hour");
                }
            }
        }
    }
}

fn worker_config(config: &Config) -> hark_jobs::WorkerConfig {
    hark_jobs::WorkerConfig {
        poll_interval: std::time::Duration::from_secs(config.poll_interval_secs.max(1)),
        smtp: (!config.smtp_url.trim().is_empty()).then(|| hark_jobs::automation::SmtpConfig {
            url: config.smtp_url.trim().to_owned(),
            from: config.smtp_from.trim().to_owned(),
        }),
        allow_private_hooks: config.allow_private_hooks,
        ..Default::default()
    }
}

/// Serves `/metrics` in Prometheus text format on its own address.
async fn serve_metrics(address: SocketAddr, shutdown: CancellationToken) -> anyhow::Result<()> {
    let handle = PrometheusBuilder::new().install_recorder().context("cannot install the metrics recorder")?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for metrics on {address}"))?;
    let router = axum::Router::new().route("/metrics", get(move || std::future::ready(handle.render())));
    tracing::info!(%address, "metrics on http://{address}/metrics");
    tokio::spawn(async move {
        let served = axum::serve(listener, router).with_graceful_shutdown(shutdown.cancelled_owned()).await;
        if let Err(err) = served {
            tracing::error!(%err, "metrics listener failed");
        }
    });
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!(%err, "cannot watch SIGTERM; Ctrl-C still stops the server");
                let _ = ctrl_c.await;
                shutdown.cancel();
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down: finishing requests in flight");
    shutdown.cancel();
}
