//! Teams: create, list, get, delete; invitations (mailed, single use, replaced, revoked,
//! resent); members and their roles; bots shared with a team, which its members work without
//! ever reaching the bot's credentials.

use crate::conformance::support::chat::{ask, history, upload_faq};
use crate::conformance::support::teams::{
    add_member, create_team, expect_invite_mailed, mailed_invite_token, verified,
};
use crate::conformance::support::webhooks::{create_webhook, fast};
use crate::conformance::support::{
    bearer, create_bot, create_key, expect_error, latest_code, register,
};
use botwire_client::Client;
use botwire_client::types::{self, ErrorCode, TeamInviteRole, TeamRole};
use botwire_conformance::{TestContext, on_both_databases};
use uuid::Uuid;

fn accept(client: &Client, token: &str) -> impl Future<Output = AcceptResult> {
    client
        .team_invite_accept()
        .body(types::TeamInviteAccept::builder().token(token))
        .send()
}

type AcceptResult =
    Result<botwire_client::ResponseValue<types::TeamMember>, botwire_client::Error<types::Error>>;

async fn invite(
    owner: &Client,
    team_id: Uuid,
    email: &str,
    role: TeamInviteRole,
) -> types::TeamInvite {
    owner
        .team_invite_create()
        .team_id(team_id)
        .body(types::TeamInviteCreate::builder().email(email).role(role))
        .send()
        .await
        .unwrap_or_else(|e| panic!("team_invite_create {email}: {e:?}"))
        .into_inner()
}

/// The flow of the issue: a user invited by email registers, verifies and accepts, then works
/// the shared bot's sessions and reaches nothing of its credentials; unsharing takes that away
/// on the very next request.
async fn an_invited_agent_works_a_shared_bot_but_never_its_credentials(ctx: &TestContext) {
    let (_, owner) = verified(ctx, "owner@example.test", "Olga Owner").await;
    let bot = create_bot(&owner, "Acme Support").await;
    upload_faq(&owner, bot.id).await;
    let key = create_key(&owner, "server key", None, None).await;
    let receiver = botwire_conformance::receiver::Receiver::accepting().await;
    let hook = create_webhook(
        &owner,
        bot.id,
        &receiver.url("/hook"),
        vec![types::WebhookEventType::MessageReceived],
    )
    .await;
    let team = create_team(&owner, "Support EMEA").await;
    assert_eq!(team.role, TeamRole::Owner);
    assert_eq!(team.member_count.get(), 1);

    // The invitation is mailed before the invitee even has an account.
    let invite = invite(
        &owner,
        team.id,
        "Lina.Berg@example.test",
        TeamInviteRole::Agent,
    )
    .await;
    assert_eq!(invite.email, "lina.berg@example.test");
    assert!(invite.token.starts_with("ti_"));
    assert!(invite.accepted_at.is_none());
    let days = (invite.expires_at - invite.created_at).num_days();
    assert_eq!(days, 7);
    let mailed = mailed_invite_token(ctx, "lina.berg@example.test", 1).await;
    assert_eq!(mailed, invite.token);

    // Registered but not verified: refused; verified: joins as the invited role.
    let session = register(ctx, "lina.berg@example.test", "Lina Berg").await;
    let lina = bearer(ctx, &session.token);
    expect_error(accept(&lina, &mailed).await, 403, ErrorCode::Forbidden);
    let code = latest_code(ctx, "lina.berg@example.test", 1).await;
    ctx.client
        .account_email_verify()
        .body(
            types::AccountEmailVerify::builder()
                .email("lina.berg@example.test")
                .code(code),
        )
        .send()
        .await
        .expect("account_email_verify");
    let member = accept(&lina, &mailed)
        .await
        .expect("team_invite_accept")
        .into_inner();
    assert_eq!(member.role, TeamRole::Agent);
    assert_eq!(member.team_id, team.id);
    // Single use.
    expect_error(accept(&lina, &mailed).await, 409, ErrorCode::Conflict);

    // Before the share, Lina sees nothing of the bot: the 404 of a missing id.
    expect_error(
        lina.bot_get().bot_id(bot.id).send().await,
        404,
        ErrorCode::BotNotFound,
    );
    let shared = owner
        .team_bot_share()
        .team_id(team.id)
        .body(types::TeamBotShare::builder().bot_id(bot.id))
        .send()
        .await
        .expect("team_bot_share");
    assert_eq!(shared.status(), 201);
    assert_eq!(shared.bot_name, "Acme Support");
    expect_error(
        owner
            .team_bot_share()
            .team_id(team.id)
            .body(types::TeamBotShare::builder().bot_id(bot.id))
            .send()
            .await,
        409,
        ErrorCode::Conflict,
    );

    // A visitor's conversation on the shared bot, which Lina then works.
    let visitor = crate::conformance::support::widget(ctx, &bot.widget_token);
    let reply = ask(
        &visitor,
        bot.id,
        "visitor-1",
        "What are your opening hours?",
    )
    .await;
    assert_eq!(
        lina.bot_get()
            .bot_id(bot.id)
            .send()
            .await
            .expect("bot_get")
            .id,
        bot.id
    );
    let listed = lina.bot_list().send().await.expect("bot_list");
    assert_eq!(
        listed.data.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![bot.id]
    );
    let sessions = lina
        .session_list()
        .bot_id(bot.id)
        .send()
        .await
        .expect("session_list");
    assert_eq!(sessions.data.len(), 1);
    assert_eq!(history(&lina, bot.id, "visitor-1").await.len(), 2);
    let conversation = lina
        .conversation_get()
        .conversation_id(reply.conversation_id)
        .send()
        .await
        .expect("conversation_get");
    assert_eq!(conversation.messages.len(), 2);
    lina.document_list()
        .bot_id(bot.id)
        .send()
        .await
        .expect("document_list");

    // Nothing of the credentials: 403 for a bot Lina can see.
    expect_error(
        lina.webhook_list().bot_id(bot.id).send().await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        lina.webhook_get().webhook_id(hook.id).send().await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        lina.bot_widget_token_rotate().bot_id(bot.id).send().await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        lina.bot_delete().bot_id(bot.id).send().await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        lina.bot_update()
            .bot_id(bot.id)
            .body(types::BotUpdate::builder().name(Some("Mine now".parse().unwrap())))
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    let upload = crate::conformance::support::chat::file("faq.txt", "Q: a\nA: b\n");
    expect_error(
        lina.document_create(&bot.id, upload).await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        lina.session_delete()
            .bot_id(bot.id)
            .session_id("visitor-1")
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    // Account-level things are Lina's own account's: the owner's key is not among them.
    let keys = lina.api_key_list().send().await.expect("api_key_list");
    assert!(keys.data.iter().all(|k| k.id != key.id));
    expect_error(
        lina.api_key_get().key_id(key.id).send().await,
        404,
        ErrorCode::ApiKeyNotFound,
    );

    // Unsharing takes the access away on the very next request.
    let unshared = owner
        .team_bot_unshare()
        .team_id(team.id)
        .bot_id(bot.id)
        .send()
        .await
        .expect("team_bot_unshare");
    assert_eq!(unshared.status(), 204);
    expect_error(
        lina.session_list().bot_id(bot.id).send().await,
        404,
        ErrorCode::BotNotFound,
    );
    expect_error(
        lina.conversation_get()
            .conversation_id(reply.conversation_id)
            .send()
            .await,
        404,
        ErrorCode::ConversationNotFound,
    );
    assert!(
        lina.bot_list()
            .send()
            .await
            .expect("bot_list")
            .data
            .is_empty()
    );
    // The bot and its history are untouched.
    assert_eq!(history(&owner, bot.id, "visitor-1").await.len(), 2);
    expect_error(
        owner
            .team_bot_unshare()
            .team_id(team.id)
            .bot_id(bot.id)
            .send()
            .await,
        404,
        ErrorCode::BotNotFound,
    );
}

async fn team_invite_tokens_are_replaced_revoked_and_resent(ctx: &TestContext) {
    let (_, owner) = verified(ctx, "owner@example.test", "Olga").await;
    let (_, agent) = verified(ctx, "agent@example.test", "Agnes").await;
    let (_, invitee) = verified(ctx, "new@example.test", "Nils").await;
    let (_, other) = verified(ctx, "other@example.test", "Otto").await;
    let team = create_team(&owner, "Support").await;
    add_member(
        ctx,
        &owner,
        team.id,
        "agent@example.test",
        &agent,
        TeamRole::Agent,
    )
    .await;

    // An address of a member: 409.
    expect_error(
        owner
            .team_invite_create()
            .team_id(team.id)
            .body(
                types::TeamInviteCreate::builder()
                    .email("AGENT@example.test")
                    .role(TeamInviteRole::Admin),
            )
            .send()
            .await,
        409,
        ErrorCode::Conflict,
    );
    // Agents may not invite, list, revoke or resend.
    expect_error(
        agent
            .team_invite_create()
            .team_id(team.id)
            .body(
                types::TeamInviteCreate::builder()
                    .email("x@example.test")
                    .role(TeamInviteRole::Agent),
            )
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        agent.team_invite_list().team_id(team.id).send().await,
        403,
        ErrorCode::Forbidden,
    );

    // A second invitation to the same address replaces the first.
    let first = invite(&owner, team.id, "new@example.test", TeamInviteRole::Agent).await;
    let second = invite(&owner, team.id, "new@example.test", TeamInviteRole::Admin).await;
    let pending = owner
        .team_invite_list()
        .team_id(team.id)
        .send()
        .await
        .expect("team_invite_list");
    assert_eq!(pending.data.len(), 1);
    assert_eq!(pending.data[0].id, second.id);
    assert_eq!(pending.data[0].role, TeamInviteRole::Admin);
    expect_error(
        accept(&invitee, &first.token).await,
        404,
        ErrorCode::InviteNotFound,
    );

    // Resent: a new token, the old one stops working.
    let resent = owner
        .team_invite_resend()
        .team_id(team.id)
        .invite_id(second.id)
        .send()
        .await
        .expect("team_invite_resend")
        .into_inner();
    assert_eq!(resent.id, second.id);
    assert_ne!(resent.token, second.token);
    expect_invite_mailed(ctx, "new@example.test", &resent.token).await;
    expect_error(
        accept(&invitee, &second.token).await,
        404,
        ErrorCode::InviteNotFound,
    );

    // Another user's token: 403, and the invitation stays pending.
    expect_error(
        accept(&other, &resent.token).await,
        403,
        ErrorCode::Forbidden,
    );
    let joined = accept(&invitee, &resent.token)
        .await
        .expect("accept")
        .into_inner();
    assert_eq!(joined.role, TeamRole::Admin);
    assert!(
        owner
            .team_invite_list()
            .team_id(team.id)
            .send()
            .await
            .expect("team_invite_list")
            .data
            .is_empty()
    );

    // Revoked: the token is refused; an unknown or used one is not pending.
    let third = invite(&owner, team.id, "other@example.test", TeamInviteRole::Agent).await;
    let revoked = owner
        .team_invite_revoke()
        .team_id(team.id)
        .invite_id(third.id)
        .send()
        .await
        .expect("team_invite_revoke");
    assert_eq!(revoked.status(), 204);
    expect_error(
        accept(&other, &third.token).await,
        404,
        ErrorCode::InviteNotFound,
    );
    for id in [third.id, second.id, Uuid::new_v4()] {
        expect_error(
            owner
                .team_invite_revoke()
                .team_id(team.id)
                .invite_id(id)
                .send()
                .await,
            404,
            ErrorCode::InviteNotFound,
        );
        expect_error(
            owner
                .team_invite_resend()
                .team_id(team.id)
                .invite_id(id)
                .send()
                .await,
            404,
            ErrorCode::InviteNotFound,
        );
    }

    // A pending invitation dies with its team.
    let fourth = invite(&owner, team.id, "other@example.test", TeamInviteRole::Agent).await;
    owner
        .team_delete()
        .team_id(team.id)
        .send()
        .await
        .expect("team_delete");
    expect_error(
        accept(&other, &fourth.token).await,
        404,
        ErrorCode::InviteNotFound,
    );
}

async fn set_role(client: &Client, team_id: Uuid, user: Uuid, role: TeamRole) -> MemberResult {
    client
        .team_member_update()
        .team_id(team_id)
        .user_id(user)
        .body(types::TeamMemberUpdate::builder().role(Some(role)))
        .send()
        .await
}

async fn remove(
    client: &Client,
    team_id: Uuid,
    user: Uuid,
) -> Result<botwire_client::ResponseValue<()>, botwire_client::Error<types::Error>> {
    client
        .team_member_remove()
        .team_id(team_id)
        .user_id(user)
        .send()
        .await
}

type MemberResult = AcceptResult;

async fn team_members_keep_an_owner_and_roles_follow_the_rules(ctx: &TestContext) {
    let (owner_session, owner) = verified(ctx, "owner@example.test", "Olga").await;
    let (_, admin) = verified(ctx, "admin@example.test", "Adam").await;
    let (_, agent) = verified(ctx, "agent@example.test", "Agnes").await;
    let (_, stranger) = verified(ctx, "stranger@example.test", "Stina").await;
    let team = create_team(&owner, "Support").await;
    let admin_member = add_member(
        ctx,
        &owner,
        team.id,
        "admin@example.test",
        &admin,
        TeamRole::Admin,
    )
    .await;
    let agent_member = add_member(
        ctx,
        &owner,
        team.id,
        "agent@example.test",
        &agent,
        TeamRole::Agent,
    )
    .await;
    let owner_id = owner_session.user.id;

    // Listed earliest first, across pages; every member may list.
    let first = agent
        .team_member_list()
        .team_id(team.id)
        .limit(2u64)
        .send()
        .await
        .expect("team_member_list");
    assert_eq!(first.pagination.total, 3);
    assert!(first.pagination.has_more);
    let rest = agent
        .team_member_list()
        .team_id(team.id)
        .limit(2u64)
        .cursor(first.pagination.next_cursor.clone().expect("a cursor"))
        .send()
        .await
        .expect("team_member_list");
    let order: Vec<Uuid> = first
        .data
        .iter()
        .chain(&rest.data)
        .map(|m| m.user_id)
        .collect();
    assert_eq!(
        order,
        vec![owner_id, admin_member.user_id, agent_member.user_id]
    );
    assert_eq!(first.data[0].email, "owner@example.test");

    // A non-member sees no team: the 404 of a missing id.
    for id in [team.id, Uuid::new_v4()] {
        expect_error(
            stranger.team_get().team_id(id).send().await,
            404,
            ErrorCode::TeamNotFound,
        );
        expect_error(
            stranger.team_member_list().team_id(id).send().await,
            404,
            ErrorCode::TeamNotFound,
        );
    }
    assert!(
        stranger
            .team_list()
            .send()
            .await
            .expect("team_list")
            .data
            .is_empty()
    );
    let listed = agent.team_list().send().await.expect("team_list");
    assert_eq!(listed.data.len(), 1);
    assert_eq!(listed.data[0].role, TeamRole::Agent);
    assert_eq!(listed.data[0].member_count.get(), 3);

    let team_id = team.id;
    // Agents change no role; admins move members between admin and agent only.
    expect_error(
        set_role(&agent, team_id, agent_member.user_id, TeamRole::Admin).await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        set_role(&admin, team_id, agent_member.user_id, TeamRole::Owner).await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        set_role(&admin, team_id, owner_id, TeamRole::Agent).await,
        403,
        ErrorCode::Forbidden,
    );
    let promoted = set_role(&admin, team_id, agent_member.user_id, TeamRole::Admin)
        .await
        .expect("admin promotes an agent");
    assert_eq!(promoted.role, TeamRole::Admin);
    set_role(&admin, team_id, agent_member.user_id, TeamRole::Agent)
        .await
        .expect("and back");
    expect_error(
        set_role(&owner, team_id, Uuid::new_v4(), TeamRole::Agent).await,
        404,
        ErrorCode::MemberNotFound,
    );

    // The last owner can neither step down nor leave.
    expect_error(
        set_role(&owner, team_id, owner_id, TeamRole::Admin).await,
        409,
        ErrorCode::Conflict,
    );
    expect_error(
        remove(&owner, team_id, owner_id).await,
        409,
        ErrorCode::Conflict,
    );
    // With a second owner, the first may step down.
    set_role(&owner, team_id, admin_member.user_id, TeamRole::Owner)
        .await
        .expect("owner makes an owner");
    set_role(&owner, team_id, owner_id, TeamRole::Admin)
        .await
        .expect("an owner steps down");
    // An agent removes nobody but themself; an admin no owner.
    expect_error(
        remove(&agent, team_id, owner_id).await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        remove(&owner, team_id, admin_member.user_id).await,
        403,
        ErrorCode::Forbidden,
    );
    assert_eq!(
        remove(&agent, team_id, agent_member.user_id)
            .await
            .expect("a member leaves")
            .status(),
        204
    );
    expect_error(
        agent.team_get().team_id(team.id).send().await,
        404,
        ErrorCode::TeamNotFound,
    );
    expect_error(
        remove(&owner, team_id, agent_member.user_id).await,
        404,
        ErrorCode::MemberNotFound,
    );

    // Only an owner deletes; the bots stay with their owners.
    let bot = create_bot(&owner, "Olga's bot").await;
    owner
        .team_bot_share()
        .team_id(team.id)
        .body(types::TeamBotShare::builder().bot_id(bot.id))
        .send()
        .await
        .expect("an admin shares their own bot");
    expect_error(
        admin
            .team_bot_share()
            .team_id(team.id)
            .body(types::TeamBotShare::builder().bot_id(bot.id))
            .send()
            .await,
        404,
        ErrorCode::BotNotFound,
    );
    let shared = admin
        .team_bot_list()
        .team_id(team.id)
        .send()
        .await
        .expect("team_bot_list");
    assert_eq!(
        shared.data.iter().map(|b| b.bot_id).collect::<Vec<_>>(),
        vec![bot.id]
    );
    expect_error(
        owner.team_delete().team_id(team.id).send().await,
        403,
        ErrorCode::Forbidden,
    );
    let deleted = admin
        .team_delete()
        .team_id(team.id)
        .send()
        .await
        .expect("team_delete");
    assert_eq!(deleted.status(), 204);
    expect_error(
        admin.team_get().team_id(team.id).send().await,
        404,
        ErrorCode::TeamNotFound,
    );
    expect_error(
        admin.bot_get().bot_id(bot.id).send().await,
        404,
        ErrorCode::BotNotFound,
    );
    assert_eq!(
        owner
            .bot_get()
            .bot_id(bot.id)
            .send()
            .await
            .expect("bot_get")
            .id,
        bot.id
    );
}

/// A member joining a team is told to the webhooks of the accounts whose bots the team works
/// (with those bots), and to the team's owners and admins as a notification.
async fn a_member_joining_reaches_the_webhooks_of_the_shared_bots(ctx: &TestContext) {
    let (_, owner) = verified(ctx, "owner@example.test", "Olga").await;
    let (_, outsider) = verified(ctx, "outsider@example.test", "Otto").await;
    let (_, lina) = verified(ctx, "lina@example.test", "Lina").await;
    let bot = create_bot(&owner, "Shared").await;
    let unshared = create_bot(&outsider, "Elsewhere").await;
    let receiver = botwire_conformance::receiver::Receiver::accepting().await;
    let elsewhere = botwire_conformance::receiver::Receiver::accepting().await;
    let joined = vec![types::WebhookEventType::TeamMemberJoined];
    create_webhook(&owner, bot.id, &receiver.url("/joined"), joined.clone()).await;
    create_webhook(&outsider, unshared.id, &elsewhere.url("/joined"), joined).await;
    let team = create_team(&owner, "Support").await;
    owner
        .team_bot_share()
        .team_id(team.id)
        .body(types::TeamBotShare::builder().bot_id(bot.id))
        .send()
        .await
        .expect("team_bot_share");
    let member = add_member(
        ctx,
        &owner,
        team.id,
        "lina@example.test",
        &lina,
        TeamRole::Agent,
    )
    .await;

    let received = receiver
        .wait_for(1, crate::conformance::support::webhooks::WAIT)
        .await;
    let body = received[0].json();
    assert_eq!(body["type"], "team.member_joined");
    assert_eq!(body["data"]["team_id"], serde_json::json!(team.id));
    assert_eq!(body["data"]["team_name"], "Support");
    assert_eq!(body["data"]["user_id"], serde_json::json!(member.user_id));
    assert_eq!(body["data"]["name"], "Lina");
    assert_eq!(body["data"]["role"], "agent");
    assert_eq!(body["data"]["bot_ids"], serde_json::json!([bot.id]));
    let told = owner
        .notification_list()
        .send()
        .await
        .expect("notification_list")
        .into_inner();
    assert_eq!(told.data[0].title, "Lina joined Support");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        elsewhere.received().is_empty(),
        "no bot of that account is shared"
    );
    assert_eq!(receiver.received().len(), 1);
}

on_both_databases!(
    config = fast,
    an_invited_agent_works_a_shared_bot_but_never_its_credentials,
    a_member_joining_reaches_the_webhooks_of_the_shared_bots,
);
on_both_databases!(
    team_invite_tokens_are_replaced_revoked_and_resent,
    team_members_keep_an_owner_and_roles_follow_the_rules,
);
