//! Contacts: created, read, changed (PATCH: what is left out keeps its value), searched and
//! filtered, deleted without losing a message; email and external id unique per account;
//! sessions linked to them; every change told to the account's webhooks as `contact.updated`.

use crate::conformance::support::chat::{ask, history, upload_faq};
use crate::conformance::support::webhooks::{WAIT, create_webhook, fast};
use crate::conformance::support::{
    bearer, create_bot, expect_error, expect_invalid_field, register, some,
};
use botwire_client::Client;
use botwire_client::types::{self, ErrorCode};
use botwire_conformance::receiver::Receiver;
use botwire_conformance::{TestContext, on_both_databases};
use serde_json::json;
use uuid::Uuid;

/// A new user's session and a client acting as them.
async fn registered(ctx: &TestContext, email: &str, name: &str) -> (types::AuthSession, Client) {
    let session = register(ctx, email, name).await;
    let client = bearer(ctx, &session.token);
    (session, client)
}

async fn create(owner: &Client, body: types::builder::ContactCreate) -> types::Contact {
    let created = owner
        .contact_create()
        .body(body)
        .send()
        .await
        .expect("contact_create");
    assert_eq!(created.status(), 201);
    created.into_inner()
}

fn contact(name: &str, email: &str) -> types::builder::ContactCreate {
    types::ContactCreate::builder()
        .name(some::<types::ContactCreateName>(name))
        .email(some::<types::ContactCreateEmail>(email))
}

async fn listed(owner: &Client, q: Option<&str>, tag: Option<&str>) -> Vec<String> {
    let mut request = owner.contact_list();
    if let Some(q) = q {
        request = request.q(q);
    }
    if let Some(tag) = tag {
        request = request.tag(tag);
    }
    let page = request.send().await.expect("contact_list").into_inner();
    assert_eq!(
        usize::try_from(page.pagination.total).unwrap(),
        page.data.len()
    );
    page.data
        .into_iter()
        .map(|c| c.name.unwrap_or_default())
        .collect()
}

/// A PATCH sent as raw JSON, for what the typed client cannot say (an empty `tags`).
async fn patch(
    ctx: &TestContext,
    token: &str,
    id: Uuid,
    body: serde_json::Value,
) -> reqwest::Response {
    ctx.http
        .patch(format!("{}/v1/contacts/{id}", ctx.base_url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("PATCH contact")
}

async fn contacts_are_kept_searched_and_changed_field_by_field(ctx: &TestContext) {
    let (session, owner) = registered(ctx, "owner@example.test", "Olga").await;
    let anna = create(
        &owner,
        contact("Anna Lind", "Anna.Lind@Example.test")
            .phone(some::<types::ContactCreatePhone>("+46 70 123 45 67"))
            .external_id(some::<types::ContactCreateExternalId>("crm-1"))
            .tags(vec![
                "vip".parse().unwrap(),
                " vip ".parse().unwrap(),
                "emea".parse().unwrap(),
            ])
            .attributes(Some(types::Metadata(
                json!({"plan": "pro"}).as_object().unwrap().clone(),
            ))),
    )
    .await;
    assert_eq!(anna.email.as_deref(), Some("anna.lind@example.test"));
    assert_eq!(anna.tags, vec!["vip", "emea"]);
    assert_eq!(anna.session_count, 0);
    assert_eq!(anna.attributes.get("plan"), Some(&json!("pro")));
    let bo = create(
        &owner,
        contact("Bo Ek", "bo@example.test").tags(vec!["emea".parse().unwrap()]),
    )
    .await;
    create(
        &owner,
        types::ContactCreate::builder().phone(some::<types::ContactCreatePhone>("+1 555 0100")),
    )
    .await;

    // Newest first; `q` within name, email or phone in any case; `tag` exact.
    assert_eq!(
        listed(&owner, None, None).await,
        vec!["", "Bo Ek", "Anna Lind"]
    );
    assert_eq!(listed(&owner, Some("LIND"), None).await, vec!["Anna Lind"]);
    assert_eq!(
        listed(&owner, Some("example.test"), None).await,
        vec!["Bo Ek", "Anna Lind"]
    );
    assert_eq!(
        listed(&owner, Some("123 45"), None).await,
        vec!["Anna Lind"]
    );
    assert_eq!(listed(&owner, Some("%"), None).await, Vec::<String>::new());
    assert_eq!(
        listed(&owner, None, Some("emea")).await,
        vec!["Bo Ek", "Anna Lind"]
    );
    assert_eq!(
        listed(&owner, Some("bo"), Some("emea")).await,
        vec!["Bo Ek"]
    );
    assert_eq!(listed(&owner, None, Some("vi")).await, Vec::<String>::new());
    // Pages of one, each once.
    let first = owner
        .contact_list()
        .limit(std::num::NonZeroU64::MIN)
        .send()
        .await
        .expect("page 1");
    assert!(first.pagination.has_more);
    let second = owner
        .contact_list()
        .limit(std::num::NonZeroU64::MIN)
        .cursor(first.pagination.next_cursor.clone().expect("a cursor"))
        .send()
        .await
        .expect("page 2");
    assert_eq!(second.data[0].id, bo.id);

    // PATCH: left out keeps, given replaces, `tags: []` clears, a no-op changes nothing.
    let changed = patch(
        ctx,
        &session.token,
        anna.id,
        json!({"name": "Anna Lind-Berg"}),
    )
    .await;
    assert_eq!(changed.status(), 200);
    let changed: types::Contact = changed.json().await.expect("a contact");
    assert_eq!(changed.name.as_deref(), Some("Anna Lind-Berg"));
    assert_eq!(changed.email, anna.email);
    assert_eq!(changed.tags, anna.tags);
    assert_eq!(changed.attributes, anna.attributes);
    assert!(changed.updated_at > anna.updated_at);
    let cleared: types::Contact = patch(
        ctx,
        &session.token,
        anna.id,
        json!({"tags": [], "attributes": {"plan": "team"}}),
    )
    .await
    .json()
    .await
    .expect("a contact");
    assert!(cleared.tags.is_empty());
    assert_eq!(cleared.attributes.get("plan"), Some(&json!("team")));
    assert_eq!(cleared.name.as_deref(), Some("Anna Lind-Berg"));
    let same: types::Contact = patch(
        ctx,
        &session.token,
        anna.id,
        json!({"name": "Anna Lind-Berg"}),
    )
    .await
    .json()
    .await
    .expect("a contact");
    assert_eq!(same.updated_at, cleared.updated_at);
    let fetched = owner
        .contact_get()
        .contact_id(anna.id)
        .send()
        .await
        .expect("contact_get");
    assert_eq!(fetched.into_inner(), cleared);

    // Duplicates: 409 naming the contact they collide with; nothing changes.
    for body in [
        contact("Other", "BO@example.test"),
        types::ContactCreate::builder()
            .external_id(some::<types::ContactCreateExternalId>("crm-1")),
    ] {
        let refused = expect_error(
            owner.contact_create().body(body).send().await,
            409,
            ErrorCode::Conflict,
        );
        assert!(
            refused.error.message.contains(&bo.id.to_string())
                || refused.error.message.contains(&anna.id.to_string()),
            "{}",
            refused.error.message
        );
    }
    let refused = patch(
        ctx,
        &session.token,
        anna.id,
        json!({"email": "bo@example.test"}),
    )
    .await;
    assert_eq!(refused.status(), 409);
    let body: serde_json::Value = refused.json().await.expect("an error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&bo.id.to_string())
    );
    assert_eq!(
        owner
            .contact_get()
            .contact_id(anna.id)
            .send()
            .await
            .expect("contact_get")
            .email,
        anna.email
    );

    // Bad input: clear errors, nothing stored.
    let empty = ctx
        .http
        .post(format!("{}/v1/contacts", ctx.base_url))
        .bearer_auth(&session.token)
        .json(&json!({}))
        .send()
        .await
        .expect("POST");
    assert_eq!(empty.status(), 422);
    let only_tags = ctx
        .http
        .post(format!("{}/v1/contacts", ctx.base_url))
        .bearer_auth(&session.token)
        .json(&json!({"tags": ["x"]}))
        .send()
        .await
        .expect("POST");
    // Known by a tag only, for now (a visitor filled in later): a contact still.
    assert_eq!(only_tags.status(), 201);
    expect_invalid_field(
        owner
            .contact_create()
            .body(types::ContactCreate::builder().email(Some(
                serde_json::from_value::<types::ContactCreateEmail>(json!("not an email")).unwrap(),
            )))
            .send()
            .await,
        "email",
    );
    assert_eq!(
        patch(ctx, &session.token, anna.id, json!({"phone": "call me"}))
            .await
            .status(),
        422
    );
    assert_eq!(
        patch(ctx, &session.token, anna.id, json!({"colour": "red"}))
            .await
            .status(),
        422
    );
    assert_eq!(listed(&owner, None, None).await.len(), 4);

    // Deleted: gone, then 404.
    let deleted = owner
        .contact_delete()
        .contact_id(bo.id)
        .send()
        .await
        .expect("contact_delete");
    assert_eq!(deleted.status(), 204);
    expect_error(
        owner.contact_get().contact_id(bo.id).send().await,
        404,
        ErrorCode::ContactNotFound,
    );
    expect_error(
        owner.contact_delete().contact_id(bo.id).send().await,
        404,
        ErrorCode::ContactNotFound,
    );
    // The address is free again.
    create(&owner, contact("Bo Again", "bo@example.test")).await;
}

/// A session linked to a contact counts on it; deleting the contact unlinks the session and
/// keeps every message; each change reaches the account's webhooks.
async fn sessions_link_to_contacts_and_changes_reach_webhooks(ctx: &TestContext) {
    let (_, owner) = registered(ctx, "owner@example.test", "Olga").await;
    let bot = create_bot(&owner, "Support").await;
    upload_faq(&owner, bot.id).await;
    let receiver = Receiver::accepting().await;
    create_webhook(
        &owner,
        bot.id,
        &receiver.url("/hook"),
        vec![types::WebhookEventType::ContactUpdated],
    )
    .await;
    ask(&owner, bot.id, "s-1", "What are your opening hours?").await;
    let anna = create(&owner, contact("Anna", "anna@example.test")).await;

    let link = |contact_id: Option<Uuid>, session: &'static str| {
        owner
            .session_contact_link()
            .bot_id(bot.id)
            .session_id(session)
            .body(types::SessionContactLink::builder().contact_id(contact_id))
            .send()
    };
    let linked = link(Some(anna.id), "s-1")
        .await
        .expect("session_contact_link");
    assert_eq!(linked.contact_id, Some(anna.id));
    assert_eq!(linked.session_id, "s-1");
    let sessions = owner
        .session_list()
        .bot_id(bot.id)
        .send()
        .await
        .expect("session_list");
    assert_eq!(sessions.data[0].contact_id, Some(anna.id));
    // A contact's sessions: the session list filtered by it.
    ask(&owner, bot.id, "s-2", "Do you ship abroad?").await;
    let of_anna = owner
        .session_list()
        .bot_id(bot.id)
        .contact_id(anna.id)
        .send()
        .await
        .expect("session_list by contact");
    assert_eq!(of_anna.pagination.total, 1);
    assert_eq!(of_anna.data[0].session_id, "s-1");
    let counted = owner
        .contact_get()
        .contact_id(anna.id)
        .send()
        .await
        .expect("contact_get");
    assert_eq!(counted.session_count, 1);
    // Unknown session, unknown contact: 404, the link stays.
    expect_error(
        link(Some(anna.id), "nobody").await,
        404,
        ErrorCode::SessionNotFound,
    );
    expect_error(
        link(Some(Uuid::new_v4()), "s-1").await,
        404,
        ErrorCode::ContactNotFound,
    );
    // Unlinked with null, linked again.
    assert_eq!(link(None, "s-1").await.expect("unlink").contact_id, None);
    assert_eq!(
        link(Some(anna.id), "s-1").await.expect("link").contact_id,
        Some(anna.id)
    );

    // Another account's contact is not there to link.
    let (_, other) = registered(ctx, "other@example.test", "Otto").await;
    let theirs = create(&other, contact("Theirs", "theirs@example.test")).await;
    expect_error(
        link(Some(theirs.id), "s-1").await,
        404,
        ErrorCode::ContactNotFound,
    );

    owner
        .contact_update()
        .contact_id(anna.id)
        .body(types::ContactUpdate::builder().name(some::<types::ContactUpdateName>("Anna Lind")))
        .send()
        .await
        .expect("contact_update");
    owner
        .contact_delete()
        .contact_id(anna.id)
        .send()
        .await
        .expect("contact_delete");
    let sessions = owner
        .session_list()
        .bot_id(bot.id)
        .send()
        .await
        .expect("session_list");
    assert!(sessions.data.iter().all(|s| s.contact_id.is_none()));
    assert_eq!(history(&owner, bot.id, "s-1").await.len(), 2);

    // created, updated (name), deleted, for this account only; deliveries may arrive in any
    // order, their timestamps tell the order of the changes.
    let received = receiver.wait_for(3, WAIT).await;
    let mut events: Vec<serde_json::Value> = received.iter().map(|r| r.json()).collect();
    events.sort_by_key(|e| {
        e["timestamp"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .expect("an RFC 3339 timestamp")
    });
    let actions: Vec<&str> = events
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "contact.updated");
            e["data"]["action"].as_str().unwrap()
        })
        .collect();
    assert_eq!(actions, vec!["created", "updated", "deleted"]);
    assert!(
        events
            .iter()
            .all(|e| e["data"]["contact_id"] == json!(anna.id))
    );
    assert_eq!(events[1]["data"]["changed_fields"], json!(["name"]));
    assert_eq!(events[1]["data"]["name"], "Anna Lind");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        receiver.received().len(),
        3,
        "another account's contact is not told here"
    );
}

on_both_databases!(contacts_are_kept_searched_and_changed_field_by_field);
on_both_databases!(
    config = fast,
    sessions_link_to_contacts_and_changes_reach_webhooks
);
