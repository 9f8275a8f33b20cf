//! A batch of chat exchanges written in one transaction ([`exchanges_write`]), and its rows
//! written together by each backend's writer ([`BatchWrites`]): the queries of the group
//! commit's write, which [`super::queue`] schedules.

use super::{ExchangeWrite, MessageRow, Recorded};
use crate::db::schema::{conversations, events, handoffs, messages};
use crate::db::{Db, DbError, SqliteConn};
use crate::store::live::LiveWrites;
use crate::store::queries::conversations::{ConversationsLock, ConversationsUpdate};
use crate::store::webhooks::webhook_enabled_accounts;
use crate::store::{EventInsert, now};
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection, RunQueryDsl};
use std::collections::{BTreeMap, BTreeSet};

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
            let subscribed: Vec<String> = webhook_enabled_accounts(&accounts).load(self).await?;
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
            webhook_enabled_accounts(&accounts)
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

/// Writes exchanges in one transaction; their outcomes, in order (the batch's rows through
/// [`BatchWrites`]).
pub(super) async fn exchanges_write(
    db: &Db,
    writes: &[&ExchangeWrite],
) -> Result<Vec<Recorded>, DbError> {
    let created_at = now();
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            let mut outcomes = vec![Recorded::SessionTaken; writes.len()];
            let mut usage = BTreeMap::<(&str, &str), i64>::new();
            let mut new_messages = Vec::new();
            let mut new_events = Vec::new();
            let mut live = Vec::new();
            let mut handoffs = Vec::new();
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
                    live.extend(write.live.iter().cloned());
                    new_events.extend(write.events.iter().map(|event| {
                        EventInsert::new(
                            &write.account_id,
                            Some(&write.conversation.bot_id),
                            event.event_type,
                            &event.payload,
                        )
                    }));
                    if let Some(at) = write.handoff_at {
                        handoffs.push((
                            handoffs::id.eq(super::super::new_id()),
                            handoffs::conversation_id.eq(&write.conversation.id),
                            handoffs::bot_id.eq(&write.conversation.bot_id),
                            handoffs::requested_at.eq(at),
                        ));
                    }
                    if let Some((month, n)) = &write.usage {
                        *usage.entry((&write.account_id, month)).or_default() += n;
                    }
                }
                outcomes[i] = recorded;
            }
            let updates: Vec<ConversationUpdate> = updates.into_values().collect();
            conn.rows_write(&updates, &new_messages, new_events, created_at)
                .await?;
            if !live.is_empty() {
                conn.live_write(&live).await?;
            }
            // Rare (a reopening of a conversation humans have): a row each.
            for handoff in handoffs {
                diesel::insert_into(handoffs::table)
                    .values(handoff)
                    .execute(&mut *conn)
                    .await?;
            }
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
