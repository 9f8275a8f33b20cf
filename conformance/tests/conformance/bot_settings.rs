//! Bot settings: `bot_update`'s PATCH semantics (a field left out keeps its value, `null`
//! clears, arrays are replaced whole, `theme` and `engine` merge field by field), the LLM
//! engine's requirements and its write-only key; `bot_duplicate` (settings and knowledge base
//! copied, nothing else; a new id and widget token); who may do either.
//!
//! Bodies that leave a field out or send `null` or `[]` go as plain JSON: the generated client
//! cannot send them (it skips `None` and empty arrays, and always sends
//! `settings.message_max_length`, which has a default in the contract).

use super::support::{
    FAQ, ask, assert_faq_answer, bearer, create_bot, create_key, expect_error,
    expect_invalid_field, file, llm_engine, register, upload, upload_faq,
};
use botwire_client::types::{self, BotEngineKind, BotStatus, BotThemePosition, ErrorCode};
use botwire_conformance::{TestContext, on_both_databases};
use serde_json::json;
use uuid::Uuid;

/// `PATCH /v1/bots/{id}` with a raw JSON body, which must succeed; the updated bot.
async fn patch(
    ctx: &TestContext,
    token: &str,
    bot_id: Uuid,
    body: serde_json::Value,
) -> types::Bot {
    let response = ctx
        .http
        .patch(ctx.url(&format!("/v1/bots/{bot_id}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let text = response.text().await.expect("a body");
    assert_eq!(status, 200, "PATCH {body}: {text}");
    assert!(!text.contains("\"llm_api_key\""), "{text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not a Bot ({e}): {text}"))
}

/// `GET /v1/bots/{id}` as text, to check what it does not contain.
async fn raw_bot(ctx: &TestContext, token: &str, bot_id: Uuid) -> String {
    let response = ctx
        .http
        .get(ctx.url(&format!("/v1/bots/{bot_id}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    response.text().await.expect("a body")
}

/// Asserts that `bot` is `expected` but for `updated_at`, which did not go back.
#[track_caller]
fn assert_same_but_updated(bot: &types::Bot, expected: &types::Bot) {
    assert!(bot.updated_at >= expected.updated_at, "{bot:?}");
    let mut comparable = bot.clone();
    comparable.updated_at = expected.updated_at;
    assert_eq!(&comparable, expected);
}

/// A `bot_update` body that renames the bot.
fn rename(name: &str) -> types::builder::BotUpdate {
    types::BotUpdate::builder().name(Some(name.parse::<types::BotUpdateName>().expect("a name")))
}

fn action(label: &str, type_: types::SuggestedActionType, payload: &str) -> types::SuggestedAction {
    types::SuggestedAction {
        label: label.into(),
        type_,
        payload: payload.into(),
    }
}

async fn an_update_changes_only_the_fields_it_gives(ctx: &TestContext) {
    let session = register(ctx, "settings@example.test", "Settings").await;
    let token = session.token.as_str();
    let owner = bearer(ctx, token);
    let created = owner
        .bot_create()
        .body(json_to_create(json!({
            "name": "Acme Support",
            "description": "Answers questions about orders.",
            "settings": {
                "greeting": "Hello! Questions about an order?",
                "fallback_message": "Sorry, no idea. Ask for a human.",
                "default_language": "sv",
                "suggested_actions": [
                    {"label": "Refunds", "type": "reply", "payload": "How do refunds work?"},
                    {"label": "Pricing", "type": "link", "payload": "https://acme.example/pricing"}
                ],
                "theme": {"primary_color": "#112233", "position": "bottom-left"},
                "allowed_origins": ["https://acme.example", "https://help.acme.example"],
                "message_max_length": 500,
                "engine": {"temperature": 0.7, "confidence_threshold": 0.4, "max_tokens": 300}
            }
        })))
        .send()
        .await
        .expect("bot_create")
        .into_inner();
    let mut expected = created.clone();

    // The name alone, through the generated client: nothing else changes.
    let renamed = owner
        .bot_update()
        .bot_id(created.id)
        .body(rename("Acme Help"))
        .send()
        .await
        .expect("bot_update");
    assert_eq!(renamed.status(), 200);
    expected.name = "Acme Help".into();
    assert_same_but_updated(&renamed, &expected);
    let got = owner
        .bot_get()
        .bot_id(created.id)
        .send()
        .await
        .expect("bot_get");
    assert_eq!(got.into_inner(), renamed.into_inner());

    // One field of the theme: the other is kept.
    let bot = patch(
        ctx,
        token,
        created.id,
        json!({"settings": {"theme": {"primary_color": "#ABCDEF"}}}),
    )
    .await;
    expected.settings.theme.primary_color = "#ABCDEF".parse().unwrap();
    assert_same_but_updated(&bot, &expected);
    let bot = patch(
        ctx,
        token,
        created.id,
        json!({"settings": {"theme": {"position": "bottom-right"}}}),
    )
    .await;
    expected.settings.theme.position = BotThemePosition::BottomRight;
    assert_same_but_updated(&bot, &expected);

    // One field of the engine: the others are kept.
    let bot = patch(
        ctx,
        token,
        created.id,
        json!({"settings": {"engine": {"temperature": 1.1}}}),
    )
    .await;
    expected.settings.engine.temperature = 1.1;
    assert_same_but_updated(&bot, &expected);

    // `greeting: null` clears the greeting; nothing else changes.
    let bot = patch(
        ctx,
        token,
        created.id,
        json!({"settings": {"greeting": null}}),
    )
    .await;
    expected.settings.greeting = None;
    assert_same_but_updated(&bot, &expected);

    // Arrays are replaced whole; `[]` empties them.
    let bot = patch(
        ctx,
        token,
        created.id,
        json!({"settings": {"allowed_origins": []}}),
    )
    .await;
    expected.settings.allowed_origins = Vec::new();
    assert_same_but_updated(&bot, &expected);
    let bot = patch(
        ctx,
        token,
        created.id,
        json!({"settings": {"suggested_actions": [
            {"label": "Talk to a human", "type": "handoff", "payload": "visitor asked for an agent"}
        ]}}),
    )
    .await;
    expected.settings.suggested_actions = vec![action(
        "Talk to a human",
        types::SuggestedActionType::Handoff,
        "visitor asked for an agent",
    )];
    assert_same_but_updated(&bot, &expected);

    // `description: null` clears the description; an empty `settings` changes nothing.
    let bot = patch(
        ctx,
        token,
        created.id,
        json!({"description": null, "settings": {}}),
    )
    .await;
    expected.description = None;
    assert_same_but_updated(&bot, &expected);

    // Scalars given are written; `message_max_length` was kept all along.
    assert_eq!(expected.settings.message_max_length.get(), 500);
    let bot = patch(
        ctx,
        token,
        created.id,
        json!({"settings": {"message_max_length": 80, "fallback_message": "Hm?", "default_language": "de", "greeting": "Hi"}}),
    )
    .await;
    expected.settings.message_max_length = 80.try_into().unwrap();
    expected.settings.fallback_message = "Hm?".into();
    expected.settings.default_language = "de".parse().unwrap();
    expected.settings.greeting = Some("Hi".into());
    assert_same_but_updated(&bot, &expected);
    let got = owner
        .bot_get()
        .bot_id(created.id)
        .send()
        .await
        .expect("bot_get");
    assert_same_but_updated(&got, &expected);

    // Refused updates change nothing.
    let empty = owner
        .bot_update()
        .bot_id(created.id)
        .body(types::BotUpdate::builder())
        .send()
        .await;
    expect_error(empty, 422, ErrorCode::ValidationFailed);
    let got = owner
        .bot_get()
        .bot_id(created.id)
        .send()
        .await
        .expect("bot_get");
    assert_same_but_updated(&got, &expected);
}

/// A `BotCreate` from JSON (the generated types deserialize the contract's JSON).
fn json_to_create(body: serde_json::Value) -> types::BotCreate {
    serde_json::from_value(body).expect("a BotCreate")
}

const LLM_KEY: &str = "sk-local-7c1e9a3f5b2d4086";

async fn an_llm_engine_needs_a_url_and_a_model_and_its_key_is_write_only(ctx: &TestContext) {
    let session = register(ctx, "llm@example.test", "LLM").await;
    let token = session.token.as_str();
    let owner = bearer(ctx, token);
    let bot = create_bot(&owner, "Engine").await;
    let update = |engine: types::BotEngineSettingsInput| {
        owner
            .bot_update()
            .bot_id(bot.id)
            .body(
                types::BotUpdate::builder().settings(Some(types::BotSettingsInput {
                    engine: Some(engine),
                    ..Default::default()
                })),
            )
            .send()
    };

    for (url, model) in [
        (None, None),
        (Some("http://127.0.0.1:8081/v1"), None),
        (None, Some("qwen2.5-7b-instruct")),
    ] {
        expect_invalid_field(
            update(llm_engine(url, model, Some(LLM_KEY))).await,
            "settings.engine",
        );
        let unchanged = owner
            .bot_get()
            .bot_id(bot.id)
            .send()
            .await
            .expect("bot_get");
        assert_eq!(
            unchanged.into_inner(),
            bot,
            "a refused update changed the bot"
        );
    }

    let llm = update(llm_engine(
        Some("http://127.0.0.1:8081/v1"),
        Some("qwen2.5-7b-instruct"),
        Some(LLM_KEY),
    ))
    .await
    .expect("bot_update with a complete LLM engine")
    .into_inner();
    let engine = &llm.settings.engine;
    assert_eq!(engine.kind, BotEngineKind::Llm);
    assert_eq!(
        engine.llm_base_url.as_deref(),
        Some("http://127.0.0.1:8081/v1")
    );
    assert_eq!(engine.llm_model.as_deref(), Some("qwen2.5-7b-instruct"));
    assert!(engine.llm_api_key_set);
    for raw in [
        raw_bot(ctx, token, bot.id).await,
        ctx.http
            .get(ctx.url("/v1/bots"))
            .bearer_auth(token)
            .send()
            .await
            .expect("bot_list")
            .text()
            .await
            .expect("a body"),
    ] {
        assert!(!raw.contains(LLM_KEY), "{raw}");
        assert!(!raw.contains("\"llm_api_key\""), "{raw}");
        assert!(raw.contains("\"llm_api_key_set\":true"), "{raw}");
    }

    // Back to offline: the LLM settings are kept for later, the key too.
    let offline = patch(
        ctx,
        token,
        bot.id,
        json!({"settings": {"engine": {"kind": "offline"}}}),
    )
    .await;
    let mut expected = llm.settings.engine.clone();
    expected.kind = BotEngineKind::Offline;
    assert_eq!(offline.settings.engine, expected);
    // `null` removes the key, the URL, the model and the prompt.
    let prompt = patch(
        ctx,
        token,
        bot.id,
        json!({"settings": {"engine": {"system_prompt": "Be brief."}}}),
    )
    .await;
    assert_eq!(
        prompt.settings.engine.system_prompt.as_deref(),
        Some("Be brief.")
    );
    let cleared = patch(
        ctx,
        token,
        bot.id,
        json!({"settings": {"engine": {"llm_api_key": null, "llm_base_url": null, "llm_model": null, "system_prompt": null}}}),
    )
    .await;
    expected.llm_api_key_set = false;
    expected.llm_base_url = None;
    expected.llm_model = None;
    expected.system_prompt = None;
    assert_eq!(cleared.settings.engine, expected);
    // ...so that `llm` is refused again.
    expect_invalid_field(
        update(types::BotEngineSettingsInput {
            kind: Some(BotEngineKind::Llm),
            ..Default::default()
        })
        .await,
        "settings.engine",
    );
}

async fn a_duplicate_copies_the_settings_and_the_knowledge_base(ctx: &TestContext) {
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

async fn another_accounts_bot_cannot_be_updated_or_duplicated(ctx: &TestContext) {
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
    an_update_changes_only_the_fields_it_gives,
    an_llm_engine_needs_a_url_and_a_model_and_its_key_is_write_only,
    a_duplicate_copies_the_settings_and_the_knowledge_base,
    another_accounts_bot_cannot_be_updated_or_duplicated,
);
