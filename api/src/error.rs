//! The error envelope (`types::Error`, generated from the contract) as a dropshot error, and
//! the one mapping of dropshot's own errors (extractor failures) into it.

use crate::types::{Error, ErrorCode, ErrorDetail, FieldError};
use dropshot::{Body, ErrorStatusCode, HttpError, HttpResponseError};
use http::{Response, StatusCode, header};

impl Error {
    /// An envelope without a request id yet (the server stamps it before answering).
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            error: ErrorDetail {
                code,
                fields: Vec::new(),
                message: message.into(),
                request_id: String::new(),
                status: i64::from(status.as_u16()),
            },
        }
    }

    pub fn with_fields(mut self, fields: Vec<FieldError>) -> Self {
        self.error.fields = fields;
        self
    }

    pub fn with_request_id(mut self, request_id: &str) -> Self {
        self.error.request_id = request_id.to_string();
        self
    }

    pub fn status(&self) -> StatusCode {
        u16::try_from(self.error.status)
            .ok()
            .and_then(|status| StatusCode::from_u16(status).ok())
            .filter(|status| status.is_client_error() || status.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn code(&self) -> ErrorCode {
        self.error.code
    }

    pub fn not_implemented(operation_id: &str) -> Self {
        Error::new(
            StatusCode::NOT_IMPLEMENTED,
            ErrorCode::NotImplemented,
            format!("{operation_id} is not implemented yet"),
        )
    }

    /// The envelope as an HTTP response.
    pub fn to_response(&self) -> Result<Response<Body>, HttpError> {
        let body = serde_json::to_vec(self)
            .map_err(|e| HttpError::for_internal_error(format!("serializing an error: {e}")))?;
        Response::builder()
            .status(self.status())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .map_err(|e| HttpError::for_internal_error(format!("building an error response: {e}")))
    }

    /// Maps an error dropshot produced (an extractor failure) into the envelope.
    pub fn from_dropshot(error: &HttpError) -> Self {
        let message = error.external_message.clone();
        let status = error.status_code.as_status();
        // dropshot answers 400 when a body is over its limit; the contract says 413.
        if message.contains("exceeded maximum size") {
            return Error::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                message,
            );
        }
        match status {
            StatusCode::BAD_REQUEST => classify_bad_request(message),
            // The contract has no 415: a wrong content type is a malformed request.
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Error::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message)
            }
            StatusCode::NOT_FOUND => Error::new(status, ErrorCode::NotFound, message),
            StatusCode::METHOD_NOT_ALLOWED => {
                Error::new(status, ErrorCode::MethodNotAllowed, message)
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                Error::new(status, ErrorCode::PayloadTooLarge, message)
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                Error::new(status, ErrorCode::ServiceUnavailable, message)
            }
            s if s.is_server_error() => Error::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalError,
                "internal error",
            ),
            s => Error::new(s, ErrorCode::InvalidRequest, message),
        }
    }
}

/// dropshot reports both unparseable input and input that parses but breaks the schema as
/// 400. The contract distinguishes them: syntax is 400 `invalid_request`; a missing field,
/// wrong type or broken constraint is 422 `validation_failed` naming the field.
fn classify_bad_request(message: String) -> Error {
    const SCHEMA_VIOLATIONS: [&str; 7] = [
        "missing field",
        "unknown field",
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "doesn't match pattern",
    ];
    let is_violation = SCHEMA_VIOLATIONS
        .iter()
        .any(|needle| message.contains(needle))
        || message.contains("longer than")
        || message.contains("shorter than");
    if !is_violation {
        return Error::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message);
    }
    let field = backticked(&message).unwrap_or_else(|| "body".to_string());
    Error::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
        message.clone(),
    )
    .with_fields(vec![FieldError { field, message }])
}

/// The first `name` in backticks in a serde message (`missing field `x``).
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

impl From<HttpError> for Error {
    fn from(error: HttpError) -> Self {
        Error::from_dropshot(&error)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error.code, self.error.message)
    }
}

impl HttpResponseError for Error {
    fn status_code(&self) -> ErrorStatusCode {
        ErrorStatusCode::from_status(self.status())
            .unwrap_or(ErrorStatusCode::INTERNAL_SERVER_ERROR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_over_the_limit_is_413() {
        let error = HttpError::for_bad_request(
            None,
            "request body exceeded maximum size of 10 bytes".to_string(),
        );
        let mapped = Error::from(error);
        assert_eq!(mapped.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(mapped.code(), ErrorCode::PayloadTooLarge);
    }

    #[test]
    fn syntax_is_400_and_schema_violations_are_422_with_the_field() {
        let syntax = Error::from(HttpError::for_bad_request(
            None,
            "unable to parse JSON body: expected value at line 1 column 1".to_string(),
        ));
        assert_eq!(syntax.status(), StatusCode::BAD_REQUEST);
        assert_eq!(syntax.code(), ErrorCode::InvalidRequest);

        let missing = Error::from(HttpError::for_bad_request(
            None,
            "unable to parse JSON body: missing field `message` at line 1 column 2".to_string(),
        ));
        assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(missing.error.fields[0].field, "message");
    }
}
