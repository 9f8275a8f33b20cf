//! The knowledge base (`documents`, `knowledge_entries`): the source of truth every replica
//! builds its search index from. Every change bumps the bot's `knowledge_revision` in the same
//! transaction, which is how replicas know to rebuild.

use super::chat::NewEvent;
use super::{Page, page};
use crate::db::schema::{bots, documents, knowledge_entries};
use crate::db::{Db, DbError};
use crate::with_conn;
use crate::with_write_conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = documents)]
pub struct DocumentRow {
    pub id: String,
    pub bot_id: String,
    pub title: String,
    pub category: Option<String>,
    pub kind: String,
    pub filename: String,
    pub size_bytes: i64,
    pub chunk_count: i64,
    pub faq_count: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = knowledge_entries)]
pub struct EntryRow {
    pub id: String,
    pub bot_id: String,
    pub document_id: String,
    pub position: i64,
    pub question: Option<String>,
    pub content: String,
}

/// Stores a document and its entries, bumps the bot's revision, and writes its `kb.updated`
/// event, together.
pub async fn document_create(
    db: &Db,
    account_id: &str,
    document: &DocumentRow,
    entries: &[EntryRow],
    event: &NewEvent,
) -> Result<(), DbError> {
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            diesel::insert_into(documents::table)
                .values(document)
                .execute(conn)
                .await?;
            // Row by row: diesel-async's SQLite wrapper has no batch insert, and in one
            // transaction each row costs microseconds.
            for entry in entries {
                diesel::insert_into(knowledge_entries::table)
                    .values(entry)
                    .execute(conn)
                    .await?;
            }
            diesel::update(bots::table.find(&document.bot_id))
                .set(bots::knowledge_revision.eq(bots::knowledge_revision + 1))
                .execute(conn)
                .await?;
            insert_event!(
                conn,
                account_id,
                Some(document.bot_id.as_str()),
                event.event_type,
                &event.payload
            );
            Ok(())
        })
        .await
    })
}

/// The bot's documents, newest first, optionally of one kind and category.
pub async fn document_list(
    db: &Db,
    bot_id: &str,
    kind: Option<&str>,
    category: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<DocumentRow>, DbError> {
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let before = after.unwrap_or("~").to_string();
    with_conn!(db, |conn| {
        let filtered = || {
            let mut query = documents::table
                .filter(documents::bot_id.eq(bot_id.to_string()))
                .into_boxed();
            if let Some(kind) = kind {
                query = query.filter(documents::kind.eq(kind.to_string()));
            }
            if let Some(category) = category {
                query = query.filter(documents::category.eq(category.to_string()));
            }
            query
        };
        let items = filtered()
            .filter(documents::id.lt(before.clone()))
            .select(DocumentRow::as_select())
            .order(documents::id.desc())
            .limit(fetch)
            .load(&mut conn)
            .await?;
        let total = filtered().count().get_result(&mut conn).await?;
        Ok(page(items, limit, total))
    })
}

pub async fn document_get(db: &Db, bot_id: &str, id: &str) -> Result<Option<DocumentRow>, DbError> {
    Ok(with_conn!(db, |conn| {
        documents::table
            .filter(documents::id.eq(id))
            .filter(documents::bot_id.eq(bot_id))
            .select(DocumentRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    }))
}

/// Deletes a document (its entries go with it), bumps the bot's revision and writes the event
/// `event` makes of the deleted document, together; false if it did not exist.
pub async fn document_delete(
    db: &Db,
    account_id: &str,
    bot_id: &str,
    id: &str,
    event: &(dyn Fn(&DocumentRow) -> NewEvent + Send + Sync),
) -> Result<bool, DbError> {
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            let deleted: Option<DocumentRow> = diesel::delete(
                documents::table
                    .filter(documents::id.eq(id))
                    .filter(documents::bot_id.eq(bot_id)),
            )
            .returning(DocumentRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
            let Some(document) = deleted else {
                return Ok(false);
            };
            diesel::update(bots::table.find(bot_id))
                .set(bots::knowledge_revision.eq(bots::knowledge_revision + 1))
                .execute(conn)
                .await?;
            let event = event(&document);
            insert_event!(
                conn,
                account_id,
                Some(bot_id),
                event.event_type,
                &event.payload
            );
            Ok(true)
        })
        .await
    })
}

/// Everything the engine indexes for a bot: its entries with their document's title, in a
/// stable order.
pub async fn entries_of_bot(db: &Db, bot_id: &str) -> Result<Vec<(EntryRow, String)>, DbError> {
    Ok(with_conn!(db, |conn| {
        knowledge_entries::table
            .inner_join(documents::table)
            .filter(knowledge_entries::bot_id.eq(bot_id))
            .order((
                knowledge_entries::document_id.asc(),
                knowledge_entries::position.asc(),
            ))
            .select((EntryRow::as_select(), documents::title))
            .load::<(EntryRow, String)>(&mut conn)
            .await?
    }))
}

/// Copies every document and entry of `from` to `to` (new ids), for duplicating a bot.
pub async fn knowledge_copy(
    db: &Db,
    from: &str,
    to: &str,
    new_id: &(dyn Fn() -> String + Send + Sync),
) -> Result<(), DbError> {
    let documents_of = documents::table.filter(documents::bot_id.eq(from.to_string()));
    with_write_conn!(db, |conn| {
        conn.transaction::<_, DbError, _>(async |conn| {
            // Write first (SQLite): take the write lock before reading what to copy.
            diesel::update(bots::table.find(to))
                .set(bots::knowledge_revision.eq(bots::knowledge_revision + 1))
                .execute(conn)
                .await?;
            // Oldest first, so that the copies' ids (their list order) follow the originals'.
            let docs: Vec<DocumentRow> = documents_of
                .clone()
                .order(documents::id.asc())
                .select(DocumentRow::as_select())
                .load(conn)
                .await?;
            for doc in docs {
                let doc_id = new_id();
                let entries: Vec<EntryRow> = knowledge_entries::table
                    .filter(knowledge_entries::document_id.eq(&doc.id))
                    .select(EntryRow::as_select())
                    .load(conn)
                    .await?;
                let copy = DocumentRow {
                    id: doc_id.clone(),
                    bot_id: to.to_string(),
                    ..doc
                };
                diesel::insert_into(documents::table)
                    .values(&copy)
                    .execute(conn)
                    .await?;
                let entries: Vec<EntryRow> = entries
                    .into_iter()
                    .map(|e| EntryRow {
                        id: new_id(),
                        bot_id: to.to_string(),
                        document_id: doc_id.clone(),
                        ..e
                    })
                    .collect();
                for entry in &entries {
                    diesel::insert_into(knowledge_entries::table)
                        .values(entry)
                        .execute(conn)
                        .await?;
                }
            }
            Ok(())
        })
        .await
    })
}
