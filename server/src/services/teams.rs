//! Teams: create, list, read, delete; invitations (mailed, single use, 7 days); members and
//! their roles; bots shared with a team. Who may call which operation on which team is the
//! access rule (`auth::access`, before the service runs); what is left here are the finer
//! rules the contract states per operation (only an owner makes an owner, a team keeps an
//! owner, a member may leave, only a bot's account shares its bot).

use super::{Call, cursor, limit, not_found, page_info, time_cursor, time_cursor_of};
use crate::auth::access::{Grant, TeamRole};
use crate::auth::secrets;
use crate::email;
use crate::error::Error;
use crate::store::teams::{
    self as store, Acceptance, InviteRow, MemberChange, MemberRow, MemberWithUser, SharedBot,
    TeamRow, TeamWithRole,
};
use crate::store::{self as stores, bots, new_id, now, users, utc};
use botwire_api::types::{
    self, ErrorCode, PendingTeamInvite, PendingTeamInviteList, Team, TeamBot, TeamBotList,
    TeamBotListQuery, TeamBotShare, TeamCreate, TeamInvite, TeamInviteAccept, TeamInviteCreate,
    TeamInviteListQuery, TeamInviteRole, TeamList, TeamListQuery, TeamMember, TeamMemberList,
    TeamMemberListQuery, TeamMemberUpdate, TeamUpdate,
};
use rand::distr::{Alphanumeric, SampleString};
use std::num::NonZeroU64;
use std::time::Duration;
use uuid::Uuid;

/// How long an invitation's token is valid.
const INVITE_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);
const INVITE_TOKEN_PREFIX: &str = "ti_";
/// The context of an invitation token's hash (see `secrets::hash_secret`).
const INVITE_HASH_CONTEXT: &str = "team_invite";

pub(super) fn role_of(text: &str) -> TeamRole {
    TeamRole::parse(text).unwrap_or(TeamRole::Agent)
}

fn contract_role(role: TeamRole) -> types::TeamRole {
    match role {
        TeamRole::Owner => types::TeamRole::Owner,
        TeamRole::Admin => types::TeamRole::Admin,
        TeamRole::Agent => types::TeamRole::Agent,
    }
}

fn own_role(role: types::TeamRole) -> TeamRole {
    match role {
        types::TeamRole::Owner => TeamRole::Owner,
        types::TeamRole::Admin => TeamRole::Admin,
        types::TeamRole::Agent => TeamRole::Agent,
    }
}

fn invite_role(text: &str) -> TeamInviteRole {
    if text == "admin" {
        TeamInviteRole::Admin
    } else {
        TeamInviteRole::Agent
    }
}

/// A capacity as stored (the contract bounds it to 1..=1000).
fn capacity_of(capacity: Option<NonZeroU64>) -> Option<i64> {
    capacity.and_then(|c| i64::try_from(c.get()).ok())
}

fn capacity_view(stored: Option<i64>) -> Option<NonZeroU64> {
    stored
        .and_then(|c| u64::try_from(c).ok())
        .and_then(NonZeroU64::new)
}

fn team_view(row: &TeamWithRole) -> Team {
    Team {
        agent_capacity: capacity_view(row.team.agent_capacity),
        created_at: utc(row.team.created_at),
        id: stores::uuid(&row.team.id),
        member_count: NonZeroU64::new(u64::try_from(row.member_count).unwrap_or(1))
            .unwrap_or(NonZeroU64::MIN),
        name: row.team.name.clone(),
        role: contract_role(role_of(&row.role)),
    }
}

fn member_view(row: &MemberWithUser) -> TeamMember {
    TeamMember {
        agent_capacity: capacity_view(row.member.agent_capacity),
        email: row.email.clone(),
        joined_at: utc(row.member.joined_at),
        name: row.name.clone(),
        role: contract_role(role_of(&row.member.role)),
        team_id: stores::uuid(&row.member.team_id),
        user_id: stores::uuid(&row.member.user_id),
    }
}

fn shared_view(row: &SharedBot) -> TeamBot {
    TeamBot {
        bot_id: stores::uuid(&row.bot_id),
        bot_name: row.bot_name.clone(),
        shared_at: utc(row.shared_at),
        team_id: stores::uuid(&row.team_id),
    }
}

fn pending_view(row: &InviteRow) -> PendingTeamInvite {
    PendingTeamInvite {
        created_at: utc(row.created_at),
        email: row.email.clone(),
        expires_at: utc(row.expires_at),
        id: stores::uuid(&row.id),
        role: invite_role(&row.role),
        team_id: stores::uuid(&row.team_id),
    }
}

/// The team and the caller's role in it, as the access rule granted them.
pub(super) fn granted_team(call: &Call<'_>) -> Result<(Uuid, TeamRole), Error> {
    match call.grant {
        Grant::Team { team_id, role } => Ok((team_id, role)),
        _ => Err(Error::Internal(
            "a team operation without a team grant".into(),
        )),
    }
}

fn team_missing() -> Error {
    not_found(ErrorCode::TeamNotFound, "team")
}

fn member_missing() -> Error {
    not_found(ErrorCode::MemberNotFound, "member")
}

fn invite_missing() -> Error {
    not_found(ErrorCode::InviteNotFound, "pending invitation")
}

pub async fn team_create(call: &Call<'_>, body: TeamCreate) -> Result<Team, Error> {
    let (user_id, _) = call.user()?;
    let now = now();
    let team = TeamRow {
        id: new_id(),
        name: body.name.to_string(),
        created_at: now,
        agent_capacity: capacity_of(body.agent_capacity),
    };
    let owner = MemberRow {
        team_id: team.id.clone(),
        user_id: user_id.to_string(),
        role: TeamRole::Owner.as_str().into(),
        joined_at: now,
        agent_capacity: None,
    };
    store::team_create(&call.app.db, &team, &owner).await?;
    Ok(team_view(&TeamWithRole {
        team,
        role: owner.role,
        member_count: 1,
    }))
}

pub async fn team_list(call: &Call<'_>, query: TeamListQuery) -> Result<TeamList, Error> {
    let (user_id, _) = call.user()?;
    let after = cursor(query.cursor.as_deref().map(String::as_str))?;
    let page = store::team_list(
        &call.app.db,
        &user_id.to_string(),
        after.as_deref(),
        limit(query.limit),
    )
    .await?;
    let last = page.items.last().map(|row| row.team.id.clone());
    Ok(TeamList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(team_view).collect(),
    })
}

pub async fn team_get(call: &Call<'_>) -> Result<Team, Error> {
    let (team_id, _) = granted_team(call)?;
    let (user_id, _) = call.user()?;
    let row = store::team_get(&call.app.db, &team_id.to_string(), &user_id.to_string())
        .await?
        .ok_or_else(team_missing)?;
    Ok(team_view(&row))
}

/// Renames the team or sets its agents' capacity (team admins: the access rule).
pub async fn team_update(
    call: &Call<'_>,
    (body, json): (TeamUpdate, serde_json::Value),
) -> Result<Team, Error> {
    let (team_id, _) = granted_team(call)?;
    let name = body.name.as_deref().map(String::as_str);
    let capacity =
        botwire_api::given(&json, "/agent_capacity").then(|| capacity_of(body.agent_capacity));
    if !store::team_update(&call.app.db, &team_id.to_string(), name, capacity).await? {
        return Err(team_missing());
    }
    team_get(call).await
}

pub async fn team_delete(call: &Call<'_>) -> Result<(), Error> {
    let (team_id, _) = granted_team(call)?;
    if store::team_delete(&call.app.db, &team_id.to_string()).await? {
        Ok(())
    } else {
        Err(team_missing())
    }
}

fn new_invite_token() -> String {
    format!(
        "{INVITE_TOKEN_PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 43)
    )
}

fn invite_hash(token: &str) -> String {
    secrets::hash_secret(INVITE_HASH_CONTEXT, token)
}

fn expiry(from: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    from + chrono::Duration::from_std(INVITE_VALIDITY).unwrap_or(chrono::Duration::days(7))
}

/// Mails an invitation after the request (never inside its transaction); a failure is logged,
/// and the admins can resend.
async fn mail_invite(
    call: &Call<'_>,
    team_id: Uuid,
    row: &InviteRow,
    token: &str,
) -> Result<(), Error> {
    let (user_id, _) = call.user()?;
    let team = store::team_get(&call.app.db, &team_id.to_string(), &user_id.to_string())
        .await?
        .ok_or_else(team_missing)?;
    let inviter = users::user_get(&call.app.db, &user_id.to_string())
        .await?
        .map(|user| user.name)
        .unwrap_or_default();
    let message = email::team_invite_email(
        &row.email,
        &team.team.name,
        &inviter,
        token,
        INVITE_VALIDITY,
    );
    let mailer = call.app.mailer.clone();
    let log = call.app.log.clone();
    tokio::spawn(async move {
        if let Err(error) = mailer.send(message).await {
            slog::error!(log, "sending an invitation failed"; "error" => %error);
        }
    });
    Ok(())
}

fn invite_view(row: &InviteRow, token: String) -> TeamInvite {
    TeamInvite {
        accepted_at: row.accepted_at.map(utc),
        created_at: utc(row.created_at),
        email: row.email.clone(),
        expires_at: utc(row.expires_at),
        id: stores::uuid(&row.id),
        role: invite_role(&row.role),
        team_id: stores::uuid(&row.team_id),
        token,
    }
}

pub async fn team_invite_create(
    call: &Call<'_>,
    body: TeamInviteCreate,
) -> Result<TeamInvite, Error> {
    let (team_id, _) = granted_team(call)?;
    let (user_id, _) = call.user()?;
    let email = body.email.trim().to_lowercase();
    if store::team_has_member_email(&call.app.db, &team_id.to_string(), &email).await? {
        return Err(Error::Conflict(format!(
            "{email} already belongs to a member of this team"
        )));
    }
    let token = new_invite_token();
    let now = now();
    let row = InviteRow {
        id: new_id(),
        team_id: team_id.to_string(),
        email,
        role: body.role.to_string(),
        token_hash: invite_hash(&token),
        invited_by: Some(user_id.to_string()),
        expires_at: expiry(now),
        accepted_at: None,
        created_at: now,
    };
    store::team_invite_create(&call.app.db, &row).await?;
    mail_invite(call, team_id, &row, &token).await?;
    Ok(invite_view(&row, token))
}

pub async fn team_invite_list(
    call: &Call<'_>,
    query: TeamInviteListQuery,
) -> Result<PendingTeamInviteList, Error> {
    let (team_id, _) = granted_team(call)?;
    let before = cursor(query.cursor.as_deref().map(String::as_str))?;
    let page = store::team_invite_list(
        &call.app.db,
        &team_id.to_string(),
        now(),
        before.as_deref(),
        limit(query.limit),
    )
    .await?;
    let last = page.items.last().map(|row| row.id.clone());
    Ok(PendingTeamInviteList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(pending_view).collect(),
    })
}

pub async fn team_invite_revoke(call: &Call<'_>, invite_id: Uuid) -> Result<(), Error> {
    let (team_id, _) = granted_team(call)?;
    let db = &call.app.db;
    // Expired invitations are not pending: they cannot be revoked, only replaced.
    store::team_invite_get(db, &team_id.to_string(), &invite_id.to_string(), now())
        .await?
        .ok_or_else(invite_missing)?;
    if store::team_invite_delete(db, &team_id.to_string(), &invite_id.to_string()).await? {
        Ok(())
    } else {
        Err(invite_missing())
    }
}

pub async fn team_invite_resend(call: &Call<'_>, invite_id: Uuid) -> Result<TeamInvite, Error> {
    let (team_id, _) = granted_team(call)?;
    let db = &call.app.db;
    let mut row = store::team_invite_get(db, &team_id.to_string(), &invite_id.to_string(), now())
        .await?
        .ok_or_else(invite_missing)?;
    let token = new_invite_token();
    row.token_hash = invite_hash(&token);
    row.created_at = now();
    row.expires_at = expiry(row.created_at);
    if !store::team_invite_renew(db, &row.id, &row.token_hash, row.created_at, row.expires_at)
        .await?
    {
        return Err(invite_missing());
    }
    mail_invite(call, team_id, &row, &token).await?;
    Ok(invite_view(&row, token))
}

pub async fn team_invite_accept(
    call: &Call<'_>,
    body: TeamInviteAccept,
) -> Result<TeamMember, Error> {
    let (user_id, _) = call.user()?;
    let db = &call.app.db;
    let invite = store::team_invite_by_token(db, &invite_hash(&body.token))
        .await?
        .ok_or_else(invite_missing)?;
    if invite.accepted_at.is_some() {
        return Err(Error::Conflict(
            "this invitation was accepted already".into(),
        ));
    }
    if invite.expires_at <= now() {
        return Err(invite_missing());
    }
    let user = users::user_get(db, &user_id.to_string())
        .await?
        .ok_or(Error::Unauthorized("this user no longer exists"))?;
    if user.email.to_lowercase() != invite.email {
        return Err(Error::Forbidden(
            "this invitation is for another email address".into(),
        ));
    }
    if user.email_verified_at.is_none() {
        return Err(Error::Forbidden(
            "verify your email address before accepting an invitation".into(),
        ));
    }
    let member = MemberRow {
        team_id: invite.team_id.clone(),
        user_id: user.id.clone(),
        role: invite.role.clone(),
        joined_at: now(),
        agent_capacity: None,
    };
    let team = store::team_name_get(db, &invite.team_id)
        .await?
        .ok_or_else(invite_missing)?;
    let joined = super::notifications::member_joined(&invite.team_id, &team, &user.id, &user.name);
    let at = chrono::Utc::now();
    let event = |bot_ids: &[String]| {
        let data = types::TeamMemberJoinedEventData {
            bot_ids: bot_ids.iter().map(|id| stores::uuid(id)).collect(),
            email: user.email.clone(),
            name: user.name.clone(),
            role: contract_role(role_of(&member.role)),
            team_id: stores::uuid(&member.team_id),
            team_name: team.clone(),
            user_id: stores::uuid(&member.user_id),
        };
        serde_json::json!({"type": "team.member_joined", "timestamp": at, "data": data}).to_string()
    };
    match store::team_invite_accept(db, &invite.id, &member, &joined, &event).await? {
        Acceptance::Joined => Ok(member_view(&MemberWithUser {
            member,
            email: user.email,
            name: user.name,
        })),
        Acceptance::Conflict => Err(Error::Conflict(
            "the invitation was used meanwhile, or you are a member already".into(),
        )),
    }
}

pub async fn team_member_list(
    call: &Call<'_>,
    query: TeamMemberListQuery,
) -> Result<TeamMemberList, Error> {
    let (team_id, _) = granted_team(call)?;
    let after = time_cursor(query.cursor.as_deref().map(String::as_str))?;
    let page = store::team_member_list(
        &call.app.db,
        &team_id.to_string(),
        after,
        limit(query.limit),
    )
    .await?;
    let last = page
        .items
        .last()
        .map(|row| time_cursor_of(row.member.joined_at, &row.member.user_id));
    Ok(TeamMemberList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(member_view).collect(),
    })
}

/// The member `user_id` of the granted team.
pub(super) async fn member(
    call: &Call<'_>,
    team_id: Uuid,
    user_id: Uuid,
) -> Result<MemberWithUser, Error> {
    store::team_member_get(&call.app.db, &team_id.to_string(), &user_id.to_string())
        .await?
        .ok_or_else(member_missing)
}

fn last_owner() -> Error {
    Error::Conflict(
        "a team keeps at least one owner: make another member owner first, or delete the team"
            .into(),
    )
}

pub async fn team_member_update(
    call: &Call<'_>,
    user_id: Uuid,
    (body, json): (TeamMemberUpdate, serde_json::Value),
) -> Result<TeamMember, Error> {
    let (team_id, caller_role) = granted_team(call)?;
    let (team, user) = (team_id.to_string(), user_id.to_string());
    let mut target = member(call, team_id, user_id).await?;
    // The role first: a role change refused (403, 409) leaves the capacity as it was too.
    if let Some(new_role) = body.role.map(own_role) {
        let current = role_of(&target.member.role);
        // Owners set any role; admins move members between admin and agent only.
        if caller_role < TeamRole::Owner
            && (current == TeamRole::Owner || new_role == TeamRole::Owner)
        {
            return Err(Error::Forbidden(
                "only an owner may change an owner or make one".into(),
            ));
        }
        match store::team_member_change(&call.app.db, &team, &user, Some(new_role.as_str())).await?
        {
            MemberChange::Done => target.member.role = new_role.as_str().into(),
            MemberChange::NoSuchMember => return Err(member_missing()),
            MemberChange::LastOwner => return Err(last_owner()),
        }
    }
    if botwire_api::given(&json, "/agent_capacity") {
        let capacity = capacity_of(body.agent_capacity);
        if !store::team_member_capacity_set(&call.app.db, &team, &user, capacity).await? {
            return Err(member_missing());
        }
        target.member.agent_capacity = capacity;
    }
    Ok(member_view(&target))
}

pub async fn team_member_remove(call: &Call<'_>, user_id: Uuid) -> Result<(), Error> {
    let (team_id, caller_role) = granted_team(call)?;
    let (caller, _) = call.user()?;
    let target = member(call, team_id, user_id).await?;
    let target_role = role_of(&target.member.role);
    // Any member may leave; owners remove anyone; admins remove admins and agents.
    let allowed = caller == user_id
        || caller_role == TeamRole::Owner
        || (caller_role == TeamRole::Admin && target_role < TeamRole::Owner);
    if !allowed {
        return Err(Error::Forbidden(
            "owners remove anyone, admins remove admins and agents, a member only themself".into(),
        ));
    }
    match store::team_member_change(
        &call.app.db,
        &team_id.to_string(),
        &user_id.to_string(),
        None,
    )
    .await?
    {
        MemberChange::Done => Ok(()),
        MemberChange::NoSuchMember => Err(member_missing()),
        MemberChange::LastOwner => Err(last_owner()),
    }
}

pub async fn team_bot_share(call: &Call<'_>, body: TeamBotShare) -> Result<TeamBot, Error> {
    let (team_id, _) = granted_team(call)?;
    let (_, account_id) = call.user()?;
    let db = &call.app.db;
    // Only the bot's account shares its bot: another's is not found.
    bots::bot_get(db, &account_id.to_string(), &body.bot_id.to_string())
        .await?
        .ok_or_else(|| not_found(ErrorCode::BotNotFound, "bot"))?;
    let (team, bot) = (team_id.to_string(), body.bot_id.to_string());
    if !store::team_bot_share(db, &team, &bot, now()).await? {
        return Err(Error::Conflict(
            "this bot is shared with the team already".into(),
        ));
    }
    let shared = store::team_bot_get(db, &team, &bot)
        .await?
        .ok_or_else(|| not_found(ErrorCode::BotNotFound, "bot"))?;
    Ok(shared_view(&shared))
}

pub async fn team_bot_list(call: &Call<'_>, query: TeamBotListQuery) -> Result<TeamBotList, Error> {
    let (team_id, _) = granted_team(call)?;
    let before = time_cursor(query.cursor.as_deref().map(String::as_str))?;
    let page = store::team_bot_list(
        &call.app.db,
        &team_id.to_string(),
        before,
        limit(query.limit),
    )
    .await?;
    let last = page
        .items
        .last()
        .map(|row| time_cursor_of(row.shared_at, &row.bot_id));
    Ok(TeamBotList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(shared_view).collect(),
    })
}

pub async fn team_bot_unshare(call: &Call<'_>, bot_id: Uuid) -> Result<(), Error> {
    let (team_id, _) = granted_team(call)?;
    if store::team_bot_unshare(&call.app.db, &team_id.to_string(), &bot_id.to_string()).await? {
        Ok(())
    } else {
        Err(not_found(
            ErrorCode::BotNotFound,
            "bot shared with this team",
        ))
    }
}
