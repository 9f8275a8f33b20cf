//! The Botwire HTTP interface: the dropshot API trait and the contract's types, generated from
//! `openapi.yaml` by `cargo xtask regen`, plus the few hand-written pieces they use.
//!
//! This crate knows nothing about storage, the answer engine or any other implementation
//! detail: the server implements [`BotwireApi`] on its own context type.
//!
//! Every handler receives its inputs wrapped in [`PathParams`] / [`QueryParams`] /
//! [`HeaderParams`] / [`JsonBody`] / [`ParsedBody`] and answers with a
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
mod params;
pub mod policy;
pub mod reply;
mod schema;

pub use api::*;
pub use json_body::{JsonBody, given};
pub use params::{HeaderParams, PathParams, QueryParams};
pub use reply::{
    DocumentedHeaders, NoDocumentedHeaders, RateLimitHeaders, RateLimited, Raw, Reply,
};
pub use schema::Nullable;

use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ExclusiveExtractor, ExtractorMetadata, HttpError, RequestContext,
    ServerContext,
};

/// A body extractor (the multipart form) whose failure is handed to the handler instead of
/// being answered by dropshot. The documented body is exactly the inner extractor's.
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
