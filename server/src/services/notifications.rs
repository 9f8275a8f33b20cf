//! Notifications: the signed-in user's list, unread count, marking read, preferences; the
//! notices that causes write in their own transactions (`insert_notifications!`); and the mail
//! round that sends the email copies afterwards, never inside a request and never twice (each
//! copy is claimed before it is sent: a crash between claim and send loses that one email
//! rather than sending it again).

use super::{Call, cursor, limit, not_found, page_info};
use crate::email::{self, Email, Mailer};
use crate::error::Error;
use crate::store::notifications::{
    self as store, EMAIL_FAILED, EMAIL_PENDING, EMAIL_SENDING, EMAIL_SENT, Notice, NotificationRow,
    PreferencesRow,
};
use crate::store::{self as stores, now, utc};
use botwire_api::types::{
    ErrorCode, Metadata, Notification, NotificationList, NotificationListQuery,
    NotificationMarkAllRead, NotificationPreferences, NotificationPreferencesTypes,
    NotificationPreferencesUpdate, NotificationType, NotificationUnreadCount,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// Email copies sent per mail round.
const MAIL_BATCH: i64 = 20;

fn view(row: &NotificationRow) -> Notification {
    Notification {
        id: stores::uuid(&row.id),
        type_: row.kind.parse().unwrap_or(NotificationType::Mention),
        title: row.title.clone(),
        body: row.body.clone(),
        data: Metadata(serde_json::from_str(&row.data).unwrap_or_default()),
        read_at: row.read_at.map(utc),
        created_at: utc(row.created_at),
    }
}

pub async fn notification_list(
    call: &Call<'_>,
    query: NotificationListQuery,
) -> Result<NotificationList, Error> {
    let (user_id, _) = call.user()?;
    let before = cursor(query.cursor.as_deref().map(String::as_str))?;
    let page = store::notification_list(
        &call.app.db,
        &user_id.to_string(),
        query.unread,
        before.as_deref(),
        limit(query.limit),
    )
    .await?;
    Ok(NotificationList {
        pagination: page_info(&page, page.items.last().map(|row| row.id.clone())),
        data: page.items.iter().map(view).collect(),
    })
}

pub async fn notification_unread_count_get(
    call: &Call<'_>,
) -> Result<NotificationUnreadCount, Error> {
    let (user_id, _) = call.user()?;
    let unread = store::notification_unread_count(&call.app.db, &user_id.to_string()).await?;
    Ok(NotificationUnreadCount {
        unread: u64::try_from(unread).unwrap_or(0),
    })
}

pub async fn notification_mark_read(
    call: &Call<'_>,
    notification_id: Uuid,
) -> Result<Notification, Error> {
    let (user_id, _) = call.user()?;
    store::notification_mark_read(
        &call.app.db,
        &user_id.to_string(),
        &notification_id.to_string(),
    )
    .await?
    .map(|row| view(&row))
    .ok_or_else(|| not_found(ErrorCode::NotificationNotFound, "notification"))
}

pub async fn notification_mark_all_read(call: &Call<'_>) -> Result<NotificationMarkAllRead, Error> {
    let (user_id, _) = call.user()?;
    let marked = store::notification_mark_all_read(&call.app.db, &user_id.to_string()).await?;
    Ok(NotificationMarkAllRead {
        marked: u64::try_from(marked).unwrap_or(0),
    })
}

fn preferences_view(row: Option<&PreferencesRow>) -> NotificationPreferences {
    let wants = |kind: &str| row.is_none_or(|row| row.wants(kind));
    NotificationPreferences {
        email: row.is_none_or(|row| row.email),
        in_app: row.is_none_or(|row| row.in_app),
        types: NotificationPreferencesTypes {
            handoff_requested: wants("handoff_requested"),
            mention: wants("mention"),
            quota_warning: wants("quota_warning"),
            session_assigned: wants("session_assigned"),
            team_invite: wants("team_invite"),
            webhook_disabled: wants("webhook_disabled"),
        },
    }
}

pub async fn notification_preferences_get(
    call: &Call<'_>,
) -> Result<NotificationPreferences, Error> {
    let (user_id, _) = call.user()?;
    let row = store::notification_preferences_get(&call.app.db, &user_id.to_string()).await?;
    Ok(preferences_view(row.as_ref()))
}

pub async fn notification_preferences_update(
    call: &Call<'_>,
    body: NotificationPreferencesUpdate,
) -> Result<NotificationPreferences, Error> {
    let (user_id, _) = call.user()?;
    let db = &call.app.db;
    let current = store::notification_preferences_get(db, &user_id.to_string()).await?;
    let mut chosen = preferences_view(current.as_ref());
    if let Some(email) = body.email {
        chosen.email = email;
    }
    if let Some(in_app) = body.in_app {
        chosen.in_app = in_app;
    }
    if let Some(types) = body.types {
        let switches = [
            (&mut chosen.types.handoff_requested, types.handoff_requested),
            (&mut chosen.types.mention, types.mention),
            (&mut chosen.types.quota_warning, types.quota_warning),
            (&mut chosen.types.session_assigned, types.session_assigned),
            (&mut chosen.types.team_invite, types.team_invite),
            (&mut chosen.types.webhook_disabled, types.webhook_disabled),
        ];
        for (switch, given) in switches {
            if let Some(on) = given {
                *switch = on;
            }
        }
    }
    let row = PreferencesRow {
        user_id: user_id.to_string(),
        email: chosen.email,
        in_app: chosen.in_app,
        types: serde_json::to_value(&chosen.types)
            .unwrap_or(Value::Null)
            .to_string(),
        updated_at: now(),
    };
    store::notification_preferences_put(db, &row).await?;
    Ok(chosen)
}

/// A user joined a team (told to its owners and admins).
pub fn member_joined(team_id: &str, team: &str, user_id: &str, name: &str) -> Notice {
    Notice {
        kind: "team_invite",
        title: format!("{name} joined {team}"),
        body: format!("{name} accepted the invitation to the team \"{team}\"."),
        data: json!({"team_id": team_id, "user_id": user_id}),
    }
}

/// A conversation was handed to a human (told to everyone who can see the bot).
pub fn handoff_requested(bot_id: &str, conversation_id: &str, reason: Option<&str>) -> Notice {
    Notice {
        kind: "handoff_requested",
        title: "A conversation waits for a human".to_string(),
        body: match reason {
            Some(reason) => format!("A conversation was handed to a human: {reason}"),
            None => "A conversation was handed to a human.".to_string(),
        },
        data: json!({"bot_id": bot_id, "conversation_id": conversation_id}),
    }
}

/// A webhook was disabled after failed deliveries (told to its account's users).
pub fn webhook_disabled(webhook_id: &str, bot_id: &str, url: &str, failures: i64) -> Notice {
    Notice {
        kind: "webhook_disabled",
        title: "A Botwire webhook was disabled".to_string(),
        body: format!(
            "Your webhook to {url} was disabled after {failures} deliveries in a row failed. \
             No events are sent to it until it is enabled again (webhook_update with \
             \"enabled\": true); its delivery log shows what the endpoint answered."
        ),
        data: json!({"webhook_id": webhook_id, "bot_id": bot_id}),
    }
}

/// The account used `threshold` (0.8 or 1.0) of its monthly message quota.
pub fn quota_warning(used: i64, limit: i64, threshold: f64) -> Notice {
    let percent = (threshold * 100.0).round();
    Notice {
        kind: "quota_warning",
        title: format!("{percent}% of this month's messages used"),
        body: format!("Your account used {used} of its {limit} messages this month."),
        data: json!({"used": used, "limit": limit, "threshold": threshold}),
    }
}

/// Someone mentioned the user in a note (for the inbox's notes, written in the note's
/// transaction with `insert_notifications!`).
pub fn mention(conversation_id: &str, note_id: &str, author: &str, excerpt: &str) -> Notice {
    Notice {
        kind: "mention",
        title: format!("{author} mentioned you"),
        body: excerpt.to_string(),
        data: json!({"conversation_id": conversation_id, "note_id": note_id}),
    }
}

/// A conversation was assigned to the user (for the inbox's assignment).
pub fn session_assigned(bot_id: &str, conversation_id: &str, by: &str) -> Notice {
    Notice {
        kind: "session_assigned",
        title: "A conversation was assigned to you".to_string(),
        body: format!("{by} assigned you a conversation."),
        data: json!({"bot_id": bot_id, "conversation_id": conversation_id}),
    }
}

/// Notifies `recipients` (user ids) of `notice` now, for a cause without a transaction of its
/// own; a cause that writes something calls `insert_notifications!` in its transaction instead.
pub async fn notify(
    db: &crate::db::Db,
    recipients: Vec<String>,
    notice: &Notice,
) -> Result<(), crate::db::DbError> {
    store::notifications_create(db, recipients, notice).await
}

fn mail_of(pending: &store::PendingMail) -> Email {
    let row = &pending.notification;
    Email {
        to: pending.email.clone(),
        subject: row.title.clone(),
        text: format!(
            "{greeting}\n\n{body}\n\nYou get this email because email notifications are on \
             (notification_preferences_update turns them off).\n",
            greeting = email::greeting(&pending.name),
            body = row.body,
        ),
    }
}

/// Sends a batch of pending email copies, each claimed first; true when the batch was full.
pub async fn mail_round(
    db: &crate::db::Db,
    mailer: &Mailer,
    log: &slog::Logger,
) -> Result<bool, crate::db::DbError> {
    let pending = store::notification_mails_pending(db, MAIL_BATCH).await?;
    for mail in &pending {
        let id = &mail.notification.id;
        if !store::notification_mail_move(db, id, EMAIL_PENDING, EMAIL_SENDING).await? {
            continue;
        }
        let outcome = match mailer.send(mail_of(mail)).await {
            Ok(()) => EMAIL_SENT,
            Err(error) => {
                slog::warn!(log, "mailing a notification"; "notification" => id, "error" => %error);
                EMAIL_FAILED
            }
        };
        store::notification_mail_move(db, id, EMAIL_SENDING, outcome).await?;
    }
    Ok(pending.len() == usize::try_from(MAIL_BATCH).unwrap_or(usize::MAX))
}
