//! The contract as the server enforces it: `openapi.yaml` (parsed once), and a checker for the
//! subset of JSON Schema its schemas use.
//!
//! typify's types enforce types, `required`, `additionalProperties: false`, string lengths,
//! patterns and enums while deserializing, but not numeric bounds, array and object sizes,
//! `uniqueItems`, the `email`/`uri` formats, or "`null` is not a value of an optional,
//! non-nullable property". [`JsonBody`](crate::JsonBody) and [`QueryParams`](crate::QueryParams)
//! therefore check every input against its schema here first ([`violations_of`],
//! [`violations_of_query`]), so that the whole contract is enforced when a request is parsed.
//!
//! The schemas are compiled once, at first use: `$ref` chains resolved, patterns compiled,
//! keywords read into plain fields. Checking a value walks the compiled tree only and allocates
//! nothing unless the value breaks the schema. A keyword the checker does not know is never a
//! panic at run time: it is recorded ([`unsupported`]) and ignored, and a unit test keeps the
//! list empty for the real contract.
//!
//! The conformance crate's proptest strategies use the same checker
//! (`botwire_conformance::strategies`), so the values they call valid or invalid are exactly
//! what the server accepts or refuses.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

/// The contract's text.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// The contract, as JSON.
pub static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| serde_yaml::from_str(OPENAPI_YAML).expect("the embedded openapi.yaml parses"));

// ---------------------------------------------------------------------------------------------
// Violations
// ---------------------------------------------------------------------------------------------

/// What one violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ViolationKind {
    /// A `required` property missing.
    MissingRequired,
    /// A property in an object with `additionalProperties: false` that the schema does not name.
    UnknownProperty,
    /// A value of a JSON type the schema does not allow (including `null` where a value is
    /// required: at the top, in an array, or as a required property).
    WrongType,
    /// `null` given for an optional property whose schema does not allow `null`.
    NullForOptionalProperty,
    /// A string over `maxLength` characters.
    TooLong,
    /// A string under `minLength` characters.
    TooShort,
    /// A value outside `enum` (or other than `const`).
    NotInEnum,
    /// A string that does not match `pattern`.
    PatternMismatch,
    /// A string that is not a hyphenated RFC 4122 UUID (`format: uuid`).
    NotAUuid,
    /// A string that is not an RFC 3339 date-time (`format: date-time`).
    NotADateTime,
    /// A string that is not an email address (`format: email`).
    NotAnEmail,
    /// A string that is not an absolute URI (`format: uri`).
    NotAUri,
    /// An integer under `minimum` (or not over `exclusiveMinimum`).
    IntegerBelowMinimum,
    /// An integer over `maximum` (or not under `exclusiveMaximum`).
    IntegerAboveMaximum,
    /// A number under `minimum` (or not over `exclusiveMinimum`).
    NumberBelowMinimum,
    /// A number over `maximum` (or not under `exclusiveMaximum`).
    NumberAboveMaximum,
    /// An array with more than `maxItems` items.
    TooManyItems,
    /// An array with fewer than `minItems` items.
    TooFewItems,
    /// An array with `uniqueItems: true` and a repeated item.
    DuplicateItems,
    /// An object with more than `maxProperties` properties.
    TooManyProperties,
    /// An object with fewer than `minProperties` properties.
    TooFewProperties,
}

impl ViolationKind {
    pub const ALL: &'static [ViolationKind] = &[
        ViolationKind::MissingRequired,
        ViolationKind::UnknownProperty,
        ViolationKind::WrongType,
        ViolationKind::NullForOptionalProperty,
        ViolationKind::TooLong,
        ViolationKind::TooShort,
        ViolationKind::NotInEnum,
        ViolationKind::PatternMismatch,
        ViolationKind::NotAUuid,
        ViolationKind::NotADateTime,
        ViolationKind::NotAnEmail,
        ViolationKind::NotAUri,
        ViolationKind::IntegerBelowMinimum,
        ViolationKind::IntegerAboveMaximum,
        ViolationKind::NumberBelowMinimum,
        ViolationKind::NumberAboveMaximum,
        ViolationKind::TooManyItems,
        ViolationKind::TooFewItems,
        ViolationKind::DuplicateItems,
        ViolationKind::TooManyProperties,
        ViolationKind::TooFewProperties,
    ];
}

/// One contract violation: what was broken, and where (a dotted path such as
/// `settings.suggested_actions[1].label`; empty for the value as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub kind: ViolationKind,
    pub path: String,
    pub detail: String,
}

impl Violation {
    pub fn new(kind: ViolationKind, path: impl Into<String>, detail: impl Into<String>) -> Self {
        Violation {
            kind,
            path: path.into(),
            detail: detail.into(),
        }
    }

    /// The same violation, one property down (`key` + `a.b` = `key.a.b`).
    pub fn under_key(mut self, key: &str) -> Self {
        self.path = join_path(key, &self.path);
        self
    }

    /// The same violation, one array item down (`[2]` + `a` = `[2].a`).
    pub fn under_index(mut self, index: usize) -> Self {
        self.path = join_path(&format!("[{index}]"), &self.path);
        self
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(the whole value)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.detail)
    }
}

/// `parent` and `child` as one dotted path (`a` + `b` = `a.b`, `a` + `[0]` = `a[0]`).
pub fn join_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else if child.is_empty() {
        parent.to_string()
    } else if child.starts_with('[') {
        format!("{parent}{child}")
    } else {
        format!("{parent}.{child}")
    }
}

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

/// Whether `components/schemas` has a schema of this name.
pub fn has_schema(schema_name: &str) -> bool {
    compiled().schemas.contains_key(schema_name)
}

/// Every way `value` (an object of parameter name -> value, see [`query_value`]) breaks the
/// query parameters of the operation whose query type is `type_name` (`BotListQuery` for
/// `bot_list`; nothing if there is no such type). Violations are named by the parameter.
pub fn violations_of_query(type_name: &str, value: &Value) -> Vec<Violation> {
    match compiled().queries.get(type_name) {
        Some(query) => check_root(&query.node, value),
        None => Vec::new(),
    }
}

/// A raw query string as the JSON object [`violations_of_query`] checks: each parameter the
/// operation declares as an integer, a number or a boolean becomes one when its text parses
/// as one (a typed parse has proved it does); everything else stays a string. `None` if
/// `type_name` is not an operation's query type.
pub fn query_value(type_name: &str, query: &str) -> Option<Value> {
    let kinds = &compiled().queries.get(type_name)?.kinds;
    let mut object = Map::new();
    for (name, text) in form_urlencoded::parse(query.as_bytes()) {
        let value = match kinds.get(name.as_ref()) {
            Some(kind) => kind.value_of(&text),
            None => Value::String(text.into_owned()),
        };
        object.insert(name.into_owned(), value);
    }
    Some(Value::Object(object))
}

/// The object schema of an operation's query parameters (`properties`: one per parameter,
/// `required`: the required ones), by its query type's name (`BotListQuery`).
pub fn query_schema(type_name: &str) -> Option<&'static Value> {
    compiled().queries.get(type_name).map(|query| &query.schema)
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

// ---------------------------------------------------------------------------------------------
// Reading schemas (shared with the conformance strategies, so both read a schema alike)
// ---------------------------------------------------------------------------------------------

/// Keywords that constrain a value; each one is handled by the checker.
pub const ASSERTION_KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "enum",
    "const",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "properties",
    "required",
    "additionalProperties",
    "minProperties",
    "maxProperties",
];

/// Keywords that do not constrain a value.
pub const ANNOTATION_KEYWORDS: &[&str] = &[
    "description",
    "title",
    "default",
    "example",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "externalDocs",
];

/// The string formats the checker knows.
pub const FORMATS: &[&str] = &["uuid", "date-time", "email", "uri"];

/// The JSON types a `type` may name.
pub const TYPES: &[&str] = &[
    "null", "boolean", "string", "number", "integer", "array", "object",
];

/// What in one schema object (not the schemas inside it) the checker does not know: unknown
/// keywords, formats and types. Empty when it knows everything.
pub fn unsupported_keywords(schema: &Value) -> Vec<String> {
    let Some(object) = schema.as_object() else {
        return vec![format!("a schema must be an object, not {schema}")];
    };
    let mut out: Vec<String> = object
        .keys()
        .filter(|key| {
            !(ASSERTION_KEYWORDS.contains(&key.as_str())
                || ANNOTATION_KEYWORDS.contains(&key.as_str())
                || key.starts_with("x-"))
        })
        .map(|key| format!("keyword `{key}`"))
        .collect();
    if let Some(format) = schema.get("format").and_then(Value::as_str)
        && !FORMATS.contains(&format)
    {
        out.push(format!("format `{format}`"));
    }
    for t in types_of(schema) {
        if !TYPES.contains(&t) {
            out.push(format!("type `{t}`"));
        }
    }
    out
}

/// The schema's `type`s (empty when it has none).
pub fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The values `enum` (or `const`) allows, if it restricts them.
pub fn enum_values(schema: &Value) -> Option<Vec<Value>> {
    if let Some(value) = schema.get("const") {
        return Some(vec![value.clone()]);
    }
    schema.get("enum").and_then(Value::as_array).cloned()
}

/// Whether `null` is a value of the schema (an optional property whose schema does not allow
/// it refuses `null`: the contract spells nullability as `type: [T, 'null']`).
pub fn allows_null(schema: &Value) -> bool {
    if let Some(values) = enum_values(schema) {
        return values.contains(&Value::Null);
    }
    let types = types_of(schema);
    types.is_empty() && schema.get("type").is_none() || types.contains(&"null")
}

/// Whether `value` is of JSON Schema type `t` (an unknown type matches anything: it is
/// reported by [`unsupported_keywords`], not enforced).
pub fn type_matches(t: &str, value: &Value) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => is_integer(value),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

/// JSON Schema's integer: any number with no fractional part.
pub fn is_integer(value: &Value) -> bool {
    value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// A non-negative integer keyword (`maxLength`, `minItems`...).
pub fn usize_keyword(schema: &Value, key: &str) -> Option<usize> {
    schema
        .get(key)
        .and_then(Value::as_u64)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A numeric keyword (`minimum`, `exclusiveMaximum`...).
pub fn f64_keyword(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

/// `properties` (empty when absent).
pub fn properties(schema: &Value) -> Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `required` (empty when absent).
pub fn required(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// `additionalProperties`: `None` when extra keys are refused, else their schema (`true` or
/// absent: anything).
pub fn additional_schema(schema: &Value) -> Option<Value> {
    match schema.get("additionalProperties") {
        Some(Value::Bool(false)) => None,
        None | Some(Value::Bool(true)) => Some(Value::Object(Map::new())),
        Some(other) => Some(other.clone()),
    }
}

/// A compiled `pattern`, with the semantics of the generated types (`regress`, ECMA-262,
/// unanchored search: `^`/`$` in the pattern are what anchor it).
#[derive(Clone)]
pub struct Pattern {
    source: String,
    regex: Arc<regress::Regex>,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.source)
    }
}

impl Pattern {
    /// Compiles `source` (once per distinct pattern: compiled patterns are shared).
    pub fn new(source: &str) -> Result<Pattern, String> {
        static CACHE: LazyLock<Mutex<HashMap<String, Arc<regress::Regex>>>> =
            LazyLock::new(Default::default);
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let regex = match cache.get(source) {
            Some(regex) => regex.clone(),
            None => {
                let regex = Arc::new(
                    regress::Regex::new(source)
                        .map_err(|e| format!("pattern {source:?} does not compile: {e}"))?,
                );
                cache.insert(source.to_string(), regex.clone());
                regex
            }
        };
        Ok(Pattern {
            source: source.to_string(),
            regex,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, text: &str) -> bool {
        self.regex.find(text).is_some()
    }
}

// ---------------------------------------------------------------------------------------------
// Compiled schemas
// ---------------------------------------------------------------------------------------------

/// The contract's schemas, compiled once.
struct Compiled {
    /// Every schema a `$ref` reaches (by slot), and every named schema.
    nodes: Vec<Node>,
    /// `components/schemas` name -> slot.
    schemas: HashMap<String, usize>,
    /// The final JSON pointer of a `$ref` chain -> slot.
    by_pointer: HashMap<String, usize>,
    /// Query type name (`BotListQuery`) -> the operation's query parameters.
    queries: HashMap<String, Query>,
    unsupported: Vec<String>,
}

impl Compiled {
    fn node(&self, slot: usize) -> &Node {
        &self.nodes[slot]
    }
}

struct Query {
    schema: Value,
    node: Node,
    /// Parameter name -> how its text becomes a JSON value.
    kinds: HashMap<String, Scalar>,
}

/// The JSON type a query parameter's text stands for.
#[derive(Debug, Clone, Copy)]
enum Scalar {
    Integer,
    Number,
    Boolean,
    String,
}

impl Scalar {
    fn of(schema: &Value) -> Scalar {
        let types = types_of(schema);
        if types.contains(&"string") || types.is_empty() {
            Scalar::String
        } else if types.contains(&"integer") {
            Scalar::Integer
        } else if types.contains(&"number") {
            Scalar::Number
        } else if types.contains(&"boolean") {
            Scalar::Boolean
        } else {
            Scalar::String
        }
    }

    fn value_of(self, text: &str) -> Value {
        let number = || {
            text.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
        };
        let parsed = match self {
            Scalar::String => None,
            Scalar::Integer => text
                .parse::<u64>()
                .map(Value::from)
                .or_else(|_| text.parse::<i64>().map(Value::from))
                .ok()
                .or_else(number),
            Scalar::Number => text
                .parse::<u64>()
                .map(Value::from)
                .or_else(|_| text.parse::<i64>().map(Value::from))
                .ok()
                .or_else(number),
            Scalar::Boolean => text.parse::<bool>().ok().map(Value::Bool),
        };
        parsed.unwrap_or_else(|| Value::String(text.to_string()))
    }
}

fn compiled() -> &'static Compiled {
    static COMPILED: LazyLock<Compiled> = LazyLock::new(|| compile_contract(&DOCUMENT));
    &COMPILED
}

/// A schema, read into what the checker needs.
struct Node {
    /// `type`'s names (empty: any type). An unknown name makes `any_type` true.
    types: Vec<JsonType>,
    any_type: bool,
    /// `types`, as the WrongType message says it (`string or null`).
    wants: String,
    allows_null: bool,
    enumeration: Option<Vec<Value>>,
    /// `enumeration`, as the NotInEnum message says it.
    enumeration_text: String,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<Pattern>,
    format: Option<Format>,
    integer_only: bool,
    minimum: Option<f64>,
    exclusive_minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_maximum: Option<f64>,
    /// `None`: items of any value.
    items: Option<Child>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    unique_items: bool,
    properties: HashMap<String, Property>,
    required: Vec<String>,
    additional: Additional,
    min_properties: Option<usize>,
    max_properties: Option<usize>,
}

struct Property {
    schema: Child,
    required: bool,
}

enum Additional {
    Refused,
    Any,
    Schema(Child),
}

/// A schema inside another: a slot of the compiled contract (a `$ref`), or its own node.
enum Child {
    Slot(usize),
    Inline(Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonType {
    Null,
    Boolean,
    String,
    Number,
    Integer,
    Array,
    Object,
}

impl JsonType {
    fn parse(name: &str) -> Option<JsonType> {
        Some(match name {
            "null" => JsonType::Null,
            "boolean" => JsonType::Boolean,
            "string" => JsonType::String,
            "number" => JsonType::Number,
            "integer" => JsonType::Integer,
            "array" => JsonType::Array,
            "object" => JsonType::Object,
            _ => return None,
        })
    }

    fn matches(self, value: &Value) -> bool {
        match self {
            JsonType::Null => value.is_null(),
            JsonType::Boolean => value.is_boolean(),
            JsonType::String => value.is_string(),
            JsonType::Number => value.is_number(),
            JsonType::Integer => is_integer(value),
            JsonType::Array => value.is_array(),
            JsonType::Object => value.is_object(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Uuid,
    DateTime,
    Email,
    Uri,
}

impl Node {
    /// A schema every value satisfies.
    fn any() -> Node {
        Node {
            types: Vec::new(),
            any_type: false,
            wants: String::new(),
            allows_null: true,
            enumeration: None,
            enumeration_text: String::new(),
            min_length: None,
            max_length: None,
            pattern: None,
            format: None,
            integer_only: false,
            minimum: None,
            exclusive_minimum: None,
            maximum: None,
            exclusive_maximum: None,
            items: None,
            min_items: None,
            max_items: None,
            unique_items: false,
            properties: HashMap::new(),
            required: Vec::new(),
            additional: Additional::Any,
            min_properties: None,
            max_properties: None,
        }
    }
}

/// Most `$ref` hops followed before a chain is taken as a cycle.
const MAX_REF_HOPS: usize = 32;
/// Deepest nesting of inline schemas compiled (a guard against cyclic references that do not
/// go through a slot).
const MAX_INLINE_DEPTH: usize = 64;

/// Compiles schemas. For the contract (`global: None`), every `$ref` target becomes a slot
/// (so cycles are fine); for an ad-hoc schema, `$ref`s point at the contract's slots.
struct Compiler<'c> {
    doc: &'static Value,
    global: Option<&'c Compiled>,
    slots: Vec<Option<Node>>,
    by_pointer: HashMap<String, usize>,
    pending: Vec<(usize, String)>,
    unsupported: Vec<String>,
    depth: usize,
}

impl<'c> Compiler<'c> {
    fn for_contract(doc: &'static Value) -> Compiler<'static> {
        Compiler {
            doc,
            global: None,
            slots: Vec::new(),
            by_pointer: HashMap::new(),
            pending: Vec::new(),
            unsupported: Vec::new(),
            depth: 0,
        }
    }

    fn ad_hoc(global: &'c Compiled) -> Compiler<'c> {
        Compiler {
            doc: &DOCUMENT,
            global: Some(global),
            slots: Vec::new(),
            by_pointer: HashMap::new(),
            pending: Vec::new(),
            unsupported: Vec::new(),
            depth: 0,
        }
    }

    fn note(&mut self, at: &str, what: impl fmt::Display) {
        let at = if at.is_empty() { "(schema)" } else { at };
        self.unsupported.push(format!("{at}: {what}"));
    }

    /// Follows a `$ref` chain to its final JSON pointer and target.
    fn follow(&mut self, reference: &str, at: &str) -> Option<(String, &'static Value)> {
        let doc = self.doc;
        let mut pointer = reference.to_string();
        for _ in 0..MAX_REF_HOPS {
            let Some(local) = pointer.strip_prefix('#') else {
                self.note(
                    at,
                    format_args!("only local references are checked: {pointer}"),
                );
                return None;
            };
            let Some(target) = doc.pointer(local) else {
                self.note(at, format_args!("dangling reference {pointer}"));
                return None;
            };
            match target.get("$ref").and_then(Value::as_str) {
                Some(next) => pointer = next.to_string(),
                None => return Some((local.to_string(), target)),
            }
        }
        self.note(
            at,
            format_args!("a cycle of references through {reference}"),
        );
        None
    }

    /// The child for a `$ref`.
    fn reference(&mut self, reference: &str, at: &str) -> Child {
        let Some((pointer, target)) = self.follow(reference, at) else {
            return Child::Inline(Box::new(Node::any()));
        };
        match self.global {
            None => Child::Slot(self.slot(&pointer)),
            Some(global) => match global.by_pointer.get(&pointer) {
                Some(&slot) => Child::Slot(slot),
                None => Child::Inline(Box::new(self.compile(target, &pointer))),
            },
        }
    }

    /// The slot of a pointer, reserved (and queued for compiling) on first sight.
    fn slot(&mut self, pointer: &str) -> usize {
        if let Some(&slot) = self.by_pointer.get(pointer) {
            return slot;
        }
        let slot = self.slots.len();
        self.slots.push(None);
        self.by_pointer.insert(pointer.to_string(), slot);
        self.pending.push((slot, pointer.to_string()));
        slot
    }

    /// Compiles the queued slots (which may queue more).
    fn drain(&mut self) {
        while let Some((slot, pointer)) = self.pending.pop() {
            let node = match self.doc.pointer(&pointer) {
                Some(schema) => self.compile(schema, &pointer),
                None => {
                    self.note(&pointer, "dangling reference");
                    Node::any()
                }
            };
            self.slots[slot] = Some(node);
        }
    }

    fn child(&mut self, schema: &Value, at: &str) -> Child {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => self.reference(reference, at),
            None => Child::Inline(Box::new(self.compile(schema, at))),
        }
    }

    /// Compiles one schema (a `$ref` is followed: its siblings are annotations).
    fn compile(&mut self, schema: &Value, at: &str) -> Node {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            // Only at the top of an ad-hoc schema or a slot whose target is itself a chain
            // (chains are followed to the end, so this is rare): compile the target inline.
            return match self.follow(reference, at) {
                Some((pointer, target)) => self.nested(|c| c.compile(target, &pointer)),
                None => Node::any(),
            };
        }
        for problem in unsupported_keywords(schema) {
            self.note(at, problem);
        }
        if !schema.is_object() {
            return Node::any();
        }
        let mut node = Node::any();
        let names = types_of(schema);
        for name in &names {
            match JsonType::parse(name) {
                Some(t) => node.types.push(t),
                None => node.any_type = true,
            }
        }
        node.wants = names.join(" or ");
        node.allows_null = allows_null(schema);
        node.enumeration = enum_values(schema);
        if let Some(values) = &node.enumeration {
            node.enumeration_text = Value::Array(values.clone()).to_string();
        }
        node.min_length = usize_keyword(schema, "minLength");
        node.max_length = usize_keyword(schema, "maxLength");
        if let Some(source) = schema.get("pattern").and_then(Value::as_str) {
            match Pattern::new(source) {
                Ok(pattern) => node.pattern = Some(pattern),
                Err(problem) => self.note(at, problem),
            }
        }
        node.format = match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => Some(Format::Uuid),
            Some("date-time") => Some(Format::DateTime),
            Some("email") => Some(Format::Email),
            Some("uri") => Some(Format::Uri),
            _ => None,
        };
        node.integer_only = names.contains(&"integer") && !names.contains(&"number");
        node.minimum = f64_keyword(schema, "minimum");
        node.exclusive_minimum = f64_keyword(schema, "exclusiveMinimum");
        node.maximum = f64_keyword(schema, "maximum");
        node.exclusive_maximum = f64_keyword(schema, "exclusiveMaximum");
        if let Some(items) = schema.get("items") {
            let at = format!("{at}/items");
            node.items = Some(self.nested(|c| c.child(items, &at)));
        }
        node.min_items = usize_keyword(schema, "minItems");
        node.max_items = usize_keyword(schema, "maxItems");
        node.unique_items = schema.get("uniqueItems") == Some(&Value::Bool(true));
        node.required = required(schema);
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let at = format!("{at}/properties/{name}");
                let child = self.nested(|c| c.child(property, &at));
                let property = Property {
                    schema: child,
                    required: node.required.contains(name),
                };
                node.properties.insert(name.clone(), property);
            }
        }
        node.additional = match schema.get("additionalProperties") {
            None | Some(Value::Bool(true)) => Additional::Any,
            Some(Value::Bool(false)) => Additional::Refused,
            Some(other) => {
                let at = format!("{at}/additionalProperties");
                Additional::Schema(self.nested(|c| c.child(other, &at)))
            }
        };
        node.min_properties = usize_keyword(schema, "minProperties");
        node.max_properties = usize_keyword(schema, "maxProperties");
        node
    }

    /// Runs `f` one level of inline nesting down; past the guard, a schema is not checked.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T
    where
        T: From<Node>,
    {
        if self.depth >= MAX_INLINE_DEPTH {
            self.note("", "schemas nested too deeply (a cycle of references?)");
            return T::from(Node::any());
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }
}

impl Child {
    fn node(&self) -> &Node {
        match self {
            Child::Slot(slot) => compiled().node(*slot),
            Child::Inline(node) => node,
        }
    }
}

impl From<Node> for Child {
    fn from(node: Node) -> Child {
        Child::Inline(Box::new(node))
    }
}

fn compile_contract(doc: &'static Value) -> Compiled {
    let mut compiler = Compiler::for_contract(doc);
    let mut schemas = HashMap::new();
    if let Some(named) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for name in named.keys() {
            let pointer = format!("/components/schemas/{}", escape_pointer(name));
            // A named schema that is itself a `$ref` shares its target's slot.
            let slot = match doc.pointer(&pointer).and_then(|s| s.get("$ref")) {
                Some(Value::String(reference)) => match compiler.follow(reference, &pointer) {
                    Some((target, _)) => compiler.slot(&target),
                    None => compiler.slot(&pointer),
                },
                _ => compiler.slot(&pointer),
            };
            schemas.insert(name.clone(), slot);
        }
    }
    let mut queries = HashMap::new();
    for (type_name, schema, kinds) in query_schemas(doc) {
        let node = compiler.compile(&schema, &format!("({type_name})"));
        queries.insert(
            type_name,
            Query {
                schema,
                node,
                kinds,
            },
        );
    }
    compiler.drain();
    let nodes = compiler
        .slots
        .into_iter()
        .map(|node| node.unwrap_or_else(Node::any))
        .collect();
    Compiled {
        nodes,
        schemas,
        by_pointer: compiler.by_pointer,
        queries,
        unsupported: compiler.unsupported,
    }
}

/// A key as a JSON pointer segment (`~` -> `~0`, `/` -> `~1`).
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

const HTTP_METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation's query parameters as one object schema, named as the generator names the
/// query type (`bot_list` -> `BotListQuery`), as `xtask`'s `params_schema` builds it; and how
/// each parameter's text becomes a JSON value.
fn query_schemas(doc: &Value) -> Vec<(String, Value, HashMap<String, Scalar>)> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for item in paths.values() {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            if !HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let mut properties = Map::new();
            let mut required = Vec::new();
            let mut kinds = HashMap::new();
            let parameters = op.get("parameters").and_then(Value::as_array);
            for parameter in parameters.into_iter().flatten() {
                let parameter = resolve_in(doc, parameter);
                if parameter.get("in").and_then(Value::as_str) != Some("query") {
                    continue;
                }
                let Some(name) = parameter.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let schema = parameter
                    .get("schema")
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Map::new()));
                kinds.insert(name.to_string(), Scalar::of(resolve_in(doc, &schema)));
                properties.insert(name.to_string(), schema);
                if parameter.get("required").and_then(Value::as_bool) == Some(true) {
                    required.push(Value::String(name.to_string()));
                }
            }
            if properties.is_empty() {
                continue;
            }
            let schema = serde_json::json!({
                "type": "object",
                "properties": properties,
                "required": required,
            });
            out.push((format!("{}Query", pascal_case(id)), schema, kinds));
        }
    }
    out
}

/// Follows a `$ref` chain in `doc` (at most [`MAX_REF_HOPS`]).
fn resolve_in<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut value = value;
    for _ in 0..MAX_REF_HOPS {
        match value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| doc.pointer(pointer))
        {
            Some(target) => value = target,
            None => break,
        }
    }
    value
}

/// `bot_list` -> `BotList` (as `xtask`'s `pascal_case`, which names the generated types).
fn pascal_case(snake: &str) -> String {
    snake
        .split(['_', '-', '.'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| std::iter::once(first.to_ascii_uppercase()).chain(chars))
                .into_iter()
                .flatten()
                .collect::<String>()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------

fn check_root(node: &Node, value: &Value) -> Vec<Violation> {
    let mut checker = Checker {
        path: Vec::new(),
        out: Vec::new(),
    };
    checker.check(node, value, false);
    checker.out
}

/// One step of the path to the value being checked (rendered only when reporting).
enum Segment<'v> {
    Key(&'v str),
    Index(usize),
}

struct Checker<'v> {
    path: Vec<Segment<'v>>,
    out: Vec<Violation>,
}

/// Echoed input is cut to this many characters in a violation's detail.
const ECHO_LIMIT: usize = 80;

impl<'v> Checker<'v> {
    fn path_text(&self) -> String {
        self.path
            .iter()
            .fold(String::new(), |path, segment| match segment {
                Segment::Key(key) => join_path(&path, key),
                Segment::Index(i) => join_path(&path, &format!("[{i}]")),
            })
    }

    fn report(&mut self, kind: ViolationKind, detail: String) {
        let path = self.path_text();
        self.out.push(Violation::new(kind, path, detail));
    }

    fn child(&mut self, child: &Child, value: &'v Value, segment: Segment<'v>, optional: bool) {
        self.path.push(segment);
        self.check(child.node(), value, optional);
        self.path.pop();
    }

    /// `optional`: the value is an optional property's, where `null` is its own violation.
    fn check(&mut self, node: &Node, value: &'v Value, optional: bool) {
        use ViolationKind::*;
        if value.is_null() && optional && !node.allows_null {
            self.report(
                NullForOptionalProperty,
                "null for an optional, non-nullable property".into(),
            );
            return;
        }
        if !node.types.is_empty() && !node.any_type && !node.types.iter().any(|t| t.matches(value))
        {
            self.report(
                WrongType,
                format!(
                    "wrong type: {} where the schema wants {}",
                    type_name(value),
                    node.wants
                ),
            );
            return;
        }
        if let Some(values) = &node.enumeration
            && !values.contains(value)
        {
            self.report(
                NotInEnum,
                format!("{} is not one of {}", echo(value), node.enumeration_text),
            );
        }
        match value {
            Value::String(s) => self.check_string(node, s),
            Value::Number(n) => self.check_number(node, n),
            Value::Array(items) => {
                self.check_array_size(node, items);
                if let Some(item_schema) = &node.items {
                    for (i, item) in items.iter().enumerate() {
                        self.child(item_schema, item, Segment::Index(i), false);
                    }
                }
            }
            Value::Object(object) => self.check_object(node, object),
            Value::Null | Value::Bool(_) => {}
        }
    }

    fn check_string(&mut self, node: &Node, s: &str) {
        use ViolationKind::*;
        if node.max_length.is_some() || node.min_length.is_some() {
            let n = s.chars().count();
            if let Some(max) = node.max_length.filter(|&m| n > m) {
                self.report(
                    TooLong,
                    format!("longer than maxLength {max} ({n} characters)"),
                );
            }
            if let Some(min) = node.min_length.filter(|&m| n < m) {
                self.report(
                    TooShort,
                    format!("shorter than minLength {min} ({n} characters)"),
                );
            }
        }
        if let Some(pattern) = &node.pattern
            && !pattern.matches(s)
        {
            self.report(
                PatternMismatch,
                format!("does not match pattern {:?}", pattern.source),
            );
        }
        let quoted = || format!("{:?}", shorten(s));
        match node.format {
            Some(Format::Uuid) if !is_uuid(s) => {
                self.report(NotAUuid, format!("{} is not a uuid", quoted()));
            }
            Some(Format::DateTime) if !is_date_time(s) => {
                self.report(
                    NotADateTime,
                    format!("{} is not an RFC 3339 date-time", quoted()),
                );
            }
            Some(Format::Email) if !is_email(s) => {
                self.report(NotAnEmail, format!("{} is not an email address", quoted()));
            }
            Some(Format::Uri) if !is_uri(s) => {
                self.report(NotAUri, format!("{} is not a URI", quoted()));
            }
            _ => {}
        }
    }

    fn check_number(&mut self, node: &Node, n: &serde_json::Number) {
        use ViolationKind::*;
        let Some(x) = n.as_f64() else {
            return;
        };
        let (below, above) = if node.integer_only {
            (IntegerBelowMinimum, IntegerAboveMaximum)
        } else {
            (NumberBelowMinimum, NumberAboveMaximum)
        };
        if let Some(m) = node.minimum.filter(|&m| x < m) {
            self.report(below, format!("{n} is under minimum {m}"));
        }
        if let Some(m) = node.exclusive_minimum.filter(|&m| x <= m) {
            self.report(below, format!("{n} is not over exclusiveMinimum {m}"));
        }
        if let Some(m) = node.maximum.filter(|&m| x > m) {
            self.report(above, format!("{n} is over maximum {m}"));
        }
        if let Some(m) = node.exclusive_maximum.filter(|&m| x >= m) {
            self.report(above, format!("{n} is not under exclusiveMaximum {m}"));
        }
    }

    fn check_array_size(&mut self, node: &Node, items: &[Value]) {
        use ViolationKind::*;
        let n = items.len();
        if let Some(max) = node.max_items.filter(|&m| n > m) {
            self.report(
                TooManyItems,
                format!("more than maxItems {max} ({n} items)"),
            );
        }
        if let Some(min) = node.min_items.filter(|&m| n < m) {
            self.report(
                TooFewItems,
                format!("fewer than minItems {min} ({n} items)"),
            );
        }
        if node.unique_items && has_duplicates(items) {
            self.report(
                DuplicateItems,
                "a repeated item where uniqueItems is true".into(),
            );
        }
    }

    fn check_object(&mut self, node: &Node, object: &'v Map<String, Value>) {
        use ViolationKind::*;
        let n = object.len();
        if let Some(max) = node.max_properties.filter(|&m| n > m) {
            self.report(
                TooManyProperties,
                format!("more than maxProperties {max} ({n})"),
            );
        }
        if let Some(min) = node.min_properties.filter(|&m| n < m) {
            self.report(
                TooFewProperties,
                format!("fewer than minProperties {min} ({n})"),
            );
        }
        for name in &node.required {
            if !object.contains_key(name) {
                let path = join_path(&self.path_text(), name);
                self.out.push(Violation::new(
                    MissingRequired,
                    path,
                    "required property missing",
                ));
            }
        }
        for (key, item) in object {
            match (node.properties.get(key), &node.additional) {
                (Some(property), _) => {
                    self.child(
                        &property.schema,
                        item,
                        Segment::Key(key),
                        !property.required,
                    );
                }
                (None, Additional::Schema(extra)) => {
                    self.child(extra, item, Segment::Key(key), false);
                }
                (None, Additional::Any) => {}
                (None, Additional::Refused) => {
                    self.path.push(Segment::Key(key));
                    self.report(
                        UnknownProperty,
                        "unknown property where additionalProperties is false".into(),
                    );
                    self.path.pop();
                }
            }
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `text`, cut to [`ECHO_LIMIT`] characters.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(ECHO_LIMIT) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// A value as JSON, cut to [`ECHO_LIMIT`] characters.
fn echo(value: &Value) -> String {
    shorten(&value.to_string())
}

/// Whether two items are equal (as JSON values), without comparing every pair of a long array.
fn has_duplicates(items: &[Value]) -> bool {
    if items.len() <= 16 {
        return items
            .iter()
            .enumerate()
            .any(|(i, item)| items[i + 1..].contains(item));
    }
    let mut seen: HashMap<u64, Vec<&Value>> = HashMap::with_capacity(items.len());
    for item in items {
        let mut hasher = DefaultHasher::new();
        hash_value(item, &mut hasher);
        let bucket = seen.entry(hasher.finish()).or_default();
        if bucket.contains(&item) {
            return true;
        }
        bucket.push(item);
    }
    false
}

/// A hash consistent with `Value`'s equality (objects compare regardless of key order).
fn hash_value(value: &Value, hasher: &mut impl Hasher) {
    match value {
        Value::Null => 0u8.hash(hasher),
        Value::Bool(b) => (1u8, b).hash(hasher),
        Value::Number(n) => {
            2u8.hash(hasher);
            if let Some(u) = n.as_u64() {
                (0u8, u).hash(hasher);
            } else if let Some(i) = n.as_i64() {
                (1u8, i).hash(hasher);
            } else if let Some(f) = n.as_f64() {
                // 0.0 == -0.0.
                let f = if f == 0.0 { 0.0 } else { f };
                (2u8, f.to_bits()).hash(hasher);
            }
        }
        Value::String(s) => (3u8, s).hash(hasher),
        Value::Array(items) => {
            (4u8, items.len()).hash(hasher);
            for item in items {
                hash_value(item, hasher);
            }
        }
        Value::Object(object) => {
            (5u8, object.len()).hash(hasher);
            let mut sum = 0u64;
            for (key, item) in object {
                let mut entry = DefaultHasher::new();
                key.hash(&mut entry);
                hash_value(item, &mut entry);
                sum = sum.wrapping_add(entry.finish());
            }
            sum.hash(hasher);
        }
    }
}

/// A hyphenated RFC 4122 UUID (`8-4-4-4-12` hex digits).
fn is_uuid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// An RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn is_date_time(s: &str) -> bool {
    fn digits(s: &str, range: std::ops::Range<usize>, max: u32) -> bool {
        s.get(range)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u32>().ok())
            .is_some_and(|n| n <= max)
    }
    let b = s.as_bytes();
    if b.len() < 20
        || !(digits(s, 0..4, 9999) && b[4] == b'-' && digits(s, 5..7, 12) && b[7] == b'-')
        || !(digits(s, 8..10, 31) && matches!(b[10], b'T' | b't'))
        || !(digits(s, 11..13, 23) && b[13] == b':' && digits(s, 14..16, 59) && b[16] == b':')
        || !digits(s, 17..19, 60)
        || &s[5..7] == "00"
        || &s[8..10] == "00"
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', ..] if rest.len() == 6 => {
            digits(rest, 1..3, 23) && rest.as_bytes()[3] == b':' && digits(rest, 4..6, 59)
        }
        _ => false,
    }
}

/// An email address (RFC 5321 mailbox, loosely: one `@`, a non-empty local part and domain,
/// no whitespace, a domain of letters, digits, dots and hyphens).
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !local.chars().any(|c| c.is_whitespace() || c == '@')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// An absolute URI (RFC 3986): a scheme, `:`, and only URI characters (`%` escapes valid).
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let bytes = rest.as_bytes();
    let chars_ok = bytes.iter().enumerate().all(|(i, &b)| {
        b.is_ascii_alphanumeric()
            || b"-._~:/?#[]@!$&'()*+,;=".contains(&b)
            || (b == b'%'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    scheme_ok && !rest.is_empty() && chars_ok
}

#[cfg(test)]
mod tests {
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
        crate::query::parse::<T>(text, &T::schema_name())
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
        const API: &str = include_str!("generated/api.rs");
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
            assert!(query_schema(name).is_some(), "query type {name} is unknown");
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
        // The typed parse still answers first, naming the parameter.
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
            query_schema("BotListQuery").map(|s| s["type"].clone()),
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
}
