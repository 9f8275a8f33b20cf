//! The contract as the server enforces it: `openapi.yaml` (parsed once), and a checker for the
//! subset of JSON Schema its schemas use.
//!
//! typify's types enforce types, `required`, `additionalProperties: false`, string lengths,
//! patterns and enums while deserializing, but not numeric bounds, array and object sizes,
//! `uniqueItems`, the `email`/`uri` formats, or "`null` is not a value of an optional,
//! non-nullable property". [`JsonBody`](crate::JsonBody) and [`QueryParams`](crate::QueryParams)
//! therefore check every input against its schema here first ([`violations_of`],
//! [`normalise_params`]), so that the whole contract is enforced when a request is parsed.
//!
//! The schemas are compiled once, at first use: `$ref` chains resolved, patterns compiled,
//! keywords read into plain fields. Checking a value walks the compiled tree only and allocates
//! nothing unless the value breaks the schema, or (with [`normalise`]) has an integer written
//! as a float: JSON Schema's `integer` is any number with no fractional part, so `5.0` keeps
//! `type: integer`, and [`normalise`] rewrites it to `5` for the typed parse (one JSON pointer
//! per such float). A keyword the checker does not know is never a
//! panic at run time: it is recorded ([`unsupported`]) and ignored, and a unit test keeps the
//! list empty for the real contract.
//!
//! The conformance crate's proptest strategies use the same checker
//! (`botwire_conformance::strategies`), so the values they call valid or invalid are exactly
//! what the server accepts or refuses.

mod check;
mod compile;
mod formats;
mod read;
#[cfg(test)]
mod tests;
mod violations;

pub use read::{
    ANNOTATION_KEYWORDS, ASSERTION_KEYWORDS, FORMATS, Pattern, TYPES, additional_schema,
    allows_null, enum_values, f64_keyword, is_integer, properties, required, type_matches,
    types_of, unsupported_keywords, usize_keyword,
};
pub use violations::{Violation, ViolationKind, join_path};

use check::{check_root, check_root_normalising};
use compile::{Child, Compiler, compiled};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::LazyLock;

/// The contract's text.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

/// The contract, as JSON.
pub static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| serde_yaml::from_str(OPENAPI_YAML).expect("the embedded openapi.yaml parses"));

// ---------------------------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------------------------

/// Parses and compiles the contract now; otherwise the first request checked does it (some
/// tens of milliseconds). A server may call it at start.
pub fn load() {
    compiled();
}

/// Every way `value` breaks the schema named `schema_name` in `components/schemas` (nothing
/// if there is no such schema). A value of the wrong type is reported once, without looking
/// inside it.
pub fn violations_of(schema_name: &str, value: &Value) -> Vec<Violation> {
    match compiled().schemas.get(schema_name) {
        Some(&slot) => check_root(compiled().node(slot), value),
        None => Vec::new(),
    }
}

/// As [`violations_of`]; when `value` keeps the schema, also rewrites every integer written as
/// a float (`5.0` at a position whose type is `integer`) to the JSON integer it stands for
/// (`5`), so that the typed parse (into `u64`, `NonZeroU64`, ...) takes what the contract
/// takes. `value` is left as it was when there is a violation.
pub fn normalise(schema_name: &str, value: &mut Value) -> Vec<Violation> {
    match compiled().schemas.get(schema_name) {
        Some(&slot) => check_root_normalising(compiled().node(slot), value),
        None => Vec::new(),
    }
}

/// Whether `components/schemas` has a schema of this name.
pub fn has_schema(schema_name: &str) -> bool {
    compiled().schemas.contains_key(schema_name)
}

/// Parameter texts (name, text) as the JSON object [`normalise_params`] checks: each parameter
/// the operation declares as an integer, a number or a boolean becomes one when its text parses
/// as one; everything else stays a string. `type_name` names the generated type of an
/// operation's parameters in one location (`BotListQuery`, `BotGetPath`, `ChatSendHeaders`);
/// `None` if there is no such type. A name given twice keeps its last text (the caller, which
/// sees the texts, refuses repeats).
pub fn params_value<'a>(
    type_name: &str,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<Value> {
    let kinds = &compiled().params.get(type_name)?.kinds;
    let mut object = Map::new();
    for (name, text) in pairs {
        let value = match kinds.get(name) {
            Some(kind) => kind.value_of(text),
            None => Value::String(text.to_string()),
        };
        object.insert(name.to_string(), value);
    }
    Some(Value::Object(object))
}

/// A raw query string as [`params_value`] reads it.
pub fn query_value(type_name: &str, query: &str) -> Option<Value> {
    let pairs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
    params_value(
        type_name,
        pairs.iter().map(|(n, t)| (n.as_ref(), t.as_ref())),
    )
}

/// Every way `value` (from [`params_value`]) breaks the parameters of the type `type_name`
/// (nothing if there is no such type), named by the parameter; when there is none, rewrites
/// an integer written as a float (`limit=5.0`) to the integer, as [`normalise`] does.
pub fn normalise_params(type_name: &str, value: &mut Value) -> Vec<Violation> {
    match compiled().params.get(type_name) {
        Some(params) => check_root_normalising(&params.node, value),
        None => Vec::new(),
    }
}

/// The object schema of an operation's parameters in one location (`properties`: one per
/// parameter, `required`: the required ones), by their type's name (`BotListQuery`).
pub fn params_schema(type_name: &str) -> Option<&'static Value> {
    compiled()
        .params
        .get(type_name)
        .map(|params| &params.schema)
}

/// What the compiled contract does not check (keywords, formats or types the checker does not
/// know, dangling references), each with where it is. Empty for a contract within the
/// subset; a unit test keeps it so.
pub fn unsupported() -> &'static [String] {
    &compiled().unsupported
}

/// Every way `value` breaks `schema` (a schema object; `$ref`s are resolved in
/// [`DOCUMENT`]). Compiles `schema` on each call: to check many values, use [`Schema`].
pub fn violations(schema: &Value, value: &Value) -> Vec<Violation> {
    Schema::new(schema).violations(value)
}

/// A schema compiled for checking (its `$ref`s to the contract's schemas point at the
/// contract's own compiled schemas).
pub struct Schema {
    root: Child,
    unsupported: Vec<String>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("unsupported", &self.unsupported)
            .finish_non_exhaustive()
    }
}

impl Schema {
    pub fn new(schema: &Value) -> Schema {
        let mut compiler = Compiler::ad_hoc(compiled());
        let root = compiler.child(schema, "");
        Schema {
            root,
            unsupported: compiler.unsupported,
        }
    }

    /// Every way `value` breaks the schema.
    pub fn violations(&self, value: &Value) -> Vec<Violation> {
        check_root(self.root.node(), value)
    }

    /// What this schema's own (inline) parts have that the checker ignores; see
    /// [`unsupported`] for the contract's named schemas.
    pub fn unsupported(&self) -> &[String] {
        &self.unsupported
    }
}
