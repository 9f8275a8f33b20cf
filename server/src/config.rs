//! Server configuration, read from the environment.

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::path::PathBuf;

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

#[derive(Debug, Clone)]
pub struct Config {
    /// `BOTWIRE_BIND`, default 127.0.0.1:8080.
    pub bind: SocketAddr,
    /// `DATABASE_URL`, default an SQLite file under `BOTWIRE_DATA_DIR` (default `./botwire-data`).
    pub database: DatabaseUrl,
    /// `BOTWIRE_DB_POOL_SIZE`, default 8: connections per replica.
    pub db_pool_size: usize,
    /// Largest accepted request body (the contract says 10 MB).
    pub request_body_max_bytes: usize,
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
        let database = match var("DATABASE_URL") {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => {
                let dir = var("BOTWIRE_DATA_DIR").unwrap_or_else(|| "botwire-data".to_string());
                DatabaseUrl::Sqlite(PathBuf::from(dir).join("botwire.sqlite3"))
            }
        };
        let db_pool_size =
            match var("BOTWIRE_DB_POOL_SIZE") {
                Some(n) => n.parse().ok().filter(|n| *n > 0).with_context(|| {
                    format!("BOTWIRE_DB_POOL_SIZE={n} is not a positive number")
                })?,
                None => 8,
            };
        Ok(Config {
            bind,
            database,
            db_pool_size,
            request_body_max_bytes: REQUEST_BODY_MAX_BYTES,
        })
    }

    /// A configuration for tests and embedding: the given database, any free loopback port.
    pub fn for_database(database: DatabaseUrl) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            database,
            db_pool_size: 4,
            request_body_max_bytes: REQUEST_BODY_MAX_BYTES,
        }
    }
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
}
