//! The extractors of an operation's parameters: [`PathParams`], [`QueryParams`] and
//! [`HeaderParams`].
//!
//! Each documents exactly what dropshot's `Path`, `Query` or `Header` documents, but parses
//! the parameters itself, the same way for all three: the texts are read as JSON values by
//! their schema in the contract (`limit=7` becomes the integer 7), checked against the
//! operation's parameters there (`T::schema_name()` is the generated type's name,
//! `BotGetPath`, see [`crate::contract`]), and only then deserialized into `T`. So a failure
//! is classified by where the input came from, never by the wording of a parser's message:
//!
//! - a path parameter or a header that breaks its schema is 400 `invalid_request` (the
//!   request is addressed or framed wrongly), naming the parameter (`bot_id`,
//!   `Idempotency-Key`);
//! - a query parameter that breaks its schema is 422 `validation_failed`, naming it (`limit`),
//!   as a body's field is.
//!
//! A parameter given twice is refused the same way (none of the contract's parameters is a
//! list); an integer written as a float (`limit=5.0`) is an integer, as JSON Schema says.

use crate::contract::{self, Violation, ViolationKind};
use crate::json_body::contract_terms;
use crate::types::{Error, ErrorCode, FieldError};
use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ExtractorMetadata, Header, HttpError, Path, Query, RequestContext,
    ServerContext, SharedExtractor,
};
use http::StatusCode;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where a parameter is, which decides the status of its failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Location {
    Path,
    Query,
    Header,
}

impl Location {
    /// The envelope of `found`, each violation named by its parameter.
    fn refusal(self, found: &[Violation]) -> Error {
        let fields: Vec<FieldError> = found
            .iter()
            .map(|v| FieldError {
                field: v.path.clone(),
                message: v.detail.clone(),
            })
            .collect();
        let (status, code, place) = match self {
            Location::Path => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                "path parameter",
            ),
            Location::Header => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, "header"),
            Location::Query => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                "query parameter",
            ),
        };
        let message = fields
            .iter()
            .map(|f| format!("{place} `{}`: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        Error::new(status, code, message).with_fields(fields)
    }
}

/// Reads the parameters `pairs` (name, text) of the type `T` found at `location`.
fn parse<'a, T: DeserializeOwned>(
    location: Location,
    type_name: &str,
    pairs: &[(&'a str, &'a str)],
) -> Result<T, Error> {
    let mut seen = std::collections::HashSet::new();
    let repeated: Vec<Violation> = pairs
        .iter()
        .filter(|(name, _)| !seen.insert(*name))
        .map(|(name, _)| Violation::new(ViolationKind::WrongType, *name, "given more than once"))
        .collect();
    if !repeated.is_empty() {
        return Err(location.refusal(&repeated));
    }
    let mut value = contract::params_value(type_name, pairs.iter().copied()).unwrap_or_else(|| {
        // Not a type of the contract (unit tests only): every value is its text.
        let object: Map<String, Value> = pairs
            .iter()
            .map(|(name, text)| (name.to_string(), Value::String(text.to_string())))
            .collect();
        Value::Object(object)
    });
    let found = contract::normalise_params(type_name, &mut value);
    if !found.is_empty() {
        return Err(location.refusal(&found));
    }
    // The contract's check passed, so this parse fails only where the generated type is
    // stricter than the contract; it still names the parameter.
    serde_path_to_error::deserialize(&value).map_err(|error| {
        let name = error.path().to_string();
        let detail = contract_terms(&error.into_inner().to_string());
        location.refusal(&[Violation::new(ViolationKind::WrongType, name, detail)])
    })
}

/// The path parameters of type `T`, or the envelope saying which one is wrong (400).
#[derive(Debug)]
pub struct PathParams<T>(Result<T, Error>);

impl<T> PathParams<T> {
    pub fn into_result(self) -> Result<T, Error> {
        self.0
    }
}

#[async_trait]
impl<T> SharedExtractor for PathParams<T>
where
    T: DeserializeOwned + JsonSchema + Send + Sync + 'static,
{
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
    ) -> Result<Self, HttpError> {
        // The router's variables, percent-decoded, as texts: this cannot fail for the
        // contract's paths (no variable takes the rest of the path).
        let texts = match Path::<BTreeMap<String, String>>::from_request(rqctx).await {
            Ok(texts) => texts.into_inner(),
            Err(error) => {
                let envelope = Error::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidRequest,
                    error.external_message,
                );
                return Ok(PathParams(Err(envelope)));
            }
        };
        let pairs: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Ok(PathParams(parse(Location::Path, &T::schema_name(), &pairs)))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        Path::<T>::metadata(body_content_type)
    }
}

/// The query parameters of type `T`, or the envelope saying which one is wrong (422).
/// Parameters the operation does not declare are ignored.
#[derive(Debug)]
pub struct QueryParams<T>(Result<T, Error>);

impl<T> QueryParams<T> {
    pub fn into_result(self) -> Result<T, Error> {
        self.0
    }
}

/// Parses a query string into `T`, the parameters of type `type_name`.
pub(crate) fn parse_query<T: DeserializeOwned>(query: &str, type_name: &str) -> Result<T, Error> {
    let texts: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
    let pairs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_ref(), t.as_ref()))
        .collect();
    parse(Location::Query, type_name, &pairs)
}

#[async_trait]
impl<T> SharedExtractor for QueryParams<T>
where
    T: DeserializeOwned + JsonSchema + Send + Sync + 'static,
{
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
    ) -> Result<Self, HttpError> {
        let query = rqctx.request.uri().query().unwrap_or("");
        Ok(QueryParams(parse_query(query, &T::schema_name())))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        Query::<T>::metadata(body_content_type)
    }
}

/// The documented headers of type `T`, or the envelope saying which one is wrong (400).
/// Other headers are not looked at.
#[derive(Debug)]
pub struct HeaderParams<T>(Result<T, Error>);

impl<T> HeaderParams<T> {
    pub fn into_result(self) -> Result<T, Error> {
        self.0
    }
}

/// Reads the headers of type `type_name` (by their names in the contract, in any case) from
/// `headers` into `T`.
pub(crate) fn parse_headers<T: DeserializeOwned>(
    headers: &http::HeaderMap,
    type_name: &str,
) -> Result<T, Error> {
    let names = contract::params_schema(type_name)
        .and_then(|schema| schema.get("properties"))
        .and_then(Value::as_object)
        .map(|properties| properties.keys().map(String::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut pairs = Vec::new();
    let mut unreadable = Vec::new();
    for name in names {
        for value in headers.get_all(name) {
            match value.to_str() {
                Ok(text) => pairs.push((name, text)),
                Err(_) => unreadable.push(Violation::new(
                    ViolationKind::WrongType,
                    name,
                    "not visible ASCII text",
                )),
            }
        }
    }
    if !unreadable.is_empty() {
        return Err(Location::Header.refusal(&unreadable));
    }
    parse(Location::Header, type_name, &pairs)
}

#[async_trait]
impl<T> SharedExtractor for HeaderParams<T>
where
    T: DeserializeOwned + JsonSchema + Send + Sync + 'static,
{
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
    ) -> Result<Self, HttpError> {
        Ok(HeaderParams(parse_headers(
            rqctx.request.headers(),
            &T::schema_name(),
        )))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        Header::<T>::metadata(body_content_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types;

    fn fields(error: &Error) -> Vec<&str> {
        error
            .error
            .fields
            .iter()
            .map(|f| f.field.as_str())
            .collect()
    }

    #[test]
    fn a_bad_query_value_is_422_naming_the_parameter() {
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=abc", "limit"),
            ("limit=5.5", "limit"),
            ("status=zz", "status"),
            ("limit=5&limit=6", "limit"),
        ] {
            let error = parse_query::<types::BotListQuery>(query, "BotListQuery").expect_err(query);
            assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            assert_eq!(error.code(), ErrorCode::ValidationFailed, "{query}");
            assert_eq!(fields(&error), vec![field], "{query}");
            assert!(
                !error.error.message.contains("u64"),
                "{}",
                error.error.message
            );
        }
        let ok =
            parse_query::<types::BotListQuery>("limit=5.0&status=active&utm=x", "BotListQuery")
                .expect("valid");
        assert_eq!(ok.limit.get(), 5);
    }

    #[test]
    fn a_bad_path_parameter_is_400_naming_it_whatever_its_parser_says() {
        for text in ["0", "zz", "9b2e4f10-6a3c-4d8e-b7f1-2c5a8e0d4b6", ""] {
            let error =
                parse::<types::BotGetPath>(Location::Path, "BotGetPath", &[("bot_id", text)])
                    .expect_err(text);
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{text:?}");
            assert_eq!(error.code(), ErrorCode::InvalidRequest, "{text:?}");
            assert_eq!(fields(&error), vec!["bot_id"], "{text:?}");
        }
        let id = "9b2e4f10-6a3c-4d8e-b7f1-2c5a8e0d4b61";
        let ok = parse::<types::BotGetPath>(Location::Path, "BotGetPath", &[("bot_id", id)])
            .expect("valid");
        assert_eq!(ok.bot_id.to_string(), id);
    }

    #[test]
    fn a_bad_header_is_400_naming_the_header() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "idempotency-key",
            "x".repeat(300).parse().expect("a header value"),
        );
        let error = parse_headers::<types::ChatSendHeaders>(&headers, "ChatSendHeaders")
            .expect_err("too long");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(fields(&error), vec!["Idempotency-Key"]);

        headers.insert("Idempotency-Key", "key-1".parse().expect("a header value"));
        let ok =
            parse_headers::<types::ChatSendHeaders>(&headers, "ChatSendHeaders").expect("valid");
        assert_eq!(
            ok.idempotency_key.map(|k| k.to_string()),
            Some("key-1".to_string())
        );
        let none =
            parse_headers::<types::ChatSendHeaders>(&http::HeaderMap::new(), "ChatSendHeaders")
                .expect("the header is optional");
        assert!(none.idempotency_key.is_none());
    }
}
