//! Conversations, messages, feedback and stored replies for retry-safe sends: their rows and
//! queries. A chat exchange (the conversation if new, the user's message, the bot's reply, and
//! their events) is written in one transaction, shared with the exchanges waiting at the same
//! time: `queue` decides which exchanges share a transaction (the group commit), `batch` writes
//! them.

mod batch;
mod queue;

pub use queue::{ExchangeQueue, exchange_record, exchanges_record_as_one_batch};

use super::bots::BotRow;
use super::{Page, now, page};
use crate::db::schema::{accounts, bots, conversations, feedback, idempotency_keys, messages};
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = conversations)]
pub struct ConversationRow {
    pub id: String,
    pub bot_id: String,
    pub session_id: String,
    pub user_id: Option<String>,
    pub contact_id: Option<String>,
    pub by_visitor: bool,
    pub status: String,
    pub handed_off: bool,
    pub assignee_id: Option<String>,
    pub tags: String,
    pub message_count: i64,
    pub last_message_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// When it last began to wait for a human (the queue's order).
    pub queued_at: Option<NaiveDateTime>,
    /// When its assignee got it, until an agent replies.
    pub awaiting_agent_since: Option<NaiveDateTime>,
}

/// `treat_none_as_default_value = false`: a `None` is bound as NULL (every optional column's
/// default), so the insert's SQL is the same for every message and diesel caches the prepared
/// statement (with DEFAULT it prepared each insert anew, inside the write transaction).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub struct MessageRow {
    pub id: String,
    pub conversation_id: String,
    pub role: String,
    pub content: String,
    pub language: Option<String>,
    pub sources: String,
    pub suggested_actions: String,
    pub engine: Option<String>,
    pub agent_id: Option<String>,
    pub created_at: NaiveDateTime,
    /// On a user's message the bot answered: whether the offline engine was confident.
    pub answered: Option<bool>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = feedback)]
pub struct FeedbackRow {
    pub id: String,
    pub conversation_id: String,
    pub message_id: Option<String>,
    pub rating: Option<String>,
    pub csat: Option<i64>,
    pub comment: Option<String>,
    pub created_at: NaiveDateTime,
}

/// An event to write with the change that causes it (the account and bot come from that change).
pub struct NewEvent {
    pub event_type: &'static str,
    pub payload: String,
}

/// What a chat request reads before it answers, in one statement: a bot of the account, the
/// conversation of the session when it has one, and the account's own monthly quota.
pub struct ChatTarget {
    pub bot: BotRow,
    pub conversation: Option<ConversationRow>,
    pub account_quota: Option<i64>,
}

/// The account's bot with its session's conversation (`session_id: None`: none is looked up)
/// and the account's quota; `None` when the account has no such bot.
pub async fn chat_target_get(
    db: &Db,
    account_id: &str,
    bot_id: &str,
    session_id: Option<&str>,
) -> Result<Option<ChatTarget>, DbError> {
    // `session_id = NULL` matches no row, so `None` joins no conversation.
    let of_session = conversations::bot_id
        .eq(bots::id)
        .and(conversations::session_id.nullable().eq(session_id));
    let row = with_conn!(db, |conn| {
        bots::table
            .inner_join(accounts::table)
            .left_join(conversations::table.on(of_session))
            .filter(bots::id.eq(bot_id))
            .filter(bots::account_id.eq(account_id))
            .select((
                BotRow::as_select(),
                Option::<ConversationRow>::as_select(),
                accounts::monthly_message_quota,
            ))
            .first::<(BotRow, Option<ConversationRow>, Option<i64>)>(&mut conn)
            .await
            .optional()?
    });
    Ok(row.map(|(bot, conversation, account_quota)| ChatTarget {
        bot,
        conversation,
        account_quota,
    }))
}

/// The conversation of a session of a bot, if the session exists.
pub async fn conversation_of_session(
    db: &Db,
    bot_id: &str,
    session_id: &str,
) -> Result<Option<ConversationRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        conversations::table
            .filter(conversations::bot_id.eq(bot_id))
            .filter(conversations::session_id.eq(session_id))
            .select(ConversationRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// The bot of a conversation, its account, and whether a visitor started it, whoever asks
/// (for the access rule, `auth::access`).
pub async fn conversation_bot_get(
    db: &Db,
    id: &str,
) -> Result<Option<(String, String, bool)>, DbError> {
    Ok(with_conn!(db, |conn| {
        conversations::table
            .inner_join(bots::table)
            .filter(conversations::id.eq(id))
            .select((bots::id, bots::account_id, conversations::by_visitor))
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// A conversation of one of the account's bots (another account's is not found), with its
/// bot's id.
pub async fn conversation_get(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<Option<ConversationRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        conversations::table
            .inner_join(bots::table)
            .filter(conversations::id.eq(id))
            .filter(bots::account_id.eq(account_id))
            .select(ConversationRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// Whether [`exchange_record`] recorded the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Yes,
    /// Nothing was written: the exchange was to start its session's conversation, and another
    /// request started it first (two first messages of a session at once).
    SessionTaken,
}

/// One chat exchange to record: the conversation (inserted when `new`, else its counters and
/// status updated), its messages and events, and with `usage = Some((month, n))` `n` messages
/// counted in the account's `month`.
pub struct ExchangeWrite {
    pub account_id: String,
    pub conversation: ConversationRow,
    pub new: bool,
    pub messages: Vec<MessageRow>,
    pub events: Vec<NewEvent>,
    /// For the live streams (a visitor's message to a conversation humans have).
    pub live: Vec<crate::store::live::LiveEventInsert>,
    pub usage: Option<(String, i64)>,
    /// A handoff the message starts (it reopens a conversation humans have), at this time.
    pub handoff_at: Option<NaiveDateTime>,
}

/// A conversation's messages, oldest first, after the cursor. The page's `total` is the
/// conversation's `message_count`, which every write of a message keeps in the same
/// transaction: one statement, where counting the rows was a second.
pub async fn messages_list(
    db: &Db,
    conversation: &ConversationRow,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<MessageRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let after = after.unwrap_or("").to_string();
    let items = with_conn!(db, |conn| {
        messages::table
            .filter(messages::conversation_id.eq(&conversation.id))
            .filter(messages::id.gt(&after))
            .select(MessageRow::as_select())
            .order(messages::id.asc())
            .limit(fetch)
            .load(&mut conn)
            .await?
    });
    Ok(page(items, limit, conversation.message_count))
}

/// A page of a session's messages as [`session_messages_list`] reads it, with what the
/// service needs of the conversation.
pub struct SessionMessages {
    /// Whether a visitor started the session (only such sessions are a visitor's to read).
    pub by_visitor: bool,
    pub page: Page<MessageRow>,
}

/// A non-empty page of the messages of a session of one of the account's bots, read with
/// the session in one statement (on PostgreSQL, one round trip fewer than the session and
/// then its page). `None` when the account has no such bot, the bot no such session, or the
/// page no message: the caller tells these apart the longer way.
///
/// The session is found by uncorrelated subqueries, run once, so that the messages are read
/// in the order of their index and no further than the page: a join would read every later
/// message of the conversation to sort them.
pub async fn session_messages_list(
    db: &Db,
    account_id: &str,
    bot_id: &str,
    session_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Option<SessionMessages>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let after = after.unwrap_or("");
    let session = || {
        conversations::table
            .inner_join(bots::table)
            .filter(bots::id.eq(bot_id))
            .filter(bots::account_id.eq(account_id))
            .filter(conversations::session_id.eq(session_id))
    };
    let rows = with_conn!(db, |conn| {
        messages::table
            .filter(
                messages::conversation_id
                    .nullable()
                    .eq(session().select(conversations::id).single_value()),
            )
            .filter(messages::id.gt(after))
            .select((
                session()
                    .select(conversations::message_count)
                    .single_value(),
                session().select(conversations::by_visitor).single_value(),
                MessageRow::as_select(),
            ))
            .order(messages::id.asc())
            .limit(fetch)
            .load::<(Option<i64>, Option<bool>, MessageRow)>(&mut conn)
            .await?
    });
    let Some(&(Some(total), Some(by_visitor), _)) = <[_]>::first(&rows) else {
        return Ok(None);
    };
    let items = rows.into_iter().map(|(_, _, message)| message).collect();
    Ok(Some(SessionMessages {
        by_visitor,
        page: page(items, limit, total),
    }))
}

/// The last `n` messages of a conversation, oldest first.
pub async fn messages_recent(
    db: &Db,
    conversation_id: &str,
    n: usize,
) -> Result<Vec<MessageRow>, DbError> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    with_conn!(db, |conn| {
        let mut items = messages::table
            .filter(messages::conversation_id.eq(conversation_id))
            .select(MessageRow::as_select())
            .order(messages::id.desc())
            .limit(n)
            .load(&mut conn)
            .await?;
        items.reverse();
        Ok(items)
    })
}

/// The bot's sessions (one conversation each), most recently active first (latest message,
/// then newest). `after`: the (latest message, id) of the last session of the previous page.
pub async fn sessions_list(
    db: &Db,
    bot_id: &str,
    user_id: Option<&str>,
    status: Option<&str>,
    contact_id: Option<&str>,
    after: Option<(NaiveDateTime, &str)>,
    limit: usize,
) -> Result<Page<ConversationRow>, DbError> {
    let filters = super::inbox::InboxFilters {
        status: status.map(str::to_string),
        user_id: user_id.map(str::to_string),
        contact_id: contact_id.map(str::to_string),
        ..Default::default()
    };
    let after = after.map(|(at, id)| (at, id.to_string()));
    super::inbox::inbox_list(db, bot_id, &filters, after, limit).await
}

/// Deletes a session's conversation and messages, and writes the event `ended` makes of the
/// deleted conversation, together; true if it existed.
pub async fn session_delete(
    db: &Db,
    account_id: &str,
    bot_id: &str,
    session_id: &str,
    ended: &(dyn Fn(&ConversationRow) -> NewEvent + Send + Sync),
) -> Result<bool, DbError> {
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            let deleted: Vec<ConversationRow> = diesel::delete(
                conversations::table
                    .filter(conversations::bot_id.eq(bot_id))
                    .filter(conversations::session_id.eq(session_id)),
            )
            .returning(ConversationRow::as_returning())
            .get_results(conn)
            .await?;
            for conversation in &deleted {
                let event = ended(conversation);
                insert_event!(
                    conn,
                    account_id,
                    Some(bot_id),
                    event.event_type,
                    &event.payload
                );
            }
            Ok(!deleted.is_empty())
        })
        .await
    })
}

pub async fn feedback_create(
    db: &Db,
    account_id: &str,
    bot_id: &str,
    row: &FeedbackRow,
    event: &NewEvent,
) -> Result<(), DbError> {
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            diesel::insert_into(feedback::table)
                .values(row)
                .execute(conn)
                .await?;
            insert_event!(
                conn,
                account_id,
                Some(bot_id),
                event.event_type,
                &event.payload
            );
            Ok(())
        })
        .await
    })
}

/// The role of a message of a conversation; `None` when the conversation has no such message.
pub async fn message_role(
    db: &Db,
    conversation_id: &str,
    message_id: &str,
) -> Result<Option<String>, DbError> {
    Ok(with_conn!(db, |conn| {
        messages::table
            .filter(messages::id.eq(message_id))
            .filter(messages::conversation_id.eq(conversation_id))
            .select(messages::role)
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// A stored reply for an idempotency key, if one younger than `since` exists: (request hash,
/// response JSON).
pub async fn idempotency_get(
    db: &Db,
    key: &str,
    since: NaiveDateTime,
) -> Result<Option<(String, String)>, DbError> {
    Ok(with_conn!(db, |conn| {
        idempotency_keys::table
            .filter(idempotency_keys::key.eq(key))
            .filter(idempotency_keys::created_at.gt(since))
            .select((idempotency_keys::request_hash, idempotency_keys::response))
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// Deletes the stored replies created before `before`, oldest first, a thousand per statement
/// (on SQLite each is one short write turn, not one long one); returns how many went.
pub async fn idempotency_prune(db: &Db, before: NaiveDateTime) -> Result<usize, DbError> {
    const BATCH: i64 = 1000;
    let mut deleted = 0;
    loop {
        let (found, batch) = with_write_conn!(db, |conn| {
            let keys: Vec<String> = idempotency_keys::table
                .filter(idempotency_keys::created_at.lt(before))
                .order(idempotency_keys::created_at.asc())
                .limit(BATCH)
                .select(idempotency_keys::key)
                .load(&mut conn)
                .await?;
            let batch = if keys.is_empty() {
                0
            } else {
                // Checked again: a key stored afresh since the read is not expired any more.
                diesel::delete(
                    idempotency_keys::table
                        .filter(idempotency_keys::key.eq_any(&keys))
                        .filter(idempotency_keys::created_at.lt(before)),
                )
                .execute(&mut conn)
                .await?
            };
            (keys.len(), batch)
        });
        deleted += batch;
        if i64::try_from(found).unwrap_or(0) < BATCH {
            return Ok(deleted);
        }
    }
}

/// Stores the reply for a key (replacing an expired one).
pub async fn idempotency_put(
    db: &Db,
    key: &str,
    request_hash: &str,
    response: &str,
) -> Result<(), DbError> {
    let now = now();
    with_write_conn!(db, |conn| {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::key.eq(key),
                idempotency_keys::request_hash.eq(request_hash),
                idempotency_keys::response.eq(response),
                idempotency_keys::created_at.eq(now),
            ))
            .on_conflict(idempotency_keys::key)
            .do_update()
            .set((
                idempotency_keys::request_hash.eq(request_hash),
                idempotency_keys::response.eq(response),
                idempotency_keys::created_at.eq(now),
            ))
            .execute(&mut conn)
            .await?
    });
    Ok(())
}
