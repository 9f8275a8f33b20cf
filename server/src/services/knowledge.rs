//! The knowledge base: upload (multipart), list, get, delete. An upload is read, checked,
//! extracted and split before anything is stored, and stored in one transaction, so a bad
//! file leaves the knowledge base as it was.

use super::bots::granted_bot;
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

/// The longest file name kept, in characters (the contract's `Document.filename`).
const MAX_FILENAME_CHARS: usize = 255;
/// The longest title, in characters (the contract's `Document.title`).
const MAX_TITLE_CHARS: usize = 200;
/// The name stored for a file whose name leaves nothing (the contract's `Document.filename`).
const FALLBACK_NAME: &str = "upload";

/// `text`'s first `max` characters.
fn cut(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(at, _)| &text[..at])
}

/// The file name stored, as the contract's `Document.filename` states: the base name (after
/// the last `/` or `\`), without control characters, trimmed, at most 255 characters;
/// `upload` when nothing is left (or only `.` or `..`).
fn stored_filename(sent: &str) -> String {
    let base = sent.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    let name = cut(clean.trim(), MAX_FILENAME_CHARS).trim_end();
    match name {
        "" | "." | ".." => FALLBACK_NAME.to_string(),
        name => name.to_string(),
    }
}

/// The title of a document uploaded without one: its stored file name cut to 200 characters
/// (the contract's `Document.title`); `upload` when nothing is left.
fn title_from(filename: &str) -> String {
    match cut(filename, MAX_TITLE_CHARS).trim_end() {
        "" => FALLBACK_NAME.to_string(),
        title => title.to_string(),
    }
}

/// Reads a part's content chunk by chunk, keeping it (`keep`) or dropping each chunk as it
/// comes, and counting it against what is left of the form's budget: more is 413, having read
/// no further than the limit.
async fn read_part(
    field: &mut multer::Field<'static>,
    left: &mut usize,
    keep: bool,
) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| malformed(&e))? {
        *left = left.checked_sub(chunk.len()).ok_or_else(|| {
            Error::PayloadTooLarge(format!(
                "the form's parts hold more than {MAX_UPLOAD_BYTES} bytes"
            ))
        })?;
        if keep {
            bytes.extend_from_slice(&chunk);
        }
    }
    Ok(bytes)
}

fn malformed(e: &dyn std::fmt::Display) -> Error {
    Error::InvalidRequest(format!("malformed multipart body: {e}"))
}

/// Reads the form: a `file` part and an optional `metadata` JSON part; any other part is read
/// and ignored (browsers and form libraries add fields). Every part's content counts against
/// the body limit (10 MB in all), so nothing is read past it.
async fn read_upload(mut body: MultipartBody) -> Result<Upload, Error> {
    let mut left = MAX_UPLOAD_BYTES;
    let mut file = None;
    let mut metadata = None;
    while let Some(mut field) = body.content.next_field().await.map_err(|e| malformed(&e))? {
        match field.name() {
            Some("file") => {
                let filename = stored_filename(field.file_name().unwrap_or(FALLBACK_NAME));
                let content_type = field.content_type().map(|m| m.to_string());
                let bytes = read_part(&mut field, &mut left, true).await?;
                file = Some((filename, content_type, bytes));
            }
            Some("metadata") => {
                let bytes = read_part(&mut field, &mut left, true).await?;
                let text = String::from_utf8_lossy(&bytes);
                if text.chars().count() > 2000 {
                    return Err(invalid("metadata", "longer than 2000 characters"));
                }
                let parsed: Metadata = serde_json::from_str(&text).map_err(|e| {
                    invalid("metadata", format!("not the expected JSON object: {e}"))
                })?;
                metadata = Some(parsed);
            }
            _ => {
                read_part(&mut field, &mut left, false).await?;
            }
        }
    }
    let (filename, content_type, bytes) =
        file.ok_or_else(|| invalid("file", "the form has no `file` part"))?;
    let Metadata { title, category } = metadata.unwrap_or(Metadata {
        title: None,
        category: None,
    });
    // An empty or blank value is as if left out (the contract's `metadata`): the title then
    // comes from the file name.
    let given = |field: &str, value: Option<String>, max: usize| match value {
        Some(v) if v.chars().count() > max => {
            Err(invalid(field, format!("longer than {max} characters")))
        }
        Some(v) if v.trim().is_empty() => Ok(None),
        value => Ok(value),
    };
    let title = given("metadata.title", title, MAX_TITLE_CHARS)?;
    let category = given("metadata.category", category, 100)?;
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
    let bot = granted_bot(call, bot_id).await?;
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
        title: title.unwrap_or_else(|| title_from(&filename)),
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
    let bot = granted_bot(call, bot_id).await?;
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
    let bot = granted_bot(call, bot_id).await?;
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
    let bot = granted_bot(call, bot_id).await?;
    let event = |row: &DocumentRow| kb_updated(row, KbUpdatedEventDataAction::Deleted);
    let id = document_id.to_string();
    if store::document_delete(&call.app.db, &bot.account_id, &bot.id, &id, &event).await? {
        Ok(())
    } else {
        Err(not_found(ErrorCode::DocumentNotFound, "document"))
    }
}

#[cfg(test)]
mod tests {
    use super::{stored_filename, title_from};

    #[test]
    fn a_file_name_is_stored_as_its_bounded_base_name() {
        for (sent, stored) in [
            ("../../../../etc/passwd", "passwd"),
            ("..\\..\\windows\\win.ini", "win.ini"),
            ("C:\\Users\\me/notes.txt", "notes.txt"),
            ("  report\tq3\u{9b}.txt \n", "reportq3.txt"),
            ("", "upload"),
            ("dir/", "upload"),
            ("a/..", "upload"),
            (" \u{7} ", "upload"),
        ] {
            assert_eq!(stored_filename(sent), stored, "{sent:?}");
        }
        let long = "\u{e9}".repeat(300);
        assert_eq!(stored_filename(&long), "\u{e9}".repeat(255));
        assert_eq!(title_from(&stored_filename(&long)), "\u{e9}".repeat(200));
        assert_eq!(
            title_from(&format!("{} b", "a".repeat(199))),
            "a".repeat(199)
        );
        assert_eq!(title_from("faq.csv"), "faq.csv");
    }
}
