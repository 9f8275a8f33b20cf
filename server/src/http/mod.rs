//! The HTTP layer: the generated API trait implemented on [`api::ServerImpl`].
//!
//! Handlers stay thin: they unwrap their inputs, call a service, and hand the result to
//! [`reply`], the one place where an [`Error`] becomes the contract's envelope (stamped with
//! the request id, logged, counted).

mod api;
mod cors;
mod fallback;

pub use api::ServerImpl;
pub use fallback::register as register_fallbacks;

use crate::app::App;
use crate::auth;
use crate::auth::Principal;
use crate::auth::access;
use crate::error::Error;
use crate::services::Call;
use crate::services::chat::LiveEvent;
use crate::services::inbox::streams::Frame;
use botwire_api::policy::{RateLimitClass, operation_policy};
use botwire_api::{
    HeaderParams, JsonBody, ParsedBody, PathParams, QueryParams, RateLimited, Raw, Reply, types,
};
use dropshot::{Body, HttpResponse, RequestContext};
use http::{HeaderMap, Response, header};

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

/// Runs a rate-limited operation: resolves the caller (the contract's security for this
/// operation), applies the rate limit of its class, extracts the inputs, decides the
/// operation's access rule (`x-botwire-access`, [`access::authorize`]), and runs the service.
/// Every answer, errors included, carries the rate-limit headers; a 429 also `Retry-After`.
pub async fn serve<I, R, F>(rqctx: &Ctx, inputs: I, service: F) -> Limited<R>
where
    I: Inputs,
    R: HttpResponse + Send + Sync + 'static,
    F: AsyncFnOnce(&Call<'_>, I::Value) -> Result<R, Error>,
{
    let app = rqctx.context();
    let Some(policy) = operation_policy(&rqctx.endpoint.operation_id) else {
        let missing = Error::Internal(format!("no policy for {}", rqctx.endpoint.operation_id));
        return reply(rqctx, Err(missing));
    };
    let ip = rqctx.request.remote_addr().ip();
    let principal = auth::authenticate(app, rqctx.request.headers(), policy).await;
    // A visitor's request from a page passed the bot's origin check: that page may read it.
    let cors_origin = match &principal {
        Ok(Principal::Visitor { .. }) => rqctx.request.headers().get(header::ORIGIN).cloned(),
        _ => None,
    };
    // A caller whose credential fails is counted by address, which also slows down guessing.
    let bucket = match &principal {
        Ok(principal) => principal.rate_limit_key(ip),
        Err(_) => format!("ip:{ip}"),
    };
    let limit = principal
        .as_ref()
        .ok()
        .and_then(|p| p.rate_limit_override(policy.class))
        .unwrap_or_else(|| class_limit(app, policy.class));
    let (result, mut headers) = match app
        .limiter
        .check(&format!("{:?}:{bucket}", policy.class), limit)
        .await
    {
        Err(error) => (Err(Error::from(error)), HeaderMap::new()),
        Ok(decision) if !decision.allowed => {
            (Err(Error::RateLimited(decision)), decision.headers())
        }
        Ok(decision) => {
            let result = match (principal, inputs.extract()) {
                (Err(error), _) | (Ok(_), Err(error)) => Err(error),
                (Ok(principal), Ok(inputs)) => {
                    let variables = access::PathVariables {
                        policy,
                        path: rqctx.request.uri().path(),
                    };
                    match access::authorize(app, &principal, policy.access, &variables).await {
                        Err(error) => Err(error),
                        Ok(grant) => {
                            let call = Call {
                                app,
                                principal,
                                ip,
                                grant,
                            };
                            service(&call, inputs).await
                        }
                    }
                }
            };
            (result, decision.headers())
        }
    };
    // A limit the service applied itself (per email) speaks for its own 429.
    if let Err(Error::RateLimited(decision)) = &result {
        headers = decision.headers();
    }
    let mut reply = reply(rqctx, result)?;
    reply.headers_mut().extend(headers);
    if let Some(origin) = cors_origin {
        cors::allow(reply.headers_mut(), origin);
    }
    Ok(reply)
}

fn class_limit(app: &App, class: RateLimitClass) -> u32 {
    let limits = app.config.rate_limits;
    match class {
        RateLimitClass::Standard | RateLimitClass::None => limits.standard,
        RateLimitClass::Chat => limits.chat,
        RateLimitClass::Auth => limits.auth,
    }
}

/// The answer of every operation that is not built yet: it goes through the same pipeline as
/// the others (credentials, rate limit and its headers, inputs checked against the contract),
/// then answers 501 `not_implemented`.
pub async fn not_implemented<I, R>(rqctx: &Ctx, inputs: I) -> Limited<R>
where
    I: Inputs,
    R: HttpResponse + Send + Sync + 'static,
{
    let operation_id = rqctx.endpoint.operation_id.clone();
    serve(rqctx, inputs, async |_, _| {
        Err(Error::NotImplemented(operation_id))
    })
    .await
}

/// An operation's extracted inputs, which may have failed to parse.
pub trait Inputs {
    type Value;
    /// The parsed values, or why the request did not carry them.
    fn extract(self) -> Result<Self::Value, Error>;
}

impl Inputs for () {
    type Value = ();
    fn extract(self) -> Result<(), Error> {
        Ok(())
    }
}

impl<T> Inputs for PathParams<T> {
    type Value = T;
    fn extract(self) -> Result<T, Error> {
        self.into_result().map_err(Error::Request)
    }
}

impl<T> Inputs for HeaderParams<T> {
    type Value = T;
    fn extract(self) -> Result<T, Error> {
        self.into_result().map_err(Error::Request)
    }
}

impl<E> Inputs for ParsedBody<E> {
    type Value = E;
    fn extract(self) -> Result<E, Error> {
        Ok(self.into_result()?)
    }
}

impl<T> Inputs for JsonBody<T> {
    type Value = T;
    fn extract(self) -> Result<T, Error> {
        self.into_result().map_err(Error::Request)
    }
}

/// A JSON body together with the JSON it was read from (for partial updates).
pub struct WithJson<T>(pub JsonBody<T>);

impl<T> Inputs for WithJson<T> {
    type Value = (T, serde_json::Value);
    fn extract(self) -> Result<Self::Value, Error> {
        self.0.into_result_with_json().map_err(Error::Request)
    }
}

impl<T> Inputs for QueryParams<T> {
    type Value = T;
    fn extract(self) -> Result<T, Error> {
        self.into_result().map_err(Error::Request)
    }
}

impl<A: Inputs, B: Inputs> Inputs for (A, B) {
    type Value = (A::Value, B::Value);
    fn extract(self) -> Result<Self::Value, Error> {
        Ok((self.0.extract()?, self.1.extract()?))
    }
}

impl<A: Inputs, B: Inputs, C: Inputs> Inputs for (A, B, C) {
    type Value = (A::Value, B::Value, C::Value);
    fn extract(self) -> Result<Self::Value, Error> {
        Ok((self.0.extract()?, self.1.extract()?, self.2.extract()?))
    }
}

/// A chat reply as Server-Sent Events: the text in `delta` events (a few words each), the
/// `sources`, then `done` with the whole stored reply (stored before anything is sent, so a
/// client that reads only `done` loses nothing).
pub fn sse(reply: &types::ChatReply) -> Result<Raw, Error> {
    use std::fmt::Write;
    let mut body = String::new();
    for piece in crate::services::chat::pieces(reply.reply.as_deref().unwrap_or_default()) {
        let _ = write!(
            body,
            "event: delta\ndata: {}\n\n",
            serde_json::json!({ "text": piece })
        );
    }
    // A conversation handed to a human has no reply: its stream is the `done` event alone.
    if reply.reply.is_some() {
        let _ = write!(
            body,
            "event: sources\ndata: {}\n\n",
            serde_json::json!({ "sources": reply.sources })
        );
    }
    let done = serde_json::to_string(reply)
        .map_err(|e| Error::Internal(format!("serializing a reply: {e}")))?;
    let _ = write!(body, "event: done\ndata: {done}\n\n");
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(body))
        .map(Raw)
        .map_err(|e| Error::Internal(format!("building a response: {e}")))
}

/// A live chat reply as Server-Sent Events: each delta as it comes, then `sources` and `done`
/// (or `error`), with a `: ping` comment whenever `ping_every` passes in silence. Dropping the
/// body (the client went away) drops the receiver, which cancels the generation.
pub fn sse_live(
    events: tokio::sync::mpsc::Receiver<LiveEvent>,
    ping_every: std::time::Duration,
    request_id: &str,
) -> Result<Raw, Error> {
    let start = tokio::time::Instant::now() + ping_every;
    let mut ping = tokio::time::interval_at(start, ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let body = LiveBody {
        events,
        ping,
        request_id: request_id.to_string(),
        ended: false,
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::wrap(body))
        .map(Raw)
        .map_err(|e| Error::Internal(format!("building a response: {e}")))
}

struct LiveBody {
    events: tokio::sync::mpsc::Receiver<LiveEvent>,
    ping: tokio::time::Interval,
    request_id: String,
    ended: bool,
}

impl LiveBody {
    fn frame(&mut self, event: LiveEvent) -> bytes::Bytes {
        let (name, data) = match event {
            LiveEvent::Delta(text) => ("delta", serde_json::json!({ "text": text }).to_string()),
            LiveEvent::Sources(sources) => (
                "sources",
                serde_json::json!({ "sources": sources }).to_string(),
            ),
            LiveEvent::Done(reply) => {
                self.ended = true;
                ("done", serde_json::to_string(&reply).unwrap_or_default())
            }
            LiveEvent::Failed(error) => {
                self.ended = true;
                let envelope = error.to_envelope().with_request_id(&self.request_id);
                (
                    "error",
                    serde_json::to_string(&envelope).unwrap_or_default(),
                )
            }
        };
        bytes::Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
    }
}

impl http_body::Body for LiveBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    /// After `done` or `error`: hyper then ends the body with that last write.
    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        if self.ended {
            return Poll::Ready(None);
        }
        match self.events.poll_recv(cx) {
            Poll::Ready(Some(event)) => {
                self.ping.reset();
                let bytes = self.frame(event);
                return Poll::Ready(Some(Ok(http_body::Frame::data(bytes))));
            }
            Poll::Ready(None) => {
                // The task ended without `done` or `error`: it cannot, short of a panic.
                let envelope = Error::Internal("the reply stream ended early".into())
                    .to_envelope()
                    .with_request_id(&self.request_id);
                self.ended = true;
                let data = serde_json::to_string(&envelope).unwrap_or_default();
                let bytes = bytes::Bytes::from(format!("event: error\ndata: {data}\n\n"));
                return Poll::Ready(Some(Ok(http_body::Frame::data(bytes))));
            }
            Poll::Pending => {}
        }
        match self.ping.poll_tick(cx) {
            Poll::Ready(_) => Poll::Ready(Some(Ok(http_body::Frame::data(
                bytes::Bytes::from_static(b": ping\n\n"),
            )))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A live stream's frames as Server-Sent Events (`id:`, `event:`, `data:`), with a `: ping`
/// comment whenever `ping_every` passes in silence. The stream stays open while its feeding
/// task runs; dropping the body (the client went away) stops that task.
pub fn sse_feed(
    frames: tokio::sync::mpsc::Receiver<Frame>,
    ping_every: std::time::Duration,
) -> Result<Raw, Error> {
    let start = tokio::time::Instant::now() + ping_every;
    let mut ping = tokio::time::interval_at(start, ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::wrap(FeedBody { frames, ping }))
        .map(Raw)
        .map_err(|e| Error::Internal(format!("building a response: {e}")))
}

struct FeedBody {
    frames: tokio::sync::mpsc::Receiver<Frame>,
    ping: tokio::time::Interval,
}

impl http_body::Body for FeedBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::fmt::Write;
        use std::task::Poll;
        match self.frames.poll_recv(cx) {
            Poll::Ready(Some(frame)) => {
                self.ping.reset();
                let mut text = String::with_capacity(frame.data.len() + 64);
                if let Some(id) = frame.id {
                    let _ = writeln!(text, "id: {id}");
                }
                let _ = write!(text, "event: {}\ndata: {}\n\n", frame.event, frame.data);
                return Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from(text)))));
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        match self.ping.poll_tick(cx) {
            Poll::Ready(_) => Poll::Ready(Some(Ok(http_body::Frame::data(
                bytes::Bytes::from_static(b": ping\n\n"),
            )))),
            Poll::Pending => Poll::Pending,
        }
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
