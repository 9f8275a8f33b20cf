//! CORS over every path of visitor operations: a widget's page of an allowed origin reads the
//! answers, a page of another origin reads none, and preflights answer on every such path.

use botwire_conformance::spec;
use botwire_conformance::{TestContext, on_both_databases};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

on_both_databases!(
    visitor_answers_are_readable_from_allowed_origins_only,
    every_path_of_visitor_operations_answers_a_preflight
);

const SHOP: &str = "https://shop.example";

/// A bot (with these `allowed_origins`) and its widget token.
async fn bot(ctx: &TestContext, origins: &[&str]) -> (String, String) {
    let created: Value = ctx
        .authed(Method::POST, "/v1/bots")
        .await
        .json(&json!({"name": "Widget", "settings": {"allowed_origins": origins}}))
        .send()
        .await
        .expect("bot_create")
        .json()
        .await
        .expect("a bot");
    let id = created["id"].as_str().expect("an id").to_string();
    let token = created["widget_token"]
        .as_str()
        .expect("a token")
        .to_string();
    (id, token)
}

async fn chat(ctx: &TestContext, bot: &str, token: &str, origin: Option<&str>) -> (u16, HeaderMap) {
    let mut request = ctx
        .http
        .post(ctx.url("/v1/chat"))
        .header("x-widget-token", token)
        .json(&json!({"bot_id": bot, "message": "Hello"}));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.expect("chat_send");
    (response.status().as_u16(), response.headers().clone())
}

fn allowed_origin(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
}

async fn visitor_answers_are_readable_from_allowed_origins_only(ctx: &TestContext) {
    let (bot_id, token) = bot(ctx, &[SHOP]).await;
    let (status, headers) = chat(ctx, &bot_id, &token, Some(SHOP)).await;
    assert_eq!((status, allowed_origin(&headers)), (200, Some(SHOP)));
    assert!(
        headers.get_all("vary").iter().any(|v| v == "origin"),
        "{headers:?}"
    );
    let exposed = headers["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("x-ratelimit-remaining") && exposed.contains("x-request-id"));
    // Another origin: refused, and nothing a page could read.
    let (status, headers) = chat(ctx, &bot_id, &token, Some("https://evil.example")).await;
    assert_eq!((status, allowed_origin(&headers)), (403, None));
    // A bot without allowed origins admits its token from any page.
    let (open_bot, open_token) = bot(ctx, &[]).await;
    let (status, headers) = chat(ctx, &open_bot, &open_token, Some("https://any.example")).await;
    assert_eq!(
        (status, allowed_origin(&headers)),
        (200, Some("https://any.example"))
    );
    // Without an Origin (not a browser) there is nothing to allow.
    let (status, headers) = chat(ctx, &open_bot, &open_token, None).await;
    assert_eq!((status, allowed_origin(&headers)), (200, None));
    // Credentials other than the widget token are not for third-party pages.
    let response = ctx
        .authed(Method::GET, &format!("/v1/bots/{bot_id}"))
        .await
        .header("origin", SHOP)
        .send()
        .await
        .expect("bot_get");
    assert_eq!(
        (
            response.status().as_u16(),
            allowed_origin(response.headers())
        ),
        (200, None)
    );
}

/// The contract's paths with an operation a widget token may call, with those methods.
fn visitor_paths() -> Vec<(String, String, Vec<String>)> {
    let mut paths: Vec<(String, String, Vec<String>)> = Vec::new();
    for operation in spec::operations() {
        let widget = operation.value["security"]
            .as_array()
            .is_some_and(|schemes| schemes.iter().any(|s| s.get("widgetToken").is_some()));
        if !widget {
            continue;
        }
        let method = operation.method.to_string();
        match paths
            .iter_mut()
            .find(|(path, _, _)| *path == operation.path)
        {
            Some((_, _, methods)) => methods.push(method),
            None => paths.push((
                operation.path.clone(),
                operation.example_path(),
                vec![method],
            )),
        }
    }
    paths
}

async fn every_path_of_visitor_operations_answers_a_preflight(ctx: &TestContext) {
    let paths = visitor_paths();
    assert!(paths.len() >= 4, "{paths:?}");
    for (path, example, methods) in &paths {
        let url = ctx.url(example);
        let response = ctx
            .http
            .request(Method::OPTIONS, &url)
            .header("origin", SHOP)
            .header("access-control-request-method", &methods[0])
            .header(
                "access-control-request-headers",
                "content-type, x-widget-token",
            )
            .send()
            .await
            .expect("a preflight");
        let headers = response.headers();
        assert_eq!(response.status().as_u16(), 204, "{path}");
        assert_eq!(allowed_origin(headers), Some(SHOP), "{path}");
        let allowed = headers["access-control-allow-methods"].to_str().unwrap();
        assert!(
            methods.iter().all(|m| allowed.contains(m.as_str())),
            "{path}: {allowed}"
        );
        let allowed = headers["access-control-allow-headers"].to_str().unwrap();
        assert!(
            allowed.contains("x-widget-token") && allowed.contains("content-type"),
            "{path}"
        );
        assert_eq!(headers["access-control-max-age"], "600");
        // OPTIONS that is no preflight is a method the path does not have.
        let plain = ctx
            .http
            .request(Method::OPTIONS, &url)
            .send()
            .await
            .expect("OPTIONS");
        assert_eq!(plain.status().as_u16(), 405, "{path}");
    }
    // A path without visitor operations has no preflight to answer.
    let response = ctx
        .http
        .request(Method::OPTIONS, ctx.url("/v1/bots"))
        .header("origin", SHOP)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("OPTIONS /v1/bots");
    assert_eq!(
        (
            response.status().as_u16(),
            allowed_origin(response.headers())
        ),
        (405, None)
    );
}
