//! Sweeps the rate-limit policy through the API: headers, 429s and budgets per credential.
//!
//! Rate limits through the HTTP API, on a server configured with small limits: the headers on
//! every answer (errors included), the 429 with `Retry-After`, budgets per credential, a key's
//! own limit, the auth class per client address and per email, and one budget across two
//! replicas on one PostgreSQL database.
//!
//! Client addresses: the whole of 127.0.0.0/8 is loopback, so clients bound to 127.0.0.2,
//! 127.0.0.3, ... reach the server as distinct addresses.

use crate::conformance::support::{
    PASSWORD, RateLimitHeaders, bearer, client_from, client_with, create_key, expect_error,
    rate_limit_headers, register, unix_now,
};
use botwire_client::types::{self, ErrorCode};
use botwire_client::{Client, Error, ResponseValue};
use botwire_conformance::{Backend, TestContext, on_both_databases, run_with};
use botwire_server::config::{Config, RateLimits};
use reqwest::header::HeaderMap;
use std::net::{IpAddr, Ipv4Addr};

/// Per minute: `standard` 3 (a request every 20 s once spent), `chat` 3, `auth` 2.
const LIMITS: RateLimits = RateLimits {
    standard: 3,
    chat: 3,
    auth: 2,
};

/// A server with [`LIMITS`].
fn limited(config: &mut Config) {
    config.rate_limits = LIMITS;
}

type Answer<T> = Result<ResponseValue<T>, Error<types::Error>>;

fn headers_of<T: std::fmt::Debug>(answer: &Answer<T>) -> &HeaderMap {
    match answer {
        Ok(response) => response.headers(),
        Err(Error::ErrorResponse(response)) => response.headers(),
        Err(other) => panic!("no response: {other:?}"),
    }
}

/// Sends one request and checks its rate-limit headers: the `nth` request of a burst within
/// the credential's `limit` per minute leaves `limit - nth`, and the bucket is full again
/// `nth * 60 / limit` seconds from now (give or take a second: the burst began a moment ago,
/// and the header is whole seconds, rounded up).
async fn nth_of_burst<T: std::fmt::Debug>(
    nth: u64,
    limit: u64,
    request: impl Future<Output = Answer<T>>,
) -> Answer<T> {
    let before = unix_now();
    let answer = request.await;
    let after = unix_now();
    let headers = rate_limit_headers(headers_of(&answer));
    let refill = nth * 60 / limit;
    assert_eq!(headers.limit, limit, "request {nth}: {answer:?}");
    assert_eq!(headers.remaining, limit - nth, "request {nth}: {answer:?}");
    assert!(
        (before + refill - 1..=after + refill + 1).contains(&headers.reset),
        "request {nth}: reset {} is not {refill} s from now ({before})",
        headers.reset
    );
    answer
}

/// Asserts a 429 `rate_limit_exceeded` with its headers; returns them.
#[track_caller]
fn expect_429<T: std::fmt::Debug>(answer: Answer<T>, limit: u64) -> RateLimitHeaders {
    let response = expect_error(answer, 429, ErrorCode::RateLimitExceeded);
    let headers = rate_limit_headers(response.headers());
    assert_eq!(headers.limit, limit);
    assert_eq!(headers.remaining, 0);
    assert!(headers.reset >= unix_now(), "{headers:?}");
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    headers
}

/// A generated client whose requests come from `127.0.0.<last>`, with `headers`.
fn from_address(ctx: &TestContext, last: u8) -> Client {
    let address = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last));
    client_from(
        &ctx.base_url,
        reqwest::Client::builder().local_address(address),
    )
}

async fn a_credential_gets_its_limit_then_429(ctx: &TestContext) {
    // Registering is in the auth class (2 a minute from this address).
    let session = nth_of_burst(1, 2, async {
        ctx.client
            .account_register()
            .body(
                types::AccountRegister::builder()
                    .email("limits@example.test")
                    .name("Limited")
                    .password(PASSWORD),
            )
            .send()
            .await
    })
    .await
    .expect("account_register")
    .into_inner();
    let user = bearer(ctx, &session.token);

    // The user's standard budget: 3, counted down, whatever the operation.
    nth_of_burst(1, 3, user.account_get().send())
        .await
        .expect("account_get");
    let bot_id = uuid::Uuid::new_v4();
    let not_found = nth_of_burst(2, 3, user.bot_get().bot_id(bot_id).send()).await;
    expect_error(not_found, 404, ErrorCode::BotNotFound);
    let incomplete_llm = types::BotSettingsInput {
        engine: Some(types::BotEngineSettingsInput {
            kind: Some(types::BotEngineKind::Llm),
            ..Default::default()
        }),
        ..Default::default()
    };
    let invalid = nth_of_burst(
        3,
        3,
        user.bot_create()
            .body(
                types::BotCreate::builder()
                    .name("No model")
                    .settings(Some(incomplete_llm)),
            )
            .send(),
    )
    .await;
    expect_error(invalid, 422, ErrorCode::ValidationFailed);

    // The fourth is refused, and so is the next, until the bucket refills.
    let first_refusal = expect_429(user.account_get().send().await, 3);
    let second_refusal = expect_429(user.api_key_list().send().await, 3);
    assert_eq!(
        first_refusal.reset, second_refusal.reset,
        "a refusal spends nothing"
    );
}

async fn each_credential_has_its_own_budget_and_a_key_may_have_its_own_limit(ctx: &TestContext) {
    let session = register(ctx, "budgets@example.test", "Budgets").await;
    let user = bearer(ctx, &session.token);
    let plain = create_key(&user, "server limit", None, None).await;
    let own = create_key(&user, "own limit", None, Some(5)).await;
    // The user has spent 2 of 3.
    nth_of_burst(3, 3, user.account_get().send())
        .await
        .expect("account_get");
    expect_429(user.account_get().send().await, 3);

    // A key of the same account starts with its own full budget.
    let plain = bearer(ctx, &plain.key);
    for nth in 1..=3 {
        nth_of_burst(nth, 3, plain.bot_list().send())
            .await
            .expect("bot_list with the key");
    }
    expect_429(plain.bot_list().send().await, 3);

    // A key's own limit replaces the server's.
    let own = bearer(ctx, &own.key);
    for nth in 1..=5 {
        nth_of_burst(nth, 5, own.bot_list().send())
            .await
            .expect("bot_list with the key's own limit");
    }
    expect_429(own.bot_list().send().await, 5);
}

async fn login(client: &Client, email: &str) -> Answer<types::AuthSession> {
    let body = types::AccountLogin::builder()
        .email(email)
        .password(PASSWORD);
    client.account_login().body(body).send().await
}

async fn auth_requests_are_limited_per_address_and_per_email(ctx: &TestContext) {
    // Per address: two sign-ins a minute from 127.0.0.2, whatever the emails.
    let address = from_address(ctx, 2);
    let first = nth_of_burst(1, 2, login(&address, "one@example.test")).await;
    expect_error(first, 401, ErrorCode::Unauthorized);
    let second = nth_of_burst(2, 2, login(&address, "two@example.test")).await;
    expect_error(second, 401, ErrorCode::Unauthorized);
    expect_429(login(&address, "three@example.test").await, 2);
    // Another address is not affected.
    let elsewhere = login(&from_address(ctx, 3), "three@example.test").await;
    expect_error(elsewhere, 401, ErrorCode::Unauthorized);

    // Per email: two sign-ins a minute for one email, whatever the addresses (each of these
    // addresses has spent at most one of its own two).
    let email = "target@example.test";
    let first = login(&from_address(ctx, 4), email).await;
    expect_error(first, 401, ErrorCode::Unauthorized);
    let second = login(&from_address(ctx, 5), email).await;
    expect_error(second, 401, ErrorCode::Unauthorized);
    let third_address = from_address(ctx, 6);
    expect_429(login(&third_address, email).await, 2);
    // That address may still sign in for another email.
    let other = login(&third_address, "other@example.test").await;
    expect_error(other, 401, ErrorCode::Unauthorized);
}

on_both_databases!(
    config = limited,
    a_credential_gets_its_limit_then_429,
    each_credential_has_its_own_budget_and_a_key_may_have_its_own_limit,
    auth_requests_are_limited_per_address_and_per_email,
);

/// Two servers on one PostgreSQL database share each credential's budget: a key limited to
/// 20 a minute, used alternately on both, is admitted about 20 times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_database_share_one_budget() {
    run_with(Backend::Postgres, limited, async |ctx: &TestContext| {
        let replica = ctx.replica(limited).await.expect("starting a replica");
        let session = register(ctx, "replicas@example.test", "Replicas").await;
        let key = create_key(&bearer(ctx, &session.token), "shared", None, Some(20)).await;
        let header = format!("Bearer {}", key.key);
        let mut headers = HeaderMap::new();
        headers.insert("authorization", header.parse().unwrap());
        let servers = [
            client_with(&ctx.base_url, headers.clone()),
            client_with(&format!("http://{}", replica.local_addr()), headers),
        ];

        let mut admitted = 0;
        let mut refused = 0;
        for i in 0..40 {
            match servers[i % 2].bot_list().send().await {
                Ok(response) => {
                    assert_eq!(rate_limit_headers(response.headers()).limit, 20);
                    admitted += 1;
                }
                Err(error) => {
                    expect_429::<types::BotList>(Err(error), 20);
                    refused += 1;
                }
            }
        }
        assert_eq!(admitted + refused, 40);
        assert!(
            (18..=22).contains(&admitted),
            "admitted {admitted} of 40 with a limit of 20 a minute over two replicas"
        );
        replica.close().await.expect("stopping the replica");
    })
    .await;
}
