//! The `webhooks` operations (`webhook_*`, `delivery_*`): create, list, get, update, delete,
//! rotate the secret, the test ping, the delivery log and redelivery; another account's
//! webhooks not found; targets refused at creation. What deliveries do (signatures, events,
//! retries, disabling, replicas) is `deliveries`; the crash test is
//! `cross_cutting::webhook_crash`, the secrets kept out of the log `cross_cutting::secrets`.

mod deliveries;

use crate::conformance::support::webhooks::{
    WAIT, create_webhook, fast, finished, send_ping, verify,
};
use crate::conformance::support::{
    bearer, create_bot, create_key, expect_error, expect_invalid_field, register,
};
use botwire_client::ResponseValue;
use botwire_client::types::{self, ErrorCode, WebhookEventType};
use botwire_conformance::receiver::{Receiver, Reply};
use botwire_conformance::{TestContext, on_both_databases};
use std::time::Duration;
use uuid::Uuid;

async fn webhooks_are_managed_and_pinged(ctx: &TestContext) {
    let session = register(ctx, "hooks@example.test", "Hooks").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Hooked").await;
    let receiver = Receiver::accepting().await;

    // Created: the secret is shown once, fresh per webhook.
    let created = owner
        .webhook_create()
        .bot_id(bot.id)
        .body(
            types::WebhookCreate::builder()
                .url(receiver.url("/hooks"))
                .events(vec![
                    WebhookEventType::MessageReceived,
                    WebhookEventType::HandoffRequested,
                ])
                .description(Some("CRM".parse().unwrap())),
        )
        .send()
        .await
        .expect("webhook_create");
    assert_eq!(created.status(), 201);
    let created = created.into_inner();
    assert_eq!(created.bot_id, bot.id);
    assert!(created.enabled);
    assert_eq!(created.consecutive_failures, 0);
    assert_eq!(created.disabled_reason, None);
    assert_eq!(created.description.as_deref(), Some("CRM"));
    let key = created
        .secret
        .strip_prefix("whsec_")
        .expect("a whsec_ secret");
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap();
    assert_eq!(key.len(), 32);
    let other = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/other"),
        vec![WebhookEventType::KbUpdated],
    )
    .await;
    assert_ne!(other.secret, created.secret);

    // The same URL twice on one bot: 409.
    let again = owner
        .webhook_create()
        .bot_id(bot.id)
        .body(
            types::WebhookCreate::builder()
                .url(receiver.url("/hooks"))
                .events(vec![WebhookEventType::MessageSent]),
        )
        .send()
        .await;
    expect_error(again, 409, ErrorCode::Conflict);

    // Listed oldest first, paginated, without secrets; read alone.
    let first = owner
        .webhook_list()
        .bot_id(bot.id)
        .limit(1u64)
        .send()
        .await
        .expect("webhook_list")
        .into_inner();
    assert_eq!(first.data.len(), 1);
    assert_eq!(first.data[0].id, created.id);
    assert_eq!(first.pagination.total, 2);
    assert!(first.pagination.has_more);
    let second = owner
        .webhook_list()
        .bot_id(bot.id)
        .cursor(first.pagination.next_cursor.clone().unwrap())
        .send()
        .await
        .expect("webhook_list, page 2")
        .into_inner();
    assert_eq!(
        second.data.iter().map(|w| w.id).collect::<Vec<_>>(),
        [other.id]
    );
    assert!(!second.pagination.has_more);
    let got = owner
        .webhook_get()
        .webhook_id(created.id)
        .send()
        .await
        .expect("webhook_get")
        .into_inner();
    assert_eq!(got.url, receiver.url("/hooks"));
    assert_eq!(
        got.events,
        [
            WebhookEventType::MessageReceived,
            WebhookEventType::HandoffRequested
        ]
    );
    let raw = ctx
        .http
        .get(ctx.url(&format!("/v1/webhooks/{}", created.id)))
        .bearer_auth(&session.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !raw.contains(&created.secret) && !raw.contains("secret"),
        "{raw}"
    );

    // Updated: events replaced; off (manual) and on again.
    let updated = owner
        .webhook_update()
        .webhook_id(created.id)
        .body(
            types::WebhookUpdate::builder()
                .events(Some(vec![WebhookEventType::MessageSent]))
                .enabled(Some(false)),
        )
        .send()
        .await
        .expect("webhook_update")
        .into_inner();
    assert_eq!(updated.events, [WebhookEventType::MessageSent]);
    assert!(!updated.enabled);
    assert_eq!(updated.disabled_reason.as_deref(), Some("manual"));
    let on = owner
        .webhook_update()
        .webhook_id(created.id)
        .body(types::WebhookUpdate::builder().enabled(Some(true)))
        .send()
        .await
        .expect("webhook_update")
        .into_inner();
    assert!(on.enabled);
    assert_eq!(on.disabled_reason, None);
    // Another webhook's URL: 409; a refused target: 422.
    let taken = owner
        .webhook_update()
        .webhook_id(created.id)
        .body(types::WebhookUpdate::builder().url(Some(receiver.url("/other").parse().unwrap())))
        .send()
        .await;
    expect_error(taken, 409, ErrorCode::Conflict);
    let refused = owner
        .webhook_update()
        .webhook_id(created.id)
        .body(types::WebhookUpdate::builder().url(Some("http://10.0.0.7/hook".parse().unwrap())))
        .send()
        .await;
    expect_invalid_field(refused, "url");
    // `description: null` removes it (a typed client leaves a None out, so plain JSON).
    let cleared = ctx
        .http
        .patch(ctx.url(&format!("/v1/webhooks/{}", created.id)))
        .bearer_auth(&session.token)
        .json(&serde_json::json!({ "description": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    let cleared: serde_json::Value = cleared.json().await.unwrap();
    assert_eq!(cleared["description"], serde_json::Value::Null);

    // Rotated: a new secret, and the next attempt is signed with it alone.
    let rotated = owner
        .webhook_secret_rotate()
        .webhook_id(created.id)
        .send()
        .await
        .expect("webhook_secret_rotate")
        .into_inner();
    assert_ne!(rotated.secret, created.secret);
    assert_eq!(rotated.id, created.id);

    // A test ping: queued (202), attempted once, signed with the new secret.
    let ping = owner
        .webhook_test()
        .webhook_id(created.id)
        .send()
        .await
        .expect("webhook_test");
    assert_eq!(ping.status(), 202);
    let ping = ping.into_inner();
    assert_eq!(ping.event_type, WebhookEventType::WebhookTest);
    assert_eq!(ping.attempt_count, 0);
    let done = finished(&owner, created.id, ping.id).await;
    assert_eq!(done.status, types::WebhookDeliveryStatus::Succeeded);
    assert_eq!(done.attempt_count, 1);
    assert_eq!(done.next_attempt_at, None);
    let attempt = &done.attempts[0];
    assert_eq!(attempt.status_code, Some(200));
    assert_eq!(attempt.error, None);
    assert_eq!(
        attempt.response_snippet.as_deref().map(|s| s.as_str()),
        Some("{\"status\":200}")
    );
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received[0].webhook_id(), ping.id.to_string());
    verify(&rotated.secret, &received[0]).expect("signed with the new secret");
    assert!(
        verify(&created.secret, &received[0]).is_err(),
        "not with the old one"
    );
    let body = received[0].json();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"]["webhook_id"], created.id.to_string());
    assert_eq!(body["data"]["bot_id"], bot.id.to_string());

    // The log lists it; redelivered, the receiver sees the same webhook-id again.
    let log = owner
        .delivery_list()
        .webhook_id(created.id)
        .status(types::DeliveryListStatus::Succeeded)
        .send()
        .await
        .expect("delivery_list")
        .into_inner();
    assert_eq!(log.data.len(), 1);
    assert_eq!(log.data[0].id, ping.id);
    let log_text = serde_json::to_string(&log).unwrap();
    assert!(
        !log_text.contains(&rotated.secret[6..]),
        "no secret in the delivery log"
    );
    let pending = owner
        .delivery_list()
        .webhook_id(created.id)
        .status(types::DeliveryListStatus::Pending)
        .send()
        .await
        .expect("delivery_list pending")
        .into_inner();
    assert_eq!(pending.pagination.total, 0);
    let again = owner
        .delivery_redeliver()
        .webhook_id(created.id)
        .delivery_id(ping.id)
        .send()
        .await
        .expect("delivery_redeliver");
    assert_eq!(again.status(), 202);
    assert_eq!(
        again.into_inner().status,
        types::WebhookDeliveryStatus::Pending
    );
    let done = finished(&owner, created.id, ping.id).await;
    assert_eq!(done.attempt_count, 2);
    assert_eq!(
        done.attempts
            .iter()
            .map(|a| a.attempt.get())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    let received = receiver.wait_for(2, WAIT).await;
    assert_eq!(received[1].webhook_id(), ping.id.to_string());
    assert_eq!(received[1].body, received[0].body, "the same payload");
    verify(&rotated.secret, &received[1]).expect("a fresh signature");

    // Redelivering one still pending: 409 (the receiver takes its time with this one).
    receiver.set_script(|_, _| Reply::status(200).after(Duration::from_secs(2)));
    let slow = owner.webhook_test().webhook_id(created.id).send().await;
    let slow = slow.expect("webhook_test").into_inner();
    let early = owner
        .delivery_redeliver()
        .webhook_id(created.id)
        .delivery_id(slow.id)
        .send()
        .await;
    expect_error(early, 409, ErrorCode::Conflict);

    // Unknown ids: 404 with their own codes.
    let missing = owner
        .delivery_get()
        .webhook_id(created.id)
        .delivery_id(Uuid::new_v4())
        .send()
        .await;
    expect_error(missing, 404, ErrorCode::DeliveryNotFound);
    let wrong_webhook = owner
        .delivery_get()
        .webhook_id(other.id)
        .delivery_id(ping.id)
        .send()
        .await;
    expect_error(wrong_webhook, 404, ErrorCode::DeliveryNotFound);

    // Deleted: gone, with its log.
    let deleted = owner
        .webhook_delete()
        .webhook_id(created.id)
        .send()
        .await
        .expect("webhook_delete");
    assert_eq!(deleted.status(), 204);
    let gone = owner.webhook_get().webhook_id(created.id).send().await;
    expect_error(gone, 404, ErrorCode::WebhookNotFound);
    let gone = owner.delivery_list().webhook_id(created.id).send().await;
    expect_error(gone, 404, ErrorCode::WebhookNotFound);
    let twice = owner.webhook_delete().webhook_id(created.id).send().await;
    expect_error(twice, 404, ErrorCode::WebhookNotFound);
}

async fn webhooks_of_another_account_are_not_found(ctx: &TestContext) {
    let mine = register(ctx, "hook-owner@example.test", "Owner").await;
    let owner = bearer(ctx, &mine.token);
    let bot = create_bot(&owner, "Mine").await;
    let other_bot = create_bot(&owner, "Also mine").await;
    let receiver = Receiver::accepting().await;
    let hook = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/"),
        vec![WebhookEventType::MessageSent],
    )
    .await;
    let ping = send_ping(&owner, hook.id).await;

    let theirs = register(ctx, "hook-stranger@example.test", "Stranger").await;
    let stranger = bearer(ctx, &theirs.token);
    let not_found = |r: Result<ResponseValue<_>, _>| {
        expect_error::<types::Webhook>(r, 404, ErrorCode::WebhookNotFound)
    };
    not_found(stranger.webhook_get().webhook_id(hook.id).send().await);
    let update = stranger
        .webhook_update()
        .webhook_id(hook.id)
        .body(types::WebhookUpdate::builder().enabled(Some(false)))
        .send()
        .await;
    not_found(update);
    let delete = stranger.webhook_delete().webhook_id(hook.id).send().await;
    expect_error(delete, 404, ErrorCode::WebhookNotFound);
    let rotate = stranger
        .webhook_secret_rotate()
        .webhook_id(hook.id)
        .send()
        .await;
    expect_error(rotate, 404, ErrorCode::WebhookNotFound);
    let test = stranger.webhook_test().webhook_id(hook.id).send().await;
    expect_error(test, 404, ErrorCode::WebhookNotFound);
    let log = stranger.delivery_list().webhook_id(hook.id).send().await;
    expect_error(log, 404, ErrorCode::WebhookNotFound);
    let one = stranger
        .delivery_get()
        .webhook_id(hook.id)
        .delivery_id(ping.id)
        .send()
        .await;
    expect_error(one, 404, ErrorCode::WebhookNotFound);
    let redeliver = stranger
        .delivery_redeliver()
        .webhook_id(hook.id)
        .delivery_id(ping.id)
        .send()
        .await;
    expect_error(redeliver, 404, ErrorCode::WebhookNotFound);
    let create = stranger
        .webhook_create()
        .bot_id(bot.id)
        .body(
            types::WebhookCreate::builder()
                .url(receiver.url("/theirs"))
                .events(vec![WebhookEventType::MessageSent]),
        )
        .send()
        .await;
    expect_error(create, 404, ErrorCode::BotNotFound);
    let list = stranger.webhook_list().bot_id(bot.id).send().await;
    expect_error(list, 404, ErrorCode::BotNotFound);

    // A key scoped to another bot of the same account: 403.
    let scoped = create_key(&owner, "scoped", Some(other_bot.id), None).await;
    let scoped = bearer(ctx, &scoped.key);
    let forbidden = scoped.webhook_get().webhook_id(hook.id).send().await;
    expect_error(forbidden, 403, ErrorCode::Forbidden);
    // The owner still sees it unchanged.
    let still = owner.webhook_get().webhook_id(hook.id).send().await;
    assert!(still.expect("webhook_get").enabled);
}

async fn webhook_create_refuses_targets_resolving_to_special_addresses(ctx: &TestContext) {
    // The default configuration: no allowed CIDRs.
    let session = register(ctx, "ssrf@example.test", "Careful").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Careful").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://224.0.0.1/hook",
        "http://does-not-exist.invalid/hook",
    ] {
        let refused = owner
            .webhook_create()
            .bot_id(bot.id)
            .body(
                types::WebhookCreate::builder()
                    .url(url)
                    .events(vec![WebhookEventType::MessageSent]),
            )
            .send()
            .await;
        expect_invalid_field(refused, "url");
    }
    let list = owner
        .webhook_list()
        .bot_id(bot.id)
        .send()
        .await
        .expect("webhook_list");
    assert_eq!(list.into_inner().pagination.total, 0, "nothing was created");
}

on_both_databases!(
    config = fast,
    webhooks_are_managed_and_pinged,
    webhooks_of_another_account_are_not_found,
);
on_both_databases!(webhook_create_refuses_targets_resolving_to_special_addresses);
