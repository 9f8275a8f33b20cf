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

/// Whatever the UUID parser would say about it (`0` and `zz` once answered 422 and 400), a
/// malformed id is 400 naming the path parameter.
async fn a_malformed_id_in_the_path_is_400(ctx: &TestContext) {
    for id in ["not-a-uuid", "0", "zz"] {
        let request = ctx
            .authed(reqwest::Method::GET, &format!("/v1/bots/{id}"))
            .await;
        let response = request.send().await.unwrap();
        let error = envelope(response, 400, "invalid_request").await;
        assert_eq!(error["fields"][0]["field"], "bot_id", "{error}");
    }
}

async fn a_wrong_content_type_is_400(ctx: &TestContext) {
    let response = post_raw(ctx, "/v1/bots", "text/plain", "name=x".to_string()).await;
    envelope(response, 400, "invalid_request").await;
}

/// A path that matches no operation is answered by dropshot's router before any handler
/// runs, with its own body (`request_id`, `message`), as the contract's Conventions say.
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

/// The methods a client may try; the server answers each on every path of the contract.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The operational paths, which answer HEAD as GET.
const HEAD_PATHS: [&str; 5] = ["/health", "/ready", "/metrics", "/openapi.yaml", "/docs"];

/// Every method a path of the contract does not have is 405 `method_not_allowed` in the
/// envelope, with `Allow` naming the path's methods.
async fn a_method_a_path_lacks_is_405_in_the_envelope(ctx: &TestContext) {
    let paths = botwire_conformance::spec::DOCUMENT["paths"]
        .as_object()
        .expect("the contract has paths");
    let mut tested = 0;
    for (template, item) in paths {
        let mut allowed: Vec<String> = item
            .as_object()
            .expect("a path item")
            .keys()
            .map(|method| method.to_uppercase())
            .filter(|method| METHODS.contains(&method.as_str()))
            .collect();
        if HEAD_PATHS.contains(&template.as_str()) {
            allowed.push("HEAD".to_string());
        }
        allowed.sort();
        let path = template
            .replace("{session_id}", "session-1")
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    uuid::Uuid::new_v4().to_string()
                } else {
                    segment.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in METHODS.iter().filter(|m| !allowed.iter().any(|a| a == *m)) {
            tested += 1;
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let response = ctx
                .http
                .request(method.clone(), ctx.url(&path))
                .send()
                .await
                .unwrap();
            let mut allow: Vec<String> = response.headers()["allow"]
                .to_str()
                .unwrap()
                .split(", ")
                .map(str::to_string)
                .collect();
            allow.sort();
            assert_eq!(allow, allowed, "{method} {path}");
            if method == reqwest::Method::HEAD {
                // No body to read: the status and the headers are the answer.
                assert_eq!(response.status().as_u16(), 405, "{method} {path}");
                continue;
            }
            envelope(response, 405, "method_not_allowed").await;
        }
    }
    assert!(tested > 200, "{tested} method and path pairs tried");
}

/// HEAD on an operational endpoint answers as GET (status, content type) without a body.
async fn head_on_the_operational_endpoints_answers_as_get(ctx: &TestContext) {
    for path in HEAD_PATHS {
        let get = ctx.http.get(ctx.url(path)).send().await.unwrap();
        let head = ctx.http.head(ctx.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "{path}"
        );
        assert!(head.headers().contains_key("x-request-id"), "{path}");
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
}

on_both_databases!(
    malformed_json_is_400_invalid_request,
    a_missing_field_is_422_naming_it,
    a_wrong_type_and_an_unknown_field_are_422,
    a_body_over_10_mb_is_413,
    a_malformed_id_in_the_path_is_400,
    a_wrong_content_type_is_400,
    an_unknown_route_is_404_with_a_request_id,
    a_method_a_path_lacks_is_405_in_the_envelope,
    head_on_the_operational_endpoints_answers_as_get,
    errors_decode_as_typed_envelopes_in_the_generated_client,
);
