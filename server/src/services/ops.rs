//! The operational endpoints' service: health, readiness, metrics, the contract and its docs.

mod docs;

use crate::app::{App, OPENAPI_YAML};
use crate::error::Error;
use botwire_api::types::{Health, HealthStatus, Readiness, ReadinessDatabase, ReadinessStatus};
use std::sync::LazyLock;

pub fn health_get() -> Health {
    Health {
        status: HealthStatus::Ok,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Ready when the database answers and every migration this binary carries is applied.
pub async fn readiness_get(app: &App) -> Result<Readiness, Error> {
    let unavailable = |e: crate::db::DbError| Error::Unavailable(format!("database: {e}"));
    app.db.ping().await.map_err(unavailable)?;
    let migrations = app.db.migrations_applied().await.map_err(unavailable)?;
    let database = match app.db {
        crate::db::Db::Sqlite(..) => ReadinessDatabase::Sqlite,
        crate::db::Db::Postgres(_) => ReadinessDatabase::Postgres,
    };
    Ok(Readiness {
        database,
        migrations,
        status: ReadinessStatus::Ready,
    })
}

pub fn metrics_get(app: &App) -> String {
    app.metrics
        .render(app.started_at.elapsed(), app.db.backend())
}

/// The docs page, rendered once from the contract (no scripts, nothing fetched); `start()`
/// renders it before listening, so a contract that does not render stops the start.
static DOCS: LazyLock<Result<String, String>> =
    LazyLock::new(|| docs::render(OPENAPI_YAML).map_err(|e| format!("{e:#}")));

/// The docs page (`docs_get`).
pub fn docs_get() -> Result<&'static str, Error> {
    DOCS.as_deref()
        .map_err(|e| Error::Internal(format!("rendering the docs page: {e}")))
}
