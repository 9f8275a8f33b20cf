//! Canned responses: saved replies of a bot, and the placeholders filled when one is sent.

use super::super::{Call, cursor, limit, not_found, page_info};
use crate::error::Error;
use crate::store::inbox::{self as store, CannedResponseRow};
use crate::store::{self as stores, new_id, now, utc};
use botwire_api::types::{
    CannedResponse, CannedResponseCreate, CannedResponseList, CannedResponseListQuery, ErrorCode,
};
use uuid::Uuid;

/// The placeholders a canned response may hold (the contract's `CannedResponseCreate`).
const PLACEHOLDERS: [&str; 6] = [
    "contact.name",
    "contact.email",
    "contact.phone",
    "session.id",
    "agent.name",
    "bot.name",
];

/// What the placeholders are filled with (empty when unknown).
pub(super) struct Values {
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub session_id: String,
    pub agent_name: Option<String>,
    pub bot_name: Option<String>,
}

/// The `{{ name }}` placeholders of a text, as (start, end, trimmed name); `{{` without a
/// closing `}}` is text.
fn placeholders(text: &str) -> Vec<(usize, usize, &str)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| i + from) {
        let Some(close) = text[open + 2..].find("}}").map(|i| i + open + 2) else {
            break;
        };
        found.push((open, close + 2, text[open + 2..close].trim()));
        from = close + 2;
    }
    found
}

/// The placeholders of `text` that are not known, each once.
fn unknown_placeholders(text: &str) -> Vec<String> {
    let mut unknown: Vec<String> = Vec::new();
    for (_, _, name) in placeholders(text) {
        if !PLACEHOLDERS.contains(&name) && !unknown.iter().any(|u| u == name) {
            unknown.push(name.to_string());
        }
    }
    unknown
}

/// `text` with its placeholders filled.
pub(super) fn fill(text: &str, values: &Values) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end, name) in placeholders(text) {
        out.push_str(&text[last..start]);
        let value = match name {
            "contact.name" => values.contact_name.as_deref(),
            "contact.email" => values.contact_email.as_deref(),
            "contact.phone" => values.contact_phone.as_deref(),
            "session.id" => Some(values.session_id.as_str()),
            "agent.name" => values.agent_name.as_deref(),
            "bot.name" => values.bot_name.as_deref(),
            // Refused when stored; kept as written should one be there.
            _ => Some(&text[start..end]),
        };
        out.push_str(value.unwrap_or_default());
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

fn canned_view(row: &CannedResponseRow) -> CannedResponse {
    CannedResponse {
        bot_id: stores::uuid(&row.bot_id),
        content: row.content.clone(),
        created_at: utc(row.created_at),
        id: stores::uuid(&row.id),
        shortcut: row.shortcut.clone(),
        title: row.title.clone(),
    }
}

pub async fn canned_response_create(
    call: &Call<'_>,
    bot_id: Uuid,
    body: CannedResponseCreate,
) -> Result<CannedResponse, Error> {
    let CannedResponseCreate {
        content,
        shortcut,
        title,
    } = body;
    let unknown = unknown_placeholders(&content);
    if !unknown.is_empty() {
        return Err(Error::Validation(vec![(
            "content".into(),
            format!(
                "unknown placeholder(s) {}; known: {}",
                unknown
                    .iter()
                    .map(|u| format!("{{{{{u}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                PLACEHOLDERS.map(|p| format!("{{{{{p}}}}}")).join(", ")
            ),
        )]));
    }
    let row = CannedResponseRow {
        id: new_id(),
        bot_id: bot_id.to_string(),
        shortcut: shortcut.to_string(),
        title: title.to_string(),
        content: content.to_string(),
        created_at: now(),
    };
    if !store::canned_response_create(&call.app.db, &row).await? {
        return Err(Error::Conflict(format!(
            "the bot already has a canned response /{}",
            row.shortcut
        )));
    }
    Ok(canned_view(&row))
}

pub async fn canned_response_list(
    call: &Call<'_>,
    bot_id: Uuid,
    query: CannedResponseListQuery,
) -> Result<CannedResponseList, Error> {
    let CannedResponseListQuery {
        cursor: raw_cursor,
        limit: raw_limit,
    } = query;
    // By shortcut; the cursor is the last one's id, whose shortcut the next page follows.
    let bot_id = bot_id.to_string();
    let after = match cursor(raw_cursor.as_deref().map(String::as_str))? {
        None => None,
        Some(id) => Some(
            store::canned_response_get(&call.app.db, &bot_id, &id)
                .await?
                .map(|c| c.shortcut)
                .ok_or_else(|| {
                    Error::Validation(vec![(
                        "cursor".into(),
                        "not a cursor of this list (was its canned response deleted?)".into(),
                    )])
                })?,
        ),
    };
    let page =
        store::canned_response_list(&call.app.db, &bot_id, after.as_deref(), limit(raw_limit))
            .await?;
    let last = page.items.last().map(|c| c.id.clone());
    Ok(CannedResponseList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(canned_view).collect(),
    })
}

pub async fn canned_response_delete(call: &Call<'_>, id: Uuid) -> Result<(), Error> {
    let crate::auth::access::Grant::Bot { bot_id, .. } = call.grant else {
        return Err(Error::Internal("a canned response without its bot".into()));
    };
    if store::canned_response_delete(&call.app.db, &bot_id.to_string(), &id.to_string()).await? {
        Ok(())
    } else {
        Err(not_found(
            ErrorCode::CannedResponseNotFound,
            "canned response",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_found() {
        let values = Values {
            contact_name: Some("Léa".into()),
            contact_email: None,
            contact_phone: None,
            session_id: "s-1".into(),
            agent_name: Some("Tomas".into()),
            bot_name: None,
        };
        assert_eq!(
            fill(
                "Hi {{ contact.name }}, {{agent.name}} here ({{contact.email}}) {{ open",
                &values
            ),
            "Hi Léa, Tomas here () {{ open"
        );
        assert_eq!(
            unknown_placeholders("{{contact.name}} {{ order.id }} {{order.id}}"),
            vec!["order.id"]
        );
    }
}
