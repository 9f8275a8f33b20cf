//! Single-use codes for email verification and password reset (`one_time_codes`), stored
//! hashed, with an expiry.

use super::{new_id, now};
use crate::db::schema::one_time_codes;
use crate::db::{Db, DbError};
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }
}

/// Stores a new code for the user and purpose; earlier unused ones stop working.
pub async fn code_create(
    db: &Db,
    user_id: &str,
    purpose: Purpose,
    code_hash: &str,
    expires_at: NaiveDateTime,
) -> Result<(), DbError> {
    let now = now();
    let retire = diesel::update(
        one_time_codes::table
            .filter(one_time_codes::user_id.eq(user_id))
            .filter(one_time_codes::purpose.eq(purpose.as_str()))
            .filter(one_time_codes::used_at.is_null()),
    )
    .set(one_time_codes::used_at.eq(Some(now)));
    let insert = diesel::insert_into(one_time_codes::table).values((
        one_time_codes::id.eq(new_id()),
        one_time_codes::user_id.eq(user_id),
        one_time_codes::purpose.eq(purpose.as_str()),
        one_time_codes::code_hash.eq(code_hash),
        one_time_codes::expires_at.eq(expires_at),
        one_time_codes::used_at.eq(None::<NaiveDateTime>),
        one_time_codes::created_at.eq(now),
    ));
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            retire.execute(conn).await?;
            insert.execute(conn).await?;
            Ok(())
        })
        .await
    })
}

/// Uses up the user's live code with this hash, if there is one; true if it was used now.
/// One UPDATE, so a code is used once even under concurrent requests.
pub async fn code_consume(
    db: &Db,
    user_id: &str,
    purpose: Purpose,
    code_hash: &str,
) -> Result<bool, DbError> {
    let now = now();
    let update = diesel::update(
        one_time_codes::table
            .filter(one_time_codes::user_id.eq(user_id))
            .filter(one_time_codes::purpose.eq(purpose.as_str()))
            .filter(one_time_codes::code_hash.eq(code_hash))
            .filter(one_time_codes::used_at.is_null())
            .filter(one_time_codes::expires_at.gt(now)),
    )
    .set(one_time_codes::used_at.eq(Some(now)));
    let used = with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(used == 1)
}
