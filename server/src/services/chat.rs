//! Chat: send (and stream), sessions, history, conversations, escalation to a human and back,
//! feedback, and retry-safe sends.
//!
//! The answer comes from the bot's knowledge index, built from the database and cached per
//! bot and knowledge revision, so every replica answers alike and a change to the knowledge
//! base is seen on the next message.

mod send;

pub(super) use send::llm_complete;
pub use send::{LiveEvent, StreamReply, chat_send, chat_stream, pieces};

use super::bots::granted_bot;
use super::{Call, cursor, limit, not_found, page_info};
use crate::auth::Principal;
use crate::auth::access::{self, BotRole, Grant};
use crate::error::Error;
use crate::store::chat::{self as store, ConversationRow, FeedbackRow, MessageRow, NewEvent};
use crate::store::{self as stores, new_id, now, utc};
use botwire_api::policy::Access;
use botwire_api::types::{
    Conversation, ConversationStatus, ConversationWithMessages, ErrorCode, Feedback,
    FeedbackCreate, FeedbackRating, Message, MessageList, MessageRole, Session,
    SessionHistoryQuery, SessionList, SessionListQuery,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub(super) fn status_of(status: &str) -> ConversationStatus {
    status.parse().unwrap_or(ConversationStatus::Open)
}

pub fn conversation_view(row: &ConversationRow) -> Conversation {
    Conversation {
        assignee_id: row.assignee_id.as_deref().map(stores::uuid),
        bot_id: stores::uuid(&row.bot_id),
        contact_id: row.contact_id.as_deref().map(stores::uuid),
        created_at: utc(row.created_at),
        handed_off: row.handed_off,
        id: stores::uuid(&row.id),
        last_message_at: row.last_message_at.map(utc),
        message_count: u64::try_from(row.message_count).unwrap_or(0),
        session_id: row.session_id.clone(),
        status: status_of(&row.status),
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
        updated_at: utc(row.updated_at),
    }
}

pub fn message_view(row: &MessageRow) -> Message {
    Message {
        agent_id: row.agent_id.as_deref().map(stores::uuid),
        content: row.content.clone(),
        conversation_id: stores::uuid(&row.conversation_id),
        created_at: utc(row.created_at),
        engine: row.engine.as_deref().and_then(|e| e.parse().ok()),
        id: stores::uuid(&row.id),
        language: row.language.clone(),
        role: row.role.parse().unwrap_or(MessageRole::System),
        sources: serde_json::from_str(&row.sources).unwrap_or_default(),
        suggested_actions: serde_json::from_str(&row.suggested_actions).unwrap_or_default(),
    }
}

pub(super) fn event(event_type: &'static str, data: serde_json::Value) -> NewEvent {
    let payload = json!({ "type": event_type, "timestamp": chrono::Utc::now(), "data": data });
    NewEvent {
        event_type,
        payload: payload.to_string(),
    }
}

/// The bot a chat request addresses: the body's `bot_id`, else the one bot the credential is
/// scoped to; and the caller's grant on it, decided by the access rule (`auth::access`) as
/// `http::serve` decides it for the bots a path names.
async fn addressed_bot(call: &Call<'_>, bot_id: Option<Uuid>) -> Result<Grant, Error> {
    let scoped = match &call.principal {
        Principal::Visitor { bot_id, .. } => Some(*bot_id),
        Principal::ApiKey { bot_id, .. } => *bot_id,
        _ => None,
    };
    let bot_id = bot_id.or(scoped).ok_or_else(|| {
        Error::Validation(vec![(
            "bot_id".into(),
            "required unless the credential is scoped to one bot".into(),
        )])
    })?;
    access::authorize_bot(call.app, &call.principal, Access::BotVisitor, bot_id, true).await
}

/// What a chat request addresses (see [`store::chat_target_get`], one read), and whether the
/// caller is the bot's visitor. Not found comes first, as for every bot.
async fn chat_target(
    call: &Call<'_>,
    bot_id: Option<Uuid>,
    session_id: Option<&str>,
) -> Result<(store::ChatTarget, bool), Error> {
    let Grant::Bot {
        bot_id,
        account_id,
        role,
    } = addressed_bot(call, bot_id).await?
    else {
        return Err(Error::Internal("a bot grant without a bot".into()));
    };
    let target = store::chat_target_get(
        &call.app.db,
        &account_id.to_string(),
        &bot_id.to_string(),
        session_id,
    )
    .await?
    .ok_or_else(|| not_found(ErrorCode::BotNotFound, "bot"))?;
    Ok((target, role == BotRole::Visitor))
}

/// A session a visitor may see: one a visitor started (its id is a capability, unguessable
/// when the server made it).
fn visible(by_visitor: bool, visitor: bool) -> bool {
    !visitor || by_visitor
}

fn request_hash(body: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

pub fn session_view(row: &ConversationRow) -> Session {
    Session {
        bot_id: stores::uuid(&row.bot_id),
        contact_id: row.contact_id.as_deref().map(stores::uuid),
        conversation_id: stores::uuid(&row.id),
        created_at: utc(row.created_at),
        last_message_at: utc(row.last_message_at.unwrap_or(row.created_at)),
        message_count: u64::try_from(row.message_count).unwrap_or(0),
        session_id: row.session_id.clone(),
        user_id: row.user_id.clone(),
    }
}

pub async fn session_list(
    call: &Call<'_>,
    bot_id: Uuid,
    query: SessionListQuery,
) -> Result<SessionList, Error> {
    let SessionListQuery {
        contact_id,
        cursor: raw_cursor,
        limit: raw_limit,
        status,
        user_id,
    } = query;
    let bot = granted_bot(call, bot_id).await?;
    let after = super::time_cursor(raw_cursor.as_deref().map(String::as_str))?;
    let status = status.map(|s| s.to_string());
    let page = store::sessions_list(
        &call.app.db,
        &bot.id,
        user_id.as_deref().map(|u| u.as_str()),
        status.as_deref(),
        contact_id.map(|id| id.to_string()).as_deref(),
        after.as_ref().map(|(at, id)| (*at, id.as_str())),
        limit(raw_limit),
    )
    .await?;
    let last = page.items.last().map(|row| {
        let at = row.last_message_at.unwrap_or(row.created_at);
        super::time_cursor_of(at, &row.id)
    });
    Ok(SessionList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(session_view).collect(),
    })
}

/// The conversation of a session the caller may see (visitors: only sessions visitors started).
pub(super) async fn session_conversation(
    call: &Call<'_>,
    bot_id: Uuid,
    session_id: &str,
) -> Result<ConversationRow, Error> {
    let (target, visitor) = chat_target(call, Some(bot_id), Some(session_id)).await?;
    target
        .conversation
        .filter(|c| visible(c.by_visitor, visitor))
        .ok_or_else(|| not_found(ErrorCode::SessionNotFound, "session"))
}

pub async fn session_history(
    call: &Call<'_>,
    bot_id: Uuid,
    session_id: &str,
    query: SessionHistoryQuery,
) -> Result<MessageList, Error> {
    let SessionHistoryQuery {
        cursor: raw_cursor,
        limit: raw_limit,
    } = query;
    let limit = limit(raw_limit);
    let after = match cursor(raw_cursor.as_deref().map(String::as_str)) {
        Ok(after) => after,
        Err(invalid) => {
            // A session that is not found is that first, whatever the cursor.
            session_conversation(call, bot_id, session_id).await?;
            return Err(invalid);
        }
    };
    // One read for the session and its page; when it finds nothing, the reads of every other
    // chat request say what was not found (or forbidden) and in which order.
    let (account_id, visitor) = (call.account()?, call.is_visitor());
    let found = store::session_messages_list(
        &call.app.db,
        &account_id.to_string(),
        &bot_id.to_string(),
        session_id,
        after.as_deref(),
        limit,
    )
    .await?;
    let page = match found {
        Some(found) => {
            if !visible(found.by_visitor, visitor) {
                return Err(not_found(ErrorCode::SessionNotFound, "session"));
            }
            found.page
        }
        None => {
            // Not found, an empty page, or a session created since that read.
            let conversation = session_conversation(call, bot_id, session_id).await?;
            store::messages_list(&call.app.db, &conversation, after.as_deref(), limit).await?
        }
    };
    let last = page.items.last().map(|row| row.id.clone());
    Ok(MessageList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(message_view).collect(),
    })
}

pub async fn session_delete(call: &Call<'_>, bot_id: Uuid, session_id: &str) -> Result<(), Error> {
    let bot = granted_bot(call, bot_id).await?;
    let ended = |row: &ConversationRow| {
        // The conversation as it ended: closed for good.
        let mut conversation = conversation_view(row);
        conversation.status = ConversationStatus::Closed;
        event(
            "conversation.ended",
            json!({
                "bot_id": conversation.bot_id,
                "conversation": conversation,
                "previous_status": status_of(&row.status),
            }),
        )
    };
    let db = &call.app.db;
    if store::session_delete(db, &bot.account_id, &bot.id, session_id, &ended).await? {
        Ok(())
    } else {
        Err(not_found(ErrorCode::SessionNotFound, "session"))
    }
}

/// The conversation the access rule granted (`auth::access`: for a visitor, one a visitor
/// started on their bot), read in the bot's account.
pub(super) async fn conversation_of_caller(
    call: &Call<'_>,
    conversation_id: Uuid,
) -> Result<(ConversationRow, String), Error> {
    let account_id = call.account()?.to_string();
    let conversation =
        store::conversation_get(&call.app.db, &account_id, &conversation_id.to_string())
            .await?
            .ok_or_else(|| not_found(ErrorCode::ConversationNotFound, "conversation"))?;
    Ok((conversation, account_id))
}

pub async fn conversation_get(
    call: &Call<'_>,
    conversation_id: Uuid,
) -> Result<ConversationWithMessages, Error> {
    let (conversation, _) = conversation_of_caller(call, conversation_id).await?;
    let page = store::messages_list(&call.app.db, &conversation, None, 10_000).await?;
    Ok(ConversationWithMessages {
        conversation: conversation_view(&conversation),
        messages: page.items.iter().map(message_view).collect(),
    })
}

/// Hands the conversation to a human: from now on user messages are stored and the bot stays
/// silent, until `handback`. The handoff joins the bot's queue, tells the bot's people, the
/// inbox streams and the visitor's stream, and with `settings.inbox.auto_assign` runs an
/// assignment round.
pub async fn conversation_escalate(
    call: &Call<'_>,
    conversation_id: Uuid,
    reason: Option<String>,
) -> Result<Conversation, Error> {
    let requested_by = if matches!(call.principal, Principal::Visitor { .. }) {
        "visitor"
    } else {
        "owner"
    };
    let (_, account_id) = conversation_of_caller(call, conversation_id).await?;
    let people = super::inbox::people_of(call).await?;
    let recipients: Vec<String> = people.iter().map(|p| p.id.clone()).collect();
    let escalated = super::inbox::change(call, conversation_id, |before| {
        if before.status == ConversationStatus::Closed.to_string() {
            return Err(Error::Conflict(
                "a closed conversation cannot be escalated".into(),
            ));
        }
        if before.handed_off {
            return Ok(None);
        }
        let now = now();
        let note = MessageRow {
            id: new_id(),
            conversation_id: before.id.clone(),
            role: MessageRole::System.to_string(),
            content: match &reason {
                Some(reason) => format!("Handed to a human: {reason}"),
                None => "Handed to a human.".into(),
            },
            language: None,
            sources: "[]".into(),
            suggested_actions: "[]".into(),
            engine: None,
            agent_id: None,
            created_at: now,
            answered: None,
        };
        let mut after = before.clone();
        after.handed_off = true;
        after.status = ConversationStatus::Pending.to_string();
        after.queued_at = Some(now);
        after.updated_at = now;
        after.message_count += 1;
        after.last_message_at = Some(now);
        let handoff = event(
            "handoff.requested",
            json!({
                "bot_id": stores::uuid(&before.bot_id),
                "conversation": conversation_view(&after),
                "conversation_id": stores::uuid(&before.id),
                "reason": reason,
                "requested_by": requested_by,
                "session_id": before.session_id,
            }),
        );
        let notice =
            super::notifications::handoff_requested(&before.bot_id, &before.id, reason.as_deref());
        let live = vec![
            super::inbox::live_row(
                &after,
                super::inbox::To::Visitor,
                "message",
                &message_view(&note),
            ),
            super::inbox::live_row(
                &after,
                super::inbox::To::Visitor,
                "conversation",
                &conversation_view(&after),
            ),
            super::inbox::live_row(
                &after,
                super::inbox::To::Agents,
                "handoff",
                &conversation_view(&after),
            ),
        ];
        Ok(Some(super::inbox::Change {
            after,
            message: Some(note),
            handoff: stores::inbox::HandoffWrite::Requested(now),
            told: stores::inbox::Told {
                events: vec![handoff],
                notices: vec![(recipients.clone(), notice)],
                live,
            },
        }))
    })
    .await?;
    if escalated.changed {
        let made =
            super::inbox::assign_if_automatic(call.app, &escalated.row.bot_id, &account_id).await?;
        // Assigned at once when an agent had room: the answer says to whom.
        if let Some(now) = made.iter().find(|row| row.id == escalated.row.id) {
            return Ok(conversation_view(now));
        }
    }
    Ok(conversation_view(&escalated.row))
}

/// Gives the conversation back to the bot (it leaves the queue).
pub async fn conversation_handback(
    call: &Call<'_>,
    conversation_id: Uuid,
) -> Result<Conversation, Error> {
    let handed_back = super::inbox::change(call, conversation_id, |before| {
        if before.status == ConversationStatus::Closed.to_string() {
            return Err(Error::Conflict(
                "a closed conversation cannot be handed back".into(),
            ));
        }
        if !before.handed_off {
            return Ok(None);
        }
        // The assignee and the status are kept (the contract); the next message reopens it.
        let mut after = before.clone();
        after.handed_off = false;
        after.queued_at = None;
        after.updated_at = now();
        let live = vec![super::inbox::live_row(
            &after,
            super::inbox::To::Both,
            "conversation",
            &conversation_view(&after),
        )];
        Ok(Some(super::inbox::Change {
            after,
            message: None,
            handoff: stores::inbox::HandoffWrite::None,
            told: stores::inbox::Told {
                live,
                ..Default::default()
            },
        }))
    })
    .await?;
    Ok(conversation_view(&handed_back.row))
}

pub async fn feedback_create(
    call: &Call<'_>,
    conversation_id: Uuid,
    body: FeedbackCreate,
) -> Result<Feedback, Error> {
    let FeedbackCreate {
        comment,
        csat,
        message_id,
        rating,
    } = body;
    let (conversation, account_id) = conversation_of_caller(call, conversation_id).await?;
    if let Some(message_id) = message_id {
        let role =
            store::message_role(&call.app.db, &conversation.id, &message_id.to_string()).await?;
        match role {
            None => {
                return Err(not_found(
                    ErrorCode::MessageNotFound,
                    "message in this conversation",
                ));
            }
            Some(role) if role != MessageRole::Assistant.to_string() => {
                return Err(Error::Validation(vec![(
                    "message_id".into(),
                    "only the bot's (assistant) messages can be rated".into(),
                )]));
            }
            Some(_) => {}
        }
    }
    let row = FeedbackRow {
        id: new_id(),
        conversation_id: conversation.id.clone(),
        message_id: message_id.map(|m| m.to_string()),
        rating: rating.map(|r| r.to_string()),
        csat: csat.and_then(|c| i64::try_from(c.get()).ok()),
        comment: comment.map(|c| c.to_string()),
        created_at: now(),
    };
    let view = Feedback {
        comment: row.comment.clone(),
        conversation_id,
        created_at: utc(row.created_at),
        csat,
        id: stores::uuid(&row.id),
        message_id,
        rating,
    };
    let received = event(
        "feedback.received",
        json!({
            "bot_id": stores::uuid(&conversation.bot_id),
            "comment": view.comment,
            "conversation_id": conversation_id,
            "created_at": view.created_at,
            "csat": csat,
            "feedback_id": view.id,
            "message_id": message_id,
            "rating": rating.map(|r: FeedbackRating| r.to_string()),
            "session_id": conversation.session_id,
        }),
    );
    store::feedback_create(
        &call.app.db,
        &account_id,
        &conversation.bot_id,
        &row,
        &received,
    )
    .await?;
    Ok(view)
}
