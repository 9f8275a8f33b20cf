//! `chat_send` to a bot whose engine is an LLM, against a scripted OpenAI-compatible server:
//! the prompt it gets (instructions, passages, the conversation, the bot's model, key and
//! sampling), the reply as generated, the fallback to the offline engine when the LLM fails
//! (before or during the reply, sent or streamed), the server's LLM defaults, and a bot's LLM
//! URL kept off private addresses. (Replies streamed as generated are `chat_stream`'s.)

use crate::conformance::support::chat::upload_faq;
use crate::conformance::support::chat::{FAQ, ask, history};
use crate::conformance::support::llm::{
    BOT_KEY, deltas_of, done_of, llm_bot, metrics, stream_text, use_llm,
};
use crate::conformance::support::{bearer, create_bot, expect_error, llm_engine, register};
use botwire_client::types::{
    self, BotEngineKind, ChatReplyFallbackReason as FallbackReason, ErrorCode,
};
use botwire_conformance::{Backend, TestContext, on_both_databases};
use botwire_server::engine::llm::scripted::{self, SSE_HEAD, ScriptedLlm, Step};

async fn chat_send_to_an_llm_bot_prompts_with_its_passages_and_the_conversation(ctx: &TestContext) {
    let llm = ScriptedLlm::start(scripted::completion(&["Refunds take ", "14 days."]))
        .await
        .expect("scripted LLM");
    let (owner, bot) = llm_bot(ctx, "llm-send@example.test", &llm.base_url()).await;

    let reply = ask(&owner, bot.id, "llm-1", FAQ[0].0).await;
    assert_eq!(reply.reply.as_deref(), Some("Refunds take 14 days."));
    assert_eq!(reply.engine, Some(BotEngineKind::Llm));
    assert_eq!(reply.fallback_reason, None);
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
    ask(&owner, bot.id, "llm-1", "And for Norway?").await;
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

async fn chat_send_and_chat_stream_fall_back_to_the_offline_engine_when_the_llm_fails(
    ctx: &TestContext,
) {
    // An HTTP error before anything is generated.
    let error = r#"{"error":{"message":"model overloaded","type":"server_error"}}"#;
    let failing = ScriptedLlm::start(vec![Step::text(&format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{error}",
        error.len()
    ))])
    .await
    .expect("scripted LLM");
    let (owner, bot) = llm_bot(ctx, "llm-fallback@example.test", &failing.base_url()).await;
    let reply = ask(&owner, bot.id, "llm-3", FAQ[1].0).await;
    assert_eq!(reply.reply.as_deref(), Some(FAQ[1].1));
    assert_eq!(reply.engine, Some(BotEngineKind::Offline));
    assert_eq!(reply.fallback_reason, Some(FallbackReason::LlmHttpError));
    let body = stream_text(&owner, bot.id, "llm-3", FAQ[1].0).await;
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
    let body = stream_text(&owner, bot.id, "llm-4", FAQ[1].0).await;
    assert_eq!(deltas_of(&body), ["Half an"]);
    let done = done_of(&body);
    assert_eq!(done.engine, Some(BotEngineKind::Offline));
    assert_eq!(done.fallback_reason, Some(FallbackReason::LlmError));
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
    let reply = ask(&owner, bot.id, "llm-5", FAQ[0].0).await;
    assert_eq!(reply.engine, Some(BotEngineKind::Offline));
    assert_eq!(reply.fallback_reason, Some(FallbackReason::LlmUnreachable));
    assert_eq!(reply.reply.as_deref(), Some(FAQ[0].1));
    let text = metrics(ctx).await;
    assert!(
        text.contains("botwire_llm_completions_total{outcome=\"failed\"} 4"),
        "{text}"
    );
}

/// With `BOTWIRE_LLM_BASE_URL`, `_MODEL` and `_API_KEY` set, a bot chooses `kind: llm` alone.
async fn chat_send_uses_the_servers_llm_for_every_bot(backend: Backend) {
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
    let reply = ask(&owner, bot.id, "llm-8", "Hello there").await;
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
/// network (here loopback): setting it is refused at once, 422 naming the field (as a
/// webhook's URL is), on create and on update; the bot keeps its settings, chats are answered
/// by the offline engine, and no request is ever made.
async fn a_bots_llm_url_on_a_private_address_is_refused_when_set_unless_allowed(ctx: &TestContext) {
    let llm = ScriptedLlm::start(scripted::completion(&["Internal secrets."]))
        .await
        .expect("scripted LLM");
    let session = register(ctx, "llm-ssrf@example.test", "LLM owner").await;
    let owner = bearer(ctx, &session.token);
    let settings = types::BotSettingsInput {
        engine: Some(llm_engine(Some(&llm.base_url()), Some("m"), None)),
        ..Default::default()
    };
    let refused = |response: botwire_client::ResponseValue<types::Error>| {
        let fields: Vec<&str> = response
            .error
            .fields
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(
            fields,
            ["settings.engine.llm_base_url"],
            "{:?}",
            response.error
        );
    };
    let created = owner
        .bot_create()
        .body(
            types::BotCreate::builder()
                .name("LLM bot")
                .settings(Some(settings.clone())),
        )
        .send()
        .await;
    refused(expect_error(created, 422, ErrorCode::ValidationFailed));
    let bot = create_bot(&owner, "LLM bot").await;
    upload_faq(&owner, bot.id).await;
    let updated = owner
        .bot_update()
        .bot_id(bot.id)
        .body(types::BotUpdate::builder().settings(Some(settings)))
        .send()
        .await;
    refused(expect_error(updated, 422, ErrorCode::ValidationFailed));
    let kept = owner
        .bot_get()
        .bot_id(bot.id)
        .send()
        .await
        .expect("bot_get");
    assert_eq!(kept.settings.engine.kind, BotEngineKind::Offline);
    assert_eq!(kept.settings.engine.llm_base_url, None);
    let reply = ask(&owner, bot.id, "llm-9", FAQ[0].0).await;
    assert_eq!(reply.engine, Some(BotEngineKind::Offline));
    assert_eq!(
        reply.fallback_reason, None,
        "an offline bot falls back from nothing"
    );
    assert!(llm.requests().is_empty(), "{:?}", llm.requests());
}

on_both_databases!(
    chat_send_to_an_llm_bot_prompts_with_its_passages_and_the_conversation,
    chat_send_and_chat_stream_fall_back_to_the_offline_engine_when_the_llm_fails,
);
on_both_databases!(
    config = |config| config.llm.allowed_cidrs.clear(),
    a_bots_llm_url_on_a_private_address_is_refused_when_set_unless_allowed,
);
on_both_databases!(backend: chat_send_uses_the_servers_llm_for_every_bot);
