//! Contacts: the people behind chat sessions, kept per account and shared by all its bots.
//! Create, read, update (PATCH: fields left out keep their value, `tags` and `attributes` are
//! replaced whole), delete (its sessions are unlinked, no message is deleted), list (newest
//! first, `q` and `tag`), and the link of a session to a contact. Email (compared in lower
//! case) and external id are unique per account: a duplicate is 409 naming the contact it
//! collides with. Every change emits `contact.updated` to the account's webhooks.

use super::{Call, cursor, limit, not_found, page_info};
use crate::error::Error;
use crate::store::contacts::{self as store, ContactRow, ContactWithSessions};
use crate::store::{self as stores, new_id, now, utc};
use botwire_api::types::{
    Contact, ContactCreate, ContactList, ContactListQuery, ContactUpdate, ContactUpdatedEventData,
    ContactUpdatedEventDataAction, ErrorCode, Metadata, Session, SessionContactLink,
};
use serde_json::json;
use uuid::Uuid;

fn tags_of(row: &ContactRow) -> Vec<String> {
    serde_json::from_str(&row.tags).unwrap_or_default()
}

fn attributes_of(row: &ContactRow) -> Metadata {
    Metadata(serde_json::from_str(&row.attributes).unwrap_or_default())
}

fn contact_view(row: &ContactWithSessions) -> Contact {
    let contact = &row.contact;
    Contact {
        attributes: attributes_of(contact),
        created_at: utc(contact.created_at),
        email: contact.email.clone(),
        external_id: contact.external_id.clone(),
        id: stores::uuid(&contact.id),
        name: contact.name.clone(),
        phone: contact.phone.clone(),
        session_count: u64::try_from(row.session_count).unwrap_or(0),
        tags: tags_of(contact),
        updated_at: utc(contact.updated_at),
    }
}

/// Tags trimmed, duplicates dropped, in the order given.
fn normalized_tags(tags: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_string();
        if !tag.is_empty() && !kept.contains(&tag) {
            kept.push(tag);
        }
    }
    kept
}

fn search_of(name: Option<&str>, email: Option<&str>, phone: Option<&str>) -> String {
    [name, email, phone]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase()
}

/// The `contact.updated` payload.
fn event(row: &ContactRow, action: ContactUpdatedEventDataAction, changed: Vec<String>) -> String {
    let data = ContactUpdatedEventData {
        action,
        attributes: attributes_of(row),
        changed_fields: changed,
        contact_id: stores::uuid(&row.id),
        email: row.email.clone(),
        external_id: row.external_id.clone(),
        name: row.name.clone(),
        phone: row.phone.clone(),
        tags: tags_of(row),
    };
    json!({ "type": "contact.updated", "timestamp": chrono::Utc::now(), "data": data }).to_string()
}

fn missing() -> Error {
    not_found(ErrorCode::ContactNotFound, "contact")
}

/// 409 naming the contact a new email or external id collides with.
async fn refuse_duplicate(
    call: &Call<'_>,
    account_id: &str,
    row: &ContactRow,
) -> Result<(), Error> {
    let found = store::contact_find_duplicate(
        &call.app.db,
        account_id,
        row.email.as_deref(),
        row.external_id.as_deref(),
        Some(&row.id),
    )
    .await?;
    match found {
        None => Ok(()),
        Some(existing) => {
            let field = if existing.email.is_some() && existing.email == row.email {
                "email"
            } else {
                "external_id"
            };
            Err(Error::Conflict(format!(
                "the contact {} has this {field} already",
                existing.id
            )))
        }
    }
}

/// Maps a unique violation that a concurrent write caused after the check to the same 409.
async fn stored(
    call: &Call<'_>,
    account_id: &str,
    row: &ContactRow,
    result: Result<bool, crate::db::DbError>,
) -> Result<bool, Error> {
    match result {
        Err(error) if stores::is_unique_violation(&error) => {
            refuse_duplicate(call, account_id, row).await?;
            Err(Error::Conflict(
                "a contact has this email or external id already".into(),
            ))
        }
        other => Ok(other?),
    }
}

pub async fn contact_create(call: &Call<'_>, body: ContactCreate) -> Result<Contact, Error> {
    let account_id = call.account()?.to_string();
    let ContactCreate {
        attributes,
        email,
        external_id,
        name,
        phone,
        tags,
    } = body;
    let (name, phone) = (name.map(|n| n.to_string()), phone.map(|p| p.to_string()));
    let email = email.map(|e| e.trim().to_lowercase());
    let now = now();
    let row = ContactRow {
        id: new_id(),
        account_id: account_id.clone(),
        search: search_of(name.as_deref(), email.as_deref(), phone.as_deref()),
        name,
        email,
        phone,
        external_id: external_id.map(|e| e.to_string()),
        tags: serde_json::to_string(&normalized_tags(tags.into_iter().map(|t| t.to_string())))
            .unwrap_or_else(|_| "[]".into()),
        attributes: serde_json::to_string(&attributes.map(|a| a.0).unwrap_or_default())
            .unwrap_or_else(|_| "{}".into()),
        created_at: now,
        updated_at: now,
    };
    refuse_duplicate(call, &account_id, &row).await?;
    let payload = event(&row, ContactUpdatedEventDataAction::Created, Vec::new());
    let result = store::contact_create(&call.app.db, &row, &payload)
        .await
        .map(|()| true);
    stored(call, &account_id, &row, result).await?;
    Ok(contact_view(&ContactWithSessions {
        contact: row,
        session_count: 0,
    }))
}

pub async fn contact_get(call: &Call<'_>, contact_id: Uuid) -> Result<Contact, Error> {
    let account_id = call.account()?.to_string();
    let row = store::contact_get(&call.app.db, &account_id, &contact_id.to_string())
        .await?
        .ok_or_else(missing)?;
    Ok(contact_view(&row))
}

pub async fn contact_list(call: &Call<'_>, query: ContactListQuery) -> Result<ContactList, Error> {
    let account_id = call.account()?.to_string();
    let before = cursor(query.cursor.as_deref().map(String::as_str))?;
    let q = query.q.as_ref().map(|q| q.trim().to_string());
    let tag = query.tag.as_ref().map(|t| t.trim().to_string());
    let page = store::contact_list(
        &call.app.db,
        &account_id,
        q.as_deref().filter(|q| !q.is_empty()),
        tag.as_deref().filter(|t| !t.is_empty()),
        before.as_deref(),
        limit(query.limit),
    )
    .await?;
    let last = page.items.last().map(|row| row.contact.id.clone());
    Ok(ContactList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(contact_view).collect(),
    })
}

pub async fn contact_update(
    call: &Call<'_>,
    contact_id: Uuid,
    (body, json): (ContactUpdate, serde_json::Value),
) -> Result<Contact, Error> {
    let account_id = call.account()?.to_string();
    let db = &call.app.db;
    let found = store::contact_get(db, &account_id, &contact_id.to_string())
        .await?
        .ok_or_else(missing)?;
    let mut row = found.contact.clone();
    let before = row.clone();
    let ContactUpdate {
        attributes,
        email,
        external_id,
        name,
        phone,
        tags,
    } = body;
    if let Some(name) = name {
        row.name = Some(name.to_string());
    }
    if let Some(email) = email {
        row.email = Some(email.trim().to_lowercase());
    }
    if let Some(phone) = phone {
        row.phone = Some(phone.to_string());
    }
    if let Some(external_id) = external_id {
        row.external_id = Some(external_id.to_string());
    }
    if botwire_api::given(&json, "/tags") {
        row.tags = serde_json::to_string(&normalized_tags(tags.into_iter().map(|t| t.to_string())))
            .unwrap_or_else(|_| "[]".into());
    }
    if let Some(attributes) = attributes {
        row.attributes = serde_json::to_string(&attributes.0).unwrap_or_else(|_| "{}".into());
    }
    row.search = search_of(
        row.name.as_deref(),
        row.email.as_deref(),
        row.phone.as_deref(),
    );
    let changed: Vec<String> = [
        ("name", before.name != row.name),
        ("email", before.email != row.email),
        ("phone", before.phone != row.phone),
        ("external_id", before.external_id != row.external_id),
        ("tags", before.tags != row.tags),
        ("attributes", before.attributes != row.attributes),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(field, _)| field.to_string())
    .collect();
    if changed.is_empty() {
        return Ok(contact_view(&found));
    }
    refuse_duplicate(call, &account_id, &row).await?;
    row.updated_at = now();
    let payload = event(&row, ContactUpdatedEventDataAction::Updated, changed);
    let result = store::contact_update(db, &row, &payload).await;
    if !stored(call, &account_id, &row, result).await? {
        return Err(missing());
    }
    Ok(contact_view(&ContactWithSessions {
        contact: row,
        session_count: found.session_count,
    }))
}

pub async fn contact_delete(call: &Call<'_>, contact_id: Uuid) -> Result<(), Error> {
    let account_id = call.account()?.to_string();
    let db = &call.app.db;
    let found = store::contact_get(db, &account_id, &contact_id.to_string())
        .await?
        .ok_or_else(missing)?;
    let payload = event(
        &found.contact,
        ContactUpdatedEventDataAction::Deleted,
        Vec::new(),
    );
    if store::contact_delete(db, &account_id, &found.contact.id, &payload).await? {
        Ok(())
    } else {
        Err(missing())
    }
}

pub async fn session_contact_link(
    call: &Call<'_>,
    bot_id: Uuid,
    session_id: &str,
    body: SessionContactLink,
) -> Result<Session, Error> {
    let bot = super::bots::granted_bot(call, bot_id).await?;
    let db = &call.app.db;
    let contact = match body.contact_id {
        Some(id) => Some(
            store::contact_get(db, &bot.account_id, &id.to_string())
                .await?
                .ok_or_else(missing)?
                .contact
                .id,
        ),
        None => None,
    };
    let conversation = store::session_contact_link(db, &bot.id, session_id, contact.as_deref())
        .await?
        .ok_or_else(|| not_found(ErrorCode::SessionNotFound, "session"))?;
    Ok(super::chat::session_view(&conversation))
}
