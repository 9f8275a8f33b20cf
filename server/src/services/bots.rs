//! Bots: create, read, list, delete, activate and deactivate. Settings are the contract's
//! `BotSettings`, stored as JSON; an LLM API key given in settings is kept beside them and
//! never returned (only `llm_api_key_set`).

use super::{Call, cursor, limit, not_found, page_info};
use crate::auth::Principal;
use crate::auth::secrets;
use crate::egress::TargetPolicy;
use crate::error::Error;
use crate::store::bots::{self as store, BotRow};
use crate::store::{self as stores, new_id, now, utc};
use botwire_api::types::{
    Bot, BotCreate, BotDuplicate, BotEngineKind, BotEngineSettings, BotEngineSettingsInput,
    BotInboxSettings, BotInboxSettingsInput, BotList, BotListQuery, BotSettings, BotSettingsInput,
    BotStatus, BotTheme, BotThemeInput, BotThemePosition, BotUpdate, ErrorCode, SuggestedAction,
};
use serde::{Deserialize, Serialize};
use std::num::NonZeroU64;
use uuid::Uuid;

/// What the `settings` column holds.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredSettings {
    pub settings: BotSettings,
    /// Write-only through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_api_key: Option<String>,
}

const DEFAULT_FALLBACK: &str =
    "Sorry, I don't know the answer to that yet. You can ask to talk to a person.";

fn default_settings() -> BotSettings {
    BotSettings {
        allowed_origins: Vec::new(),
        default_language: "en".parse().expect("a valid language"),
        engine: BotEngineSettings {
            confidence_threshold: crate::engine::DEFAULT_CONFIDENCE_THRESHOLD,
            kind: BotEngineKind::Offline,
            llm_api_key_set: false,
            llm_base_url: None,
            llm_model: None,
            max_tokens: NonZeroU64::new(512).expect("non-zero"),
            system_prompt: None,
            temperature: 0.2,
        },
        fallback_message: DEFAULT_FALLBACK.into(),
        greeting: None,
        inbox: BotInboxSettings {
            agent_capacity: None,
            auto_assign: false,
            reassign_after_seconds: None,
        },
        message_max_length: NonZeroU64::new(2000).expect("non-zero"),
        suggested_actions: Vec::new(),
        theme: BotTheme {
            position: BotThemePosition::BottomRight,
            primary_color: "#2563eb".parse().expect("a valid colour"),
        },
    }
}

/// Applies given settings over `base`: a field left out keeps its value, a field given (`null`
/// and `[]` included) replaces it; `theme` and `engine` merge field by field. `json` is the
/// settings object as sent, which alone tells a field left out from one sent empty.
fn apply_settings(
    base: StoredSettings,
    input: BotSettingsInput,
    json: &serde_json::Value,
    server_llm: &crate::config::LlmConfig,
) -> Result<StoredSettings, Error> {
    let given = |path: &str| botwire_api::given(json, path);
    let BotSettingsInput {
        allowed_origins,
        default_language,
        engine,
        fallback_message,
        greeting,
        inbox,
        message_max_length,
        suggested_actions,
        theme,
    } = input;
    let StoredSettings {
        mut settings,
        mut llm_api_key,
    } = base;
    if given("/allowed_origins") {
        settings.allowed_origins = allowed_origins.into_iter().map(|o| o.to_string()).collect();
    }
    if let Some(language) = default_language {
        settings.default_language = convert(&language)?;
    }
    if let Some(engine) = engine {
        let BotEngineSettingsInput {
            confidence_threshold,
            kind,
            llm_api_key: key,
            llm_base_url,
            llm_model,
            max_tokens,
            system_prompt,
            temperature,
        } = engine;
        let target = &mut settings.engine;
        target.confidence_threshold = confidence_threshold.unwrap_or(target.confidence_threshold);
        target.kind = kind.unwrap_or(target.kind);
        // The nullable fields: given (a value, or `null` to remove it) replaces.
        if given("/engine/llm_base_url") {
            target.llm_base_url = llm_base_url.map(|u| u.to_string());
        }
        if given("/engine/llm_model") {
            target.llm_model = llm_model.map(|m| m.to_string());
        }
        target.max_tokens = max_tokens.unwrap_or(target.max_tokens);
        if given("/engine/system_prompt") {
            target.system_prompt = system_prompt.map(|p| p.to_string());
        }
        target.temperature = temperature.unwrap_or(target.temperature);
        if given("/engine/llm_api_key") {
            llm_api_key = key.map(|k| k.to_string());
        }
    }
    if let Some(fallback) = fallback_message {
        settings.fallback_message = fallback.to_string();
    }
    if let Some(BotInboxSettingsInput {
        agent_capacity,
        auto_assign,
        reassign_after_seconds,
    }) = inbox
    {
        let target = &mut settings.inbox;
        target.auto_assign = auto_assign.unwrap_or(target.auto_assign);
        // The nullable limits: given (a value, or `null` to lift it) replaces.
        if given("/inbox/agent_capacity") {
            target.agent_capacity = agent_capacity;
        }
        if given("/inbox/reassign_after_seconds") {
            target.reassign_after_seconds = reassign_after_seconds;
        }
    }
    if given("/greeting") {
        settings.greeting = greeting.map(|g| g.to_string());
    }
    if let Some(limit) = message_max_length {
        settings.message_max_length = limit;
    }
    if given("/suggested_actions") {
        settings.suggested_actions = suggested_actions
            .into_iter()
            .map(|a| SuggestedAction {
                label: a.label.to_string(),
                payload: a.payload.to_string(),
                type_: a.type_,
            })
            .collect();
    }
    if let Some(BotThemeInput {
        position,
        primary_color,
    }) = theme
    {
        settings.theme.position = position.unwrap_or(settings.theme.position);
        if let Some(color) = primary_color {
            settings.theme.primary_color = convert(&color)?;
        }
    }
    settings.engine.llm_api_key_set = llm_api_key.is_some();
    let engine = &settings.engine;
    if engine.kind == BotEngineKind::Llm
        && ((engine.llm_base_url.is_none() && server_llm.base_url.is_none())
            || (engine.llm_model.is_none() && server_llm.model.is_none()))
    {
        return Err(Error::Validation(vec![(
            "settings.engine".into(),
            "kind llm needs llm_base_url and llm_model (this server configures no default)".into(),
        )]));
    }
    Ok(StoredSettings {
        settings,
        llm_api_key,
    })
}

/// 422 on `settings.engine.llm_base_url` when the body sets a base URL that the egress policy
/// refuses (as a webhook's URL is checked), instead of every chat falling back to the offline
/// engine later. A URL stored before stays as it is: its chats say why they fall back
/// (`fallback_reason`).
async fn check_llm_target(
    call: &Call<'_>,
    stored: &StoredSettings,
    settings_json: &serde_json::Value,
) -> Result<(), Error> {
    let Some(url) = &stored.settings.engine.llm_base_url else {
        return Ok(());
    };
    if !botwire_api::given(settings_json, "/engine/llm_base_url") {
        return Ok(());
    }
    TargetPolicy::new(call.app.config.llm.allowed_cidrs.clone())
        .check_url(url)
        .await
        .map_err(|why| Error::Validation(vec![("settings.engine.llm_base_url".into(), why)]))
}

/// Between two generated newtypes of the same constrained string (the contract checked it).
fn convert<T: std::str::FromStr>(value: &str) -> Result<T, Error> {
    value
        .parse()
        .map_err(|_| Error::Internal(format!("a checked value did not convert: {value}")))
}

fn status_str(status: BotStatus) -> &'static str {
    match status {
        BotStatus::Active => "active",
        BotStatus::Inactive => "inactive",
    }
}

fn bot_view(row: &BotRow) -> Result<Bot, Error> {
    let stored = stored_settings(row)?;
    Ok(Bot {
        created_at: utc(row.created_at),
        description: row.description.clone(),
        id: stores::uuid(&row.id),
        name: row.name.clone(),
        settings: stored.settings,
        status: if row.status == "inactive" {
            BotStatus::Inactive
        } else {
            BotStatus::Active
        },
        updated_at: utc(row.updated_at),
        widget_token: row.widget_token.clone(),
    })
}

/// The bot the operation's access rule granted (`auth::access`, decided before the service
/// runs), read in the bot's account.
pub async fn granted_bot(call: &Call<'_>, bot_id: Uuid) -> Result<BotRow, Error> {
    let account_id = call.account()?;
    store::bot_get(&call.app.db, &account_id.to_string(), &bot_id.to_string())
        .await?
        .ok_or_else(|| not_found(ErrorCode::BotNotFound, "bot"))
}

pub async fn bot_create(
    call: &Call<'_>,
    (body, json): (BotCreate, serde_json::Value),
) -> Result<Bot, Error> {
    let BotCreate {
        description,
        name,
        settings,
    } = body;
    if let Principal::ApiKey {
        bot_id: Some(_), ..
    } = call.principal
    {
        return Err(Error::Forbidden(
            "a key scoped to one bot cannot create bots".into(),
        ));
    }
    let account_id = call.account()?;
    let base = StoredSettings {
        settings: default_settings(),
        llm_api_key: None,
    };
    let stored = match settings {
        Some(input) => apply_settings(base, input, &json["settings"], &call.app.config.llm)?,
        None => base,
    };
    check_llm_target(call, &stored, &json["settings"]).await?;
    let now = now();
    let row = BotRow {
        id: new_id(),
        account_id: account_id.to_string(),
        name: name.to_string(),
        description: description.map(|d| d.to_string()),
        status: status_str(BotStatus::Active).into(),
        settings: settings_json(&stored)?,
        widget_token: secrets::new_widget_token(),
        created_at: now,
        updated_at: now,
        knowledge_revision: 0,
    };
    store::bot_create(&call.app.db, &row).await?;
    bot_view(&row)
}

pub async fn bot_list(call: &Call<'_>, query: BotListQuery) -> Result<BotList, Error> {
    let BotListQuery {
        cursor: raw_cursor,
        limit: raw_limit,
        status,
    } = query;
    let account_id = call.account()?;
    let only = match call.principal {
        Principal::ApiKey {
            bot_id: Some(bot_id),
            ..
        } => Some(bot_id.to_string()),
        _ => None,
    };
    // A user also sees the bots shared with their teams (the access rule's other half).
    let member = match call.principal {
        Principal::User { user_id, .. } => Some(user_id.to_string()),
        _ => None,
    };
    let status = status.map(|s| s.to_string());
    let after = cursor(raw_cursor.as_deref().map(String::as_str))?;
    let page = store::bot_list(
        &call.app.db,
        &account_id.to_string(),
        member.as_deref(),
        status.as_deref(),
        only.as_deref(),
        after.as_deref(),
        limit(raw_limit),
    )
    .await?;
    let last = page.items.last().map(|row| row.id.clone());
    Ok(BotList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(bot_view).collect::<Result<_, _>>()?,
    })
}

pub async fn bot_get(call: &Call<'_>, bot_id: Uuid) -> Result<Bot, Error> {
    bot_view(&granted_bot(call, bot_id).await?)
}

pub async fn bot_delete(call: &Call<'_>, bot_id: Uuid) -> Result<(), Error> {
    let row = granted_bot(call, bot_id).await?;
    store::bot_delete(&call.app.db, &row.account_id, &row.id).await?;
    Ok(())
}

pub async fn bot_activate(call: &Call<'_>, bot_id: Uuid) -> Result<Bot, Error> {
    bot_status_set(call, bot_id, BotStatus::Active).await
}

pub async fn bot_deactivate(call: &Call<'_>, bot_id: Uuid) -> Result<Bot, Error> {
    bot_status_set(call, bot_id, BotStatus::Inactive).await
}

async fn bot_status_set(call: &Call<'_>, bot_id: Uuid, status: BotStatus) -> Result<Bot, Error> {
    let row = granted_bot(call, bot_id).await?;
    store::bot_status_set(&call.app.db, &row.account_id, &row.id, status_str(status)).await?;
    bot_get(call, bot_id).await
}

pub(super) fn stored_settings(row: &BotRow) -> Result<StoredSettings, Error> {
    settings_of(&row.id, &row.settings)
}

/// A bot's stored settings from their JSON. Settings stored before a field existed get its
/// default (the inbox settings came after the first bots).
pub(super) fn settings_of(bot_id: &str, json: &str) -> Result<StoredSettings, Error> {
    let unreadable = |e: serde_json::Error| {
        Error::Internal(format!("bot {bot_id} has unreadable settings: {e}"))
    };
    let mut value: serde_json::Value = serde_json::from_str(json).map_err(unreadable)?;
    if let Some(settings) = value.get_mut("settings").and_then(|s| s.as_object_mut())
        && !settings.contains_key("inbox")
    {
        let inbox = serde_json::to_value(default_settings().inbox).map_err(unreadable)?;
        settings.insert("inbox".into(), inbox);
    }
    serde_json::from_value(value).map_err(unreadable)
}

fn settings_json(stored: &StoredSettings) -> Result<String, Error> {
    serde_json::to_string(stored).map_err(|e| Error::Internal(format!("serializing settings: {e}")))
}

/// Changes what the body gives: `name`, `description` (`null` clears it), `settings` merged.
pub async fn bot_update(
    call: &Call<'_>,
    bot_id: Uuid,
    (body, json): (BotUpdate, serde_json::Value),
) -> Result<Bot, Error> {
    let BotUpdate {
        description,
        name,
        settings,
    } = body;
    let row = granted_bot(call, bot_id).await?;
    let settings = match settings {
        Some(input) => {
            let stored = apply_settings(
                stored_settings(&row)?,
                input,
                &json["settings"],
                &call.app.config.llm,
            )?;
            check_llm_target(call, &stored, &json["settings"]).await?;
            Some(settings_json(&stored)?)
        }
        None => None,
    };
    let description = botwire_api::given(&json, "/description")
        .then(|| description.as_deref().map(|d| d.as_str()));
    store::bot_update(
        &call.app.db,
        &row.account_id,
        &row.id,
        name.as_deref().map(|n| n.as_str()),
        description,
        settings.as_deref(),
    )
    .await?;
    bot_get(call, bot_id).await
}

/// A new bot with the same configuration and knowledge base, a new widget token, active.
pub async fn bot_duplicate(
    call: &Call<'_>,
    bot_id: Uuid,
    body: BotDuplicate,
) -> Result<Bot, Error> {
    let BotDuplicate { name } = body;
    if let Principal::ApiKey {
        bot_id: Some(_), ..
    } = call.principal
    {
        return Err(Error::Forbidden(
            "a key scoped to one bot cannot create bots".into(),
        ));
    }
    let source = granted_bot(call, bot_id).await?;
    let now = now();
    let copy = BotRow {
        id: new_id(),
        name: name.map_or_else(|| format!("{} (copy)", source.name), |n| n.to_string()),
        status: status_str(BotStatus::Active).into(),
        widget_token: secrets::new_widget_token(),
        created_at: now,
        updated_at: now,
        knowledge_revision: 0,
        ..source.clone()
    };
    store::bot_create(&call.app.db, &copy).await?;
    crate::store::knowledge::knowledge_copy(&call.app.db, &source.id, &copy.id, &new_id).await?;
    bot_get(call, stores::uuid(&copy.id)).await
}
