//! The live streams' log (`live_events`): written in the transaction of each change a session
//! or inbox stream shows, read after a client's cursor. See `crate::live` for the wake-ups.

use crate::db::schema::live_events;
use crate::db::{Db, DbError, SqliteConn};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::deadpool::Object;

/// The channel every replica `LISTEN`s on; a notification's payload is a bot id.
pub const CHANNEL: &str = "botwire_live";

/// The key of the advisory lock every PostgreSQL transaction that writes live events holds to
/// its commit: their `seq`s are then taken in commit order, so a reader that has seen `seq` n
/// has seen every event below it (with concurrent inserts, a lower `seq` could commit later
/// and be skipped by a cursor).
const SEQ_LOCK: i64 = 0x626f_7477_6c69_7665; // "botwlive"

/// An event for the live streams.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = live_events, treat_none_as_default_value = false)]
pub struct LiveEventInsert {
    pub bot_id: String,
    pub conversation_id: String,
    /// The session's stream shows it.
    pub visitor: bool,
    /// Every inbox stream of the bot shows it.
    pub agents: bool,
    /// Only this user's inbox stream shows it.
    pub user_id: Option<String>,
    pub event: String,
    pub data: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = live_events)]
pub struct LiveEventRow {
    pub seq: i64,
    pub bot_id: String,
    pub conversation_id: String,
    pub event: String,
    pub data: String,
}

/// Writes live events on a transaction's connection, each backend its own way.
pub trait LiveWrites {
    fn live_write<'a>(
        &'a mut self,
        rows: &'a [LiveEventInsert],
    ) -> impl Future<Output = Result<(), DbError>> + Send + 'a;

    /// Makes the transaction the only one changing the bot's queue until it commits (on
    /// SQLite the write turn already does; this statement starts the write there).
    fn queue_lock<'a>(
        &'a mut self,
        bot_id: &'a str,
    ) -> impl Future<Output = Result<(), DbError>> + Send + 'a;

    /// Makes the transaction the only one assigning to these agents (ids in order) until it
    /// commits (PostgreSQL; SQLite's write turn already does).
    fn agents_lock<'a>(
        &'a mut self,
        ids: &'a [&'a str],
    ) -> impl Future<Output = Result<(), DbError>> + Send + 'a;

    /// Locks conversations in id order, as a chat batch does (PostgreSQL; SQLite's write
    /// turn holds them all), so that the two never wait on each other in a circle.
    fn conversations_lock<'a>(
        &'a mut self,
        ids: &'a [&'a str],
    ) -> impl Future<Output = Result<(), DbError>> + Send + 'a;
}

impl LiveWrites for Object<SqliteConn> {
    async fn live_write(&mut self, rows: &[LiveEventInsert]) -> Result<(), DbError> {
        // One statement per row: SQLite has no batch insert of rows with nullable fields.
        for row in rows {
            diesel::insert_into(live_events::table)
                .values(row)
                .execute(self)
                .await?;
        }
        Ok(())
    }

    async fn queue_lock(&mut self, _bot_id: &str) -> Result<(), DbError> {
        // A write first, so that the transaction holds SQLite's write lock from its start.
        diesel::sql_query("UPDATE agent_assignments SET bot_id = bot_id WHERE 0")
            .execute(self)
            .await?;
        Ok(())
    }

    async fn agents_lock(&mut self, _ids: &[&str]) -> Result<(), DbError> {
        Ok(())
    }

    async fn conversations_lock(&mut self, _ids: &[&str]) -> Result<(), DbError> {
        Ok(())
    }
}

impl LiveWrites for Object<AsyncPgConnection> {
    async fn live_write(&mut self, rows: &[LiveEventInsert]) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({SEQ_LOCK})"))
            .execute(self)
            .await?;
        diesel::insert_into(live_events::table)
            .values(rows)
            .execute(self)
            .await?;
        let mut bots: Vec<&str> = rows.iter().map(|r| r.bot_id.as_str()).collect();
        bots.sort_unstable();
        bots.dedup();
        for bot in bots {
            // Delivered to every listening replica when the transaction commits.
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<Text, _>(CHANNEL)
                .bind::<Text, _>(bot)
                .execute(self)
                .await?;
        }
        Ok(())
    }

    async fn queue_lock(&mut self, bot_id: &str) -> Result<(), DbError> {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('queue:' || $1))")
            .bind::<Text, _>(bot_id)
            .execute(self)
            .await?;
        Ok(())
    }

    async fn agents_lock(&mut self, ids: &[&str]) -> Result<(), DbError> {
        for id in ids {
            // The two-key form: a space of its own, apart from the queue and sequence locks.
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('agent'), hashtext($1))")
                .bind::<Text, _>(*id)
                .execute(self)
                .await?;
        }
        Ok(())
    }

    async fn conversations_lock(&mut self, ids: &[&str]) -> Result<(), DbError> {
        if !ids.is_empty() {
            let ids = ids.to_vec();
            super::queries::conversations::ConversationsLock { ids: &ids }
                .execute(self)
                .await?;
        }
        Ok(())
    }
}

/// The newest event's `seq` (0 for none): where a stream without a cursor starts.
pub async fn live_latest_seq(db: &Db) -> Result<i64, DbError> {
    let latest: Option<i64> = with_conn!(db, |conn| {
        live_events::table
            .select(diesel::dsl::max(live_events::seq))
            .first(&mut conn)
            .await?
    });
    Ok(latest.unwrap_or(0))
}

/// A session's events after `after`, oldest first.
pub async fn live_session_events(
    db: &Db,
    conversation_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<LiveEventRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        live_events::table
            .filter(live_events::conversation_id.eq(conversation_id))
            .filter(live_events::seq.gt(after))
            .filter(live_events::visitor.eq(true))
            .order(live_events::seq.asc())
            .limit(limit)
            .select(LiveEventRow::as_select())
            .load(&mut conn)
            .await?
    }))
}

/// The inbox events of `bots` for `user_id` after `after`, oldest first: those for every agent
/// and those for this user.
pub async fn live_inbox_events(
    db: &Db,
    bots: &[String],
    user_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<LiveEventRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        live_events::table
            .filter(live_events::bot_id.eq_any(bots))
            .filter(live_events::seq.gt(after))
            .filter(
                live_events::agents
                    .eq(true)
                    .or(live_events::user_id.eq(user_id)),
            )
            .order(live_events::seq.asc())
            .limit(limit)
            .select(LiveEventRow::as_select())
            .load(&mut conn)
            .await?
    }))
}

/// Deletes events older than `before` (a client away longer resumes from what is left).
pub async fn live_prune(db: &Db, before: NaiveDateTime) -> Result<usize, DbError> {
    Ok(with_write_conn!(db, |conn| {
        diesel::delete(live_events::table.filter(live_events::created_at.lt(before)))
            .execute(&mut conn)
            .await?
    }))
}
