//! The inbox at size (issue 16): a bot with [`CONVERSATIONS`] conversations made through the
//! API (one chat exchange each, one in [`HANDOFF_EVERY`] handed to humans), then its inbox
//! list read filtered by status, first page and a page deep in (keyset: as fast).

use super::http::{self, Connection};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Conversations of the bot (the figure).
pub const CONVERSATIONS: usize = 100_000;
/// One conversation in this many is handed to humans (status `pending`).
pub const HANDOFF_EVERY: usize = 10;
/// Connections that make the conversations.
const WRITERS: usize = 16;
/// The page size read.
pub const PAGE: usize = 20;
/// The later page read: this many pages in.
pub const DEEP_PAGE: usize = 50;

/// Makes the conversations: sessions `inbox-<n>`, each one message; every
/// [`HANDOFF_EVERY`]th escalated. Returns how long it took.
pub fn populate(
    addr: SocketAddr,
    bot: &str,
    key: &str,
    question: &str,
) -> Result<std::time::Duration> {
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let headers = [("Content-Type", "application/json"), ("X-API-Key", key)];
    std::thread::scope(|scope| {
        for _ in 0..WRITERS {
            scope.spawn(|| {
                let Ok(mut connection) = Connection::open(addr) else {
                    failures.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= CONVERSATIONS {
                        return;
                    }
                    let body = json!({"bot_id": bot, "session_id": format!("inbox-{n}"), "message": question});
                    let sent = connection
                        .send(&http::request("POST", "/v1/chat", &headers, body.to_string().as_bytes()));
                    let Ok(reply) = sent.map_err(|_| ()).and_then(|r| {
                        if r.status == 200 { serde_json::from_slice::<Value>(&r.body).map_err(|_| ()) } else { Err(()) }
                    }) else {
                        failures.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    if n.is_multiple_of(HANDOFF_EVERY) {
                        let id = reply["conversation_id"].as_str().unwrap_or_default();
                        let path = format!("/v1/conversations/{id}/escalate");
                        let escalated = connection.send(&http::request("POST", &path, &headers, b"{}"));
                        if !escalated.is_ok_and(|r| r.status == 200) {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        bail!("making the inbox's conversations: {failed} requests failed");
    }
    Ok(started.elapsed())
}

/// The path of the inbox list of `bot`'s pending conversations, `pages` pages in (following
/// the cursors), and the number of conversations the list counts.
pub fn pending_page(addr: SocketAddr, bot: &str, key: &str, pages: usize) -> Result<(String, u64)> {
    let headers = [("X-API-Key", key)];
    let first = format!("/v1/bots/{bot}/inbox/conversations?status=pending&limit={PAGE}");
    let mut path = first.clone();
    let mut total = 0;
    for _ in 0..pages {
        let page = http::call(addr, "GET", &path, &headers, b"")?;
        total = page["pagination"]["total"].as_u64().unwrap_or(0);
        let cursor = page["pagination"]["next_cursor"]
            .as_str()
            .context("the inbox list ended before the page")?;
        path = format!("{first}&cursor={cursor}");
    }
    if pages == 0 {
        let page = http::call(addr, "GET", &path, &headers, b"")?;
        total = page["pagination"]["total"].as_u64().unwrap_or(0);
    }
    Ok((path, total))
}
