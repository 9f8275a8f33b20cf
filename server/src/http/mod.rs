//! The HTTP layer: the generated API trait implemented on [`api::ServerImpl`].
//!
//! Handlers stay thin: they unwrap their inputs, call a service, and hand the result to
//! [`reply`], the one place where an [`Error`] becomes the contract's envelope (stamped with
//! the request id, logged, counted).

mod api;

pub use api::ServerImpl;

use crate::app::App;
use crate::error::Error;
use botwire_api::{JsonBody, Parsed, ParsedBody, QueryParams, RateLimited, Raw, Reply, types};
use dropshot::{Body, HttpResponse, RequestContext};
use http::{Response, header};

pub type Ctx = RequestContext<App>;
/// The return type of a rate-limited operation.
pub type Limited<R> = Result<Reply<R, RateLimited>, types::Error>;
/// The return type of an operational endpoint (no rate-limit headers).
pub type Operational<R> = Result<Reply<R>, types::Error>;

/// Turns a service result into the operation's reply: errors become the envelope with the
/// request id; internal errors are logged with their detail, which the client never sees.
pub fn reply<R, H>(rqctx: &Ctx, result: Result<R, Error>) -> Result<Reply<R, H>, types::Error>
where
    R: HttpResponse + Send + Sync + 'static,
    H: botwire_api::DocumentedHeaders,
{
    let operation_id = rqctx.endpoint.operation_id.as_str();
    let reply = match result {
        Ok(success) => {
            rqctx
                .context()
                .metrics
                .record(operation_id, success.status_code().as_u16());
            Reply::ok(success)
        }
        Err(error) => {
            if error.is_internal() {
                slog::error!(rqctx.log, "request failed"; "operation_id" => operation_id, "error" => %error);
            }
            let envelope = error.to_envelope().with_request_id(&rqctx.request_id);
            rqctx
                .context()
                .metrics
                .record(operation_id, envelope.status().as_u16());
            Reply::error(envelope)
        }
    };
    Ok(reply)
}

/// The answer of every operation that is not built yet: its inputs are still checked against
/// the contract (a bad request gets its 400/413/422), then 501 `not_implemented`.
pub fn not_implemented<R, H>(rqctx: &Ctx, inputs: impl Inputs) -> Result<Reply<R, H>, types::Error>
where
    R: HttpResponse + Send + Sync + 'static,
    H: botwire_api::DocumentedHeaders,
{
    let operation_id = rqctx.endpoint.operation_id.clone();
    reply(
        rqctx,
        inputs.check().and(Err(Error::NotImplemented(operation_id))),
    )
}

/// An operation's extracted inputs, which may have failed to parse.
pub trait Inputs {
    /// Drops the inputs, keeping only whether they parsed.
    fn check(self) -> Result<(), Error>;
}

impl Inputs for () {
    fn check(self) -> Result<(), Error> {
        Ok(())
    }
}

impl<E> Inputs for Parsed<E> {
    fn check(self) -> Result<(), Error> {
        self.into_result().map(drop).map_err(Error::from)
    }
}

impl<E> Inputs for ParsedBody<E> {
    fn check(self) -> Result<(), Error> {
        self.into_result().map(drop).map_err(Error::from)
    }
}

impl<T> Inputs for JsonBody<T> {
    fn check(self) -> Result<(), Error> {
        self.into_result().map(drop).map_err(Error::Request)
    }
}

impl<T> Inputs for QueryParams<T> {
    fn check(self) -> Result<(), Error> {
        self.into_result().map(drop).map_err(Error::Request)
    }
}

impl<A: Inputs, B: Inputs> Inputs for (A, B) {
    fn check(self) -> Result<(), Error> {
        self.0.check().and(self.1.check())
    }
}

impl<A: Inputs, B: Inputs, C: Inputs> Inputs for (A, B, C) {
    fn check(self) -> Result<(), Error> {
        self.0.check().and(self.1.check()).and(self.2.check())
    }
}

/// A non-JSON success body (YAML, HTML, Prometheus text).
pub fn raw(content_type: &'static str, body: String) -> Result<Raw, Error> {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .map(Raw)
        .map_err(|e| Error::Internal(format!("building a response: {e}")))
}
