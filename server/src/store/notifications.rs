//! Notifications (`notifications`) and their preferences (`notification_preferences`). They
//! are written by `insert_notifications!` in the transaction of their cause; the email copies
//! are sent afterwards by a mail round that claims each one first, so none is sent twice.

use super::{Page, new_id, now, page};
use crate::db::schema::{notification_preferences, notifications, users};
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use serde_json::Value;

/// An email copy waiting for the mail round.
pub const EMAIL_PENDING: &str = "pending";
/// Claimed by one mail round.
pub const EMAIL_SENDING: &str = "sending";
pub const EMAIL_SENT: &str = "sent";
pub const EMAIL_FAILED: &str = "failed";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    /// JSON object.
    pub data: String,
    pub in_app: bool,
    pub email_state: Option<String>,
    pub read_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notification_preferences)]
pub struct PreferencesRow {
    pub user_id: String,
    pub email: bool,
    pub in_app: bool,
    /// JSON object: type -> switched on.
    pub types: String,
    pub updated_at: NaiveDateTime,
}

impl PreferencesRow {
    /// Whether notifications of `kind` are produced (a type not in the object is on).
    pub fn wants(&self, kind: &str) -> bool {
        serde_json::from_str::<serde_json::Map<String, Value>>(&self.types)
            .ok()
            .and_then(|types| types.get(kind).and_then(Value::as_bool))
            .unwrap_or(true)
    }
}

/// What a notification says, before it has recipients.
#[derive(Debug, Clone)]
pub struct Notice {
    /// A `NotificationType` of the contract.
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    pub data: Value,
}

/// The rows of `notice` for each recipient, after their preferences (none stored: all on).
pub fn rows_for(
    recipients: &[String],
    preferences: &[PreferencesRow],
    notice: &Notice,
) -> Vec<NotificationRow> {
    let now = now();
    let mut rows = Vec::new();
    for user_id in recipients {
        let chosen = preferences.iter().find(|p| &p.user_id == user_id);
        let (in_app, email) = match chosen {
            Some(p) if !p.wants(notice.kind) => continue,
            Some(p) => (p.in_app, p.email),
            None => (true, true),
        };
        if !in_app && !email {
            continue;
        }
        rows.push(NotificationRow {
            id: new_id(),
            user_id: user_id.clone(),
            kind: notice.kind.to_string(),
            title: notice.title.clone(),
            body: notice.body.clone(),
            data: notice.data.to_string(),
            in_app,
            email_state: email.then(|| EMAIL_PENDING.to_string()),
            read_at: None,
            created_at: now,
        });
    }
    rows
}

/// A user's in-app notifications, newest first, before `before` (a previous page's last id);
/// `unread`: only unread (`Some(true)`) or only read (`Some(false)`) ones.
pub async fn notification_list(
    db: &Db,
    user_id: &str,
    unread: Option<bool>,
    before: Option<&str>,
    limit: usize,
) -> Result<Page<NotificationRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let before = before.unwrap_or("~").to_string();
    with_conn!(db, |conn| {
        let filtered = || {
            let mut query = notifications::table
                .filter(notifications::user_id.eq(user_id.to_string()))
                .filter(notifications::in_app.eq(true))
                .into_boxed();
            query = match unread {
                Some(true) => query.filter(notifications::read_at.is_null()),
                Some(false) => query.filter(notifications::read_at.is_not_null()),
                None => query,
            };
            query
        };
        let items = filtered()
            .filter(notifications::id.lt(before.clone()))
            .order(notifications::id.desc())
            .limit(fetch)
            .select(NotificationRow::as_select())
            .load(&mut conn)
            .await?;
        let total = filtered().count().get_result(&mut conn).await?;
        Ok(page(items, limit, total))
    })
}

/// How many in-app notifications of the user are unread (the partial index's range).
pub async fn notification_unread_count(db: &Db, user_id: &str) -> Result<i64, DbError> {
    Ok(with_conn!(db, |conn| {
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::read_at.is_null())
            .filter(notifications::in_app.eq(true))
            .count()
            .get_result(&mut conn)
            .await?
    }))
}

/// Marks one of the user's notifications read (keeping a first `read_at`) and returns it.
pub async fn notification_mark_read(
    db: &Db,
    user_id: &str,
    id: &str,
) -> Result<Option<NotificationRow>, DbError> {
    let mine = || {
        notifications::table
            .filter(notifications::id.eq(id.to_string()))
            .filter(notifications::user_id.eq(user_id.to_string()))
            .filter(notifications::in_app.eq(true))
    };
    let mark = diesel::update(mine().filter(notifications::read_at.is_null()))
        .set(notifications::read_at.eq(Some(now())));
    with_write_conn!(db, |conn| mark.execute(&mut conn).await?);
    Ok(with_conn!(db, |conn| {
        mine()
            .select(NotificationRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// Marks every unread notification of the user read; how many changed.
pub async fn notification_mark_all_read(db: &Db, user_id: &str) -> Result<usize, DbError> {
    let mark = diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user_id.to_string()))
            .filter(notifications::read_at.is_null())
            .filter(notifications::in_app.eq(true)),
    )
    .set(notifications::read_at.eq(Some(now())));
    Ok(with_write_conn!(db, |conn| mark.execute(&mut conn).await?))
}

pub async fn notification_preferences_get(
    db: &Db,
    user_id: &str,
) -> Result<Option<PreferencesRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        notification_preferences::table
            .find(user_id)
            .select(PreferencesRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

pub async fn notification_preferences_put(db: &Db, row: &PreferencesRow) -> Result<(), DbError> {
    let upsert = diesel::insert_into(notification_preferences::table)
        .values(row)
        .on_conflict(notification_preferences::user_id)
        .do_update()
        .set((
            notification_preferences::email.eq(excluded(notification_preferences::email)),
            notification_preferences::in_app.eq(excluded(notification_preferences::in_app)),
            notification_preferences::types.eq(excluded(notification_preferences::types)),
            notification_preferences::updated_at.eq(excluded(notification_preferences::updated_at)),
        ));
    with_write_conn!(db, |conn| upsert.execute(&mut conn).await?);
    Ok(())
}

/// A pending email copy with its recipient's address and name.
#[derive(Debug, Clone)]
pub struct PendingMail {
    pub notification: NotificationRow,
    pub email: String,
    pub name: String,
}

/// The oldest email copies waiting to be sent.
pub async fn notification_mails_pending(db: &Db, limit: i64) -> Result<Vec<PendingMail>, DbError> {
    let rows: Vec<(NotificationRow, String, String)> = with_conn!(db, |conn| {
        notifications::table
            .inner_join(users::table)
            .filter(notifications::email_state.eq(EMAIL_PENDING))
            .order(notifications::created_at.asc())
            .limit(limit)
            .select((NotificationRow::as_select(), users::email, users::name))
            .load(&mut conn)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|(notification, email, name)| PendingMail {
            notification,
            email,
            name,
        })
        .collect())
}

/// Moves an email copy from `from` to `to`; true when this call did (a claim: of replicas
/// racing for one copy, one wins).
pub async fn notification_mail_move(
    db: &Db,
    id: &str,
    from: &str,
    to: &str,
) -> Result<bool, DbError> {
    let update = diesel::update(
        notifications::table
            .filter(notifications::id.eq(id.to_string()))
            .filter(notifications::email_state.eq(from.to_string())),
    )
    .set(notifications::email_state.eq(Some(to.to_string())));
    Ok(with_write_conn!(db, |conn| update.execute(&mut conn).await?) == 1)
}

/// Writes `notice` for `recipients` in a transaction of its own (for a cause that has none).
pub async fn notifications_create(
    db: &Db,
    recipients: Vec<String>,
    notice: &Notice,
) -> Result<(), DbError> {
    use diesel_async::AsyncConnection;
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            insert_notifications!(conn, recipients, notice);
            Ok(())
        })
        .await
    })
}
