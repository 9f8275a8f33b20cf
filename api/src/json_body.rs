//! [`JsonBody`]: the JSON request body extractor of every operation.
//!
//! It documents exactly what dropshot's `TypedBody` documents, but parses the body itself so
//! that a failure becomes the contract's envelope with structure instead of a message string:
//! unparseable JSON is 400 `invalid_request`; JSON that breaks the schema (a missing field, a
//! wrong type, a length, a pattern, an enum, an unknown field) is 422 `validation_failed`
//! naming the field by its path (`settings.greeting`, `tags[2]`); an oversize body is 413.

use crate::types::{Error, ErrorCode, FieldError};
use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ExclusiveExtractor, ExtractorMetadata, HttpError, RequestContext,
    ServerContext, TypedBody, UntypedBody,
};
use http::{StatusCode, header};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// A JSON body of type `T`, or the envelope saying why the request did not carry one.
#[derive(Debug)]
pub struct JsonBody<T>(Result<T, Error>);

impl<T> JsonBody<T> {
    pub fn into_result(self) -> Result<T, Error> {
        self.0
    }
}

#[async_trait]
impl<T> ExclusiveExtractor for JsonBody<T>
where
    T: DeserializeOwned + JsonSchema + Send + Sync + 'static,
{
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
        request: http::Request<dropshot::Body>,
    ) -> Result<Self, HttpError> {
        if let Err(error) = check_content_type(request.headers()) {
            return Ok(JsonBody(Err(error)));
        }
        // UntypedBody enforces the body size limit.
        let bytes = match UntypedBody::from_request(rqctx, request).await {
            Ok(body) => body,
            Err(error) => return Ok(JsonBody(Err(Error::from_dropshot(&error)))),
        };
        Ok(JsonBody(parse(bytes.as_bytes())))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        TypedBody::<T>::metadata(body_content_type)
    }
}

/// A missing content type is taken as JSON (as dropshot does); any other type is refused.
fn check_content_type(headers: &http::HeaderMap) -> Result<(), Error> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_lowercase();
    if mime == "application/json" {
        return Ok(());
    }
    Err(Error::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
        format!("expected content type application/json, got {mime:?}"),
    ))
}

pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        // serde_json calls some type mismatches syntax errors (a number where an enum's
        // string belongs); the JSON is only malformed if it does not parse as any value.
        let well_formed = inner.classify() == serde_json::error::Category::Data
            || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
        if well_formed {
            violation(&path, &inner.to_string())
        } else {
            Error::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                format!("request body is not valid JSON: {inner}"),
            )
        }
    })
}

/// 422 `validation_failed` for input that parsed but breaks the contract at `path` (as
/// `serde_path_to_error` writes it: `settings.greeting`, `tags[2]`, `.` for the root).
pub(crate) fn violation(path: &str, message: &str) -> Error {
    let field = if path == "." || path.is_empty() {
        field_of_message(message)
    } else {
        path.to_string()
    };
    let message = strip_position(message);
    Error::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
        format!("{field}: {message}"),
    )
    .with_fields(vec![FieldError { field, message }])
}

/// serde reports a missing or unknown field at the object's own path, naming the field in
/// backticks: `missing field `email``. The field is the useful part.
fn field_of_message(message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.split_once(*prefix))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(field, _)| field.to_string());
    named.unwrap_or_else(|| "body".to_string())
}

/// `... at line 1 column 16` means nothing to the caller once the field is named.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsed")]
    struct Login {
        email: String,
        settings: Settings,
    }

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "only parsed")]
    struct Settings {
        greeting: u32,
    }

    fn error_of(body: &str) -> Error {
        parse::<Login>(body.as_bytes()).expect_err("invalid")
    }

    #[test]
    fn syntax_errors_are_400() {
        let error = error_of("{\"email\": ");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(error.code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_mistyped_enum_is_422_not_a_syntax_error() {
        #[derive(Debug, serde::Deserialize)]
        enum Status {
            Open,
        }
        #[derive(Debug, serde::Deserialize)]
        #[expect(dead_code, reason = "only parsed")]
        struct Body {
            status: Status,
        }
        let error = parse::<Body>(br#"{"status": 7}"#).expect_err("invalid");
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.error.fields[0].field, "status");
    }

    #[test]
    fn schema_violations_are_422_naming_the_field() {
        let missing = error_of(r#"{"settings": {"greeting": 1}}"#);
        assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(missing.error.fields[0].field, "email");

        let nested = error_of(r#"{"email": "a", "settings": {"greeting": "hi"}}"#);
        assert_eq!(nested.error.fields[0].field, "settings.greeting");
        assert!(!nested.error.fields[0].message.contains("line"), "{nested}");

        let unknown = error_of(r#"{"email": "a", "settings": {"greeting": 1}, "admin": true}"#);
        assert_eq!(unknown.error.fields[0].field, "admin");
    }
}
