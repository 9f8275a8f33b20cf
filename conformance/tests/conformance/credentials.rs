//! The `credentials` operations (`api_key_*`, `bot_widget_token_rotate`): API keys in each of
//! their three forms (`Authorization: Bearer`, `X-API-Key`, Basic client credentials), their
//! life cycle (secrets shown once, revocation, rotation, renaming and limits), bot-scoped keys,
//! and widget tokens, through the generated client.
//!
//! Malformed `Authorization` headers cannot be sent through a typed client: the last test
//! sends them over plain HTTP.

use crate::conformance::support::{
    basic, bearer, create_bot, create_key, expect_error, rate_limit_headers, register, widget,
    x_api_key,
};
use botwire_client::Client;
use botwire_client::types::{self, ErrorCode};
use botwire_conformance::{TestContext, on_both_databases};
use serde_json::Value;
use std::num::NonZeroU64;

/// The three clients an API key gives: Bearer, `X-API-Key`, Basic.
fn key_clients(ctx: &TestContext, key: &types::ApiKeyWithSecret) -> [(&'static str, Client); 3] {
    [
        ("bearer", bearer(ctx, &key.key)),
        ("x-api-key", x_api_key(ctx, &key.key)),
        ("basic", basic(ctx, &key.client_id, &key.client_secret)),
    ]
}

/// A plain GET with a session token, answering the raw JSON (to see every field sent, which a
/// typed client would drop).
async fn raw_get(ctx: &TestContext, token: &str, path: &str) -> (String, Value) {
    let response = ctx
        .http
        .get(ctx.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200, "GET {path}");
    let text = response.text().await.expect("a body");
    let value = serde_json::from_str(&text).expect("JSON");
    (text, value)
}

fn assert_no_secrets(item: &Value, key: &types::ApiKeyWithSecret) {
    let object = item.as_object().expect("an API key object");
    assert!(
        !object.contains_key("key") && !object.contains_key("client_secret"),
        "{item}"
    );
    let text = item.to_string();
    assert!(
        !text.contains(&key.key) && !text.contains(&key.client_secret),
        "{text}"
    );
}

async fn api_key_create_shows_the_secrets_once_and_the_key_works_in_every_form(ctx: &TestContext) {
    let session = register(ctx, "keys@example.test", "Key Holder").await;
    let user = bearer(ctx, &session.token);
    let bot = create_bot(&user, "Support").await;

    let created = create_key(&user, "Zendesk sync", None, Some(120)).await;
    assert!(created.key.starts_with("bw_"), "{created:?}");
    assert!(created.key.starts_with(&created.prefix), "{created:?}");
    assert!(!created.client_secret.is_empty());
    assert!(!created.client_id.is_empty());
    assert_eq!(created.bot_id, None);
    assert_eq!(created.last_used_at, None);
    assert_eq!(created.revoked_at, None);
    insta::assert_json_snapshot!("api_key_with_secret", &created, {
        ".id" => "[id]",
        ".prefix" => "[prefix]",
        ".client_id" => "[client id]",
        ".key" => "[key]",
        ".client_secret" => "[client secret]",
        ".created_at" => "[time]",
    });

    for (form, client) in key_clients(ctx, &created) {
        let bots = client.bot_list().send().await;
        let bots = bots.unwrap_or_else(|e| panic!("bot_list with the key as {form}: {e:?}"));
        assert_eq!(bots.data.len(), 1, "{form}");
        assert_eq!(bots.data[0].id, bot.id, "{form}");
        let got = client.bot_get().bot_id(bot.id).send().await;
        assert_eq!(got.expect(form).into_inner(), bot, "{form}");
    }

    // The typed views: the key's fields, and its use recorded.
    let got = user
        .api_key_get()
        .key_id(created.id)
        .send()
        .await
        .expect("api_key_get");
    assert_eq!(got.status(), 200);
    let got = got.into_inner();
    assert_eq!(got.id, created.id);
    assert_eq!(got.name, created.name);
    assert_eq!(got.prefix, created.prefix);
    assert_eq!(got.client_id, created.client_id);
    assert_eq!(got.created_at, created.created_at);
    assert!(got.last_used_at.is_some(), "{got:?}");
    insta::assert_json_snapshot!("api_key", &got, {
        ".id" => "[id]",
        ".prefix" => "[prefix]",
        ".client_id" => "[client id]",
        ".created_at" => "[time]",
        ".last_used_at" => "[time]",
    });
    let listed = user.api_key_list().send().await.expect("api_key_list");
    assert_eq!(listed.data, vec![got]);
    assert_eq!(listed.pagination.total, 1);
    assert!(!listed.pagination.has_more);

    // The raw answers: no secret, under any name.
    let (_, one) = raw_get(ctx, &session.token, &format!("/v1/api-keys/{}", created.id)).await;
    assert_no_secrets(&one, &created);
    let (_, page) = raw_get(ctx, &session.token, "/v1/api-keys").await;
    let items = page["data"].as_array().expect("data");
    assert_eq!(items.len(), 1);
    for item in items {
        assert_no_secrets(item, &created);
    }
}

async fn api_key_revoke_refuses_the_key_at_once_and_it_stays_listed(ctx: &TestContext) {
    let session = register(ctx, "revoke@example.test", "Revoker").await;
    let user = bearer(ctx, &session.token);
    let key = create_key(&user, "to revoke", None, None).await;
    let clients = key_clients(ctx, &key);
    for (form, client) in &clients {
        client.bot_list().send().await.expect(form);
    }

    let revoked = user.api_key_revoke().key_id(key.id).send().await;
    assert_eq!(revoked.expect("api_key_revoke").status(), 204);
    for (form, client) in &clients {
        let refused = client.bot_list().send().await;
        let response = expect_error(refused, 401, ErrorCode::Unauthorized);
        assert!(
            !response.error.message.contains(&key.key),
            "{form}: {:?}",
            response.error
        );
    }

    let got = user.api_key_get().key_id(key.id).send().await;
    let got = got.expect("a revoked key is still readable").into_inner();
    assert!(got.revoked_at.is_some(), "{got:?}");
    let listed = user.api_key_list().send().await.expect("api_key_list");
    assert_eq!(listed.data.len(), 1);
    assert_eq!(listed.data[0].id, key.id);
    assert_eq!(listed.data[0].revoked_at, got.revoked_at);

    // Revoking again changes nothing and answers 204 again.
    let again = user.api_key_revoke().key_id(key.id).send().await;
    assert_eq!(again.expect("api_key_revoke again").status(), 204);
    let after = user.api_key_get().key_id(key.id).send().await;
    assert_eq!(after.expect("api_key_get").revoked_at, got.revoked_at);
    // A revoked key can be neither changed nor rotated.
    let update = user
        .api_key_update()
        .key_id(key.id)
        .body(
            types::ApiKeyUpdate::builder()
                .name(Some("renamed".parse::<types::ApiKeyUpdateName>().unwrap())),
        )
        .send()
        .await;
    expect_error(update, 409, ErrorCode::Conflict);
    let rotate = user.api_key_rotate().key_id(key.id).send().await;
    expect_error(rotate, 409, ErrorCode::Conflict);
}

async fn api_key_rotate_replaces_the_secrets_and_keeps_the_key(ctx: &TestContext) {
    let session = register(ctx, "rotate@example.test", "Rotator").await;
    let user = bearer(ctx, &session.token);
    let old = create_key(&user, "to rotate", None, Some(50)).await;
    let old_clients = key_clients(ctx, &old);

    let rotated = user.api_key_rotate().key_id(old.id).send().await;
    let rotated = rotated.expect("api_key_rotate");
    assert_eq!(rotated.status(), 200);
    let new = rotated.into_inner();
    assert_eq!(new.id, old.id);
    assert_eq!(new.client_id, old.client_id);
    assert_eq!(new.prefix, old.prefix);
    assert_eq!(new.name, old.name);
    assert_eq!(new.bot_id, old.bot_id);
    assert_eq!(new.rate_limits, old.rate_limits);
    assert_ne!(new.key, old.key);
    assert_ne!(new.client_secret, old.client_secret);

    for (form, client) in &old_clients {
        let refused = client.bot_list().send().await;
        let response = expect_error(refused, 401, ErrorCode::Unauthorized);
        assert!(!response.error.message.is_empty(), "{form}");
    }
    for (form, client) in key_clients(ctx, &new) {
        client.bot_list().send().await.expect(form);
    }
}

async fn api_key_update_renames_and_replaces_the_limits(ctx: &TestContext) {
    let session = register(ctx, "update@example.test", "Updater").await;
    let user = bearer(ctx, &session.token);
    let key = create_key(&user, "before", None, None).await;
    let limits = |standard: Option<u64>, chat: Option<u64>| types::ApiKeyRateLimitsInput {
        standard: standard.and_then(NonZeroU64::new),
        chat: chat.and_then(NonZeroU64::new),
        auth: None,
    };
    let update =
        |body: types::builder::ApiKeyUpdate| user.api_key_update().key_id(key.id).body(body).send();

    let renamed = update(
        types::ApiKeyUpdate::builder()
            .name(Some("after".parse::<types::ApiKeyUpdateName>().unwrap())),
    )
    .await
    .expect("api_key_update name");
    assert_eq!(renamed.status(), 200);
    assert_eq!(renamed.name, "after");
    assert_eq!(renamed.rate_limits.standard, None);

    let limited =
        update(types::ApiKeyUpdate::builder().rate_limits(Some(limits(Some(100), Some(7)))))
            .await
            .expect("api_key_update rate_limits");
    assert_eq!(limited.name, "after", "a name left out is kept");
    assert_eq!(limited.rate_limits.standard, NonZeroU64::new(100));
    assert_eq!(limited.rate_limits.chat, NonZeroU64::new(7));
    assert_eq!(limited.rate_limits.auth, None);
    // The new limit applies from the next request.
    let used = x_api_key(ctx, &key.key).bot_list().send().await;
    assert_eq!(
        rate_limit_headers(used.expect("bot_list").headers()).limit,
        100
    );

    // Given limits replace every override.
    let replaced = update(types::ApiKeyUpdate::builder().rate_limits(Some(limits(Some(5), None))))
        .await
        .expect("api_key_update rate_limits again");
    assert_eq!(replaced.rate_limits.standard, NonZeroU64::new(5));
    assert_eq!(replaced.rate_limits.chat, None);
    let cleared = update(types::ApiKeyUpdate::builder().rate_limits(Some(limits(None, None))))
        .await
        .expect("api_key_update rate_limits {}");
    assert_eq!(
        cleared.rate_limits,
        types::ApiKeyRateLimits {
            standard: None,
            chat: None,
            auth: None
        }
    );
    let got = user.api_key_get().key_id(key.id).send().await;
    assert_eq!(got.expect("api_key_get").into_inner(), cleared.into_inner());
}

async fn api_key_create_with_a_bot_id_makes_a_key_for_that_bot_only(ctx: &TestContext) {
    let session = register(ctx, "scoped@example.test", "Scoper").await;
    let user = bearer(ctx, &session.token);
    let mine = create_bot(&user, "Mine").await;
    let other = create_bot(&user, "Other").await;
    let key = create_key(&user, "one bot", Some(mine.id), None).await;
    assert_eq!(key.bot_id, Some(mine.id));
    let scoped = bearer(ctx, &key.key);

    let got = scoped.bot_get().bot_id(mine.id).send().await;
    assert_eq!(got.expect("bot_get of its bot").id, mine.id);
    let forbidden = scoped.bot_get().bot_id(other.id).send().await;
    expect_error(forbidden, 403, ErrorCode::Forbidden);
    let forbidden = scoped.bot_deactivate().bot_id(other.id).send().await;
    expect_error(forbidden, 403, ErrorCode::Forbidden);
    let forbidden = scoped.bot_delete().bot_id(other.id).send().await;
    expect_error(forbidden, 403, ErrorCode::Forbidden);
    let untouched = user.bot_get().bot_id(other.id).send().await;
    assert_eq!(
        untouched.expect("the other bot is intact").into_inner(),
        other
    );

    let listed = scoped.bot_list().send().await.expect("bot_list");
    let ids: Vec<_> = listed.data.iter().map(|b| b.id).collect();
    assert_eq!(ids, vec![mine.id]);
    assert_eq!(listed.pagination.total, 1);

    let create = scoped
        .bot_create()
        .body(types::BotCreate::builder().name("Not allowed"))
        .send()
        .await;
    expect_error(create, 403, ErrorCode::Forbidden);
    let all = user.bot_list().send().await.expect("bot_list");
    assert_eq!(all.pagination.total, 2, "no bot was created");

    // A key for a bot the account does not have is not created.
    let missing = user
        .api_key_create()
        .body(
            types::ApiKeyCreate::builder()
                .name("nowhere")
                .bot_id(Some(uuid::Uuid::new_v4())),
        )
        .send()
        .await;
    expect_error(missing, 404, ErrorCode::BotNotFound);

    // Deleting the bot stops its keys.
    let deleted = user.bot_delete().bot_id(mine.id).send().await;
    assert_eq!(deleted.expect("bot_delete").status(), 204);
    let gone = scoped.bot_list().send().await;
    expect_error(gone, 401, ErrorCode::Unauthorized);
}

async fn bot_widget_token_rotate_and_where_keys_and_widget_tokens_are_refused(ctx: &TestContext) {
    let session = register(ctx, "forms@example.test", "Forms").await;
    let user = bearer(ctx, &session.token);
    let bot = create_bot(&user, "Widget").await;
    assert!(bot.widget_token.starts_with("wt_"), "{bot:?}");
    let key = create_key(&user, "account-wide", None, None).await;

    // User-only operations refuse API keys in every form.
    for (form, client) in key_clients(ctx, &key) {
        let refused = client.api_key_list().send().await;
        expect_error(refused, 401, ErrorCode::Unauthorized);
        let refused = client.account_get().send().await;
        let response = expect_error(refused, 401, ErrorCode::Unauthorized);
        assert!(!response.error.message.is_empty(), "{form}");
    }

    // A widget token admits visitors to visitor operations only.
    let visitor = widget(ctx, &bot.widget_token);
    expect_error(
        visitor.bot_get().bot_id(bot.id).send().await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor.bot_list().send().await,
        401,
        ErrorCode::Unauthorized,
    );

    // The owner, as user or key, replaces the widget token.
    let rotated = user
        .bot_widget_token_rotate()
        .bot_id(bot.id)
        .send()
        .await
        .expect("bot_widget_token_rotate");
    assert_eq!(rotated.status(), 200);
    assert!(rotated.widget_token.starts_with("wt_"));
    assert_ne!(rotated.widget_token, bot.widget_token);
    assert_eq!(rotated.id, bot.id);
    let by_key = x_api_key(ctx, &key.key)
        .bot_widget_token_rotate()
        .bot_id(bot.id)
        .send()
        .await
        .expect("bot_widget_token_rotate with an API key");
    assert_ne!(by_key.widget_token, rotated.widget_token);
    let got = user.bot_get().bot_id(bot.id).send().await.expect("bot_get");
    assert_eq!(got.widget_token, by_key.widget_token);
}

/// Credentials that are malformed, of an unknown scheme or unknown are 401 `unauthorized`
/// (plain HTTP: the generated client cannot send these).
async fn malformed_or_unknown_credentials_are_401(ctx: &TestContext) {
    let malformed = [
        ("authorization", "Basic !!!not base64!!!"),
        ("authorization", "Basic Ym90d2lyZQ=="), // "botwire": no colon
        ("authorization", "Basic Yndfbm9wZTpub3BlLW5vcGU="), // bw_nope:nope-nope
        ("authorization", "Token abc"),
        ("authorization", "Bearer"),
        ("authorization", "Bearer bw_nope_nope"),
        ("authorization", "Bearer not.a.jwt"),
        ("x-api-key", "bw_nope_nope"),
        ("x-api-key", "not a key"),
    ];
    for (name, value) in malformed {
        let response = ctx
            .http
            .get(ctx.url("/v1/bots"))
            .header(name, value)
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 401, "{name}: {value}");
        let body: Value = response.json().await.expect("the envelope");
        assert_eq!(
            body["error"]["code"], "unauthorized",
            "{name}: {value}: {body}"
        );
        assert_eq!(body["error"]["status"], 401, "{body}");
    }
}

on_both_databases!(
    api_key_create_shows_the_secrets_once_and_the_key_works_in_every_form,
    api_key_revoke_refuses_the_key_at_once_and_it_stays_listed,
    api_key_rotate_replaces_the_secrets_and_keeps_the_key,
    api_key_update_renames_and_replaces_the_limits,
    api_key_create_with_a_bot_id_makes_a_key_for_that_bot_only,
    bot_widget_token_rotate_and_where_keys_and_widget_tokens_are_refused,
    malformed_or_unknown_credentials_are_401,
);
