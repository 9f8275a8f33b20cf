//! Who is calling: every credential form resolves to one [`Principal`], here and nowhere
//! else. Which forms an operation admits is the contract's `security`, generated into
//! `botwire_api::policy`.

pub mod access;
pub mod passwords;
pub mod secrets;
pub mod tokens;
pub mod totp;

use crate::app::App;
use crate::error::Error;
use crate::store;
use crate::store::api_keys::KeyRateLimits;
use base64::Engine;
use botwire_api::policy::{OperationPolicy, RateLimitClass, SecurityScheme};
use http::HeaderMap;
use std::net::IpAddr;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub enum Principal {
    /// A public operation: no credential needed (nor looked at).
    Anonymous,
    /// A signed-in user.
    User { user_id: Uuid, account_id: Uuid },
    /// An API key, for its whole account or (`bot_id`) one bot.
    ApiKey {
        key_id: Uuid,
        account_id: Uuid,
        bot_id: Option<Uuid>,
        limits: KeyRateLimits,
    },
    /// An anonymous visitor holding a bot's public widget token.
    Visitor { bot_id: Uuid, account_id: Uuid },
}

impl Principal {
    /// The bucket its requests are counted in, per rate-limit class.
    pub fn rate_limit_key(&self, ip: IpAddr) -> String {
        match self {
            Principal::Anonymous => format!("ip:{ip}"),
            Principal::User { user_id, .. } => format!("user:{user_id}"),
            Principal::ApiKey { key_id, .. } => format!("key:{key_id}"),
            // Visitors share a public token: count each visitor (address) separately.
            Principal::Visitor { bot_id, .. } => format!("visitor:{bot_id}:{ip}"),
        }
    }

    /// An API key's own limit for the class, if it has one.
    pub fn rate_limit_override(&self, class: RateLimitClass) -> Option<u32> {
        let Principal::ApiKey { limits, .. } = self else {
            return None;
        };
        let limit = match class {
            RateLimitClass::Standard => limits.standard,
            RateLimitClass::Chat => limits.chat,
            RateLimitClass::Auth => limits.auth,
            RateLimitClass::None => None,
        };
        limit.and_then(|n| u32::try_from(n).ok())
    }

    /// The account it acts for (none for `Anonymous`).
    pub fn account_id(&self) -> Option<Uuid> {
        match self {
            Principal::Anonymous => None,
            Principal::User { account_id, .. }
            | Principal::ApiKey { account_id, .. }
            | Principal::Visitor { account_id, .. } => Some(*account_id),
        }
    }
}

/// A credential as presented, before it is checked.
enum Presented<'a> {
    Jwt(&'a str),
    ApiKey(&'a str, SecurityScheme),
    ClientCredentials(String, String),
    WidgetToken(&'a str),
}

impl Presented<'_> {
    fn scheme(&self) -> SecurityScheme {
        match self {
            Presented::Jwt(_) => SecurityScheme::UserJwt,
            Presented::ApiKey(_, scheme) => *scheme,
            Presented::ClientCredentials(..) => SecurityScheme::ClientCredentials,
            Presented::WidgetToken(_) => SecurityScheme::WidgetToken,
        }
    }
}

fn presented(headers: &HeaderMap) -> Result<Vec<Presented<'_>>, Error> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let mut found = Vec::new();
    if let Some(authorization) = header("authorization") {
        let (scheme, value) = authorization.split_once(' ').unwrap_or((authorization, ""));
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            found.push(if value.starts_with(secrets::API_KEY_PREFIX) {
                Presented::ApiKey(value, SecurityScheme::ApiKeyBearer)
            } else {
                Presented::Jwt(value)
            });
        } else if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(Error::Unauthorized("malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or(Error::Unauthorized("malformed Basic credentials"))?;
            found.push(Presented::ClientCredentials(
                id.to_string(),
                secret.to_string(),
            ));
        } else {
            return Err(Error::Unauthorized("unsupported Authorization scheme"));
        }
    }
    if let Some(key) = header("x-api-key") {
        found.push(Presented::ApiKey(key, SecurityScheme::ApiKeyHeader));
    }
    if let Some(token) = header("x-widget-token") {
        found.push(Presented::WidgetToken(token));
    }
    Ok(found)
}

/// Resolves the request's credential into a principal the operation admits.
pub async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    policy: &OperationPolicy,
) -> Result<Principal, Error> {
    if policy.is_public() {
        return Ok(Principal::Anonymous);
    }
    let presented = presented(headers)?;
    let Some(credential) = presented.into_iter().find(|c| policy.admits(c.scheme())) else {
        return Err(Error::Unauthorized(
            "missing credentials, or of a kind this operation does not accept",
        ));
    };
    let invalid = Error::Unauthorized("invalid, expired or revoked credentials");
    match credential {
        Presented::Jwt(token) => {
            let (user_id, account_id) = app.jwt.verify(token).ok_or(invalid)?;
            Ok(Principal::User {
                user_id,
                account_id,
            })
        }
        Presented::ApiKey(key, _) => api_key(app, key).await?.ok_or(invalid),
        Presented::ClientCredentials(id, secret) => api_key(app, &secrets::join_key(&id, &secret))
            .await?
            .ok_or(invalid),
        Presented::WidgetToken(token) => {
            let bot = store::bots::bot_get_by_widget_token(&app.db, token)
                .await?
                .ok_or(invalid)?;
            check_origin(&bot.settings, headers)?;
            Ok(Principal::Visitor {
                bot_id: store::uuid(&bot.id),
                account_id: store::uuid(&bot.account_id),
            })
        }
    }
}

async fn api_key(app: &App, key: &str) -> Result<Option<Principal>, Error> {
    let Some((public, _)) = secrets::split_key(key) else {
        return Ok(None);
    };
    let Some(row) = store::api_keys::api_key_get_by_prefix(&app.db, public).await? else {
        return Ok(None);
    };
    let matches = secrets::hashes_equal(&row.secret_hash, &secrets::hash_secret(public, key));
    if !matches || row.revoked_at.is_some() {
        return Ok(None);
    }
    // The row read says whether the once-a-minute touch is due: no write statement (on SQLite,
    // a turn at the one write lock) when it is not.
    let fresh = row
        .last_used_at
        .is_some_and(|at| store::now() - at < store::api_keys::TOUCH_EVERY);
    if !fresh {
        store::api_keys::api_key_touch(&app.db, &row.id).await?;
    }
    Ok(Some(Principal::ApiKey {
        key_id: store::uuid(&row.id),
        account_id: store::uuid(&row.account_id),
        bot_id: row.bot_id.as_deref().map(store::uuid),
        limits: KeyRateLimits {
            standard: row.rate_limit_standard,
            chat: row.rate_limit_chat,
            auth: row.rate_limit_auth,
        },
    }))
}

/// A widget token works only from the bot's `allowed_origins` when it has any: the request's
/// `Origin` header (which browsers set and pages cannot forge) must be one of them.
fn check_origin(settings: &str, headers: &HeaderMap) -> Result<(), Error> {
    let settings: serde_json::Value = serde_json::from_str(settings)
        .map_err(|e| Error::Internal(format!("a bot's settings are unreadable: {e}")))?;
    let allowed: Vec<String> = settings
        .pointer("/settings/allowed_origins")
        .and_then(serde_json::Value::as_array)
        .map(|origins| {
            origins
                .iter()
                .filter_map(|o| o.as_str())
                .map(normalize_origin)
                .collect()
        })
        .unwrap_or_default();
    if allowed.is_empty() {
        return Ok(());
    }
    let origin = headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(normalize_origin);
    match origin {
        Some(origin) if allowed.contains(&origin) => Ok(()),
        _ => Err(Error::Forbidden(
            "this widget is not allowed on this origin".into(),
        )),
    }
}

fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widget_origins() {
        let settings = |origins: &str| format!(r#"{{"settings":{{"allowed_origins":{origins}}}}}"#);
        let with_origin = |origin: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("origin", origin.parse().unwrap());
            headers
        };
        assert!(
            check_origin(&settings("[]"), &HeaderMap::new()).is_ok(),
            "empty allows any"
        );
        let only = settings(r#"["https://shop.example.com/"]"#);
        assert!(check_origin(&only, &with_origin("https://Shop.example.com")).is_ok());
        assert!(check_origin(&only, &with_origin("https://evil.example.net")).is_err());
        assert!(
            check_origin(&only, &HeaderMap::new()).is_err(),
            "no Origin is refused"
        );
    }
}
