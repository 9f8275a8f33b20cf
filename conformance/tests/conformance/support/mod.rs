//! Helpers shared by the conformance modules: clients per credential form, error envelopes
//! (and the 404 that another account's id gets), rate-limit headers, the codes the server mails
//! to the outbox, accounts, keys and bots. The knowledge base and chat, the LLM engines and
//! webhooks have modules of their own here.

pub mod chat;
pub mod llm;
pub mod teams;
pub mod webhooks;

use botwire_client::types::{self, ErrorCode};
use botwire_client::{Client, Error, ResponseValue};
use botwire_conformance::TestContext;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

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

/// Asserts that `call` on `theirs` (another account's id) fails exactly as on a random id:
/// 404, the same code and message.
pub async fn refused_as_missing<T, F, Fut>(operation: &str, theirs: Uuid, call: F)
where
    T: std::fmt::Debug,
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = Result<ResponseValue<T>, Error<types::Error>>>,
{
    let missing = error_of(call(Uuid::new_v4()).await);
    let foreign = error_of(call(theirs).await);
    assert_eq!(missing.status(), 404, "{operation}: {:?}", missing.error);
    assert_eq!(
        foreign.status(),
        missing.status(),
        "{operation}: {:?}",
        foreign.error
    );
    assert_eq!(foreign.error.code, missing.error.code, "{operation}");
    assert_eq!(foreign.error.status, missing.error.status, "{operation}");
    assert_eq!(foreign.error.message, missing.error.message, "{operation}");
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
pub fn mails_to(ctx: &TestContext, email: &str) -> Vec<String> {
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

/// `Some(value)` as a generated constrained type, for the builders' optional fields.
#[track_caller]
pub fn some<T>(value: &str) -> Option<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Debug,
{
    Some(value.parse().expect("a valid value"))
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
