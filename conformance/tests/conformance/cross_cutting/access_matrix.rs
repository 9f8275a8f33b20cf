//! Sweeps every operation with every kind of caller: the status the access policy says.
//!
//! The permission matrix. The cases are generated from the policy table the contract
//! generates (`botwire_api::policy::OPERATION_POLICIES`: each operation's credential forms and
//! its `x-botwire-access`), so an operation added to the contract is in the matrix at once.
//! For each operation and each caller (the bot's account by session token, an account-wide
//! API key, a key scoped to another bot of the account, the bot's widget token, the owner,
//! admin and agent of a team the bot is shared with, a user of another account without a
//! share, and no credential at all), the expected answer is computed from the table alone:
//!
//! - 401 `unauthorized` when the operation admits no credential of the caller's form;
//! - 404 with the code of the addressed resource when the caller cannot see the bot (or team),
//!   exactly as for an id that does not exist;
//! - 403 `forbidden` when it sees the bot (or team) without the role the rule needs (a key
//!   scoped to another bot sees its account's bots, without the right to act on them);
//! - otherwise the operation's success status, or 501 `not_implemented` while the operation is
//!   in `unimplemented-operations.txt`.
//!
//! Each case that should succeed runs on resources made for it alone (a bot shared with the
//! team, with a document, a visitor's session, a webhook and a delivery; or a team with one
//! member of each role), so that a delete or a rotation does not change what the next case
//! finds. A few operations carry a rule finer than their access level, named in
//! [`exception`], each with the sentence of the contract that states it.
//!
//! Plain HTTP: a typed client call per operation would only restate the contract, while the
//! sweep follows the table as it grows.

use crate::conformance::support::chat::{ask, upload_faq};
use crate::conformance::support::webhooks::{create_webhook, fast, finished};
use crate::conformance::support::{PASSWORD, create_bot, create_key, widget};
use botwire_api::policy::{Access, OPERATION_POLICIES, OperationPolicy, SecurityScheme};
use botwire_client::Client;
use botwire_client::types::{self, TeamInviteRole, TeamRole, WebhookEventType};
use botwire_conformance::receiver::Receiver;
use botwire_conformance::{TestContext, on_both_databases, spec};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use uuid::Uuid;

/// The kinds of caller of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// A user of the bot's account.
    OwnerJwt,
    /// An API key of the bot's account, for the whole account.
    AccountKey,
    /// An API key of the bot's account, scoped to another of its bots.
    OtherBotKey,
    /// The bot's public widget token.
    Widget,
    /// Users of other accounts with a role in a team the bot is shared with (and in the team
    /// the team operations address, which the bot's account created).
    TeamOwner,
    TeamAdmin,
    TeamAgent,
    /// A user of another account, in no team.
    Stranger,
    Anonymous,
}

const CALLERS: [Caller; 9] = [
    Caller::OwnerJwt,
    Caller::AccountKey,
    Caller::OtherBotKey,
    Caller::Widget,
    Caller::TeamOwner,
    Caller::TeamAdmin,
    Caller::TeamAgent,
    Caller::Stranger,
    Caller::Anonymous,
];

impl Caller {
    fn scheme(self) -> Option<SecurityScheme> {
        match self {
            Caller::OwnerJwt
            | Caller::TeamOwner
            | Caller::TeamAdmin
            | Caller::TeamAgent
            | Caller::Stranger => Some(SecurityScheme::UserJwt),
            Caller::AccountKey | Caller::OtherBotKey => Some(SecurityScheme::ApiKeyBearer),
            Caller::Widget => Some(SecurityScheme::WidgetToken),
            Caller::Anonymous => None,
        }
    }

    fn is_user(self) -> bool {
        self.scheme() == Some(SecurityScheme::UserJwt)
    }
}

/// What a case must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Success(u16),
    Error(u16, &'static str),
}

/// A caller's standing towards the matrix's bot, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum BotStanding {
    Visitor,
    TeamAgent,
    TeamAdmin,
    Owner,
}

/// The code of the 404 of the resource an operation addresses.
fn missing_code(policy: &OperationPolicy) -> &'static str {
    if policy.access.is_team_scoped() {
        "team_not_found"
    } else if policy.path.contains("{bot_id}") {
        "bot_not_found"
    } else if policy.path.contains("{conversation_id}") {
        "conversation_not_found"
    } else if policy.path.contains("{webhook_id}") {
        "webhook_not_found"
    } else if policy.path.contains("{canned_response_id}") {
        "canned_response_not_found"
    } else {
        "bot_not_found"
    }
}

/// A rule finer than the access level, stated in the contract.
fn exception(id: &str, caller: Caller) -> Option<Expect> {
    match (id, caller) {
        // bot_create: "a key scoped to one bot cannot create bots" (403).
        ("bot_create", Caller::OtherBotKey) => Some(Expect::Error(403, "forbidden")),
        // Success needs a secret only a mailbox or an authenticator holds: the contract's
        // answer to a wrong one, which shows the caller was let through.
        ("account_email_verify" | "account_password_reset", _) => {
            Some(Expect::Error(422, "validation_failed"))
        }
        ("account_totp_verify", c) if c.is_user() => Some(Expect::Error(422, "validation_failed")),
        // "an email that is already verified answers 409": the cast's users verified theirs
        // (an invitation is accepted only with a verified email).
        ("account_email_verification_resend", c) if c.is_user() => {
            Some(Expect::Error(409, "conflict"))
        }
        _ => None,
    }
}

/// What the table says `caller` gets from the operation.
fn expected(policy: &OperationPolicy, success: u16, unimplemented: bool, caller: Caller) -> Expect {
    let admitted = policy.is_public() || caller.scheme().is_some_and(|s| policy.admits(s));
    if !admitted {
        return Expect::Error(401, "unauthorized");
    }
    if let Some(special) = exception(policy.operation_id, caller) {
        return special;
    }
    let granted = match policy.access {
        Access::Public | Access::User | Access::Account => Ok(()),
        Access::BotOwner | Access::BotTeamAdmin | Access::BotTeamAgent | Access::BotVisitor => {
            let standing = match caller {
                Caller::OwnerJwt | Caller::AccountKey => Some(BotStanding::Owner),
                Caller::Widget => Some(BotStanding::Visitor),
                Caller::TeamOwner | Caller::TeamAdmin => Some(BotStanding::TeamAdmin),
                Caller::TeamAgent => Some(BotStanding::TeamAgent),
                Caller::OtherBotKey | Caller::Stranger | Caller::Anonymous => None,
            };
            let needed = match policy.access {
                Access::BotOwner => BotStanding::Owner,
                Access::BotTeamAdmin => BotStanding::TeamAdmin,
                Access::BotTeamAgent => BotStanding::TeamAgent,
                _ => BotStanding::Visitor,
            };
            match standing {
                None if caller == Caller::OtherBotKey => Err(Expect::Error(403, "forbidden")),
                None => Err(Expect::Error(404, missing_code(policy))),
                Some(standing) if standing < needed => Err(Expect::Error(403, "forbidden")),
                Some(_) => Ok(()),
            }
        }
        Access::TeamMember | Access::TeamAdmin | Access::TeamOwner => {
            let role = match caller {
                Caller::OwnerJwt | Caller::TeamOwner => Some(2),
                Caller::TeamAdmin => Some(1),
                Caller::TeamAgent => Some(0),
                _ => None,
            };
            let needed = match policy.access {
                Access::TeamOwner => 2,
                Access::TeamAdmin => 1,
                _ => 0,
            };
            match role {
                None => Err(Expect::Error(404, "team_not_found")),
                Some(role) if role < needed => Err(Expect::Error(403, "forbidden")),
                Some(_) => Ok(()),
            }
        }
    };
    match granted {
        Err(refused) => refused,
        Ok(()) if unimplemented => Expect::Error(501, "not_implemented"),
        Ok(()) => Expect::Success(success),
    }
}

/// A user of the matrix.
struct Person {
    token: String,
    id: Uuid,
    email: String,
    client: Client,
}

async fn person(ctx: &TestContext, email: &str, name: &str) -> Person {
    let (session, client) = crate::conformance::support::teams::verified(ctx, email, name).await;
    Person {
        token: session.token,
        id: session.user.id,
        email: email.to_string(),
        client,
    }
}

/// What every case shares: the people, the account's keys, the team its bots are shared with.
struct Cast {
    owner: Person,
    team_owner: Person,
    team_admin: Person,
    team_agent: Person,
    stranger: Person,
    /// Hosts the teams whose invitations the callers accept.
    host: Person,
    account_key: String,
    other_bot_key: String,
    team: Uuid,
    receiver: Receiver,
    counter: AtomicUsize,
    /// The server's database, for what no operation writes on demand (a notification).
    db: botwire_server::db::Db,
}

impl Cast {
    fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn person(&self, caller: Caller) -> Option<&Person> {
        match caller {
            Caller::OwnerJwt => Some(&self.owner),
            Caller::TeamOwner => Some(&self.team_owner),
            Caller::TeamAdmin => Some(&self.team_admin),
            Caller::TeamAgent => Some(&self.team_agent),
            Caller::Stranger => Some(&self.stranger),
            _ => None,
        }
    }
}

/// A bot of the owner's account shared with the cast's team, with what its operations address.
struct BotScene {
    bot: Uuid,
    widget_token: String,
    document: Uuid,
    session: String,
    conversation: Uuid,
    message: Uuid,
    webhook: Uuid,
    delivery: Uuid,
    canned_response: Uuid,
}

/// A team the owner created, with the cast's owner, admin and agent, a pending invitation and
/// a shared bot.
struct TeamScene {
    team: Uuid,
    invite: Uuid,
    shared_bot: Uuid,
}

async fn invite_and_accept(
    inviter: &Client,
    team: Uuid,
    invitee: &Person,
    role: TeamInviteRole,
) -> types::TeamMember {
    let invite = inviter
        .team_invite_create()
        .team_id(team)
        .body(
            types::TeamInviteCreate::builder()
                .email(invitee.email.as_str())
                .role(role),
        )
        .send()
        .await
        .expect("team_invite_create")
        .into_inner();
    invitee
        .client
        .team_invite_accept()
        .body(types::TeamInviteAccept::builder().token(invite.token))
        .send()
        .await
        .expect("team_invite_accept")
        .into_inner()
}

/// A team of the owner with one member of each role.
async fn staffed_team(cast_people: [&Person; 4], name: &str) -> Uuid {
    let [owner, team_owner, team_admin, team_agent] = cast_people;
    let team = crate::conformance::support::teams::create_team(&owner.client, name)
        .await
        .id;
    let promoted = invite_and_accept(&owner.client, team, team_owner, TeamInviteRole::Admin).await;
    owner
        .client
        .team_member_update()
        .team_id(team)
        .user_id(promoted.user_id)
        .body(types::TeamMemberUpdate::builder().role(Some(TeamRole::Owner)))
        .send()
        .await
        .expect("team_member_update");
    invite_and_accept(&owner.client, team, team_admin, TeamInviteRole::Admin).await;
    invite_and_accept(&owner.client, team, team_agent, TeamInviteRole::Agent).await;
    team
}

async fn share(owner: &Client, team: Uuid, bot: Uuid) {
    owner
        .team_bot_share()
        .team_id(team)
        .body(types::TeamBotShare::builder().bot_id(bot))
        .send()
        .await
        .expect("team_bot_share");
}

async fn bot_scene(ctx: &TestContext, cast: &Cast, op: &str) -> BotScene {
    let escalated = op == "conversation_handback";
    let owner = &cast.owner.client;
    let bot = create_bot(owner, "Matrix").await;
    share(owner, cast.team, bot.id).await;
    let document = upload_faq(owner, bot.id).await;
    let visitor = widget(ctx, &bot.widget_token);
    let reply = ask(
        &visitor,
        bot.id,
        "visitor-1",
        "What are your opening hours?",
    )
    .await;
    if escalated {
        visitor
            .conversation_escalate()
            .conversation_id(reply.conversation_id)
            .body(types::ConversationEscalate::builder())
            .send()
            .await
            .expect("conversation_escalate");
    }
    let hook = create_webhook(
        owner,
        bot.id,
        &cast.receiver.url("/matrix"),
        vec![WebhookEventType::MessageReceived],
    )
    .await;
    let delivery = owner
        .webhook_test()
        .webhook_id(hook.id)
        .send()
        .await
        .expect("webhook_test")
        .into_inner();
    // A delivery is redelivered once it has finished.
    if op == "delivery_redeliver" {
        finished(owner, hook.id, delivery.id).await;
    }
    let canned_response = owner
        .canned_response_create()
        .bot_id(bot.id)
        .body(
            types::CannedResponseCreate::builder()
                .shortcut("hours")
                .title("Opening hours")
                .content("We are open 9 to 5, {{contact.name}}."),
        )
        .send()
        .await
        .expect("canned_response_create")
        .into_inner()
        .id;
    BotScene {
        canned_response,
        bot: bot.id,
        widget_token: bot.widget_token,
        document: document.id,
        session: "visitor-1".into(),
        conversation: reply.conversation_id,
        message: reply.message_id.expect("the bot's reply is stored"),
        webhook: hook.id,
        delivery: delivery.id,
    }
}

async fn team_scene(cast: &Cast) -> TeamScene {
    let n = cast.next();
    let people = [
        &cast.owner,
        &cast.team_owner,
        &cast.team_admin,
        &cast.team_agent,
    ];
    let team = staffed_team(people, &format!("Matrix team {n}")).await;
    let owner = &cast.owner.client;
    let invite = owner
        .team_invite_create()
        .team_id(team)
        .body(
            types::TeamInviteCreate::builder()
                .email(format!("pending-{n}@example.test"))
                .role(TeamInviteRole::Agent),
        )
        .send()
        .await
        .expect("team_invite_create")
        .into_inner();
    let shared_bot = create_bot(owner, "Matrix shared").await.id;
    share(owner, team, shared_bot).await;
    TeamScene {
        team,
        invite: invite.id,
        shared_bot,
    }
}

/// The request of one case: its path and body, for the caller.
struct Request {
    path: String,
    body: Option<Value>,
    multipart: bool,
}

async fn request(
    cast: &Cast,
    op: &spec::Operation,
    caller: Caller,
    bot: &BotScene,
    team: &TeamScene,
    fresh: bool,
) -> Request {
    let n = cast.next();
    let mut path = op.path.clone();
    let person = cast.person(caller);
    // Per case: a key of the caller's own account, a bot of it to share.
    let own_key = if fresh && op.path.contains("{key_id}") {
        let client = &person.expect("keys are managed by users").client;
        Some(create_key(client, "matrix", None, None).await.id)
    } else {
        None
    };
    // Per case: a contact of the caller's own account (contacts are account-wide), to read,
    // change, delete or link a session to.
    let own_contact =
        if fresh && (op.path.contains("{contact_id}") || op.id == "session_contact_link") {
            // The account's keys act on the owner's account.
            let account = match caller {
                Caller::AccountKey | Caller::OtherBotKey => &cast.owner,
                _ => person.expect("a caller with an account"),
            };
            let created = account
                .client
                .contact_create()
                .body(types::ContactCreate::builder().name(Some("Matrix".parse().expect("a name"))))
                .send()
                .await
                .expect("contact_create")
                .into_inner();
            Some(created.id)
        } else {
            None
        };
    // Per case: a notification of the caller's own, to mark read.
    let own_notification = if fresh && op.path.contains("{notification_id}") {
        let person = person.expect("notifications are a user's");
        let notice = botwire_server::services::notifications::mention(
            &Uuid::new_v4().to_string(),
            &Uuid::new_v4().to_string(),
            "Matrix",
            "a note",
        );
        botwire_server::services::notifications::notify(
            &cast.db,
            vec![person.id.to_string()],
            &notice,
        )
        .await
        .expect("notify");
        let listed = person
            .client
            .notification_list()
            .send()
            .await
            .expect("notification_list")
            .into_inner();
        Some(listed.data[0].id)
    } else {
        None
    };
    // Per case: a saved view of the caller's own.
    let own_view = match person {
        Some(person) if fresh && op.path.contains("{view_id}") => Some(
            person
                .client
                .inbox_view_create()
                .body(
                    types::InboxViewCreate::builder()
                        .name(format!("Matrix {n}"))
                        .filters(types::InboxViewFiltersInput::builder()),
                )
                .send()
                .await
                .expect("inbox_view_create")
                .into_inner()
                .id,
        ),
        _ => None,
    };
    let team_path = op.id.starts_with("team_") && op.path.contains("{team_id}");
    let mut fill = |name: &str, value: String| {
        path = path.replace(&format!("{{{name}}}"), &value);
    };
    if team_path {
        fill("team_id", team.team.to_string());
        fill("bot_id", team.shared_bot.to_string());
        fill("user_id", cast.team_agent.id.to_string());
        fill("invite_id", team.invite.to_string());
    }
    fill("bot_id", bot.bot.to_string());
    fill("document_id", bot.document.to_string());
    fill("session_id", bot.session.clone());
    fill("conversation_id", bot.conversation.to_string());
    fill("webhook_id", bot.webhook.to_string());
    fill("delivery_id", bot.delivery.to_string());
    fill("canned_response_id", bot.canned_response.to_string());
    fill("view_id", own_view.unwrap_or_else(Uuid::new_v4).to_string());
    fill("key_id", own_key.unwrap_or_else(Uuid::new_v4).to_string());
    fill(
        "contact_id",
        own_contact.unwrap_or_else(Uuid::new_v4).to_string(),
    );
    fill(
        "notification_id",
        own_notification.unwrap_or_else(Uuid::new_v4).to_string(),
    );
    for param in op.parameters().filter(|p| p["in"] == "path") {
        let name = param["name"].as_str().expect("a name");
        fill(name, Uuid::new_v4().to_string());
    }
    let example = op
        .value
        .pointer("/requestBody/content/application~1json/example")
        .cloned();
    let body = match op.id.as_str() {
        "account_register" => Some(json!({
            "email": format!("registered-{n}@example.test"),
            "password": PASSWORD,
            "name": "Registered",
        })),
        "account_login" => Some(json!({"email": cast.owner.email, "password": PASSWORD})),
        "account_email_verify" => Some(json!({"email": cast.owner.email, "code": "00000000"})),
        "account_password_reset" => Some(json!({
            "email": cast.owner.email,
            "code": "00000000",
            "new_password": "another correct horse",
        })),
        "account_totp_verify" => Some(json!({"code": "000000"})),
        "api_key_create" => Some(json!({"name": "matrix"})),
        "api_key_update" => Some(json!({"name": "renamed"})),
        "bot_create" => Some(json!({"name": "Matrix created"})),
        "bot_update" => Some(json!({"name": "Renamed"})),
        "bot_duplicate" => Some(json!({"name": "Copy"})),
        "chat_send" | "chat_stream" => Some(json!({
            "bot_id": bot.bot,
            "session_id": format!("matrix-{n}"),
            "message": "What are your opening hours?",
        })),
        "feedback_create" => Some(json!({"message_id": bot.message, "rating": "up"})),
        "webhook_create" => Some(json!({
            "url": cast.receiver.url("/created"),
            "events": ["message.received"],
        })),
        "webhook_update" => Some(json!({"enabled": false})),
        // A person of the bot: its team's agent.
        "conversation_assign" => Some(json!({"assignee_id": cast.team_agent.id})),
        "inbox_view_create" => Some(json!({"name": format!("Created {n}"), "filters": {}})),
        "team_create" => Some(json!({"name": "Created"})),
        "team_invite_create" => Some(json!({
            "email": format!("invited-{n}@example.test"),
            "role": "agent",
        })),
        "team_member_update" => Some(json!({"role": "agent"})),
        "team_member_presence_set" => Some(json!({"status": "offline"})),
        "contact_create" => Some(json!({
            "name": "Created",
            "email": format!("contact-{n}@example.test"),
        })),
        "session_contact_link" => Some(json!({
            "contact_id": own_contact.unwrap_or_else(Uuid::new_v4),
        })),
        "team_bot_share" => {
            // A bot of the caller's own account: only the bot's account shares it.
            let bot_id = match person {
                Some(person) if fresh => create_bot(&person.client, "To share").await.id,
                _ => Uuid::new_v4(),
            };
            Some(json!({"bot_id": bot_id}))
        }
        "team_invite_accept" => {
            let token = match person {
                Some(person) if fresh => {
                    let host = &cast.host.client;
                    let hosted = crate::conformance::support::teams::create_team(host, "Hosted")
                        .await
                        .id;
                    host.team_invite_create()
                        .team_id(hosted)
                        .body(
                            types::TeamInviteCreate::builder()
                                .email(person.email.as_str())
                                .role(TeamInviteRole::Agent),
                        )
                        .send()
                        .await
                        .expect("team_invite_create")
                        .into_inner()
                        .token
                }
                _ => "ti_000000000000000000000000000000".to_string(),
            };
            Some(json!({"token": token}))
        }
        _ => example,
    };
    Request {
        path,
        body,
        multipart: op.is_multipart(),
    }
}

fn credential(cast: &Cast, caller: Caller, widget_token: &str) -> Option<(&'static str, String)> {
    match caller {
        Caller::AccountKey => Some(("authorization", format!("Bearer {}", cast.account_key))),
        Caller::OtherBotKey => Some(("authorization", format!("Bearer {}", cast.other_bot_key))),
        Caller::Widget => Some(("x-widget-token", widget_token.to_string())),
        Caller::Anonymous => None,
        user => cast
            .person(user)
            .map(|p| ("authorization", format!("Bearer {}", p.token))),
    }
}

async fn send(
    ctx: &TestContext,
    method: Method,
    request: &Request,
    credential: Option<(&'static str, String)>,
) -> (u16, String) {
    let mut builder = ctx.http.request(method, ctx.url(&request.path));
    if let Some((name, value)) = credential {
        builder = builder.header(name, value);
    }
    if request.multipart {
        let form = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"faq.csv\"\r\n\
                    Content-Type: text/csv\r\n\r\nquestion,answer\r\nWhen are you open?,9 to 5.\r\n--b--\r\n";
        builder = builder
            .header("content-type", "multipart/form-data; boundary=b")
            .body(form);
    } else if let Some(body) = &request.body {
        builder = builder.json(body);
    }
    let response = builder.send().await.expect("a response");
    let status = response.status().as_u16();
    // A live stream stays open: its status and headers are the answer.
    let streaming = response
        .headers()
        .get("content-type")
        .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    if streaming && status == 200 {
        return (status, String::new());
    }
    (status, response.text().await.unwrap_or_default())
}

fn success_status(op: &spec::Operation) -> u16 {
    op.value["responses"]
        .as_object()
        .and_then(|responses| {
            responses
                .keys()
                .find(|status| status.starts_with('2'))
                .and_then(|status| status.parse().ok())
        })
        .unwrap_or_else(|| panic!("{} documents no success", op.id))
}

async fn cast(ctx: &TestContext) -> Cast {
    let owner = person(ctx, "owner@matrix.test", "Owner").await;
    let team_owner = person(ctx, "team-owner@matrix.test", "Team Owner").await;
    let team_admin = person(ctx, "team-admin@matrix.test", "Team Admin").await;
    let team_agent = person(ctx, "team-agent@matrix.test", "Team Agent").await;
    let stranger = person(ctx, "stranger@matrix.test", "Stranger").await;
    let host = person(ctx, "host@matrix.test", "Host").await;
    let account_key = create_key(&owner.client, "account-wide", None, None).await;
    let other_bot = create_bot(&owner.client, "Another bot").await;
    let other_bot_key = create_key(&owner.client, "other bot", Some(other_bot.id), None).await;
    let team = staffed_team([&owner, &team_owner, &team_admin, &team_agent], "Support").await;
    Cast {
        owner,
        team_owner,
        team_admin,
        team_agent,
        stranger,
        host,
        account_key: account_key.key,
        other_bot_key: other_bot_key.key,
        team,
        receiver: Receiver::accepting().await,
        counter: AtomicUsize::new(0),
        db: botwire_server::db::Db::connect(ctx.database_url(), 2)
            .await
            .expect("a pool on the server's database"),
    }
}

async fn every_operation_answers_every_caller_as_the_policy_says(ctx: &TestContext) {
    let cast = cast(ctx).await;
    let unimplemented = spec::unimplemented();
    let operations = spec::operations();
    let shared_bot = bot_scene(ctx, &cast, "").await;
    let shared_team = team_scene(&cast).await;
    let mut failures = Vec::new();
    let mut checked = BTreeSet::new();
    let mut cases = 0;
    for policy in OPERATION_POLICIES {
        let op = operations
            .iter()
            .find(|op| op.id == policy.operation_id)
            .unwrap_or_else(|| panic!("{} is in the table, not the contract", policy.operation_id));
        let success = success_status(op);
        for caller in CALLERS {
            let expect = expected(policy, success, unimplemented.contains(&op.id), caller);
            // What succeeds changes what it touches: it gets resources of its own.
            let fresh = matches!(expect, Expect::Success(_));
            let own_bot;
            let bot = if fresh && policy.access.is_bot_scoped() {
                own_bot = bot_scene(ctx, &cast, &op.id).await;
                &own_bot
            } else {
                &shared_bot
            };
            let own_team;
            let team = if fresh && policy.access.is_team_scoped() {
                own_team = team_scene(&cast).await;
                &own_team
            } else {
                &shared_team
            };
            let request = request(&cast, op, caller, bot, team, fresh).await;
            let credential = credential(&cast, caller, &bot.widget_token);
            let (status, body) = send(ctx, op.method.clone(), &request, credential).await;
            cases += 1;
            let code = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["error"]["code"].as_str().map(str::to_string));
            let matches = match &expect {
                Expect::Success(want) => status == *want,
                Expect::Error(want, want_code) => {
                    status == *want && code.as_deref() == Some(*want_code)
                }
            };
            if !matches {
                let excerpt: String = body.chars().take(240).collect();
                failures.push(format!(
                    "{} {} as {caller:?} ({}): expected {expect:?}, got {status} {excerpt}",
                    op.method,
                    op.id,
                    policy.access.as_str()
                ));
            }
            checked.insert(op.id.clone());
        }
    }
    assert_eq!(
        checked.len(),
        operations.len(),
        "every operation of the contract is in the matrix"
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases answered otherwise than the policy says:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_matrix_knows_every_access_rule_of_the_contract() {
    // Every value the table holds is one the expectation above handles by name.
    for policy in OPERATION_POLICIES {
        let known = matches!(
            policy.access,
            Access::Public
                | Access::User
                | Access::Account
                | Access::BotOwner
                | Access::BotTeamAdmin
                | Access::BotTeamAgent
                | Access::BotVisitor
                | Access::TeamMember
                | Access::TeamAdmin
                | Access::TeamOwner
        );
        assert!(known, "{}", policy.operation_id);
        // A bot-scoped rule needs a bot to decide on: a path's or (chat) the body's.
        if policy.access.is_bot_scoped() {
            let addressed = [
                "{bot_id}",
                "{conversation_id}",
                "{webhook_id}",
                "{canned_response_id}",
            ]
            .iter()
            .any(|v| policy.path.contains(v))
                || policy.operation_id.starts_with("chat_");
            assert!(addressed, "{} names no bot", policy.operation_id);
        }
        if policy.access.is_team_scoped() {
            assert!(policy.path.contains("{team_id}"), "{}", policy.operation_id);
        }
    }
}

on_both_databases!(
    config = fast,
    every_operation_answers_every_caller_as_the_policy_says
);
