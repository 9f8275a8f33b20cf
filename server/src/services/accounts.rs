//! Accounts: registration, sign-in, email verification, password reset, TOTP.

use super::Call;
use crate::auth::{passwords, secrets, totp};
use crate::email;
use crate::error::Error;
use crate::store::codes::{self, Purpose};
use crate::store::users::{self, UserRow};
use crate::store::{self, is_unique_violation, new_id, now, utc};
use botwire_api::types::{
    Accepted, AccountEmailVerify, AccountLogin, AccountPasswordForgot, AccountPasswordReset,
    AccountRegister, AccountTotpVerify, AuthSession, TotpSetup, User,
};
use std::time::Duration;

/// How long an emailed code works.
const CODE_VALIDITY: Duration = Duration::from_secs(30 * 60);

fn user_view(row: &UserRow) -> User {
    User {
        created_at: utc(row.created_at),
        email: row.email.clone(),
        email_verified: row.email_verified_at.is_some(),
        id: store::uuid(&row.id),
        name: row.name.clone(),
        totp_enabled: row.totp_enabled_at.is_some(),
    }
}

fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn session(call: &Call<'_>, row: &UserRow) -> AuthSession {
    let (token, expires_at) = call
        .app
        .jwt
        .issue(store::uuid(&row.id), store::uuid(&row.account_id));
    AuthSession {
        expires_at,
        token,
        user: user_view(row),
    }
}

fn wrong_code() -> Error {
    Error::Validation(vec![("code".into(), "wrong, used or expired code".into())])
}

/// Creates a code, stores its hash, and mails it in the background (a mail server's delay or
/// failure is logged, and never holds up or fails the request).
async fn send_code(call: &Call<'_>, row: &UserRow, purpose: Purpose) -> Result<(), Error> {
    let code = secrets::new_code();
    let expires_at = now() + chrono::Duration::from_std(CODE_VALIDITY).unwrap_or_default();
    codes::code_create(
        &call.app.db,
        &row.id,
        purpose,
        &secrets::hash_secret(&row.id, &code),
        expires_at,
    )
    .await?;
    let message = match purpose {
        Purpose::VerifyEmail => {
            email::verification_email(&row.email, &row.name, &code, CODE_VALIDITY)
        }
        Purpose::ResetPassword => {
            email::password_reset_email(&row.email, &row.name, &code, CODE_VALIDITY)
        }
    };
    let mailer = call.app.mailer.clone();
    let log = call.app.log.clone();
    tokio::spawn(async move {
        if let Err(error) = mailer.send(message).await {
            slog::error!(log, "sending an email failed"; "error" => %error);
        }
    });
    Ok(())
}

/// Uses up the emailed code of the account with this email: an unknown email, a wrong, used or
/// expired code all answer the same 422 on `code`, so that accounts cannot be discovered.
async fn consume_code(
    call: &Call<'_>,
    email: &str,
    code: &str,
    purpose: Purpose,
) -> Result<UserRow, Error> {
    let email = normalize_email(email);
    call.limit_per_email(&email).await?;
    let row = users::user_get_by_email(&call.app.db, &email)
        .await?
        .ok_or_else(wrong_code)?;
    let hash = secrets::hash_secret(&row.id, code);
    if !codes::code_consume(&call.app.db, &row.id, purpose, &hash).await? {
        return Err(wrong_code());
    }
    Ok(row)
}

pub async fn account_register(
    call: &Call<'_>,
    body: AccountRegister,
) -> Result<AuthSession, Error> {
    let AccountRegister {
        email,
        name,
        password,
    } = body;
    let email = normalize_email(&email);
    call.limit_per_email(&email).await?;
    let now = now();
    let row = UserRow {
        id: new_id(),
        account_id: new_id(),
        email,
        name: name.to_string(),
        password_hash: passwords::hash(password.to_string()).await?,
        email_verified_at: None,
        totp_secret: None,
        totp_enabled_at: None,
        totp_last_step: None,
        created_at: now,
        updated_at: now,
    };
    match users::account_user_create(&call.app.db, &row).await {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(
                "an account with this email already exists".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    send_code(call, &row, Purpose::VerifyEmail).await?;
    Ok(session(call, &row))
}

pub async fn account_login(call: &Call<'_>, body: AccountLogin) -> Result<AuthSession, Error> {
    let AccountLogin {
        email,
        password,
        totp_code,
    } = body;
    let email = normalize_email(&email);
    call.limit_per_email(&email).await?;
    let row = users::user_get_by_email(&call.app.db, &email).await?;
    let valid = passwords::verify(
        password.to_string(),
        row.as_ref().map(|r| r.password_hash.clone()),
    )
    .await?;
    // The same answer for an unknown email and a wrong password.
    let row = row
        .filter(|_| valid)
        .ok_or(Error::Unauthorized("wrong email or password"))?;
    if let (Some(_), Some(secret)) = (row.totp_enabled_at, row.totp_secret.as_deref()) {
        let totp_required = || Error::TotpRequired("a current TOTP code is required");
        let code = totp_code.ok_or_else(totp_required)?;
        let step = totp::verify(secret, &code, unix_now(), row.totp_last_step)
            .ok_or_else(totp_required)?;
        if !users::user_totp_step_accept(&call.app.db, &row.id, step).await? {
            return Err(totp_required());
        }
    }
    Ok(session(call, &row))
}

fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

async fn current_user(call: &Call<'_>) -> Result<UserRow, Error> {
    let (user_id, _) = call.user()?;
    users::user_get(&call.app.db, &user_id.to_string())
        .await?
        .ok_or(Error::Unauthorized("this session's user no longer exists"))
}

pub async fn account_get(call: &Call<'_>) -> Result<User, Error> {
    Ok(user_view(&current_user(call).await?))
}

pub async fn account_token_refresh(call: &Call<'_>) -> Result<AuthSession, Error> {
    Ok(session(call, &current_user(call).await?))
}

pub async fn account_email_verify(
    call: &Call<'_>,
    body: AccountEmailVerify,
) -> Result<User, Error> {
    let AccountEmailVerify { code, email } = body;
    // The code first: only its holder learns that the email is verified already, so that a
    // wrong code for a verified account answers as for an unknown email.
    let row = consume_code(call, &email, &code, Purpose::VerifyEmail).await?;
    if row.email_verified_at.is_some() {
        return Err(Error::Conflict("this email is already verified".into()));
    }
    users::user_email_verify(&call.app.db, &row.id).await?;
    me_by_id(call, &row.id).await
}

async fn me_by_id(call: &Call<'_>, id: &str) -> Result<User, Error> {
    let row = users::user_get(&call.app.db, id)
        .await?
        .ok_or_else(|| Error::Internal("a user vanished mid-request".into()))?;
    Ok(user_view(&row))
}

pub async fn account_email_verification_resend(call: &Call<'_>) -> Result<Accepted, Error> {
    let row = current_user(call).await?;
    if row.email_verified_at.is_some() {
        return Err(Error::Conflict("this email is already verified".into()));
    }
    send_code(call, &row, Purpose::VerifyEmail).await?;
    Ok(Accepted {
        status: "accepted".into(),
    })
}

pub async fn account_password_forgot(
    call: &Call<'_>,
    body: AccountPasswordForgot,
) -> Result<Accepted, Error> {
    let AccountPasswordForgot { email } = body;
    let email = normalize_email(&email);
    call.limit_per_email(&email).await?;
    // The same answer whether or not the account exists.
    if let Some(row) = users::user_get_by_email(&call.app.db, &email).await? {
        send_code(call, &row, Purpose::ResetPassword).await?;
    }
    Ok(Accepted {
        status: "accepted".into(),
    })
}

pub async fn account_password_reset(
    call: &Call<'_>,
    body: AccountPasswordReset,
) -> Result<(), Error> {
    let AccountPasswordReset {
        code,
        email,
        new_password,
    } = body;
    let row = consume_code(call, &email, &code, Purpose::ResetPassword).await?;
    let password_hash = passwords::hash(new_password.to_string()).await?;
    users::user_password_set(&call.app.db, &row.id, &password_hash).await?;
    Ok(())
}

pub async fn account_totp_setup(call: &Call<'_>) -> Result<TotpSetup, Error> {
    let row = current_user(call).await?;
    if row.totp_enabled_at.is_some() {
        return Err(Error::Conflict("TOTP is already enabled".into()));
    }
    let secret = totp::new_secret();
    let otpauth_uri = totp::otpauth_uri(&secret, &row.email)
        .ok_or_else(|| Error::Internal("building an otpauth URI".into()))?;
    users::user_totp_secret_set(&call.app.db, &row.id, &secret).await?;
    Ok(TotpSetup {
        issuer: totp::ISSUER.into(),
        otpauth_uri,
        secret,
    })
}

pub async fn account_totp_verify(call: &Call<'_>, body: AccountTotpVerify) -> Result<User, Error> {
    let AccountTotpVerify { code } = body;
    let row = current_user(call).await?;
    if row.totp_enabled_at.is_some() {
        return Err(Error::Conflict("TOTP is already enabled".into()));
    }
    let secret = row
        .totp_secret
        .as_deref()
        .ok_or_else(|| Error::Conflict("no TOTP setup is pending: call totp setup first".into()))?;
    let wrong = || Error::Validation(vec![("code".into(), "wrong or already used code".into())]);
    let step = totp::verify(secret, &code, unix_now(), row.totp_last_step).ok_or_else(wrong)?;
    if !users::user_totp_step_accept(&call.app.db, &row.id, step).await? {
        return Err(wrong());
    }
    users::user_totp_enable(&call.app.db, &row.id).await?;
    me_by_id(call, &row.id).await
}
