//! The LLM engine through the API, against a scripted OpenAI-compatible server: the prompt it
//! gets (instructions, passages, the conversation, the bot's model, key and sampling), the
//! reply sent and streamed as generated, the fallback to the offline engine when the LLM fails
//! (before or during the reply), cancellation when the client goes away, keep-alive pings, and
//! the server's LLM defaults.

use super::stream::parse_events;
use super::support::{
    FAQ, bearer, create_bot, history, llm_engine, message, register, unstreamed, update_settings,
    upload_faq,
};
use botwire_client::Client;
use botwire_client::types::{self, BotEngineKind, ErrorCode, MessageRole};
use botwire_conformance::{Backend, TestContext, on_both_databases, read_text};
use botwire_server::engine::llm::scripted::{self, SSE_HEAD, ScriptedLlm, Step};
use futures::StreamExt;
use std::time::{Duration, Instant};

const BOT_KEY: &str = "sk-bot-5e1d9c2a7f3b4680";

/// Points the bot's engine at `base_url` (or leaves URL and model to the server when `None`).
async fn use_llm(owner: &Client, bot_id: uuid::Uuid, base_url: Option<&str>) {
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

/// An owner with an LLM bot that knows [`FAQ`].
async fn llm_bot(ctx: &TestContext, email: &str, base_url: &str) -> (Client, types::Bot) {
    let session = register(ctx, email, "LLM owner").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "LLM bot").await;
    upload_faq(&owner, bot.id).await;
    use_llm(&owner, bot.id, Some(base_url)).await;
    (owner, bot)
}

async fn send(owner: &Client, bot_id: uuid::Uuid, session: &str, text: &str) -> types::ChatReply {
    owner
        .chat_send()
        .body(message(Some(bot_id), Some(session), text))
        .send()
        .await
        .unwrap_or_else(|e| panic!("chat_send: {e:?}"))
        .into_inner()
}

/// The stream's events as (name, data).
async fn stream(owner: &Client, bot_id: uuid::Uuid, session: &str, text: &str) -> String {
    let response = owner
        .chat_stream()
        .body(message(Some(bot_id), Some(session), text))
        .send()
        .await
        .unwrap_or_else(|e| panic!("chat_stream: {:?}", unstreamed(Err(e))));
    read_text(response).await.expect("the stream")
}

fn done_of(body: &str) -> types::ChatReply {
    let events = parse_events(body);
    let last = events.last().expect("events");
    assert_eq!(last.name, "done", "{body}");
    serde_json::from_value(last.data.clone()).expect("`done` is a ChatReply")
}

fn deltas_of(body: &str) -> Vec<String> {
    parse_events(body)
        .into_iter()
        .filter(|e| e.name == "delta")
        .map(|e| e.data["text"].as_str().expect("delta text").to_string())
        .collect()
}

async fn metrics(ctx: &TestContext) -> String {
    let response = ctx.client.metrics_get().send().await.expect("metrics_get");
    read_text(response).await.expect("metrics")
}

async fn an_llm_bot_answers_with_its_passages_and_conversation(ctx: &TestContext) {
    let llm = ScriptedLlm::start(scripted::completion(&["Refunds take ", "14 days."]))
        .await
        .expect("scripted LLM");
    let (owner, bot) = llm_bot(ctx, "llm-send@example.test", &llm.base_url()).await;

    let reply = send(&owner, bot.id, "llm-1", FAQ[0].0).await;
    assert_eq!(reply.reply.as_deref(), Some("Refunds take 14 days."));
    assert_eq!(reply.engine, Some(BotEngineKind::Llm));
    // The passages it was given are its sources, the best (the FAQ's answer) first.
    assert_eq!(reply.sources[0].snippet, FAQ[0].1, "{reply:?}");
    assert!(reply.suggested_actions.is_empty(), "{reply:?}");
    let messages = history(&owner, bot.id, "llm-1").await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].engine, Some(BotEngineKind::Llm));
    assert_eq!(Some(&messages[1].content), reply.reply.as_ref());
    assert_eq!(messages[1].sources, reply.sources);

    let request = &llm.requests()[0];
    assert!(
        request
            .head
            .to_lowercase()
            .contains(&format!("authorization: bearer {BOT_KEY}")),
        "{}",
        request.head
    );
    let body = &request.body;
    assert_eq!(body["model"], "scripted-model");
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["max_tokens"], 100);
    assert_eq!(body["stream"], true);
    let prompt = body["messages"].as_array().expect("messages");
    assert_eq!(prompt.len(), 2, "{prompt:?}");
    assert_eq!(prompt[0]["role"], "system");
    let system = prompt[0]["content"].as_str().expect("system prompt");
    assert!(system.contains(FAQ[0].1), "{system}");
    assert!(system.contains("\"en\""), "{system}");
    assert_eq!(
        prompt[1],
        serde_json::json!({"role": "user", "content": FAQ[0].0})
    );

    // The next message carries the conversation so far.
    send(&owner, bot.id, "llm-1", "And for Norway?").await;
    let prompt = llm.requests()[1].body["messages"].clone();
    let roles: Vec<&str> = prompt
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(prompt[2]["content"], "Refunds take 14 days.");
    assert_eq!(prompt[3]["content"], "And for Norway?");

    let text = metrics(ctx).await;
    assert!(
        text.contains("botwire_llm_completions_total{outcome=\"ok\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("botwire_llm_tokens_total{kind=\"prompt\"} 84"),
        "{text}"
    );
}

async fn an_llm_reply_streams_as_it_is_generated(ctx: &TestContext) {
    let pieces = ["You can ", "reset it ", "from the ", "sign-in page."];
    let llm = ScriptedLlm::start(scripted::completion(&pieces))
        .await
        .expect("scripted LLM");
    let (owner, bot) = llm_bot(ctx, "llm-stream@example.test", &llm.base_url()).await;

    let body = stream(&owner, bot.id, "llm-2", FAQ[2].0).await;
    let names: Vec<String> = parse_events(&body).into_iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        ["delta", "delta", "delta", "delta", "sources", "done"],
        "{body}"
    );
    assert_eq!(deltas_of(&body), pieces);
    let done = done_of(&body);
    assert_eq!(done.reply.as_deref(), Some(pieces.concat().as_str()));
    assert_eq!(done.engine, Some(BotEngineKind::Llm));
    assert_eq!(done.sources[0].snippet, FAQ[2].1);
    // `done` is the stored reply.
    let messages = history(&owner, bot.id, "llm-2").await;
    assert_eq!(messages.len(), 2);
    assert_eq!(Some(messages[1].id), done.message_id);
    assert_eq!(messages[1].role, MessageRole::Assistant);
    assert_eq!(Some(&messages[1].content), done.reply.as_ref());
    assert_eq!(messages[1].engine, Some(BotEngineKind::Llm));
}

async fn a_failing_llm_hands_over_to_the_offline_engine(ctx: &TestContext) {
    // An HTTP error before anything is generated.
    let error = r#"{"error":{"message":"model overloaded","type":"server_error"}}"#;
    let failing = ScriptedLlm::start(vec![Step::text(&format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{error}",
        error.len()
    ))])
    .await
    .expect("scripted LLM");
    let (owner, bot) = llm_bot(ctx, "llm-fallback@example.test", &failing.base_url()).await;
    let reply = send(&owner, bot.id, "llm-3", FAQ[1].0).await;
    assert_eq!(reply.reply.as_deref(), Some(FAQ[1].1));
    assert_eq!(reply.engine, Some(BotEngineKind::Offline));
    let body = stream(&owner, bot.id, "llm-3", FAQ[1].0).await;
    // Nothing was streamed yet: the offline reply streams as deltas too.
    assert_eq!(deltas_of(&body), [FAQ[1].1]);
    assert_eq!(done_of(&body).engine, Some(BotEngineKind::Offline));
    assert_eq!(done_of(&body).reply.as_deref(), Some(FAQ[1].1));

    // An error in the middle of the reply: the deltas sent stay sent, and `done` carries the
    // stored reply, the offline engine's.
    let midway = ScriptedLlm::start(vec![
        Step::text(SSE_HEAD),
        Step::text(&scripted::chunk(Some("Half an"), None)),
        Step::text("data: {\"error\":{\"message\":\"context length exceeded\"}}\n\n"),
    ])
    .await
    .expect("scripted LLM");
    use_llm(&owner, bot.id, Some(&midway.base_url())).await;
    let body = stream(&owner, bot.id, "llm-4", FAQ[1].0).await;
    assert_eq!(deltas_of(&body), ["Half an"]);
    let done = done_of(&body);
    assert_eq!(done.engine, Some(BotEngineKind::Offline));
    assert_eq!(done.reply.as_deref(), Some(FAQ[1].1));
    let messages = history(&owner, bot.id, "llm-4").await;
    assert_eq!(messages[1].content, FAQ[1].1);
    assert_eq!(messages[1].engine, Some(BotEngineKind::Offline));

    // Nothing listening at all.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    use_llm(&owner, bot.id, Some(&format!("http://127.0.0.1:{port}/v1"))).await;
    let reply = send(&owner, bot.id, "llm-5", FAQ[0].0).await;
    assert_eq!(reply.engine, Some(BotEngineKind::Offline));
    assert_eq!(reply.reply.as_deref(), Some(FAQ[0].1));
    let text = metrics(ctx).await;
    assert!(
        text.contains("botwire_llm_completions_total{outcome=\"failed\"} 4"),
        "{text}"
    );
}

async fn a_client_that_leaves_cancels_the_generation(ctx: &TestContext) {
    let mut script = vec![Step::text(SSE_HEAD)];
    for _ in 0..200 {
        script.push(Step::text(&scripted::chunk(Some("word "), None)));
        script.push(Step::Pause(Duration::from_millis(25)));
    }
    let llm = ScriptedLlm::start(script).await.expect("scripted LLM");
    let (owner, bot) = llm_bot(ctx, "llm-cancel@example.test", &llm.base_url()).await;
    let response = owner
        .chat_stream()
        .body(message(Some(bot.id), Some("llm-6"), FAQ[0].0))
        .send()
        .await
        .unwrap_or_else(|e| panic!("chat_stream: {:?}", unstreamed(Err(e))));
    let mut body = response.into_inner().into_inner();
    let first = body.next().await.expect("a first chunk").expect("bytes");
    assert!(
        String::from_utf8_lossy(&first).contains("event: delta"),
        "{first:?}"
    );
    drop(body);
    // The script would take 5 s to write; the LLM sees the request dropped long before.
    let deadline = Instant::now() + Duration::from_secs(3);
    while llm.abandoned() == 0 {
        assert!(
            Instant::now() < deadline,
            "the LLM request outlived its client"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // An abandoned exchange stores nothing.
    let response = owner
        .session_history()
        .bot_id(bot.id)
        .session_id("llm-6")
        .send()
        .await;
    super::support::expect_error(response, 404, ErrorCode::SessionNotFound);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let text = metrics(ctx).await;
        if text.contains("botwire_llm_completions_total{outcome=\"cancelled\"} 1") {
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

on_both_databases!(
    an_llm_bot_answers_with_its_passages_and_conversation,
    an_llm_reply_streams_as_it_is_generated,
    a_failing_llm_hands_over_to_the_offline_engine,
    a_client_that_leaves_cancels_the_generation,
);

/// A stream that waits on a slow LLM sends `: ping` comments, and still ends well.
async fn a_slow_llm_stream_is_kept_alive_with_pings(backend: Backend) {
    let ctx = TestContext::with(backend, |config| {
        config.sse_ping_interval = Duration::from_millis(100);
    })
    .await
    .expect("a server");
    let llm = ScriptedLlm::start(vec![
        Step::text(SSE_HEAD),
        Step::Pause(Duration::from_millis(550)),
        Step::text(&scripted::chunk(Some("Late"), None)),
        Step::text(&scripted::chunk(Some(" but here."), Some("stop"))),
        Step::text("data: [DONE]\n\n"),
    ])
    .await
    .expect("scripted LLM");
    let (owner, bot) = llm_bot(&ctx, "llm-ping@example.test", &llm.base_url()).await;
    let body = stream(&owner, bot.id, "llm-7", FAQ[0].0).await;
    let before_first_delta = &body[..body.find("event: delta").expect("a delta")];
    assert!(
        before_first_delta.matches(": ping\n\n").count() >= 3,
        "{body}"
    );
    assert_eq!(done_of(&body).reply.as_deref(), Some("Late but here."));
    ctx.teardown().await;
}

/// With `BOTWIRE_LLM_BASE_URL`, `_MODEL` and `_API_KEY` set, a bot chooses `kind: llm` alone.
async fn the_server_may_configure_the_llm_for_every_bot(backend: Backend) {
    let llm = ScriptedLlm::start(scripted::completion(&["Server-wide."]))
        .await
        .expect("scripted LLM");
    let base_url = llm.base_url();
    let ctx = TestContext::with(backend, |config| {
        config.llm.base_url = Some(base_url);
        config.llm.model = Some("server-model".into());
        config.llm.api_key = Some("sk-server-0b7e4d1c9a2f".into());
    })
    .await
    .expect("a server");
    let session = register(&ctx, "llm-defaults@example.test", "Defaults").await;
    let owner = bearer(&ctx, &session.token);
    let bot = create_bot(&owner, "Defaulted").await;
    use_llm(&owner, bot.id, None).await;
    let reply = send(&owner, bot.id, "llm-8", "Hello there").await;
    assert_eq!(reply.reply.as_deref(), Some("Server-wide."));
    assert_eq!(reply.engine, Some(BotEngineKind::Llm));
    let request = &llm.requests()[0];
    assert_eq!(request.body["model"], "server-model");
    assert!(
        request
            .head
            .to_lowercase()
            .contains("authorization: bearer sk-server-0b7e4d1c9a2f")
    );
    ctx.teardown().await;
}

/// Without `BOTWIRE_LLM_ALLOWED_CIDRS`, a bot's own LLM URL cannot reach the operator's
/// network (here loopback): no request is made, and the offline engine answers.
async fn a_bots_llm_url_cannot_reach_private_addresses_unless_allowed(backend: Backend) {
    let llm = ScriptedLlm::start(scripted::completion(&["Internal secrets."]))
        .await
        .expect("scripted LLM");
    let ctx = TestContext::with(backend, |config| config.llm.allowed_cidrs.clear())
        .await
        .expect("a server");
    let (owner, bot) = llm_bot(&ctx, "llm-ssrf@example.test", &llm.base_url()).await;
    let reply = send(&owner, bot.id, "llm-9", FAQ[0].0).await;
    assert_eq!(reply.engine, Some(BotEngineKind::Offline));
    assert_eq!(reply.reply.as_deref(), Some(FAQ[0].1));
    assert!(llm.requests().is_empty(), "{:?}", llm.requests());
    ctx.teardown().await;
}

macro_rules! with_config_on_both_databases {
    ($($test:ident),* $(,)?) => {
        $(
            mod $test {
                use botwire_conformance::Backend;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$test(Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$test(Backend::Postgres).await;
                }
            }
        )*
    };
}

with_config_on_both_databases!(
    a_bots_llm_url_cannot_reach_private_addresses_unless_allowed,
    a_slow_llm_stream_is_kept_alive_with_pings,
    the_server_may_configure_the_llm_for_every_bot,
);
