//! Sweeps every operation that needs a credential: without one, or with an invalid one, 401.
//!
//! Every operation that needs a credential (built or not: an operation not built yet checks
//! credentials before it answers 501) answers 401 `unauthorized` (the envelope, with the
//! rate-limit headers) when the request carries none, or one that is not valid.
//!
//! A sweep over the contract in plain HTTP: the operations are read from `openapi.yaml`, so
//! the sweep grows with it.

use botwire_conformance::{TestContext, on_both_databases, spec};
use serde_json::Value;

/// The operations whose `security` is not empty.
fn guarded_operations() -> Vec<spec::Operation> {
    spec::operations()
        .into_iter()
        .filter(|op| {
            let security = op.value["security"].as_array().expect("security");
            !security.is_empty()
        })
        .collect()
}

/// The example path and body, with `credential` as a header if given.
async fn send(
    ctx: &TestContext,
    op: &spec::Operation,
    credential: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut request = ctx
        .http
        .request(op.method.clone(), ctx.url(&op.example_path()));
    if op.json_body_schema().is_some() {
        let example = op
            .value
            .pointer("/requestBody/content/application~1json/example")
            .unwrap_or_else(|| panic!("{} documents no example body", op.id));
        request = request.json(example);
    }
    if let Some((name, value)) = credential {
        request = request.header(name, value);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", op.id))
}

/// What is wrong with a response that should be the 401 envelope with rate-limit headers.
async fn check_401(response: reqwest::Response) -> Option<String> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let mut wrong = Vec::new();
    if status != 401 {
        wrong.push(format!("status {status}"));
    }
    let error = &body["error"];
    if error["code"] != "unauthorized" || error["status"] != 401 {
        wrong.push(format!("body {body}"));
    }
    if error["message"].as_str().is_none_or(str::is_empty) {
        wrong.push("no message".into());
    }
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
    if request_id.is_none() || error["request_id"].as_str() != request_id {
        wrong.push(format!(
            "request id {request_id:?} vs {}",
            error["request_id"]
        ));
    }
    if body.as_object().is_none_or(|o| o.len() != 1) {
        wrong.push(format!("not just the envelope: {body}"));
    }
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        let number = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if number.is_none() {
            wrong.push(format!("no numeric {name}"));
        }
    }
    (!wrong.is_empty()).then(|| wrong.join("; "))
}

async fn guarded_operations_refuse_missing_and_invalid_credentials(ctx: &TestContext) {
    let operations = guarded_operations();
    assert!(
        operations.iter().any(|op| op.id == "bot_get")
            && operations.iter().any(|op| op.id == "account_get"),
        "the sweep covers the guarded operations"
    );
    let credentials: [Option<(&str, &str)>; 4] = [
        None,
        Some(("authorization", "Bearer garbage")),
        Some(("authorization", "Bearer bw_garbage_key")),
        Some(("x-api-key", "bw_garbage_key")),
    ];
    let mut wrong = Vec::new();
    for op in &operations {
        for credential in credentials {
            if let Some(why) = check_401(send(ctx, op, credential).await).await {
                wrong.push(format!("{} with {credential:?}: {why}", op.id));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "operations that did not refuse as they should:\n{}",
        wrong.join("\n")
    );
}

on_both_databases!(guarded_operations_refuse_missing_and_invalid_credentials);
