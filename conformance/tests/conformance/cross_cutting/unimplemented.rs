//! Sweeps every operation: those in `unimplemented-operations.txt` answer 501, no other does.
//!
//! The pinned list of operations that are not built yet, kept exact by behaviour: every
//! listed operation answers 501 `not_implemented` (after checking credentials, rate limit and
//! inputs, so that it carries the rate-limit headers like every answer), and no other does.
//!
//! These sweeps use plain HTTP over every operation of the contract: a typed client call per
//! operation would only restate the contract, while the sweep follows it as it grows.

use botwire_conformance::{TestContext, on_both_databases, spec};
use serde_json::Value;

/// The sweeps' owner's bot and a conversation on it: an operation on a bot is decided on a bot
/// the caller can see (another id is a 404 before the operation runs).
async fn owners_bot(ctx: &TestContext) -> Vec<(&'static str, String)> {
    let bot: Value = ctx
        .authed(reqwest::Method::POST, "/v1/bots")
        .await
        .json(&serde_json::json!({"name": "Sweep"}))
        .send()
        .await
        .expect("bot_create")
        .json()
        .await
        .expect("a bot");
    let bot_id = bot["id"].as_str().expect("an id").to_string();
    let reply: Value = ctx
        .authed(reqwest::Method::POST, "/v1/chat")
        .await
        .json(&serde_json::json!({"bot_id": bot_id, "session_id": "sweep", "message": "Hello"}))
        .send()
        .await
        .expect("chat_send")
        .json()
        .await
        .expect("a reply");
    let conversation_id = reply["conversation_id"].as_str().expect("a conversation");
    vec![
        ("bot_id", bot_id.clone()),
        ("conversation_id", conversation_id.to_string()),
    ]
}

/// A request the contract accepts, as the sweeps' owner: the example path (on the owner's bot
/// and conversation, `known`), and the documented example body.
async fn send_valid_request(
    ctx: &TestContext,
    op: &spec::Operation,
    known: &[(&str, String)],
) -> reqwest::Response {
    let mut request = ctx.authed(op.method.clone(), &op.path_with(known)).await;
    if op.json_body_schema().is_some() {
        let example = op
            .value
            .pointer("/requestBody/content/application~1json/example")
            .unwrap_or_else(|| panic!("{} documents no example body", op.id));
        request = request.json(example);
    } else if op.is_multipart() {
        let form = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"faq.txt\"\r\n\
                    Content-Type: text/plain\r\n\r\nOpening hours: 9 to 5.\r\n--b--\r\n";
        request = request
            .header("content-type", "multipart/form-data; boundary=b")
            .body(form);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", op.id))
}

#[test]
fn the_list_is_sorted_unique_and_names_real_operations() {
    let listed: Vec<&str> = spec::UNIMPLEMENTED_LIST
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        listed, sorted,
        "keep unimplemented-operations.txt sorted and free of duplicates"
    );
    let known: Vec<String> = spec::operations().into_iter().map(|op| op.id).collect();
    for id in listed {
        assert!(
            known.iter().any(|k| k == id),
            "{id} is listed but is not an operation"
        );
    }
}

async fn listed_operations_answer_501_and_no_other_does(ctx: &TestContext) {
    let unimplemented = spec::unimplemented();
    let mut wrong = Vec::new();
    let known = owners_bot(ctx).await;
    for op in spec::operations() {
        // Only the listed operations run on the owner's bot: an implemented one may delete it.
        let on = if unimplemented.contains(&op.id) {
            &known[..]
        } else {
            &[]
        };
        let response = send_valid_request(ctx, &op, on).await;
        let status = response.status().as_u16();
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        let listed = unimplemented.contains(&op.id);
        // Every answer of a rate-limited operation carries the headers, a 501 too.
        let limited = op.rate_limit_class() != "none";
        if limited && !response.headers().contains_key("x-ratelimit-remaining") {
            wrong.push(format!(
                "{}: answered {status} without rate-limit headers",
                op.id
            ));
        }
        if !listed {
            if status == 501 {
                wrong.push(format!("{}: answers 501 but is not listed", op.id));
            }
            continue;
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let error = &body["error"];
        let as_expected = status == 501
            && error["code"] == "not_implemented"
            && error["status"] == 501
            && error["request_id"] == request_id.as_str()
            && error["message"]
                .as_str()
                .is_some_and(|m| m.contains(&op.id));
        if !as_expected {
            wrong.push(format!("{}: listed, but answered {status} {body}", op.id));
        }
    }
    assert!(
        wrong.is_empty(),
        "the unimplemented list is not exact:\n{}",
        wrong.join("\n")
    );
}

on_both_databases!(listed_operations_answer_501_and_no_other_does);
