//! Sweeps the bot, API-key and team operations that take an id with another account's ids: 404.
//!
//! Tenancy: an account never reaches another account's resources. For every implemented
//! operation that takes an id, account B asking for account A's resource gets the very 404 it
//! gets for an id that does not exist (so ids cannot be probed), and A's resource is left as
//! it was. Lists show only the caller's own resources.

use crate::conformance::support::teams::{add_member, create_team, verified};
use crate::conformance::support::{bearer, create_bot, create_key, refused_as_missing, register};
use botwire_client::Client;
use botwire_client::types::{self, BotStatus, TeamInviteRole, TeamRole};
use botwire_conformance::{TestContext, on_both_databases};
use uuid::Uuid;

/// B (as `b`, a user or an API key) tries every bot operation that takes an id on A's bots.
async fn bot_operations_refused(b: &Client, active: Uuid, inactive: Uuid) {
    refused_as_missing("bot_get", active, |id| b.bot_get().bot_id(id).send()).await;
    refused_as_missing("bot_deactivate", active, |id| {
        b.bot_deactivate().bot_id(id).send()
    })
    .await;
    refused_as_missing("bot_activate", inactive, |id| {
        b.bot_activate().bot_id(id).send()
    })
    .await;
    refused_as_missing("bot_widget_token_rotate", active, |id| {
        b.bot_widget_token_rotate().bot_id(id).send()
    })
    .await;
    for bot in [active, inactive] {
        refused_as_missing("bot_delete", bot, |id| b.bot_delete().bot_id(id).send()).await;
    }
}

async fn another_accounts_resources_are_not_found_and_left_alone(ctx: &TestContext) {
    let a_session = register(ctx, "alice@example.test", "Alice").await;
    let b_session = register(ctx, "bob@example.test", "Bob").await;
    let a = bearer(ctx, &a_session.token);
    let b = bearer(ctx, &b_session.token);

    let a_active = create_bot(&a, "Alice active").await;
    let a_inactive = create_bot(&a, "Alice inactive").await;
    let a_inactive = a
        .bot_deactivate()
        .bot_id(a_inactive.id)
        .send()
        .await
        .expect("bot_deactivate")
        .into_inner();
    assert_eq!(a_inactive.status, BotStatus::Inactive);
    let a_key = create_key(&a, "Alice's key", None, Some(500)).await;
    let a_key_before = a
        .api_key_get()
        .key_id(a_key.id)
        .send()
        .await
        .expect("api_key_get")
        .into_inner();
    let b_bot = create_bot(&b, "Bob's bot").await;
    let b_key = create_key(&b, "Bob's key", None, None).await;

    // B as a user: A's API key.
    let key = a_key.id;
    refused_as_missing("api_key_get", key, |id| b.api_key_get().key_id(id).send()).await;
    refused_as_missing("api_key_update", key, |id| {
        b.api_key_update()
            .key_id(id)
            .body(
                types::ApiKeyUpdate::builder()
                    .name(Some(
                        "taken over".parse::<types::ApiKeyUpdateName>().unwrap(),
                    ))
                    .rate_limits(Some(types::ApiKeyRateLimitsInput {
                        standard: std::num::NonZeroU64::new(1),
                        chat: None,
                        auth: None,
                    })),
            )
            .send()
    })
    .await;
    refused_as_missing("api_key_rotate", key, |id| {
        b.api_key_rotate().key_id(id).send()
    })
    .await;
    refused_as_missing("api_key_revoke", key, |id| {
        b.api_key_revoke().key_id(id).send()
    })
    .await;

    // B as a user, then with an account-wide API key of B's: A's bots.
    bot_operations_refused(&b, a_active.id, a_inactive.id).await;
    bot_operations_refused(&bearer(ctx, &b_key.key), a_active.id, a_inactive.id).await;

    // A's key: same name and limits, not revoked, and its secret still works.
    let a_key_after = a.api_key_get().key_id(a_key.id).send().await;
    let a_key_after = a_key_after.expect("A still reads its key").into_inner();
    assert_eq!(a_key_after.name, a_key_before.name);
    assert_eq!(a_key_after.rate_limits, a_key_before.rate_limits);
    assert_eq!(a_key_after.revoked_at, None);
    let with_a_key = bearer(ctx, &a_key.key).bot_list().send().await;
    assert_eq!(with_a_key.expect("A's key still works").pagination.total, 2);

    // A's bots: not deleted, same status, same widget token, not even touched.
    for before in [&a_active, &a_inactive] {
        let after = a.bot_get().bot_id(before.id).send().await;
        assert_eq!(&after.expect("A still reads its bot").into_inner(), before);
    }

    // Lists: each account sees its own.
    for b_client in [&b, &bearer(ctx, &b_key.key)] {
        let bots = b_client.bot_list().send().await.expect("bot_list");
        let ids: Vec<_> = bots.data.iter().map(|bot| bot.id).collect();
        assert_eq!(ids, vec![b_bot.id]);
        assert_eq!(bots.pagination.total, 1);
    }
    let keys = b.api_key_list().send().await.expect("api_key_list");
    let ids: Vec<_> = keys.data.iter().map(|key| key.id).collect();
    assert_eq!(ids, vec![b_key.id]);
    assert_eq!(keys.pagination.total, 1);
    let a_bots = a.bot_list().send().await.expect("bot_list");
    assert_eq!(a_bots.pagination.total, 2);
}

/// A key of another account cannot be the scope of a new key either.
async fn a_key_cannot_be_scoped_to_another_accounts_bot(ctx: &TestContext) {
    let a_session = register(ctx, "carol@example.test", "Carol").await;
    let b_session = register(ctx, "dave@example.test", "Dave").await;
    let a = bearer(ctx, &a_session.token);
    let b = bearer(ctx, &b_session.token);
    let a_bot = create_bot(&a, "Carol's bot").await;
    let create = |bot_id: Uuid| {
        b.api_key_create()
            .body(
                types::ApiKeyCreate::builder()
                    .name("reach")
                    .bot_id(Some(bot_id)),
            )
            .send()
    };
    refused_as_missing("api_key_create", a_bot.id, create).await;
    let keys = b.api_key_list().send().await.expect("api_key_list");
    assert_eq!(keys.pagination.total, 0);
}

/// A team is another account's to everyone outside it: each team operation that takes an id
/// answers a non-member as for a team that does not exist, and changes nothing.
async fn another_teams_are_not_found_and_left_alone(ctx: &TestContext) {
    let (_, a) = verified(ctx, "erin@example.test", "Erin").await;
    let (_, member) = verified(ctx, "frank@example.test", "Frank").await;
    let (_, b) = verified(ctx, "grace@example.test", "Grace").await;
    let team = create_team(&a, "Erin's team").await;
    let joined = add_member(
        ctx,
        &a,
        team.id,
        "frank@example.test",
        &member,
        TeamRole::Agent,
    )
    .await;
    let bot = create_bot(&a, "Erin's bot").await;
    a.team_bot_share()
        .team_id(team.id)
        .body(types::TeamBotShare::builder().bot_id(bot.id))
        .send()
        .await
        .expect("team_bot_share");
    let pending = a
        .team_invite_create()
        .team_id(team.id)
        .body(
            types::TeamInviteCreate::builder()
                .email("henry@example.test")
                .role(TeamInviteRole::Agent),
        )
        .send()
        .await
        .expect("team_invite_create")
        .into_inner();
    let user = joined.user_id;
    refused_as_missing("team_get", team.id, |id| b.team_get().team_id(id).send()).await;
    refused_as_missing("team_delete", team.id, |id| {
        b.team_delete().team_id(id).send()
    })
    .await;
    refused_as_missing("team_member_list", team.id, |id| {
        b.team_member_list().team_id(id).send()
    })
    .await;
    refused_as_missing("team_member_update", team.id, |id| {
        b.team_member_update()
            .team_id(id)
            .user_id(user)
            .body(types::TeamMemberUpdate::builder().role(Some(TeamRole::Owner)))
            .send()
    })
    .await;
    refused_as_missing("team_member_remove", team.id, |id| {
        b.team_member_remove().team_id(id).user_id(user).send()
    })
    .await;
    refused_as_missing("team_invite_create", team.id, |id| {
        b.team_invite_create()
            .team_id(id)
            .body(
                types::TeamInviteCreate::builder()
                    .email("grace@example.test")
                    .role(TeamInviteRole::Admin),
            )
            .send()
    })
    .await;
    refused_as_missing("team_invite_list", team.id, |id| {
        b.team_invite_list().team_id(id).send()
    })
    .await;
    refused_as_missing("team_invite_revoke", team.id, |id| {
        b.team_invite_revoke()
            .team_id(id)
            .invite_id(pending.id)
            .send()
    })
    .await;
    refused_as_missing("team_invite_resend", team.id, |id| {
        b.team_invite_resend()
            .team_id(id)
            .invite_id(pending.id)
            .send()
    })
    .await;
    refused_as_missing("team_member_presence_set", team.id, |id| {
        b.team_member_presence_set()
            .team_id(id)
            .user_id(user)
            .body(types::PresenceStatusSet::builder().status(types::PresenceStatus::Offline))
            .send()
    })
    .await;
    refused_as_missing("presence_team_get", team.id, |id| {
        b.presence_team_get().team_id(id).send()
    })
    .await;
    refused_as_missing("presence_available_list", bot.id, |id| {
        b.presence_available_list().bot_id(id).send()
    })
    .await;
    refused_as_missing("team_bot_list", team.id, |id| {
        b.team_bot_list().team_id(id).send()
    })
    .await;
    refused_as_missing("team_bot_unshare", team.id, |id| {
        b.team_bot_unshare().team_id(id).bot_id(bot.id).send()
    })
    .await;
    refused_as_missing("team_bot_share", team.id, |id| {
        b.team_bot_share()
            .team_id(id)
            .body(types::TeamBotShare::builder().bot_id(bot.id))
            .send()
    })
    .await;
    // The team, its member, its share and its invitation are as they were.
    let members = a
        .team_member_list()
        .team_id(team.id)
        .send()
        .await
        .expect("members");
    assert_eq!(members.pagination.total, 2);
    assert!(
        members
            .data
            .iter()
            .any(|m| m.user_id == user && m.role == TeamRole::Agent)
    );
    let shared = a
        .team_bot_list()
        .team_id(team.id)
        .send()
        .await
        .expect("bots");
    assert_eq!(shared.data.len(), 1);
    let invites = a
        .team_invite_list()
        .team_id(team.id)
        .send()
        .await
        .expect("invites");
    assert_eq!(invites.data.len(), 1);
    // Nor does a bot shared with a team reach past it: B sees none of Erin's bot.
    refused_as_missing("bot_get", bot.id, |id| b.bot_get().bot_id(id).send()).await;
}

/// Another account's contacts, and its sessions, are as missing as a random id; nothing of
/// them changes. A team member of that account sees no more of them: contacts are the
/// account's own.
async fn another_accounts_contacts_are_not_found_and_left_alone(ctx: &TestContext) {
    let (_, a) = verified(ctx, "erin@example.test", "Erin").await;
    let (_, member) = verified(ctx, "frank@example.test", "Frank").await;
    let (_, b) = verified(ctx, "grace@example.test", "Grace").await;
    let team = create_team(&a, "Erin's team").await;
    add_member(
        ctx,
        &a,
        team.id,
        "frank@example.test",
        &member,
        TeamRole::Admin,
    )
    .await;
    let theirs = a
        .contact_create()
        .body(types::ContactCreate::builder().name(Some("Ada".parse().unwrap())))
        .send()
        .await
        .expect("contact_create")
        .into_inner();
    for caller in [&b, &member] {
        refused_as_missing("contact_get", theirs.id, |id| {
            caller.contact_get().contact_id(id).send()
        })
        .await;
        refused_as_missing("contact_update", theirs.id, |id| {
            caller
                .contact_update()
                .contact_id(id)
                .body(types::ContactUpdate::builder().name(Some("Mine".parse().unwrap())))
                .send()
        })
        .await;
        refused_as_missing("contact_delete", theirs.id, |id| {
            caller.contact_delete().contact_id(id).send()
        })
        .await;
        let listed = caller.contact_list().send().await.expect("contact_list");
        assert!(listed.data.is_empty());
    }
    // B's own bot cannot link its session to A's contact: the 404 of a random contact id.
    let bot = create_bot(&b, "Grace's bot").await;
    crate::conformance::support::chat::ask(&b, bot.id, "s-1", "hello").await;
    refused_as_missing("session_contact_link", theirs.id, |id| {
        b.session_contact_link()
            .bot_id(bot.id)
            .session_id("s-1")
            .body(types::SessionContactLink::builder().contact_id(Some(id)))
            .send()
    })
    .await;
    let kept = a
        .contact_get()
        .contact_id(theirs.id)
        .send()
        .await
        .expect("contact_get");
    assert_eq!(kept.into_inner(), theirs);
}

/// Another user's notification is as missing as a random id, and stays unread.
async fn another_users_notifications_are_not_found_and_left_alone(ctx: &TestContext) {
    let (_, a) = verified(ctx, "erin@example.test", "Erin").await;
    let (_, joiner) = verified(ctx, "frank@example.test", "Frank").await;
    let (_, b) = verified(ctx, "grace@example.test", "Grace").await;
    let team = create_team(&a, "Erin's team").await;
    add_member(
        ctx,
        &a,
        team.id,
        "frank@example.test",
        &joiner,
        TeamRole::Agent,
    )
    .await;
    let theirs = a
        .notification_list()
        .send()
        .await
        .expect("notification_list")
        .into_inner()
        .data
        .remove(0);
    for caller in [&b, &joiner] {
        refused_as_missing("notification_mark_read", theirs.id, |id| {
            caller.notification_mark_read().notification_id(id).send()
        })
        .await;
        caller
            .notification_mark_all_read()
            .send()
            .await
            .expect("mark all");
    }
    let unread = a
        .notification_unread_count_get()
        .send()
        .await
        .expect("count");
    assert_eq!(unread.unread, 1);
}

on_both_databases!(
    another_accounts_resources_are_not_found_and_left_alone,
    a_key_cannot_be_scoped_to_another_accounts_bot,
    another_teams_are_not_found_and_left_alone,
    another_accounts_contacts_are_not_found_and_left_alone,
    another_users_notifications_are_not_found_and_left_alone,
);
