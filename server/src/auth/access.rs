//! Who may call an operation on which bot or team: the contract's `x-botwire-access`, decided
//! once per request, before the operation runs, from the principal and the resource the
//! request addresses. `http::serve` calls [`authorize`] for every operation; the chat
//! operations, whose bot is named in the body, call [`authorize_bot`] with it. Nothing else
//! decides access.
//!
//! The rule for bots: a user sees a bot of their own account (as its owner) or one shared with
//! a team they are a member of (in their best role there); an API key sees its account's bots
//! (a key scoped to one bot, that bot only: another is 403); a widget token sees its own bot.
//! A caller who cannot see the bot gets the 404 of a missing id; one who sees it without the
//! right, 403. Every bot-scoped read of the services filters by the grant's account
//! ([`Grant::account_id`]): for a key or a widget token that is the credential's account, so
//! another account's bot is simply not found.

use super::Principal;
use crate::app::App;
use crate::error::Error;
use crate::services::not_found;
use crate::store::{self, teams};
use botwire_api::policy::Access;
use botwire_api::policy::OperationPolicy;
use botwire_api::types::ErrorCode;
use uuid::Uuid;

/// A caller's standing towards one bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BotRole {
    /// A holder of the bot's widget token.
    Visitor,
    /// An agent of a team the bot is shared with.
    TeamAgent,
    /// An owner or admin of a team the bot is shared with.
    TeamAdmin,
    /// The bot's account: its users and API keys.
    Owner,
}

/// A member's role in a team, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TeamRole {
    Agent,
    Admin,
    Owner,
}

impl TeamRole {
    pub fn parse(text: &str) -> Option<TeamRole> {
        match text {
            "agent" => Some(TeamRole::Agent),
            "admin" => Some(TeamRole::Admin),
            "owner" => Some(TeamRole::Owner),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Agent => "agent",
            TeamRole::Admin => "admin",
            TeamRole::Owner => "owner",
        }
    }
}

/// What the access rule granted, for the operation to act within.
#[derive(Debug, Clone)]
pub enum Grant {
    /// The rule is not about one bot or team (or, for chat, the bot is in the body).
    Caller,
    Bot {
        bot_id: Uuid,
        /// The account whose data the operation reads and writes.
        account_id: Uuid,
        role: BotRole,
    },
    Team {
        team_id: Uuid,
        role: TeamRole,
    },
}

/// How a request names its bot.
enum Address {
    Bot(Uuid),
    Conversation(Uuid),
    Webhook(Uuid),
    CannedResponse(Uuid),
}

/// The request path's variables, by the operation's path template.
pub struct PathVariables<'r> {
    pub policy: &'r OperationPolicy,
    pub path: &'r str,
}

impl PathVariables<'_> {
    /// A variable of the template must be an id: its schema was checked before, so only an
    /// id written in a form the check decoded (percent-escapes) can fail here, and access then
    /// fails closed.
    fn get(&self, name: &str) -> Option<Result<Uuid, Error>> {
        let text = self.policy.path_variable(self.path, name)?;
        Some(
            Uuid::parse_str(text)
                .map_err(|_| Error::InvalidRequest(format!("path parameter `{name}`: not an id"))),
        )
    }
}

fn variable(variables: &PathVariables<'_>, name: &str) -> Result<Option<Uuid>, Error> {
    variables.get(name).transpose()
}

fn address(variables: &PathVariables<'_>) -> Result<Option<Address>, Error> {
    if let Some(id) = variable(variables, "bot_id")? {
        return Ok(Some(Address::Bot(id)));
    }
    if let Some(id) = variable(variables, "conversation_id")? {
        return Ok(Some(Address::Conversation(id)));
    }
    if let Some(id) = variable(variables, "webhook_id")? {
        return Ok(Some(Address::Webhook(id)));
    }
    if let Some(id) = variable(variables, "canned_response_id")? {
        return Ok(Some(Address::CannedResponse(id)));
    }
    Ok(None)
}

/// Decides the operation's access rule for this caller and request (its path variables,
/// already checked against their schemas).
pub async fn authorize(
    app: &App,
    principal: &Principal,
    access: Access,
    variables: &PathVariables<'_>,
) -> Result<Grant, Error> {
    if access.is_team_scoped() {
        let team_id = variable(variables, "team_id")?
            .ok_or_else(|| Error::Internal("a team-scoped operation without team_id".into()))?;
        return authorize_team(app, principal, access, team_id).await;
    }
    if !access.is_bot_scoped() {
        return Ok(Grant::Caller);
    }
    match address(variables)? {
        // The chat operations name their bot in the body: they call `authorize_bot`.
        None => Ok(Grant::Caller),
        Some(Address::Bot(bot_id)) => authorize_bot(app, principal, access, bot_id, true).await,
        Some(Address::Conversation(id)) => {
            let missing = || not_found(ErrorCode::ConversationNotFound, "conversation");
            let (bot_id, account_id, by_visitor) =
                store::chat::conversation_bot_get(&app.db, &id.to_string())
                    .await?
                    .ok_or_else(missing)?;
            let bot_id = store::uuid(&bot_id);
            if !in_credential_account(principal, &account_id) {
                return Err(missing());
            }
            // A visitor sees only the conversations visitors started, on its own bot.
            if let Principal::Visitor { bot_id: own, .. } = principal
                && (*own != bot_id || !by_visitor)
            {
                return Err(missing());
            }
            authorize_bot(app, principal, access, bot_id, false)
                .await
                .map_err(|error| hide_as(error, missing))
        }
        Some(Address::Webhook(id)) => {
            let missing = || not_found(ErrorCode::WebhookNotFound, "webhook");
            let (bot_id, account_id) = store::webhooks::webhook_bot_get(&app.db, &id.to_string())
                .await?
                .ok_or_else(missing)?;
            if !in_credential_account(principal, &account_id) {
                return Err(missing());
            }
            authorize_bot(app, principal, access, store::uuid(&bot_id), false)
                .await
                .map_err(|error| hide_as(error, missing))
        }
        Some(Address::CannedResponse(id)) => {
            let missing = || not_found(ErrorCode::CannedResponseNotFound, "canned response");
            let (bot_id, account_id) =
                store::inbox::canned_response_bot_get(&app.db, &id.to_string())
                    .await?
                    .ok_or_else(missing)?;
            if !in_credential_account(principal, &account_id) {
                return Err(missing());
            }
            authorize_bot(app, principal, access, store::uuid(&bot_id), false)
                .await
                .map_err(|error| hide_as(error, missing))
        }
    }
}

/// Whether a resource of the account `account_id` is within the credential's own account: a
/// key or a widget token never reaches past it (a user may, through a team).
fn in_credential_account(principal: &Principal, account_id: &str) -> bool {
    match principal {
        Principal::ApiKey {
            account_id: own, ..
        }
        | Principal::Visitor {
            account_id: own, ..
        } => store::uuid(account_id) == *own,
        Principal::User { .. } | Principal::Anonymous => true,
    }
}

/// A resource addressed by its own id is not found, rather than its bot.
fn hide_as(error: Error, missing: impl Fn() -> Error) -> Error {
    match error {
        Error::NotFound { .. } => missing(),
        other => other,
    }
}

/// The caller's grant on `bot_id` under the rule `access`. `named` says the request names the
/// bot itself (a path's `bot_id`, a body's): a widget token of another bot is then 403, as it
/// knows which bot it is for.
pub async fn authorize_bot(
    app: &App,
    principal: &Principal,
    access: Access,
    bot_id: Uuid,
    named: bool,
) -> Result<Grant, Error> {
    let missing = || not_found(ErrorCode::BotNotFound, "bot");
    let (account_id, role) = match principal {
        Principal::User {
            user_id,
            account_id,
        } => {
            let found =
                teams::bot_access_get(&app.db, &bot_id.to_string(), Some(&user_id.to_string()))
                    .await?
                    .ok_or_else(missing)?;
            let bot_account = store::uuid(&found.account_id);
            if bot_account == *account_id {
                (bot_account, BotRole::Owner)
            } else {
                let best = found
                    .team_roles
                    .iter()
                    .filter_map(|role| TeamRole::parse(role))
                    .max()
                    .ok_or_else(missing)?;
                let role = if best >= TeamRole::Admin {
                    BotRole::TeamAdmin
                } else {
                    BotRole::TeamAgent
                };
                (bot_account, role)
            }
        }
        Principal::ApiKey {
            account_id,
            bot_id: scope,
            ..
        } => {
            if scope.is_some_and(|scope| scope != bot_id) {
                // Another account's bot is not found; one of the key's account, forbidden.
                teams::bot_access_get(&app.db, &bot_id.to_string(), None)
                    .await?
                    .filter(|found| store::uuid(&found.account_id) == *account_id)
                    .ok_or_else(missing)?;
                return Err(Error::Forbidden(
                    "this API key is scoped to another bot".into(),
                ));
            }
            (*account_id, BotRole::Owner)
        }
        Principal::Visitor {
            bot_id: own,
            account_id,
        } => {
            if *own != bot_id {
                return Err(if named {
                    Error::Forbidden("this widget token belongs to another bot".into())
                } else {
                    missing()
                });
            }
            (*account_id, BotRole::Visitor)
        }
        Principal::Anonymous => {
            return Err(Error::Unauthorized("missing credentials"));
        }
    };
    let needed = match access {
        Access::BotOwner => BotRole::Owner,
        Access::BotTeamAdmin => BotRole::TeamAdmin,
        Access::BotTeamAgent => BotRole::TeamAgent,
        _ => BotRole::Visitor,
    };
    if role < needed {
        return Err(Error::Forbidden(format!(
            "this operation needs {} access to the bot",
            access.as_str()
        )));
    }
    Ok(Grant::Bot {
        bot_id,
        account_id,
        role,
    })
}

async fn authorize_team(
    app: &App,
    principal: &Principal,
    access: Access,
    team_id: Uuid,
) -> Result<Grant, Error> {
    let Principal::User { user_id, .. } = principal else {
        return Err(Error::Unauthorized(
            "teams are managed with a user's session token",
        ));
    };
    let role = teams::member_role_get(&app.db, &team_id.to_string(), &user_id.to_string())
        .await?
        .and_then(|role| TeamRole::parse(&role))
        .ok_or_else(|| not_found(ErrorCode::TeamNotFound, "team"))?;
    let needed = match access {
        Access::TeamOwner => TeamRole::Owner,
        Access::TeamAdmin => TeamRole::Admin,
        _ => TeamRole::Agent,
    };
    if role < needed {
        return Err(Error::Forbidden(format!(
            "this operation needs the team's {} role",
            match needed {
                TeamRole::Owner => "owner",
                TeamRole::Admin => "owner or admin",
                TeamRole::Agent => "member",
            }
        )));
    }
    Ok(Grant::Team { team_id, role })
}

impl Grant {
    /// The account a bot-scoped operation acts in.
    pub fn account_id(&self) -> Option<Uuid> {
        match self {
            Grant::Bot { account_id, .. } => Some(*account_id),
            _ => None,
        }
    }
}
