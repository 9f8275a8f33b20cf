//! The wake-ups of the live streams (the session and inbox streams). A stream never takes its
//! events from here: they are rows of `live_events`, read after the client's cursor
//! (`store::live`). The hub only says "bot X has new events, read again", so that a client
//! that reconnects, or a replica that missed a wake-up, loses nothing.
//!
//! On SQLite (one process) a write wakes the hub itself. On PostgreSQL every write also sends
//! `NOTIFY botwire_live, '<bot id>'` in its transaction, and each process keeps one connection
//! of its own (outside the pool) that `LISTEN`s and wakes its hub: replicas share nothing but
//! the database. When that connection is lost it is opened again, and every stream re-reads
//! (a notification sent meanwhile would otherwise be missed).

use crate::config::DatabaseUrl;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use std::sync::Arc;
use tokio::sync::broadcast;

use crate::store::live::CHANNEL;

/// What a stream is woken for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// New events of this bot may be in the table.
    Bot(Arc<str>),
    /// Anything may be: read again (after the listener reconnected).
    All,
}

impl Wake {
    /// Whether a stream of these bots should read again.
    pub fn concerns(&self, bots: &[String]) -> bool {
        match self {
            Wake::All => true,
            Wake::Bot(bot) => bots.iter().any(|b| b.as_str() == &**bot),
        }
    }
}

struct Inner {
    tx: broadcast::Sender<Wake>,
    listener: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.take() {
            listener.abort();
        }
    }
}

/// The process's hub; clones share it. Dropping the last clone stops the listener.
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<Inner>,
}

impl LiveHub {
    /// A hub; on PostgreSQL with its listening connection to `database`.
    pub fn start(database: &DatabaseUrl, log: slog::Logger) -> LiveHub {
        let (tx, _) = broadcast::channel(1024);
        let listener = match database {
            DatabaseUrl::Sqlite(_) => None,
            DatabaseUrl::Postgres(url) => Some(tokio::spawn(listen(
                url.to_string(),
                tx.clone(),
                log.clone(),
            ))),
        };
        LiveHub {
            inner: Arc::new(Inner { tx, listener }),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Wake> {
        self.inner.tx.subscribe()
    }

    /// Wakes this process's streams of `bot_id` (after a commit that wrote its events).
    pub fn wake(&self, bot_id: &str) {
        let _ = self.inner.tx.send(Wake::Bot(Arc::from(bot_id)));
    }
}

/// Keeps a `LISTEN` connection open, reconnecting after a loss (then waking every stream).
async fn listen(url: String, tx: broadcast::Sender<Wake>, log: slog::Logger) {
    let mut backoff = std::time::Duration::from_millis(100);
    let mut first = true;
    loop {
        match AsyncPgConnection::establish(&url).await {
            Ok(mut conn) => {
                let listening = diesel::sql_query(format!("LISTEN {CHANNEL}"))
                    .execute(&mut conn)
                    .await;
                match listening {
                    Ok(_) => {
                        backoff = std::time::Duration::from_millis(100);
                        if !first {
                            slog::info!(log, "live updates: listening again");
                            let _ = tx.send(Wake::All);
                        }
                        first = false;
                        let mut notifications = std::pin::pin!(conn.notifications_stream());
                        while let Some(notification) = notifications.next().await {
                            match notification {
                                Ok(n) => {
                                    let _ = tx.send(Wake::Bot(Arc::from(n.payload.as_str())));
                                }
                                Err(e) => {
                                    slog::warn!(log, "live updates: the listening connection failed"; "error" => %e);
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => {
                        slog::warn!(log, "live updates: LISTEN failed"; "error" => %e);
                    }
                }
            }
            Err(e) => {
                slog::warn!(log, "live updates: cannot connect to listen"; "error" => %e);
            }
        }
        // Whatever was notified while the connection was down is read again after it.
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
    }
}
