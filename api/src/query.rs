//! [`QueryParams`]: the query-string extractor of every operation that takes one.
//!
//! It documents exactly what dropshot's `Query` documents, and parses like it
//! (`serde_urlencoded`), but through `serde_path_to_error`, so that a bad value is 422
//! `validation_failed` naming the parameter (`limit`, `status`), as the contract says.
//!
//! After the typed parse, the raw values are checked against the operation's query
//! parameters in the contract (`T::schema_name()` is the generated query type's name,
//! `BotListQuery`; see [`crate::contract`]), which covers what the generated types do not
//! enforce (`limit=101` over a `maximum: 100`); every violation is named by its parameter.

use crate::contract;
use crate::json_body::{contract_violations, violation};
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
            &T::schema_name(),
        )))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        Query::<T>::metadata(body_content_type)
    }
}

/// Parses the query string into `T`, then checks the raw values against the query parameters
/// of the contract's operation whose query type is `type_name` (no check if there is none).
pub(crate) fn parse<T: DeserializeOwned>(query: &str, type_name: &str) -> Result<T, Error> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    let typed = serde_path_to_error::deserialize(deserializer)
        .map_err(|error| violation(&error.path().to_string(), &error.inner().to_string()))?;
    if let Some(value) = contract::query_value(type_name, query) {
        let found = contract::violations_of_query(type_name, &value);
        if !found.is_empty() {
            return Err(contract_violations(&found, "query"));
        }
    }
    Ok(typed)
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

    /// Not a query type of the contract: only the typed parse checks.
    const NO_SCHEMA: &str = "NotAContractQuery";

    #[test]
    fn a_bad_value_is_422_naming_the_parameter() {
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=abc", "limit"),
            ("status=zz", "status"),
        ] {
            let error = parse::<List>(query, NO_SCHEMA).expect_err(query);
            assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            assert_eq!(error.error.fields[0].field, field, "{query}");
        }
        let ok = parse::<List>("limit=5&status=open", NO_SCHEMA).expect("valid");
        assert!(matches!(ok.status, Some(Status::Open)));
    }
}
