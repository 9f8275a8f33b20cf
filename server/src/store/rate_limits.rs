//! The rate limits' shared state on PostgreSQL (`rate_limits`: one TAT per key, in Unix ms):
//! the check of a key's requests and the prune of departed keys. The rule itself, and the
//! memory store SQLite uses instead, are `ratelimit`'s.

use super::queries::rate_limits::{CheckQuery, PRUNE_SQL};
use crate::db::DbError;
use diesel::sql_types::{BigInt, Nullable};
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::deadpool::Pool;

/// A check's outcome: the database's time, how many requests it admitted, and the key's TAT
/// after them (`None` if the key was read as absent).
#[derive(diesel::QueryableByName)]
pub(crate) struct CheckRow {
    #[diesel(sql_type = BigInt)]
    pub(crate) now_ms: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) admitted: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(crate) tat_ms: Option<i64>,
}

/// One statement counting `cost` requests of `key` against a limit of `interval_ms` per
/// request and `tolerance_ms` of burst, at `at` (Unix ms), or by the database's clock when
/// `None` (see `store::queries::rate_limits::CHECK_SQL`).
pub(crate) async fn rate_limit_check(
    pool: &Pool<AsyncPgConnection>,
    key: &str,
    interval_ms: i64,
    tolerance_ms: i64,
    at: Option<i64>,
    cost: i64,
) -> Result<CheckRow, DbError> {
    let mut conn = pool.get().await.map_err(|e| DbError::Pool(e.to_string()))?;
    Ok(CheckQuery {
        key,
        interval: interval_ms,
        tolerance: tolerance_ms,
        at,
        cost,
    }
    .get_result(&mut conn)
    .await?)
}

/// Deletes the keys whose TAT passed more than `grace_ms` ago (by the database's clock);
/// returns how many went.
pub(crate) async fn rate_limit_prune(
    pool: &Pool<AsyncPgConnection>,
    grace_ms: i64,
) -> Result<usize, DbError> {
    let mut conn = pool.get().await.map_err(|e| DbError::Pool(e.to_string()))?;
    Ok(diesel::sql_query(PRUNE_SQL)
        .bind::<BigInt, _>(grace_ms)
        .execute(&mut conn)
        .await?)
}
