//! The server's one error type and its one mapping to HTTP.
//!
//! Services return [`Error`] (the store returns [`DbError`], which converts into it); each case
//! is a named variant, and [`Error::to_envelope`] is the only place that decides its status
//! code and contract error code. Internal details (database errors) are logged by the HTTP
//! layer and never sent to the client.

use crate::db::DbError;
use botwire_api::types::{self, ErrorCode, FieldError};
use http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request could not be read (dropshot's extractors, or our own parsing).
    #[error("{}", .0.error.message)]
    Request(types::Error),
    /// The request parsed but breaks the contract; one entry per offending field.
    #[error("validation failed: {0:?}")]
    Validation(Vec<(String, String)>),
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {code}")]
    NotFound { code: ErrorCode, message: String },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0} is not implemented yet")]
    NotImplemented(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A rate limit is spent (the decision says until when).
    #[error("rate limit exceeded")]
    RateLimited(crate::ratelimit::Decision),
    /// A second factor is enrolled and the login gave no current code.
    #[error("totp required: {0}")]
    TotpRequired(&'static str),
    /// A request body the server could not read although it parsed as far as dropshot goes
    /// (a malformed multipart form).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// Chat with a bot that is deactivated.
    #[error("bot inactive: {0}")]
    BotInactive(String),
    /// The account's monthly message quota is spent.
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<dropshot::HttpError> for Error {
    fn from(error: dropshot::HttpError) -> Self {
        Error::Request(types::Error::from_dropshot(&error))
    }
}

impl Error {
    /// Whether this is the server's fault (logged at error level, details withheld).
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Db(_) | Error::Internal(_))
    }

    /// The contract's error envelope for this error (without the request id).
    pub fn to_envelope(&self) -> types::Error {
        use types::Error as Envelope;
        match self {
            Error::Request(envelope) => envelope.clone(),
            Error::Validation(fields) => {
                let message = fields
                    .iter()
                    .map(|(field, message)| format!("{field}: {message}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                Envelope::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::ValidationFailed,
                    message,
                )
                .with_fields(
                    fields
                        .iter()
                        .map(|(field, message)| FieldError {
                            field: field.clone(),
                            message: message.clone(),
                        })
                        .collect(),
                )
            }
            Error::Unauthorized(why) => {
                Envelope::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, *why)
            }
            Error::Forbidden(why) => {
                Envelope::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, why.clone())
            }
            Error::NotFound { code, message } => {
                Envelope::new(StatusCode::NOT_FOUND, *code, message.clone())
            }
            Error::Conflict(why) => {
                Envelope::new(StatusCode::CONFLICT, ErrorCode::Conflict, why.clone())
            }
            Error::NotImplemented(operation_id) => types::Error::not_implemented(operation_id),
            Error::RateLimited(decision) => Envelope::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimitExceeded,
                format!(
                    "rate limit of {} requests per minute exceeded; retry in {} s",
                    decision.limit,
                    decision.retry_after_secs.unwrap_or(1)
                ),
            ),
            Error::TotpRequired(why) => {
                Envelope::new(StatusCode::UNAUTHORIZED, ErrorCode::TotpRequired, *why)
            }
            Error::InvalidRequest(why) => Envelope::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                why.clone(),
            ),
            Error::PayloadTooLarge(why) => Envelope::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                why.clone(),
            ),
            Error::BotInactive(why) => {
                Envelope::new(StatusCode::FORBIDDEN, ErrorCode::BotInactive, why.clone())
            }
            Error::QuotaExceeded(why) => {
                Envelope::new(StatusCode::FORBIDDEN, ErrorCode::QuotaExceeded, why.clone())
            }
            Error::Unavailable(why) => Envelope::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServiceUnavailable,
                why.clone(),
            ),
            Error::Db(DbError::Pool(_) | DbError::Connect(_)) => Envelope::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServiceUnavailable,
                "the database is not reachable",
            ),
            Error::Db(_) | Error::Internal(_) => Envelope::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalError,
                "internal error",
            ),
        }
    }
}
