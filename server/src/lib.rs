//! The Botwire server: implements the generated API trait over a database.
//!
//! Layers run one way: `http` (thin handlers) -> services (`ops`, ...) -> `db` (the store).
//! The API interface crate (`botwire-api`) knows nothing of any of this.

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod egress;
pub mod email;
pub mod engine;
pub mod error;
pub mod every;
pub mod http;
pub mod knowledge;
#[cfg(test)]
mod layers;
pub mod live;
pub mod metrics;
pub mod ratelimit;
pub mod services;
pub mod store;
pub mod tcp;

use anyhow::{Context, Result};
use app::App;
use config::Config;
use dropshot::{ConfigDropshot, ConfigLogging, ConfigLoggingLevel, HandlerTaskMode, ServerBuilder};
use std::net::SocketAddr;

/// A server that is listening, with its webhook workers; dropped or closed, it stops.
pub struct RunningServer {
    server: dropshot::HttpServer<App>,
    workers: services::webhooks::delivery::Workers,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops accepting connections and waits for in-flight requests, then stops the webhook
    /// workers (waiting for the attempts they are making).
    pub async fn close(self) -> Result<()> {
        let RunningServer { server, workers } = self;
        let closed = server
            .close()
            .await
            .map_err(|e| anyhow::anyhow!("stopping the server: {e}"));
        workers.stop().await;
        closed
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(self) -> Result<()> {
        let RunningServer { server, workers } = self;
        let result = server.await.map_err(|e| anyhow::anyhow!("server: {e}"));
        workers.stop().await;
        result
    }
}

/// A logger at the given level (`BOTWIRE_LOG`: error, warn, info, debug; default info).
pub fn logger(level: Option<&str>) -> Result<slog::Logger> {
    let level = match level.unwrap_or("info") {
        "error" => ConfigLoggingLevel::Error,
        "warn" => ConfigLoggingLevel::Warn,
        "info" => ConfigLoggingLevel::Info,
        "debug" => ConfigLoggingLevel::Debug,
        other => anyhow::bail!("BOTWIRE_LOG={other}: expected error, warn, info or debug"),
    };
    ConfigLogging::StderrTerminal { level }
        .to_logger("botwire")
        .context("creating the logger")
}

/// Opens the database, applies migrations, and starts serving the API.
pub async fn start(config: Config, log: slog::Logger) -> Result<RunningServer> {
    let bind = config.bind;
    let body_limit = config.request_body_max_bytes;
    let backend = config.database.backend();
    let app = App::init(config, log.clone()).await?;
    services::ops::docs_get().map_err(|e| anyhow::anyhow!("{e}"))?;
    let workers = services::webhooks::delivery::Workers::spawn(
        app.db.clone(),
        app.mailer.clone(),
        app.config.webhooks.clone(),
        app.live.clone(),
        log.clone(),
    )?;
    let mut api = botwire_api::botwire_api_mod::api_description::<http::ServerImpl>()
        .map_err(|e| anyhow::anyhow!("building the API description: {e}"))?;
    http::register_fallbacks(&mut api)?;
    let dropshot_config = ConfigDropshot {
        bind_address: bind,
        default_request_body_max_bytes: body_limit,
        // A handler finishes even if its client goes away, so a write is never cut in half.
        default_handler_task_mode: HandlerTaskMode::Detached,
        ..Default::default()
    };
    let server = ServerBuilder::new(api, app, log.clone())
        .config(dropshot_config)
        .start()
        .map_err(|e| anyhow::anyhow!("starting the HTTP server on {bind}: {e}"))?;
    match tcp::nodelay_on_listener(server.local_addr()) {
        Ok(true) => {}
        Ok(false) => slog::warn!(
            log,
            "TCP_NODELAY: the listening socket was not found; streamed events may be delayed"
        ),
        Err(e) => {
            slog::warn!(log, "TCP_NODELAY could not be set; streamed events may be delayed"; "error" => %e)
        }
    }
    // dropshot has logged "listening" with the address; this says the rest is up too.
    slog::info!(log, "botwire started"; "address" => %server.local_addr(), "database" => backend, "version" => env!("CARGO_PKG_VERSION"));
    Ok(RunningServer { server, workers })
}
