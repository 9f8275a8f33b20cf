//! `bot_update`: PATCH semantics (a field left out keeps its value, `null` clears, arrays are
//! replaced whole, `theme` and `engine` merge field by field), the LLM engine's requirements
//! and its write-only key.
//!
//! Bodies that leave a field out or send `null` or `[]` go as plain JSON: the generated client
//! cannot send them (it skips `None` and empty arrays, and always sends
//! `settings.message_max_length`, which has a default in the contract).

use super::{LLM_KEY, patch, raw_bot, rename};
use crate::conformance::support::{
    bearer, create_bot, expect_error, expect_invalid_field, llm_engine, register,
};
use botwire_client::types::{self, BotEngineKind, BotThemePosition, ErrorCode};
use botwire_conformance::{TestContext, on_both_databases};
use serde_json::json;

/// Asserts that `bot` is `expected` but for `updated_at`, which did not go back.
#[track_caller]
fn assert_same_but_updated(bot: &types::Bot, expected: &types::Bot) {
    assert!(bot.updated_at >= expected.updated_at, "{bot:?}");
    let mut comparable = bot.clone();
    comparable.updated_at = expected.updated_at;
    assert_eq!(&comparable, expected);
}

fn action(label: &str, type_: types::SuggestedActionType, payload: &str) -> types::SuggestedAction {
    types::SuggestedAction {
        label: label.into(),
        type_,
        payload: payload.into(),
    }
}

async fn bot_update_changes_only_the_fields_it_gives(ctx: &TestContext) {
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

async fn bot_update_of_the_llm_engine_needs_a_url_and_a_model_and_its_key_is_write_only(
    ctx: &TestContext,
) {
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

on_both_databases!(
    bot_update_changes_only_the_fields_it_gives,
    bot_update_of_the_llm_engine_needs_a_url_and_a_model_and_its_key_is_write_only,
);
