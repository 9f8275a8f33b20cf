//! The live streams: a visitor's session stream and an agent's inbox stream. Each reads its
//! events from `live_events` after the client's cursor (the `Last-Event-ID` it saw, or the
//! newest event when it has none), and reads again whenever this process's hub says the bot
//! has new ones (`crate::live`), or every 10 s in case a wake-up was lost. What a client
//! missed while away therefore comes from the database, never from a process's memory.

use super::super::Call;
use super::super::chat::{conversation_view, session_conversation};
use crate::auth::access;
use crate::db::Db;
use crate::error::Error;
use crate::live::{LiveHub, Wake};
use crate::store::inbox as inbox_store;
use crate::store::live::{self as store, LiveEventRow};
use botwire_api::policy::Access;
use botwire_api::types::QueuePosition;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// How often a stream reads again without a wake-up.
const REREAD_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Events read per statement.
const BATCH: i64 = 100;

/// One Server-Sent Event; `id` is the resume cursor (none for a state sent on connect).
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<i64>,
    pub event: String,
    pub data: String,
}

impl From<LiveEventRow> for Frame {
    fn from(row: LiveEventRow) -> Frame {
        Frame {
            id: Some(row.seq),
            event: row.event,
            data: row.data,
        }
    }
}

/// The cursor a client resumes from: its `Last-Event-ID`, else the newest event.
async fn start_cursor(db: &Db, last_event_id: Option<&str>) -> Result<i64, Error> {
    match last_event_id {
        Some(id) => id
            .parse()
            .map_err(|_| Error::InvalidRequest("header `Last-Event-ID`: not an event id".into())),
        None => Ok(store::live_latest_seq(db).await?),
    }
}

/// Waits for a wake-up that concerns `bots` (a lagging receiver re-reads, as after a loss).
async fn woken(wakes: &mut broadcast::Receiver<Wake>, bots: &[String]) {
    loop {
        match wakes.recv().await {
            Ok(wake) if wake.concerns(bots) => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// What a stream reads each time it is woken.
trait Source: Send + 'static {
    fn bots(&self) -> &[String];
    /// The events after `after`, oldest first, and frames of state derived from them.
    fn read(
        &mut self,
        db: &Db,
        after: i64,
    ) -> impl Future<Output = Result<Vec<Frame>, Error>> + Send;
}

/// Feeds `tx` from `source` until the client leaves.
fn feed<S: Source>(
    db: Db,
    live: &LiveHub,
    mut source: S,
    mut cursor: i64,
    first: Vec<Frame>,
    log: slog::Logger,
) -> mpsc::Receiver<Frame> {
    let (tx, rx) = mpsc::channel(256);
    // Subscribed before the first read, so nothing written after it goes unnoticed.
    let mut wakes = live.subscribe();
    tokio::spawn(async move {
        for frame in first {
            if tx.send(frame).await.is_err() {
                return;
            }
        }
        loop {
            match source.read(&db, cursor).await {
                Ok(frames) => {
                    let full = frames.iter().filter(|f| f.id.is_some()).count()
                        >= usize::try_from(BATCH).unwrap_or(usize::MAX);
                    for frame in frames {
                        if let Some(id) = frame.id {
                            cursor = cursor.max(id);
                        }
                        if tx.send(frame).await.is_err() {
                            return;
                        }
                    }
                    if full {
                        continue;
                    }
                }
                Err(error) => {
                    slog::warn!(log, "a live stream could not read its events"; "error" => %error);
                }
            }
            tokio::select! {
                () = tx.closed() => return,
                () = woken(&mut wakes, source.bots()) => {}
                () = tokio::time::sleep(REREAD_EVERY) => {}
            }
        }
    });
    rx
}

struct SessionSource {
    bots: Vec<String>,
    conversation_id: String,
    /// The queue position last sent.
    position: Option<i64>,
}

impl Source for SessionSource {
    fn bots(&self) -> &[String] {
        &self.bots
    }

    async fn read(&mut self, db: &Db, after: i64) -> Result<Vec<Frame>, Error> {
        let rows = store::live_session_events(db, &self.conversation_id, after, BATCH).await?;
        let mut frames: Vec<Frame> = rows.into_iter().map(Frame::from).collect();
        let position = inbox_store::queue_position(db, &self.conversation_id).await?;
        if position != self.position {
            if let Some(position) = position {
                frames.push(queue_frame(position));
            }
            self.position = position;
        }
        Ok(frames)
    }
}

fn queue_frame(position: i64) -> Frame {
    let position = QueuePosition {
        position: std::num::NonZeroU64::new(u64::try_from(position).unwrap_or(1))
            .unwrap_or(std::num::NonZeroU64::MIN),
    };
    Frame {
        id: None,
        event: "queue".into(),
        data: serde_json::to_string(&position).unwrap_or_default(),
    }
}

/// A visitor's stream of a session: the conversation's state first, then its live events.
pub async fn session_stream(
    call: &Call<'_>,
    bot_id: Uuid,
    session_id: &str,
    last_event_id: Option<&str>,
) -> Result<mpsc::Receiver<Frame>, Error> {
    let conversation = session_conversation(call, bot_id, session_id).await?;
    let db = call.app.db.clone();
    let cursor = start_cursor(&db, last_event_id).await?;
    let first = vec![Frame {
        id: None,
        event: "conversation".into(),
        data: serde_json::to_string(&conversation_view(&conversation)).unwrap_or_default(),
    }];
    let source = SessionSource {
        bots: vec![conversation.bot_id.clone()],
        conversation_id: conversation.id.clone(),
        position: None,
    };
    Ok(feed(
        db,
        &call.app.live,
        source,
        cursor,
        first,
        call.app.log.clone(),
    ))
}

struct InboxSource {
    bots: Vec<String>,
    user_id: String,
}

impl Source for InboxSource {
    fn bots(&self) -> &[String] {
        &self.bots
    }

    async fn read(&mut self, db: &Db, after: i64) -> Result<Vec<Frame>, Error> {
        let rows = store::live_inbox_events(db, &self.bots, &self.user_id, after, BATCH).await?;
        Ok(rows.into_iter().map(Frame::from).collect())
    }
}

/// An agent's stream of the bots they can see (when it opens), or of one of them.
pub async fn inbox_stream(
    call: &Call<'_>,
    bot_id: Option<Uuid>,
    last_event_id: Option<&str>,
) -> Result<mpsc::Receiver<Frame>, Error> {
    let (user_id, account_id) = call.user()?;
    let db = call.app.db.clone();
    let bots = match bot_id {
        Some(bot_id) => {
            access::authorize_bot(
                call.app,
                &call.principal,
                Access::BotTeamAgent,
                bot_id,
                true,
            )
            .await?;
            vec![bot_id.to_string()]
        }
        None => {
            inbox_store::bots_visible_to(&db, &account_id.to_string(), &user_id.to_string()).await?
        }
    };
    let cursor = start_cursor(&db, last_event_id).await?;
    let source = InboxSource {
        bots,
        user_id: user_id.to_string(),
    };
    Ok(feed(
        db,
        &call.app.live,
        source,
        cursor,
        Vec::new(),
        call.app.log.clone(),
    ))
}
