//! Webhooks (`webhooks`), their deliveries (`webhook_deliveries`) and every attempt
//! (`webhook_attempts`); and the delivery workers' side: fanning `events` (the outbox) out into
//! deliveries, claiming a due delivery under a lease, and recording an attempt's outcome.
//!
//! Every step a replica takes is one conditional write, so that replicas on one database never
//! do the same work twice: an event is fanned out by whoever marks it first (and the unique
//! `(webhook_id, event_id)` index stops a second copy anyway), a delivery is attempted by
//! whoever takes its lease, and an attempt is recorded only by the lease's holder.

use super::{Page, new_id, now, page};
use crate::db::schema::{events, webhook_attempts, webhook_deliveries, webhooks};
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use std::collections::BTreeSet;

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
/// The event type of `webhook_test` pings: attempted once, never counted as failures.
pub const TEST_EVENT: &str = "webhook.test";

/// A webhook. No `Debug`: it holds the signing secret.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub account_id: String,
    pub bot_id: String,
    pub url: String,
    /// JSON array of event types.
    pub events: String,
    pub enabled: bool,
    pub description: Option<String>,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i64,
    pub secret: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl WebhookRow {
    fn wants(&self, event_type: &str) -> bool {
        serde_json::from_str::<Vec<String>>(&self.events)
            .is_ok_and(|events| events.iter().any(|e| e == event_type))
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub event_id: Option<String>,
    pub event_type: String,
    pub payload: String,
    pub status: String,
    pub attempt_count: i64,
    pub attempts_left: i64,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub locked_by: Option<String>,
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub id: String,
    pub delivery_id: String,
    pub attempt: i64,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_snippet: Option<String>,
    pub replica: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: String,
    pub account_id: String,
    pub bot_id: Option<String>,
    pub event_type: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
}

/// Fails a webhook's pending deliveries (test pings aside), on the transaction's connection.
macro_rules! fail_pending_on {
    ($conn:expr, $webhook_id:expr) => {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq($webhook_id))
                .filter(webhook_deliveries::status.eq(PENDING))
                .filter(webhook_deliveries::event_type.ne(TEST_EVENT)),
        )
        .set((
            webhook_deliveries::status.eq(FAILED),
            webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
        ))
        .execute($conn)
        .await
    };
}

pub async fn webhook_create(db: &Db, row: &WebhookRow) -> Result<(), DbError> {
    let insert = diesel::insert_into(webhooks::table).values(row);
    with_write_conn!(db, |conn| insert.execute(&mut conn).await?);
    Ok(())
}

/// The bot's webhooks, oldest first, after the cursor.
pub async fn webhook_list(
    db: &Db,
    bot_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<WebhookRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let after = after.unwrap_or("").to_string();
    with_conn!(db, |conn| {
        let items = webhooks::table
            .filter(webhooks::bot_id.eq(bot_id))
            .filter(webhooks::id.gt(&after))
            .select(WebhookRow::as_select())
            .order(webhooks::id.asc())
            .limit(fetch)
            .load(&mut conn)
            .await?;
        let total = webhooks::table
            .filter(webhooks::bot_id.eq(bot_id))
            .count()
            .get_result(&mut conn)
            .await?;
        Ok(page(items, limit, total))
    })
}

/// The bot of a webhook and its account, whoever asks (for the access rule, `auth::access`).
pub async fn webhook_bot_get(db: &Db, id: &str) -> Result<Option<(String, String)>, DbError> {
    Ok(with_conn!(db, |conn| {
        webhooks::table
            .filter(webhooks::id.eq(id))
            .select((webhooks::bot_id, webhooks::account_id))
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// The account's webhook with this id (another account's is not found).
pub async fn webhook_get(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<Option<WebhookRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        webhooks::table
            .filter(webhooks::id.eq(id))
            .filter(webhooks::account_id.eq(account_id))
            .select(WebhookRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// What `webhook_update` changes (`None`: left as it is).
#[derive(Debug, Default)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<String>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// Applies the changes in one transaction. Turning a webhook on clears its failures; turning
/// it off (`manual`) fails its pending deliveries, test pings aside.
pub async fn webhook_update(db: &Db, id: &str, changes: &WebhookChanges) -> Result<(), DbError> {
    let now = now();
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            let target = || webhooks::table.filter(webhooks::id.eq(id));
            // Written first (SQLite takes its write lock here), whatever else changes.
            diesel::update(target())
                .set(webhooks::updated_at.eq(now))
                .execute(conn)
                .await?;
            if let Some(url) = &changes.url {
                diesel::update(target())
                    .set(webhooks::url.eq(url))
                    .execute(conn)
                    .await?;
            }
            if let Some(events) = &changes.events {
                diesel::update(target())
                    .set(webhooks::events.eq(events))
                    .execute(conn)
                    .await?;
            }
            if let Some(description) = &changes.description {
                diesel::update(target())
                    .set(webhooks::description.eq(description))
                    .execute(conn)
                    .await?;
            }
            match changes.enabled {
                Some(true) => {
                    diesel::update(target())
                        .set((
                            webhooks::enabled.eq(true),
                            webhooks::disabled_reason.eq(None::<String>),
                            webhooks::consecutive_failures.eq(0),
                        ))
                        .execute(conn)
                        .await?;
                }
                Some(false) => {
                    diesel::update(target().filter(webhooks::enabled.eq(true)))
                        .set((
                            webhooks::enabled.eq(false),
                            webhooks::disabled_reason.eq(Some("manual")),
                        ))
                        .execute(conn)
                        .await?;
                    fail_pending_on!(conn, id)?;
                }
                None => {}
            }
            Ok(())
        })
        .await
    })
}

/// Deletes a webhook (its deliveries and attempts go with it); true if it existed.
pub async fn webhook_delete(db: &Db, account_id: &str, id: &str) -> Result<bool, DbError> {
    let delete = diesel::delete(
        webhooks::table
            .filter(webhooks::id.eq(id))
            .filter(webhooks::account_id.eq(account_id)),
    );
    let deleted = with_write_conn!(db, |conn| delete.execute(&mut conn).await?);
    Ok(deleted == 1)
}

pub async fn webhook_secret_set(db: &Db, id: &str, secret: &str) -> Result<(), DbError> {
    let update = diesel::update(webhooks::table.find(id))
        .set((webhooks::secret.eq(secret), webhooks::updated_at.eq(now())));
    with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(())
}

pub async fn delivery_create(db: &Db, row: &DeliveryRow) -> Result<(), DbError> {
    let insert = diesel::insert_into(webhook_deliveries::table).values(row);
    with_write_conn!(db, |conn| insert.execute(&mut conn).await?);
    Ok(())
}

/// A webhook's deliveries, newest first, optionally in one state, before the cursor.
pub async fn delivery_list(
    db: &Db,
    webhook_id: &str,
    status: Option<&str>,
    before: Option<&str>,
    limit: usize,
) -> Result<Page<DeliveryRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let before = before.unwrap_or("~").to_string();
    with_conn!(db, |conn| {
        let filtered = || {
            let mut query = webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(webhook_id.to_string()))
                .into_boxed();
            if let Some(status) = status {
                query = query.filter(webhook_deliveries::status.eq(status.to_string()));
            }
            query
        };
        let items = filtered()
            .filter(webhook_deliveries::id.lt(before.clone()))
            .select(DeliveryRow::as_select())
            .order(webhook_deliveries::id.desc())
            .limit(fetch)
            .load(&mut conn)
            .await?;
        let total = filtered().count().get_result(&mut conn).await?;
        Ok(page(items, limit, total))
    })
}

pub async fn delivery_get(
    db: &Db,
    webhook_id: &str,
    id: &str,
) -> Result<Option<DeliveryRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .select(DeliveryRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// The attempts of these deliveries, by delivery then oldest first.
pub async fn attempts_of(db: &Db, delivery_ids: &[String]) -> Result<Vec<AttemptRow>, DbError> {
    if delivery_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(with_conn!(db, |conn| {
        webhook_attempts::table
            .filter(webhook_attempts::delivery_id.eq_any(delivery_ids))
            .order((
                webhook_attempts::delivery_id.asc(),
                webhook_attempts::attempt.asc(),
            ))
            .select(AttemptRow::as_select())
            .load(&mut conn)
            .await?
    }))
}

/// Queues a finished delivery again, due now, with a new round of attempts; false when it
/// is still pending.
pub async fn delivery_redeliver(
    db: &Db,
    webhook_id: &str,
    id: &str,
    attempts: i64,
) -> Result<bool, DbError> {
    let update = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .filter(webhook_deliveries::status.ne(PENDING)),
    )
    .set((
        webhook_deliveries::status.eq(PENDING),
        webhook_deliveries::attempts_left.eq(attempts),
        webhook_deliveries::next_attempt_at.eq(Some(now())),
        webhook_deliveries::locked_by.eq(None::<String>),
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
    ));
    let updated = with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    Ok(updated == 1)
}

/// The accounts among `accounts` with an enabled webhook: a query, not a call, for a chat
/// batch to run on its own transaction's connection (`store::chat::batch`; store functions
/// never call each other inside a connection).
#[diesel::dsl::auto_type(no_type_alias)]
pub(crate) fn webhook_enabled_accounts<'a>(accounts: &'a BTreeSet<&'a str>) -> _ {
    webhooks::table
        .filter(webhooks::enabled.eq(true))
        .filter(webhooks::account_id.eq_any(accounts))
        .select(webhooks::account_id)
        .distinct()
}

// ---- the workers ---------------------------------------------------------------------------

/// Events not fanned out yet, oldest first.
pub async fn events_to_fan_out(db: &Db, limit: i64) -> Result<Vec<EventRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        events::table
            .filter(events::fanned_out_at.is_null())
            .order(events::id.asc())
            .limit(limit)
            .select(EventRow::as_select())
            .load(&mut conn)
            .await?
    }))
}

/// Marks fanned out, in one statement, those of `ids` whose account has no enabled webhook
/// (most events, on most accounts), and returns their ids: they need no transaction of their
/// own.
pub async fn events_mark_unsubscribed(db: &Db, ids: &[String]) -> Result<Vec<String>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let now = now();
    with_write_conn!(db, |conn| {
        let subscribed = webhooks::table
            .filter(webhooks::enabled.eq(true))
            .select(webhooks::account_id);
        Ok(diesel::update(
            events::table
                .filter(events::id.eq_any(ids))
                .filter(events::fanned_out_at.is_null())
                .filter(events::account_id.ne_all(subscribed)),
        )
        .set(events::fanned_out_at.eq(Some(now)))
        .returning(events::id)
        .get_results(&mut conn)
        .await?)
    })
}

/// Marks an event fanned out and, if this call is the one that marked it, queues one
/// delivery (due now, `attempts` attempts) per enabled webhook that wants it: the bot's, or
/// for an account-wide event (no bot) every bot's of the account; webhooks created after the
/// event are left out. Returns how many deliveries were queued.
pub async fn event_fan_out(db: &Db, event: &EventRow, attempts: i64) -> Result<usize, DbError> {
    let now = now();
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            let marked = diesel::update(
                events::table
                    .filter(events::id.eq(&event.id))
                    .filter(events::fanned_out_at.is_null()),
            )
            .set(events::fanned_out_at.eq(Some(now)))
            .execute(conn)
            .await?;
            if marked == 0 {
                return Ok(0);
            }
            let mut query = webhooks::table
                .filter(webhooks::account_id.eq(&event.account_id))
                .filter(webhooks::enabled.eq(true))
                .filter(webhooks::created_at.le(event.created_at))
                .into_boxed();
            if let Some(bot_id) = &event.bot_id {
                query = query.filter(webhooks::bot_id.eq(bot_id.clone()));
            }
            let targets: Vec<WebhookRow> = query.select(WebhookRow::as_select()).load(conn).await?;
            let mut queued = 0;
            for webhook in targets.iter().filter(|w| w.wants(&event.event_type)) {
                queued += diesel::insert_into(webhook_deliveries::table)
                    .values(&DeliveryRow {
                        id: new_id(),
                        webhook_id: webhook.id.clone(),
                        event_id: Some(event.id.clone()),
                        event_type: event.event_type.clone(),
                        payload: event.payload.clone(),
                        status: PENDING.into(),
                        attempt_count: 0,
                        attempts_left: attempts,
                        next_attempt_at: Some(now),
                        locked_by: None,
                        locked_until: None,
                        created_at: event.created_at,
                    })
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
            }
            Ok(queued)
        })
        .await
    })
}

/// Pending deliveries due by `now` whose lease (if any) has ended, soonest first.
pub async fn deliveries_due(
    db: &Db,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    Ok(with_conn!(db, |conn| {
        webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(PENDING))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(
                webhook_deliveries::locked_until
                    .is_null()
                    .or(webhook_deliveries::locked_until.lt(now)),
            )
            .order(webhook_deliveries::next_attempt_at.asc())
            .limit(limit)
            .select(webhook_deliveries::id)
            .load(&mut conn)
            .await?
    }))
}

/// Takes the lease of a due delivery until `until`, with its webhook; `None` when another
/// replica holds it (or it is no longer due). One atomic conditional UPDATE: of replicas racing
/// for it, exactly one gets a row (PostgreSQL re-checks the condition after the row lock).
pub async fn delivery_claim(
    db: &Db,
    id: &str,
    replica: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Option<(DeliveryRow, WebhookRow)>, DbError> {
    with_write_conn!(db, |conn| {
        let claimed = diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(id))
                .filter(webhook_deliveries::status.eq(PENDING))
                .filter(webhook_deliveries::next_attempt_at.le(now))
                .filter(
                    webhook_deliveries::locked_until
                        .is_null()
                        .or(webhook_deliveries::locked_until.lt(now)),
                ),
        )
        .set((
            webhook_deliveries::locked_by.eq(Some(replica)),
            webhook_deliveries::locked_until.eq(Some(until)),
        ))
        .execute(&mut conn)
        .await?;
        if claimed == 0 {
            return Ok(None);
        }
        Ok(webhook_deliveries::table
            .inner_join(webhooks::table)
            .filter(webhook_deliveries::id.eq(id))
            .select((DeliveryRow::as_select(), WebhookRow::as_select()))
            .first(&mut conn)
            .await
            .optional()?)
    })
}

/// What comes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Succeeded,
    RetryAt(NaiveDateTime),
    /// No attempt left.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The lease was lost (it ran out and another replica took the delivery, or the webhook
    /// was deleted with its deliveries): nothing written.
    LeaseLost,
    Done {
        /// This failure disabled the webhook (its owner is to be told).
        disabled: bool,
    },
}

/// What `attempt_start` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// The attempt is in the log (its outcome still to come) and counted: send it now.
    Begun,
    /// The lease was lost (it ran out and another replica took the delivery): nothing written.
    LeaseLost,
    /// Every attempt was spent, the last one cut short by a server stop: the delivery is now
    /// failed, and nothing is sent.
    Exhausted,
}

/// The `error` of an attempt whose outcome is not recorded: it is being sent, or the server
/// stopped while sending it. A receiver may have got it.
pub const ATTEMPT_IN_FLIGHT: &str =
    "no outcome recorded: the request is being sent, or the server stopped while sending it";

impl AttemptRow {
    /// The next attempt of `delivery` by `replica`, as [`attempt_start`] logs it: begun now,
    /// no outcome yet.
    pub fn begun(delivery: &DeliveryRow, replica: &str) -> AttemptRow {
        AttemptRow {
            id: new_id(),
            delivery_id: delivery.id.clone(),
            attempt: delivery.attempt_count + 1,
            attempted_at: now(),
            status_code: None,
            latency_ms: 0,
            error: Some(ATTEMPT_IN_FLIGHT.to_string()),
            response_snippet: None,
            replica: replica.to_string(),
        }
    }
}

/// Starts an attempt under `replica`'s lease, before its request is sent, in one transaction:
/// the delivery counts it (attempt count up, one attempt fewer left) and the log holds it, with
/// no status and the error [`ATTEMPT_IN_FLIGHT`], until [`attempt_record`] writes its outcome.
/// After a crash the log so shows every attempt a receiver may have seen.
pub async fn attempt_start(
    db: &Db,
    delivery: &DeliveryRow,
    attempt: &AttemptRow,
) -> Result<Started, DbError> {
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            let ours = || {
                webhook_deliveries::table
                    .filter(webhook_deliveries::id.eq(&delivery.id))
                    .filter(webhook_deliveries::locked_by.eq(&attempt.replica))
                    .filter(webhook_deliveries::attempt_count.eq(attempt.attempt - 1))
            };
            let counted = diesel::update(ours().filter(webhook_deliveries::attempts_left.gt(0)))
                .set((
                    webhook_deliveries::attempt_count.eq(attempt.attempt),
                    webhook_deliveries::attempts_left.eq(webhook_deliveries::attempts_left - 1),
                ))
                .execute(conn)
                .await?;
            if counted == 1 {
                diesel::insert_into(webhook_attempts::table)
                    .values(attempt)
                    .execute(conn)
                    .await?;
                return Ok(Started::Begun);
            }
            let exhausted = diesel::update(ours().filter(webhook_deliveries::attempts_left.le(0)))
                .set((
                    webhook_deliveries::status.eq(FAILED),
                    webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
                    webhook_deliveries::locked_by.eq(None::<String>),
                    webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)
                .await?;
            Ok(if exhausted == 1 {
                Started::Exhausted
            } else {
                Started::LeaseLost
            })
        })
        .await
    })
}

/// Records the outcome of an attempt begun by [`attempt_start`] under `replica`'s lease, with
/// what follows, in one transaction: the attempt's row, the delivery's state, and for an event
/// (not a test ping) that ends, the webhook's run of failures, which disables it at
/// `disable_after`. A delivery of a webhook turned off meanwhile is failed rather than retried.
pub async fn attempt_record(
    db: &Db,
    delivery: &DeliveryRow,
    attempt: &AttemptRow,
    next: Next,
    disable_after: i64,
    disabled_notice: &(dyn Fn() -> crate::store::notifications::Notice + Send + Sync),
) -> Result<Recorded, DbError> {
    let is_test = delivery.event_type == TEST_EVENT;
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            // The webhook's row is locked before the delivery's, in the order `webhook_delete`
            // takes them (its cascade): the other way round, a delete meanwhile deadlocks with
            // this on PostgreSQL. A webhook deleted meanwhile took the delivery with it.
            let webhook_present = diesel::update(webhooks::table.find(&delivery.webhook_id))
                .set(webhooks::enabled.eq(webhooks::enabled))
                .execute(conn)
                .await?;
            if webhook_present == 0 {
                return Ok(Recorded::LeaseLost);
            }
            // Then the lease: it is still ours, and this is the attempt it began.
            let ours = diesel::update(
                webhook_deliveries::table
                    .filter(webhook_deliveries::id.eq(&delivery.id))
                    .filter(webhook_deliveries::locked_by.eq(&attempt.replica))
                    .filter(webhook_deliveries::attempt_count.eq(attempt.attempt)),
            )
            .set((
                webhook_deliveries::locked_by.eq(None::<String>),
                webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)
            .await?;
            if ours == 0 {
                return Ok(Recorded::LeaseLost);
            }
            diesel::update(webhook_attempts::table.find(&attempt.id))
                .set((
                    webhook_attempts::status_code.eq(attempt.status_code),
                    webhook_attempts::latency_ms.eq(attempt.latency_ms),
                    webhook_attempts::error.eq(&attempt.error),
                    webhook_attempts::response_snippet.eq(&attempt.response_snippet),
                ))
                .execute(conn)
                .await?;
            let enabled: bool = webhooks::table
                .find(&delivery.webhook_id)
                .select(webhooks::enabled)
                .first(conn)
                .await?;
            let next = match next {
                Next::RetryAt(_) if !enabled && !is_test => Next::Failed,
                other => other,
            };
            let (status, next_at) = match next {
                Next::Succeeded => (SUCCEEDED, None),
                Next::RetryAt(at) => (PENDING, Some(at)),
                Next::Failed => (FAILED, None),
            };
            diesel::update(webhook_deliveries::table.find(&delivery.id))
                .set((
                    webhook_deliveries::status.eq(status),
                    webhook_deliveries::next_attempt_at.eq(next_at),
                ))
                .execute(conn)
                .await?;
            let webhook = || webhooks::table.filter(webhooks::id.eq(&delivery.webhook_id));
            let mut disabled = false;
            match next {
                _ if is_test => {}
                Next::Succeeded => {
                    diesel::update(webhook())
                        .set(webhooks::consecutive_failures.eq(0))
                        .execute(conn)
                        .await?;
                }
                Next::Failed => {
                    diesel::update(webhook())
                        .set(webhooks::consecutive_failures.eq(webhooks::consecutive_failures + 1))
                        .execute(conn)
                        .await?;
                    disabled = diesel::update(
                        webhook()
                            .filter(webhooks::enabled.eq(true))
                            .filter(webhooks::consecutive_failures.ge(disable_after)),
                    )
                    .set((
                        webhooks::enabled.eq(false),
                        webhooks::disabled_reason.eq(Some("consecutive_failures")),
                        webhooks::updated_at.eq(now()),
                    ))
                    .execute(conn)
                    .await?
                        == 1;
                    if disabled {
                        fail_pending_on!(conn, &delivery.webhook_id)?;
                        let account_id: String =
                            webhook().select(webhooks::account_id).first(conn).await?;
                        let people = account_people!(conn, account_id);
                        insert_notifications!(conn, people, &disabled_notice());
                    }
                }
                Next::RetryAt(_) => {}
            }
            Ok(Recorded::Done { disabled })
        })
        .await
    })
}

/// How many attempts each replica made, by its name (for operators and the replicas test).
pub async fn attempts_per_replica(db: &Db) -> Result<Vec<(String, i64)>, DbError> {
    Ok(with_conn!(db, |conn| {
        webhook_attempts::table
            .group_by(webhook_attempts::replica)
            .select((webhook_attempts::replica, diesel::dsl::count_star()))
            .order(webhook_attempts::replica.asc())
            .load(&mut conn)
            .await?
    }))
}
