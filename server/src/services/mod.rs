//! Services: what each operation does, over the store. They take a [`Call`] (who is calling,
//! resolved once by the HTTP layer) and the operation's typed input, and know nothing of HTTP.

pub mod accounts;
pub mod bots;
pub mod chat;
pub mod credentials;
pub mod knowledge;
pub mod ops;
pub mod quota;
pub mod webhooks;

use crate::app::App;
use crate::auth::Principal;
use crate::error::Error;
use botwire_api::types::{ErrorCode, PageInfo};
use std::net::IpAddr;
use uuid::Uuid;

/// One request's caller.
pub struct Call<'a> {
    pub app: &'a App,
    pub principal: Principal,
    pub ip: IpAddr,
}

impl Call<'_> {
    /// The signed-in user (operations whose contract admits only `userJwt`).
    pub fn user(&self) -> Result<(Uuid, Uuid), Error> {
        match self.principal {
            Principal::User {
                user_id,
                account_id,
            } => Ok((user_id, account_id)),
            _ => Err(Error::Unauthorized(
                "this operation needs a user's session token",
            )),
        }
    }

    /// The account the caller acts for.
    pub fn account(&self) -> Result<Uuid, Error> {
        self.principal
            .account_id()
            .ok_or(Error::Unauthorized("missing credentials"))
    }

    /// Owner access to one bot: the account's user or an API key of the account that is not
    /// scoped to another bot (403). A visitor is not an owner.
    pub fn owner_of_bot(&self, bot_id: Uuid) -> Result<Uuid, Error> {
        match &self.principal {
            Principal::User { account_id, .. } => Ok(*account_id),
            Principal::ApiKey {
                account_id,
                bot_id: None,
                ..
            } => Ok(*account_id),
            Principal::ApiKey {
                account_id,
                bot_id: Some(scope),
                ..
            } if *scope == bot_id => Ok(*account_id),
            Principal::ApiKey { .. } => Err(Error::Forbidden(
                "this API key is scoped to another bot".into(),
            )),
            Principal::Visitor { .. } | Principal::Anonymous => Err(Error::Unauthorized(
                "this operation needs the bot owner's credentials",
            )),
        }
    }

    /// Auth-class operations are limited per client address (by the HTTP layer) and per
    /// email address (here), so that one address cannot be tried from many clients.
    pub async fn limit_per_email(&self, email: &str) -> Result<(), Error> {
        let limit = self.app.config.rate_limits.auth;
        let decision = self
            .app
            .limiter
            .check(&format!("auth:email:{email}"), limit)
            .await?;
        if decision.allowed {
            Ok(())
        } else {
            Err(Error::RateLimited(decision))
        }
    }
}

pub fn not_found(code: ErrorCode, what: &str) -> Error {
    Error::NotFound {
        code,
        message: format!("no {what} with this id"),
    }
}

/// The contract's pagination object for a page of a store list.
pub fn page_info<T>(page: &crate::store::Page<T>, last_id: Option<String>) -> PageInfo {
    PageInfo {
        has_more: page.has_more,
        next_cursor: if page.has_more { last_id } else { None },
        total: page.total,
    }
}

/// A list's `cursor`: the last id of the previous page (opaque to clients, checked here).
pub fn cursor(raw: Option<&str>) -> Result<Option<String>, Error> {
    match raw {
        None => Ok(None),
        Some(raw) => Uuid::parse_str(raw)
            .map(|id| Some(id.to_string()))
            .map_err(|_| {
                Error::Validation(vec![(
                    "cursor".into(),
                    "not a cursor this server issued".into(),
                )])
            }),
    }
}

/// A list's `limit` as a size.
pub fn limit(raw: std::num::NonZeroU64) -> usize {
    usize::try_from(raw.get()).unwrap_or(usize::MAX).min(100)
}
