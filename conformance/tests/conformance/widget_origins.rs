//! A bot's `allowed_origins` limit where its widget token works: from a listed origin only
//! (by the browser's `Origin` header); an empty list allows any.

use super::support::client_with;
use botwire_client::types::ChatSend;
use botwire_conformance::{TestContext, on_both_databases};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

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

async fn the_widget_works_only_from_allowed_origins(ctx: &TestContext) {
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

on_both_databases!(the_widget_works_only_from_allowed_origins);
