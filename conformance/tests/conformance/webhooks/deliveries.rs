//! What webhook deliveries do: Standard Webhooks signatures checked by an implementation that
//! is not ours (the `standardwebhooks` crate), which also rejects altered and replayed
//! deliveries; every event type reaching its subscribers (account-wide ones every bot's); no
//! event stored without a subscriber; retries on the schedule honouring `Retry-After`; disabling
//! after failures, with the owner told; redirects not followed and answers read to a bound; the
//! target checked again at every attempt; two replicas on one PostgreSQL attempting each
//! delivery once; an attempt in the log from before its request is sent.

use crate::conformance::support::chat::{ask, faq_csv, file, message, upload};
use crate::conformance::support::webhooks::{
    WAIT, create_webhook, deliveries, fast, fastest, finished, send_ping, verify, webhook,
};
use crate::conformance::support::{
    bearer, create_bot, expect_error, mail_count, register, registered,
};
use botwire_client::types::{self, ErrorCode, WebhookEventType};
use botwire_conformance::receiver::{Received, Receiver, Reply};
use botwire_conformance::{Backend, TestContext, on_both_databases};
use botwire_server::config::{Config, WebhookConfig};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

/// [`fast`], with a monthly quota of 5 messages (to reach its `quota.warning`).
fn fast_with_a_quota_of_5(config: &mut Config) {
    fast(config);
    config.monthly_message_quota = Some(5);
}

/// [`fast`], with the delivery workers asleep (events wait for them).
fn fast_with_the_workers_asleep(config: &mut Config) {
    fast(config);
    config.webhooks.poll_interval = Duration::from_secs(3600);
}

async fn deliveries_are_signed_and_verify_independently(ctx: &TestContext) {
    let session = register(ctx, "signed@example.test", "Signed").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Signed").await;
    let receiver = Receiver::accepting().await;
    let hook = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/signed"),
        vec![
            WebhookEventType::MessageReceived,
            WebhookEventType::KbUpdated,
            WebhookEventType::ConversationEnded,
        ],
    )
    .await;

    // A chat message, a document uploaded and deleted, a session deleted: four events.
    ask(&owner, bot.id, "visitor-1", "Hello there").await;
    receiver.wait_for(1, WAIT).await;
    let document = upload(
        &owner,
        bot.id,
        file("faq.csv", faq_csv(&[("Open?", "Yes.")])),
    )
    .await;
    receiver.wait_for(2, WAIT).await;
    let deleted = owner
        .document_delete()
        .bot_id(bot.id)
        .document_id(document.id)
        .send()
        .await;
    assert_eq!(deleted.expect("document_delete").status(), 204);
    receiver.wait_for(3, WAIT).await;
    let session_gone = owner
        .session_delete()
        .bot_id(bot.id)
        .session_id("visitor-1")
        .send()
        .await;
    assert_eq!(session_gone.expect("session_delete").status(), 204);
    let received = receiver.wait_for(4, WAIT).await;
    let by_type: BTreeMap<String, Vec<&Received>> =
        received.iter().fold(BTreeMap::new(), |mut map, r| {
            map.entry(r.json()["type"].as_str().unwrap().to_string())
                .or_default()
                .push(r);
            map
        });
    let message = by_type["message.received"][0].json();
    assert_eq!(message["data"]["bot_id"], bot.id.to_string());
    assert_eq!(message["data"]["session_id"], "visitor-1");
    let kb = &by_type["kb.updated"];
    assert_eq!(kb.len(), 2);
    assert_eq!(kb[0].json()["data"]["action"], "created");
    assert_eq!(kb[1].json()["data"]["action"], "deleted");
    assert_eq!(kb[1].json()["data"]["document_id"], document.id.to_string());
    assert_eq!(kb[1].json()["data"]["faq_count"], 1);
    let ended = by_type["conversation.ended"][0].json();
    assert_eq!(ended["data"]["conversation"]["session_id"], "visitor-1");
    assert_eq!(ended["data"]["conversation"]["status"], "closed");
    assert_eq!(ended["data"]["previous_status"], "open");

    // Every request verifies with the independent implementation.
    for request in &received {
        verify(&hook.secret, request).unwrap_or_else(|e| panic!("{e:?}: {request:?}"));
        let timestamp: i64 = request.headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!((now - timestamp).abs() < 60);
        assert_eq!(request.headers["content-type"], "application/json");
    }
    let request = &received[0];
    // An altered body fails verification...
    let mut altered = request.clone();
    altered.body = String::from_utf8(altered.body)
        .unwrap()
        .replace("Hello", "Hallo")
        .into_bytes();
    assert!(
        verify(&hook.secret, &altered).is_err(),
        "an altered body is rejected"
    );
    // ...and so does a replay: the same id and body, correctly signed, but 10 minutes old.
    let verifier = standardwebhooks::Webhook::new(&hook.secret).unwrap();
    let old = chrono::Utc::now().timestamp() - 600;
    let id = request.webhook_id();
    let signature = verifier.sign(&id, old, &request.body).unwrap();
    let mut replayed = request.clone();
    replayed
        .headers
        .insert("webhook-timestamp", old.to_string().parse().unwrap());
    replayed
        .headers
        .insert("webhook-signature", signature.parse().unwrap());
    let refused = verify(&hook.secret, &replayed);
    assert!(
        matches!(
            refused,
            Err(standardwebhooks::WebhookError::TimestampTooOldError)
        ),
        "a replayed delivery is rejected: {refused:?}"
    );
    // A signature made with another secret fails.
    let stranger =
        standardwebhooks::Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let now = chrono::Utc::now().timestamp();
    let mut forged = request.clone();
    forged
        .headers
        .insert("webhook-timestamp", now.to_string().parse().unwrap());
    let forged_signature = stranger.sign(&id, now, &request.body).unwrap();
    forged
        .headers
        .insert("webhook-signature", forged_signature.parse().unwrap());
    assert!(verify(&hook.secret, &forged).is_err());

    // One delivery per event, each succeeded at the first attempt (once recorded: the receiver
    // has a request before the server has recorded its answer).
    let log = deliveries(&owner, hook.id, 4).await;
    assert_eq!(log.len(), 4);
    let ids: HashSet<String> = received.iter().map(Received::webhook_id).collect();
    for delivery in &log {
        let delivery = finished(&owner, hook.id, delivery.id).await;
        assert!(ids.contains(&delivery.id.to_string()));
        assert_eq!(delivery.status, types::WebhookDeliveryStatus::Succeeded);
        assert_eq!(delivery.attempt_count, 1);
    }
}

async fn failed_attempts_are_retried_until_one_succeeds(ctx: &TestContext) {
    let session = register(ctx, "retried@example.test", "Retried").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Retried").await;
    // 503, 500, then 429 asking for 1500 s (1.5 s at this scale, above the schedule's 0.6 s),
    // then 200.
    let receiver = Receiver::start(|_, nth| match nth {
        0 => Reply::status(503).body("{\"error\":\"upstream unavailable\"}"),
        1 => Reply::status(500),
        2 => Reply::status(429).header("retry-after", "1500"),
        _ => Reply::status(200).body("{\"ok\":true}"),
    })
    .await;
    let hook = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/flaky"),
        vec![WebhookEventType::MessageReceived],
    )
    .await;
    ask(&owner, bot.id, "retry-1", "Anyone there?").await;

    let received = receiver.wait_for(4, WAIT).await;
    let log = deliveries(&owner, hook.id, 1).await;
    assert_eq!(log.len(), 1, "one event, one delivery");
    let delivery = finished(&owner, hook.id, log[0].id).await;
    assert_eq!(delivery.status, types::WebhookDeliveryStatus::Succeeded);
    assert_eq!(delivery.attempt_count, 4);
    let codes: Vec<Option<i64>> = delivery.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(503), Some(500), Some(429), Some(200)]);
    assert_eq!(
        delivery
            .attempts
            .iter()
            .map(|a| a.attempt.get())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(
        delivery.attempts[0]
            .response_snippet
            .as_deref()
            .map(|s| s.as_str()),
        Some("{\"error\":\"upstream unavailable\"}")
    );
    // Exactly four requests, all under the delivery's id, each verifying.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received_now = receiver.received();
    assert_eq!(received_now.len(), 4, "no attempt after the success");
    for request in &received {
        assert_eq!(request.webhook_id(), delivery.id.to_string());
        verify(&hook.secret, request).expect("every retry is signed");
    }
    // Retry-After was honoured: the fourth came at least 1.5 s after the third.
    let gap = received[3].at - received[2].at;
    assert!(gap >= Duration::from_millis(1400), "{gap:?}");
    // The webhook's run of failures is over.
    assert_eq!(webhook(&owner, hook.id).await.consecutive_failures, 0);
}

/// An attempt is in the delivery log while its request is out, without an outcome, so that a
/// server stopped then (kill -9) leaves a log counting every attempt a receiver may have seen.
async fn an_attempt_is_logged_before_its_request_is_sent(ctx: &TestContext) {
    let session = register(ctx, "in-flight@example.test", "In flight").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "In flight").await;
    let receiver = Receiver::start(|_, _| Reply::status(200).after(Duration::from_secs(2))).await;
    let hook = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/slow"),
        vec![WebhookEventType::MessageReceived],
    )
    .await;
    let queued = owner.webhook_test().webhook_id(hook.id).send().await;
    let queued = queued.expect("webhook_test").into_inner();

    // The request has arrived; its answer is 2 s away.
    receiver.wait_for(1, WAIT).await;
    let in_flight = owner
        .delivery_get()
        .webhook_id(hook.id)
        .delivery_id(queued.id)
        .send()
        .await
        .expect("delivery_get")
        .into_inner();
    assert_eq!(in_flight.status, types::WebhookDeliveryStatus::Pending);
    assert_eq!(in_flight.attempt_count, 1, "{in_flight:?}");
    assert_eq!(in_flight.attempts.len(), 1, "{in_flight:?}");
    let begun = &in_flight.attempts[0];
    assert_eq!(begun.attempt.get(), 1);
    assert_eq!(begun.status_code, None);
    assert_eq!(begun.response_snippet, None);
    assert_eq!(
        begun.error.as_deref(),
        Some(botwire_server::store::webhooks::ATTEMPT_IN_FLIGHT)
    );

    // Its outcome replaces the placeholder: still one attempt.
    let done = finished(&owner, hook.id, queued.id).await;
    assert_eq!(done.status, types::WebhookDeliveryStatus::Succeeded);
    assert_eq!(done.attempt_count, 1);
    assert_eq!(done.attempts.len(), 1, "{done:?}");
    assert_eq!(done.attempts[0].attempt.get(), 1);
    assert_eq!(done.attempts[0].status_code, Some(200));
    assert_eq!(done.attempts[0].error, None);
    assert_eq!(done.attempts[0].attempted_at, begun.attempted_at);
    assert_eq!(receiver.received().len(), 1);
}

/// A server stopped mid-attempt (kill -9), played at the store with the delivery workers
/// asleep: the attempt it began stays in the log, without an outcome, and counts; the replica
/// that takes the delivery after the lease makes the next attempt; a delivery whose last
/// attempt was cut short is failed, not attempted a time more.
async fn an_attempt_cut_short_stays_in_the_log_and_counts(ctx: &TestContext) {
    use botwire_server::store::webhooks::{self as store, AttemptRow, DeliveryRow, Started};
    let session = register(ctx, "cut-short@example.test", "Cut short").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Cut short").await;
    let receiver = Receiver::accepting().await;
    let hook = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/never"),
        vec![WebhookEventType::MessageReceived],
    )
    .await;
    let db = botwire_server::db::Db::connect(ctx.database_url(), 1)
        .await
        .expect("the database");
    let now = botwire_server::store::now;
    let later = |seconds: i64| now() + chrono::TimeDelta::seconds(seconds);
    let pending = |attempts_left: i64| DeliveryRow {
        id: uuid::Uuid::now_v7().to_string(),
        webhook_id: hook.id.to_string(),
        event_id: None,
        event_type: store::TEST_EVENT.to_string(),
        payload: "{}".to_string(),
        status: store::PENDING.to_string(),
        attempt_count: 0,
        attempts_left,
        next_attempt_at: Some(later(-1)),
        locked_by: None,
        locked_until: None,
        created_at: now(),
    };
    let read = async |id: &str| {
        owner
            .delivery_get()
            .webhook_id(hook.id)
            .delivery_id(id.parse::<uuid::Uuid>().expect("a uuid"))
            .send()
            .await
            .expect("delivery_get")
            .into_inner()
    };

    // Replica a claims a delivery with two attempts left, begins one, and dies.
    let delivery = pending(2);
    store::delivery_create(&db, &delivery)
        .await
        .expect("delivery_create");
    let (claimed, _) = store::delivery_claim(&db, &delivery.id, "a", now(), later(-1))
        .await
        .expect("delivery_claim")
        .expect("claimed");
    let started = store::attempt_start(&db, &claimed, &AttemptRow::begun(&claimed, "a")).await;
    assert_eq!(started.expect("attempt_start"), Started::Begun);
    let log = read(&delivery.id).await;
    assert_eq!(log.status, types::WebhookDeliveryStatus::Pending);
    assert_eq!(log.attempt_count, 1);
    assert_eq!(log.attempts.len(), 1);
    assert_eq!(log.attempts[0].status_code, None);

    // Its lease has run out: replica b takes the delivery and makes attempt 2, its last.
    let (claimed, _) = store::delivery_claim(&db, &delivery.id, "b", now(), later(60))
        .await
        .expect("delivery_claim")
        .expect("claimed again after the lease");
    assert_eq!((claimed.attempt_count, claimed.attempts_left), (1, 1));
    let started = store::attempt_start(&db, &claimed, &AttemptRow::begun(&claimed, "b")).await;
    assert_eq!(started.expect("attempt_start"), Started::Begun);
    // Replica a, had it lived on, could not start another attempt under its old lease.
    let stale = store::attempt_start(&db, &claimed, &AttemptRow::begun(&claimed, "a")).await;
    assert_eq!(stale.expect("attempt_start"), Started::LeaseLost);
    let log = read(&delivery.id).await;
    assert_eq!(log.attempt_count, 2);
    let attempts: Vec<(u64, Option<&str>)> = log
        .attempts
        .iter()
        .map(|a| (a.attempt.get(), a.error.as_deref()))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, Some(store::ATTEMPT_IN_FLIGHT)),
            (2, Some(store::ATTEMPT_IN_FLIGHT))
        ],
        "{log:?}"
    );

    // b dies too, during the last attempt: whoever claims it next fails it, sending nothing.
    let last = store::delivery_claim(&db, &delivery.id, "c", later(61), later(120))
        .await
        .expect("delivery_claim")
        .expect("claimed after b's lease");
    let started = store::attempt_start(&db, &last.0, &AttemptRow::begun(&last.0, "c")).await;
    assert_eq!(started.expect("attempt_start"), Started::Exhausted);
    let log = read(&delivery.id).await;
    assert_eq!(log.status, types::WebhookDeliveryStatus::Failed);
    assert_eq!(log.attempt_count, 2);
    assert_eq!(log.attempts.len(), 2);
    assert!(receiver.received().is_empty(), "nothing was sent");
}

async fn a_webhook_is_disabled_after_failed_deliveries(ctx: &TestContext) {
    let session = register(ctx, "disabled@example.test", "Disabled").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Failing").await;
    let receiver = Receiver::start(|_, _| Reply::status(500)).await;
    let hook = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/down"),
        vec![WebhookEventType::MessageReceived],
    )
    .await;
    for n in 0..10 {
        ask(&owner, bot.id, &format!("d-{n}"), "Hello?").await;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let disabled = loop {
        let now = webhook(&owner, hook.id).await;
        if !now.enabled {
            break now;
        }
        assert!(Instant::now() < deadline, "not disabled: {now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some("consecutive_failures")
    );
    assert_eq!(disabled.consecutive_failures, 10);
    let failed = owner
        .delivery_list()
        .webhook_id(hook.id)
        .status(types::DeliveryListStatus::Failed)
        .send()
        .await
        .expect("delivery_list")
        .into_inner();
    assert_eq!(failed.pagination.total, 10);
    for delivery in &failed.data {
        assert_eq!(delivery.attempt_count, 9, "every attempt of the schedule");
        assert_eq!(delivery.next_attempt_at, None);
    }
    assert_eq!(receiver.received().len(), 90);
    // The owner is told by email.
    let deadline = Instant::now() + WAIT;
    while mail_count(ctx, "disabled@example.test") < 2 {
        assert!(
            Instant::now() < deadline,
            "no mail about the disabled webhook"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // While off, events are not queued, and a redelivery is refused; a test ping still goes.
    ask(&owner, bot.id, "d-late", "Still there?").await;
    let redeliver = owner
        .delivery_redeliver()
        .webhook_id(hook.id)
        .delivery_id(failed.data[0].id)
        .send()
        .await;
    expect_error(redeliver, 409, ErrorCode::Conflict);
    receiver.set_script(|_, _| Reply::status(204));
    let ping = send_ping(&owner, hook.id).await;
    assert_eq!(ping.status, types::WebhookDeliveryStatus::Succeeded);
    let all = owner
        .delivery_list()
        .webhook_id(hook.id)
        .send()
        .await
        .expect("delivery_list");
    assert_eq!(
        all.into_inner().pagination.total,
        11,
        "ten failed and the ping"
    );
    let still = webhook(&owner, hook.id).await;
    assert_eq!(still.consecutive_failures, 10, "a ping does not count");
}

async fn redirects_are_not_followed_and_answers_are_read_to_a_bound(ctx: &TestContext) {
    let session = register(ctx, "bounded@example.test", "Bounded").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Bounded").await;
    let receiver =
        Receiver::start(|_, _| Reply::status(302).header("location", "/elsewhere")).await;
    let hook = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/moved"),
        vec![WebhookEventType::MessageSent],
    )
    .await;
    let ping = send_ping(&owner, hook.id).await;
    assert_eq!(
        ping.status,
        types::WebhookDeliveryStatus::Failed,
        "a test ping is not retried"
    );
    let attempt = &ping.attempts[0];
    assert_eq!(attempt.status_code, Some(302));
    let error = attempt.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("redirect not followed (Location /elsewhere"),
        "{error}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "the redirect was not followed"
    );

    // A large answer: only its first 1024 characters are kept.
    receiver.set_script(|_, _| Reply::status(200).body("x".repeat(100_000)));
    let ping = send_ping(&owner, hook.id).await;
    assert_eq!(ping.status, types::WebhookDeliveryStatus::Succeeded);
    let snippet = ping.attempts[0]
        .response_snippet
        .as_deref()
        .expect("a snippet");
    assert_eq!(snippet.as_str(), "x".repeat(1024));
}

/// Every event that exists today reaches the webhooks subscribed to it; an account-wide event
/// (`quota.warning`) reaches the subscribed webhooks of every bot of the account.
async fn every_event_reaches_its_subscribers(ctx: &TestContext) {
    let session = register(ctx, "events@example.test", "Events").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Eventful").await;
    let other_bot = create_bot(&owner, "Quiet").await;
    let all = Receiver::accepting().await;
    let quota_only = Receiver::accepting().await;
    let every = vec![
        WebhookEventType::MessageReceived,
        WebhookEventType::MessageSent,
        WebhookEventType::ConversationStarted,
        WebhookEventType::ConversationEnded,
        WebhookEventType::HandoffRequested,
        WebhookEventType::FeedbackReceived,
        WebhookEventType::KbUpdated,
        WebhookEventType::QuotaWarning,
    ];
    create_webhook(&owner, bot.id, &all.url("/all"), every).await;
    let quota_hook = vec![WebhookEventType::QuotaWarning];
    create_webhook(&owner, other_bot.id, &quota_only.url("/quota"), quota_hook).await;

    let reply = ask(&owner, bot.id, "ev-1", "Hello").await;
    let escalated = owner
        .conversation_escalate()
        .conversation_id(reply.conversation_id)
        .body(types::ConversationEscalate::builder())
        .send()
        .await;
    escalated.expect("conversation_escalate");
    let rated = owner
        .feedback_create()
        .conversation_id(reply.conversation_id)
        .body(types::FeedbackCreate::builder().rating(Some(types::FeedbackRating::Up)))
        .send()
        .await;
    rated.expect("feedback_create");
    upload(
        &owner,
        bot.id,
        file("faq.csv", faq_csv(&[("Open?", "Yes.")])),
    )
    .await;
    let deleted = owner
        .session_delete()
        .bot_id(bot.id)
        .session_id("ev-1")
        .send()
        .await;
    deleted.expect("session_delete");
    // Messages until the quota's 80% warning (the answers past the quota are refused).
    let deadline = Instant::now() + WAIT;
    while quota_only.received().is_empty() {
        assert!(Instant::now() < deadline, "no quota.warning");
        let _ = owner
            .chat_send()
            .body(message(Some(bot.id), Some("ev-2"), "More"))
            .send()
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let expected: BTreeSet<&str> = [
        "message.received",
        "message.sent",
        "conversation.started",
        "conversation.ended",
        "handoff.requested",
        "feedback.received",
        "kb.updated",
        "quota.warning",
    ]
    .into();
    let deadline = Instant::now() + WAIT;
    loop {
        let types: BTreeSet<String> = all
            .received()
            .iter()
            .map(|r| r.json()["type"].as_str().unwrap_or_default().to_string())
            .collect();
        let types: BTreeSet<&str> = types.iter().map(String::as_str).collect();
        if types == expected {
            break;
        }
        assert!(Instant::now() < deadline, "received {types:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let quota = quota_only.received();
    assert_eq!(
        quota.len(),
        1,
        "the other bot's webhook got the account's warning only"
    );
    assert_eq!(quota[0].json()["type"], "quota.warning");
}

/// A chat event of an account with no enabled webhook is not written: the events table is
/// the webhooks' outbox and nothing would deliver it. A subscribed account's events wait for
/// the worker (asleep here).
async fn chat_events_without_a_subscriber_are_not_stored(ctx: &TestContext) {
    let (quiet, db, quiet_account) = registered(ctx, "no-hooks@example.test").await;
    let (subscribed, _, subscribed_account) = registered(ctx, "hooks@example.test").await;
    let quiet = bearer(ctx, &quiet.token);
    let subscribed = bearer(ctx, &subscribed.token);
    let quiet_bot = create_bot(&quiet, "Quiet").await;
    let subscribed_bot = create_bot(&subscribed, "Subscribed").await;
    let receiver = Receiver::accepting().await;
    create_webhook(
        &subscribed,
        subscribed_bot.id,
        &receiver.url("/hook"),
        vec![WebhookEventType::MessageReceived],
    )
    .await;
    ask(&quiet, quiet_bot.id, "s1", "Hello").await;
    ask(&subscribed, subscribed_bot.id, "s1", "Hello").await;
    let stored = async |account: &str, event_type: &str| {
        botwire_server::store::usage::events_of_account(&db, account, event_type)
            .await
            .expect("reading the account's events")
            .len()
    };
    for event_type in ["message.received", "message.sent"] {
        assert_eq!(
            stored(&quiet_account, event_type).await,
            0,
            "no {event_type} event of the account without webhooks"
        );
        assert_eq!(
            stored(&subscribed_account, event_type).await,
            1,
            "the subscribed account's {event_type} event"
        );
    }
    let waiting = botwire_server::store::webhooks::events_to_fan_out(&db, 1000)
        .await
        .expect("reading the events to fan out");
    assert!(
        waiting.iter().any(|e| e.account_id == subscribed_account),
        "the subscribed account's chat events wait for the worker: {waiting:?}"
    );
}

/// The check is made again at every attempt: a replica without the allow-list refuses a target
/// that was allowed when the webhook was created (as if its name now resolved elsewhere).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_target_is_checked_again_at_every_attempt() {
    let ctx = TestContext::with(Backend::Postgres, |config| {
        fast(config);
        config.webhooks.allowed_cidrs = WebhookConfig::parse_cidrs("127.0.0.0/8,::1").unwrap();
        // This server's workers sleep: the replica below makes the attempts.
        config.webhooks.poll_interval = Duration::from_secs(3600);
    })
    .await
    .expect("a server");
    let strict = ctx
        .replica(|config| {
            fast(config);
            config.webhooks.allowed_cidrs = Vec::new();
        })
        .await
        .expect("a replica without the allow-list");
    let session = register(&ctx, "rebind@example.test", "Rebind").await;
    let owner = bearer(&ctx, &session.token);
    let bot = create_bot(&owner, "Rebind").await;
    let receiver = Receiver::accepting().await;
    let by_address = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/a"),
        vec![WebhookEventType::WebhookTest],
    )
    .await;
    let by_name = format!("http://localhost:{}/b", receiver.port());
    let by_name = create_webhook(
        &owner,
        bot.id,
        &by_name,
        vec![WebhookEventType::WebhookTest],
    )
    .await;
    for hook in [&by_address, &by_name] {
        let ping = send_ping(&owner, hook.id).await;
        assert_eq!(ping.status, types::WebhookDeliveryStatus::Failed);
        let attempt = &ping.attempts[0];
        assert_eq!(attempt.status_code, None);
        let error = attempt.error.as_deref().unwrap_or_default();
        assert!(error.contains("refused"), "{error}");
    }
    assert!(receiver.received().is_empty(), "nothing reached the target");
    strict.close().await.expect("stopping the replica");
    ctx.teardown().await;
}

// ---- replicas ----------------------------------------------------------------------------

/// Two servers on one PostgreSQL, both delivering: every attempt is made by one of them only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_make_each_attempt_once() {
    let ctx = TestContext::with(Backend::Postgres, fast)
        .await
        .expect("a server");
    let replica = ctx.replica(fast).await.expect("a replica");
    let session = register(&ctx, "replicas-hooks@example.test", "Replicated").await;
    let owner = bearer(&ctx, &session.token);
    let bot = create_bot(&owner, "Replicated").await;
    // The first attempt of each delivery fails; answers take a while, so that one replica's
    // slots fill and the other takes its share.
    let receiver = Receiver::start(|_, nth| {
        let delay = Duration::from_millis(150);
        if nth == 0 {
            Reply::status(500).after(delay)
        } else {
            Reply::status(200).after(delay)
        }
    })
    .await;
    let hook = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/both"),
        vec![
            WebhookEventType::MessageReceived,
            WebhookEventType::MessageSent,
        ],
    )
    .await;
    for n in 0..20 {
        ask(&owner, bot.id, &format!("rep-{n}"), "Hello").await;
    }
    let received = receiver.wait_for(80, Duration::from_secs(60)).await;
    let log = deliveries(&owner, hook.id, 40).await;
    assert_eq!(log.len(), 40);
    for delivery in &log {
        let delivery = finished(&owner, hook.id, delivery.id).await;
        assert_eq!(delivery.status, types::WebhookDeliveryStatus::Succeeded);
        assert_eq!(delivery.attempt_count, 2, "{delivery:?}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received_now = receiver.received();
    assert_eq!(received_now.len(), 80, "no duplicate attempt");
    let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
    for request in &received {
        *per_id.entry(request.webhook_id()).or_default() += 1;
    }
    assert_eq!(per_id.len(), 40);
    assert!(per_id.values().all(|n| *n == 2), "{per_id:?}");
    // Both replicas took part.
    let db = botwire_server::db::Db::connect(ctx.database_url(), 1)
        .await
        .expect("the database");
    let by_replica = botwire_server::store::webhooks::attempts_per_replica(&db)
        .await
        .expect("attempts per replica");
    assert_eq!(by_replica.len(), 2, "{by_replica:?}");
    assert_eq!(by_replica.iter().map(|(_, n)| n).sum::<i64>(), 80);
    replica.close().await.expect("stopping the replica");
    ctx.teardown().await;
}

on_both_databases!(
    config = fast,
    deliveries_are_signed_and_verify_independently,
    failed_attempts_are_retried_until_one_succeeds,
    redirects_are_not_followed_and_answers_are_read_to_a_bound,
    an_attempt_is_logged_before_its_request_is_sent,
);
on_both_databases!(
    config = fastest,
    a_webhook_is_disabled_after_failed_deliveries
);
on_both_databases!(
    config = fast_with_a_quota_of_5,
    every_event_reaches_its_subscribers
);
on_both_databases!(
    config = fast_with_the_workers_asleep,
    chat_events_without_a_subscriber_are_not_stored,
    an_attempt_cut_short_stays_in_the_log_and_counts,
);
