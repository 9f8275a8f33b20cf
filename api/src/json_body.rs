//! [`JsonBody`]: the JSON request body extractor of every operation.
//!
//! It documents exactly what dropshot's `TypedBody` documents, but parses the body itself so
//! that a failure becomes the contract's envelope with structure instead of a message string:
//! unparseable JSON is 400 `invalid_request`; JSON that breaks the schema is 422
//! `validation_failed` naming every offending field by its path (`settings.greeting`,
//! `tags[2]`); an oversize body is 413.
//!
//! The body is read as JSON first, then checked against the contract's schema of `T` (named
//! by `T::schema_name()`, see [`crate::contract`]): that check covers what the generated
//! types do not enforce while deserializing (numeric bounds, array and object sizes,
//! `uniqueItems`, the `email`/`uri` formats, `null` for an optional property), and reports
//! every violation at once, and rewrites an integer written as a float (`5.0`, an integer to
//! JSON Schema) to the integer it stands for. Only then is `T` deserialized from the value;
//! the rare error of that parse is worded in the contract's terms, never serde's Rust types
//! ([`contract_terms`]). An object with a
//! repeated key is refused (422, naming the key), as a typed parse refuses it.

use crate::contract::{self, Violation};
use crate::types::{Error, ErrorCode, FieldError};
use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ExclusiveExtractor, ExtractorMetadata, HttpError, RequestContext,
    ServerContext, TypedBody,
};
use http::{StatusCode, header};
use schemars::JsonSchema;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// A JSON body of type `T`, or the envelope saying why the request did not carry one.
#[derive(Debug)]
pub struct JsonBody<T>(Result<(T, Value), Error>);

impl<T> JsonBody<T> {
    pub fn into_result(self) -> Result<T, Error> {
        self.0.map(|(typed, _)| typed)
    }

    /// The body and the JSON it was read from: typed values cannot tell a field left out from
    /// one sent as `null` or `[]` (typify makes both `None` or empty), and a partial update
    /// must (`given`).
    pub fn into_result_with_json(self) -> Result<(T, Value), Error> {
        self.0
    }
}

/// Whether the JSON object `body` has a member at the `/`-separated `path` (null included).
pub fn given(body: &Value, path: &str) -> bool {
    body.pointer(path).is_some()
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
        let bytes = match read_limited(request.into_body(), rqctx.request_body_max_bytes()).await {
            Ok(bytes) => bytes,
            Err(error) => return Ok(JsonBody(Err(error))),
        };
        Ok(JsonBody(parse(&bytes, &T::schema_name())))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        TypedBody::<T>::metadata(body_content_type)
    }
}

/// The whole body, read no further than `limit` bytes: more is 413, a body that breaks off is
/// 400.
async fn read_limited(body: dropshot::Body, limit: usize) -> Result<bytes::Bytes, Error> {
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(Error::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("the body is over the limit of {limit} bytes"),
        )),
        Err(error) => Err(Error::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("the body could not be read: {error}"),
        )),
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

/// Parses a body of type `T`, checking it first against the contract's schema named
/// `schema_name` (no check if the contract has no schema of that name).
pub(crate) fn parse<T: DeserializeOwned>(
    bytes: &[u8],
    schema_name: &str,
) -> Result<(T, Value), Error> {
    let mut value = parse_value(bytes)?;
    // Also rewrites integers written as floats (`5.0`) to integers, for the typed parse.
    let found = contract::normalise(schema_name, &mut value);
    if !found.is_empty() {
        return Err(contract_violations(&found, "body"));
    }
    let typed = serde_path_to_error::deserialize(&value)
        .map_err(|error| violation(&error.path().to_string(), &error.into_inner().to_string()))?;
    Ok((typed, value))
}

/// The body as a JSON value: 400 if it is not JSON, 422 if an object repeats a key.
fn parse_value(bytes: &[u8]) -> Result<Value, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = deserializer
        .deserialize_any(StrictVisitor)
        .and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(value) => Ok(value),
        // The visitor's only data error: a repeated key. Parse again to learn where (rare).
        Err(error) if error.classify() == serde_json::error::Category::Data => {
            let message = error.to_string();
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            let path = match serde_path_to_error::deserialize::<_, Strict>(&mut deserializer) {
                Err(error) => error.path().to_string(),
                Ok(_) => String::new(),
            };
            let parent = if path == "." { "" } else { path.as_str() };
            let key = backticked(&message).unwrap_or_default();
            Err(violation(&contract::join_path(parent, key), &message))
        }
        Err(error) => Err(Error::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("request body is not valid JSON: {error}"),
        )),
    }
}

/// The first word in backticks (`duplicate field `name``).
fn backticked(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once('`')?;
    Some(rest.split_once('`')?.0)
}

/// A JSON value, refusing an object that repeats a key (serde_json's `Value` silently keeps
/// the last one).
struct Strict(Value);

impl<'de> de::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// At most this many fields are named: a huge body of bad items must not make a huge answer.
const MAX_FIELDS: usize = 100;

/// 422 `validation_failed` naming every field `found` breaks (`whole`, such as `body`, for a
/// violation of the value as a whole), the first hundred of them.
pub(crate) fn contract_violations(found: &[Violation], whole: &str) -> Error {
    let fields: Vec<FieldError> = found
        .iter()
        .take(MAX_FIELDS)
        .map(|v| FieldError {
            field: if v.path.is_empty() {
                whole.to_string()
            } else {
                v.path.clone()
            },
            message: v.detail.clone(),
        })
        .collect();
    let mut message = fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ");
    if found.len() > MAX_FIELDS {
        message.push_str(&format!("; and {} more", found.len() - MAX_FIELDS));
    }
    Error::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
        message,
    )
    .with_fields(fields)
}

/// 422 `validation_failed` for input that parsed but breaks the contract at `path` (as
/// `serde_path_to_error` writes it: `settings.greeting`, `tags[2]`, `.` for the root).
pub(crate) fn violation(path: &str, message: &str) -> Error {
    let field = if path == "." || path.is_empty() {
        field_of_message(message)
    } else {
        path.to_string()
    };
    let message = contract_terms(&strip_position(message));
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

/// A serde error message in the contract's terms: serde names what it expected by Rust type
/// (`invalid type: floating point `5.5`, expected a nonzero u64`, `expected struct Settings`,
/// `data did not match any variant of untagged enum Engine`), which means nothing to a caller
/// and leaks the implementation. Messages that name no type (`missing field `email``,
/// `unknown variant ...`, typify's own) are kept.
pub(crate) fn contract_terms(message: &str) -> String {
    if message.starts_with("data did not match any variant") {
        return "matches none of the schema's alternatives".to_string();
    }
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((got, expected)) = rest.rsplit_once(", expected ")
        {
            let expected = expected_in_json_terms(expected);
            let got = match prefix {
                // A struct read from an array (`expected struct Settings with 1 element`).
                "invalid length " if expected == "an object" => "an array".to_string(),
                "invalid length " => format!("{got} items"),
                _ => unexpected_in_json_terms(got),
            };
            return format!("expected {expected}, got {got}");
        }
    }
    message.to_string()
}

/// serde's `Unexpected` (`floating point `5.5``, `string "a"`, `map`) as the JSON it was.
fn unexpected_in_json_terms(got: &str) -> String {
    let quoted = backticked(got);
    match got.split_once([' ', '`']).map_or(got, |(head, _)| head) {
        "floating" | "integer" => match quoted {
            Some(n) => format!("the number {n}"),
            None => "a number".to_string(),
        },
        "boolean" => quoted.unwrap_or("a boolean").to_string(),
        "string" | "char" => "a string".to_string(),
        "sequence" => "an array".to_string(),
        "map" => "an object".to_string(),
        "unit" | "Option" => "null".to_string(),
        _ => "a value of another type".to_string(),
    }
}

/// What serde expected (`u64`, `a nonzero u64`, `struct Settings`, `a string`) as the JSON
/// it wants.
fn expected_in_json_terms(expected: &str) -> String {
    let bare = expected
        .strip_prefix("a ")
        .or_else(|| expected.strip_prefix("an "))
        .unwrap_or(expected);
    let (nonzero, bare) = match bare.strip_prefix("nonzero ") {
        Some(rest) => (true, rest),
        None => (false, bare),
    };
    let range = |min: i128, max: u128| {
        let min = if nonzero && min == 0 { 1 } else { min };
        format!("an integer from {min} to {max}")
    };
    match bare {
        "u8" => range(0, u8::MAX.into()),
        "u16" => range(0, u16::MAX.into()),
        "u32" => range(0, u32::MAX.into()),
        "u64" | "usize" => range(0, u64::MAX.into()),
        "u128" => range(0, u128::MAX),
        "i8" => range(i8::MIN.into(), i8::MAX as u128),
        "i16" => range(i16::MIN.into(), i16::MAX as u128),
        "i32" => range(i32::MIN.into(), i32::MAX as u128),
        "i64" | "isize" => range(i64::MIN.into(), i64::MAX as u128),
        "f32" | "f64" => "a number".to_string(),
        "string" | "borrowed string" | "char" | "str" => "a string".to_string(),
        "boolean" | "bool" => "a boolean".to_string(),
        "sequence" | "tuple" => "an array".to_string(),
        "map" => "an object".to_string(),
        _ if bare.starts_with("struct ") || bare.starts_with("map") => "an object".to_string(),
        _ if bare.starts_with("tuple") || bare.starts_with("sequence") => "an array".to_string(),
        _ if bare.starts_with("one of ") || bare.starts_with('`') => expected.to_string(),
        _ => "a value the schema allows".to_string(),
    }
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

    /// Not a schema of the contract: only the typed parse checks.
    const NO_SCHEMA: &str = "NotAContractSchema";

    fn error_of(body: &str) -> Error {
        parse::<Login>(body.as_bytes(), NO_SCHEMA).expect_err("invalid")
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
        let error = parse::<Body>(br#"{"status": 7}"#, NO_SCHEMA).expect_err("invalid");
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.error.fields[0].field, "status");
    }

    #[test]
    fn trailing_garbage_is_400() {
        for body in [r#"{"email": "a", "settings": {"greeting": 1}} x"#, "", "  "] {
            let error = error_of(body);
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{body:?}");
            assert_eq!(error.code(), ErrorCode::InvalidRequest, "{body:?}");
        }
    }

    #[test]
    fn a_repeated_key_is_422_naming_it() {
        let top = error_of(r#"{"email": "a", "email": "b", "settings": {"greeting": 1}}"#);
        assert_eq!(top.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(top.error.fields[0].field, "email");

        let nested = error_of(r#"{"email": "a", "settings": {"greeting": 1, "greeting": 2}}"#);
        assert_eq!(nested.error.fields[0].field, "settings.greeting");
        assert!(!nested.error.fields[0].message.contains("line"), "{nested}");
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

    /// What the typed parse still refuses is said in JSON's terms, never a Rust type's name.
    #[test]
    fn typed_parse_errors_name_no_rust_type() {
        let cases = [
            (
                r#"{"email": "a", "settings": {"greeting": 5.5}}"#,
                "expected an integer from 0 to 4294967295, got the number 5.5",
            ),
            (
                r#"{"email": "a", "settings": {"greeting": -1}}"#,
                "expected an integer from 0 to 4294967295, got the number -1",
            ),
            (
                r#"{"email": "a", "settings": {"greeting": "hi"}}"#,
                "expected an integer from 0 to 4294967295, got a string",
            ),
            (
                r#"{"email": 7, "settings": {"greeting": 1}}"#,
                "expected a string, got the number 7",
            ),
            (
                r#"{"email": "a", "settings": []}"#,
                "expected an object, got an array",
            ),
        ];
        for (body, message) in cases {
            let error = error_of(body);
            assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(error.error.fields[0].message, message, "{body}");
        }
    }

    #[test]
    fn serde_messages_in_contract_terms() {
        let cases = [
            (
                "invalid type: floating point `5.0`, expected a nonzero u64",
                "expected an integer from 1 to 18446744073709551615, got the number 5.0",
            ),
            (
                "invalid value: integer `0`, expected a nonzero u64",
                "expected an integer from 1 to 18446744073709551615, got the number 0",
            ),
            (
                "invalid type: integer `3`, expected i64",
                "expected an integer from -9223372036854775808 to 9223372036854775807, got the number 3",
            ),
            (
                "invalid type: boolean `true`, expected f64",
                "expected a number, got true",
            ),
            (
                "invalid type: map, expected a sequence",
                "expected an array, got an object",
            ),
            (
                "invalid type: unit value, expected struct BotSettings",
                "expected an object, got null",
            ),
            (
                "invalid type: integer `7`, expected variant identifier",
                "expected a value the schema allows, got the number 7",
            ),
            (
                "data did not match any variant of untagged enum Engine",
                "matches none of the schema's alternatives",
            ),
            ("missing field `email`", "missing field `email`"),
        ];
        for (serde, ours) in cases {
            assert_eq!(contract_terms(serde), ours, "{serde}");
        }
    }
}
