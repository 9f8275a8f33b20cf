//! Monthly message usage per account (`usage_counters`), the quota it is measured against,
//! and the `quota.warning` events it causes (`events`), all in one transaction.

use super::now;
use crate::db::schema::{accounts, events, usage_counters, users};
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

/// What counting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counted {
    /// Counted; `used` messages this month, of `limit` if there is one.
    Within { used: i64, limit: Option<i64> },
    /// Not counted: the quota would be exceeded.
    Exceeded { used: i64, limit: i64 },
}

/// Counts `n` messages for the account in `month` (`YYYY-MM`), refusing (and counting
/// nothing) when that would exceed the quota: the account's own, else `default_limit`.
/// Crossing 80% and reaching 100% each record a `quota.warning` event once per month, in the
/// same transaction (`payload(user_id, used, limit, threshold)` builds its JSON).
pub async fn usage_count(
    db: &Db,
    account_id: &str,
    month: &str,
    n: i64,
    default_limit: Option<i64>,
    payload: &(dyn Fn(&str, i64, i64, f64) -> String + Send + Sync),
    notice: &(dyn Fn(i64, i64, f64) -> crate::store::notifications::Notice + Send + Sync),
) -> Result<Counted, DbError> {
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            // Write first: on SQLite a transaction that reads before it writes cannot upgrade
            // its lock while another writer holds it ("database is locked", at once), while a
            // first write waits its turn (busy_timeout). The increment is atomic, so
            // concurrent requests never lose a count.
            let used: i64 = usage_add!(conn, account_id, month, n);
            let limit = accounts::table
                .find(account_id)
                .select(accounts::monthly_message_quota)
                .first::<Option<i64>>(conn)
                .await?
                .or(default_limit);
            let Some(limit) = limit else {
                return Ok(Counted::Within { used, limit: None });
            };
            if used > limit {
                // Undo this request's count (the rest of the transaction is not needed).
                diesel::update(
                    usage_counters::table
                        .filter(usage_counters::account_id.eq(account_id))
                        .filter(usage_counters::month.eq(month)),
                )
                .set(usage_counters::messages.eq(usage_counters::messages - n))
                .execute(conn)
                .await?;
                return Ok(Counted::Exceeded {
                    used: used - n,
                    limit,
                });
            }
            let user_id = users::table
                .filter(users::account_id.eq(account_id))
                .select(users::id)
                .order(users::id.asc())
                .first::<String>(conn)
                .await
                .optional()?
                .unwrap_or_default();
            let now = now();
            // 80%: once per month.
            if used * 5 >= limit * 4 {
                let first = diesel::update(
                    usage_counters::table
                        .filter(usage_counters::account_id.eq(account_id))
                        .filter(usage_counters::month.eq(month))
                        .filter(usage_counters::warned_at.is_null()),
                )
                .set(usage_counters::warned_at.eq(Some(now)))
                .execute(conn)
                .await?;
                if first == 1 {
                    let payload = payload(&user_id, used, limit, 0.8);
                    insert_event!(conn, account_id, None, "quota.warning", &payload);
                    let people = account_people!(conn, account_id);
                    insert_notifications!(conn, people, &notice(used, limit, 0.8));
                }
            }
            // 100%: once per month.
            if used >= limit {
                let first = diesel::update(
                    usage_counters::table
                        .filter(usage_counters::account_id.eq(account_id))
                        .filter(usage_counters::month.eq(month))
                        .filter(usage_counters::exhausted_at.is_null()),
                )
                .set(usage_counters::exhausted_at.eq(Some(now)))
                .execute(conn)
                .await?;
                if first == 1 {
                    let payload = payload(&user_id, used, limit, 1.0);
                    insert_event!(conn, account_id, None, "quota.warning", &payload);
                    let people = account_people!(conn, account_id);
                    insert_notifications!(conn, people, &notice(used, limit, 1.0));
                }
            }
            Ok(Counted::Within {
                used,
                limit: Some(limit),
            })
        })
        .await
    })
}

/// The account's events of a type, oldest first (for tests and, later, the webhooks).
pub async fn events_of_account(
    db: &Db,
    account_id: &str,
    event_type: &str,
) -> Result<Vec<String>, DbError> {
    Ok(with_conn!(db, |conn| {
        events::table
            .filter(events::account_id.eq(account_id))
            .filter(events::event_type.eq(event_type))
            .order(events::id.asc())
            .select(events::payload)
            .load::<String>(&mut conn)
            .await?
    }))
}

/// Sets an account's own monthly quota (`None`: the server's default).
pub async fn account_quota_set(
    db: &Db,
    account_id: &str,
    quota: Option<i64>,
) -> Result<(), DbError> {
    with_write_conn!(db, |conn| {
        diesel::update(accounts::table.find(account_id))
            .set(accounts::monthly_message_quota.eq(quota))
            .execute(&mut conn)
            .await?
    });
    Ok(())
}
