//! Credentials: API keys and bots' widget tokens.

use super::{Call, cursor, limit, not_found, page_info};
use crate::auth::secrets::{self, NewApiKey};
use crate::error::Error;
use crate::store::api_keys::{self, ApiKeyRow, KeyRateLimits};
use crate::store::{self, bots as bot_store, new_id, now, utc};
use botwire_api::types::{
    ApiKey, ApiKeyCreate, ApiKeyList, ApiKeyListQuery, ApiKeyRateLimits, ApiKeyRateLimitsInput,
    ApiKeyUpdate, ApiKeyWithSecret, Bot, ErrorCode,
};
use std::num::NonZeroU64;
use uuid::Uuid;

fn limit_view(value: Option<i64>) -> Option<NonZeroU64> {
    value
        .and_then(|n| u64::try_from(n).ok())
        .and_then(NonZeroU64::new)
}

fn limits_input(input: ApiKeyRateLimitsInput) -> KeyRateLimits {
    let stored = |n: Option<NonZeroU64>| n.and_then(|n| i64::try_from(n.get()).ok());
    KeyRateLimits {
        standard: stored(input.standard),
        chat: stored(input.chat),
        auth: stored(input.auth),
    }
}

fn key_view(row: &ApiKeyRow) -> ApiKey {
    ApiKey {
        bot_id: row.bot_id.as_deref().map(store::uuid),
        client_id: row.key_prefix.clone(),
        created_at: utc(row.created_at),
        id: store::uuid(&row.id),
        last_used_at: row.last_used_at.map(utc),
        name: row.name.clone(),
        prefix: row.key_prefix.clone(),
        rate_limits: ApiKeyRateLimits {
            auth: limit_view(row.rate_limit_auth),
            chat: limit_view(row.rate_limit_chat),
            standard: limit_view(row.rate_limit_standard),
        },
        revoked_at: row.revoked_at.map(utc),
    }
}

fn with_secret(row: &ApiKeyRow, key: &NewApiKey) -> ApiKeyWithSecret {
    let ApiKey {
        bot_id,
        client_id,
        created_at,
        id,
        last_used_at,
        name,
        prefix,
        rate_limits,
        revoked_at,
    } = key_view(row);
    ApiKeyWithSecret {
        bot_id,
        client_id,
        client_secret: key.secret.clone(),
        created_at,
        id,
        key: key.full(),
        last_used_at,
        name,
        prefix,
        rate_limits,
        revoked_at,
    }
}

async fn key_of_account(call: &Call<'_>, key_id: Uuid) -> Result<ApiKeyRow, Error> {
    let (_, account_id) = call.user()?;
    api_keys::api_key_get(&call.app.db, &account_id.to_string(), &key_id.to_string())
        .await?
        .ok_or_else(|| not_found(ErrorCode::ApiKeyNotFound, "API key"))
}

pub async fn api_key_create(
    call: &Call<'_>,
    body: ApiKeyCreate,
) -> Result<ApiKeyWithSecret, Error> {
    let ApiKeyCreate {
        bot_id,
        name,
        rate_limits,
    } = body;
    let (_, account_id) = call.user()?;
    let account_id = account_id.to_string();
    if let Some(bot_id) = bot_id {
        bot_store::bot_get(&call.app.db, &account_id, &bot_id.to_string())
            .await?
            .ok_or_else(|| not_found(ErrorCode::BotNotFound, "bot"))?;
    }
    let key = NewApiKey::generate();
    let limits = rate_limits.map(limits_input).unwrap_or_default();
    let now = now();
    let row = ApiKeyRow {
        id: new_id(),
        account_id,
        bot_id: bot_id.map(|id| id.to_string()),
        name: name.to_string(),
        key_prefix: key.public.clone(),
        secret_hash: secrets::hash_secret(&key.public, &key.full()),
        rate_limit_standard: limits.standard,
        rate_limit_chat: limits.chat,
        rate_limit_auth: limits.auth,
        last_used_at: None,
        revoked_at: None,
        created_at: now,
        updated_at: now,
    };
    api_keys::api_key_create(&call.app.db, &row).await?;
    Ok(with_secret(&row, &key))
}

pub async fn api_key_list(call: &Call<'_>, query: ApiKeyListQuery) -> Result<ApiKeyList, Error> {
    let ApiKeyListQuery {
        cursor: raw_cursor,
        limit: raw_limit,
    } = query;
    let (_, account_id) = call.user()?;
    let after = cursor(raw_cursor.as_deref().map(String::as_str))?;
    let page = api_keys::api_key_list(
        &call.app.db,
        &account_id.to_string(),
        after.as_deref(),
        limit(raw_limit),
    )
    .await?;
    let last = page.items.last().map(|row| row.id.clone());
    Ok(ApiKeyList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(key_view).collect(),
    })
}

pub async fn api_key_get(call: &Call<'_>, key_id: Uuid) -> Result<ApiKey, Error> {
    Ok(key_view(&key_of_account(call, key_id).await?))
}

pub async fn api_key_update(
    call: &Call<'_>,
    key_id: Uuid,
    body: ApiKeyUpdate,
) -> Result<ApiKey, Error> {
    let ApiKeyUpdate { name, rate_limits } = body;
    let row = key_of_account(call, key_id).await?;
    if row.revoked_at.is_some() {
        return Err(Error::Conflict("a revoked key cannot be changed".into()));
    }
    let limits = rate_limits.map(limits_input);
    api_keys::api_key_update(
        &call.app.db,
        &row.account_id,
        &row.id,
        name.as_deref().map(|n| n.as_str()),
        limits,
    )
    .await?;
    api_key_get(call, key_id).await
}

pub async fn api_key_revoke(call: &Call<'_>, key_id: Uuid) -> Result<(), Error> {
    let row = key_of_account(call, key_id).await?;
    api_keys::api_key_revoke(&call.app.db, &row.account_id, &row.id).await?;
    Ok(())
}

pub async fn api_key_rotate(call: &Call<'_>, key_id: Uuid) -> Result<ApiKeyWithSecret, Error> {
    let row = key_of_account(call, key_id).await?;
    if row.revoked_at.is_some() {
        return Err(Error::Conflict("a revoked key cannot be rotated".into()));
    }
    // The public part (and so the Basic client id) stays; the secret is new.
    let key = NewApiKey {
        public: row.key_prefix.clone(),
        secret: NewApiKey::generate().secret,
    };
    let secret_hash = secrets::hash_secret(&key.public, &key.full());
    api_keys::api_key_rotate(&call.app.db, &row.account_id, &row.id, &secret_hash).await?;
    let row = key_of_account(call, key_id).await?;
    Ok(with_secret(&row, &key))
}

pub async fn bot_widget_token_rotate(call: &Call<'_>, bot_id: Uuid) -> Result<Bot, Error> {
    let row = super::bots::granted_bot(call, bot_id).await?;
    bot_store::bot_widget_token_set(
        &call.app.db,
        &row.account_id,
        &row.id,
        &secrets::new_widget_token(),
    )
    .await?;
    super::bots::bot_get(call, bot_id).await
}
