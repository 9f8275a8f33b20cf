//! The `accounts` operations (`account_*`): registration, sign-in, email verification, password
//! reset, TOTP and token refresh, through the generated client. Codes are read from the `.eml`
//! files the server writes to its outbox; `email` mails them through a real SMTP relay.

mod email;

use crate::conformance::support::{
    PASSWORD, bearer, error_of, expect_error, expect_invalid_field, latest_code, mail_count,
    register, unix_now,
};
use botwire_client::types::{self, ErrorCode};
use botwire_conformance::{TestContext, on_both_databases};
use botwire_server::auth::totp;
use std::time::Duration;

const NEW_PASSWORD: &str = "new staple orbit forty two";

async fn login(
    ctx: &TestContext,
    email: &str,
    password: &str,
    totp_code: Option<&str>,
) -> Result<botwire_client::ResponseValue<types::AuthSession>, botwire_client::Error<types::Error>>
{
    let mut body = types::AccountLogin::builder()
        .email(email)
        .password(password);
    if let Some(code) = totp_code {
        body = body.totp_code(Some(
            code.parse::<types::AccountLoginTotpCode>()
                .expect("a 6-digit code"),
        ));
    }
    ctx.client.account_login().body(body).send().await
}

async fn account_register_signs_in_and_a_taken_email_is_409(ctx: &TestContext) {
    let response = ctx
        .client
        .account_register()
        .body(
            types::AccountRegister::builder()
                .email("ada@example.test")
                .name("Ada Lovelace")
                .password(PASSWORD),
        )
        .send()
        .await
        .expect("account_register");
    assert_eq!(response.status(), 201);
    let session = response.into_inner();
    assert!(!session.token.is_empty());
    assert!(
        session.expires_at.timestamp() > i64::try_from(unix_now()).unwrap(),
        "{session:?}"
    );
    assert!(!session.user.email_verified && !session.user.totp_enabled);
    insta::assert_json_snapshot!("auth_session", &session, {
        ".token" => "[token]",
        ".expires_at" => "[time]",
        ".user.id" => "[id]",
        ".user.created_at" => "[time]",
    });

    let user = bearer(ctx, &session.token)
        .account_get()
        .send()
        .await
        .expect("the new session's token works")
        .into_inner();
    assert_eq!(user, session.user);
    insta::assert_json_snapshot!("user", &user, {
        ".id" => "[id]",
        ".created_at" => "[time]",
    });

    for taken in ["ada@example.test", "Ada@Example.TEST"] {
        let again = ctx
            .client
            .account_register()
            .body(
                types::AccountRegister::builder()
                    .email(taken)
                    .name("Another Ada")
                    .password(PASSWORD),
            )
            .send()
            .await;
        expect_error(again, 409, ErrorCode::Conflict);
    }
}

async fn account_login_does_not_say_whether_the_email_or_the_password_was_wrong(ctx: &TestContext) {
    let session = register(ctx, "grace@example.test", "Grace Hopper").await;

    let signed_in = login(ctx, "Grace@Example.test", PASSWORD, None)
        .await
        .expect("login with the right password (email case-insensitive)");
    assert_eq!(signed_in.status(), 200);
    assert_eq!(signed_in.user, session.user);
    bearer(ctx, &signed_in.token)
        .account_get()
        .send()
        .await
        .expect("the login's token works");

    let unknown = expect_error(
        login(ctx, "nobody@example.test", PASSWORD, None).await,
        401,
        ErrorCode::Unauthorized,
    );
    let wrong = expect_error(
        login(ctx, "grace@example.test", "not the password at all", None).await,
        401,
        ErrorCode::Unauthorized,
    );
    assert_eq!(unknown.status(), wrong.status());
    assert_eq!(unknown.error.code, wrong.error.code);
    assert_eq!(unknown.error.message, wrong.error.message);
    assert_eq!(unknown.error.fields, wrong.error.fields);
}

async fn account_token_refresh_issues_a_new_working_token(ctx: &TestContext) {
    let session = register(ctx, "refresh@example.test", "Refresh").await;
    let refreshed = bearer(ctx, &session.token)
        .account_token_refresh()
        .send()
        .await
        .expect("account_token_refresh");
    assert_eq!(refreshed.status(), 200);
    let refreshed = refreshed.into_inner();
    assert_ne!(refreshed.token, session.token, "a fresh token");
    assert!(refreshed.expires_at >= session.expires_at);
    assert_eq!(refreshed.user, session.user);
    for token in [&refreshed.token, &session.token] {
        let user = bearer(ctx, token).account_get().send().await;
        assert_eq!(user.expect("both tokens work").id, session.user.id);
    }
}

async fn account_email_verify_takes_the_mailed_code_once(ctx: &TestContext) {
    let email = "verify@example.test";
    let session = register(ctx, email, "Verify Me").await;
    let client = bearer(ctx, &session.token);
    let first = latest_code(ctx, email, 1).await;

    // A new code replaces the first one, which stops working.
    let resent = client
        .account_email_verification_resend()
        .send()
        .await
        .expect("account_email_verification_resend");
    assert_eq!(resent.status(), 202);
    assert_eq!(resent.status, "accepted");
    let second = latest_code(ctx, email, 2).await;
    let verify = |code: String| {
        ctx.client
            .account_email_verify()
            .body(types::AccountEmailVerify::builder().email(email).code(code))
            .send()
    };
    if first != second {
        expect_invalid_field(verify(first).await, "code");
    }
    // A code that was never sent, and an email without an account, answer the same.
    let wrong = if second == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let never_sent = error_of(verify(wrong.to_string()).await);
    let unknown = ctx
        .client
        .account_email_verify()
        .body(
            types::AccountEmailVerify::builder()
                .email("nobody@example.test")
                .code(second.clone()),
        )
        .send()
        .await;
    let unknown = error_of(unknown);
    assert_eq!(unknown.status(), 422);
    assert_eq!(unknown.error.code, ErrorCode::ValidationFailed);
    assert!(unknown.error.fields.iter().any(|f| f.field == "code"));
    let same_as_unknown = |answer: &botwire_client::ResponseValue<types::Error>| {
        assert_eq!(answer.status(), unknown.status());
        assert_eq!(answer.error.code, unknown.error.code);
        assert_eq!(answer.error.message, unknown.error.message);
        assert_eq!(answer.error.fields, unknown.error.fields);
    };
    same_as_unknown(&never_sent);

    let verified = verify(second.clone()).await.expect("account_email_verify");
    assert_eq!(verified.status(), 200);
    assert!(verified.email_verified);
    assert_eq!(verified.id, session.user.id);
    let me = client.account_get().send().await.expect("account_get");
    assert!(me.email_verified);

    // The code is used up: the same code again is refused. A wrong code for the verified
    // account answers exactly as for an email without an account.
    expect_invalid_field(verify(second).await, "code");
    same_as_unknown(&error_of(verify(wrong.to_string()).await));
    // Nothing left to verify: resending is a conflict.
    expect_error(
        client.account_email_verification_resend().send().await,
        409,
        ErrorCode::Conflict,
    );
}

async fn account_password_reset_takes_the_mailed_code_once(ctx: &TestContext) {
    let email = "reset@example.test";
    let stranger = "stranger@example.test";
    register(ctx, email, "Reset Me").await;
    // The verification mail first, so that the reset mail is the next one.
    latest_code(ctx, email, 1).await;
    let forgot = |email: &'static str| {
        ctx.client
            .account_password_forgot()
            .body(types::AccountPasswordForgot::builder().email(email))
            .send()
    };
    // The same answer whether or not the account exists.
    let for_stranger = forgot(stranger).await.expect("account_password_forgot");
    assert_eq!(for_stranger.status(), 202);
    assert_eq!(for_stranger.status, "accepted");
    let for_user = forgot(email).await.expect("account_password_forgot");
    assert_eq!(for_user.status(), 202);
    assert_eq!(for_user.into_inner(), for_stranger.into_inner());
    let code = latest_code(ctx, email, 2).await;
    // The stranger's request was made first; by now its mail would have been written.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mail_count(ctx, stranger), 0, "no mail for an unknown email");

    let reset = |code: String| {
        ctx.client
            .account_password_reset()
            .body(
                types::AccountPasswordReset::builder()
                    .email(email)
                    .code(code)
                    .new_password(NEW_PASSWORD),
            )
            .send()
    };
    let done = reset(code.clone()).await.expect("account_password_reset");
    assert_eq!(done.status(), 204);

    login(ctx, email, NEW_PASSWORD, None)
        .await
        .expect("the new password signs in");
    expect_error(
        login(ctx, email, PASSWORD, None).await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_invalid_field(reset(code).await, "code");
}

async fn account_totp_setup_and_verify_guard_login_with_single_use_codes(ctx: &TestContext) {
    let email = "totp@example.test";
    let session = register(ctx, email, "Two Factor").await;
    let client = bearer(ctx, &session.token);

    // Confirming before any setup is a conflict.
    let early = client
        .account_totp_verify()
        .body(types::AccountTotpVerify::builder().code("123456"))
        .send()
        .await;
    expect_error(early, 409, ErrorCode::Conflict);

    let setup = client
        .account_totp_setup()
        .send()
        .await
        .expect("account_totp_setup");
    assert_eq!(setup.status(), 200);
    let setup = setup.into_inner();
    assert!(
        setup.otpauth_uri.starts_with("otpauth://totp/"),
        "{setup:?}"
    );
    assert!(
        setup
            .otpauth_uri
            .contains(&format!("secret={}", setup.secret)),
        "{setup:?}"
    );
    assert_eq!(setup.issuer, "Botwire");
    insta::assert_json_snapshot!("totp_setup", &setup, {
        ".secret" => "[secret]",
        ".otpauth_uri" => "[otpauth uri]",
    });
    let secret = setup.secret;
    let code_at = |t: u64| totp::code_at(&secret, t).expect("a code from the secret");

    let confirm = |code: String| {
        client
            .account_totp_verify()
            .body(types::AccountTotpVerify::builder().code(code))
            .send()
    };
    // A wrong code is refused on `code`, and TOTP stays off.
    let now = unix_now();
    let current = code_at(now);
    let valid_now: Vec<String> = [now - 30, now, now + 30].map(code_at).into();
    let wrong = (0..10u32)
        .map(|d| format!("{d}{d}{d}{d}{d}{d}"))
        .find(|c| !valid_now.contains(c))
        .expect("a code that is not valid now");
    expect_invalid_field(confirm(wrong).await, "code");
    let user = confirm(current.clone()).await.expect("account_totp_verify");
    assert!(user.totp_enabled);
    assert_eq!(user.id, session.user.id);

    // From now on login needs a code.
    let missing = expect_error(
        login(ctx, email, PASSWORD, None).await,
        401,
        ErrorCode::TotpRequired,
    );
    assert_eq!(missing.error.status, 401);
    // The code that confirmed the setup is spent.
    expect_error(
        login(ctx, email, PASSWORD, Some(&current)).await,
        401,
        ErrorCode::TotpRequired,
    );
    // The next step's code is within the accepted window: it signs in, once.
    let next = code_at(unix_now() + 30);
    let signed_in = login(ctx, email, PASSWORD, Some(&next))
        .await
        .expect("login with a fresh TOTP code");
    assert_eq!(signed_in.status(), 200);
    assert!(signed_in.user.totp_enabled);
    expect_error(
        login(ctx, email, PASSWORD, Some(&next)).await,
        401,
        ErrorCode::TotpRequired,
    );
    // A wrong password is still the plain 401, whatever the code.
    expect_error(
        login(ctx, email, "not the password at all", Some(&next)).await,
        401,
        ErrorCode::Unauthorized,
    );

    // Enabled: setting up or confirming again is a conflict.
    expect_error(
        client.account_totp_setup().send().await,
        409,
        ErrorCode::Conflict,
    );
    expect_error(confirm(code_at(unix_now())).await, 409, ErrorCode::Conflict);
}

on_both_databases!(
    account_register_signs_in_and_a_taken_email_is_409,
    account_login_does_not_say_whether_the_email_or_the_password_was_wrong,
    account_token_refresh_issues_a_new_working_token,
    account_email_verify_takes_the_mailed_code_once,
    account_password_reset_takes_the_mailed_code_once,
    account_totp_setup_and_verify_guard_login_with_single_use_codes,
);
