//! Sending a message: checked and made ready once ([`prepare`]), answered by the bot's engine
//! (offline, or an LLM with the offline engine as its fallback), then stored with its events in
//! one transaction before anything claims it exists ([`Exchange::finish`]).
//!
//! [`send`] answers whole. [`stream`] streams an LLM's reply as it is generated; the stream's
//! task ends the LLM request as soon as the client goes away, and then stores nothing.

use super::{chat_target, conversation_view, event, message_view, request_hash, visible};
use crate::config::LlmConfig;
use crate::db::Db;
use crate::engine::llm::{LlmError, LlmEvent, LlmRequest, PromptMessage};
use crate::engine::{Answer, AnswerSource, EngineSettings};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::services::bots::stored_settings;
use crate::services::{Call, not_found};
use crate::store::chat::{self as store, ConversationRow, MessageRow, Recorded};
use crate::store::{self as stores, new_id, now, utc};
use botwire_api::types::{
    BotEngineKind, ChatReply, ChatReplyFallbackReason, ChatSend, ConversationStatus, ErrorCode,
    MessageRole, Source, SuggestedAction, SuggestedActionType,
};
use futures::{Stream, StreamExt};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::mpsc;
use uuid::Uuid;

/// How long a stored reply answers a retry with the same `Idempotency-Key` (documented in the
/// contract).
const IDEMPOTENCY_TTL: chrono::Duration = chrono::Duration::hours(24);

/// Deletes the expired stored replies in the background when this process's turn is due.
fn prune_expired_replies(app: &crate::app::App) {
    if !app.idempotency_prune.due() {
        return;
    }
    let (db, log) = (app.db.clone(), app.log.clone());
    tokio::spawn(async move {
        match store::idempotency_prune(&db, now() - IDEMPOTENCY_TTL).await {
            Ok(0) => {}
            Ok(n) => slog::debug!(log, "expired idempotency keys deleted"; "count" => n),
            // Tried again at the next turn; until then expired replies are only kept longer.
            Err(e) => slog::warn!(log, "deleting expired idempotency keys"; "error" => %e),
        }
    });
}

/// Knowledge passages given to an LLM with the message.
const LLM_CONTEXT_PASSAGES: usize = 3;
/// Earlier messages of the conversation given to an LLM.
const LLM_HISTORY_MESSAGES: usize = 10;
/// The LLM's instructions when the bot sets none.
const DEFAULT_SYSTEM_PROMPT: &str = "You are the support assistant on this company's website. \
Answer the user's last message briefly and politely, using the context passages when they are \
relevant. If they do not hold the answer, say that you do not know and offer to connect the \
user with a human agent. Never invent facts, prices or policies.";

/// A checked message, ready for the bot's reply: everything the exchange stores but the reply.
pub struct Exchange {
    db: Db,
    queue: Arc<store::ExchangeQueue>,
    /// Woken when a message reaches a conversation humans have (the inbox streams).
    live: crate::live::LiveHub,
    account_id: String,
    conversation: ConversationRow,
    new: bool,
    user_message: MessageRow,
    /// The offline engine's answer: the reply of offline bots, and every LLM's fallback.
    answer: Answer,
    /// For a bot whose engine is an LLM: the request, and the passages it was given.
    llm: Option<(LlmRequest, Vec<AnswerSource>)>,
    /// For a bot whose engine is an LLM but that has no request (no URL or model): why the
    /// offline engine answers.
    llm_missing: Option<ChatReplyFallbackReason>,
    /// (key, request hash) when the request carries an `Idempotency-Key`.
    idempotency: Option<(String, String)>,
    /// The month to count the user's message in when the exchange is stored (no quota
    /// applies, so it was not counted before answering).
    uncounted_month: Option<String>,
    /// When the message reopens a conversation humans have: the handoff it starts.
    handoff_at: Option<chrono::NaiveDateTime>,
}

enum Prepared {
    /// A retry: the stored reply of the first request with this `Idempotency-Key`.
    Replay(ChatReply),
    Ready(Box<Exchange>),
}

/// The bot's reply, before it is stored.
struct Draft {
    text: String,
    engine: BotEngineKind,
    sources: Vec<Source>,
    actions: Vec<SuggestedAction>,
    /// Why an LLM bot's reply is the offline engine's.
    fallback_reason: Option<ChatReplyFallbackReason>,
}

/// Sends a user's message and returns the bot's reply (stored, with its events, before it is
/// returned). `idempotency_key`: a retry with the same key and body gets the stored reply.
pub async fn chat_send(
    call: &Call<'_>,
    body: ChatSend,
    json: &serde_json::Value,
    idempotency_key: Option<String>,
) -> Result<ChatReply, Error> {
    let exchange = match prepare(call, body, json, idempotency_key).await? {
        Prepared::Replay(reply) => return Ok(reply),
        Prepared::Ready(exchange) => exchange,
    };
    let draft = match &exchange.llm {
        _ if exchange.conversation.handed_off => None,
        None => Some(exchange.offline_draft()),
        Some((request, _)) => {
            let mut text = String::new();
            let llm = call.app.llm.stream(request);
            let outcome = match collect(llm, &call.app.metrics, &mut text, None).await {
                Collected::Complete => Ok(()),
                Collected::Failed(error) => Err(error),
                // Without a consumer to lose, a completion is never abandoned.
                Collected::Abandoned => Err(LlmError::Truncated),
            };
            Some(exchange.llm_or_fallback(outcome, &text, &call.app.log))
        }
    };
    exchange.finish(draft).await
}

/// What [`stream`] answers with.
pub enum StreamReply {
    /// The reply exists already (offline engine, a human has taken over, or a retry).
    Complete(Box<ChatReply>),
    /// An LLM's reply as it comes; the channel ends after `Done` or `Failed`.
    Live(mpsc::Receiver<LiveEvent>),
}

/// One event of a live chat stream.
pub enum LiveEvent {
    Delta(String),
    Sources(Vec<Source>),
    /// The stored reply.
    Done(Box<ChatReply>),
    /// Storing the reply failed.
    Failed(Error),
}

/// Like [`send`], but an LLM's reply comes as it is generated. Dropping the receiver of a
/// `Live` reply cancels the LLM request, and nothing of the exchange is stored.
pub async fn chat_stream(
    call: &Call<'_>,
    body: ChatSend,
    json: &serde_json::Value,
    idempotency_key: Option<String>,
) -> Result<StreamReply, Error> {
    let exchange = match prepare(call, body, json, idempotency_key).await? {
        Prepared::Replay(reply) => return Ok(StreamReply::Complete(Box::new(reply))),
        Prepared::Ready(exchange) => exchange,
    };
    if exchange.conversation.handed_off {
        // A human has taken over: no reply, the stream is `done` alone.
        return Ok(StreamReply::Complete(Box::new(
            exchange.finish(None).await?,
        )));
    }
    let Some((request, _)) = &exchange.llm else {
        return Ok(StreamReply::Live(offline_live(
            exchange,
            call.app.log.clone(),
        )));
    };
    let llm = call.app.llm.stream(request);
    let (metrics, log) = (call.app.metrics.clone(), call.app.log.clone());
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut text = String::new();
        let outcome = tokio::select! {
            // The client went away while the LLM was silent.
            () = tx.closed() => Collected::Abandoned,
            collected = collect(llm, &metrics, &mut text, Some(&tx)) => collected,
        };
        let outcome = match outcome {
            Collected::Complete => Ok(()),
            Collected::Failed(error) => Err(error),
            // Dropping the LLM stream (done by now) cancelled the request; nothing is stored.
            Collected::Abandoned => {
                metrics.record_llm("cancelled");
                return;
            }
        };
        let draft = exchange.llm_or_fallback(outcome, &text, &log);
        // A fallback before any delta streams as a reply that was never interrupted; after
        // some, `done` alone carries it (the contract: `done` replaces the deltas).
        if draft.engine == BotEngineKind::Offline && text.is_empty() {
            let _ = tx.send(LiveEvent::Delta(draft.text.clone())).await;
        }
        let _ = tx.send(LiveEvent::Sources(draft.sources.clone())).await;
        let last = match exchange.finish(Some(draft)).await {
            Ok(reply) => LiveEvent::Done(Box::new(reply)),
            Err(error) => {
                slog::error!(log, "storing a streamed reply failed"; "error" => %error);
                LiveEvent::Failed(error)
            }
        };
        let _ = tx.send(last).await;
    });
    Ok(StreamReply::Live(rx))
}

/// An offline reply as a live stream: its text goes out at once, in pieces of a few words,
/// while the exchange is stored; `done` follows the write (so it still carries the stored
/// reply). The client sees the first words before the write, and the write happens even if
/// the client leaves (the reply is complete).
fn offline_live(exchange: Box<Exchange>, log: slog::Logger) -> mpsc::Receiver<LiveEvent> {
    let draft = exchange.offline_draft();
    let pieces = pieces(&draft.text);
    // Room for every piece, `sources` and `done`: nothing waits for the client to read.
    let (tx, rx) = mpsc::channel(pieces.len() + 2);
    for piece in pieces {
        let _ = tx.try_send(LiveEvent::Delta(piece));
    }
    tokio::spawn(async move {
        let sources = draft.sources.clone();
        let last = match exchange.finish(Some(draft)).await {
            Ok(reply) => {
                let _ = tx.send(LiveEvent::Sources(sources)).await;
                LiveEvent::Done(Box::new(reply))
            }
            Err(error) => {
                slog::error!(log, "storing a streamed reply failed"; "error" => %error);
                LiveEvent::Failed(error)
            }
        };
        let _ = tx.send(last).await;
    });
    rx
}

/// A reply's text in the pieces its `delta` events carry: four words each (with their
/// spaces), so that a client shows it as it would show an LLM's.
pub fn pieces(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    words.chunks(4).map(<[&str]>::concat).collect()
}

enum Collected {
    Complete,
    Failed(LlmError),
    /// The consumer of the deltas went away.
    Abandoned,
}

/// Reads an LLM stream to its end into `text`, passing each delta on to `tx` when given.
/// Records the outcome (but for `Abandoned`, which the caller records) and the token counts.
async fn collect(
    llm: impl Stream<Item = Result<LlmEvent, LlmError>>,
    metrics: &Metrics,
    text: &mut String,
    tx: Option<&mpsc::Sender<LiveEvent>>,
) -> Collected {
    let mut llm = std::pin::pin!(llm);
    let outcome = loop {
        match llm.next().await {
            Some(Ok(LlmEvent::Delta(delta))) => {
                text.push_str(&delta);
                if let Some(tx) = tx
                    && tx.send(LiveEvent::Delta(delta)).await.is_err()
                {
                    return Collected::Abandoned;
                }
            }
            Some(Ok(LlmEvent::Usage {
                prompt_tokens,
                completion_tokens,
            })) => metrics.record_llm_tokens(prompt_tokens, completion_tokens),
            Some(Ok(LlmEvent::Finished { .. })) => break Collected::Complete,
            Some(Err(error)) => break Collected::Failed(error),
            None => break Collected::Failed(LlmError::Truncated),
        }
    };
    metrics.record_llm(match outcome {
        Collected::Complete => "ok",
        _ => "failed",
    });
    outcome
}

/// Checks a send and makes it ready: the bot and the caller's right to it, a retry's stored
/// reply, the bot's state and limits, the session, the quota (counted here, once), and the
/// offline engine's answer.
async fn prepare(
    call: &Call<'_>,
    body: ChatSend,
    json: &serde_json::Value,
    idempotency_key: Option<String>,
) -> Result<Prepared, Error> {
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
    // A session the caller names may exist; one made up below for a visitor does not.
    let (target, visitor) =
        chat_target(call, bot_id, session_id.as_deref().map(String::as_str)).await?;
    let store::ChatTarget {
        bot,
        conversation: existing,
        account_quota,
    } = target;
    // Retries first: a replay must not count against the quota or store anything again.
    let idempotency = match idempotency_key {
        Some(key) => {
            let scope = call.principal.rate_limit_key(call.ip);
            let key = format!("{scope}:{key}");
            let hash = request_hash(json);
            prune_expired_replies(call.app);
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
                    .map(Prepared::Replay)
                    .map_err(|e| Error::Internal(format!("a stored reply is unreadable: {e}")));
            }
            Some((key, hash))
        }
        None => None,
    };
    if bot.status == "inactive" {
        return Err(Error::BotInactive("this bot is inactive".into()));
    }
    let stored = stored_settings(&bot)?;
    let settings = &stored.settings;
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
    let default_quota = call.app.config.monthly_message_quota;
    let quota_applies = crate::services::quota::applies(account_quota, default_quota);
    if let Some(existing) = &existing {
        if !visible(existing.by_visitor, visitor) {
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
    let uncounted_month = if quota_applies {
        crate::services::quota::count_messages(&call.app.db, &bot.account_id, 1, default_quota)
            .await?;
        None
    } else {
        Some(crate::services::quota::month_now())
    };

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
        message_count: 0,
        last_message_at: Some(now),
        created_at: now,
        updated_at: now,
        queued_at: None,
        awaiting_agent_since: None,
    });
    // A message reopens a resolved or closed conversation; one that humans have waits for an
    // agent again, which the analytics count as a handoff (its first response runs from here).
    let closed = matches!(
        conversation.status.parse(),
        Ok(ConversationStatus::Resolved | ConversationStatus::Closed)
    );
    let handoff_at = (conversation.handed_off && closed).then_some(now);
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
    let language = language.as_deref().map(|l| l.as_str());
    let (answer, llm, llm_missing) = if settings.engine.kind == BotEngineKind::Llm {
        let (answer, context) =
            index.answer_with_context(&message, language, &engine_settings, LLM_CONTEXT_PASSAGES);
        let history = if new {
            Vec::new()
        } else {
            store::messages_recent(&call.app.db, &conversation.id, LLM_HISTORY_MESSAGES).await?
        };
        let request = llm_request(
            &stored,
            &call.app.config.llm,
            &answer.language,
            &context,
            &history,
            &message,
        );
        if request.is_none() {
            slog::warn!(call.app.log, "an LLM bot has no base URL or model (nor a server default); the offline engine answers";
                "bot_id" => &bot.id);
        }
        let missing = request
            .is_none()
            .then_some(ChatReplyFallbackReason::LlmNotConfigured);
        (answer, request.map(|request| (request, context)), missing)
    } else {
        (
            index.answer(&message, language, &engine_settings),
            None,
            None,
        )
    };
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
        // The bot answers unless humans have the conversation (`finish` clears it when they
        // took it meanwhile): the knowledge gaps are the messages it was not confident on.
        answered: (!conversation.handed_off).then_some(answer.confident),
    };
    Ok(Prepared::Ready(Box::new(Exchange {
        db: call.app.db.clone(),
        queue: Arc::clone(&call.app.exchanges),
        live: call.app.live.clone(),
        account_id: bot.account_id.clone(),
        conversation,
        new,
        handoff_at,
        user_message,
        answer,
        llm,
        llm_missing,
        idempotency,
        uncounted_month,
    })))
}

/// The completion request of an LLM bot: its instructions and the passages as the system
/// message, the conversation so far, then the message.
fn llm_request(
    stored: &super::super::bots::StoredSettings,
    server: &LlmConfig,
    language: &str,
    context: &[AnswerSource],
    history: &[MessageRow],
    message: &str,
) -> Option<LlmRequest> {
    let engine = &stored.settings.engine;
    let mut system = engine
        .system_prompt
        .as_deref()
        .unwrap_or(DEFAULT_SYSTEM_PROMPT)
        .to_string();
    system.push_str(&format!(
        "\n\nReply in the language whose ISO 639-1 code is \"{language}\"."
    ));
    if !context.is_empty() {
        system.push_str("\n\nContext passages:");
        for (n, passage) in context.iter().enumerate() {
            system.push_str(&format!(
                "\n[{}] {}: {}",
                n + 1,
                passage.title,
                passage.snippet
            ));
        }
    }
    let mut messages = vec![PromptMessage {
        role: "system",
        content: system,
    }];
    messages.extend(history.iter().filter_map(|m| {
        let role = match m.role.parse().ok()? {
            MessageRole::User => "user",
            MessageRole::Assistant | MessageRole::Agent => "assistant",
            MessageRole::System => return None,
        };
        Some(PromptMessage {
            role,
            content: m.content.clone(),
        })
    }));
    messages.push(PromptMessage {
        role: "user",
        content: message.to_string(),
    });
    llm_of(stored, server, messages)
}

/// A completion request of the bot's LLM for `messages`: the bot's URL, model and key, else
/// the server's. `None` when neither names a URL and a model.
fn llm_of(
    stored: &super::super::bots::StoredSettings,
    server: &LlmConfig,
    messages: Vec<PromptMessage>,
) -> Option<LlmRequest> {
    let engine = &stored.settings.engine;
    // A bot's own URL is a tenant's input, checked on every request; the server's is the
    // operator's.
    let guarded = engine.llm_base_url.is_some();
    let base_url = engine
        .llm_base_url
        .as_ref()
        .map(ToString::to_string)
        .or_else(|| server.base_url.clone());
    let model = engine
        .llm_model
        .as_ref()
        .map(ToString::to_string)
        .or_else(|| server.model.clone());
    // Settings are checked when written, but the server's defaults may have gone since.
    let (base_url, model) = (base_url?, model?);
    Some(LlmRequest {
        base_url,
        model,
        api_key: stored
            .llm_api_key
            .clone()
            .or_else(|| server.api_key.clone()),
        temperature: engine.temperature,
        max_tokens: engine.max_tokens.get(),
        messages,
        guarded,
    })
}

/// What the bot's LLM answers to `system` then `user`, whole; `None` when the bot has no LLM
/// engine or the LLM fails (the caller then does without).
pub(in crate::services) async fn llm_complete(
    call: &Call<'_>,
    stored: &super::super::bots::StoredSettings,
    system: String,
    user: String,
) -> Option<String> {
    if stored.settings.engine.kind != BotEngineKind::Llm {
        return None;
    }
    let messages = vec![
        PromptMessage {
            role: "system",
            content: system,
        },
        PromptMessage {
            role: "user",
            content: user,
        },
    ];
    let request = llm_of(stored, &call.app.config.llm, messages)?;
    let mut text = String::new();
    let llm = call.app.llm.stream(&request);
    match collect(llm, &call.app.metrics, &mut text, None).await {
        Collected::Complete if !text.trim().is_empty() => Some(text.trim().to_string()),
        _ => None,
    }
}

/// The contract's short name of why an LLM's reply was not used.
fn fallback_reason(error: &LlmError) -> ChatReplyFallbackReason {
    match error {
        LlmError::Connect(_) => ChatReplyFallbackReason::LlmUnreachable,
        LlmError::Status { .. } => ChatReplyFallbackReason::LlmHttpError,
        LlmError::Api(_) => ChatReplyFallbackReason::LlmError,
        LlmError::Idle(_) | LlmError::Total(_) => ChatReplyFallbackReason::LlmTimeout,
        LlmError::Protocol(_) => ChatReplyFallbackReason::LlmUnreadable,
        LlmError::Truncated => ChatReplyFallbackReason::LlmStreamCut,
        LlmError::Refused => ChatReplyFallbackReason::LlmTargetRefused,
    }
}

fn sources_of(passages: &[AnswerSource]) -> Vec<Source> {
    passages
        .iter()
        .map(|s| Source {
            document_id: s.document_id,
            score: s.score,
            snippet: s.snippet.clone(),
            title: s.title.clone(),
        })
        .collect()
}

impl Exchange {
    /// The offline engine's reply: the answer and its source when confident, else the fallback
    /// message with suggested questions and a "talk to a human" action.
    fn offline_draft(&self) -> Draft {
        Draft {
            text: self.answer.reply.clone(),
            engine: BotEngineKind::Offline,
            sources: sources_of(&self.answer.sources),
            actions: self.actions(),
            fallback_reason: self.llm_missing,
        }
    }

    fn actions(&self) -> Vec<SuggestedAction> {
        let mut actions: Vec<SuggestedAction> = Vec::new();
        if self.answer.offers_handoff() {
            actions.extend(
                self.answer
                    .suggested_questions
                    .iter()
                    .map(|q| SuggestedAction {
                        label: q.clone(),
                        payload: q.clone(),
                        type_: SuggestedActionType::Reply,
                    }),
            );
            actions.push(SuggestedAction {
                label: "Talk to a human".into(),
                payload: "handoff".into(),
                type_: SuggestedActionType::Handoff,
            });
        }
        actions
    }

    /// The LLM's reply when it completed with text, else (logged) the offline one.
    fn llm_or_fallback(
        &self,
        outcome: Result<(), LlmError>,
        text: &str,
        log: &slog::Logger,
    ) -> Draft {
        let text = text.trim();
        match outcome {
            Ok(()) if !text.is_empty() => {
                let passages = self.llm.as_ref().map_or(&[][..], |(_, p)| p.as_slice());
                Draft {
                    text: text.to_string(),
                    engine: BotEngineKind::Llm,
                    sources: sources_of(passages),
                    // The offline engine's confidence decides whether to offer a human.
                    actions: self.actions(),
                    fallback_reason: None,
                }
            }
            outcome => {
                let error = outcome.err();
                let why = error.as_ref().map_or_else(
                    || "the LLM replied with no text".to_string(),
                    ToString::to_string,
                );
                slog::warn!(log, "LLM failed; the offline engine answers";
                    "conversation_id" => &self.conversation.id, "error" => why);
                Draft {
                    fallback_reason: Some(
                        error.map_or(ChatReplyFallbackReason::LlmEmptyReply, |e| {
                            fallback_reason(&e)
                        }),
                    ),
                    ..self.offline_draft()
                }
            }
        }
    }

    /// Writes the message, the reply and their events, with the conversation.
    async fn record(&mut self, reply: Option<&MessageRow>) -> Result<Recorded, Error> {
        let conversation = &mut self.conversation;
        let user_message = &self.user_message;
        let mut rows = vec![user_message.clone()];
        rows.extend(reply.cloned());
        if self.new {
            conversation.message_count = i64::try_from(rows.len()).unwrap_or(0);
            conversation.last_message_at = rows.last().map(|m| m.created_at);
        }
        let bot_uuid = stores::uuid(&conversation.bot_id);
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
        if self.new {
            events.push(event(
                "conversation.started",
                json!({ "bot_id": bot_uuid, "conversation": conversation_view(conversation) }),
            ));
        }
        events.push(event("message.received", base(user_message)));
        if let Some(reply) = reply {
            events.push(event("message.sent", base(reply)));
        }
        // A visitor's message to a conversation humans have reaches the agents' streams.
        let live = if conversation.handed_off {
            vec![crate::services::inbox::live_row(
                conversation,
                crate::services::inbox::To::Agents,
                "message",
                &botwire_api::types::InboxMessage {
                    conversation: conversation_view(conversation),
                    message: message_view(user_message),
                },
            )]
        } else {
            Vec::new()
        };
        let handed_off = conversation.handed_off;
        let write = store::ExchangeWrite {
            account_id: self.account_id.clone(),
            conversation: conversation.clone(),
            new: self.new,
            messages: rows,
            events,
            live,
            usage: self.uncounted_month.clone().map(|month| (month, 1)),
            handoff_at: self.handoff_at,
        };
        let recorded = store::exchange_record(&self.db, &self.queue, write).await?;
        if handed_off && recorded == Recorded::Yes {
            self.live.wake(&self.conversation.bot_id);
        }
        Ok(recorded)
    }

    /// Stores the exchange (the message, the reply unless a human has taken over, their
    /// events, and the idempotency record) and returns the reply.
    async fn finish(mut self, draft: Option<Draft>) -> Result<ChatReply, Error> {
        let fallback_reason = draft.as_ref().and_then(|draft| draft.fallback_reason);
        let mut reply = draft.map(|draft| MessageRow {
            id: new_id(),
            conversation_id: self.conversation.id.clone(),
            role: MessageRole::Assistant.to_string(),
            content: draft.text,
            language: Some(self.answer.language.clone()),
            sources: serde_json::to_string(&draft.sources).unwrap_or_else(|_| "[]".into()),
            suggested_actions: serde_json::to_string(&draft.actions)
                .unwrap_or_else(|_| "[]".into()),
            engine: Some(draft.engine.to_string()),
            agent_id: None,
            created_at: now().max(self.user_message.created_at + chrono::Duration::microseconds(1)),
            answered: None,
        });
        if reply.is_none() {
            self.user_message.answered = None;
        }
        while self.record(reply.as_ref()).await? == Recorded::SessionTaken {
            // Another first message of this session started its conversation meanwhile: this
            // exchange joins it.
            let mut existing = store::conversation_of_session(
                &self.db,
                &self.conversation.bot_id,
                &self.conversation.session_id,
            )
            .await?
            .ok_or_else(|| Error::Internal("a session's new conversation is missing".into()))?;
            existing.status.clone_from(&self.conversation.status);
            self.conversation = existing;
            self.new = false;
            self.user_message
                .conversation_id
                .clone_from(&self.conversation.id);
            if let Some(reply) = &mut reply {
                reply.conversation_id.clone_from(&self.conversation.id);
            }
        }
        let conversation = &self.conversation;
        let user_message = &self.user_message;
        let reply_view = reply.as_ref().map(message_view);
        let response = ChatReply {
            conversation_id: stores::uuid(&conversation.id),
            // When the reply was stored: the assistant message's time (the user message's
            // when there is no reply).
            created_at: reply_view
                .as_ref()
                .map_or(utc(user_message.created_at), |m| m.created_at),
            engine: reply_view.as_ref().and_then(|m| m.engine),
            fallback_reason,
            handed_off: conversation.handed_off,
            language: self.answer.language.clone(),
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
        if let Some((key, hash)) = &self.idempotency {
            let stored =
                serde_json::to_string(&response).map_err(|e| Error::Internal(e.to_string()))?;
            store::idempotency_put(&self.db, key, hash, &stored).await?;
        }
        Ok(response)
    }
}
