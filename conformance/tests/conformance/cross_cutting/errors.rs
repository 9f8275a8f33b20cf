//! Sweeps the ways a request can fail: every error is the envelope, extractor failures included.
//!
//! Malformed, oversize and mistyped requests cannot be sent through a typed client, so these
//! use plain HTTP; the last test reads an error through the generated client.

use botwire_conformance::{TestContext, on_both_databases};
use serde_json::{Value, json};

/// Asserts the envelope of an error response and returns its `error` object.
async fn envelope(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.expect("a JSON error body");
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "{body}");
    assert_eq!(error["status"], status, "{body}");
    assert_eq!(error["request_id"], request_id.as_str(), "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["error"], "nothing but the envelope: {body}");
    error
}

/// POSTs `body` as it is, with the given content type, as the owner.
async fn post_raw(
    ctx: &TestContext,
    path: &str,
    content_type: &str,
    body: String,
) -> reqwest::Response {
    let request = ctx.authed(reqwest::Method::POST, path).await;
    let request = request.header("content-type", content_type).body(body);
    request.send().await.expect("the server answers")
}

/// POSTs `body` as JSON, as the owner.
async fn post_json(ctx: &TestContext, path: &str, body: Value) -> reqwest::Response {
    let request = ctx.authed(reqwest::Method::POST, path).await;
    request
        .json(&body)
        .send()
        .await
        .expect("the server answers")
}

async fn malformed_json_is_400_invalid_request(ctx: &TestContext) {
    let response = post_raw(
        ctx,
        "/v1/bots",
        "application/json",
        "{\"name\": ".to_string(),
    )
    .await;
    envelope(response, 400, "invalid_request").await;
}

async fn a_missing_field_is_422_naming_it(ctx: &TestContext) {
    let response = post_json(
        ctx,
        "/v1/auth/login",
        json!({"password": "correct horse battery"}),
    )
    .await;
    let error = envelope(response, 422, "validation_failed").await;
    assert_eq!(error["fields"][0]["field"], "email", "{error}");
}

async fn a_wrong_type_and_an_unknown_field_are_422(ctx: &TestContext) {
    let wrong_type = post_json(
        ctx,
        "/v1/auth/login",
        json!({"email": 42, "password": "correct horse battery"}),
    )
    .await;
    envelope(wrong_type, 422, "validation_failed").await;
    let unknown = post_json(
        ctx,
        "/v1/auth/login",
        json!({"email": "a@example.com", "password": "correct horse battery", "admin": true}),
    )
    .await;
    let error = envelope(unknown, 422, "validation_failed").await;
    assert_eq!(error["fields"][0]["field"], "admin", "{error}");
}

async fn a_body_over_10_mb_is_413(ctx: &TestContext) {
    let body = format!("{{\"name\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
    let response = post_raw(ctx, "/v1/bots", "application/json", body).await;
    envelope(response, 413, "payload_too_large").await;
}

async fn a_malformed_id_in_the_path_is_400(ctx: &TestContext) {
    let request = ctx
        .authed(reqwest::Method::GET, "/v1/bots/not-a-uuid")
        .await;
    let response = request.send().await.unwrap();
    envelope(response, 400, "invalid_request").await;
}

async fn a_wrong_content_type_is_400(ctx: &TestContext) {
    let response = post_raw(ctx, "/v1/bots", "text/plain", "name=x".to_string()).await;
    envelope(response, 400, "invalid_request").await;
}

/// A path or method that matches no operation is answered by dropshot's router before any
/// handler runs, with its own body (`request_id`, `message`); see ARCHITECTURE.md.
async fn an_unknown_route_is_404_with_a_request_id(ctx: &TestContext) {
    let response = ctx
        .http
        .get(ctx.url("/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["request_id"], request_id.as_str());
}

async fn errors_decode_as_typed_envelopes_in_the_generated_client(ctx: &TestContext) {
    let bot_id = uuid::Uuid::new_v4();
    let error = ctx
        .client
        .bot_get()
        .bot_id(bot_id)
        .send()
        .await
        .expect_err("no credentials");
    let botwire_client::Error::ErrorResponse(response) = error else {
        panic!("expected a typed error envelope, got {error:?}");
    };
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        response.error.code,
        botwire_client::types::ErrorCode::Unauthorized
    );
    assert_eq!(
        response.error.request_id,
        response.headers()["x-request-id"].to_str().unwrap()
    );
}

on_both_databases!(
    malformed_json_is_400_invalid_request,
    a_missing_field_is_422_naming_it,
    a_wrong_type_and_an_unknown_field_are_422,
    a_body_over_10_mb_is_413,
    a_malformed_id_in_the_path_is_400,
    a_wrong_content_type_is_400,
    an_unknown_route_is_404_with_a_request_id,
    errors_decode_as_typed_envelopes_in_the_generated_client,
);
