//! Helpers of the LLM engine's tests: bots pointed at the scripted OpenAI-compatible server of
//! `botwire_server::engine::llm::scripted` (the stream's text, its deltas and `done`, the LLM
//! metrics), and, for the `llm_e2e` modules, at the real LLM `cargo xtask llm-e2e` serves.

use super::chat::{history, message, parse_events, unstreamed, upload_faq};
use super::{bearer, create_bot, header, llm_engine, register, update_settings};
use botwire_client::Client;
use botwire_client::types::{self, BotEngineKind, MessageRole};
use botwire_conformance::{TestContext, read_text};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// The scripted LLM

/// The API key the bots of [`use_llm`] send to the scripted LLM.
pub const BOT_KEY: &str = "sk-bot-5e1d9c2a7f3b4680";

/// Points the bot's engine at `base_url` (or leaves URL and model to the server when `None`).
pub async fn use_llm(owner: &Client, bot_id: Uuid, base_url: Option<&str>) {
    let mut engine = llm_engine(
        base_url,
        base_url.map(|_| "scripted-model"),
        base_url.map(|_| BOT_KEY),
    );
    engine.max_tokens = Some(std::num::NonZeroU64::new(100).expect("non-zero"));
    engine.temperature = Some(0.3);
    let settings = types::BotSettingsInput {
        engine: Some(engine),
        ..Default::default()
    };
    update_settings(owner, bot_id, settings).await;
}

/// An owner with an LLM bot that knows [`FAQ`](super::chat::FAQ).
pub async fn llm_bot(ctx: &TestContext, email: &str, base_url: &str) -> (Client, types::Bot) {
    let session = register(ctx, email, "LLM owner").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "LLM bot").await;
    upload_faq(&owner, bot.id).await;
    use_llm(&owner, bot.id, Some(base_url)).await;
    (owner, bot)
}

/// The text of a stream that must be answered.
pub async fn stream_text(owner: &Client, bot_id: Uuid, session: &str, text: &str) -> String {
    let response = owner
        .chat_stream()
        .body(message(Some(bot_id), Some(session), text))
        .send()
        .await
        .unwrap_or_else(|e| panic!("chat_stream: {:?}", unstreamed(Err(e))));
    read_text(response).await.expect("the stream")
}

/// The `done` event of a stream's text, which must come last.
pub fn done_of(body: &str) -> types::ChatReply {
    let events = parse_events(body);
    let last = events.last().expect("events");
    assert_eq!(last.name, "done", "{body}");
    serde_json::from_value(last.data.clone()).expect("`done` is a ChatReply")
}

/// The texts of a stream's `delta` events.
pub fn deltas_of(body: &str) -> Vec<String> {
    parse_events(body)
        .into_iter()
        .filter(|e| e.name == "delta")
        .map(|e| e.data["text"].as_str().expect("delta text").to_string())
        .collect()
}

/// The server's metrics, as text.
pub async fn metrics(ctx: &TestContext) -> String {
    let response = ctx.client.metrics_get().send().await.expect("metrics_get");
    read_text(response).await.expect("metrics")
}

// ---------------------------------------------------------------------------------------------
// The real LLM (`llm_e2e`)

/// The LLM the tests talk to, from the environment `cargo xtask llm-e2e` sets.
pub struct RealLlm {
    pub base_url: String,
    pub model: String,
}

pub fn real_llm() -> RealLlm {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: these tests need a real LLM; run them with \
                 `cargo xtask llm-e2e`"
            )
        })
    };
    RealLlm {
        base_url: var("BOTWIRE_E2E_LLM_BASE_URL"),
        model: var("BOTWIRE_E2E_LLM_MODEL"),
    }
}

/// How long a reply may take: a loaded 2-core machine generates as few as 2 or 3 tokens a second
/// (the harness's clients give up after 15 s).
pub const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A client with the owner's session token and [`REPLY_TIMEOUT`].
pub fn patient(ctx: &TestContext, token: &str) -> Client {
    let http = reqwest::Client::builder()
        .default_headers(header("authorization", &format!("Bearer {token}")))
        .timeout(REPLY_TIMEOUT)
        .build()
        .expect("a reqwest client");
    Client::new_with_client(&ctx.base_url, http)
}

/// An owner with a bot that answers [`FAQ`](super::chat::FAQ) through the real LLM at
/// `base_url`, deterministic (temperature 0) and brief.
pub async fn real_llm_bot(
    ctx: &TestContext,
    email: &str,
    base_url: &str,
    model: &str,
) -> (Client, types::Bot, types::Document) {
    let session = register(ctx, email, "LLM Owner").await;
    let owner = patient(ctx, &session.token);
    let bot = create_bot(&owner, "LLM Support").await;
    let faq = upload_faq(&owner, bot.id).await;
    let engine = types::BotEngineSettingsInput {
        temperature: Some(0.0),
        max_tokens: std::num::NonZeroU64::new(48),
        ..llm_engine(Some(base_url), Some(model), None)
    };
    let settings = types::BotSettingsInput {
        engine: Some(engine),
        ..Default::default()
    };
    let bot = update_settings(&owner, bot.id, settings).await;
    assert_eq!(bot.settings.engine.kind, BotEngineKind::Llm);
    assert_eq!(bot.settings.engine.llm_base_url.as_deref(), Some(base_url));
    assert_eq!(bot.settings.engine.llm_model.as_deref(), Some(model));
    (owner, bot, faq)
}

/// Asserts that the session's history ends with `question` and `reply`, stored as answered.
pub async fn assert_stored(owner: &Client, bot_id: Uuid, question: &str, reply: &types::ChatReply) {
    let messages = history(owner, bot_id, &reply.session_id).await;
    let [.., user, assistant] = messages.as_slice() else {
        panic!("a question and its reply in the history: {messages:?}");
    };
    assert_eq!(user.id, reply.user_message_id, "{messages:?}");
    assert_eq!(user.role, MessageRole::User);
    assert_eq!(user.content, question);
    assert_eq!(Some(assistant.id), reply.message_id, "{messages:?}");
    assert_eq!(assistant.role, MessageRole::Assistant);
    assert_eq!(Some(&assistant.content), reply.reply.as_ref());
    assert_eq!(assistant.conversation_id, reply.conversation_id);
    assert_eq!(assistant.engine, reply.engine, "{messages:?}");
    assert_eq!(assistant.sources, reply.sources);
    assert_eq!(assistant.suggested_actions, reply.suggested_actions);
    assert_eq!(assistant.language.as_ref(), Some(&reply.language));
    assert_eq!(assistant.created_at, reply.created_at);
}
