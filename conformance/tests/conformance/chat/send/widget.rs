//! `chat_send` by visitors, with a bot's widget token: the sessions they may chat and read in,
//! the operations that are not theirs, and the bot's `allowed_origins` (by the browser's
//! `Origin` header; an empty list allows any).

use crate::conformance::support::chat::{
    FAQ, ask, assert_faq_answer, bot_with_faq, history, message,
};
use crate::conformance::support::{client_with, create_bot, expect_error, widget};
use botwire_client::types::{self, ChatSend, ErrorCode, FeedbackRating};
use botwire_conformance::{TestContext, on_both_databases};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

async fn chat_send_by_a_visitor_stays_in_the_sessions_of_its_widget_token(ctx: &TestContext) {
    let (owner, bot, faq) = bot_with_faq(ctx, "widget@example.test").await;
    let other_bot = create_bot(&owner, "Other").await;
    let owners = ask(&owner, bot.id, "owner-1", FAQ[0].0).await;
    let visitor = widget(ctx, &bot.widget_token);

    // No bot, no session: the token names the bot, the server makes the session.
    let reply = visitor
        .chat_send()
        .body(message(None, None, FAQ[1].0))
        .send()
        .await
        .expect("chat_send by a visitor");
    assert_eq!(reply.status(), 200);
    let reply = reply.into_inner();
    assert_faq_answer(&reply, &faq, FAQ[1].1);
    assert!(reply.session_id.starts_with("vs_"), "{reply:?}");
    let session = reply.session_id.clone();
    // The visitor's session goes on, and reads back.
    let next = visitor
        .chat_send()
        .body(message(Some(bot.id), Some(&session), FAQ[2].0))
        .send()
        .await
        .expect("chat_send by a visitor in its session")
        .into_inner();
    assert_eq!(next.conversation_id, reply.conversation_id);
    let own = history(&visitor, bot.id, &session).await;
    assert_eq!(own.len(), 4);
    assert_eq!(
        own,
        history(&owner, bot.id, &session).await,
        "the owner sees it too"
    );

    // Not the owner's sessions, not another bot.
    expect_error(
        visitor
            .session_history()
            .bot_id(bot.id)
            .session_id("owner-1")
            .send()
            .await,
        404,
        ErrorCode::SessionNotFound,
    );
    expect_error(
        visitor
            .chat_send()
            .body(message(None, Some("owner-1"), "Hello?"))
            .send()
            .await,
        404,
        ErrorCode::SessionNotFound,
    );
    expect_error(
        visitor
            .chat_send()
            .body(message(Some(other_bot.id), None, "Hello?"))
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        visitor
            .conversation_escalate()
            .conversation_id(owners.conversation_id)
            .body(types::ConversationEscalate::builder())
            .send()
            .await,
        404,
        ErrorCode::ConversationNotFound,
    );
    assert_eq!(history(&owner, bot.id, "owner-1").await.len(), 2);

    // Owner operations are not the visitor's.
    expect_error(
        visitor
            .conversation_get()
            .conversation_id(reply.conversation_id)
            .send()
            .await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor.session_list().bot_id(bot.id).send().await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor
            .session_delete()
            .bot_id(bot.id)
            .session_id(session.as_str())
            .send()
            .await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor
            .conversation_handback()
            .conversation_id(reply.conversation_id)
            .send()
            .await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor.document_list().bot_id(bot.id).send().await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor.bot_get().bot_id(bot.id).send().await,
        401,
        ErrorCode::Unauthorized,
    );

    // The visitor rates and escalates its own conversation.
    let rated = visitor
        .feedback_create()
        .conversation_id(reply.conversation_id)
        .body(
            types::FeedbackCreate::builder()
                .message_id(reply.message_id)
                .rating(Some(FeedbackRating::Up)),
        )
        .send()
        .await
        .expect("feedback_create by a visitor");
    assert_eq!(rated.status(), 201);
    let escalated = visitor
        .conversation_escalate()
        .conversation_id(reply.conversation_id)
        .body(types::ConversationEscalate::builder())
        .send()
        .await
        .expect("conversation_escalate by a visitor");
    assert!(escalated.handed_off);
    let silent = visitor
        .chat_send()
        .body(message(None, Some(&session), "Anyone there?"))
        .send()
        .await
        .expect("chat_send while handed off")
        .into_inner();
    assert_eq!(silent.reply, None);
}

fn visitor(ctx: &TestContext, token: &str, origin: Option<&str>) -> botwire_client::Client {
    let mut headers = HeaderMap::new();
    headers.insert("x-widget-token", HeaderValue::from_str(token).unwrap());
    if let Some(origin) = origin {
        headers.insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    client_with(&ctx.base_url, headers)
}

fn hello() -> ChatSend {
    serde_json::from_value(json!({ "message": "Hello there, are you open today?" })).unwrap()
}

async fn chat_send_by_a_visitor_works_only_from_the_bots_allowed_origins(ctx: &TestContext) {
    let bot: Value = ctx
        .authed(reqwest::Method::POST, "/v1/bots")
        .await
        .json(&json!({ "name": "Shop" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = bot["widget_token"].as_str().unwrap().to_string();
    let bot_path = format!("/v1/bots/{}", bot["id"].as_str().unwrap());

    // No list: any page may embed the widget.
    visitor(ctx, &token, None)
        .chat_send()
        .body(hello())
        .send()
        .await
        .expect("any origin");

    let update = json!({ "settings": { "allowed_origins": ["https://shop.example.com"] } });
    let patched = ctx
        .authed(reqwest::Method::PATCH, &bot_path)
        .await
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    visitor(ctx, &token, Some("https://shop.example.com"))
        .chat_send()
        .body(hello())
        .send()
        .await
        .expect("a listed origin");
    for origin in [Some("https://evil.example.net"), None] {
        let error = visitor(ctx, &token, origin)
            .chat_send()
            .body(hello())
            .send()
            .await
            .unwrap_err();
        let botwire_client::Error::ErrorResponse(refused) = error else {
            panic!("expected the envelope, got {error:?}");
        };
        assert_eq!(refused.status().as_u16(), 403, "{origin:?}");
        assert_eq!(
            refused.error.code,
            botwire_client::types::ErrorCode::Forbidden
        );
    }
}

on_both_databases!(
    chat_send_by_a_visitor_stays_in_the_sessions_of_its_widget_token,
    chat_send_by_a_visitor_works_only_from_the_bots_allowed_origins,
);
