//! The store: every read and write of the database, one module per table, named
//! `<resource>_<verb>`. Services call it; it knows nothing of HTTP. Custom SQL, which diesel's
//! DSL cannot express, is in `queries` alone.
//!
//! Ids are UUIDv7 (time-ordered), so ordering by id is ordering by creation and a list's
//! cursor is simply the last id of the previous page.

/// Writes an event to the outbox (`events`) on the connection of the transaction that causes
/// it, so that no event exists without its cause and no cause without its event.
macro_rules! insert_event {
    ($conn:expr, $account_id:expr, $bot_id:expr, $event_type:expr, $payload:expr) => {
        diesel::insert_into($crate::db::schema::events::table)
            .values($crate::store::EventInsert::new(
                $account_id,
                $bot_id,
                $event_type,
                $payload,
            ))
            .execute($conn)
            .await?
    };
}

/// Writes the notifications of `$notice` (a `store::notifications::Notice`) for `$recipients`
/// (user ids) on the connection of the transaction that causes them, after each recipient's
/// preferences (a type switched off: none; in-app and email as chosen).
macro_rules! insert_notifications {
    ($conn:expr, $recipients:expr, $notice:expr) => {{
        let recipients: Vec<String> = $recipients;
        let preferences: Vec<$crate::store::notifications::PreferencesRow> =
            $crate::db::schema::notification_preferences::table
                .filter(
                    $crate::db::schema::notification_preferences::user_id
                        .eq_any(recipients.clone()),
                )
                .select($crate::store::notifications::PreferencesRow::as_select())
                .load($conn)
                .await?;
        let rows = $crate::store::notifications::rows_for(&recipients, &preferences, $notice);
        // One statement per row: SQLite has no batch insert of rows with nullable fields.
        for row in &rows {
            diesel::insert_into($crate::db::schema::notifications::table)
                .values(row)
                .execute($conn)
                .await?;
        }
    }};
}

/// The users of an account, on `$conn` (who are told of its quota and webhooks).
macro_rules! account_people {
    ($conn:expr, $account_id:expr) => {{
        let people: Vec<String> = $crate::db::schema::users::table
            .filter($crate::db::schema::users::account_id.eq($account_id.to_string()))
            .select($crate::db::schema::users::id)
            .load($conn)
            .await?;
        people
    }};
}

/// Adds `$n` messages to the account's counter of `$month` and evaluates to the new count: one
/// atomic upsert (concurrent adds never lose a count), shared by the quota's transaction and
/// the chat exchange's (which counts when no quota applies).
macro_rules! usage_add {
    ($conn:expr, $account_id:expr, $month:expr, $n:expr) => {
        diesel::insert_into($crate::db::schema::usage_counters::table)
            .values((
                $crate::db::schema::usage_counters::account_id.eq($account_id),
                $crate::db::schema::usage_counters::month.eq($month),
                $crate::db::schema::usage_counters::messages.eq($n),
            ))
            .on_conflict((
                $crate::db::schema::usage_counters::account_id,
                $crate::db::schema::usage_counters::month,
            ))
            .do_update()
            .set(
                $crate::db::schema::usage_counters::messages
                    .eq($crate::db::schema::usage_counters::messages + $n),
            )
            .returning($crate::db::schema::usage_counters::messages)
            .get_result::<i64>($conn)
            .await?
    };
}

pub mod analytics;
pub mod api_keys;
pub mod bots;
pub mod chat;
pub mod codes;
pub mod contacts;
pub mod inbox;
pub mod knowledge;
pub mod live;
pub mod notifications;
pub mod presence;
mod queries;
pub mod rate_limits;
pub mod settings;
pub mod teams;
pub mod usage;
pub mod users;
pub mod webhooks;

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;

/// Now, at the microsecond precision both databases keep (so values round-trip exactly).
pub fn now() -> NaiveDateTime {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros())
        .unwrap_or(now)
        .naive_utc()
}

pub fn utc(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}

/// An event of the outbox as it is inserted: with its cause ([`insert_event!`]), or with a
/// chat batch's rows.
#[derive(diesel::Insertable)]
#[diesel(table_name = crate::db::schema::events, treat_none_as_default_value = false)]
pub(crate) struct EventInsert<'a> {
    id: String,
    account_id: &'a str,
    bot_id: Option<&'a str>,
    event_type: &'a str,
    payload: &'a str,
    created_at: NaiveDateTime,
}

impl<'a> EventInsert<'a> {
    pub(crate) fn new(
        account_id: &'a str,
        bot_id: Option<&'a str>,
        event_type: &'a str,
        payload: &'a str,
    ) -> EventInsert<'a> {
        EventInsert {
            id: new_id(),
            account_id,
            bot_id,
            event_type,
            payload,
            created_at: now(),
        }
    }
}

pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// Parses an id read from the database (written by us, so always valid).
pub fn uuid(id: &str) -> Uuid {
    Uuid::parse_str(id).unwrap_or_default()
}

/// Whether a query failed on a unique index.
pub fn is_unique_violation(error: &crate::db::DbError) -> bool {
    matches!(
        error,
        crate::db::DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _
        ))
    )
}

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub has_more: bool,
}

/// Splits `limit + 1` fetched rows into a page (the extra row only says there is more).
pub fn page<T>(mut rows: Vec<T>, limit: usize, total: i64) -> Page<T> {
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    Page {
        items: rows,
        total: u64::try_from(total).unwrap_or(0),
        has_more,
    }
}
