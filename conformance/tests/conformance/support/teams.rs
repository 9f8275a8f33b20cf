//! Teams for the tests: users with verified emails, invitations accepted from the outbox's
//! mails, and a team with one member of each role.

use super::{bearer, latest_code, register};
use botwire_client::Client;
use botwire_client::types::{self, TeamInviteRole, TeamRole};
use botwire_conformance::TestContext;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A registered user whose email is verified (with the code the registration mailed).
pub async fn verified(ctx: &TestContext, email: &str, name: &str) -> (types::AuthSession, Client) {
    let session = register(ctx, email, name).await;
    let code = latest_code(ctx, email, 1).await;
    let user = ctx
        .client
        .account_email_verify()
        .body(types::AccountEmailVerify::builder().email(email).code(code))
        .send()
        .await
        .unwrap_or_else(|e| panic!("verifying {email}: {e:?}"));
    assert!(user.email_verified);
    let client = bearer(ctx, &session.token);
    (session, client)
}

/// The `ti_` token of the newest invitation mailed to `email`, once the outbox holds `count`
/// invitations to it.
pub async fn mailed_invite_token(ctx: &TestContext, email: &str, count: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tokens = invite_tokens(ctx, email);
        if tokens.len() >= count {
            return tokens.last().cloned().expect("a token");
        }
        assert!(
            Instant::now() < deadline,
            "no invitation #{count} to {email} in the outbox"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until an invitation with `token` has been mailed to `email` (mails are sent by the
/// worker loop, in no promised order).
pub async fn expect_invite_mailed(ctx: &TestContext, email: &str, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !invite_tokens(ctx, email)
        .iter()
        .any(|mailed| mailed == token)
    {
        assert!(
            Instant::now() < deadline,
            "the invitation {token} was not mailed to {email}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The tokens of the invitations mailed to `email`, oldest first.
pub fn invite_tokens(ctx: &TestContext, email: &str) -> Vec<String> {
    super::mails_to(ctx, email)
        .iter()
        .filter_map(|raw| {
            raw.lines()
                .map(str::trim)
                .find(|line| line.starts_with("ti_"))
                .map(str::to_string)
        })
        .collect()
}

pub async fn create_team(owner: &Client, name: &str) -> types::Team {
    let response = owner
        .team_create()
        .body(types::TeamCreate::builder().name(name))
        .send()
        .await
        .unwrap_or_else(|e| panic!("team_create {name}: {e:?}"));
    assert_eq!(response.status(), 201);
    response.into_inner()
}

/// Invites `email` (a verified user's, signed in as `invitee`) and accepts with the token
/// from the mail; then sets `role` (owners are made by an owner, never by invitation).
pub async fn add_member(
    ctx: &TestContext,
    owner: &Client,
    team_id: Uuid,
    email: &str,
    invitee: &Client,
    role: TeamRole,
) -> types::TeamMember {
    let invited_as = if role == TeamRole::Admin {
        TeamInviteRole::Admin
    } else {
        TeamInviteRole::Agent
    };
    let before = invite_tokens(ctx, email).len();
    let invite = owner
        .team_invite_create()
        .team_id(team_id)
        .body(
            types::TeamInviteCreate::builder()
                .email(email)
                .role(invited_as),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("team_invite_create {email}: {e:?}"));
    assert_eq!(invite.status(), 201);
    let token = mailed_invite_token(ctx, email, before + 1).await;
    assert_eq!(
        token, invite.token,
        "the mailed token is the one returned once"
    );
    let member = invitee
        .team_invite_accept()
        .body(types::TeamInviteAccept::builder().token(token))
        .send()
        .await
        .unwrap_or_else(|e| panic!("team_invite_accept {email}: {e:?}"))
        .into_inner();
    if role != TeamRole::Owner {
        return member;
    }
    owner
        .team_member_update()
        .team_id(team_id)
        .user_id(member.user_id)
        .body(types::TeamMemberUpdate::builder().role(Some(TeamRole::Owner)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("team_member_update {email}: {e:?}"))
        .into_inner()
}
