//! Conversations, messages, feedback and stored replies for retry-safe sends. A chat exchange
//! (the conversation if new, the user's message, the bot's reply, and their events) is written
//! in one transaction.

use super::bots::BotRow;
use super::{EventInsert, Page, now, page};
use crate::db::schema::{
    accounts, bots, conversations, events, feedback, idempotency_keys, messages, webhooks,
};
use crate::db::{Db, DbError, SqliteConn};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp, Untyped};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection, RunQueryDsl};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::oneshot;

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
    pub usage: Option<(String, i64)>,
}

type Waiting = (ExchangeWrite, oneshot::Sender<Result<Recorded, DbError>>);

/// Group commit for chat exchanges. Each exchange waits here; whoever gets a turn records
/// every exchange then waiting in one transaction. A commit is the dearest part of a chat
/// message on SQLite (the WAL frames of every page it touched, written out), and exchanges
/// that arrive together then share it, and share the account's counter row.
///
/// SQLite has one writer, so one turn. PostgreSQL writes in parallel, and one turn would make
/// every exchange of the process wait on one connection's round trips: it gets half the pool.
pub struct ExchangeQueue {
    waiting: std::sync::Mutex<Vec<Waiting>>,
    turns: Arc<tokio::sync::Semaphore>,
}

impl ExchangeQueue {
    pub fn new(db: &Db) -> ExchangeQueue {
        let turns = match db {
            Db::Sqlite(..) => 1,
            Db::Postgres(pool) => (pool.status().max_size / 2).max(1),
        };
        ExchangeQueue {
            waiting: std::sync::Mutex::default(),
            turns: Arc::new(tokio::sync::Semaphore::new(turns)),
        }
    }
}

/// Records an exchange, with the others waiting at the time (see [`ExchangeQueue`]): in one
/// transaction, or, if that fails, each in its own, so that one exchange's error is its own.
pub async fn exchange_record(
    db: &Db,
    queue: &ExchangeQueue,
    exchange: ExchangeWrite,
) -> Result<Recorded, DbError> {
    let (sender, mut recorded) = oneshot::channel();
    lock(&queue.waiting).push((exchange, sender));
    let turn = tokio::select! {
        biased;
        result = &mut recorded => return outcome(result),
        turn = Arc::clone(&queue.turns).acquire_owned() => turn
            .map_err(|_| DbError::Pool("the exchange queue is closed".into()))?,
    };
    let batch = std::mem::take(&mut *lock(&queue.waiting));
    if batch.is_empty() {
        // Another turn took ours, and answers it.
        drop(turn);
        return outcome(recorded.await);
    }
    // A task of its own: the batch holds other requests' exchanges, which must be recorded
    // and answered even if this request goes away meanwhile.
    let db = db.clone();
    let recording = tokio::spawn(async move {
        record_batch(&db, batch).await;
        drop(turn);
    });
    // The batch answers through `recorded` (ours was in it, or in an earlier one).
    let _ = recording.await;
    outcome(recorded.await)
}

/// Records `writes` as one batch, as [`exchange_record`] does with exchanges that wait at the
/// same time; their outcomes, in order. For tests: which exchanges share a batch is otherwise a
/// matter of timing, and the batch's fallback (a failed shared transaction writes each exchange
/// alone) needs two exchanges in one batch to be seen.
#[doc(hidden)]
pub async fn exchanges_record_as_one_batch(
    db: &Db,
    writes: Vec<ExchangeWrite>,
) -> Vec<Result<Recorded, DbError>> {
    let (batch, receivers): (Vec<Waiting>, Vec<_>) = writes
        .into_iter()
        .map(|write| {
            let (sender, receiver) = oneshot::channel();
            ((write, sender), receiver)
        })
        .unzip();
    record_batch(db, batch).await;
    let mut outcomes = Vec::with_capacity(receivers.len());
    for receiver in receivers {
        outcomes.push(outcome(receiver.await));
    }
    outcomes
}

fn lock(waiting: &std::sync::Mutex<Vec<Waiting>>) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
    // A panic while the lock was held left a whole Vec: nothing to repair.
    waiting
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn outcome(
    result: Result<Result<Recorded, DbError>, oneshot::error::RecvError>,
) -> Result<Recorded, DbError> {
    result.unwrap_or_else(|_| Err(DbError::Pool("an exchange's batch was dropped".into())))
}

async fn record_batch(db: &Db, batch: Vec<Waiting>) {
    if batch.len() > 1 {
        let writes: Vec<&ExchangeWrite> = batch.iter().map(|(write, _)| write).collect();
        if let Ok(outcomes) = exchanges_write(db, &writes).await {
            for ((_, sender), outcome) in batch.into_iter().zip(outcomes) {
                let _ = sender.send(Ok(outcome));
            }
            return;
        }
        // Nothing of the batch was written: each exchange again, alone, gets its own outcome.
    }
    for (write, sender) in batch {
        let result = exchanges_write(db, &[&write])
            .await
            .map(|outcomes| outcomes[0]);
        let _ = sender.send(result);
    }
}

/// Inserts a new exchange's conversation with `$conn` (either backend's connection) and
/// evaluates to the exchange's outcome: `SessionTaken` when another request started the
/// session's conversation first. An error ends the transaction.
macro_rules! conversation_insert {
    ($conn:ident, $conversation:expr) => {
        async {
            let inserted = diesel::insert_into(conversations::table)
                .values($conversation)
                .on_conflict_do_nothing()
                .execute($conn)
                .await?;
            Ok::<_, DbError>(if inserted == 0 {
                Recorded::SessionTaken
            } else {
                Recorded::Yes
            })
        }
        .await?
    };
}

/// What a batch changes in a conversation that existed: messages added, the latest one's time,
/// and the status its last exchange left it in.
struct ConversationUpdate<'a> {
    id: &'a str,
    added: i64,
    last_message_at: Option<NaiveDateTime>,
    status: &'a str,
}

/// A batch's writes of many rows: the existing conversations' updates, the messages, and the
/// events of accounts with an enabled webhook (see [`keep_subscribed`]).
/// - PostgreSQL: a statement or two per table, since each statement is a round trip and
///   50-100 µs of the database's CPU, and a batch of n exchanges took 5n of them; the
///   independent ones are pipelined (sent together, run in order).
/// - SQLite: a statement per row, prepared once and cached (a multi-row insert would be
///   prepared anew for each number of rows, and diesel-async cannot run one on SQLite), as an
///   SQLite statement runs in the process and costs no round trip.
trait BatchWrites {
    /// `updates` are in id order, one per conversation.
    fn rows_write<'a>(
        &'a mut self,
        updates: &'a [ConversationUpdate<'a>],
        messages: &'a [&'a MessageRow],
        events: Vec<EventInsert<'a>>,
        at: NaiveDateTime,
    ) -> impl Future<Output = Result<(), DbError>> + Send + 'a;
}

/// The accounts of `events`, for the query of those with an enabled webhook.
fn event_accounts<'a>(events: &[EventInsert<'a>]) -> BTreeSet<&'a str> {
    events.iter().map(|e| e.account_id).collect()
}

/// Keeps the events of accounts in `subscribed` (those with an enabled webhook now). The
/// events table is the webhooks' outbox and nothing else reads it: another account's chat
/// event would be delivered to no one, so it is not written at all (on PostgreSQL its insert,
/// two per exchange with their indexes and WAL, cost a sixth of a chat send's throughput).
fn keep_subscribed(events: &mut Vec<EventInsert<'_>>, subscribed: &[String]) {
    events.retain(|event| subscribed.iter().any(|a| a == event.account_id));
}

impl BatchWrites for Object<SqliteConn> {
    async fn rows_write(
        &mut self,
        updates: &[ConversationUpdate<'_>],
        messages: &[&MessageRow],
        mut events: Vec<EventInsert<'_>>,
        at: NaiveDateTime,
    ) -> Result<(), DbError> {
        for update in updates {
            diesel::update(conversations::table.find(update.id))
                .set((
                    conversations::message_count.eq(conversations::message_count + update.added),
                    conversations::last_message_at.eq(update.last_message_at),
                    conversations::status.eq(update.status),
                    conversations::updated_at.eq(at),
                ))
                .execute(self)
                .await?;
        }
        for row in messages {
            diesel::insert_into(messages::table)
                .values(*row)
                .execute(self)
                .await?;
        }
        let accounts = event_accounts(&events);
        if !accounts.is_empty() {
            let subscribed: Vec<String> = subscribed_accounts(&accounts).load(self).await?;
            keep_subscribed(&mut events, &subscribed);
        }
        for row in &events {
            diesel::insert_into(events::table)
                .values(row)
                .execute(self)
                .await?;
        }
        Ok(())
    }
}

impl BatchWrites for Object<AsyncPgConnection> {
    /// Pipelined: the conversations' lock and update (in that order, so that batches running
    /// at once never deadlock; no lock for one row), the messages' insert and the webhook
    /// query go out together; the events' insert follows, since it needs that query's answer.
    /// Each statement is prepared once per connection ([`ConversationsLock`] and
    /// [`ConversationsUpdate`] have static ids for that).
    async fn rows_write(
        &mut self,
        updates: &[ConversationUpdate<'_>],
        messages: &[&MessageRow],
        mut events: Vec<EventInsert<'_>>,
        at: NaiveDateTime,
    ) -> Result<(), DbError> {
        // Shared references pipeline: statements sent before the previous ones answered.
        let conn: &AsyncPgConnection = self;
        let ids: Vec<&str> = updates.iter().map(|u| u.id).collect();
        let conversations = async {
            if updates.len() > 1 {
                ConversationsLock { ids: &ids }.execute(&mut &*conn).await?;
            }
            if !updates.is_empty() {
                ConversationsUpdate {
                    ids: &ids,
                    added: updates.iter().map(|u| u.added).collect(),
                    last_message_at: updates.iter().map(|u| u.last_message_at).collect(),
                    status: updates.iter().map(|u| u.status).collect(),
                    updated_at: at,
                }
                .execute(&mut &*conn)
                .await?;
            }
            Ok::<_, diesel::result::Error>(())
        };
        let messages = async {
            if !messages.is_empty() {
                diesel::insert_into(messages::table)
                    .values(messages.to_vec())
                    .execute(&mut &*conn)
                    .await?;
            }
            Ok(())
        };
        let accounts = event_accounts(&events);
        let subscribed = async {
            if accounts.is_empty() {
                return Ok(Vec::new());
            }
            subscribed_accounts(&accounts)
                .load::<String>(&mut &*conn)
                .await
        };
        let ((), (), subscribed) = futures::try_join!(conversations, messages, subscribed)?;
        keep_subscribed(&mut events, &subscribed);
        if !events.is_empty() {
            diesel::insert_into(events::table)
                .values(&events)
                .execute(&mut &*conn)
                .await?;
        }
        Ok(())
    }
}

/// The accounts among `accounts` with an enabled webhook.
#[diesel::dsl::auto_type(no_type_alias)]
fn subscribed_accounts<'a>(accounts: &'a BTreeSet<&'a str>) -> _ {
    webhooks::table
        .filter(webhooks::enabled.eq(true))
        .filter(webhooks::account_id.eq_any(accounts))
        .select(webhooks::account_id)
        .distinct()
}

/// PostgreSQL's lock of a batch's existing conversations, in id order (the lock is taken above
/// the sort). A query with a static id, so each connection prepares it once (diesel never
/// caches a `sql_query`: it would be parsed and planned on every batch).
struct ConversationsLock<'a> {
    ids: &'a Vec<&'a str>,
}

/// PostgreSQL's update of a batch's existing conversations, one statement for any number:
/// the batch's values are arrays, joined to the rows with `unnest`. A static id, as above.
struct ConversationsUpdate<'a> {
    ids: &'a Vec<&'a str>,
    added: Vec<i64>,
    last_message_at: Vec<Option<NaiveDateTime>>,
    status: Vec<&'a str>,
    updated_at: NaiveDateTime,
}

impl QueryId for ConversationsLock<'_> {
    type QueryId = ConversationsLock<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryId for ConversationsUpdate<'_> {
    type QueryId = ConversationsUpdate<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for ConversationsLock<'_> {
    type SqlType = Untyped;
}

impl Query for ConversationsUpdate<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for ConversationsLock<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT 1 FROM conversations WHERE id = ANY(");
        out.push_bind_param::<Array<Text>, _>(self.ids)?;
        out.push_sql(") ORDER BY id FOR NO KEY UPDATE");
        Ok(())
    }
}

impl QueryFragment<Pg> for ConversationsUpdate<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "UPDATE conversations AS c SET message_count = c.message_count + u.added, \
             last_message_at = u.last_message_at, status = u.status, updated_at = ",
        );
        out.push_bind_param::<Timestamp, _>(&self.updated_at)?;
        out.push_sql(" FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(self.ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.added)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&self.last_message_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.status)?;
        out.push_sql(") AS u (id, added, last_message_at, status) WHERE c.id = u.id");
        Ok(())
    }
}

/// Writes exchanges in one transaction; their outcomes, in order (the batch's rows through
/// [`BatchWrites`]).
async fn exchanges_write(db: &Db, writes: &[&ExchangeWrite]) -> Result<Vec<Recorded>, DbError> {
    let created_at = now();
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            let mut outcomes = vec![Recorded::SessionTaken; writes.len()];
            let mut usage = BTreeMap::<(&str, &str), i64>::new();
            let mut new_messages = Vec::new();
            let mut new_events = Vec::new();
            // By session (a stable sort keeps a session's exchanges in order), so that batches
            // running at once on PostgreSQL insert new conversations in one order: two first
            // messages of a session in two batches each wait on the other's insert of the
            // session's key, and in any other order two such sessions deadlock (seen under load
            // when the order was the new conversations' ids). Existing conversations are
            // locked afterwards, in id order, by `rows_write`.
            let mut order: Vec<usize> = (0..writes.len()).collect();
            order.sort_by_key(|&i| {
                let conversation = &writes[i].conversation;
                (&conversation.bot_id, &conversation.session_id)
            });
            let mut updates = BTreeMap::<&str, ConversationUpdate>::new();
            for i in order {
                let write = writes[i];
                let conversation = &write.conversation;
                let recorded = if write.new {
                    conversation_insert!(conn, conversation)
                } else {
                    let update = updates
                        .entry(&conversation.id)
                        .or_insert(ConversationUpdate {
                            id: &conversation.id,
                            added: 0,
                            last_message_at: None,
                            status: &conversation.status,
                        });
                    update.added += i64::try_from(write.messages.len()).unwrap_or(0);
                    update.last_message_at = write.messages.last().map(|m| m.created_at);
                    update.status = &conversation.status;
                    Recorded::Yes
                };
                if recorded == Recorded::Yes {
                    new_messages.extend(&write.messages);
                    new_events.extend(write.events.iter().map(|event| {
                        EventInsert::new(
                            &write.account_id,
                            Some(&write.conversation.bot_id),
                            event.event_type,
                            &event.payload,
                        )
                    }));
                    if let Some((month, n)) = &write.usage {
                        *usage.entry((&write.account_id, month)).or_default() += n;
                    }
                }
                outcomes[i] = recorded;
            }
            let updates: Vec<ConversationUpdate> = updates.into_values().collect();
            conn.rows_write(&updates, &new_messages, new_events, created_at)
                .await?;
            // Last: on PostgreSQL a counter's row is its account's one hot row, locked from
            // here to the commit. In order, so that two batches lock rows in the same order.
            for ((account_id, month), n) in usage {
                usage_add!(conn, account_id, month, n);
            }
            Ok(outcomes)
        })
        .await
    })
}

/// Hands a conversation to a human (or back to the bot), with its status, and its event.
pub async fn conversation_handoff_set(
    db: &Db,
    account_id: &str,
    conversation: &ConversationRow,
    handed_off: bool,
    status: &str,
    system_message: Option<&MessageRow>,
    event: Option<&NewEvent>,
) -> Result<(), DbError> {
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            let added = i64::from(system_message.is_some());
            // The system message is the conversation's latest.
            let last = system_message
                .map(|m| Some(m.created_at))
                .unwrap_or(conversation.last_message_at);
            diesel::update(conversations::table.find(&conversation.id))
                .set((
                    conversations::handed_off.eq(handed_off),
                    conversations::status.eq(status),
                    conversations::message_count.eq(conversations::message_count + added),
                    conversations::last_message_at.eq(last),
                    conversations::updated_at.eq(now()),
                ))
                .execute(conn)
                .await?;
            if let Some(message) = system_message {
                diesel::insert_into(messages::table)
                    .values(message)
                    .execute(conn)
                    .await?;
            }
            if let Some(event) = event {
                insert_event!(
                    conn,
                    account_id,
                    Some(conversation.bot_id.as_str()),
                    event.event_type,
                    &event.payload
                );
            }
            Ok(())
        })
        .await
    })
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
    after: Option<(NaiveDateTime, &str)>,
    limit: usize,
) -> Result<Page<ConversationRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let after = after.map(|(at, id)| (at, id.to_string()));
    with_conn!(db, |conn| {
        let filtered = || {
            let mut query = conversations::table
                .filter(conversations::bot_id.eq(bot_id.to_string()))
                .into_boxed();
            if let Some(user_id) = user_id {
                query = query.filter(conversations::user_id.eq(user_id.to_string()));
            }
            if let Some(status) = status {
                query = query.filter(conversations::status.eq(status.to_string()));
            }
            query
        };
        let mut items = filtered();
        if let Some((at, id)) = after.clone() {
            items = items.filter(
                conversations::last_message_at
                    .lt(at)
                    .or(conversations::last_message_at
                        .eq(at)
                        .and(conversations::id.lt(id))),
            );
        }
        let items = items
            .select(ConversationRow::as_select())
            .order((
                conversations::last_message_at.desc(),
                conversations::id.desc(),
            ))
            .limit(fetch)
            .load(&mut conn)
            .await?;
        let total = filtered().count().get_result(&mut conn).await?;
        Ok(page(items, limit, total))
    })
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
