//! The `bots` operations: `bot_create` (defaults, the LLM engine's requirements), `bot_list`
//! (newest first, paginated), `bot_get`, `bot_activate`, `bot_deactivate` and `bot_delete`,
//! through the generated client; `bot_update` and `bot_duplicate` in their own modules, with
//! the helpers they share here.

mod duplicate;
mod update;

use crate::conformance::support::{
    bearer, create_bot, expect_error, expect_invalid_field, register,
};
use botwire_client::types::{self, BotStatus, ErrorCode};
use botwire_conformance::{TestContext, on_both_databases};
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

/// A `bot_update` body that renames the bot.
fn rename(name: &str) -> types::builder::BotUpdate {
    types::BotUpdate::builder().name(Some(name.parse::<types::BotUpdateName>().expect("a name")))
}

/// The LLM API key the tests store in bots' settings (write-only: never read back).
const LLM_KEY: &str = "sk-local-7c1e9a3f5b2d4086";

async fn bot_create_makes_an_active_bot_with_default_settings(ctx: &TestContext) {
    let session = register(ctx, "bots@example.test", "Bot Owner").await;
    let user = bearer(ctx, &session.token);

    let created = user
        .bot_create()
        .body(types::BotCreate::builder().name("Acme Support"))
        .send()
        .await
        .expect("bot_create");
    assert_eq!(created.status(), 201);
    let bot = created.into_inner();
    assert_eq!(bot.status, BotStatus::Active);
    assert_eq!(bot.description, None);
    assert!(bot.widget_token.starts_with("wt_"), "{bot:?}");
    assert_eq!(bot.created_at, bot.updated_at);
    insta::assert_json_snapshot!("bot_with_defaults", &bot, {
        ".id" => "[id]",
        ".widget_token" => "[widget token]",
        ".created_at" => "[time]",
        ".updated_at" => "[time]",
    });

    // An LLM engine needs a base URL and a model.
    let engine = |base_url: Option<&str>, model: Option<&str>| types::BotEngineSettingsInput {
        kind: Some(types::BotEngineKind::Llm),
        llm_base_url: base_url.map(|u| u.parse().unwrap()),
        llm_model: model.map(|m| m.parse().unwrap()),
        llm_api_key: Some("sk-local-3f9a1c7e5b2d8046".parse().unwrap()),
        confidence_threshold: None,
        max_tokens: None,
        system_prompt: None,
        temperature: None,
    };
    let with_engine = |engine: types::BotEngineSettingsInput| {
        user.bot_create()
            .body(types::BotCreate::builder().name("LLM bot").settings(Some(
                types::BotSettingsInput {
                    engine: Some(engine),
                    ..Default::default()
                },
            )))
            .send()
    };
    expect_invalid_field(with_engine(engine(None, None)).await, "settings.engine");
    expect_invalid_field(
        with_engine(engine(Some("http://127.0.0.1:8081/v1"), None)).await,
        "settings.engine",
    );
    expect_invalid_field(
        with_engine(engine(None, Some("qwen2.5-7b-instruct"))).await,
        "settings.engine",
    );
    let llm = with_engine(engine(
        Some("http://127.0.0.1:8081/v1"),
        Some("qwen2.5-7b-instruct"),
    ))
    .await
    .expect("bot_create with a complete LLM engine");
    assert_eq!(llm.settings.engine.kind, types::BotEngineKind::Llm);
    assert!(llm.settings.engine.llm_api_key_set);
    // The LLM API key is write-only.
    let raw = ctx
        .http
        .get(ctx.url(&format!("/v1/bots/{}", llm.id)))
        .bearer_auth(&session.token)
        .send()
        .await
        .expect("the server answers")
        .text()
        .await
        .expect("a body");
    assert!(!raw.contains("sk-local-3f9a1c7e5b2d8046"), "{raw}");
    assert!(!raw.contains("\"llm_api_key\""), "{raw}");

    let all = user.bot_list().send().await.expect("bot_list");
    assert_eq!(all.pagination.total, 2, "the refused bots were not created");
}

async fn bot_list_is_newest_first_a_page_at_a_time(ctx: &TestContext) {
    let session = register(ctx, "pages@example.test", "Pager").await;
    let user = bearer(ctx, &session.token);
    let first = create_bot(&user, "First").await;
    let second = create_bot(&user, "Second").await;
    let third = create_bot(&user, "Third").await;

    let page = user.bot_list().limit(2u64).send().await.expect("bot_list");
    assert_eq!(page.status(), 200);
    let ids: Vec<_> = page.data.iter().map(|b| b.id).collect();
    assert_eq!(ids, vec![third.id, second.id], "newest first");
    assert_eq!(page.data[0], third);
    assert_eq!(page.pagination.total, 3);
    assert!(page.pagination.has_more);
    let cursor = page.pagination.next_cursor.clone().expect("a next cursor");

    let next = user
        .bot_list()
        .limit(2u64)
        .cursor(cursor.as_str())
        .send()
        .await
        .expect("bot_list page 2");
    let ids: Vec<_> = next.data.iter().map(|b| b.id).collect();
    assert_eq!(ids, vec![first.id]);
    assert_eq!(next.pagination.total, 3);
    assert!(!next.pagination.has_more);
    assert_eq!(next.pagination.next_cursor, None);

    let all = user.bot_list().send().await.expect("bot_list");
    assert_eq!(all.data.len(), 3);
    assert!(!all.pagination.has_more);

    // The status filter.
    user.bot_deactivate()
        .bot_id(second.id)
        .send()
        .await
        .expect("bot_deactivate");
    let inactive = user
        .bot_list()
        .status(types::BotListStatus::Inactive)
        .send()
        .await
        .expect("bot_list status=inactive");
    let ids: Vec<_> = inactive.data.iter().map(|b| b.id).collect();
    assert_eq!(ids, vec![second.id]);
    assert_eq!(inactive.pagination.total, 1);
    let active = user
        .bot_list()
        .status(types::BotListStatus::Active)
        .send()
        .await
        .expect("bot_list status=active");
    let ids: Vec<_> = active.data.iter().map(|b| b.id).collect();
    assert_eq!(ids, vec![third.id, first.id]);
    assert_eq!(active.pagination.total, 2);

    // A cursor this server did not issue.
    let bad = user.bot_list().cursor("not-a-cursor").send().await;
    expect_invalid_field(bad, "cursor");
}

async fn bot_get_deactivate_activate_and_delete(ctx: &TestContext) {
    let session = register(ctx, "status@example.test", "Status").await;
    let user = bearer(ctx, &session.token);
    let bot = create_bot(&user, "Toggle").await;

    let got = user.bot_get().bot_id(bot.id).send().await.expect("bot_get");
    assert_eq!(got.status(), 200);
    assert_eq!(got.into_inner(), bot);

    for _ in 0..2 {
        let off = user.bot_deactivate().bot_id(bot.id).send().await;
        let off = off.expect("bot_deactivate");
        assert_eq!(off.status(), 200);
        assert_eq!(off.status, BotStatus::Inactive);
        assert_eq!(off.id, bot.id);
        assert_eq!(off.settings, bot.settings);
    }
    let got = user.bot_get().bot_id(bot.id).send().await.expect("bot_get");
    assert_eq!(got.status, BotStatus::Inactive);
    for _ in 0..2 {
        let on = user.bot_activate().bot_id(bot.id).send().await;
        let on = on.expect("bot_activate");
        assert_eq!(on.status(), 200);
        assert_eq!(on.status, BotStatus::Active);
    }
    assert!(
        user.bot_get()
            .bot_id(bot.id)
            .send()
            .await
            .expect("bot_get")
            .updated_at
            >= bot.updated_at
    );

    let deleted = user.bot_delete().bot_id(bot.id).send().await;
    assert_eq!(deleted.expect("bot_delete").status(), 204);
    expect_error(
        user.bot_get().bot_id(bot.id).send().await,
        404,
        ErrorCode::BotNotFound,
    );
    expect_error(
        user.bot_delete().bot_id(bot.id).send().await,
        404,
        ErrorCode::BotNotFound,
    );
    expect_error(
        user.bot_activate().bot_id(bot.id).send().await,
        404,
        ErrorCode::BotNotFound,
    );
    let all = user.bot_list().send().await.expect("bot_list");
    assert_eq!(all.pagination.total, 0);
    // Nor can its widget token be rotated.
    let rotated = user.bot_widget_token_rotate().bot_id(bot.id).send().await;
    expect_error(rotated, 404, ErrorCode::BotNotFound);
}

on_both_databases!(
    bot_create_makes_an_active_bot_with_default_settings,
    bot_list_is_newest_first_a_page_at_a_time,
    bot_get_deactivate_activate_and_delete,
);
