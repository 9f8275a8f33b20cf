//! The inbox: what human agents do in a bot's conversations (replies, assignment, status,
//! tags, notes, canned responses, saved views, summaries), the queue and its assignment rounds,
//! and the live streams of visitors and agents.
//!
//! Every change of a conversation goes through [`change`]: read, decide, write guarded by the
//! `updated_at` that was read (a concurrent change makes it read and decide again), with its
//! events, notifications and live events in the same transaction; then this process's streams
//! of the bot are woken (other replicas by `NOTIFY`, see `crate::live`).

mod canned;
pub mod streams;
mod summary;

pub use canned::{canned_response_create, canned_response_delete, canned_response_list};
pub use summary::conversation_summary_get;

use super::chat::{conversation_of_caller, conversation_view, event, message_view, status_of};
use super::{Call, cursor, limit, not_found, page_info};
use crate::app::App;
use crate::auth::Principal;
use crate::auth::access::{self, Grant};
use crate::db::Db;
use crate::error::Error;
use crate::live::LiveHub;
use crate::store::chat::{ConversationRow, MessageRow};
use crate::store::inbox::{
    self as store, ConversationWrite, HandoffWrite, InboxFilters, InboxViewRow, NoteRow, Told,
};
use crate::store::live::LiveEventInsert;
use crate::store::presence::PresenceScope;
use crate::store::{self as stores, new_id, now, utc};
use botwire_api::policy::Access;
use botwire_api::types::{
    Conversation, ConversationAssign, ConversationList, ConversationReply, ConversationStatus,
    ConversationStatusSet, ConversationTagsSet, ErrorCode, InboxAutoAssignResult,
    InboxAutoAssignment, InboxConversationListQuery, InboxMessage, InboxStats, InboxView,
    InboxViewCreate, InboxViewFilters, InboxViewFiltersInput, InboxViewList, InboxViewListQuery,
    Message, MessageRole, Note, NoteCreate, NoteList, NoteListQuery,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// Most tags a conversation keeps, and their longest (the contract's bounds, after trimming).
const TAG_MAX_LEN: usize = 50;

/// Who a live event is for.
#[derive(Debug, Clone, Copy)]
pub enum To {
    /// The session's stream.
    Visitor,
    /// Every inbox stream of the bot.
    Agents,
    Both,
}

/// A live event of `conversation` (its state after the change).
pub fn live_row(
    conversation: &ConversationRow,
    to: To,
    event: &str,
    data: &impl Serialize,
) -> LiveEventInsert {
    LiveEventInsert {
        bot_id: conversation.bot_id.clone(),
        conversation_id: conversation.id.clone(),
        visitor: matches!(to, To::Visitor | To::Both),
        agents: matches!(to, To::Agents | To::Both),
        user_id: None,
        event: event.to_string(),
        data: serde_json::to_string(data).unwrap_or_default(),
        created_at: now(),
    }
}

/// A live event for one user's inbox stream only.
fn live_for_user(
    conversation: &ConversationRow,
    user_id: &str,
    event: &str,
    data: &impl Serialize,
) -> LiveEventInsert {
    let mut row = live_row(conversation, To::Agents, event, data);
    row.agents = false;
    row.user_id = Some(user_id.to_string());
    row
}

/// A change [`change`] writes.
pub struct Change {
    pub after: ConversationRow,
    pub message: Option<MessageRow>,
    pub handoff: HandoffWrite,
    pub told: Told,
}

impl Change {
    /// A change of the conversation's fields alone: no message, no handoff.
    pub fn fields(after: ConversationRow, told: Told) -> Change {
        Change {
            after,
            message: None,
            handoff: HandoffWrite::None,
            told,
        }
    }
}

/// What [`change`] did.
pub struct Changed {
    /// The conversation now.
    pub row: ConversationRow,
    /// Whether a change was written (false: `decide` found nothing to change).
    pub changed: bool,
    pub message: Option<MessageRow>,
}

/// Reads the conversation the grant covers, lets `decide` turn it into a change (or none, or
/// an error), and writes it guarded by what was read; a concurrent change starts it over.
pub async fn change<F>(
    call: &Call<'_>,
    conversation_id: Uuid,
    mut decide: F,
) -> Result<Changed, Error>
where
    F: FnMut(&ConversationRow) -> Result<Option<Change>, Error>,
{
    for _ in 0..20 {
        let (before, account_id) = conversation_of_caller(call, conversation_id).await?;
        let Some(change) = decide(&before)? else {
            return Ok(Changed {
                row: before,
                changed: false,
                message: None,
            });
        };
        let written = store::conversation_write(
            &call.app.db,
            &ConversationWrite {
                account_id: &account_id,
                before: &before,
                after: &change.after,
                message: change.message.as_ref(),
                handoff: change.handoff,
                told: &change.told,
            },
        )
        .await?;
        if written {
            call.app.live.wake(&before.bot_id);
            return Ok(Changed {
                row: change.after,
                changed: true,
                message: change.message,
            });
        }
    }
    Err(Error::Unavailable(
        "the conversation kept changing; try again".into(),
    ))
}

/// A person who can see a bot.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub name: String,
    pub account_id: String,
}

/// The bot and account the grant covers.
fn granted(call: &Call<'_>) -> Result<(String, String), Error> {
    match &call.grant {
        Grant::Bot {
            bot_id, account_id, ..
        } => Ok((bot_id.to_string(), account_id.to_string())),
        _ => Err(Error::Internal("an inbox operation without its bot".into())),
    }
}

/// The people of the granted bot: its account's users and the members of the teams it
/// is shared with (who may be assigned and mentioned).
pub async fn people_of(call: &Call<'_>) -> Result<Vec<Person>, Error> {
    let (bot_id, account_id) = granted(call)?;
    bot_people(&call.app.db, &bot_id, &account_id).await
}

async fn bot_people(db: &Db, bot_id: &str, account_id: &str) -> Result<Vec<Person>, Error> {
    Ok(store::bot_people_list(db, bot_id, account_id)
        .await?
        .into_iter()
        .map(|(id, email, name, account_id)| Person {
            id,
            email,
            name,
            account_id,
        })
        .collect())
}

/// The signed-in agent (`None` with an API key).
fn agent_of(call: &Call<'_>) -> Option<String> {
    match call.principal {
        Principal::User { user_id, .. } => Some(user_id.to_string()),
        _ => None,
    }
}

fn is_done(status: &str) -> bool {
    status == ConversationStatus::Resolved.to_string()
        || status == ConversationStatus::Closed.to_string()
}

fn conversation_ended(
    before: &ConversationRow,
    after: &ConversationRow,
) -> crate::store::chat::NewEvent {
    event(
        "conversation.ended",
        json!({
            "bot_id": stores::uuid(&after.bot_id),
            "conversation": conversation_view(after),
            "previous_status": status_of(&before.status),
        }),
    )
}

fn assigned_event(
    before: &ConversationRow,
    after: &ConversationRow,
    method: &str,
    by: Option<&str>,
) -> crate::store::chat::NewEvent {
    event(
        "session.assigned",
        json!({
            "bot_id": stores::uuid(&after.bot_id),
            "conversation_id": stores::uuid(&after.id),
            "session_id": after.session_id,
            "assignee_id": after.assignee_id.as_deref().map(stores::uuid),
            "previous_assignee_id": before.assignee_id.as_deref().map(stores::uuid),
            "method": method,
            "assigned_by": by.map(stores::uuid),
        }),
    )
}

/// Fills a canned response's placeholders for this conversation.
async fn canned_text(
    call: &Call<'_>,
    conversation: &ConversationRow,
    canned_response_id: Uuid,
) -> Result<String, Error> {
    let (bot_id, account_id) = granted(call)?;
    let db = &call.app.db;
    let canned = store::canned_response_get(db, &bot_id, &canned_response_id.to_string())
        .await?
        .ok_or_else(|| not_found(ErrorCode::CannedResponseNotFound, "canned response"))?;
    let contact = match &conversation.contact_id {
        Some(id) => crate::store::contacts::contact_get(db, &account_id, id)
            .await?
            .map(|c| c.contact),
        None => None,
    };
    let agent = match agent_of(call) {
        Some(id) => crate::store::users::user_get(db, &id)
            .await?
            .map(|u| u.name),
        None => None,
    };
    let bot = crate::store::bots::bot_get(db, &account_id, &bot_id)
        .await?
        .map(|b| b.name);
    let values = canned::Values {
        contact_name: contact.as_ref().and_then(|c| c.name.clone()),
        contact_email: contact.as_ref().and_then(|c| c.email.clone()),
        contact_phone: contact.as_ref().and_then(|c| c.phone.clone()),
        session_id: conversation.session_id.clone(),
        agent_name: agent,
        bot_name: bot,
    };
    Ok(canned::fill(&canned.content, &values))
}

/// An agent's reply: stored as an `agent` message, told to the visitor's stream and the inbox
/// streams and as `message.sent`. It takes the conversation over (handed off, `open`), makes an
/// unassigned conversation the replying agent's, and records the first response to a handoff.
pub async fn conversation_reply(
    call: &Call<'_>,
    conversation_id: Uuid,
    body: ConversationReply,
) -> Result<Message, Error> {
    let ConversationReply {
        canned_response_id,
        content,
    } = body;
    let (conversation, _) = conversation_of_caller(call, conversation_id).await?;
    let content = match (content, canned_response_id) {
        (Some(content), None) => content.to_string(),
        (None, Some(id)) => canned_text(call, &conversation, id).await?,
        _ => {
            return Err(Error::Validation(vec![(
                "content".into(),
                "give exactly one of content and canned_response_id".into(),
            )]));
        }
    };
    let agent = agent_of(call);
    let replied = change(call, conversation_id, |before| {
        if before.status == ConversationStatus::Closed.to_string() {
            return Err(Error::Conflict(
                "a closed conversation takes no replies".into(),
            ));
        }
        let now = now()
            .max(before.last_message_at.unwrap_or_default() + chrono::Duration::microseconds(1));
        let message = MessageRow {
            id: new_id(),
            conversation_id: before.id.clone(),
            role: MessageRole::Agent.to_string(),
            content: content.clone(),
            language: None,
            sources: "[]".into(),
            suggested_actions: "[]".into(),
            engine: None,
            agent_id: agent.clone(),
            created_at: now,
            answered: None,
        };
        let mut after = before.clone();
        after.handed_off = true;
        after.status = ConversationStatus::Open.to_string();
        after.awaiting_agent_since = None;
        after.message_count += 1;
        after.last_message_at = Some(now);
        after.updated_at = now;
        let mut told = Told::default();
        if after.assignee_id.is_none()
            && let Some(agent) = &agent
        {
            after.assignee_id = Some(agent.clone());
            told.events
                .push(assigned_event(before, &after, "manual", Some(agent)));
        }
        let view = message_view(&message);
        told.events.push(event(
            "message.sent",
            json!({
                "bot_id": stores::uuid(&after.bot_id),
                "conversation_id": stores::uuid(&after.id),
                "session_id": after.session_id,
                "user_id": after.user_id,
                "message": view,
            }),
        ));
        told.live
            .push(live_row(&after, To::Visitor, "message", &view));
        told.live.push(live_row(
            &after,
            To::Agents,
            "message",
            &InboxMessage {
                conversation: conversation_view(&after),
                message: view.clone(),
            },
        ));
        if after.status != before.status
            || after.handed_off != before.handed_off
            || after.assignee_id != before.assignee_id
        {
            told.live.push(live_row(
                &after,
                To::Both,
                "conversation",
                &conversation_view(&after),
            ));
        }
        let handoff = if before.handed_off {
            HandoffWrite::Responded(now)
        } else {
            HandoffWrite::None
        };
        Ok(Some(Change {
            after,
            message: Some(message),
            handoff,
            told,
        }))
    })
    .await?;
    let message = replied
        .message
        .ok_or_else(|| Error::Internal("a reply without its message".into()))?;
    Ok(message_view(&message))
}

pub async fn conversation_assign(
    call: &Call<'_>,
    conversation_id: Uuid,
    body: ConversationAssign,
) -> Result<Conversation, Error> {
    let ConversationAssign { assignee_id } = body;
    let assignee = assignee_id.map(|id| id.to_string());
    if let Some(assignee) = &assignee {
        let people = people_of(call).await?;
        if !people.iter().any(|p| &p.id == assignee) {
            return Err(Error::Validation(vec![(
                "assignee_id".into(),
                "not a user who can see this conversation's bot".into(),
            )]));
        }
    }
    let by = agent_of(call);
    let by_name = match &by {
        Some(id) => crate::store::users::user_get(&call.app.db, id)
            .await?
            .map_or_else(|| "Someone".to_string(), |u| u.name),
        None => "The account".to_string(),
    };
    let assigned = change(call, conversation_id, |before| {
        if before.assignee_id == assignee {
            return Ok(None);
        }
        let now = now();
        let mut after = before.clone();
        after.assignee_id = assignee.clone();
        after.awaiting_agent_since = assignee.as_ref().map(|_| now);
        after.updated_at = now;
        let mut told = Told::default();
        told.live.push(live_row(
            &after,
            To::Both,
            "conversation",
            &conversation_view(&after),
        ));
        if let Some(assignee) = &assignee {
            told.events
                .push(assigned_event(before, &after, "manual", by.as_deref()));
            told.live.push(live_for_user(
                &after,
                assignee,
                "assigned",
                &conversation_view(&after),
            ));
            if by.as_ref() != Some(assignee) {
                told.notices.push((
                    vec![assignee.clone()],
                    super::notifications::session_assigned(&after.bot_id, &after.id, &by_name),
                ));
            }
        }
        Ok(Some(Change::fields(after, told)))
    })
    .await?;
    if assigned.changed && assignee.is_none() {
        let (bot_id, account_id) = granted(call)?;
        let made = assign_if_automatic(call.app, &bot_id, &account_id).await?;
        // The round may have given it to someone already.
        if let Some(now) = made.iter().find(|row| row.id == assigned.row.id) {
            return Ok(conversation_view(now));
        }
    }
    Ok(conversation_view(&assigned.row))
}

pub async fn conversation_status_set(
    call: &Call<'_>,
    conversation_id: Uuid,
    body: ConversationStatusSet,
) -> Result<Conversation, Error> {
    let ConversationStatusSet { status } = body;
    let status = status.to_string();
    let set = change(call, conversation_id, |before| {
        if before.status == status {
            return Ok(None);
        }
        let mut after = before.clone();
        after.status = status.clone();
        after.updated_at = now();
        let mut told = Told::default();
        if is_done(&status) && !is_done(&before.status) {
            told.events.push(conversation_ended(before, &after));
        }
        told.live.push(live_row(
            &after,
            To::Both,
            "conversation",
            &conversation_view(&after),
        ));
        Ok(Some(Change::fields(after, told)))
    })
    .await?;
    if set.changed && is_done(&status) && set.row.assignee_id.is_some() {
        let (bot_id, account_id) = granted(call)?;
        assign_if_automatic(call.app, &bot_id, &account_id).await?;
    }
    Ok(conversation_view(&set.row))
}

/// Tags as stored: trimmed, lower-cased, each once, in the order given.
fn normalised_tags(tags: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    let mut blank = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() {
            blank.push((format!("tags[{i}]"), "a tag cannot be blank".to_string()));
        } else if tag.chars().count() <= TAG_MAX_LEN && !out.contains(&tag) {
            out.push(tag);
        }
    }
    if blank.is_empty() {
        Ok(out)
    } else {
        Err(Error::Validation(blank))
    }
}

fn normalised_tag(tag: &str) -> String {
    tag.trim().to_lowercase()
}

pub async fn conversation_tags_set(
    call: &Call<'_>,
    conversation_id: Uuid,
    body: ConversationTagsSet,
) -> Result<Conversation, Error> {
    let ConversationTagsSet { tags } = body;
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    let tags = serde_json::to_string(&normalised_tags(&tags)?)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let set = change(call, conversation_id, |before| {
        if before.tags == tags {
            return Ok(None);
        }
        let mut after = before.clone();
        after.tags = tags.clone();
        after.updated_at = now();
        let told = Told {
            live: vec![live_row(
                &after,
                To::Agents,
                "conversation",
                &conversation_view(&after),
            )],
            ..Default::default()
        };
        Ok(Some(Change::fields(after, told)))
    })
    .await?;
    Ok(conversation_view(&set.row))
}

/// The `@<email>` mentions of a note's text, lower-cased, each once.
fn mentioned_emails(content: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in content.match_indices('@') {
        // A mention starts a word: `a@b.c` inside a word is an address, not a mention.
        let starts_word = content[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "([{\"'".contains(c));
        if !starts_word {
            continue;
        }
        let rest = &content[i + 1..];
        let end = rest
            .find(|c: char| c.is_whitespace() || ",;:!?()[]{}<>\"'".contains(c))
            .unwrap_or(rest.len());
        let word = rest[..end].trim_end_matches('.').to_lowercase();
        if word.contains('@') && !found.contains(&word) {
            found.push(word);
        }
    }
    found
}

fn note_view(row: &NoteRow) -> Note {
    let mentions: Vec<String> = serde_json::from_str(&row.mentions).unwrap_or_default();
    Note {
        author_id: stores::uuid(&row.author_id),
        content: row.content.clone(),
        conversation_id: stores::uuid(&row.conversation_id),
        created_at: utc(row.created_at),
        id: stores::uuid(&row.id),
        mentions: mentions.iter().map(|m| stores::uuid(m)).collect(),
    }
}

/// An internal note: agents only, never in a visitor's history or stream. Its mentions of the
/// bot's people notify them, fire `mention` and reach their inbox streams.
pub async fn note_create(
    call: &Call<'_>,
    conversation_id: Uuid,
    body: NoteCreate,
) -> Result<Note, Error> {
    let NoteCreate { content } = body;
    let (conversation, account_id) = conversation_of_caller(call, conversation_id).await?;
    let people = people_of(call).await?;
    let author = match agent_of(call) {
        Some(id) => people.iter().find(|p| p.id == id).cloned(),
        // With an API key, the account's (first) user writes it.
        None => people.iter().find(|p| p.account_id == account_id).cloned(),
    }
    .ok_or_else(|| Error::Internal("a note without an author".into()))?;
    let mentioned: Vec<&Person> = mentioned_emails(&content)
        .iter()
        .filter_map(|email| people.iter().find(|p| p.email.to_lowercase() == *email))
        .collect();
    let row = NoteRow {
        id: new_id(),
        conversation_id: conversation.id.clone(),
        author_id: author.id.clone(),
        content: content.to_string(),
        mentions: serde_json::to_string(&mentioned.iter().map(|p| &p.id).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into()),
        created_at: now(),
    };
    let view = note_view(&row);
    let excerpt: String = row.content.chars().take(200).collect();
    let mut told = Told::default();
    for person in &mentioned {
        told.events.push(event(
            "mention",
            json!({
                "bot_id": stores::uuid(&conversation.bot_id),
                "conversation_id": view.conversation_id,
                "note_id": view.id,
                "author_id": view.author_id,
                "mentioned_user_id": stores::uuid(&person.id),
                "content": row.content,
            }),
        ));
        told.live
            .push(live_for_user(&conversation, &person.id, "mention", &view));
        if person.id != author.id {
            told.notices.push((
                vec![person.id.clone()],
                super::notifications::mention(&conversation.id, &row.id, &author.name, &excerpt),
            ));
        }
    }
    store::note_create(&call.app.db, &account_id, &conversation.bot_id, &row, &told).await?;
    if !told.live.is_empty() {
        call.app.live.wake(&conversation.bot_id);
    }
    Ok(view)
}

pub async fn note_list(
    call: &Call<'_>,
    conversation_id: Uuid,
    query: NoteListQuery,
) -> Result<NoteList, Error> {
    let NoteListQuery {
        cursor: raw_cursor,
        limit: raw_limit,
    } = query;
    let (conversation, _) = conversation_of_caller(call, conversation_id).await?;
    let after = cursor(raw_cursor.as_deref().map(String::as_str))?;
    let page = store::note_list(
        &call.app.db,
        &conversation.id,
        after.as_deref(),
        limit(raw_limit),
    )
    .await?;
    let last = page.items.last().map(|n| n.id.clone());
    Ok(NoteList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(note_view).collect(),
    })
}

fn view_filters(filters: &InboxFilters) -> InboxViewFilters {
    InboxViewFilters {
        assignee_id: filters.assignee_id.as_deref().map(stores::uuid),
        handed_off: filters.handed_off,
        status: filters.status.as_deref().map(status_of),
        tag: filters.tag.clone(),
    }
}

fn stored_filters(json: &str) -> InboxFilters {
    let view: InboxViewFilters = serde_json::from_str(json).unwrap_or(InboxViewFilters {
        assignee_id: None,
        handed_off: None,
        status: None,
        tag: None,
    });
    InboxFilters {
        status: view.status.map(|s| s.to_string()),
        assignee_id: view.assignee_id.map(|a| a.to_string()),
        tag: view.tag,
        handed_off: view.handed_off,
        ..Default::default()
    }
}

pub async fn inbox_conversation_list(
    call: &Call<'_>,
    bot_id: Uuid,
    query: InboxConversationListQuery,
) -> Result<ConversationList, Error> {
    let InboxConversationListQuery {
        assignee_id,
        cursor: raw_cursor,
        handed_off,
        limit: raw_limit,
        status,
        tag,
        view_id,
    } = query;
    let mut filters = match view_id {
        None => InboxFilters::default(),
        Some(view_id) => {
            // Views are a user's own; a key has none.
            let missing = || not_found(ErrorCode::ViewNotFound, "inbox view");
            let Principal::User { user_id, .. } = call.principal else {
                return Err(missing());
            };
            let view =
                store::inbox_view_get(&call.app.db, &user_id.to_string(), &view_id.to_string())
                    .await?
                    .ok_or_else(missing)?;
            if view
                .bot_id
                .as_ref()
                .is_some_and(|b| *b != bot_id.to_string())
            {
                return Err(Error::Validation(vec![(
                    "view_id".into(),
                    "this view is bound to another bot".into(),
                )]));
            }
            stored_filters(&view.filters)
        }
    };
    if let Some(status) = status {
        filters.status = Some(status.to_string());
    }
    if let Some(assignee) = assignee_id {
        filters.assignee_id = Some(assignee.to_string());
    }
    if let Some(tag) = tag {
        filters.tag = Some(normalised_tag(&tag));
    }
    if let Some(handed_off) = handed_off {
        filters.handed_off = Some(handed_off);
    }
    let after = super::time_cursor(raw_cursor.as_deref().map(String::as_str))?;
    let page = store::inbox_list(
        &call.app.db,
        &bot_id.to_string(),
        &filters,
        after,
        limit(raw_limit),
    )
    .await?;
    let last = page
        .items
        .last()
        .map(|row| super::time_cursor_of(row.last_message_at.unwrap_or(row.created_at), &row.id));
    Ok(ConversationList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(conversation_view).collect(),
    })
}

pub async fn inbox_stats_get(call: &Call<'_>, bot_id: Uuid) -> Result<InboxStats, Error> {
    let since = now() - chrono::Duration::days(30);
    let counts = store::inbox_stats_get(&call.app.db, &bot_id.to_string(), since).await?;
    let of = |status: ConversationStatus| {
        let status = status.to_string();
        counts
            .by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
    };
    let responses = &counts.first_responses;
    let average = if responses.is_empty() {
        None
    } else {
        Some(responses.iter().sum::<f64>() / responses.len() as f64)
    };
    Ok(InboxStats {
        average_first_response_seconds: average,
        closed: of(ConversationStatus::Closed),
        handed_off: u64::try_from(counts.handed_off).unwrap_or(0),
        open: of(ConversationStatus::Open),
        pending: of(ConversationStatus::Pending),
        resolved: of(ConversationStatus::Resolved),
        unassigned: u64::try_from(counts.unassigned).unwrap_or(0),
    })
}

/// The agents available for a bot now: its people with status `online` and a heartbeat in
/// the last 60 s.
async fn available_agents(db: &Db, bot_id: &str, account_id: &str) -> Result<Vec<String>, Error> {
    let scope = PresenceScope::BotPool {
        bot_id: bot_id.to_string(),
        account_id: account_id.to_string(),
    };
    let since = now() - super::presence::ONLINE_TTL;
    let page = crate::store::presence::presence_list(db, &scope, Some(since), None, 10_000).await?;
    Ok(page.items.into_iter().map(|p| p.user_id).collect())
}

/// One assignment round of the bot's queue (see `store::inbox::queue_assign_round`), with its
/// notifications, `session.assigned` events and live events; the assignments made.
pub async fn assign_round(
    db: &Db,
    live: &LiveHub,
    bot_id: &str,
    account_id: &str,
    capacity: Option<i64>,
) -> Result<Vec<ConversationRow>, Error> {
    let agents = available_agents(db, bot_id, account_id).await?;
    let told = |before: &ConversationRow, after: &ConversationRow| {
        let assignee = after.assignee_id.clone().unwrap_or_default();
        Told {
            events: vec![assigned_event(before, after, "auto", None)],
            notices: vec![(
                vec![assignee.clone()],
                super::notifications::session_assigned(&after.bot_id, &after.id, "Auto-assignment"),
            )],
            live: vec![
                live_row(after, To::Both, "conversation", &conversation_view(after)),
                live_for_user(after, &assignee, "assigned", &conversation_view(after)),
            ],
        }
    };
    let capacities = store::Capacities {
        per_bot: capacity,
        per_user: crate::store::teams::agent_limits(db, bot_id, &agents).await?,
    };
    let made =
        store::queue_assign_round(db, account_id, bot_id, &agents, &capacities, &told).await?;
    if !made.is_empty() {
        live.wake(bot_id);
    }
    Ok(made)
}

/// The bot's inbox settings: (auto-assign, capacity, reassign after).
fn inbox_settings(
    bot_id: &str,
    settings_json: &str,
) -> Result<(bool, Option<i64>, Option<i64>), Error> {
    let stored = super::bots::settings_of(bot_id, settings_json)?;
    let inbox = stored.settings.inbox;
    Ok((
        inbox.auto_assign,
        inbox
            .agent_capacity
            .and_then(|c| i64::try_from(c.get()).ok()),
        inbox.reassign_after_seconds,
    ))
}

/// Runs a round when the bot assigns automatically (after a handoff, or freed capacity); the
/// conversations it assigned.
pub async fn assign_if_automatic(
    app: &App,
    bot_id: &str,
    account_id: &str,
) -> Result<Vec<ConversationRow>, Error> {
    let Some(bot) = crate::store::bots::bot_get(&app.db, account_id, bot_id).await? else {
        return Ok(Vec::new());
    };
    let (automatic, capacity, _) = inbox_settings(&bot.id, &bot.settings)?;
    if !automatic {
        return Ok(Vec::new());
    }
    assign_round(&app.db, &app.live, bot_id, account_id, capacity).await
}

pub async fn inbox_auto_assign(
    call: &Call<'_>,
    bot_id: Uuid,
) -> Result<InboxAutoAssignResult, Error> {
    let (bot_id, account_id) = (bot_id.to_string(), call.account()?.to_string());
    let bot = crate::store::bots::bot_get(&call.app.db, &account_id, &bot_id)
        .await?
        .ok_or_else(|| not_found(ErrorCode::BotNotFound, "bot"))?;
    let (_, capacity, _) = inbox_settings(&bot.id, &bot.settings)?;
    let made = assign_round(&call.app.db, &call.app.live, &bot_id, &account_id, capacity).await?;
    Ok(InboxAutoAssignResult {
        assigned: made
            .iter()
            .map(|row| InboxAutoAssignment {
                assignee_id: stores::uuid(row.assignee_id.as_deref().unwrap_or_default()),
                conversation_id: stores::uuid(&row.id),
            })
            .collect(),
    })
}

/// The inbox's housekeeping, run by every process's worker loop: conversations whose assignee
/// has not replied within the bot's `reassign_after_seconds` go back to the queue (a guarded
/// write: of replicas racing, one does it), bots that assign automatically get a round (an
/// agent may have come online), and live events older than 7 days are deleted.
pub async fn sweep(db: &Db, live: &LiveHub) -> Result<(), Error> {
    let now = now();
    // 30 s is the shortest setting: nothing assigned since can be due.
    let candidates =
        store::assignments_unanswered(db, now - chrono::Duration::seconds(30), 500).await?;
    let mut freed: Vec<(String, String)> = Vec::new();
    for (before, account_id, settings) in candidates {
        let (_, _, after_seconds) = inbox_settings(&before.bot_id, &settings)?;
        let Some(after_seconds) = after_seconds else {
            continue;
        };
        let due = before
            .awaiting_agent_since
            .is_some_and(|at| at + chrono::Duration::seconds(after_seconds) <= now);
        if !due {
            continue;
        }
        let mut after = before.clone();
        after.assignee_id = None;
        after.awaiting_agent_since = None;
        after.updated_at = now;
        let told = Told {
            live: vec![live_row(
                &after,
                To::Both,
                "conversation",
                &conversation_view(&after),
            )],
            ..Default::default()
        };
        let written = store::conversation_write(
            db,
            &ConversationWrite {
                account_id: &account_id,
                before: &before,
                after: &after,
                message: None,
                handoff: HandoffWrite::None,
                told: &told,
            },
        )
        .await?;
        if written {
            live.wake(&before.bot_id);
            if !freed.iter().any(|(b, _)| *b == before.bot_id) {
                freed.push((before.bot_id.clone(), account_id.clone()));
            }
        }
    }
    for (bot_id, account_id, settings) in store::bots_with_queue(db, 1000).await? {
        let (automatic, capacity, _) = inbox_settings(&bot_id, &settings)?;
        if automatic {
            assign_round(db, live, &bot_id, &account_id, capacity).await?;
        }
    }
    crate::store::live::live_prune(db, now - chrono::Duration::days(7)).await?;
    Ok(())
}

fn inbox_view_view(row: &InboxViewRow) -> InboxView {
    InboxView {
        bot_id: row.bot_id.as_deref().map(stores::uuid),
        created_at: utc(row.created_at),
        filters: view_filters(&stored_filters(&row.filters)),
        id: stores::uuid(&row.id),
        name: row.name.clone(),
    }
}

pub async fn inbox_view_create(call: &Call<'_>, body: InboxViewCreate) -> Result<InboxView, Error> {
    let InboxViewCreate {
        bot_id,
        filters,
        name,
    } = body;
    let (user_id, _) = call.user()?;
    if let Some(bot_id) = bot_id {
        // A bot the user can see, as its account or through a team.
        access::authorize_bot(
            call.app,
            &call.principal,
            Access::BotTeamAgent,
            bot_id,
            true,
        )
        .await?;
    }
    let InboxViewFiltersInput {
        assignee_id,
        handed_off,
        status,
        tag,
    } = filters;
    let filters = InboxFilters {
        status: status.map(|s| s.to_string()),
        assignee_id: assignee_id.map(|a| a.to_string()),
        tag: tag.map(|t| normalised_tag(&t)),
        handed_off,
        ..Default::default()
    };
    if filters.tag.as_deref() == Some("") {
        return Err(Error::Validation(vec![(
            "filters.tag".into(),
            "a tag cannot be blank".into(),
        )]));
    }
    let row = InboxViewRow {
        id: new_id(),
        user_id: user_id.to_string(),
        name: name.to_string(),
        bot_id: bot_id.map(|b| b.to_string()),
        filters: serde_json::to_string(&view_filters(&filters))
            .map_err(|e| Error::Internal(e.to_string()))?,
        created_at: now(),
    };
    if !store::inbox_view_create(&call.app.db, &row).await? {
        return Err(Error::Conflict(format!(
            "you already have a view named {:?}",
            row.name
        )));
    }
    Ok(inbox_view_view(&row))
}

pub async fn inbox_view_list(
    call: &Call<'_>,
    query: InboxViewListQuery,
) -> Result<InboxViewList, Error> {
    let InboxViewListQuery {
        cursor: raw_cursor,
        limit: raw_limit,
    } = query;
    let (user_id, _) = call.user()?;
    let before = cursor(raw_cursor.as_deref().map(String::as_str))?;
    let page = store::inbox_view_list(
        &call.app.db,
        &user_id.to_string(),
        before.as_deref(),
        limit(raw_limit),
    )
    .await?;
    let last = page.items.last().map(|v| v.id.clone());
    Ok(InboxViewList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(inbox_view_view).collect(),
    })
}

pub async fn inbox_view_delete(call: &Call<'_>, view_id: Uuid) -> Result<(), Error> {
    let (user_id, _) = call.user()?;
    if store::inbox_view_delete(&call.app.db, &user_id.to_string(), &view_id.to_string()).await? {
        Ok(())
    } else {
        Err(not_found(ErrorCode::ViewNotFound, "inbox view"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_words_starting_with_an_at() {
        assert_eq!(
            mentioned_emails("@Tomas@Acme.example can you check? cc (@lea@x.io), mail a@b.c."),
            vec!["tomas@acme.example", "lea@x.io"]
        );
        assert!(mentioned_emails("@tomas please").is_empty());
    }

    #[test]
    fn tags_are_trimmed_lowered_and_kept_once() {
        let tags = ["Billing", " billing", "VIP "].map(String::from);
        assert_eq!(normalised_tags(&tags).unwrap(), vec!["billing", "vip"]);
        assert!(normalised_tags(&["  ".to_string()]).is_err());
    }
}
