//! [`Reply`]: the response type of every operation.
//!
//! A dropshot error type cannot carry response headers, so errors are answered through the
//! success channel: a `Reply` holds either the operation's success response or an error
//! envelope, plus headers that go on either (rate-limit headers on every response, 429s
//! included). Its documented metadata is the success type's, plus the headers named by `H`,
//! so the emitted OpenAPI document is the one the contract describes.

use crate::types;
use dropshot::{
    ApiEndpointResponse, Body, HttpError, HttpResponse, HttpResponseHeaders, HttpResponseOk,
};
use http::{HeaderMap, Response, StatusCode};
use schemars::JsonSchema;
use serde::Serialize;
use std::marker::PhantomData;

/// Which headers an operation's responses document, beyond its success type's own.
pub trait DocumentedHeaders: Send + Sync + 'static {
    fn document(metadata: &mut ApiEndpointResponse);
}

/// Operational endpoints: no extra headers.
#[derive(Debug)]
pub enum NoDocumentedHeaders {}

impl DocumentedHeaders for NoDocumentedHeaders {
    fn document(_metadata: &mut ApiEndpointResponse) {}
}

/// Rate-limited operations: `X-RateLimit-Limit`, `-Remaining` and `-Reset`.
#[derive(Debug)]
pub enum RateLimited {}

impl DocumentedHeaders for RateLimited {
    fn document(metadata: &mut ApiEndpointResponse) {
        // dropshot builds header documentation only inside `HttpResponseHeaders`; borrow it.
        let documented =
            HttpResponseHeaders::<HttpResponseOk<()>, RateLimitHeaders>::response_metadata();
        metadata.headers.extend(documented.headers);
    }
}

/// The rate-limit headers as dropshot documents them. Values are sent as decimal strings
/// (dropshot refuses header fields that do not serialize as strings).
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct RateLimitHeaders {
    /// Requests allowed per window for this credential and rate-limit class.
    #[serde(rename = "X-RateLimit-Limit", serialize_with = "as_string")]
    pub limit: u64,
    /// Requests left in the current window.
    #[serde(rename = "X-RateLimit-Remaining", serialize_with = "as_string")]
    pub remaining: u64,
    /// Unix time (seconds) at which the window is full again.
    #[serde(rename = "X-RateLimit-Reset", serialize_with = "as_string")]
    pub reset: u64,
}

fn as_string<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// The response of an operation: its success response or an error envelope, plus headers.
pub struct Reply<R, H: DocumentedHeaders = NoDocumentedHeaders> {
    result: Result<R, types::Error>,
    headers: HeaderMap,
    documented: PhantomData<H>,
}

impl<R, H: DocumentedHeaders> std::fmt::Debug for Reply<R, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let outcome = match &self.result {
            Ok(_) => "ok".to_string(),
            Err(error) => format!("{error:?}"),
        };
        f.debug_struct("Reply")
            .field("result", &outcome)
            .field("headers", &self.headers)
            .finish()
    }
}

impl<R, H: DocumentedHeaders> Reply<R, H> {
    pub fn ok(response: R) -> Self {
        Self::from_result(Ok(response))
    }

    pub fn error(error: types::Error) -> Self {
        Self::from_result(Err(error))
    }

    pub fn from_result(result: Result<R, types::Error>) -> Self {
        Self {
            result,
            headers: HeaderMap::new(),
            documented: PhantomData,
        }
    }

    /// Headers sent with the response, whichever it is.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The error envelope, when this reply is an error.
    pub fn as_error(&self) -> Option<&types::Error> {
        self.result.as_ref().err()
    }
}

impl<R, H> HttpResponse for Reply<R, H>
where
    R: HttpResponse + Send + Sync + 'static,
    H: DocumentedHeaders,
{
    fn to_result(self) -> Result<Response<Body>, HttpError> {
        let mut response = match self.result {
            Ok(success) => success.to_result()?,
            Err(error) => error.to_response()?,
        };
        response.headers_mut().extend(self.headers);
        Ok(response)
    }

    fn response_metadata() -> ApiEndpointResponse {
        let mut metadata = R::response_metadata();
        H::document(&mut metadata);
        metadata
    }

    fn status_code(&self) -> StatusCode {
        match &self.result {
            Ok(success) => success.status_code(),
            Err(error) => error.status(),
        }
    }
}

/// A success response whose body is not JSON (SSE, YAML, HTML, Prometheus text): documented
/// as a 200 of any media type, which is as much as dropshot can say of a raw body.
pub struct Raw(pub Response<Body>);

impl HttpResponse for Raw {
    fn to_result(self) -> Result<Response<Body>, HttpError> {
        Ok(self.0)
    }

    fn response_metadata() -> ApiEndpointResponse {
        ApiEndpointResponse {
            schema: None,
            headers: Vec::new(),
            success: Some(StatusCode::OK),
            description: None,
        }
    }

    fn status_code(&self) -> StatusCode {
        self.0.status()
    }
}
