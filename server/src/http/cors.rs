//! CORS for the visitor operations, the ones a widget on a customer's page calls with the
//! bot's widget token. The origin check itself is the token's (`auth`: a bot with
//! `allowed_origins` admits its token only from them); here a request that passed it gets
//! `Access-Control-Allow-Origin`, so the page can read the answer, and any other gets none, so
//! a page of another origin reads nothing. A preflight carries no credential, so it cannot know
//! the bot: it allows the methods and headers and leaves the decision to the request.

use dropshot::Body;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

/// The request headers a widget sends.
const REQUEST_HEADERS: &str = "content-type, x-widget-token, idempotency-key, last-event-id";
/// The response headers a page may read beyond the CORS-safelisted ones.
const EXPOSED_HEADERS: &str =
    "x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, retry-after";
/// How long a browser may reuse a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The headers that let a page of `origin` read a visitor operation's answer.
pub fn allow(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    headers.append(header::VARY, HeaderValue::from_static("origin"));
}

/// The answer to a preflight from `origin` for a path whose visitor operations have `methods`.
pub fn preflight(origin: HeaderValue, methods: &str) -> Result<Response<Body>, http::Error> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, methods)
        .header(header::ACCESS_CONTROL_ALLOW_HEADERS, REQUEST_HEADERS)
        .header(header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE)
        .header(header::VARY, "origin")
        .body(Body::empty())
}
