//! The knowledge base: upload (multipart), list, get, delete. An upload is read, checked,
//! extracted and split before anything is stored, and stored in one transaction, so a bad
//! file leaves the knowledge base as it was.

use super::bots::bot_of_owner;
use super::{Call, cursor, limit, not_found, page_info};
use crate::error::Error;
use crate::knowledge::{self, Extracted};
use crate::store::chat::NewEvent;
use crate::store::knowledge::{self as store, DocumentRow, EntryRow};
use crate::store::{self as stores, new_id, now, utc};
use botwire_api::types::{
    Document, DocumentKind, DocumentList, DocumentListQuery, DocumentStatus, ErrorCode,
    KbUpdatedEvent, KbUpdatedEventData, KbUpdatedEventDataAction, KbUpdatedEventType,
};
use dropshot::MultipartBody;
use uuid::Uuid;

/// The contract's limit for a request body, which dropshot does not apply to multipart.
const MAX_UPLOAD_BYTES: usize = crate::config::REQUEST_BODY_MAX_BYTES;

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::Validation(vec![(field.into(), message.into())])
}

fn kind_str(kind: DocumentKind) -> String {
    kind.to_string()
}

fn document_view(row: &DocumentRow) -> Document {
    Document {
        bot_id: stores::uuid(&row.bot_id),
        category: row.category.clone(),
        chunk_count: u64::try_from(row.chunk_count).unwrap_or(0),
        created_at: utc(row.created_at),
        faq_count: u64::try_from(row.faq_count).unwrap_or(0),
        filename: row.filename.clone(),
        id: stores::uuid(&row.id),
        kind: row.kind.parse().unwrap_or(DocumentKind::Text),
        size_bytes: u64::try_from(row.size_bytes).unwrap_or(0),
        status: DocumentStatus::Ready,
        title: row.title.clone(),
    }
}

/// The `kb.updated` event of a document created or deleted.
fn kb_updated(row: &DocumentRow, action: KbUpdatedEventDataAction) -> NewEvent {
    let event = KbUpdatedEvent {
        type_: KbUpdatedEventType::KbUpdated,
        timestamp: chrono::Utc::now(),
        data: KbUpdatedEventData {
            action,
            bot_id: stores::uuid(&row.bot_id),
            chunk_count: u64::try_from(row.chunk_count).unwrap_or(0),
            document_id: stores::uuid(&row.id),
            faq_count: u64::try_from(row.faq_count).unwrap_or(0),
            filename: row.filename.clone(),
            title: row.title.clone(),
        },
    };
    NewEvent {
        event_type: "kb.updated",
        payload: serde_json::to_string(&event).expect("strings, numbers and ids serialize"),
    }
}

struct Upload {
    filename: String,
    content_type: Option<String>,
    bytes: Vec<u8>,
    title: Option<String>,
    category: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    title: Option<String>,
    category: Option<String>,
}

/// Reads the form: a `file` part (at most 10 MB) and an optional `metadata` JSON part.
async fn read_upload(mut body: MultipartBody) -> Result<Upload, Error> {
    let malformed =
        |e: &dyn std::fmt::Display| Error::InvalidRequest(format!("malformed multipart body: {e}"));
    let mut file = None;
    let mut metadata = None;
    while let Some(mut field) = body.content.next_field().await.map_err(|e| malformed(&e))? {
        match field.name() {
            Some("file") => {
                let filename = field.file_name().unwrap_or("upload").to_string();
                let content_type = field.content_type().map(|m| m.to_string());
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| malformed(&e))? {
                    if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                        return Err(Error::PayloadTooLarge(format!(
                            "the file is larger than {MAX_UPLOAD_BYTES} bytes"
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((filename, content_type, bytes));
            }
            Some("metadata") => {
                let text = field.text().await.map_err(|e| malformed(&e))?;
                if text.chars().count() > 2000 {
                    return Err(invalid("metadata", "longer than 2000 characters"));
                }
                let parsed: Metadata = serde_json::from_str(&text).map_err(|e| {
                    invalid("metadata", format!("not the expected JSON object: {e}"))
                })?;
                metadata = Some(parsed);
            }
            other => {
                return Err(invalid(
                    other.unwrap_or("part"),
                    "unknown part: expected `file` and `metadata`",
                ));
            }
        }
    }
    let (filename, content_type, bytes) =
        file.ok_or_else(|| invalid("file", "the form has no `file` part"))?;
    let Metadata { title, category } = metadata.unwrap_or(Metadata {
        title: None,
        category: None,
    });
    let check = |field: &str, value: &Option<String>, max: usize| match value {
        Some(v) if v.trim().is_empty() || v.chars().count() > max => {
            Err(invalid(field, format!("must be 1 to {max} characters")))
        }
        _ => Ok(()),
    };
    check("metadata.title", &title, 200)?;
    check("metadata.category", &category, 100)?;
    Ok(Upload {
        filename,
        content_type,
        bytes,
        title,
        category,
    })
}

pub async fn document_create(
    call: &Call<'_>,
    bot_id: Uuid,
    body: MultipartBody,
) -> Result<Document, Error> {
    let bot = bot_of_owner(call, bot_id).await?;
    let Upload {
        filename,
        content_type,
        bytes,
        title,
        category,
    } = read_upload(body).await?;
    let size = bytes.len();
    let name = filename.clone();
    // Extraction is CPU work (PDFs especially): off the async threads.
    let extracted = tokio::task::spawn_blocking(move || {
        knowledge::extract(&name, content_type.as_deref(), &bytes)
    })
    .await
    .map_err(|e| Error::Internal(format!("extraction task: {e}")))?
    .map_err(|e| invalid("file", e.to_string()))?;
    let document_id = new_id();
    let entry = |position: usize, question: Option<String>, content: String| EntryRow {
        id: new_id(),
        bot_id: bot.id.clone(),
        document_id: document_id.clone(),
        position: i64::try_from(position).unwrap_or(i64::MAX),
        question,
        content,
    };
    let kind = extracted.kind();
    let (entries, chunk_count, faq_count) = match extracted {
        Extracted::Text { text, .. } => {
            let chunks = knowledge::chunk(&text);
            let count = chunks.len();
            (
                chunks
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| entry(i, None, c))
                    .collect::<Vec<_>>(),
                count,
                0,
            )
        }
        Extracted::Faq { pairs, .. } => {
            let count = pairs.len();
            let entries = pairs
                .into_iter()
                .enumerate()
                .map(|(i, p)| entry(i, Some(p.question), p.answer))
                .collect();
            (entries, 0, count)
        }
    };
    let row = DocumentRow {
        id: document_id,
        bot_id: bot.id.clone(),
        title: title.unwrap_or_else(|| filename.clone()),
        category,
        kind: kind_str(kind),
        filename,
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        chunk_count: i64::try_from(chunk_count).unwrap_or(0),
        faq_count: i64::try_from(faq_count).unwrap_or(0),
        created_at: now(),
    };
    let event = kb_updated(&row, KbUpdatedEventDataAction::Created);
    store::document_create(&call.app.db, &bot.account_id, &row, &entries, &event).await?;
    Ok(document_view(&row))
}

pub async fn document_list(
    call: &Call<'_>,
    bot_id: Uuid,
    query: DocumentListQuery,
) -> Result<DocumentList, Error> {
    let DocumentListQuery {
        category,
        cursor: raw_cursor,
        kind,
        limit: raw_limit,
    } = query;
    let bot = bot_of_owner(call, bot_id).await?;
    let after = cursor(raw_cursor.as_deref().map(String::as_str))?;
    let kind = kind.map(|k| k.to_string());
    let category = category.map(|c| c.to_string());
    let page = store::document_list(
        &call.app.db,
        &bot.id,
        kind.as_deref(),
        category.as_deref(),
        after.as_deref(),
        limit(raw_limit),
    )
    .await?;
    let last = page.items.last().map(|row| row.id.clone());
    Ok(DocumentList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(document_view).collect(),
    })
}

pub async fn document_get(
    call: &Call<'_>,
    bot_id: Uuid,
    document_id: Uuid,
) -> Result<Document, Error> {
    let bot = bot_of_owner(call, bot_id).await?;
    let row = store::document_get(&call.app.db, &bot.id, &document_id.to_string())
        .await?
        .ok_or_else(|| not_found(ErrorCode::DocumentNotFound, "document"))?;
    Ok(document_view(&row))
}

pub async fn document_delete(
    call: &Call<'_>,
    bot_id: Uuid,
    document_id: Uuid,
) -> Result<(), Error> {
    let bot = bot_of_owner(call, bot_id).await?;
    let event = |row: &DocumentRow| kb_updated(row, KbUpdatedEventDataAction::Deleted);
    let id = document_id.to_string();
    if store::document_delete(&call.app.db, &bot.account_id, &bot.id, &id, &event).await? {
        Ok(())
    } else {
        Err(not_found(ErrorCode::DocumentNotFound, "document"))
    }
}
