//! `chat_send` to a bot whose engine is a real OpenAI-compatible LLM: llama-server serving
//! SmolLM2-135M-Instruct on loopback, and the fallback to the offline engine (sent and
//! streamed) when the LLM cannot be reached. The model is tiny and its answers are poor: these
//! tests check structure (which engine answered, what was stored), never facts.
//!
//! Ignored in ordinary runs: `cargo xtask llm-e2e` builds (or reuses) llama-server, starts it
//! and runs every test whose path holds `llm_e2e` (this module and `chat::stream::llm_e2e`)
//! with `BOTWIRE_E2E_LLM_BASE_URL` (`http://127.0.0.1:PORT/v1`) and `BOTWIRE_E2E_LLM_MODEL`
//! set.

use crate::conformance::support::chat::{FAQ, ask, assert_faq_answer, message, stream};
use crate::conformance::support::llm::{assert_stored, real_llm, real_llm_bot};
use botwire_client::types::BotEngineKind;
use botwire_conformance::{TestContext, on_both_databases};

async fn chat_send_is_answered_by_the_real_llm(ctx: &TestContext) {
    let llm = real_llm();
    let (owner, bot, _) =
        real_llm_bot(ctx, "llm-send@example.test", &llm.base_url, &llm.model).await;

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

async fn chat_send_and_chat_stream_fall_back_to_the_offline_engine_when_the_llm_is_unreachable(
    ctx: &TestContext,
) {
    let llm = real_llm();
    // A loopback port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let base_url = format!("http://{closed}/v1");
    let (owner, bot, faq) =
        real_llm_bot(ctx, "llm-fallback@example.test", &base_url, &llm.model).await;

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
    chat_send_is_answered_by_the_real_llm,
    chat_send_and_chat_stream_fall_back_to_the_offline_engine_when_the_llm_is_unreachable,
);
