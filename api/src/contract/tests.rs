//! Tests of the contract as a whole: the real contract compiles within the checker, and
//! bodies and queries are refused as the contract says, through the parsers that run it.

use super::formats::{is_date_time, is_email, is_uri};
use super::*;
use crate::types::{self, ErrorCode};
use http::StatusCode;
use schemars::JsonSchema;
use serde_json::json;

/// The JSON body parser (`JsonBody`) on a body of `T`.
fn body<T: serde::de::DeserializeOwned + JsonSchema>(value: &Value) -> Result<T, types::Error> {
    crate::json_body::parse::<T>(value.to_string().as_bytes(), &T::schema_name())
        .map(|(typed, _)| typed)
}

/// The query parser (`QueryParams`) on a query string of `T`.
fn query<T: serde::de::DeserializeOwned + JsonSchema>(text: &str) -> Result<T, types::Error> {
    crate::params::parse_query::<T>(text, &T::schema_name())
}

/// The `(field, message)`s of a 422 `validation_failed`.
fn fields_of<T: fmt::Debug>(result: Result<T, types::Error>) -> Vec<(String, String)> {
    let error = result.expect_err("refused");
    assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error.code(), ErrorCode::ValidationFailed, "{error}");
    error
        .error
        .fields
        .into_iter()
        .map(|f| (f.field, f.message))
        .collect()
}

fn field_names<T: fmt::Debug>(result: Result<T, types::Error>) -> Vec<String> {
    fields_of(result)
        .into_iter()
        .map(|(field, _)| field)
        .collect()
}

#[test]
fn the_contract_is_within_the_checker() {
    load();
    assert_eq!(unsupported(), &[] as &[String]);
    let named = DOCUMENT["components"]["schemas"]
        .as_object()
        .expect("schemas");
    assert!(named.keys().all(|name| has_schema(name)));
    assert!(!has_schema("NoSuchSchema"));
    assert!(violations_of("NoSuchSchema", &json!(7)).is_empty());
}

/// Every body and query type of the generated trait is checked: its `schema_name()` is a
/// schema (or a query type) the checker knows.
#[test]
fn every_generated_input_type_is_known_to_the_checker() {
    const API: &str = include_str!("../generated/api.rs");
    let names_after = |marker: &str| -> Vec<&str> {
        API.match_indices(marker)
            .map(|(at, _)| {
                let rest = &API[at + marker.len()..];
                &rest[..rest.find('>').expect("a closing >")]
            })
            .collect()
    };
    let bodies = names_after("JsonBody<types::");
    let queries = names_after("QueryParams<types::");
    assert!(!bodies.is_empty() && !queries.is_empty());
    for name in bodies {
        assert!(
            has_schema(name),
            "body type {name} is not a contract schema"
        );
    }
    for name in queries {
        assert!(
            params_schema(name).is_some(),
            "query type {name} is unknown"
        );
    }
    // schemars names a generated type by its Rust name, the contract's name.
    assert_eq!(types::BotCreate::schema_name(), "BotCreate");
    assert_eq!(types::BotListQuery::schema_name(), "BotListQuery");
}

#[test]
fn a_number_over_its_maximum_is_422_at_its_path() {
    let bot = json!({"name": "Helper", "settings": {"engine": {"temperature": 3}}});
    assert_eq!(
        fields_of(body::<types::BotCreate>(&bot)),
        vec![(
            "settings.engine.temperature".to_string(),
            "3 is over maximum 2".to_string()
        )]
    );
    let ok = json!({"name": "Helper", "settings": {"engine": {"temperature": 2}}});
    body::<types::BotCreate>(&ok).expect("valid");
    let below = json!({"name": "Helper", "settings": {"engine": {"temperature": -0.5}}});
    assert_eq!(
        violations_of("BotCreate", &below)
            .iter()
            .map(|v| (v.kind, v.path.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            ViolationKind::NumberBelowMinimum,
            "settings.engine.temperature"
        )]
    );
}

#[test]
fn an_integer_over_its_maximum_is_422_at_its_path() {
    let key = json!({"name": "ci", "rate_limits": {"chat": 100_001}});
    assert_eq!(
        field_names(body::<types::ApiKeyCreate>(&key)),
        vec!["rate_limits.chat"]
    );
    let ok = json!({"name": "ci", "rate_limits": {"chat": 100_000}});
    body::<types::ApiKeyCreate>(&ok).expect("valid");
}

#[test]
fn an_object_over_max_properties_is_422_at_its_path() {
    let metadata = |n: usize| -> Value {
        let keys: Map<String, Value> = (0..n).map(|i| (format!("k{i}"), json!(i))).collect();
        json!({"message": "hi", "metadata": keys})
    };
    assert_eq!(
        fields_of(body::<types::ChatSend>(&metadata(51))),
        vec![(
            "metadata".to_string(),
            "more than maxProperties 50 (51)".to_string()
        )]
    );
    body::<types::ChatSend>(&metadata(50)).expect("valid");
}

#[test]
fn every_violation_is_named() {
    let bot = json!({
        "name": "",
        "description": null,
        "settings": {
            "engine": {"temperature": 3, "max_tokens": 0},
            "allowed_origins": ["not a uri"],
            "greeting": null,
        },
        "extra": 1,
    });
    let mut names = field_names(body::<types::BotCreate>(&bot));
    names.sort();
    assert_eq!(
        names,
        vec![
            "extra",
            "name",
            "settings.allowed_origins[0]",
            "settings.engine.max_tokens",
            "settings.engine.temperature",
        ]
    );
}

#[test]
fn null_for_an_optional_non_nullable_property_is_refused() {
    let send = json!({"message": "hi", "metadata": null});
    assert_eq!(
        field_names(body::<types::ChatSend>(&send)),
        vec!["metadata"]
    );
    // Nullable properties take null.
    let bot = json!({"name": "Helper", "description": null});
    body::<types::BotCreate>(&bot).expect("valid");
}

#[test]
fn a_body_of_the_wrong_type_is_named_body() {
    assert_eq!(
        field_names(body::<types::ChatSend>(&json!(["hi"]))),
        vec!["body"]
    );
}

#[test]
fn a_query_value_over_its_maximum_is_422_naming_the_parameter() {
    assert_eq!(
        fields_of(query::<types::BotListQuery>("limit=101")),
        vec![("limit".to_string(), "101 is over maximum 100".to_string())]
    );
    let ok = query::<types::BotListQuery>("limit=100&status=active").expect("valid");
    assert_eq!(ok.limit.get(), 100);
    assert_eq!(
        field_names(query::<types::BotListQuery>("limit=0")),
        vec!["limit"]
    );
    // Parameters the operation does not declare are ignored, as before.
    query::<types::BotListQuery>("limit=5&utm_source=x").expect("valid");
}

#[test]
fn query_values_are_typed_by_their_schema() {
    assert_eq!(
        query_value("BotListQuery", "limit=7&status=active&cursor=12&x=1"),
        Some(json!({"limit": 7, "status": "active", "cursor": "12", "x": "1"}))
    );
    assert_eq!(
        query_value("NotificationListQuery", "unread=true"),
        Some(json!({"unread": true}))
    );
    assert_eq!(query_value("NoSuchQuery", "a=1"), None);
    assert_eq!(
        params_schema("BotListQuery").map(|s| s["type"].clone()),
        Some(json!("object"))
    );
}

#[test]
fn the_checker_knows_the_rules() {
    let check = |value: Value| {
        violations_of("ChatSend", &value)
            .into_iter()
            .map(|v| (v.kind, v.path))
            .collect::<Vec<_>>()
    };
    use ViolationKind::*;
    assert!(
        check(json!({"message": "hi", "language": "en", "session_id": "a.b:c@d-e"})).is_empty()
    );
    assert_eq!(check(json!({})), vec![(MissingRequired, "message".into())]);
    assert_eq!(
        check(json!({"message": ""})),
        vec![(TooShort, "message".into())]
    );
    assert_eq!(
        check(json!({"message": "x", "language": "EN"})),
        vec![(PatternMismatch, "language".into())]
    );
    assert_eq!(
        check(json!({"message": "x", "bot_id": "nope"})),
        vec![(NotAUuid, "bot_id".into())]
    );
    assert_eq!(
        check(json!({"message": "x", "metadata": null})),
        vec![(NullForOptionalProperty, "metadata".into())]
    );
    assert_eq!(
        check(json!({"message": 1, "zz": 1})),
        vec![
            (WrongType, "message".into()),
            (UnknownProperty, "zz".into())
        ]
    );
    assert!(is_date_time("2026-04-28T08:15:02.5+02:00"));
    assert!(!is_date_time("2026-13-28T08:15:02Z"));
    assert!(!is_date_time("2026-04-28T08:15:02"));
    assert!(is_uri("https://a.example/x?y=1"));
    assert!(!is_uri("https://a b"));
    assert!(!is_uri("a.example/x"));
    assert!(is_email("maya.okafor@example.com"));
    assert!(!is_email("maya.example.com"));
}

#[test]
fn ad_hoc_schemas_resolve_references_and_count_characters() {
    let schema = json!({"type": "string", "minLength": 3, "maxLength": 3});
    assert!(violations(&schema, &Value::from("日本語")).is_empty());
    let reference = json!({"$ref": "#/components/schemas/Metadata"});
    let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
    assert_eq!(
        violations(&reference, &Value::Object(many))
            .iter()
            .map(|v| v.kind)
            .collect::<Vec<_>>(),
        vec![ViolationKind::TooManyProperties]
    );
    let unknown = Schema::new(&json!({"type": "string", "contentEncoding": "base64"}));
    assert_eq!(unknown.unsupported().len(), 1, "{unknown:?}");
    assert!(
        unknown.violations(&json!("x")).is_empty(),
        "ignored, not a panic"
    );
}

#[test]
fn unique_items_compares_json_values() {
    let schema = json!({"type": "array", "uniqueItems": true});
    let long = |extra: Value| -> Value {
        let mut items: Vec<Value> = (0..40).map(|i| json!({"a": i, "b": [i]})).collect();
        items.push(extra);
        Value::Array(items)
    };
    assert!(violations(&schema, &long(json!({"a": 40}))).is_empty());
    assert_eq!(
        violations(&schema, &long(json!({"b": [3], "a": 3})))[0].kind,
        ViolationKind::DuplicateItems
    );
    assert!(violations(&schema, &json!([1, 1.5, "1", [1]])).is_empty());
    assert_eq!(violations(&schema, &json!([0.5, 0.5])).len(), 1);
}

#[test]
fn long_input_is_not_echoed_whole() {
    let id = "x".repeat(10_000);
    let found = violations_of("ChatSend", &json!({"message": "hi", "bot_id": id}));
    assert!(found[0].detail.len() < 200, "{}", found[0].detail);
}

/// JSON Schema's `integer` is any number with no fractional part: `5.0` is the integer 5,
/// taken by the typed parse (a `NonZeroU64`) with the same bounds, wherever the contract
/// says `integer`.
#[test]
fn integers_written_as_floats_are_integers() {
    let feedback: types::FeedbackCreate = body(&json!({"csat": 5.0})).expect("5.0 is an integer");
    assert_eq!(feedback.csat.map(|c| c.get()), Some(5));

    let update: types::BotUpdate =
        body(&json!({"settings": {"message_max_length": 1000.0}})).expect("1000.0");
    let settings = update.settings.expect("settings");
    assert_eq!(settings.message_max_length.map(|n| n.get()), Some(1000));

    let engine: types::BotUpdate =
        body(&json!({"settings": {"engine": {"max_tokens": 512.0}}})).expect("512.0");
    let engine = engine.settings.and_then(|s| s.engine).expect("engine");
    assert_eq!(engine.max_tokens.map(|n| n.get()), Some(512));

    let key: types::ApiKeyCreate = body(&json!({
        "name": "k",
        "rate_limits": {"chat": 60.0, "auth": 10.0}
    }))
    .expect("rate limits as floats");
    let limits = key.rate_limits.expect("rate limits");
    assert_eq!(limits.chat.map(|n| n.get()), Some(60));

    // The same bounds apply.
    let above = fields_of(body::<types::FeedbackCreate>(&json!({"csat": 6.0})));
    assert_eq!(above[0].0, "csat");
    assert!(above[0].1.contains("maximum 5"), "{above:?}");
    let zero = field_names(body::<types::FeedbackCreate>(&json!({"csat": 0.0})));
    assert_eq!(zero, ["csat"]);
}

#[test]
fn the_json_an_integral_float_becomes_is_an_integer() {
    let mut value = json!({"csat": 5.0, "comment": "ok"});
    assert!(normalise("FeedbackCreate", &mut value).is_empty());
    assert_eq!(value, json!({"csat": 5, "comment": "ok"}));
    assert!(value["csat"].is_u64());
    // A value that breaks the schema is left as it was.
    let mut broken = json!({"csat": 5.0, "comment": ""});
    assert!(!normalise("FeedbackCreate", &mut broken).is_empty());
    assert!(broken["csat"].is_f64());
    // Only where the schema says integer: a number stays a float.
    let mut nested = json!({"settings": {"message_max_length": 1e3}});
    assert!(normalise("BotUpdate", &mut nested).is_empty());
    assert_eq!(
        nested.pointer("/settings/message_max_length"),
        Some(&json!(1000))
    );
}

/// A fractional number where an integer is wanted, and other wrong types, are 422 at the
/// field's path, worded in the contract's terms (no Rust type).
#[test]
fn a_fractional_number_for_an_integer_is_422_naming_the_field() {
    let rust_types = [
        "u8",
        "u16",
        "u32",
        "u64",
        "i32",
        "i64",
        "usize",
        "isize",
        "f64",
        "nonzero",
        "NonZero",
        "struct",
        "enum ",
        "floating point",
    ];
    let cases = [
        (
            json!({"csat": 5.5}),
            "csat",
            "expected an integer, got the number 5.5",
        ),
        (
            json!({"csat": "5"}),
            "csat",
            "expected an integer, got a string",
        ),
        (
            json!({"name": "k", "rate_limits": {"standard": 1.5}}),
            "rate_limits.standard",
            "expected an integer, got the number 1.5",
        ),
        (
            json!({"settings": {"message_max_length": 1e30}}),
            "settings.message_max_length",
            "expected an integer of at most 64 bits",
        ),
    ];
    for (value, field, message) in cases {
        let found = match field {
            "csat" => fields_of(body::<types::FeedbackCreate>(&value)),
            "rate_limits.standard" => fields_of(body::<types::ApiKeyCreate>(&value)),
            _ => fields_of(body::<types::BotUpdate>(&value)),
        };
        assert_eq!(found.len(), 1, "{value}: {found:?}");
        assert_eq!(found[0].0, field, "{value}");
        assert!(found[0].1.starts_with(message), "{value}: {found:?}");
        for name in rust_types {
            assert!(
                !found[0].1.contains(name),
                "{value}: {found:?} names {name}"
            );
        }
    }
}
