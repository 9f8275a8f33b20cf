//! Server-wide settings shared by replicas (`server_settings`).

use super::now;
use crate::db::schema::server_settings;
use crate::db::{Db, DbError};
use crate::with_write_conn;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// The value of `key`, storing `value` first if there is none. Replicas starting together
/// agree: the first insert wins and everyone reads it back.
pub async fn setting_get_or_insert(db: &Db, key: &str, value: &str) -> Result<String, DbError> {
    let insert = diesel::insert_into(server_settings::table)
        .values((
            server_settings::key.eq(key),
            server_settings::value.eq(value),
            server_settings::updated_at.eq(now()),
        ))
        .on_conflict_do_nothing();
    let read = server_settings::table
        .filter(server_settings::key.eq(key))
        .select(server_settings::value);
    with_write_conn!(db, |conn| {
        insert.execute(&mut conn).await?;
        Ok(read.first::<String>(&mut conn).await?)
    })
}
