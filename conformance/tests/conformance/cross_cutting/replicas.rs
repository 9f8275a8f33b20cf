//! Sweeps chat, the knowledge base and bot settings across two replicas on one PostgreSQL.
//!
//! Replicas (PostgreSQL): two servers on one database answer alike. A document uploaded or
//! deleted through one changes the other's answers at once, although each keeps its own
//! search index in memory; so does a change of the bot's settings.

use crate::conformance::support::chat::{
    FAQ, UNKNOWN_QUESTION, ask, assert_fallback, assert_faq_answer, upload_faq,
};
use crate::conformance::support::{bearer, client_with, create_bot, register, some};
use botwire_client::types;
use botwire_conformance::{Backend, TestContext, run_on};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

async fn replicas_answer_from_the_same_knowledge_base(ctx: &TestContext) {
    let replica = ctx.replica(|_| {}).await.expect("starting a replica");
    let session = register(ctx, "replicas@example.test", "Replicated").await;
    let one = bearer(ctx, &session.token);
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {}", session.token)).unwrap();
    headers.insert(AUTHORIZATION, value);
    let two = client_with(&format!("http://{}", replica.local_addr()), headers);
    let bot = create_bot(&one, "Everywhere").await;
    let fallback = bot.settings.fallback_message.clone();

    // The replica builds its index before the document exists...
    assert_fallback(&ask(&two, bot.id, "r-1", FAQ[0].0).await, &fallback);
    // ...and answers from the document uploaded through the other server, as that one does.
    let faq = upload_faq(&one, bot.id).await;
    let from_two = ask(&two, bot.id, "r-2", FAQ[0].0).await;
    assert_faq_answer(&from_two, &faq, FAQ[0].1);
    let from_one = ask(&one, bot.id, "r-3", FAQ[0].0).await;
    assert_eq!(from_one.reply, from_two.reply);
    assert_eq!(
        from_one.sources, from_two.sources,
        "the same source and score"
    );
    assert_eq!(from_one.suggested_actions, from_two.suggested_actions);

    // Settings changed through one are used by the other on the next message.
    let updated = two
        .bot_update()
        .bot_id(bot.id)
        .body(
            types::BotUpdate::builder().settings(Some(types::BotSettingsInput {
                fallback_message: some("Nothing on that, sorry."),
                ..Default::default()
            })),
        )
        .send()
        .await
        .expect("bot_update through the replica");
    assert_eq!(updated.settings.fallback_message, "Nothing on that, sorry.");
    let unknown = ask(&one, bot.id, "r-3", UNKNOWN_QUESTION).await;
    assert_fallback(&unknown, "Nothing on that, sorry.");

    // Deleted through one: the other falls back at once.
    let deleted = one
        .document_delete()
        .bot_id(bot.id)
        .document_id(faq.id)
        .send()
        .await
        .expect("document_delete");
    assert_eq!(deleted.status(), 204);
    assert_fallback(
        &ask(&two, bot.id, "r-2", FAQ[0].0).await,
        "Nothing on that, sorry.",
    );
    assert_fallback(
        &ask(&one, bot.id, "r-3", FAQ[0].0).await,
        "Nothing on that, sorry.",
    );
    // Both servers stored into the same sessions.
    let sessions = one.session_list().bot_id(bot.id).send().await;
    assert_eq!(sessions.expect("session_list").pagination.total, 3);

    replica.close().await.expect("stopping the replica");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_answer_from_the_same_knowledge_base_postgres() {
    run_on(
        Backend::Postgres,
        replicas_answer_from_the_same_knowledge_base,
    )
    .await;
}
