//! [`QueryParams`]: the query-string extractor of every operation that takes one.
//!
//! It documents exactly what dropshot's `Query` documents, and parses like it
//! (`serde_urlencoded`), but through `serde_path_to_error`, so that a bad value is 422
//! `validation_failed` naming the parameter (`limit`, `status`), as the contract says.

use crate::json_body::violation;
use crate::types::Error;
use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ExtractorMetadata, HttpError, Query, RequestContext, ServerContext,
    SharedExtractor,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// The query parameters of type `T`, or the envelope saying which one is wrong.
#[derive(Debug)]
pub struct QueryParams<T>(Result<T, Error>);

impl<T> QueryParams<T> {
    pub fn into_result(self) -> Result<T, Error> {
        self.0
    }
}

#[async_trait]
impl<T> SharedExtractor for QueryParams<T>
where
    T: DeserializeOwned + JsonSchema + Send + Sync + 'static,
{
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
    ) -> Result<Self, HttpError> {
        Ok(QueryParams(parse(
            rqctx.request.uri().query().unwrap_or(""),
        )))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        Query::<T>::metadata(body_content_type)
    }
}

pub(crate) fn parse<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer)
        .map_err(|error| violation(&error.path().to_string(), &error.inner().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use std::num::NonZeroU64;

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "only parsed")]
    struct List {
        limit: Option<NonZeroU64>,
        status: Option<Status>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Status {
        Open,
    }

    #[test]
    fn a_bad_value_is_422_naming_the_parameter() {
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=abc", "limit"),
            ("status=zz", "status"),
        ] {
            let error = parse::<List>(query).expect_err(query);
            assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            assert_eq!(error.error.fields[0].field, field, "{query}");
        }
        let ok = parse::<List>("limit=5&status=open").expect("valid");
        assert!(matches!(ok.status, Some(Status::Open)));
    }
}
