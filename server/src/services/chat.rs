//! Chat: send (and stream), sessions, history, conversations, escalation to a human and back,
//! feedback, and retry-safe sends.
//!
//! The answer comes from the bot's knowledge index, built from the database and cached per
//! bot and knowledge revision, so every replica answers alike and a change to the knowledge
//! base is seen on the next message.

use super::bots::bot_of_owner;
use super::{Call, cursor, limit, not_found, page_info};
use crate::auth::Principal;
use crate::engine::{EngineSettings, EntryContent, KnowledgeEntry, KnowledgeIndex};
use crate::error::Error;
use crate::store::bots::{self as bot_store, BotRow};
use crate::store::chat::{self as store, ConversationRow, FeedbackRow, MessageRow, NewEvent};
use crate::store::{self as stores, new_id, now, utc};
use botwire_api::types::{
    BotEngineKind, BotSettings, ChatReply, ChatSend, Conversation, ConversationStatus,
    ConversationWithMessages, ErrorCode, Feedback, FeedbackCreate, FeedbackRating, Message,
    MessageList, MessageRole, Session, SessionHistoryQuery, SessionList, SessionListQuery, Source,
    SuggestedAction, SuggestedActionType,
};
use http::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// How long a stored reply answers a retry with the same `Idempotency-Key` (documented in the
/// contract).
const IDEMPOTENCY_TTL: chrono::Duration = chrono::Duration::hours(24);

/// Built knowledge indexes, by bot, with the revision they were built from.
#[derive(Default)]
pub struct IndexCache {
    indexes: Mutex<HashMap<String, (i64, Arc<KnowledgeIndex>)>>,
}

impl IndexCache {
    /// The bot's index at its current revision, built (off the async threads) when missing
    /// or stale.
    async fn index_of(
        &self,
        db: &crate::db::Db,
        bot: &BotRow,
    ) -> Result<Arc<KnowledgeIndex>, Error> {
        if let Some((revision, index)) = self.lock().get(&bot.id)
            && *revision == bot.knowledge_revision
        {
            return Ok(index.clone());
        }
        let rows = crate::store::knowledge::entries_of_bot(db, &bot.id).await?;
        let entries: Vec<KnowledgeEntry> = rows
            .into_iter()
            .map(|(row, title)| KnowledgeEntry {
                id: row.id,
                document_id: stores::uuid(&row.document_id),
                title,
                content: match row.question {
                    Some(question) => EntryContent::Faq {
                        question,
                        answer: row.content,
                    },
                    None => EntryContent::Passage { text: row.content },
                },
            })
            .collect();
        let index = tokio::task::spawn_blocking(move || KnowledgeIndex::build(&entries))
            .await
            .map_err(|e| Error::Internal(format!("index task: {e}")))?
            .map_err(|e| Error::Internal(e.to_string()))?;
        let index = Arc::new(index);
        self.lock()
            .insert(bot.id.clone(), (bot.knowledge_revision, index.clone()));
        Ok(index)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Arc<KnowledgeIndex>)>> {
        self.indexes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn settings_of(bot: &BotRow) -> Result<BotSettings, Error> {
    #[derive(serde::Deserialize)]
    struct Stored {
        settings: BotSettings,
    }
    serde_json::from_str::<Stored>(&bot.settings)
        .map(|s| s.settings)
        .map_err(|e| Error::Internal(format!("bot {} has unreadable settings: {e}", bot.id)))
}

fn status_of(status: &str) -> ConversationStatus {
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

fn message_view(row: &MessageRow) -> Message {
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

fn event(event_type: &'static str, data: serde_json::Value) -> NewEvent {
    let payload = json!({ "type": event_type, "timestamp": chrono::Utc::now(), "data": data });
    NewEvent {
        event_type,
        payload: payload.to_string(),
    }
}

/// The bot a chat request addresses, and whether the caller is its visitor: the body's
/// `bot_id`, else the one bot the credential is scoped to.
async fn chat_bot(call: &Call<'_>, bot_id: Option<Uuid>) -> Result<(BotRow, bool), Error> {
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
    if let Principal::Visitor {
        bot_id: own,
        account_id,
    } = &call.principal
    {
        if *own != bot_id {
            return Err(Error::Forbidden(
                "this widget token belongs to another bot".into(),
            ));
        }
        let bot = bot_store::bot_get(&call.app.db, &account_id.to_string(), &bot_id.to_string())
            .await?
            .ok_or_else(|| not_found(ErrorCode::BotNotFound, "bot"))?;
        return Ok((bot, true));
    }
    Ok((bot_of_owner(call, bot_id).await?, false))
}

/// A session a visitor may see: one a visitor started (its id is a capability, unguessable
/// when the server made it).
fn visible(conversation: &ConversationRow, visitor: bool) -> bool {
    !visitor || conversation.by_visitor
}

fn request_hash(body: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

/// Sends a user's message and returns the bot's reply (stored, with its events, before it is
/// returned). `idempotency_key`: a retry with the same key and body gets the stored reply.
pub async fn send(
    call: &Call<'_>,
    body: ChatSend,
    json: &serde_json::Value,
    idempotency_key: Option<String>,
) -> Result<ChatReply, Error> {
    let ChatSend {
        bot_id,
        context: _,
        conversation_id,
        language,
        message,
        metadata: _,
        session_id,
        user_id,
    } = body;
    let (bot, visitor) = chat_bot(call, bot_id).await?;
    // Retries first: a replay must not count against the quota or store anything again.
    let idempotency = match idempotency_key {
        Some(key) => {
            let scope = call.principal.rate_limit_key(call.ip);
            let key = format!("{scope}:{key}");
            let hash = request_hash(json);
            let since = now() - IDEMPOTENCY_TTL;
            if let Some((stored_hash, response)) =
                store::idempotency_get(&call.app.db, &key, since).await?
            {
                if stored_hash != hash {
                    return Err(Error::Conflict(
                        "this Idempotency-Key was used with another request body".into(),
                    ));
                }
                return serde_json::from_str(&response)
                    .map_err(|e| Error::Internal(format!("a stored reply is unreadable: {e}")));
            }
            Some((key, hash))
        }
        None => None,
    };
    if bot.status == "inactive" {
        return Err(Error::Status(
            StatusCode::FORBIDDEN,
            ErrorCode::BotInactive,
            "this bot is inactive".into(),
        ));
    }
    let settings = settings_of(&bot)?;
    let length = message.chars().count();
    if u64::try_from(length).unwrap_or(u64::MAX) > settings.message_max_length.get() {
        return Err(Error::Validation(vec![(
            "message".into(),
            format!(
                "longer than this bot's limit of {} characters ({length})",
                settings.message_max_length
            ),
        )]));
    }
    let session_id = match session_id {
        Some(id) => id.to_string(),
        None if visitor => format!("vs_{}", Uuid::new_v4().simple()),
        None => {
            return Err(Error::Validation(vec![(
                "session_id".into(),
                "required".into(),
            )]));
        }
    };
    let existing = store::conversation_of_session(&call.app.db, &bot.id, &session_id).await?;
    if let Some(existing) = &existing {
        if !visible(existing, visitor) {
            return Err(not_found(ErrorCode::SessionNotFound, "session"));
        }
        if conversation_id.is_some_and(|id| id.to_string() != existing.id) {
            return Err(Error::Validation(vec![(
                "conversation_id".into(),
                "not this session's conversation".into(),
            )]));
        }
    } else if conversation_id.is_some() {
        return Err(not_found(ErrorCode::ConversationNotFound, "conversation"));
    }
    crate::quota::count_messages(
        &call.app.db,
        &bot.account_id,
        1,
        call.app.config.monthly_message_quota,
    )
    .await?;

    let now = now();
    let new = existing.is_none();
    let mut conversation = existing.unwrap_or_else(|| ConversationRow {
        id: new_id(),
        bot_id: bot.id.clone(),
        session_id: session_id.clone(),
        user_id: user_id.as_deref().map(|u| u.to_string()),
        contact_id: None,
        by_visitor: visitor,
        status: ConversationStatus::Open.to_string(),
        handed_off: false,
        assignee_id: None,
        tags: "[]".into(),
        message_count: 2,
        last_message_at: Some(now),
        created_at: now,
        updated_at: now,
    });
    // A message reopens a resolved or closed conversation.
    conversation.status = if conversation.handed_off {
        ConversationStatus::Pending
    } else {
        ConversationStatus::Open
    }
    .to_string();

    let index = call.app.chat_indexes.index_of(&call.app.db, &bot).await?;
    let engine_settings = EngineSettings {
        confidence_threshold: settings.engine.confidence_threshold,
        fallback_message: settings.fallback_message.clone(),
        default_language: settings.default_language.to_string(),
    };
    let answer = index.answer(
        &message,
        language.as_deref().map(|l| l.as_str()),
        &engine_settings,
    );
    let user_message = MessageRow {
        id: new_id(),
        conversation_id: conversation.id.clone(),
        role: MessageRole::User.to_string(),
        content: message.to_string(),
        language: Some(answer.language.clone()),
        sources: "[]".into(),
        suggested_actions: "[]".into(),
        engine: None,
        agent_id: None,
        created_at: now,
    };
    let reply = (!conversation.handed_off).then(|| {
        let sources: Vec<Source> = answer
            .sources
            .iter()
            .map(|s| Source {
                document_id: s.document_id,
                score: s.score,
                snippet: s.snippet.clone(),
                title: s.title.clone(),
            })
            .collect();
        let mut actions: Vec<SuggestedAction> = Vec::new();
        if answer.offers_handoff() {
            actions.extend(answer.suggested_questions.iter().map(|q| SuggestedAction {
                label: q.clone(),
                payload: q.clone(),
                type_: SuggestedActionType::Reply,
            }));
            actions.push(SuggestedAction {
                label: "Talk to a human".into(),
                payload: "handoff".into(),
                type_: SuggestedActionType::Handoff,
            });
        }
        MessageRow {
            id: new_id(),
            conversation_id: conversation.id.clone(),
            role: MessageRole::Assistant.to_string(),
            content: answer.reply.clone(),
            language: Some(answer.language.clone()),
            sources: serde_json::to_string(&sources).unwrap_or_else(|_| "[]".into()),
            suggested_actions: serde_json::to_string(&actions).unwrap_or_else(|_| "[]".into()),
            // The LLM engine is not built yet: every reply is the offline engine's.
            engine: Some(BotEngineKind::Offline.to_string()),
            agent_id: None,
            created_at: now + chrono::Duration::microseconds(1),
        }
    });
    let mut rows = vec![user_message.clone()];
    rows.extend(reply.clone());
    if new {
        conversation.message_count = i64::try_from(rows.len()).unwrap_or(0);
        conversation.last_message_at = rows.last().map(|m| m.created_at);
    }
    let bot_uuid = stores::uuid(&bot.id);
    let base = |message: &MessageRow| {
        json!({
            "bot_id": bot_uuid,
            "conversation_id": stores::uuid(&conversation.id),
            "session_id": conversation.session_id,
            "user_id": conversation.user_id,
            "message": message_view(message),
        })
    };
    let mut events = Vec::new();
    if new {
        events.push(event(
            "conversation.started",
            json!({ "bot_id": bot_uuid, "conversation": conversation_view(&conversation) }),
        ));
    }
    events.push(event("message.received", base(&user_message)));
    if let Some(reply) = &reply {
        events.push(event("message.sent", base(reply)));
    }
    store::exchange_record(
        &call.app.db,
        &bot.account_id,
        &conversation,
        new,
        &rows,
        &events,
    )
    .await?;

    let reply_view = reply.as_ref().map(message_view);
    let response = ChatReply {
        conversation_id: stores::uuid(&conversation.id),
        // When the reply was stored: the assistant message's time (the user message's when
        // there is no reply).
        created_at: reply_view.as_ref().map_or(utc(now), |m| m.created_at),
        engine: reply_view.as_ref().and(Some(BotEngineKind::Offline)),
        handed_off: conversation.handed_off,
        language: answer.language.clone(),
        message_id: reply_view.as_ref().map(|m| m.id),
        reply: reply_view.as_ref().map(|m| m.content.clone()),
        session_id: conversation.session_id.clone(),
        sources: reply_view
            .as_ref()
            .map(|m| m.sources.clone())
            .unwrap_or_default(),
        suggested_actions: reply_view
            .as_ref()
            .map(|m| m.suggested_actions.clone())
            .unwrap_or_default(),
        user_message_id: stores::uuid(&user_message.id),
    };
    if let Some((key, hash)) = idempotency {
        let stored =
            serde_json::to_string(&response).map_err(|e| Error::Internal(e.to_string()))?;
        store::idempotency_put(&call.app.db, &key, &hash, &stored).await?;
    }
    Ok(response)
}

/// A session list's cursor: `<latest message, microseconds>_<conversation id>` of the last
/// session of the previous page (sessions are ordered by their latest message).
fn session_cursor(raw: Option<&str>) -> Result<Option<(chrono::NaiveDateTime, String)>, Error> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    raw.split_once('_')
        .and_then(|(micros, id)| {
            let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            let id = Uuid::parse_str(id).ok()?;
            Some((at.naive_utc(), id.to_string()))
        })
        .map(Some)
        .ok_or_else(|| {
            Error::Validation(vec![(
                "cursor".into(),
                "not a cursor this server issued".into(),
            )])
        })
}

fn session_view(row: &ConversationRow) -> Session {
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

pub async fn sessions(
    call: &Call<'_>,
    bot_id: Uuid,
    query: SessionListQuery,
) -> Result<SessionList, Error> {
    let SessionListQuery {
        cursor: raw_cursor,
        limit: raw_limit,
        status,
        user_id,
    } = query;
    let bot = bot_of_owner(call, bot_id).await?;
    let after = session_cursor(raw_cursor.as_deref().map(String::as_str))?;
    let status = status.map(|s| s.to_string());
    let page = store::sessions_list(
        &call.app.db,
        &bot.id,
        user_id.as_deref().map(|u| u.as_str()),
        status.as_deref(),
        after.as_ref().map(|(at, id)| (*at, id.as_str())),
        limit(raw_limit),
    )
    .await?;
    let last = page.items.last().map(|row| {
        let at = row.last_message_at.unwrap_or(row.created_at);
        format!("{}_{}", at.and_utc().timestamp_micros(), row.id)
    });
    Ok(SessionList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(session_view).collect(),
    })
}

/// The conversation of a session the caller may see (visitors: only sessions visitors started).
async fn session_conversation(
    call: &Call<'_>,
    bot_id: Uuid,
    session_id: &str,
) -> Result<ConversationRow, Error> {
    let (bot, visitor) = chat_bot(call, Some(bot_id)).await?;
    store::conversation_of_session(&call.app.db, &bot.id, session_id)
        .await?
        .filter(|c| visible(c, visitor))
        .ok_or_else(|| not_found(ErrorCode::SessionNotFound, "session"))
}

pub async fn history(
    call: &Call<'_>,
    bot_id: Uuid,
    session_id: &str,
    query: SessionHistoryQuery,
) -> Result<MessageList, Error> {
    let SessionHistoryQuery {
        cursor: raw_cursor,
        limit: raw_limit,
    } = query;
    let conversation = session_conversation(call, bot_id, session_id).await?;
    let after = cursor(raw_cursor.as_deref().map(String::as_str))?;
    let page = store::messages_list(
        &call.app.db,
        &conversation.id,
        after.as_deref(),
        limit(raw_limit),
    )
    .await?;
    let last = page.items.last().map(|row| row.id.clone());
    Ok(MessageList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(message_view).collect(),
    })
}

pub async fn session_delete(call: &Call<'_>, bot_id: Uuid, session_id: &str) -> Result<(), Error> {
    let bot = bot_of_owner(call, bot_id).await?;
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

/// A conversation the caller may act on: the owner's (any of the account's bots, within an
/// API key's scope), or, for a visitor, one of a session a visitor started on their bot.
async fn conversation_of_caller(
    call: &Call<'_>,
    conversation_id: Uuid,
) -> Result<(ConversationRow, String), Error> {
    let account_id = call.account()?.to_string();
    let conversation =
        store::conversation_get(&call.app.db, &account_id, &conversation_id.to_string())
            .await?
            .ok_or_else(|| not_found(ErrorCode::ConversationNotFound, "conversation"))?;
    let bot_id = stores::uuid(&conversation.bot_id);
    match &call.principal {
        Principal::Visitor { bot_id: own, .. } if *own != bot_id || !conversation.by_visitor => {
            return Err(not_found(ErrorCode::ConversationNotFound, "conversation"));
        }
        Principal::Visitor { .. } => {}
        _ => {
            call.owner_of_bot(bot_id)?;
        }
    }
    Ok((conversation, account_id))
}

pub async fn conversation_get(
    call: &Call<'_>,
    conversation_id: Uuid,
) -> Result<ConversationWithMessages, Error> {
    let (conversation, _) = conversation_of_caller(call, conversation_id).await?;
    let page = store::messages_list(&call.app.db, &conversation.id, None, 10_000).await?;
    Ok(ConversationWithMessages {
        conversation: conversation_view(&conversation),
        messages: page.items.iter().map(message_view).collect(),
    })
}

/// Hands the conversation to a human: from now on user messages are stored and the bot stays
/// silent, until `handback`.
pub async fn escalate(
    call: &Call<'_>,
    conversation_id: Uuid,
    reason: Option<String>,
) -> Result<Conversation, Error> {
    let (conversation, account_id) = conversation_of_caller(call, conversation_id).await?;
    if conversation.status == ConversationStatus::Closed.to_string() {
        return Err(Error::Conflict(
            "a closed conversation cannot be escalated".into(),
        ));
    }
    if !conversation.handed_off {
        let requested_by = if matches!(call.principal, Principal::Visitor { .. }) {
            "visitor"
        } else {
            "owner"
        };
        let note = MessageRow {
            id: new_id(),
            conversation_id: conversation.id.clone(),
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
            created_at: now(),
        };
        let mut after = conversation.clone();
        after.handed_off = true;
        after.status = ConversationStatus::Pending.to_string();
        let handoff = event(
            "handoff.requested",
            json!({
                "bot_id": stores::uuid(&conversation.bot_id),
                "conversation": conversation_view(&after),
                "conversation_id": stores::uuid(&conversation.id),
                "reason": reason,
                "requested_by": requested_by,
                "session_id": conversation.session_id,
            }),
        );
        store::conversation_handoff_set(
            &call.app.db,
            &account_id,
            &conversation,
            true,
            &after.status,
            Some(&note),
            Some(&handoff),
        )
        .await?;
    }
    conversation_get(call, conversation_id)
        .await
        .map(|c| c.conversation)
}

/// Gives the conversation back to the bot.
pub async fn handback(call: &Call<'_>, conversation_id: Uuid) -> Result<Conversation, Error> {
    let (conversation, account_id) = conversation_of_caller(call, conversation_id).await?;
    if conversation.status == ConversationStatus::Closed.to_string() {
        return Err(Error::Conflict(
            "a closed conversation cannot be handed back".into(),
        ));
    }
    if conversation.handed_off {
        // The assignee and the status are kept (the contract); the next message reopens it.
        store::conversation_handoff_set(
            &call.app.db,
            &account_id,
            &conversation,
            false,
            &conversation.status,
            None,
            None,
        )
        .await?;
    }
    conversation_get(call, conversation_id)
        .await
        .map(|c| c.conversation)
}

pub async fn feedback(
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
