//! Bots (`bots`): their configuration is the contract's `BotSettings`, stored as JSON.

use super::{Page, now, page};
use crate::db::schema::bots;
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bots)]
pub struct BotRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: String,
    pub settings: String,
    pub widget_token: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub knowledge_revision: i64,
}

pub async fn bot_create(db: &Db, row: &BotRow) -> Result<(), DbError> {
    let insert = diesel::insert_into(bots::table).values(row);
    with_write_conn!(db, |conn| insert.execute(&mut conn).await?);
    Ok(())
}

/// The account's bots and those shared with a team `member` belongs to, newest first,
/// optionally of one status (`only`: a bot-scoped key sees its own bot only).
pub async fn bot_list(
    db: &Db,
    account_id: &str,
    member: Option<&str>,
    status: Option<&str>,
    only: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<BotRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    // Newest first: a page continues below the last id of the previous one ("~" sorts
    // after every id).
    let before = after.unwrap_or("~").to_string();
    with_conn!(db, |conn| {
        let filtered = || {
            let mut query = match member {
                Some(user_id) => bots::table
                    .filter(
                        bots::account_id
                            .eq(account_id.to_string())
                            .or(bots::id.eq_any(super::teams::shared_bot_ids(user_id))),
                    )
                    .into_boxed(),
                None => bots::table
                    .filter(bots::account_id.eq(account_id.to_string()))
                    .into_boxed(),
            };
            if let Some(status) = status {
                query = query.filter(bots::status.eq(status.to_string()));
            }
            if let Some(only) = only {
                query = query.filter(bots::id.eq(only.to_string()));
            }
            query
        };
        let items = filtered()
            .filter(bots::id.lt(before.clone()))
            .select(BotRow::as_select())
            .order(bots::id.desc())
            .limit(fetch)
            .load(&mut conn)
            .await?;
        let total = filtered().count().get_result(&mut conn).await?;
        Ok(page(items, limit, total))
    })
}

/// The account's bot with this id (another account's bot is not found).
pub async fn bot_get(db: &Db, account_id: &str, id: &str) -> Result<Option<BotRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        bots::table
            .filter(bots::id.eq(id))
            .filter(bots::account_id.eq(account_id))
            .select(BotRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// The bot a widget token belongs to, for authenticating visitors.
pub async fn bot_get_by_widget_token(db: &Db, token: &str) -> Result<Option<BotRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        bots::table
            .filter(bots::widget_token.eq(token))
            .select(BotRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// Deletes the bot (its keys, and later its documents and sessions, go with it); true if it
/// existed.
pub async fn bot_delete(db: &Db, account_id: &str, id: &str) -> Result<bool, DbError> {
    let delete = diesel::delete(
        bots::table
            .filter(bots::id.eq(id))
            .filter(bots::account_id.eq(account_id)),
    );
    let deleted = with_write_conn!(db, |conn| delete.execute(&mut conn).await?);
    Ok(deleted == 1)
}

pub async fn bot_status_set(
    db: &Db,
    account_id: &str,
    id: &str,
    status: &str,
) -> Result<(), DbError> {
    let update = diesel::update(
        bots::table
            .filter(bots::id.eq(id))
            .filter(bots::account_id.eq(account_id)),
    )
    .set((bots::status.eq(status), bots::updated_at.eq(now())));
    with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(())
}

pub async fn bot_widget_token_set(
    db: &Db,
    account_id: &str,
    id: &str,
    token: &str,
) -> Result<(), DbError> {
    let update = diesel::update(
        bots::table
            .filter(bots::id.eq(id))
            .filter(bots::account_id.eq(account_id)),
    )
    .set((bots::widget_token.eq(token), bots::updated_at.eq(now())));
    with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(())
}

/// Changes what is given (`description: Some(None)` clears it).
pub async fn bot_update(
    db: &Db,
    account_id: &str,
    id: &str,
    name: Option<&str>,
    description: Option<Option<&str>>,
    settings: Option<&str>,
) -> Result<(), DbError> {
    let now = now();
    with_write_conn!(db, |conn| {
        let target = || {
            bots::table
                .filter(bots::id.eq(id))
                .filter(bots::account_id.eq(account_id))
        };
        if let Some(name) = name {
            diesel::update(target())
                .set((bots::name.eq(name), bots::updated_at.eq(now)))
                .execute(&mut conn)
                .await?;
        }
        if let Some(description) = description {
            diesel::update(target())
                .set((bots::description.eq(description), bots::updated_at.eq(now)))
                .execute(&mut conn)
                .await?;
        }
        if let Some(settings) = settings {
            diesel::update(target())
                .set((bots::settings.eq(settings), bots::updated_at.eq(now)))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    })
}
