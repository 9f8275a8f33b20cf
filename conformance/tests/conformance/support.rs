//! Helpers shared by the modules that drive accounts, credentials, bots and rate limits
//! through the generated client: clients per credential form, error envelopes, rate-limit
//! headers, and the codes the server mails to the outbox.

use botwire_client::types::{self, ErrorCode};
use botwire_client::{Client, Error, ResponseValue};
use botwire_conformance::TestContext;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The password every test account registers with.
pub const PASSWORD: &str = "correct horse battery staple";

/// How long a background mail may take to land in the outbox.
const MAIL_WAIT: Duration = Duration::from_secs(10);

/// Registers an account (one argon2 hash: keep their number down) and returns its session.
pub async fn register(ctx: &TestContext, email: &str, name: &str) -> types::AuthSession {
    ctx.client
        .account_register()
        .body(
            types::AccountRegister::builder()
                .email(email)
                .name(name)
                .password(PASSWORD),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("registering {email}: {e:?}"))
        .into_inner()
}

/// A generated client that sends `headers` with every request.
pub fn client_with(base_url: &str, headers: HeaderMap) -> Client {
    client_from(
        base_url,
        reqwest::Client::builder().default_headers(headers),
    )
}

/// A generated client over a `reqwest` client built from `builder`.
pub fn client_from(base_url: &str, builder: reqwest::ClientBuilder) -> Client {
    let timeout = Duration::from_secs(15);
    let http = builder
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
        .expect("a reqwest client");
    Client::new_with_client(base_url, http)
}

/// A header map of one sensitive header.
pub fn header(name: &'static str, value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut value = HeaderValue::from_str(value).expect("a header value");
    value.set_sensitive(true);
    headers.insert(HeaderName::from_static(name), value);
    headers
}

/// `Authorization: Bearer <token>` (a session JWT or an API key).
pub fn bearer(ctx: &TestContext, token: &str) -> Client {
    client_with(
        &ctx.base_url,
        header("authorization", &format!("Bearer {token}")),
    )
}

/// `X-API-Key: <key>`.
pub fn x_api_key(ctx: &TestContext, key: &str) -> Client {
    client_with(&ctx.base_url, header("x-api-key", key))
}

/// `Authorization: Basic base64(client_id:client_secret)`.
pub fn basic(ctx: &TestContext, client_id: &str, client_secret: &str) -> Client {
    use base64::Engine;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"));
    client_with(
        &ctx.base_url,
        header("authorization", &format!("Basic {encoded}")),
    )
}

/// `X-Widget-Token: <token>`.
pub fn widget(ctx: &TestContext, token: &str) -> Client {
    client_with(&ctx.base_url, header("x-widget-token", token))
}

/// The error envelope of a call that must fail with one.
#[track_caller]
pub fn error_of<T: std::fmt::Debug>(
    result: Result<ResponseValue<T>, Error<types::Error>>,
) -> ResponseValue<types::Error> {
    match result {
        Err(Error::ErrorResponse(response)) => response,
        other => panic!("expected an error envelope, got {other:?}"),
    }
}

/// Asserts that a call failed with `status` and `code`, with a consistent envelope; returns
/// the envelope.
#[track_caller]
pub fn expect_error<T: std::fmt::Debug>(
    result: Result<ResponseValue<T>, Error<types::Error>>,
    status: u16,
    code: ErrorCode,
) -> ResponseValue<types::Error> {
    let response = error_of(result);
    let error = &response.error;
    assert_eq!(response.status().as_u16(), status, "{error:?}");
    assert_eq!(error.code, code, "{error:?}");
    assert_eq!(error.status, i64::from(status), "{error:?}");
    assert!(!error.message.is_empty(), "{error:?}");
    assert_eq!(
        error.request_id,
        response.headers()["x-request-id"].to_str().unwrap(),
        "{error:?}"
    );
    response
}

/// Asserts a 422 `validation_failed` naming `field`.
#[track_caller]
pub fn expect_invalid_field<T: std::fmt::Debug>(
    result: Result<ResponseValue<T>, Error<types::Error>>,
    field: &str,
) {
    let response = expect_error(result, 422, ErrorCode::ValidationFailed);
    assert!(
        response.error.fields.iter().any(|f| f.field == field),
        "expected a field error on {field}: {:?}",
        response.error
    );
}

/// The three `X-RateLimit-*` headers (limit, remaining, reset), which every answer of a
/// rate-limited operation carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitHeaders {
    pub limit: u64,
    pub remaining: u64,
    pub reset: u64,
}

#[track_caller]
pub fn rate_limit_headers(headers: &HeaderMap) -> RateLimitHeaders {
    let number = |name: &str| -> u64 {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} is not a number: {headers:?}"))
    };
    RateLimitHeaders {
        limit: number("x-ratelimit-limit"),
        remaining: number("x-ratelimit-remaining"),
        reset: number("x-ratelimit-reset"),
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The outbox's mails to `email` (raw), oldest first.
fn mails_to(ctx: &TestContext, email: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(ctx.outbox_dir()) else {
        return Vec::new();
    };
    let to = format!("To: {email}");
    let mut mails: Vec<(SystemTime, String)> = entries
        .map(|entry| entry.expect("an outbox entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .filter_map(|path| {
            // A mail being written may be incomplete: it is read again on the next poll.
            let raw = std::fs::read_to_string(&path).ok()?;
            let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
            raw.lines()
                .any(|line| line.trim_end() == to)
                .then_some((modified, raw))
        })
        .collect();
    mails.sort_by_key(|(modified, _)| *modified);
    mails.into_iter().map(|(_, raw)| raw).collect()
}

/// How many mails to `email` the outbox holds now.
pub fn mail_count(ctx: &TestContext, email: &str) -> usize {
    mails_to(ctx, email).len()
}

/// The one-time code (8 digits) of the newest mail to `email`, once the outbox holds at least
/// `count` mails to it. Mails are written in the background, so this polls briefly.
pub async fn latest_code(ctx: &TestContext, email: &str, count: usize) -> String {
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let mails = mails_to(ctx, email);
        if mails.len() >= count
            && let Some(code) = mails.last().and_then(|raw| code_in(raw))
        {
            return code;
        }
        assert!(
            Instant::now() < deadline,
            "no mail #{count} with a code to {email} within {MAIL_WAIT:?} (have {})",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The line of a mail that is nothing but the 8-digit code.
fn code_in(raw: &str) -> Option<String> {
    raw.lines()
        .map(str::trim)
        .find(|line| line.len() == 8 && line.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

/// Creates an API key (account-wide without `bot_id`) with an optional `standard` limit.
pub async fn create_key(
    user: &Client,
    name: &str,
    bot_id: Option<uuid::Uuid>,
    standard: Option<u64>,
) -> types::ApiKeyWithSecret {
    let mut body = types::ApiKeyCreate::builder().name(name).bot_id(bot_id);
    if let Some(standard) = standard {
        body = body.rate_limits(Some(types::ApiKeyRateLimitsInput {
            standard: std::num::NonZeroU64::new(standard),
            chat: None,
            auth: None,
        }));
    }
    let response = user.api_key_create().body(body).send().await;
    let response = response.unwrap_or_else(|e| panic!("api_key_create {name}: {e:?}"));
    assert_eq!(response.status(), 201);
    response.into_inner()
}

/// Replaces `settings` of a bot (fields left out keep their value) and returns the bot.
pub async fn update_settings(
    owner: &Client,
    bot_id: uuid::Uuid,
    settings: types::BotSettingsInput,
) -> types::Bot {
    owner
        .bot_update()
        .bot_id(bot_id)
        .body(types::BotUpdate::builder().settings(Some(settings)))
        .send()
        .await
        .expect("bot_update")
        .into_inner()
}

/// Engine settings choosing the LLM engine with these (the others left as they are).
pub fn llm_engine(
    base_url: Option<&str>,
    model: Option<&str>,
    key: Option<&str>,
) -> types::BotEngineSettingsInput {
    types::BotEngineSettingsInput {
        kind: Some(types::BotEngineKind::Llm),
        llm_base_url: base_url.map(|u| u.parse().unwrap()),
        llm_model: model.map(|m| m.parse().unwrap()),
        llm_api_key: key.map(|k| k.parse().unwrap()),
        confidence_threshold: None,
        max_tokens: None,
        system_prompt: None,
        temperature: None,
    }
}

/// Creates a bot with default settings.
pub async fn create_bot(owner: &Client, name: &str) -> types::Bot {
    let response = owner
        .bot_create()
        .body(types::BotCreate::builder().name(name))
        .send()
        .await
        .unwrap_or_else(|e| panic!("bot_create {name}: {e:?}"));
    assert_eq!(response.status(), 201);
    response.into_inner()
}

// ---------------------------------------------------------------------------------------------
// The knowledge base and chat.

/// The FAQ the chat tests' bots answer from: (question, answer).
pub const FAQ: &[(&str, &str)] = &[
    (
        "How long does a refund take?",
        "Refunds reach your original payment method within 14 days of us receiving the return.",
    ),
    (
        "Do you ship to Norway?",
        "Yes: we ship to Norway and the rest of the EEA, tracked, in 3 to 5 working days.",
    ),
    (
        "How do I reset my password?",
        "Choose \"Forgot password\" on the sign-in page and follow the link we mail you.",
    ),
];

/// A question no FAQ above answers, sharing none of their words.
pub const UNKNOWN_QUESTION: &str = "What is the airspeed velocity of an unladen swallow?";

/// An FAQ CSV (`question,answer` header, quoted fields) of `pairs`.
pub fn faq_csv(pairs: &[(&str, &str)]) -> Vec<u8> {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut csv = String::from("question,answer\n");
    for (question, answer) in pairs {
        csv.push_str(&format!("{},{}\n", quote(question), quote(answer)));
    }
    csv.into_bytes()
}

/// An FAQ JSON file: an array of `{"question", "answer"}` objects.
pub fn faq_json(pairs: &[(&str, &str)]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = pairs
        .iter()
        .map(|(question, answer)| serde_json::json!({ "question": question, "answer": answer }))
        .collect();
    serde_json::to_vec_pretty(&items).expect("JSON")
}

/// A file to upload, without metadata or a declared content type.
pub fn file(name: &str, bytes: impl Into<Vec<u8>>) -> botwire_client::Upload {
    botwire_client::Upload {
        file_name: name.into(),
        content_type: None,
        bytes: bytes.into(),
        title: None,
        category: None,
    }
}

/// Uploads a file that must be accepted (201).
pub async fn upload(
    owner: &Client,
    bot_id: uuid::Uuid,
    upload: botwire_client::Upload,
) -> types::Document {
    let name = upload.file_name.clone();
    let response = owner.document_create(&bot_id, upload).await;
    let response = response.unwrap_or_else(|e| panic!("document_create {name}: {e:?}"));
    assert_eq!(response.status(), 201);
    response.into_inner()
}

/// Uploads [`FAQ`] as `faq.csv` titled "Store FAQ".
pub async fn upload_faq(owner: &Client, bot_id: uuid::Uuid) -> types::Document {
    let mut faq = file("faq.csv", faq_csv(FAQ));
    faq.title = Some("Store FAQ".into());
    upload(owner, bot_id, faq).await
}

/// A chat body: `bot_id` and `session_id` when given.
pub fn message(
    bot_id: Option<uuid::Uuid>,
    session_id: Option<&str>,
    text: &str,
) -> types::builder::ChatSend {
    types::ChatSend::builder()
        .bot_id(bot_id)
        .session_id(
            session_id.map(|s| s.parse::<types::ChatSendSessionId>().expect("a session id")),
        )
        .message(text)
}

/// Sends a message that must be answered (200) and returns the reply.
pub async fn ask(
    client: &Client,
    bot_id: uuid::Uuid,
    session_id: &str,
    text: &str,
) -> types::ChatReply {
    let response = client
        .chat_send()
        .body(message(Some(bot_id), Some(session_id), text))
        .send()
        .await
        .unwrap_or_else(|e| panic!("chat_send {text:?}: {e:?}"));
    assert_eq!(response.status(), 200);
    response.into_inner()
}

/// Registers a user through the API and returns their session, a pool on the server's
/// database (for tests that drive the store or a service directly), and their account id.
pub async fn registered(
    ctx: &TestContext,
    email: &str,
) -> (types::AuthSession, botwire_server::db::Db, String) {
    let session = register(ctx, email, "Registered").await;
    let db = botwire_server::db::Db::connect(ctx.database_url(), 4)
        .await
        .expect("a pool on the server's database");
    let user = botwire_server::store::users::user_get(&db, &session.user.id.to_string())
        .await
        .expect("reading the user")
        .expect("the user just registered");
    (session, db, user.account_id)
}

/// A session's whole history (oldest first).
pub async fn history(client: &Client, bot_id: uuid::Uuid, session_id: &str) -> Vec<types::Message> {
    let page = client
        .session_history()
        .bot_id(bot_id)
        .session_id(session_id)
        .limit(100u64)
        .send()
        .await
        .unwrap_or_else(|e| panic!("session_history {session_id}: {e:?}"));
    assert!(!page.pagination.has_more);
    assert_eq!(page.pagination.total, page.data.len() as u64);
    page.into_inner().data
}

/// Asserts that `reply` is the bot's fallback: `fallback`, no sources, a "talk to a human"
/// action.
#[track_caller]
pub fn assert_fallback(reply: &types::ChatReply, fallback: &str) {
    assert_eq!(reply.reply.as_deref(), Some(fallback), "{reply:?}");
    assert!(reply.sources.is_empty(), "{reply:?}");
    assert!(
        reply
            .suggested_actions
            .iter()
            .any(|a| a.type_ == types::SuggestedActionType::Handoff),
        "{reply:?}"
    );
    assert!(reply.message_id.is_some(), "{reply:?}");
}

/// Asserts that `reply` is `answer`, drawn from `document` (its one source).
#[track_caller]
pub fn assert_faq_answer(reply: &types::ChatReply, document: &types::Document, answer: &str) {
    assert_eq!(reply.reply.as_deref(), Some(answer), "{reply:?}");
    assert_eq!(reply.sources.len(), 1, "{reply:?}");
    let source = &reply.sources[0];
    assert_eq!(source.document_id, document.id, "{reply:?}");
    assert_eq!(source.title, document.title, "{reply:?}");
    assert_eq!(source.snippet, answer, "{reply:?}");
    assert!(source.score > 0.0 && source.score <= 1.0, "{reply:?}");
    assert!(reply.suggested_actions.is_empty(), "{reply:?}");
}

/// `Some(value)` as a generated constrained type, for the builders' optional fields.
#[track_caller]
pub fn some<T>(value: &str) -> Option<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Debug,
{
    Some(value.parse().expect("a valid value"))
}

/// A stream's result with its body left out (a `ByteStream` is not `Debug`), for the error
/// helpers above.
#[allow(clippy::result_large_err)] // the generated client's own error type
pub fn unstreamed(
    result: Result<ResponseValue<botwire_client::ByteStream>, Error<types::Error>>,
) -> Result<ResponseValue<()>, Error<types::Error>> {
    result.map(|response| {
        let (status, headers) = (response.status(), response.headers().clone());
        ResponseValue::new((), status, headers)
    })
}

/// A logger writing everything, debug included, to the file at `path` (for tests that read
/// the server's log).
pub fn debug_log_to(path: &std::path::Path) -> slog::Logger {
    use dropshot::{ConfigLogging, ConfigLoggingIfExists, ConfigLoggingLevel};
    ConfigLogging::File {
        level: ConfigLoggingLevel::Debug,
        path: path.to_str().expect("a UTF-8 path").into(),
        if_exists: ConfigLoggingIfExists::Truncate,
    }
    .to_logger("botwire")
    .expect("a file logger")
}
