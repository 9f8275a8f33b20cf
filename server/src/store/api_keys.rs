//! API keys (`api_keys`). Only the public part and a hash of the whole key are stored.

use super::{Page, now, page};
use crate::db::schema::api_keys;
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub account_id: String,
    pub bot_id: Option<String>,
    pub name: String,
    pub key_prefix: String,
    pub secret_hash: String,
    pub rate_limit_standard: Option<i64>,
    pub rate_limit_chat: Option<i64>,
    pub rate_limit_auth: Option<i64>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Per-class overrides of the server's rate limits (`None`: the server's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyRateLimits {
    pub standard: Option<i64>,
    pub chat: Option<i64>,
    pub auth: Option<i64>,
}

pub async fn api_key_create(db: &Db, row: &ApiKeyRow) -> Result<(), DbError> {
    let insert = diesel::insert_into(api_keys::table).values(row);
    with_write_conn!(db, |conn| insert.execute(&mut conn).await?);
    Ok(())
}

/// The account's keys, revoked ones included, newest first.
pub async fn api_key_list(
    db: &Db,
    account_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<ApiKeyRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    // Newest first: a page continues below the last id of the previous one ("~" sorts
    // after every id).
    let before = after.unwrap_or("~").to_string();
    with_conn!(db, |conn| {
        let rows = api_keys::table
            .filter(api_keys::account_id.eq(account_id))
            .filter(api_keys::id.lt(&before))
            .select(ApiKeyRow::as_select())
            .order(api_keys::id.desc())
            .limit(fetch)
            .load(&mut conn)
            .await?;
        let total = api_keys::table
            .filter(api_keys::account_id.eq(account_id))
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(page(rows, limit, total))
    })
}

/// The account's key with this id (another account's key is not found).
pub async fn api_key_get(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<Option<ApiKeyRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::account_id.eq(account_id))
            .select(ApiKeyRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// The key with this public part, for authentication.
pub async fn api_key_get_by_prefix(db: &Db, prefix: &str) -> Result<Option<ApiKeyRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        api_keys::table
            .filter(api_keys::key_prefix.eq(prefix))
            .select(ApiKeyRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

pub async fn api_key_update(
    db: &Db,
    account_id: &str,
    id: &str,
    name: Option<&str>,
    limits: Option<KeyRateLimits>,
) -> Result<(), DbError> {
    let target = api_keys::table
        .filter(api_keys::id.eq(id))
        .filter(api_keys::account_id.eq(account_id));
    let now = now();
    with_write_conn!(db, |conn| {
        if let Some(name) = name {
            diesel::update(target)
                .set((api_keys::name.eq(name), api_keys::updated_at.eq(now)))
                .execute(&mut conn)
                .await?;
        }
        if let Some(limits) = limits {
            diesel::update(target)
                .set((
                    api_keys::rate_limit_standard.eq(limits.standard),
                    api_keys::rate_limit_chat.eq(limits.chat),
                    api_keys::rate_limit_auth.eq(limits.auth),
                    api_keys::updated_at.eq(now),
                ))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    })
}

/// Revokes the key (idempotent: the first revocation time stays).
pub async fn api_key_revoke(db: &Db, account_id: &str, id: &str) -> Result<(), DbError> {
    let now = now();
    let update = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::account_id.eq(account_id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set((
        api_keys::revoked_at.eq(Some(now)),
        api_keys::updated_at.eq(now),
    ));
    with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(())
}

/// Replaces the key's secret; the old one stops working at once.
pub async fn api_key_rotate(
    db: &Db,
    account_id: &str,
    id: &str,
    secret_hash: &str,
) -> Result<(), DbError> {
    let update = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::account_id.eq(account_id)),
    )
    .set((
        api_keys::secret_hash.eq(secret_hash),
        api_keys::updated_at.eq(now()),
    ));
    with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(())
}

/// How stale `last_used_at` may get: a write per request would cost more than the freshness
/// is worth.
pub const TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// Records a use, at most once per [`TOUCH_EVERY`] per key (also across replicas).
pub async fn api_key_touch(db: &Db, id: &str) -> Result<(), DbError> {
    let now = now();
    let stale = now - TOUCH_EVERY;
    let update = diesel::update(
        api_keys::table.filter(api_keys::id.eq(id)).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.lt(stale)),
        ),
    )
    .set(api_keys::last_used_at.eq(Some(now)));
    with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(())
}
