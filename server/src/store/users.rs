//! Accounts and their users (`accounts`, `users`).

use super::now;
use crate::db::schema::{accounts, users};
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub email_verified_at: Option<NaiveDateTime>,
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<NaiveDateTime>,
    pub totp_last_step: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Creates an account and its first user, together.
pub async fn account_user_create(db: &Db, user: &UserRow) -> Result<(), DbError> {
    let account = diesel::insert_into(accounts::table).values((
        accounts::id.eq(&user.account_id),
        accounts::monthly_message_quota.eq(None::<i64>),
        accounts::created_at.eq(user.created_at),
    ));
    let user = diesel::insert_into(users::table).values(user);
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            account.execute(conn).await?;
            user.execute(conn).await?;
            Ok(())
        })
        .await
    })
}

pub async fn user_get(db: &Db, id: &str) -> Result<Option<UserRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        users::table
            .find(id)
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// By lower-cased email.
pub async fn user_get_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        users::table
            .filter(users::email.eq(email))
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

pub async fn user_email_verify(db: &Db, id: &str) -> Result<(), DbError> {
    let now = now();
    let update = diesel::update(users::table.find(id)).set((
        users::email_verified_at.eq(Some(now)),
        users::updated_at.eq(now),
    ));
    with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(())
}

pub async fn user_password_set(db: &Db, id: &str, password_hash: &str) -> Result<(), DbError> {
    let update = diesel::update(users::table.find(id)).set((
        users::password_hash.eq(password_hash),
        users::updated_at.eq(now()),
    ));
    with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(())
}

/// Stores a new TOTP secret, not yet enabled.
pub async fn user_totp_secret_set(db: &Db, id: &str, secret: &str) -> Result<(), DbError> {
    let update = diesel::update(users::table.find(id)).set((
        users::totp_secret.eq(Some(secret)),
        users::totp_last_step.eq(None::<i64>),
        users::updated_at.eq(now()),
    ));
    with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(())
}

/// Records an accepted TOTP step. Only a step newer than the stored one is recorded,
/// atomically: of two concurrent uses of one code, one wins.
pub async fn user_totp_step_accept(db: &Db, id: &str, step: i64) -> Result<bool, DbError> {
    let update = diesel::update(
        users::table.find(id).filter(
            users::totp_last_step
                .is_null()
                .or(users::totp_last_step.lt(step)),
        ),
    )
    .set((
        users::totp_last_step.eq(Some(step)),
        users::updated_at.eq(now()),
    ));
    let updated = with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(updated == 1)
}

/// Turns TOTP on (login asks for a code from now on).
pub async fn user_totp_enable(db: &Db, id: &str) -> Result<(), DbError> {
    let now = now();
    let update = diesel::update(
        users::table
            .find(id)
            .filter(users::totp_enabled_at.is_null()),
    )
    .set((
        users::totp_enabled_at.eq(Some(now)),
        users::updated_at.eq(now),
    ));
    with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(())
}
