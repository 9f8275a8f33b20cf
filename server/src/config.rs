//! Server configuration, read from the environment.

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An embedded SQLite file (created with its directory when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL server (`postgres://...`), shared by any number of replicas.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                bail!("DATABASE_URL sqlite:// needs a file path, e.g. sqlite://./botwire.sqlite3");
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        bail!(
            "DATABASE_URL must start with sqlite:// or postgres:// (got a value of another scheme)"
        )
    }

    /// The backend's name, for logs and readiness (never the URL: it may hold a password).
    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }
}

/// Requests per minute per credential, by rate-limit class (`BOTWIRE_RATE_LIMIT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub standard: u32,
    pub chat: u32,
    pub auth: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            standard: 100,
            chat: 30,
            auth: 5,
        }
    }
}

/// Outgoing email over SMTP (`BOTWIRE_SMTP_URL`, e.g. `smtp://user:pass@host:587?tls=required`).
#[derive(Clone)]
pub struct SmtpConfig {
    pub url: String,
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("SmtpConfig")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// How long the LLM client waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlmTimeouts {
    /// To open the connection.
    pub connect: Duration,
    /// For the response to start, and then between two pieces of it.
    pub idle: Duration,
    /// For the whole reply.
    pub total: Duration,
}

/// The LLM engine's server-wide settings (`BOTWIRE_LLM_*`). A bot's own base URL, model and
/// key win over these defaults.
#[derive(Clone)]
pub struct LlmConfig {
    /// `BOTWIRE_LLM_BASE_URL`: for bots of kind `llm` that name none.
    pub base_url: Option<String>,
    /// `BOTWIRE_LLM_MODEL`: for bots of kind `llm` that name none.
    pub model: Option<String>,
    /// `BOTWIRE_LLM_API_KEY`: for bots that store none.
    pub api_key: Option<String>,
    /// `BOTWIRE_LLM_ALLOWED_CIDRS`: the private, loopback, link-local or reserved addresses a
    /// bot's own LLM base URL may reach (default none: a tenant's URL must not reach the
    /// operator's network). The server-wide base URL is the operator's and is not checked.
    pub allowed_cidrs: Vec<ipnet::IpNet>,
    /// `BOTWIRE_LLM_CONNECT_TIMEOUT_SECONDS` (5), `BOTWIRE_LLM_IDLE_TIMEOUT_SECONDS` (30: for
    /// the first token, then between two), `BOTWIRE_LLM_TIMEOUT_SECONDS` (120: the whole reply).
    pub timeouts: LlmTimeouts,
}

impl LlmConfig {
    fn defaults() -> LlmConfig {
        LlmConfig {
            base_url: None,
            model: None,
            api_key: None,
            allowed_cidrs: Vec::new(),
            timeouts: LlmTimeouts {
                connect: Duration::from_secs(5),
                idle: Duration::from_secs(30),
                total: Duration::from_secs(120),
            },
        }
    }
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[set]"))
            .field("allowed_cidrs", &self.allowed_cidrs)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// Webhook delivery (`BOTWIRE_WEBHOOK_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// `BOTWIRE_WEBHOOK_ALLOWED_CIDRS`: comma-separated CIDRs that targets may resolve to
    /// although they are private, loopback, link-local or otherwise special (default none).
    pub allowed_cidrs: Vec<ipnet::IpNet>,
    /// `BOTWIRE_WEBHOOK_POLL_MS`: how often each replica looks for due work (default 1000).
    pub poll_interval: Duration,
    /// `BOTWIRE_WEBHOOK_RETRY_SCALE`: a factor on every wait between attempts, `Retry-After`
    /// included (default 1; tests make the 24-hour schedule last seconds).
    pub retry_scale: f64,
    /// `BOTWIRE_WEBHOOK_TIMEOUT_MS`: how long one attempt may take (default 15000).
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allowed_cidrs: Vec::new(),
            poll_interval: Duration::from_millis(1000),
            retry_scale: 1.0,
            timeout: Duration::from_secs(15),
        }
    }
}

impl WebhookConfig {
    /// Parses `BOTWIRE_WEBHOOK_ALLOWED_CIDRS` (an address alone is a /32 or /128).
    pub fn parse_cidrs(list: &str) -> Result<Vec<ipnet::IpNet>> {
        parse_cidrs("BOTWIRE_WEBHOOK_ALLOWED_CIDRS", list)
    }
}

/// A comma-separated list of CIDRs, the setting `name` (an address alone is a /32 or /128).
fn parse_cidrs(name: &str, list: &str) -> Result<Vec<ipnet::IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .with_context(|| format!("{name}: {item} is not a CIDR"))
        })
        .collect()
}

#[derive(Clone)]
pub struct Config {
    /// `BOTWIRE_BIND`, default 127.0.0.1:8080.
    pub bind: SocketAddr,
    /// `DATABASE_URL`, default an SQLite file under `BOTWIRE_DATA_DIR` (default `./botwire-data`).
    pub database: DatabaseUrl,
    /// `BOTWIRE_DB_POOL_SIZE`, default [`default_pool_size`]: connections per replica.
    pub db_pool_size: usize,
    /// Largest accepted request body (the contract says 10 MB).
    pub request_body_max_bytes: usize,
    /// `BOTWIRE_JWT_SECRET`; when absent, one is generated and kept in the database, so every
    /// replica and every restart shares it.
    pub jwt_secret: Option<String>,
    /// `BOTWIRE_JWT_TTL_SECONDS`, default one day.
    pub jwt_ttl: Duration,
    pub rate_limits: RateLimits,
    /// `BOTWIRE_MONTHLY_MESSAGE_QUOTA`: messages per account per month; unlimited if unset.
    pub monthly_message_quota: Option<u64>,
    /// SMTP, when `BOTWIRE_SMTP_URL` is set (with `BOTWIRE_EMAIL_FROM`).
    pub smtp: Option<SmtpConfig>,
    /// `BOTWIRE_OUTBOX_DIR`: where email goes as `.eml` files when there is no SMTP
    /// (default `<BOTWIRE_DATA_DIR>/outbox`).
    pub outbox_dir: PathBuf,
    pub llm: LlmConfig,
    /// `BOTWIRE_SSE_PING_SECONDS`, default 15: the gap after which a chat stream that has
    /// nothing to say sends a `: ping` comment.
    pub sse_ping_interval: Duration,
    pub webhooks: WebhookConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets (the JWT secret, the database or SMTP password).
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database", &self.database.backend())
            .field("db_pool_size", &self.db_pool_size)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "[set]"))
            .field("jwt_ttl", &self.jwt_ttl)
            .field("rate_limits", &self.rate_limits)
            .field("monthly_message_quota", &self.monthly_message_quota)
            .field("smtp", &self.smtp)
            .field("outbox_dir", &self.outbox_dir)
            .field("llm", &self.llm)
            .field("sse_ping_interval", &self.sse_ping_interval)
            .field("webhooks", &self.webhooks)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const REQUEST_BODY_MAX_BYTES: usize = 10 * 1024 * 1024;

impl Config {
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let bind = var("BOTWIRE_BIND").unwrap_or_else(|| DEFAULT_BIND.to_string());
        let bind: SocketAddr = bind
            .parse()
            .with_context(|| format!("BOTWIRE_BIND={bind} is not an address:port"))?;
        let data_dir =
            PathBuf::from(var("BOTWIRE_DATA_DIR").unwrap_or_else(|| "botwire-data".into()));
        let database = match var("DATABASE_URL") {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => DatabaseUrl::Sqlite(data_dir.join("botwire.sqlite3")),
        };
        let db_pool_size =
            match var("BOTWIRE_DB_POOL_SIZE") {
                Some(n) => n.parse().ok().filter(|n| *n > 0).with_context(|| {
                    format!("BOTWIRE_DB_POOL_SIZE={n} is not a positive number")
                })?,
                None => default_pool_size(),
            };
        let positive = |name: &str| -> Result<Option<u64>> {
            var(name)
                .map(|v| {
                    v.parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .with_context(|| format!("{name}={v} is not a positive whole number"))
                })
                .transpose()
        };
        let per_minute = |name: &str, default: u32| -> Result<u32> {
            match positive(name)? {
                Some(n) => u32::try_from(n).with_context(|| format!("{name}={n} is too large")),
                None => Ok(default),
            }
        };
        let defaults = RateLimits::default();
        let rate_limits = RateLimits {
            standard: per_minute("BOTWIRE_RATE_LIMIT_STANDARD", defaults.standard)?,
            chat: per_minute("BOTWIRE_RATE_LIMIT_CHAT", defaults.chat)?,
            auth: per_minute("BOTWIRE_RATE_LIMIT_AUTH", defaults.auth)?,
        };
        let smtp = match var("BOTWIRE_SMTP_URL") {
            Some(url) => Some(SmtpConfig {
                url,
                from: var("BOTWIRE_EMAIL_FROM")
                    .context("BOTWIRE_SMTP_URL is set: BOTWIRE_EMAIL_FROM must name the sender")?,
            }),
            None => None,
        };
        let outbox_dir =
            var("BOTWIRE_OUTBOX_DIR").map_or_else(|| data_dir.join("outbox"), PathBuf::from);
        let seconds = |name: &str, default: Duration| -> Result<Duration> {
            Ok(positive(name)?.map_or(default, Duration::from_secs))
        };
        let llm_defaults = LlmConfig::defaults();
        let llm = LlmConfig {
            base_url: var("BOTWIRE_LLM_BASE_URL"),
            model: var("BOTWIRE_LLM_MODEL"),
            api_key: var("BOTWIRE_LLM_API_KEY"),
            allowed_cidrs: parse_cidrs(
                "BOTWIRE_LLM_ALLOWED_CIDRS",
                &var("BOTWIRE_LLM_ALLOWED_CIDRS").unwrap_or_default(),
            )?,
            timeouts: LlmTimeouts {
                connect: seconds(
                    "BOTWIRE_LLM_CONNECT_TIMEOUT_SECONDS",
                    llm_defaults.timeouts.connect,
                )?,
                idle: seconds(
                    "BOTWIRE_LLM_IDLE_TIMEOUT_SECONDS",
                    llm_defaults.timeouts.idle,
                )?,
                total: seconds("BOTWIRE_LLM_TIMEOUT_SECONDS", llm_defaults.timeouts.total)?,
            },
        };
        if let Some(url) = &llm.base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("BOTWIRE_LLM_BASE_URL must be an http:// or https:// URL");
        }
        let defaults = WebhookConfig::default();
        let retry_scale = match var("BOTWIRE_WEBHOOK_RETRY_SCALE") {
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f > 0.0)
                .with_context(|| {
                    format!("BOTWIRE_WEBHOOK_RETRY_SCALE={v} is not a positive number")
                })?,
            None => defaults.retry_scale,
        };
        let webhooks = WebhookConfig {
            allowed_cidrs: WebhookConfig::parse_cidrs(
                &var("BOTWIRE_WEBHOOK_ALLOWED_CIDRS").unwrap_or_default(),
            )?,
            poll_interval: positive("BOTWIRE_WEBHOOK_POLL_MS")?
                .map_or(defaults.poll_interval, Duration::from_millis),
            retry_scale,
            timeout: positive("BOTWIRE_WEBHOOK_TIMEOUT_MS")?
                .map_or(defaults.timeout, Duration::from_millis),
        };
        Ok(Config {
            bind,
            database,
            db_pool_size,
            request_body_max_bytes: REQUEST_BODY_MAX_BYTES,
            jwt_secret: var("BOTWIRE_JWT_SECRET"),
            jwt_ttl: Duration::from_secs(positive("BOTWIRE_JWT_TTL_SECONDS")?.unwrap_or(86_400)),
            rate_limits,
            monthly_message_quota: positive("BOTWIRE_MONTHLY_MESSAGE_QUOTA")?,
            smtp,
            outbox_dir,
            llm,
            sse_ping_interval: seconds("BOTWIRE_SSE_PING_SECONDS", Duration::from_secs(15))?,
            webhooks,
        })
    }

    /// A configuration for tests and embedding: the given database, any free loopback port,
    /// email to `outbox_dir`, default limits.
    pub fn for_database(database: DatabaseUrl, outbox_dir: PathBuf) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            database,
            db_pool_size: 4,
            request_body_max_bytes: REQUEST_BODY_MAX_BYTES,
            jwt_secret: None,
            jwt_ttl: Duration::from_secs(86_400),
            rate_limits: RateLimits::default(),
            monthly_message_quota: None,
            smtp: None,
            outbox_dir,
            llm: LlmConfig::defaults(),
            sse_ping_interval: Duration::from_secs(15),
            webhooks: WebhookConfig::default(),
        }
    }
}

/// Twice the CPUs, at least 4: PostgreSQL's rule of thumb for a pool. More connections than
/// the cores can run only wait on each other: on 2 CPUs, 8 connections gave chat sends on
/// PostgreSQL 3,540-3,690 req/s with p99 29-32 ms, 4 gave 4,000-4,100 with p99 25-30 ms (the
/// batches' row locks and the backends' context switches), and SQLite did not change.
pub fn default_pool_size() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    (2 * cpus).max(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/d").unwrap().backend(),
            "postgres"
        );
        assert!(DatabaseUrl::parse("mysql://h/d").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn webhook_cidrs() {
        let cidrs = WebhookConfig::parse_cidrs("127.0.0.0/8, ::1 ,10.1.2.3").unwrap();
        let as_text: Vec<String> = cidrs.iter().map(ToString::to_string).collect();
        assert_eq!(as_text, ["127.0.0.0/8", "::1/128", "10.1.2.3/32"]);
        assert!(WebhookConfig::parse_cidrs("").unwrap().is_empty());
        assert!(WebhookConfig::parse_cidrs("10.0.0.0/33").is_err());
        assert!(WebhookConfig::parse_cidrs("localhost").is_err());
    }
}
