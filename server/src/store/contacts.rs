//! Contacts (`contacts`), the people behind chat sessions, per account; and the link of a
//! session's conversation to one. Each change writes its `contact.updated` event (account-wide:
//! no bot) in the same transaction.

use super::{Page, page};
use crate::db::schema::{bots, contacts, conversations};
use crate::db::{Db, DbError};
use crate::store::chat::ConversationRow;
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contacts, treat_none_as_null = true)]
pub struct ContactRow {
    pub id: String,
    pub account_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    /// JSON array of strings.
    pub tags: String,
    /// JSON object.
    pub attributes: String,
    /// Name, email and phone in lower case, for `q`.
    pub search: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A contact with the number of sessions linked to it.
#[derive(Debug, Clone)]
pub struct ContactWithSessions {
    pub contact: ContactRow,
    pub session_count: i64,
}

/// `%`, `_` and `\` of a user's text, escaped for a `LIKE` pattern (escape character `\`).
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

pub async fn contact_create(db: &Db, row: &ContactRow, event: &str) -> Result<(), DbError> {
    let insert = diesel::insert_into(contacts::table).values(row);
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            insert.execute(conn).await?;
            insert_event!(conn, &row.account_id, None, "contact.updated", event);
            Ok(())
        })
        .await
    })
}

/// Sessions (a bot's `session_id`, however many conversations it had) linked to each contact.
async fn session_counts(db: &Db, ids: Vec<String>) -> Result<Vec<(String, i64)>, DbError> {
    let linked: Vec<(Option<String>, String, String)> = with_conn!(db, |conn| {
        conversations::table
            .filter(conversations::contact_id.eq_any(ids))
            .select((
                conversations::contact_id,
                conversations::bot_id,
                conversations::session_id,
            ))
            .distinct()
            .load(&mut conn)
            .await?
    });
    let mut counts: Vec<(String, i64)> = Vec::new();
    for contact in linked.into_iter().filter_map(|(contact, _, _)| contact) {
        match counts.iter_mut().find(|(id, _)| *id == contact) {
            Some((_, n)) => *n += 1,
            None => counts.push((contact, 1)),
        }
    }
    Ok(counts)
}

async fn with_sessions(
    db: &Db,
    rows: Vec<ContactRow>,
) -> Result<Vec<ContactWithSessions>, DbError> {
    let counts = session_counts(db, rows.iter().map(|row| row.id.clone()).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|contact| {
            let session_count = counts
                .iter()
                .find(|(id, _)| *id == contact.id)
                .map_or(0, |(_, n)| *n);
            ContactWithSessions {
                contact,
                session_count,
            }
        })
        .collect())
}

/// The account's contact with this id.
pub async fn contact_get(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<Option<ContactWithSessions>, DbError> {
    let row: Option<ContactRow> = with_conn!(db, |conn| {
        contacts::table
            .filter(contacts::id.eq(id))
            .filter(contacts::account_id.eq(account_id))
            .select(ContactRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    });
    Ok(match row {
        Some(row) => with_sessions(db, vec![row]).await?.pop(),
        None => None,
    })
}

/// The account's contact with this email or external id (the one a duplicate collides with).
pub async fn contact_find_duplicate(
    db: &Db,
    account_id: &str,
    email: Option<&str>,
    external_id: Option<&str>,
    except: Option<&str>,
) -> Result<Option<ContactRow>, DbError> {
    let (email, external_id) = (email.map(str::to_string), external_id.map(str::to_string));
    if email.is_none() && external_id.is_none() {
        return Ok(None);
    }
    let except = except.unwrap_or("").to_string();
    Ok(with_conn!(db, |conn| {
        contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(contacts::id.ne(except.clone()))
            .filter(
                contacts::email
                    .eq(email.clone())
                    .and(contacts::email.is_not_null())
                    .or(contacts::external_id
                        .eq(external_id.clone())
                        .and(contacts::external_id.is_not_null())),
            )
            .select(ContactRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// The account's contacts, newest first, those matching `q` (lower case, within name, email
/// or phone) and carrying `tag`.
pub async fn contact_list(
    db: &Db,
    account_id: &str,
    q: Option<&str>,
    tag: Option<&str>,
    before: Option<&str>,
    limit: usize,
) -> Result<Page<ContactWithSessions>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let before = before.unwrap_or("~").to_string();
    let q = q.map(|q| format!("%{}%", like_escaped(&q.to_lowercase())));
    // Tags are stored as a JSON array: a tag is found as its JSON string, quotes included.
    let tag = tag.map(|tag| {
        let quoted = serde_json::to_string(tag).unwrap_or_default();
        format!("%{}%", like_escaped(&quoted))
    });
    let (rows, total) = with_conn!(db, |conn| {
        let filtered = || {
            let mut query = contacts::table
                .filter(contacts::account_id.eq(account_id.to_string()))
                .into_boxed();
            if let Some(q) = &q {
                query = query.filter(contacts::search.like(q.clone()).escape('\\'));
            }
            if let Some(tag) = &tag {
                query = query.filter(contacts::tags.like(tag.clone()).escape('\\'));
            }
            query
        };
        let rows: Vec<ContactRow> = filtered()
            .filter(contacts::id.lt(before.clone()))
            .order(contacts::id.desc())
            .limit(fetch)
            .select(ContactRow::as_select())
            .load(&mut conn)
            .await?;
        let total: i64 = filtered().count().get_result(&mut conn).await?;
        (rows, total)
    });
    let rows = with_sessions(db, rows).await?;
    Ok(page(rows, limit, total))
}

/// Writes the contact as given (all fields). False: no such contact.
pub async fn contact_update(db: &Db, row: &ContactRow, event: &str) -> Result<bool, DbError> {
    let update = diesel::update(
        contacts::table
            .filter(contacts::id.eq(row.id.clone()))
            .filter(contacts::account_id.eq(row.account_id.clone())),
    )
    .set(row);
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            if update.execute(conn).await? == 0 {
                return Ok(false);
            }
            insert_event!(conn, &row.account_id, None, "contact.updated", event);
            Ok(true)
        })
        .await
    })
}

/// Deletes the contact and unlinks its sessions (their messages stay). False: no such contact.
pub async fn contact_delete(
    db: &Db,
    account_id: &str,
    id: &str,
    event: &str,
) -> Result<bool, DbError> {
    let unlink = diesel::update(conversations::table.filter(conversations::contact_id.eq(id)))
        .set(conversations::contact_id.eq(None::<String>));
    let delete = diesel::delete(
        contacts::table
            .filter(contacts::id.eq(id))
            .filter(contacts::account_id.eq(account_id)),
    );
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            if delete.execute(conn).await? == 0 {
                return Ok(false);
            }
            unlink.execute(conn).await?;
            insert_event!(conn, account_id, None, "contact.updated", event);
            Ok(true)
        })
        .await
    })
}

/// Links the session's conversation of the bot to a contact (or unlinks it: `None`), and
/// returns it; `None`: no such session.
pub async fn session_contact_link(
    db: &Db,
    bot_id: &str,
    session_id: &str,
    contact_id: Option<&str>,
) -> Result<Option<ConversationRow>, DbError> {
    let target = conversations::table
        .filter(conversations::bot_id.eq(bot_id.to_string()))
        .filter(conversations::session_id.eq(session_id.to_string()));
    let update =
        diesel::update(target).set(conversations::contact_id.eq(contact_id.map(str::to_string)));
    let changed = with_write_conn!(db, |conn| update.execute(&mut conn).await?);
    if changed == 0 {
        return Ok(None);
    }
    Ok(with_conn!(db, |conn| {
        conversations::table
            .inner_join(bots::table)
            .filter(conversations::bot_id.eq(bot_id))
            .filter(conversations::session_id.eq(session_id))
            .select(ConversationRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}
