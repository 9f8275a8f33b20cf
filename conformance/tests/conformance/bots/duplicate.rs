//! `bot_duplicate`: settings and knowledge base copied, nothing else, under a new id and widget
//! token; who may duplicate (and update) which bot.

use super::{LLM_KEY, patch, raw_bot, rename};
use crate::conformance::support::chat::{FAQ, ask, assert_faq_answer, file, upload, upload_faq};
use crate::conformance::support::{bearer, create_bot, create_key, expect_error, register};
use botwire_client::types::{self, BotStatus, ErrorCode};
use botwire_conformance::{TestContext, on_both_databases};
use serde_json::json;
use uuid::Uuid;

async fn bot_duplicate_copies_the_settings_and_the_knowledge_base(ctx: &TestContext) {
    let session = register(ctx, "duplicate@example.test", "Duplicator").await;
    let token = session.token.as_str();
    let owner = bearer(ctx, token);
    let bot = create_bot(&owner, "Acme Support").await;
    // LLM settings and key stored, but answering offline (the copy must answer here).
    let bot = patch(
        ctx,
        token,
        bot.id,
        json!({
            "description": "The original.",
            "settings": {
                "greeting": "Welcome!",
                "fallback_message": "No answer here.",
                "theme": {"primary_color": "#0A7CFF"},
                "allowed_origins": ["https://acme.example"],
                "engine": {
                    "llm_base_url": "http://127.0.0.1:8081/v1",
                    "llm_model": "qwen2.5-7b-instruct",
                    "llm_api_key": LLM_KEY,
                    "confidence_threshold": 0.3
                }
            }
        }),
    )
    .await;
    assert!(bot.settings.engine.llm_api_key_set);
    let faq = upload_faq(&owner, bot.id).await;
    let notes = upload(
        &owner,
        bot.id,
        file("notes.txt", "Our shop is closed on public holidays."),
    )
    .await;
    ask(&owner, bot.id, "original-1", FAQ[0].0).await;

    let copied = owner
        .bot_duplicate()
        .bot_id(bot.id)
        .body(types::BotDuplicate::builder())
        .send()
        .await
        .expect("bot_duplicate");
    assert_eq!(copied.status(), 201);
    let copy = copied.into_inner();
    assert_eq!(copy.name, "Acme Support (copy)");
    assert_ne!(copy.id, bot.id);
    assert_ne!(copy.widget_token, bot.widget_token);
    assert!(copy.widget_token.starts_with("wt_"), "{copy:?}");
    assert_eq!(copy.status, BotStatus::Active);
    assert_eq!(copy.description, bot.description);
    assert_eq!(
        copy.settings, bot.settings,
        "settings, the LLM key included"
    );
    assert!(copy.created_at >= bot.created_at);
    assert!(!raw_bot(ctx, token, copy.id).await.contains(LLM_KEY));

    // The knowledge base is copied: the same documents, under new ids, in the same order.
    let owner_ref = &owner;
    let documents = |bot_id: Uuid| async move {
        owner_ref
            .document_list()
            .bot_id(bot_id)
            .send()
            .await
            .expect("document_list")
            .into_inner()
            .data
    };
    let originals = documents(bot.id).await;
    assert_eq!(originals, vec![notes.clone(), faq.clone()]);
    let copies = documents(copy.id).await;
    assert_eq!(copies.len(), 2);
    for (copied, original) in copies.iter().zip(&originals) {
        assert_ne!(copied.id, original.id);
        assert_eq!(copied.bot_id, copy.id);
        let mut comparable = copied.clone();
        comparable.id = original.id;
        comparable.bot_id = original.bot_id;
        assert_eq!(&comparable, original);
    }
    // Sessions are not copied.
    let sessions = owner.session_list().bot_id(copy.id).send().await;
    assert_eq!(sessions.expect("session_list").pagination.total, 0);
    // The copy answers from its knowledge base, citing its own document.
    let faq_copy = &copies[1];
    let reply = ask(&owner, copy.id, "copy-1", FAQ[0].0).await;
    assert_faq_answer(&reply, faq_copy, FAQ[0].1);

    // The two knowledge bases are independent.
    owner
        .document_delete()
        .bot_id(bot.id)
        .document_id(faq.id)
        .send()
        .await
        .expect("document_delete");
    let reply = ask(&owner, copy.id, "copy-2", FAQ[1].0).await;
    assert_faq_answer(&reply, faq_copy, FAQ[1].1);

    // A name of its own; an account-wide API key may duplicate, a bot-scoped one may not.
    let named = owner
        .bot_duplicate()
        .bot_id(bot.id)
        .body(
            types::BotDuplicate::builder().name(Some(
                "Acme Support (staging)"
                    .parse::<types::BotDuplicateName>()
                    .unwrap(),
            )),
        )
        .send()
        .await
        .expect("bot_duplicate with a name");
    assert_eq!(named.name, "Acme Support (staging)");
    let account_key = create_key(&owner, "account-wide", None, None).await;
    let by_key = bearer(ctx, &account_key.key)
        .bot_duplicate()
        .bot_id(bot.id)
        .body(types::BotDuplicate::builder())
        .send()
        .await
        .expect("bot_duplicate with an account-wide key");
    assert_eq!(by_key.status(), 201);
    let scoped_key = create_key(&owner, "scoped", Some(bot.id), None).await;
    let scoped = bearer(ctx, &scoped_key.key);
    expect_error(
        scoped
            .bot_duplicate()
            .bot_id(bot.id)
            .body(types::BotDuplicate::builder())
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    // It may update its own bot, not another one.
    let own = scoped
        .bot_update()
        .bot_id(bot.id)
        .body(rename("Renamed by its key"))
        .send()
        .await
        .expect("bot_update by a key scoped to the bot");
    assert_eq!(own.name, "Renamed by its key");
    expect_error(
        scoped
            .bot_update()
            .bot_id(copy.id)
            .body(rename("Not mine"))
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    let all = owner.bot_list().send().await.expect("bot_list");
    assert_eq!(all.pagination.total, 4, "the original and three copies");
}

async fn bot_update_and_bot_duplicate_of_another_accounts_bot_are_not_found(ctx: &TestContext) {
    let a_session = register(ctx, "settings-alice@example.test", "Alice").await;
    let b_session = register(ctx, "settings-bob@example.test", "Bob").await;
    let a = bearer(ctx, &a_session.token);
    let b = bearer(ctx, &b_session.token);
    let a_bot = create_bot(&a, "Alice's bot").await;
    let b_key = create_key(&b, "Bob's key", None, None).await;
    let b_key = bearer(ctx, &b_key.key);

    for (who, client) in [("Bob", &b), ("Bob's key", &b_key)] {
        // A's bot answers exactly as a bot that does not exist.
        let mut answers = Vec::new();
        for id in [a_bot.id, Uuid::new_v4()] {
            let update = client
                .bot_update()
                .bot_id(id)
                .body(rename("Mine now"))
                .send()
                .await;
            let update = expect_error(update, 404, ErrorCode::BotNotFound);
            let duplicate = client
                .bot_duplicate()
                .bot_id(id)
                .body(types::BotDuplicate::builder())
                .send()
                .await;
            let duplicate = expect_error(duplicate, 404, ErrorCode::BotNotFound);
            answers.push((
                update.error.message.clone(),
                duplicate.error.message.clone(),
            ));
        }
        assert_eq!(answers[0], answers[1], "{who}");
    }
    let after = a.bot_get().bot_id(a_bot.id).send().await.expect("bot_get");
    assert_eq!(after.into_inner(), a_bot);
    let b_bots = b.bot_list().send().await.expect("bot_list");
    assert_eq!(
        b_bots.pagination.total, 0,
        "nothing was duplicated into Bob's account"
    );
}

on_both_databases!(
    bot_duplicate_copies_the_settings_and_the_knowledge_base,
    bot_update_and_bot_duplicate_of_another_accounts_bot_are_not_found,
);
