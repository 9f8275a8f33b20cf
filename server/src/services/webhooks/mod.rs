//! Webhooks: create, list, read, update, delete, rotate the secret, test ping; the delivery
//! log (list, read) and redelivery. Delivery itself is the job of
//! [`delivery`]'s workers.

pub mod delivery;
pub mod signing;

use super::bots::granted_bot;
use super::{Call, cursor, limit, not_found, page_info};
use crate::egress::TargetPolicy;
use crate::error::Error;
use crate::store::webhooks::{
    self as store, AttemptRow, DeliveryRow, PENDING, TEST_EVENT, WebhookChanges, WebhookRow,
};
use crate::store::{self as stores, is_unique_violation, new_id, now, utc};
use botwire_api::types::{
    DeliveryListQuery, ErrorCode, Webhook, WebhookAttempt, WebhookCreate, WebhookDelivery,
    WebhookDeliveryList, WebhookDeliveryStatus, WebhookEventType, WebhookList, WebhookListQuery,
    WebhookTestEvent, WebhookTestEventData, WebhookTestEventType, WebhookUpdate, WebhookWithSecret,
};
use delivery::MAX_ATTEMPTS;
use signing::new_secret;
use uuid::Uuid;

fn events_of(row: &WebhookRow) -> Vec<WebhookEventType> {
    serde_json::from_str::<Vec<String>>(&row.events)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.parse().ok())
        .collect()
}

fn events_json(events: &[WebhookEventType]) -> String {
    let names: Vec<String> = events.iter().map(ToString::to_string).collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".into())
}

fn webhook_view(row: &WebhookRow) -> Webhook {
    Webhook {
        bot_id: stores::uuid(&row.bot_id),
        consecutive_failures: u64::try_from(row.consecutive_failures).unwrap_or(0),
        created_at: utc(row.created_at),
        description: row.description.clone(),
        disabled_reason: row.disabled_reason.clone(),
        enabled: row.enabled,
        events: events_of(row),
        id: stores::uuid(&row.id),
        updated_at: utc(row.updated_at),
        url: row.url.clone(),
    }
}

fn with_secret(row: &WebhookRow) -> WebhookWithSecret {
    let Webhook {
        bot_id,
        consecutive_failures,
        created_at,
        description,
        disabled_reason,
        enabled,
        events,
        id,
        updated_at,
        url,
    } = webhook_view(row);
    WebhookWithSecret {
        bot_id,
        consecutive_failures,
        created_at,
        description,
        disabled_reason,
        enabled,
        events,
        id,
        secret: row.secret.clone(),
        updated_at,
        url,
    }
}

fn attempt_view(row: &AttemptRow) -> WebhookAttempt {
    WebhookAttempt {
        attempt: u64::try_from(row.attempt)
            .ok()
            .and_then(std::num::NonZeroU64::new)
            .unwrap_or(std::num::NonZeroU64::MIN),
        attempted_at: utc(row.attempted_at),
        error: row.error.clone(),
        latency_ms: u64::try_from(row.latency_ms).unwrap_or(0),
        response_snippet: row.response_snippet.as_deref().and_then(|s| s.parse().ok()),
        status_code: row.status_code,
    }
}

fn delivery_view(row: &DeliveryRow, attempts: &[AttemptRow]) -> WebhookDelivery {
    WebhookDelivery {
        attempt_count: u64::try_from(row.attempt_count).unwrap_or(0),
        attempts: attempts
            .iter()
            .filter(|a| a.delivery_id == row.id)
            .map(attempt_view)
            .collect(),
        created_at: utc(row.created_at),
        event_type: row
            .event_type
            .parse()
            .unwrap_or(WebhookEventType::WebhookTest),
        id: stores::uuid(&row.id),
        next_attempt_at: row.next_attempt_at.map(utc),
        status: row.status.parse().unwrap_or(WebhookDeliveryStatus::Pending),
        webhook_id: stores::uuid(&row.webhook_id),
    }
}

/// The webhook the access rule granted (`auth::access`: another account's is not found, a key
/// scoped to another bot is 403), read in the bot's account.
async fn granted_webhook(call: &Call<'_>, webhook_id: Uuid) -> Result<WebhookRow, Error> {
    let account_id = call.account()?;
    let row = store::webhook_get(
        &call.app.db,
        &account_id.to_string(),
        &webhook_id.to_string(),
    )
    .await?
    .ok_or_else(|| not_found(ErrorCode::WebhookNotFound, "webhook"))?;
    Ok(row)
}

/// 422 on `url` unless it targets permitted addresses.
async fn check_target(call: &Call<'_>, url: &str) -> Result<(), Error> {
    TargetPolicy::new(call.app.config.webhooks.allowed_cidrs.clone())
        .check_url(url)
        .await
        .map_err(|why| Error::Validation(vec![("url".into(), why)]))
}

fn conflict_on_url(error: crate::db::DbError) -> Error {
    if is_unique_violation(&error) {
        Error::Conflict("the bot already has a webhook with this URL".into())
    } else {
        error.into()
    }
}

pub async fn webhook_create(
    call: &Call<'_>,
    bot_id: Uuid,
    body: WebhookCreate,
) -> Result<WebhookWithSecret, Error> {
    let WebhookCreate {
        description,
        enabled,
        events,
        url,
    } = body;
    let bot = granted_bot(call, bot_id).await?;
    check_target(call, &url).await?;
    let now = now();
    let row = WebhookRow {
        id: new_id(),
        account_id: bot.account_id.clone(),
        bot_id: bot.id.clone(),
        url: url.to_string(),
        events: events_json(&events),
        enabled,
        description: description.map(|d| d.to_string()),
        disabled_reason: (!enabled).then(|| "manual".to_string()),
        consecutive_failures: 0,
        secret: new_secret(),
        created_at: now,
        updated_at: now,
    };
    store::webhook_create(&call.app.db, &row)
        .await
        .map_err(conflict_on_url)?;
    Ok(with_secret(&row))
}

pub async fn webhook_list(
    call: &Call<'_>,
    bot_id: Uuid,
    query: WebhookListQuery,
) -> Result<WebhookList, Error> {
    let WebhookListQuery {
        cursor: raw_cursor,
        limit: raw_limit,
    } = query;
    let bot = granted_bot(call, bot_id).await?;
    let after = cursor(raw_cursor.as_deref().map(String::as_str))?;
    let page =
        store::webhook_list(&call.app.db, &bot.id, after.as_deref(), limit(raw_limit)).await?;
    let last = page.items.last().map(|row| row.id.clone());
    Ok(WebhookList {
        pagination: page_info(&page, last),
        data: page.items.iter().map(webhook_view).collect(),
    })
}

pub async fn webhook_get(call: &Call<'_>, webhook_id: Uuid) -> Result<Webhook, Error> {
    Ok(webhook_view(&granted_webhook(call, webhook_id).await?))
}

pub async fn webhook_update(
    call: &Call<'_>,
    webhook_id: Uuid,
    (body, json): (WebhookUpdate, serde_json::Value),
) -> Result<Webhook, Error> {
    let WebhookUpdate {
        description,
        enabled,
        events,
        url,
    } = body;
    let row = granted_webhook(call, webhook_id).await?;
    if let Some(url) = &url {
        check_target(call, url).await?;
    }
    let changes = WebhookChanges {
        url: url.map(|u| u.to_string()),
        events: events.as_deref().map(events_json),
        description: botwire_api::given(&json, "/description")
            .then(|| description.map(|d| d.to_string())),
        enabled,
    };
    store::webhook_update(&call.app.db, &row.id, &changes)
        .await
        .map_err(conflict_on_url)?;
    webhook_get(call, webhook_id).await
}

pub async fn webhook_delete(call: &Call<'_>, webhook_id: Uuid) -> Result<(), Error> {
    let row = granted_webhook(call, webhook_id).await?;
    if store::webhook_delete(&call.app.db, &row.account_id, &row.id).await? {
        Ok(())
    } else {
        Err(not_found(ErrorCode::WebhookNotFound, "webhook"))
    }
}

pub async fn webhook_secret_rotate(
    call: &Call<'_>,
    webhook_id: Uuid,
) -> Result<WebhookWithSecret, Error> {
    let row = granted_webhook(call, webhook_id).await?;
    store::webhook_secret_set(&call.app.db, &row.id, &new_secret()).await?;
    let rotated = granted_webhook(call, webhook_id).await?;
    Ok(with_secret(&rotated))
}

/// Queues a `webhook.test` ping for this webhook alone, attempted once.
pub async fn webhook_test(call: &Call<'_>, webhook_id: Uuid) -> Result<WebhookDelivery, Error> {
    let webhook = granted_webhook(call, webhook_id).await?;
    let now = now();
    let event = WebhookTestEvent {
        type_: WebhookTestEventType::WebhookTest,
        timestamp: utc(now),
        data: WebhookTestEventData {
            webhook_id,
            bot_id: stores::uuid(&webhook.bot_id),
            message: "This is a test event from Botwire.".into(),
        },
    };
    let row = DeliveryRow {
        id: new_id(),
        webhook_id: webhook.id.clone(),
        event_id: None,
        event_type: TEST_EVENT.into(),
        payload: serde_json::to_string(&event).map_err(|e| Error::Internal(e.to_string()))?,
        status: PENDING.into(),
        attempt_count: 0,
        attempts_left: 1,
        next_attempt_at: Some(now),
        locked_by: None,
        locked_until: None,
        created_at: now,
    };
    store::delivery_create(&call.app.db, &row).await?;
    Ok(delivery_view(&row, &[]))
}

pub async fn delivery_list(
    call: &Call<'_>,
    webhook_id: Uuid,
    query: DeliveryListQuery,
) -> Result<WebhookDeliveryList, Error> {
    let DeliveryListQuery {
        cursor: raw_cursor,
        limit: raw_limit,
        status,
    } = query;
    let webhook = granted_webhook(call, webhook_id).await?;
    let before = cursor(raw_cursor.as_deref().map(String::as_str))?;
    let status = status.map(|s| s.to_string());
    let page = store::delivery_list(
        &call.app.db,
        &webhook.id,
        status.as_deref(),
        before.as_deref(),
        limit(raw_limit),
    )
    .await?;
    let ids: Vec<String> = page.items.iter().map(|d| d.id.clone()).collect();
    let attempts = store::attempts_of(&call.app.db, &ids).await?;
    let last = page.items.last().map(|row| row.id.clone());
    Ok(WebhookDeliveryList {
        pagination: page_info(&page, last),
        data: page
            .items
            .iter()
            .map(|d| delivery_view(d, &attempts))
            .collect(),
    })
}

async fn delivery_of_webhook(
    call: &Call<'_>,
    webhook: &WebhookRow,
    delivery_id: Uuid,
) -> Result<WebhookDelivery, Error> {
    let row = store::delivery_get(&call.app.db, &webhook.id, &delivery_id.to_string())
        .await?
        .ok_or_else(|| not_found(ErrorCode::DeliveryNotFound, "delivery"))?;
    let attempts = store::attempts_of(&call.app.db, std::slice::from_ref(&row.id)).await?;
    Ok(delivery_view(&row, &attempts))
}

pub async fn delivery_get(
    call: &Call<'_>,
    webhook_id: Uuid,
    delivery_id: Uuid,
) -> Result<WebhookDelivery, Error> {
    let webhook = granted_webhook(call, webhook_id).await?;
    delivery_of_webhook(call, &webhook, delivery_id).await
}

/// Queues a finished delivery again under the same id: 409 while it is pending or the
/// webhook is off (a test ping may be sent again while it is off, as `webhook_test` may).
pub async fn delivery_redeliver(
    call: &Call<'_>,
    webhook_id: Uuid,
    delivery_id: Uuid,
) -> Result<WebhookDelivery, Error> {
    let webhook = granted_webhook(call, webhook_id).await?;
    let current = delivery_of_webhook(call, &webhook, delivery_id).await?;
    let is_test = current.event_type == WebhookEventType::WebhookTest;
    if !webhook.enabled && !is_test {
        return Err(Error::Conflict(
            "the webhook is disabled: enable it with webhook_update first".into(),
        ));
    }
    let attempts = if is_test { 1 } else { MAX_ATTEMPTS };
    let id = delivery_id.to_string();
    if !store::delivery_redeliver(&call.app.db, &webhook.id, &id, attempts).await? {
        return Err(Error::Conflict("the delivery is still pending".into()));
    }
    delivery_of_webhook(call, &webhook, delivery_id).await
}
