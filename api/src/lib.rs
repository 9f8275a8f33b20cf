//! The Botwire HTTP interface: the dropshot API trait and the contract's types, generated from
//! `openapi.yaml` by `cargo xtask regen`, plus the few hand-written pieces they use.
//!
//! This crate knows nothing about storage, the answer engine or any other implementation
//! detail: the server implements [`BotwireApi`] on its own context type.
//!
//! Every handler receives its inputs wrapped in [`Parsed`] / [`ParsedBody`] and answers with a
//! [`Reply`], so that *every* error (extractor failures included) goes out through the
//! handler: with the request id in the envelope and with the response headers the server
//! adds (rate limits). dropshot has no middleware; this is the seam that replaces it.

#[path = "generated/api.rs"]
mod api;
#[path = "generated/types.rs"]
pub mod types;

pub mod contract;
mod error;
mod json_body;
pub mod policy;
mod query;
pub mod reply;
mod schema;

pub use api::*;
pub use json_body::{JsonBody, given};
pub use query::QueryParams;
pub use reply::{
    DocumentedHeaders, NoDocumentedHeaders, RateLimitHeaders, RateLimited, Raw, Reply,
};
pub use schema::Nullable;

use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ExclusiveExtractor, ExtractorMetadata, HttpError, RequestContext,
    ServerContext, SharedExtractor,
};

/// A shared extractor (path, query, headers) whose failure is handed to the handler instead of
/// being answered by dropshot. The documented parameters are exactly the inner extractor's.
#[derive(Debug)]
pub struct Parsed<E>(Result<E, HttpError>);

impl<E> Parsed<E> {
    /// The extracted value, or the reason it could not be extracted.
    pub fn into_result(self) -> Result<E, HttpError> {
        self.0
    }
}

#[async_trait]
impl<E: SharedExtractor> SharedExtractor for Parsed<E> {
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
    ) -> Result<Self, HttpError> {
        Ok(Parsed(E::from_request(rqctx).await))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        E::metadata(body_content_type)
    }
}

/// The body counterpart of [`Parsed`] (dropshot's body extractors are exclusive).
#[derive(Debug)]
pub struct ParsedBody<E>(Result<E, HttpError>);

impl<E> ParsedBody<E> {
    /// The extracted body, or the reason it could not be extracted.
    pub fn into_result(self) -> Result<E, HttpError> {
        self.0
    }
}

#[async_trait]
impl<E: ExclusiveExtractor> ExclusiveExtractor for ParsedBody<E> {
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
        request: http::Request<dropshot::Body>,
    ) -> Result<Self, HttpError> {
        Ok(ParsedBody(E::from_request(rqctx, request).await))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        E::metadata(body_content_type)
    }
}
