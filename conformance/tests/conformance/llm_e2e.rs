//! The `llm` engine against a real OpenAI-compatible LLM: chat send and stream through Botwire
//! to llama-server serving SmolLM2-135M-Instruct on loopback, and the fallback to the offline
//! engine when the LLM cannot be reached. The model is tiny and its answers are poor: these
//! tests check structure (which engine answered, what was stored, the stream's events), never
//! facts.
//!
//! Ignored in ordinary runs: `cargo xtask llm-e2e` builds (or reuses) llama-server, starts it
//! and runs them with `BOTWIRE_E2E_LLM_BASE_URL` (`http://127.0.0.1:PORT/v1`) and
//! `BOTWIRE_E2E_LLM_MODEL` set.

use super::stream::stream;
use super::support::{
    FAQ, ask, assert_faq_answer, create_bot, header, history, llm_engine, message, register,
    update_settings, upload_faq,
};
use botwire_client::Client;
use botwire_client::types::{self, BotEngineKind, MessageRole};
use botwire_conformance::{TestContext, on_both_databases};

/// The LLM the tests talk to, from the environment `cargo xtask llm-e2e` sets.
struct Llm {
    base_url: String,
    model: String,
}

fn llm() -> Llm {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: these tests need a real LLM; run them with \
                 `cargo xtask llm-e2e`"
            )
        })
    };
    Llm {
        base_url: var("BOTWIRE_E2E_LLM_BASE_URL"),
        model: var("BOTWIRE_E2E_LLM_MODEL"),
    }
}

/// How long a reply may take: a loaded 2-core machine generates as few as 2 or 3 tokens a second
/// (the harness's clients give up after 15 s).
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A client with the owner's session token and [`REPLY_TIMEOUT`].
fn patient(ctx: &TestContext, token: &str) -> Client {
    let http = reqwest::Client::builder()
        .default_headers(header("authorization", &format!("Bearer {token}")))
        .timeout(REPLY_TIMEOUT)
        .build()
        .expect("a reqwest client");
    Client::new_with_client(&ctx.base_url, http)
}

/// An owner with a bot that answers [`FAQ`] through the LLM at `base_url`, deterministic
/// (temperature 0) and brief.
async fn llm_bot(
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
async fn assert_stored(
    owner: &Client,
    bot_id: uuid::Uuid,
    question: &str,
    reply: &types::ChatReply,
) {
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

async fn a_message_is_answered_by_the_llm(ctx: &TestContext) {
    let llm = llm();
    let (owner, bot, _) = llm_bot(ctx, "llm-send@example.test", &llm.base_url, &llm.model).await;

    let reply = ask(&owner, bot.id, "llm-send", FAQ[0].0).await;
    eprintln!("{:?} answered {:?}", reply.engine, reply.reply);
    assert_eq!(
        reply.engine,
        Some(BotEngineKind::Llm),
        "the LLM at {} did not answer: {reply:?}",
        llm.base_url
    );
    let text = reply.reply.as_deref().expect("a reply");
    assert!(!text.trim().is_empty(), "{reply:?}");
    assert!(!reply.handed_off);
    assert_stored(&owner, bot.id, FAQ[0].0, &reply).await;
}

async fn a_reply_of_the_llm_streams_as_it_is_written(ctx: &TestContext) {
    let llm = llm();
    let (owner, bot, _) = llm_bot(ctx, "llm-stream@example.test", &llm.base_url, &llm.model).await;

    let body = message(Some(bot.id), Some("llm-stream"), FAQ[0].0);
    let streamed = stream(&owner, body, None).await;
    let done = &streamed.done;
    eprintln!(
        "{:?} streamed {} deltas: {:?}",
        done.engine,
        streamed.deltas.len(),
        streamed.deltas
    );
    assert_eq!(
        done.engine,
        Some(BotEngineKind::Llm),
        "the LLM at {} did not answer: {:?}",
        llm.base_url,
        streamed.events
    );
    // The model's tokens, as they come: more than one piece.
    assert!(streamed.deltas.len() >= 2, "{:?}", streamed.events);
    assert_eq!(Some(streamed.deltas.concat()), done.reply);
    assert!(
        !done.reply.as_deref().unwrap_or_default().trim().is_empty(),
        "{done:?}"
    );
    // The passages the prompt was grounded on, before `done`.
    let sources = streamed.sources.as_ref().expect("a `sources` event");
    assert!(!sources.is_empty(), "{:?}", streamed.events);
    assert_eq!(sources, &done.sources);
    // `done` is the stored reply.
    assert_stored(&owner, bot.id, FAQ[0].0, done).await;
}

async fn an_unreachable_llm_falls_back_to_the_offline_engine(ctx: &TestContext) {
    let llm = llm();
    // A loopback port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let base_url = format!("http://{closed}/v1");
    let (owner, bot, faq) = llm_bot(ctx, "llm-fallback@example.test", &base_url, &llm.model).await;

    let sent = ask(&owner, bot.id, "llm-fallback", FAQ[0].0).await;
    assert_eq!(sent.engine, Some(BotEngineKind::Offline), "{sent:?}");
    assert_faq_answer(&sent, &faq, FAQ[0].1);
    assert_stored(&owner, bot.id, FAQ[0].0, &sent).await;

    let body = message(Some(bot.id), Some("llm-fallback"), FAQ[1].0);
    let streamed = stream(&owner, body, None).await;
    let done = &streamed.done;
    assert_eq!(done.engine, Some(BotEngineKind::Offline), "{done:?}");
    assert_faq_answer(done, &faq, FAQ[1].1);
    assert_eq!(Some(streamed.deltas.concat()), done.reply);
    assert_stored(&owner, bot.id, FAQ[1].0, done).await;
}

on_both_databases!(
    #[ignore = "needs a real LLM: run `cargo xtask llm-e2e`"]
    a_message_is_answered_by_the_llm,
    a_reply_of_the_llm_streams_as_it_is_written,
    an_unreachable_llm_falls_back_to_the_offline_engine,
);
