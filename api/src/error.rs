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

    /// Maps an error dropshot produced into the envelope, by its status alone: every input the
    /// contract describes is parsed by this crate's extractors, which classify their failures
    /// by where the input came from, so what reaches here (a multipart body dropshot could not
    /// start reading, a body that could not be read) needs no finer reading. A message's
    /// wording is never looked at.
    pub fn from_dropshot(error: &HttpError) -> Self {
        let message = error.external_message.clone();
        let status = error.status_code.as_status();
        let code = match status {
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
            s if s.is_server_error() => {
                return Error::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::InternalError,
                    "internal error",
                );
            }
            _ => ErrorCode::InvalidRequest,
        };
        // The contract has no 415: a wrong content type is a malformed request.
        let status = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::BAD_REQUEST,
            s => s,
        };
        Error::new(status, code, message)
    }
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
    fn dropshot_errors_keep_their_status_whatever_their_message() {
        // A message that reads like a schema violation is not one: its status decides.
        let bad = Error::from(HttpError::for_bad_request(
            None,
            "missing field `message` at line 1 column 2".to_string(),
        ));
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(bad.code(), ErrorCode::InvalidRequest);
        assert!(bad.error.fields.is_empty());

        let media = Error::from(HttpError::for_client_error(
            None,
            dropshot::ClientErrorStatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected multipart/form-data".to_string(),
        ));
        assert_eq!(media.status(), StatusCode::BAD_REQUEST);

        let internal = Error::from(HttpError::for_internal_error("secret detail".to_string()));
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(internal.error.message, "internal error");
    }
}
