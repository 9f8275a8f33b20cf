//! Services: what each operation does, over the store. They take a [`Call`] (who is calling,
//! resolved once by the HTTP layer) and the operation's typed input, and know nothing of HTTP.

pub mod accounts;
pub mod analytics;
pub mod bots;
pub mod chat;
pub mod contacts;
pub mod credentials;
pub mod inbox;
pub mod knowledge;
pub mod notifications;
pub mod ops;
pub mod presence;
pub mod quota;
pub mod teams;
pub mod webhooks;

use crate::app::App;
use crate::auth::Principal;
use crate::auth::access::{BotRole, Grant};
use crate::error::Error;
use botwire_api::types::{ErrorCode, PageInfo};
use std::net::IpAddr;
use uuid::Uuid;

/// One request's caller.
pub struct Call<'a> {
    pub app: &'a App,
    pub principal: Principal,
    pub ip: IpAddr,
    /// What the operation's access rule granted (`auth::access`), decided before it runs.
    pub grant: Grant,
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

    /// The account the caller acts in: on a bot-scoped operation the bot's (a team member
    /// works in the bot's account), else the caller's own.
    pub fn account(&self) -> Result<Uuid, Error> {
        self.grant
            .account_id()
            .or_else(|| self.principal.account_id())
            .ok_or(Error::Unauthorized("missing credentials"))
    }

    /// Whether the caller holds the bot's widget token (on a bot-scoped operation).
    pub fn is_visitor(&self) -> bool {
        matches!(
            self.grant,
            Grant::Bot {
                role: BotRole::Visitor,
                ..
            }
        )
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

/// A cursor of a list ordered by a time and an id: `<time, microseconds>_<id>` of the last item
/// of the previous page (sessions by their latest message, team members by when they joined).
pub fn time_cursor(raw: Option<&str>) -> Result<Option<(chrono::NaiveDateTime, String)>, Error> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    raw.split_once('_')
        .and_then(|(micros, id)| {
            let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            let id = Uuid::parse_str(id).ok()?;
            Some((at.naive_utc(), id.to_string()))
        })
        .map(Some)
        .ok_or_else(|| {
            Error::Validation(vec![(
                "cursor".into(),
                "not a cursor this server issued".into(),
            )])
        })
}

/// The cursor [`time_cursor`] reads.
pub fn time_cursor_of(at: chrono::NaiveDateTime, id: &str) -> String {
    format!("{}_{}", at.and_utc().timestamp_micros(), id)
}
