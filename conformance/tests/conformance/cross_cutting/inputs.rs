//! Sweeps every operation's JSON body and its path, query and header parameters with inputs
//! from the contract.
//!
//! Inputs against the contract, property-based: for every operation with a JSON body or
//! constrained parameters, values generated from the contract's own schemas
//! (`botwire_conformance::strategies`) are sent over plain HTTP (a typed client cannot send an
//! invalid body), and the answers are checked against what the contract promises:
//!
//! - a valid input is never answered 400 or 422, nor with a server error (other than 501
//!   `not_implemented` while the operation is not built), and only with a status the
//!   operation documents;
//! - an input with exactly one violation is answered 400 `invalid_request` or 422
//!   `validation_failed`, never 5xx; a path parameter or a header so broken is 400
//!   `invalid_request` naming it (`bot_id`, `Idempotency-Key`), a query parameter 422
//!   `validation_failed` naming it, whatever the parser's message says;
//! - every error answer is the `Error` envelope, its `status` the HTTP status and its
//!   `request_id` the `x-request-id` header.
//!
//! Generation is deterministic (a ChaCha RNG seeded from the test and the operation), so a
//! failure is reproducible; each failure prints the operation, the input, what was broken
//! and the answer. Values are generated with proptest's `TestRunner` (synchronous) and the
//! requests are then awaited; there is no shrinking, the generated values are small already.
//!
//! Requests carry the sweeps' owner's session token (`TestContext::authed`), so that an
//! operation that requires a credential reaches its input checks instead of answering 401;
//! the harness's rate limits leave room for the requests.

use crate::conformance::support::chat::ask;
use crate::conformance::support::{bearer, create_bot, register};
use botwire_conformance::spec::{self, Operation};
use botwire_conformance::strategies::{self, NOT_ENFORCED_BY_PARSING, Violation, ViolationKind};
use botwire_conformance::{Backend, TestContext, on_both_databases};
use proptest::strategy::{BoxedStrategy, Strategy, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::{self, Debug};

/// Generated inputs per operation and test.
const CASES: usize = 8;
/// Generated inputs per operation and kind in the sweep of the not-enforced kinds.
const CASES_PER_KIND: usize = 3;

/// A runner whose values depend only on the test, the operation and the contract.
fn runner(test: &str, operation: &str) -> TestRunner {
    // FNV-1a over the names, spread over the 32 bytes of a ChaCha seed.
    let mut seed = [0u8; 32];
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, chunk) in seed.chunks_mut(8).enumerate() {
        let salt = u8::try_from(i).expect("four chunks");
        for byte in test
            .bytes()
            .chain([0])
            .chain(operation.bytes())
            .chain([salt])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        chunk.copy_from_slice(&hash.to_le_bytes());
    }
    let config = Config {
        cases: u32::try_from(CASES).expect("a few cases"),
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

fn sample<T: Debug>(runner: &mut TestRunner, strategy: &BoxedStrategy<T>, n: usize) -> Vec<T> {
    (0..n)
        .map(|_| {
            strategy
                .new_tree(runner)
                .unwrap_or_else(|e| panic!("generating a value: {e}"))
                .current()
        })
        .collect()
}

/// The operation's query parameters, `$ref`s resolved.
fn query_parameters(op: &Operation) -> Vec<&Value> {
    op.parameters().filter(|p| p["in"] == "query").collect()
}

/// What one request sent.
struct Input {
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Value>,
}

impl Input {
    fn new(op: &Operation) -> Input {
        Input {
            path: op.example_path(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }
}

/// What the server answered.
struct Answer {
    status: u16,
    request_id: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    fn code(&self) -> Option<String> {
        self.json()?
            .pointer("/error/code")?
            .as_str()
            .map(str::to_string)
    }

    /// How the answer breaks the error envelope's promises (nothing if it keeps them).
    fn envelope_problems(&self) -> Vec<String> {
        let Some(body) = self.json() else {
            return vec!["the error body is not JSON".to_string()];
        };
        let mut problems: Vec<String> = strategies::violations(spec::schema("Error"), &body)
            .into_iter()
            .map(|v| format!("the envelope breaks the Error schema at {v}"))
            .collect();
        if body.pointer("/error/status") != Some(&Value::from(self.status)) {
            problems.push("error.status is not the HTTP status".to_string());
        }
        match &self.request_id {
            None => problems.push("no x-request-id header".to_string()),
            Some(id) if body.pointer("/error/request_id") != Some(&Value::from(id.as_str())) => {
                problems.push("error.request_id is not the x-request-id header".to_string());
            }
            Some(_) => {}
        }
        let names_fields = body
            .pointer("/error/fields")
            .and_then(Value::as_array)
            .is_some_and(|fields| !fields.is_empty());
        if self.status == 422 && !names_fields {
            problems.push("a 422 names no offending fields".to_string());
        }
        problems
    }
}

async fn send(ctx: &TestContext, op: &Operation, input: &Input) -> Answer {
    let mut request = ctx.authed(op.method.clone(), &input.path).await;
    if !input.query.is_empty() {
        request = request.query(&input.query);
    }
    for (name, value) in &input.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &input.body {
        request = request.json(body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} {} {}: {e}", op.id, op.method, input.path));
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // A live stream that opened stays open: its status is the answer.
    let streaming = response
        .headers()
        .get("content-type")
        .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    let body = if streaming && status == 200 {
        String::new()
    } else {
        response.text().await.unwrap_or_default()
    };
    Answer {
        status,
        request_id,
        body,
    }
}

/// Whether the operation documents `status` (exactly, as `4XX`/`5XX`, or as `default`).
fn documents(op: &Operation, status: u16) -> bool {
    op.value["responses"].as_object().is_some_and(|responses| {
        responses.keys().any(|key| {
            key == &status.to_string() || key == &format!("{}XX", status / 100) || key == "default"
        })
    })
}

/// The problems with the answer to a valid input.
/// Operations whose contract answers a well-formed input with 422 on one field for a reason
/// no schema can know: a code that is not the one mailed, an LLM engine without its URL or
/// with one the egress policy refuses (a host that does not resolve, a private address), a
/// chat message that names no bot or session where the credential does not imply them, or
/// one longer than the bot's own limit. Such a 422 is the operation's business rule, not a
/// rejected valid input.
const SEMANTIC_REJECTIONS: &[(&str, &str)] = &[
    ("account_email_verify", "code"),
    ("account_password_reset", "code"),
    ("account_totp_verify", "code"),
    ("bot_create", "settings.engine"),
    ("bot_create", "settings.engine.llm_base_url"),
    ("bot_update", "settings.engine"),
    ("bot_update", "settings.engine.llm_base_url"),
    ("chat_send", "bot_id"),
    ("chat_send", "session_id"),
    ("chat_send", "message"),
    ("chat_stream", "bot_id"),
    ("chat_stream", "session_id"),
    ("chat_stream", "message"),
];

fn is_semantic_rejection(op: &Operation, answer: &Answer) -> bool {
    let fields = answer
        .json()
        .and_then(|body| body.pointer("/error/fields").cloned());
    let named: Vec<String> = fields
        .and_then(|f| f.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f["field"].as_str().map(str::to_string))
        .collect();
    answer.status == 422
        && answer.code().as_deref() == Some("validation_failed")
        && !named.is_empty()
        && named
            .iter()
            .all(|field| SEMANTIC_REJECTIONS.contains(&(op.id.as_str(), field.as_str())))
}

fn accepted_problems(op: &Operation, answer: &Answer) -> Vec<String> {
    let status = answer.status;
    let mut problems = Vec::new();
    if (status == 400 || status == 422) && !is_semantic_rejection(op, answer) {
        problems.push(format!("a valid input was rejected with {status}"));
    }
    let not_implemented = status == 501 && answer.code().as_deref() == Some("not_implemented");
    if status >= 500 && !not_implemented {
        problems.push(format!("a server error ({status})"));
    }
    if !documents(op, status) && status != 501 {
        problems.push(format!("{status} is not a status the operation documents"));
    }
    if status >= 400 {
        problems.extend(answer.envelope_problems());
    }
    problems
}

/// The problems with the answer to an input with one contract violation.
fn rejected_problems(op: &Operation, answer: &Answer) -> Vec<String> {
    let status = answer.status;
    let mut problems = Vec::new();
    match (status, answer.code().as_deref()) {
        (400, Some("invalid_request")) | (422, Some("validation_failed")) => {}
        (status, code) => problems.push(format!(
            "expected 400 invalid_request or 422 validation_failed, got {status} {code:?}"
        )),
    }
    if !documents(op, status) {
        problems.push(format!("{status} is not a status the operation documents"));
    }
    if status >= 400 {
        problems.extend(answer.envelope_problems());
    }
    problems
}

fn shorten(text: &str) -> String {
    const LIMIT: usize = 600;
    let count = text.chars().count();
    if count <= LIMIT {
        text.to_string()
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head}... ({count} characters)")
    }
}

/// One failed expectation, printed in full.
struct Failure<'a> {
    op: &'a Operation,
    input: &'a Input,
    broken: Option<String>,
    answer: &'a Answer,
    problems: Vec<String>,
}

impl fmt::Display for Failure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {} {}", self.op.id, self.op.method, self.input.path)?;
        if !self.input.query.is_empty() {
            writeln!(f, "  query:    {:?}", self.input.query)?;
        }
        if !self.input.headers.is_empty() {
            writeln!(f, "  headers:  {:?}", self.input.headers)?;
        }
        if let Some(body) = &self.input.body {
            writeln!(f, "  body:     {}", shorten(&body.to_string()))?;
        }
        if let Some(broken) = &self.broken {
            writeln!(f, "  broken:   {}", shorten(broken))?;
        }
        writeln!(
            f,
            "  answered: {} {}",
            self.answer.status,
            shorten(&self.answer.body)
        )?;
        write!(f, "  problems: {}", self.problems.join("; "))
    }
}

fn assert_no_failures(what: &str, backend: Backend, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} of the {what} broke the contract ({backend:?}):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------------
// JSON bodies
// ---------------------------------------------------------------------------------------------

fn operations_with_json_bodies() -> Vec<(Operation, String)> {
    let operations: Vec<(Operation, String)> = spec::operations()
        .into_iter()
        .filter_map(|op| {
            let schema = op.json_body_schema()?.to_string();
            Some((op, schema))
        })
        .collect();
    assert!(!operations.is_empty(), "the contract has JSON bodies");
    operations
}

/// Sends a valid body; the failure, if the answer is refused for it ([`accepted_problems`])
/// or has a problem `also` finds.
async fn refused_valid_body(
    ctx: &TestContext,
    op: &Operation,
    body: Value,
    also: impl Fn(&Answer) -> Vec<String>,
) -> Option<String> {
    let input = Input {
        body: Some(body),
        ..Input::new(op)
    };
    let answer = send(ctx, op, &input).await;
    let mut problems = accepted_problems(op, &answer);
    problems.extend(also(&answer));
    let failure = Failure {
        op,
        input: &input,
        broken: None,
        answer: &answer,
        problems,
    };
    (!failure.problems.is_empty()).then(|| failure.to_string())
}

async fn valid_bodies_are_not_rejected(ctx: &TestContext) {
    let mut failures = Vec::new();
    for (op, schema) in operations_with_json_bodies() {
        let mut runner = runner("valid body", &op.id);
        for body in sample(&mut runner, &strategies::valid(&schema), CASES) {
            failures.extend(refused_valid_body(ctx, &op, body, |_| Vec::new()).await);
        }
    }
    assert_no_failures("valid bodies", ctx.backend, &failures);
}

async fn invalid_bodies_are_rejected(ctx: &TestContext) {
    let mut failures = Vec::new();
    for (op, schema) in operations_with_json_bodies() {
        let mut runner = runner("invalid body", &op.id);
        for (body, broken) in sample(&mut runner, &strategies::invalid(&schema), CASES) {
            let input = Input {
                body: Some(body),
                ..Input::new(&op)
            };
            let answer = send(ctx, &op, &input).await;
            let problems = rejected_problems(&op, &answer);
            if !problems.is_empty() {
                let failure = Failure {
                    op: &op,
                    input: &input,
                    broken: Some(broken.to_string()),
                    answer: &answer,
                    problems,
                };
                failures.push(failure.to_string());
            }
        }
    }
    assert_no_failures("invalid bodies", ctx.backend, &failures);
}

// ---------------------------------------------------------------------------------------------
// Query parameters
// ---------------------------------------------------------------------------------------------

/// A valid body for the operation, if it takes one, so that only the query is at stake.
fn valid_body(op: &Operation, runner: &mut TestRunner) -> Option<Value> {
    let schema = op.json_body_schema()?;
    sample(runner, &strategies::valid(schema), 1).pop()
}

async fn valid_query_values_are_not_rejected(ctx: &TestContext) {
    let mut failures = Vec::new();
    let mut tested = 0;
    for op in spec::operations() {
        // A cursor is opaque: only a `next_cursor` the server handed out is meaningful.
        let parameters: Vec<BoxedStrategy<(String, String)>> = query_parameters(&op)
            .into_iter()
            .filter(|p| p["name"] != "cursor")
            .map(|p| {
                let name = p["name"].as_str().expect("a name").to_string();
                strategies::valid_parameter_value(p)
                    .prop_map(move |value| (name.clone(), value))
                    .boxed()
            })
            .collect();
        if parameters.is_empty() {
            continue;
        }
        tested += 1;
        let strategy = Union::new(parameters).boxed();
        let mut runner = runner("valid query", &op.id);
        for (name, value) in sample(&mut runner, &strategy, CASES) {
            let input = Input {
                query: vec![(name, value)],
                body: valid_body(&op, &mut runner),
                ..Input::new(&op)
            };
            let answer = send(ctx, &op, &input).await;
            let problems = accepted_problems(&op, &answer);
            if !problems.is_empty() {
                let failure = Failure {
                    op: &op,
                    input: &input,
                    broken: None,
                    answer: &answer,
                    problems,
                };
                failures.push(failure.to_string());
            }
        }
    }
    assert!(tested > 0, "the contract has query parameters");
    assert_no_failures("valid query values", ctx.backend, &failures);
}

async fn invalid_query_values_are_rejected(ctx: &TestContext) {
    let mut failures = Vec::new();
    let mut tested = 0;
    for op in spec::operations() {
        let parameters: Vec<BoxedStrategy<(String, String, Violation)>> = query_parameters(&op)
            .into_iter()
            .filter_map(|p| {
                let name = p["name"].as_str().expect("a name").to_string();
                let strategy = strategies::invalid_parameter_value(p, strategies::is_enforced)?;
                Some(
                    strategy
                        .prop_map(move |(value, broken)| (name.clone(), value, broken))
                        .boxed(),
                )
            })
            .collect();
        if parameters.is_empty() {
            continue;
        }
        tested += 1;
        let strategy = Union::new(parameters).boxed();
        let mut runner = runner("invalid query", &op.id);
        for (name, value, broken) in sample(&mut runner, &strategy, CASES) {
            let input = Input {
                query: vec![(name, value)],
                body: valid_body(&op, &mut runner),
                ..Input::new(&op)
            };
            let answer = send(ctx, &op, &input).await;
            let problems = rejected_problems(&op, &answer);
            if !problems.is_empty() {
                let failure = Failure {
                    op: &op,
                    input: &input,
                    broken: Some(broken.to_string()),
                    answer: &answer,
                    problems,
                };
                failures.push(failure.to_string());
            }
        }
    }
    assert!(tested > 0, "the contract has constrained query parameters");
    assert_no_failures("invalid query values", ctx.backend, &failures);
}

// ---------------------------------------------------------------------------------------------
// The list of violations the server does not catch yet
// ---------------------------------------------------------------------------------------------

/// Keeps `NOT_ENFORCED_BY_PARSING` exact: each listed kind is still accepted somewhere (else
/// it must leave the list, and `invalid_*` above start covering it), and none makes the
/// server fail. The list is empty today (the server checks every input against the
/// contract's schema), so this sweep has nothing to try until a kind is listed again.
async fn not_enforced_list_is_exact(ctx: &TestContext) {
    #[derive(Default)]
    struct Tally {
        accepted: Vec<String>,
        rejected: Vec<String>,
    }
    let mut tallies: BTreeMap<ViolationKind, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for &kind in NOT_ENFORCED_BY_PARSING {
        let only = move |k: ViolationKind| k == kind;
        let tally = tallies.entry(kind).or_default();
        for op in spec::operations() {
            let mut runner = runner(&format!("not enforced {kind:?}"), &op.id);
            let mut inputs: Vec<(Input, Violation)> = Vec::new();
            if let Some(schema) = op.json_body_schema()
                && let Some(strategy) = strategies::invalid_for(spec::schema(schema), only)
            {
                for (body, broken) in sample(&mut runner, &strategy, CASES_PER_KIND) {
                    let input = Input {
                        body: Some(body),
                        ..Input::new(&op)
                    };
                    inputs.push((input, broken));
                }
            }
            for parameter in query_parameters(&op) {
                let Some(strategy) = strategies::invalid_parameter_value(parameter, only) else {
                    continue;
                };
                let name = parameter["name"].as_str().expect("a name").to_string();
                for (value, broken) in sample(&mut runner, &strategy, CASES_PER_KIND) {
                    let input = Input {
                        query: vec![(name.clone(), value)],
                        body: valid_body(&op, &mut runner),
                        ..Input::new(&op)
                    };
                    inputs.push((input, broken));
                }
            }
            for (input, broken) in &inputs {
                let answer = send(ctx, &op, input).await;
                let field = if broken.path.is_empty() {
                    "the whole body"
                } else {
                    &broken.path
                };
                let where_ = format!("{} ({field})", op.id);
                if matches!(answer.status, 400 | 422) {
                    tally.rejected.push(where_);
                } else {
                    tally.accepted.push(where_);
                }
                // Accepted or rejected, the answer must keep the contract's other promises.
                let problems = if matches!(answer.status, 400 | 422) {
                    rejected_problems(&op, &answer)
                } else {
                    let mut problems = accepted_problems(&op, &answer);
                    problems.retain(|p| !p.starts_with("a valid input"));
                    problems
                };
                if !problems.is_empty() {
                    let failure = Failure {
                        op: &op,
                        input,
                        broken: Some(broken.to_string()),
                        answer: &answer,
                        problems,
                    };
                    failures.push(failure.to_string());
                }
            }
        }
    }
    for (kind, tally) in &tallies {
        let dedup = |places: &[String]| {
            let mut places = places.to_vec();
            places.dedup();
            places.join(", ")
        };
        eprintln!(
            "{kind:?}: accepted by [{}]; rejected by [{}]",
            dedup(&tally.accepted),
            dedup(&tally.rejected)
        );
        if tally.accepted.is_empty() && tally.rejected.is_empty() {
            failures.push(format!(
                "{kind:?} has no room in any operation's inputs: remove it from \
                 NOT_ENFORCED_BY_PARSING"
            ));
        } else if tally.accepted.is_empty() {
            failures.push(format!(
                "{kind:?} is now rejected everywhere it was tried ({}): remove it from \
                 NOT_ENFORCED_BY_PARSING so that the invalid-input tests cover it",
                dedup(&tally.rejected)
            ));
        }
    }
    assert_no_failures("not-enforced sweep", ctx.backend, &failures);
}

// ---------------------------------------------------------------------------------------------
// Every 422 names the offending field
// ---------------------------------------------------------------------------------------------

/// The names `fields` gives (`[]` if none).
fn named_fields(answer: &Answer) -> Vec<String> {
    answer
        .json()
        .and_then(|body| body.pointer("/error/fields").cloned())
        .and_then(|fields| fields.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|field| field["field"].as_str().map(str::to_string))
        .collect()
}

/// Whether `fields` names the broken field (`body` for the body as a whole); `a[1].b` and
/// `a.1.b` are taken as the same path.
fn names_the_field(answer: &Answer, broken: &Violation) -> bool {
    let dotted = |path: &str| path.replace('[', ".").replace(']', "");
    let expected = if broken.path.is_empty() {
        "body"
    } else {
        &broken.path
    };
    named_fields(answer)
        .iter()
        .any(|named| dotted(named) == dotted(expected))
}

/// Stricter than `invalid_*` above, as the contract reads: a body that parses as JSON but
/// breaks the schema is 422 `validation_failed` (400 is for "unparseable JSON, bad query
/// string or path"), and every 422, for a body or a query, names the offending field in
/// `fields[].field` ("dotted path of the field ... `body` for the body as a whole"; for a
/// query, the parameter).
///
/// Bodies are checked against the contract's schema (`botwire_api::contract`) before the
/// typed parse, so a wrong JSON type for an enum-typed field (`{"status": 7}`) is a 422 at
/// its path, not serde_json's "expected value" syntax error; query violations name the
/// parameter.
async fn validation_failures_are_422_naming_the_offending_field(ctx: &TestContext) {
    let mut failures = Vec::new();
    for op in spec::operations() {
        let mut runner = runner("field naming", &op.id);
        let mut inputs: Vec<(Input, Violation)> = Vec::new();
        if let Some(schema) = op.json_body_schema() {
            let strategy = strategies::invalid_for(spec::schema(schema), strategies::is_enforced)
                .unwrap_or_else(|| panic!("{schema} has no room for an enforced violation"));
            for (body, broken) in sample(&mut runner, &strategy, CASES) {
                let input = Input {
                    body: Some(body),
                    ..Input::new(&op)
                };
                inputs.push((input, broken));
            }
        }
        for parameter in query_parameters(&op) {
            let Some(strategy) =
                strategies::invalid_parameter_value(parameter, strategies::is_enforced)
            else {
                continue;
            };
            let name = parameter["name"].as_str().expect("a name").to_string();
            for (value, broken) in sample(&mut runner, &strategy, 2) {
                let input = Input {
                    query: vec![(name.clone(), value)],
                    body: valid_body(&op, &mut runner),
                    ..Input::new(&op)
                };
                inputs.push((input, broken));
            }
        }
        for (input, broken) in &inputs {
            let answer = send(ctx, &op, input).await;
            let mut problems = Vec::new();
            if input.query.is_empty() && answer.status != 422 {
                problems.push(format!("expected 422, got {}", answer.status));
            }
            if answer.status == 422 && !names_the_field(&answer, broken) {
                problems.push(format!(
                    "fields name {:?}, not `{}`",
                    named_fields(&answer),
                    broken.path
                ));
            }
            if !problems.is_empty() {
                let failure = Failure {
                    op: &op,
                    input,
                    broken: Some(broken.to_string()),
                    answer: &answer,
                    problems,
                };
                failures.push(failure.to_string());
            }
        }
    }
    assert_no_failures(
        "invalid inputs (422 naming the field)",
        ctx.backend,
        &failures,
    );
}

// ---------------------------------------------------------------------------------------------
// Integers written as floats
// ---------------------------------------------------------------------------------------------

/// Words of Rust's types that serde puts in its messages; no error message may hold one.
const RUST_TYPE_WORDS: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "NonZero",
    "nonzero",
    "floating point",
    "struct ",
    "untagged enum",
    "variant identifier",
];

/// The Rust type words in an error body's message and field messages.
fn rust_type_words(body: &Value) -> Vec<&'static str> {
    let mut texts: Vec<String> = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .into_iter()
        .collect();
    if let Some(fields) = body.pointer("/error/fields").and_then(Value::as_array) {
        texts.extend(
            fields
                .iter()
                .filter_map(|f| f["message"].as_str().map(str::to_string)),
        );
    }
    RUST_TYPE_WORDS
        .iter()
        .copied()
        .filter(|word| {
            texts.iter().any(|text| {
                // A whole word: `u64`, not the `u64` inside an echoed identifier.
                text.match_indices(word).any(|(at, _)| {
                    let before = text[..at].chars().next_back();
                    let after = text[at + word.len()..].chars().next();
                    let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
                    edge(before) && (word.ends_with(' ') || edge(after))
                })
            })
        })
        .collect()
}

/// `value` with every integer (within f64's exact range) written as a float (`5` -> `5.0`);
/// returns how many it rewrote.
fn integers_as_floats(value: &mut Value) -> usize {
    match value {
        Value::Number(n) if !n.is_f64() => {
            let exact = n.as_i64().is_some_and(|i| i.unsigned_abs() <= 1 << 53);
            match n.as_f64().and_then(serde_json::Number::from_f64) {
                Some(float) if exact => {
                    *value = Value::Number(float);
                    1
                }
                _ => 0,
            }
        }
        Value::Array(items) => items.iter_mut().map(integers_as_floats).sum(),
        Value::Object(object) => object.values_mut().map(integers_as_floats).sum(),
        _ => 0,
    }
}

/// JSON Schema's `integer` is any number with no fractional part, so a valid body with its
/// integers written as floats (`"csat": 5.0`) is as valid: never refused for its type (as
/// serde's typed parse did, "expected a nonzero u64"), and never answered with a Rust type's
/// name.
async fn valid_bodies_with_integers_as_floats_are_not_rejected(ctx: &TestContext) {
    let mut failures = Vec::new();
    let mut exercised = Vec::new();
    for (op, schema) in operations_with_json_bodies() {
        let mut runner = runner("integers as floats", &op.id);
        for mut body in sample(&mut runner, &strategies::valid(&schema), CASES) {
            if integers_as_floats(&mut body) == 0 {
                continue;
            }
            exercised.push(op.id.clone());
            let rust_types = |answer: &Answer| {
                let words = answer
                    .json()
                    .map(|body| rust_type_words(&body))
                    .unwrap_or_default();
                (!words.is_empty())
                    .then(|| format!("the error names Rust types: {words:?}"))
                    .into_iter()
                    .collect()
            };
            failures.extend(refused_valid_body(ctx, &op, body, rust_types).await);
        }
    }
    for id in [
        "feedback_create",
        "bot_create",
        "bot_update",
        "api_key_create",
    ] {
        assert!(
            exercised.iter().any(|e| e == id),
            "no valid body of {id} had an integer to write as a float"
        );
    }
    assert_no_failures("bodies with integers as floats", ctx.backend, &failures);
}

/// An owner's plain HTTP request with a JSON body; the answer's status and JSON.
async fn request(
    ctx: &TestContext,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = ctx
        .http
        .request(method.clone(), ctx.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = response.status().as_u16();
    let json = response.json().await.unwrap_or(Value::Null);
    (status, json)
}

/// The one field a 422 `validation_failed` names, and its message, which names no Rust type.
#[track_caller]
fn refused_field(answer: &(u16, Value)) -> (String, String) {
    let (status, body) = answer;
    assert_eq!(*status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    let fields = body["error"]["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 1, "{body}");
    let message = fields[0]["message"]
        .as_str()
        .expect("a message")
        .to_string();
    let words = rust_type_words(body);
    assert!(words.is_empty(), "{body} names {words:?}");
    (
        fields[0]["field"].as_str().expect("a field").to_string(),
        message,
    )
}

/// `feedback_create` takes `"csat": 5.0` as the score 5, and a bot update takes
/// `message_max_length: 1000.0` as 1000; `5.5` is 422 naming the field, in the contract's
/// terms, as is a string where an integer is wanted.
async fn feedback_create_and_bot_update_take_integers_written_as_floats(ctx: &TestContext) {
    use reqwest::Method;
    let session = register(ctx, "floats@example.test", "Floats").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Floats").await;
    let reply = ask(&owner, bot.id, "floats-1", "Hello there").await;
    let feedback = format!("/v1/conversations/{}/feedback", reply.conversation_id);
    let token = session.token.as_str();

    let (status, stored) = request(
        ctx,
        token,
        Method::POST,
        &feedback,
        serde_json::json!({"csat": 5.0}),
    )
    .await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["csat"], Value::from(5u64), "{stored}");
    assert!(stored["csat"].is_u64(), "{stored}");

    let bot_path = format!("/v1/bots/{}", bot.id);
    let settings = |n: Value| serde_json::json!({"settings": {"message_max_length": n}});
    let (status, updated) = request(
        ctx,
        token,
        Method::PATCH,
        &bot_path,
        settings(serde_json::json!(1000.0)),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["settings"]["message_max_length"],
        Value::from(1000u64)
    );
    let got = owner
        .bot_get()
        .bot_id(bot.id)
        .send()
        .await
        .expect("bot_get");
    assert_eq!(got.settings.message_max_length.get(), 1000);

    for (path, method, body, field) in [
        (
            &feedback,
            Method::POST,
            serde_json::json!({"csat": 5.5}),
            "csat",
        ),
        (
            &bot_path,
            Method::PATCH,
            settings(serde_json::json!(1000.5)),
            "settings.message_max_length",
        ),
    ] {
        let answer = request(ctx, token, method, path, body).await;
        let (named, message) = refused_field(&answer);
        assert_eq!(named, field);
        assert!(message.starts_with("expected an integer"), "{message}");
    }
    let answer = request(
        ctx,
        token,
        Method::POST,
        &feedback,
        serde_json::json!({"csat": "5"}),
    )
    .await;
    let (named, message) = refused_field(&answer);
    assert_eq!(named, "csat");
    assert_eq!(message, "expected an integer, got a string");
}

// ---------------------------------------------------------------------------------------------
// Path parameters and headers
// ---------------------------------------------------------------------------------------------

/// Adds the failure of `answer` to `failures` when it has problems.
fn note_failure(
    failures: &mut Vec<String>,
    op: &Operation,
    input: &Input,
    broken: Option<String>,
    answer: &Answer,
    problems: Vec<String>,
) {
    if !problems.is_empty() {
        let failure = Failure {
            op,
            input,
            broken,
            answer,
            problems,
        };
        failures.push(failure.to_string());
    }
}

/// The operation's parameters in `location` (`path`, `header`), `$ref`s resolved.
fn parameters_in<'a>(op: &'a Operation, location: &str) -> Vec<&'a Value> {
    op.parameters().filter(|p| p["in"] == location).collect()
}

/// `text` as one path segment: everything but unreserved characters percent-encoded, so that
/// the router sees the whole text as the parameter's value.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The example path of `op` with the parameter `name` set to `text`.
fn path_with(op: &Operation, name: &str, text: &str) -> String {
    let mut path = op.path.clone();
    for param in parameters_in(op, "path") {
        let param_name = param["name"].as_str().expect("a parameter has a name");
        let value = if param_name == name {
            path_segment(text)
        } else {
            match param["schema"]["format"].as_str() {
                Some("uuid") => uuid::Uuid::new_v4().to_string(),
                _ => "session-1".to_string(),
            }
        };
        path = path.replace(&format!("{{{param_name}}}"), &value);
    }
    path
}

/// The problems with the answer to a path parameter or header `name` broken once: it must be
/// 400 `invalid_request` naming exactly `name`.
fn refused_parameter_problems(op: &Operation, answer: &Answer, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if (answer.status, answer.code().as_deref()) != (400, Some("invalid_request")) {
        problems.push(format!(
            "expected 400 invalid_request, got {} {:?}",
            answer.status,
            answer.code()
        ));
    }
    if !documents(op, answer.status) {
        problems.push(format!(
            "{} is not a status the operation documents",
            answer.status
        ));
    }
    let named = named_fields(answer);
    if named != [name] {
        problems.push(format!("the error names {named:?}, not [{name:?}]"));
    }
    problems.extend(answer.envelope_problems());
    problems
}

/// Every path parameter of every operation, sent broken (not a UUID, against its pattern,
/// too long): 400 `invalid_request` naming the parameter. Valid values are never refused.
async fn path_parameters_are_checked_by_their_schema(ctx: &TestContext) {
    let mut failures = Vec::new();
    let mut tested = 0;
    for op in spec::operations() {
        for param in parameters_in(&op, "path") {
            let name = param["name"].as_str().expect("a name");
            let mut runner = runner(&format!("path {name}"), &op.id);
            // An empty or a `/`-holding text would address another route, not break this one.
            let addressable = |text: &String| !text.is_empty() && !text.contains('/');
            if let Some(invalid) =
                strategies::invalid_parameter_value(param, strategies::is_enforced)
            {
                for (text, broken) in sample(&mut runner, &invalid, CASES) {
                    if !addressable(&text) {
                        continue;
                    }
                    tested += 1;
                    let input = Input {
                        path: path_with(&op, name, &text),
                        body: valid_body(&op, &mut runner),
                        ..Input::new(&op)
                    };
                    let answer = send(ctx, &op, &input).await;
                    let problems = refused_parameter_problems(&op, &answer, name);
                    note_failure(
                        &mut failures,
                        &op,
                        &input,
                        Some(broken.to_string()),
                        &answer,
                        problems,
                    );
                }
            }
            // A form is not generated: a valid path alone would still be refused for its body.
            if op.is_multipart() {
                continue;
            }
            let valid = strategies::valid_parameter_value(param);
            for text in sample(&mut runner, &valid, CASES / 2) {
                if !addressable(&text) {
                    continue;
                }
                let input = Input {
                    path: path_with(&op, name, &text),
                    body: valid_body(&op, &mut runner),
                    ..Input::new(&op)
                };
                let answer = send(ctx, &op, &input).await;
                let problems = accepted_problems(&op, &answer);
                note_failure(&mut failures, &op, &input, None, &answer, problems);
            }
        }
    }
    assert!(
        tested > 50,
        "the contract has path parameters ({tested} broken ones sent)"
    );
    assert_no_failures("path parameters", ctx.backend, &failures);
}

/// Every header parameter (`Idempotency-Key`), sent broken: 400 `invalid_request` naming the
/// header, in the case the contract spells it whatever case it was sent in.
async fn header_parameters_are_checked_by_their_schema(ctx: &TestContext) {
    let mut failures = Vec::new();
    let mut tested = 0;
    for op in spec::operations() {
        for param in parameters_in(&op, "header") {
            let name = param["name"].as_str().expect("a name");
            let Some(invalid) = strategies::invalid_parameter_value(param, strategies::is_enforced)
            else {
                continue;
            };
            let mut runner = runner(&format!("header {name}"), &op.id);
            for (text, broken) in sample(&mut runner, &invalid, CASES) {
                // A text HTTP cannot carry as a header value is not a request one can send; nor
                // is one with whitespace around it, which is no part of the value (RFC 9110,
                // 5.5: parsers strip it, so `" 29"` arrives as `29`).
                if reqwest::header::HeaderValue::from_str(&text).is_err() || text.trim() != text {
                    continue;
                }
                tested += 1;
                let input = Input {
                    headers: vec![(name.to_lowercase(), text)],
                    body: valid_body(&op, &mut runner),
                    ..Input::new(&op)
                };
                let answer = send(ctx, &op, &input).await;
                let problems = refused_parameter_problems(&op, &answer, name);
                note_failure(
                    &mut failures,
                    &op,
                    &input,
                    Some(broken.to_string()),
                    &answer,
                    problems,
                );
            }
        }
    }
    assert!(tested > 0, "the contract has constrained headers");
    assert_no_failures("header parameters", ctx.backend, &failures);
}

/// A parameter given twice is refused by name: none of the contract's parameters is a list.
async fn a_repeated_query_parameter_is_422_naming_it(ctx: &TestContext) {
    let response = ctx
        .authed(reqwest::Method::GET, "/v1/bots?limit=5&limit=6")
        .await
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 422);
    let body: Value = response.json().await.expect("the envelope");
    assert_eq!(body["error"]["fields"][0]["field"], "limit", "{body}");
    let response = ctx
        .authed(reqwest::Method::GET, "/v1/bots?limit=5.0")
        .await
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 200, "5.0 is an integer");
}

on_both_databases!(
    valid_bodies_are_not_rejected,
    invalid_bodies_are_rejected,
    valid_query_values_are_not_rejected,
    invalid_query_values_are_rejected,
    not_enforced_list_is_exact,
    validation_failures_are_422_naming_the_offending_field,
    valid_bodies_with_integers_as_floats_are_not_rejected,
    feedback_create_and_bot_update_take_integers_written_as_floats,
    path_parameters_are_checked_by_their_schema,
    header_parameters_are_checked_by_their_schema,
    a_repeated_query_parameter_is_422_naming_it,
);
