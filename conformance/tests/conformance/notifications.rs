//! Notifications: written with their cause (a member joins a team, a conversation is handed to
//! a human on a bot one can see), listed newest first with an `unread` filter, counted, marked
//! read one by one or all at once; preferences per type and channel; the email copies sent
//! once each, after the request, by the mail round.

use crate::conformance::support::chat::ask;
use crate::conformance::support::teams::{add_member, create_team, verified};
use crate::conformance::support::webhooks::fast;
use crate::conformance::support::{create_bot, expect_error, mails_to, some, widget};
use botwire_client::Client;
use botwire_client::types::{self, ErrorCode, NotificationType, TeamRole};
use botwire_conformance::{TestContext, on_both_databases};
use std::time::{Duration, Instant};
use uuid::Uuid;

async fn listed(client: &Client, unread: Option<bool>) -> Vec<types::Notification> {
    let mut request = client.notification_list();
    if let Some(unread) = unread {
        request = request.unread(unread);
    }
    request
        .send()
        .await
        .expect("notification_list")
        .into_inner()
        .data
}

async fn unread(client: &Client) -> u64 {
    client
        .notification_unread_count_get()
        .send()
        .await
        .expect("notification_unread_count_get")
        .unread
}

async fn escalate(client: &Client, conversation_id: Uuid) {
    client
        .conversation_escalate()
        .conversation_id(conversation_id)
        .body(
            types::ConversationEscalate::builder()
                .reason(some::<types::ConversationEscalateReason>("Wants a person")),
        )
        .send()
        .await
        .expect("conversation_escalate");
}

/// The mails to `email` whose subject is `subject`, once there are `count` (the mail round runs
/// after the request).
async fn mails_with(ctx: &TestContext, email: &str, subject: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mails: Vec<String> = mails_to(ctx, email)
            .into_iter()
            .filter(|raw| {
                raw.lines()
                    .any(|l| l.trim_end() == format!("Subject: {subject}"))
            })
            .collect();
        if mails.len() >= count {
            return mails;
        }
        assert!(
            Instant::now() < deadline,
            "{count} mails \"{subject}\" to {email}: {}",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn notifications_come_with_their_cause_and_are_read(ctx: &TestContext) {
    let (_, alva) = verified(ctx, "alva@example.test", "Alva").await;
    let (_, bruno) = verified(ctx, "bruno@example.test", "Bruno").await;
    let (_, cleo) = verified(ctx, "cleo@example.test", "Cleo").await;
    let (_, dora) = verified(ctx, "dora@example.test", "Dora").await;
    let team = create_team(&alva, "Support").await;
    add_member(
        ctx,
        &alva,
        team.id,
        "bruno@example.test",
        &bruno,
        TeamRole::Admin,
    )
    .await;

    // Bruno joined: the owner is told, Bruno is not.
    let joined = listed(&alva, None).await;
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0].type_, NotificationType::TeamInvite);
    assert_eq!(joined[0].title, "Bruno joined Support");
    assert_eq!(
        joined[0].data.get("team_id"),
        Some(&serde_json::json!(team.id))
    );
    assert!(joined[0].read_at.is_none());
    assert!(listed(&bruno, None).await.is_empty());
    // Cleo joins as agent: the owner and the admin are told.
    add_member(
        ctx,
        &alva,
        team.id,
        "cleo@example.test",
        &cleo,
        TeamRole::Agent,
    )
    .await;
    assert_eq!(unread(&alva).await, 2);
    assert_eq!(listed(&bruno, None).await[0].title, "Cleo joined Support");
    assert!(listed(&cleo, None).await.is_empty());

    // Cleo wants no handoff notifications; a handoff on the shared bot tells the others.
    let prefs = cleo
        .notification_preferences_update()
        .body(types::NotificationPreferencesUpdate::builder().types(Some(
            types::NotificationPreferencesTypesUpdate {
                handoff_requested: Some(false),
                ..Default::default()
            },
        )))
        .send()
        .await
        .expect("notification_preferences_update")
        .into_inner();
    assert!(!prefs.types.handoff_requested);
    assert!(
        prefs.types.mention && prefs.email && prefs.in_app,
        "left out keeps its value"
    );
    let bot = create_bot(&alva, "Shop").await;
    alva.team_bot_share()
        .team_id(team.id)
        .body(types::TeamBotShare::builder().bot_id(bot.id))
        .send()
        .await
        .expect("team_bot_share");
    let reply = ask(&widget(ctx, &bot.widget_token), bot.id, "v-1", "hello").await;
    escalate(&alva, reply.conversation_id).await;
    let newest = &listed(&bruno, None).await[0];
    assert_eq!(newest.type_, NotificationType::HandoffRequested);
    assert_eq!(
        newest.data.get("conversation_id"),
        Some(&serde_json::json!(reply.conversation_id))
    );
    assert_eq!(
        listed(&alva, None).await[0].type_,
        NotificationType::HandoffRequested
    );
    assert!(
        listed(&cleo, None).await.is_empty(),
        "switched off: none at all"
    );
    assert!(
        listed(&dora, None).await.is_empty(),
        "cannot see the bot: not told"
    );

    // Read: one, then all; the first `read_at` stays.
    let first = listed(&alva, Some(true)).await;
    assert_eq!(first.len(), 3);
    let read = alva
        .notification_mark_read()
        .notification_id(first[2].id)
        .send()
        .await
        .expect("notification_mark_read")
        .into_inner();
    let at = read.read_at.expect("read");
    let again = alva
        .notification_mark_read()
        .notification_id(first[2].id)
        .send()
        .await
        .expect("notification_mark_read");
    assert_eq!(again.read_at, Some(at));
    assert_eq!(unread(&alva).await, 2);
    assert_eq!(listed(&alva, Some(false)).await.len(), 1);
    // Another user's notification, or none: 404.
    for id in [first[0].id, Uuid::new_v4()] {
        expect_error(
            dora.notification_mark_read()
                .notification_id(id)
                .send()
                .await,
            404,
            ErrorCode::NotificationNotFound,
        );
    }
    let all = alva
        .notification_mark_all_read()
        .send()
        .await
        .expect("notification_mark_all_read");
    assert_eq!(all.marked, 2);
    assert_eq!(unread(&alva).await, 0);
    assert_eq!(
        alva.notification_mark_all_read()
            .send()
            .await
            .expect("again")
            .marked,
        0
    );
    assert_eq!(listed(&alva, None).await.len(), 3);
    // Pages of one, newest first, each once.
    let page = alva
        .notification_list()
        .limit(std::num::NonZeroU64::MIN)
        .send()
        .await
        .expect("page 1");
    assert_eq!(page.pagination.total, 3);
    let next = alva
        .notification_list()
        .limit(std::num::NonZeroU64::MIN)
        .cursor(page.pagination.next_cursor.clone().expect("a cursor"))
        .send()
        .await
        .expect("page 2");
    assert_eq!(next.data[0].id, first[1].id);

    // Each notification mailed once (email is on by default), after the request.
    let subject = "Bruno joined Support";
    let mails = mails_with(ctx, "alva@example.test", subject, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        mails_with(ctx, "alva@example.test", subject, 1).await.len(),
        mails.len()
    );
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("accepted the invitation"));
    mails_with(
        ctx,
        "bruno@example.test",
        "A conversation waits for a human",
        1,
    )
    .await;
}

/// In-app off, email on: nothing listed, the email still sent; email off: no email.
async fn preferences_choose_the_channels(ctx: &TestContext) {
    let (_, alva) = verified(ctx, "alva@example.test", "Alva").await;
    let (_, bruno) = verified(ctx, "bruno@example.test", "Bruno").await;
    let defaults = alva
        .notification_preferences_get()
        .send()
        .await
        .expect("notification_preferences_get")
        .into_inner();
    assert!(defaults.email && defaults.in_app);
    assert!(defaults.types.team_invite && defaults.types.webhook_disabled);
    alva.notification_preferences_update()
        .body(types::NotificationPreferencesUpdate::builder().in_app(Some(false)))
        .send()
        .await
        .expect("in-app off");
    let team = create_team(&alva, "Sales").await;
    add_member(
        ctx,
        &alva,
        team.id,
        "bruno@example.test",
        &bruno,
        TeamRole::Agent,
    )
    .await;
    mails_with(ctx, "alva@example.test", "Bruno joined Sales", 1).await;
    assert!(listed(&alva, None).await.is_empty());
    assert_eq!(unread(&alva).await, 0);

    let (_, cleo) = verified(ctx, "cleo@example.test", "Cleo").await;
    let prefs = alva
        .notification_preferences_update()
        .body(
            types::NotificationPreferencesUpdate::builder()
                .in_app(Some(true))
                .email(Some(false)),
        )
        .send()
        .await
        .expect("email off")
        .into_inner();
    assert!(prefs.in_app && !prefs.email);
    assert_eq!(
        alva.notification_preferences_get()
            .send()
            .await
            .expect("get")
            .into_inner(),
        prefs
    );
    add_member(
        ctx,
        &alva,
        team.id,
        "cleo@example.test",
        &cleo,
        TeamRole::Agent,
    )
    .await;
    assert_eq!(listed(&alva, None).await[0].title, "Cleo joined Sales");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cleo_mails = mails_to(ctx, "alva@example.test")
        .into_iter()
        .filter(|raw| raw.contains("Cleo joined Sales"))
        .count();
    assert_eq!(cleo_mails, 0, "email switched off");

    // Bad input: a clear error, nothing changed.
    let refused = alva
        .notification_preferences_update()
        .body(types::NotificationPreferencesUpdate::builder())
        .send()
        .await;
    expect_error(refused, 422, ErrorCode::ValidationFailed);
    assert_eq!(
        alva.notification_preferences_get()
            .send()
            .await
            .expect("get")
            .into_inner(),
        prefs
    );
}

on_both_databases!(
    config = fast,
    notifications_come_with_their_cause_and_are_read,
    preferences_choose_the_channels,
);
