//! The operational endpoints' service: health, readiness, metrics, the contract and its docs.

use crate::app::{App, OPENAPI_YAML};
use crate::error::Error;
use anyhow::{Context, Result};
use botwire_api::types::{Health, HealthStatus, Readiness, ReadinessDatabase, ReadinessStatus};
use serde_json::Value;
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
    LazyLock::new(|| render_docs(OPENAPI_YAML).map_err(|e| format!("{e:#}")));

/// The docs page (`docs_get`).
pub fn docs_get() -> Result<&'static str, Error> {
    DOCS.as_deref()
        .map_err(|e| Error::Internal(format!("rendering the docs page: {e}")))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render_docs(openapi_yaml: &str) -> Result<String> {
    let doc: Value = serde_yaml::from_str(openapi_yaml).context("parsing openapi.yaml")?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let info = doc.get("info").cloned().unwrap_or(Value::Null);
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
             code{{background:#f3f3f3;padding:0 .2rem}}.op{{border-top:1px solid #ddd;padding:.5rem 0}}\
             .m{{font-weight:bold;display:inline-block;min-width:4.5rem}}</style></head><body>\
             <h1>{title} <small>{version}</small></h1><p>The full contract: <a href=\"/openapi.yaml\">openapi.yaml</a>.</p>\
             <pre>{description}</pre>",
        title = escape(&text(&info, "title")),
        version = escape(&text(&info, "version")),
        description = escape(&text(&info, "description")),
    );
    let empty = serde_json::Map::new();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for tag in doc
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = text(tag, "name");
        html.push_str(&format!(
            "<h2 id=\"{0}\">{0}</h2><p>{1}</p>",
            escape(&name),
            escape(&text(tag, "description"))
        ));
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                let in_tag = op
                    .get("tags")
                    .and_then(Value::as_array)
                    .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(name.as_str())));
                if !in_tag {
                    continue;
                }
                html.push_str(&format!(
                        "<div class=\"op\" id=\"{id}\"><span class=\"m\">{method}</span><code>{path}</code> \
                         <b>{summary}</b> <small><code>{id}</code></small><p>{description}</p></div>",
                        id = escape(&text(op, "operationId")),
                        method = method.to_uppercase(),
                        path = escape(path),
                        summary = escape(&text(op, "summary")),
                        description = escape(&text(op, "description")),
                    ));
            }
        }
    }
    html.push_str("</body></html>\n");
    Ok(html)
}
