//! The application: shared state handed to every handler, and its start-up.

use crate::auth::tokens::Jwt;
use crate::config::Config;
use crate::db::Db;
use crate::email::Mailer;
use crate::every::Every;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::store::chat::ExchangeQueue;
use anyhow::{Context, Result};
use base64::Engine;
use rand::RngCore;
use std::sync::Arc;
use std::time::Instant;

/// The contract this server implements, served at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// How often a process that serves retry-safe sends deletes the replies whose
/// `IDEMPOTENCY_TTL` (`services::chat::send`) is over: they are never replayed again, and each
/// holds a whole reply.
pub const IDEMPOTENCY_PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

pub struct App {
    pub config: Config,
    pub db: Db,
    pub jwt: Jwt,
    pub limiter: RateLimiter,
    pub mailer: Arc<Mailer>,
    /// Knowledge indexes built for chat, by bot and knowledge revision.
    pub chat_indexes: crate::engine::IndexCache,
    /// Chat exchanges waiting for their group commit.
    pub exchanges: Arc<ExchangeQueue>,
    /// When this process next deletes the stored replies of retry-safe sends whose time is over.
    pub idempotency_prune: Every,
    /// The LLM engine's client (one connection pool for every bot).
    pub llm: crate::engine::llm::LlmClient,
    pub metrics: Arc<Metrics>,
    /// Wakes this process's live streams (on PostgreSQL, also on other replicas' changes).
    pub live: crate::live::LiveHub,
    pub log: slog::Logger,
    pub started_at: Instant,
}

impl App {
    /// Connects to the database, applies pending migrations, and sets up the services.
    pub async fn init(config: Config, log: slog::Logger) -> Result<App> {
        let db = Db::connect(&config.database, config.db_pool_size)
            .await
            .with_context(|| format!("opening the {} database", config.database.backend()))?;
        db.migrate().await.context("running migrations")?;
        db.start_checkpoints(&config.database, log.clone())
            .context("starting the SQLite checkpoints")?;
        let jwt = Jwt::new(jwt_secret(&config, &db).await?.as_bytes(), config.jwt_ttl);
        let mailer = Mailer::from_config(&config).context("setting up email")?;
        // Compile the contract's schemas now rather than on the first request.
        botwire_api::contract::load();
        slog::info!(log, "{}", mailer.describe());
        let llm = crate::engine::llm::LlmClient::new(
            config.llm.timeouts,
            config.llm.allowed_cidrs.clone(),
        )
        .context("setting up the LLM client")?;
        let exchanges = Arc::new(ExchangeQueue::new(&db));
        let db_url = config.database.clone();
        Ok(App {
            limiter: RateLimiter::new(db.clone()),
            config,
            db,
            jwt,
            mailer: Arc::new(mailer),
            chat_indexes: Default::default(),
            exchanges,
            idempotency_prune: Every::new(IDEMPOTENCY_PRUNE_EVERY),
            llm,
            metrics: Arc::default(),
            live: crate::live::LiveHub::start(&db_url, log.clone()),
            log,
            started_at: Instant::now(),
        })
    }
}

/// `BOTWIRE_JWT_SECRET`, or one generated on first start and kept in the database, so that
/// every replica and every restart accepts the same tokens.
async fn jwt_secret(config: &Config, db: &Db) -> Result<String> {
    if let Some(secret) = &config.jwt_secret {
        return Ok(secret.clone());
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let generated = base64::engine::general_purpose::STANDARD.encode(bytes);
    crate::store::settings::setting_get_or_insert(db, "jwt_secret", &generated)
        .await
        .context("reading the JWT secret")
}
