//! The application: shared state handed to every handler, and its start-up.

use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::ops::Docs;
use anyhow::{Context, Result};
use std::time::Instant;

/// The contract this server implements, served at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

pub struct App {
    pub config: Config,
    pub db: Db,
    pub metrics: Metrics,
    pub docs: Docs,
    pub started_at: Instant,
}

impl App {
    /// Connects to the database and applies pending migrations.
    pub async fn init(config: Config) -> Result<App> {
        let db = Db::connect(&config.database, config.db_pool_size)
            .await
            .with_context(|| format!("opening the {} database", config.database.backend()))?;
        db.migrate().await.context("running migrations")?;
        Ok(App {
            config,
            db,
            metrics: Metrics::default(),
            docs: Docs::render(OPENAPI_YAML).context("rendering the docs page")?,
            started_at: Instant::now(),
        })
    }
}
