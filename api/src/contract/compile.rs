//! The compiled contract: schemas read once into [`Node`] trees (`$ref`s resolved to slots,
//! patterns compiled), and every operation's query parameters as one object schema.

use super::DOCUMENT;
use super::read::{
    Pattern, allows_null, enum_values, f64_keyword, is_integer, required, types_of,
    unsupported_keywords, usize_keyword,
};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

/// The contract's schemas, compiled once.
pub(super) struct Compiled {
    /// Every schema a `$ref` reaches (by slot), and every named schema.
    nodes: Vec<Node>,
    /// `components/schemas` name -> slot.
    pub(super) schemas: HashMap<String, usize>,
    /// The final JSON pointer of a `$ref` chain -> slot.
    by_pointer: HashMap<String, usize>,
    /// Parameters type name (`BotListQuery`, `BotGetPath`, `ChatSendHeaders`) -> the
    /// operation's parameters in that location.
    pub(super) params: HashMap<String, Params>,
    pub(super) unsupported: Vec<String>,
}

impl Compiled {
    pub(super) fn node(&self, slot: usize) -> &Node {
        &self.nodes[slot]
    }
}

/// An operation's parameters in one location (query, path or headers) as one object schema.
pub(super) struct Params {
    pub(super) schema: Value,
    pub(super) node: Node,
    /// Parameter name -> how its text becomes a JSON value.
    pub(super) kinds: HashMap<String, Scalar>,
}

/// The JSON type a parameter's text stands for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scalar {
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

    pub(super) fn value_of(self, text: &str) -> Value {
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

pub(super) fn compiled() -> &'static Compiled {
    static COMPILED: LazyLock<Compiled> = LazyLock::new(|| compile_contract(&DOCUMENT));
    &COMPILED
}

/// A schema, read into what the checker needs.
pub(super) struct Node {
    /// `type`'s names (empty: any type). An unknown name makes `any_type` true.
    pub(super) types: Vec<JsonType>,
    pub(super) any_type: bool,
    /// `types`, as the WrongType message says it (`string or null`).
    pub(super) wants: String,
    pub(super) allows_null: bool,
    pub(super) enumeration: Option<Vec<Value>>,
    /// `enumeration`, as the NotInEnum message says it.
    pub(super) enumeration_text: String,
    pub(super) min_length: Option<usize>,
    pub(super) max_length: Option<usize>,
    pub(super) pattern: Option<Pattern>,
    pub(super) format: Option<Format>,
    pub(super) integer_only: bool,
    pub(super) minimum: Option<f64>,
    pub(super) exclusive_minimum: Option<f64>,
    pub(super) maximum: Option<f64>,
    pub(super) exclusive_maximum: Option<f64>,
    /// `None`: items of any value.
    pub(super) items: Option<Child>,
    pub(super) min_items: Option<usize>,
    pub(super) max_items: Option<usize>,
    pub(super) unique_items: bool,
    pub(super) properties: HashMap<String, Property>,
    pub(super) required: Vec<String>,
    pub(super) additional: Additional,
    pub(super) min_properties: Option<usize>,
    pub(super) max_properties: Option<usize>,
}

pub(super) struct Property {
    pub(super) schema: Child,
    pub(super) required: bool,
}

pub(super) enum Additional {
    Refused,
    Any,
    Schema(Child),
}

/// A schema inside another: a slot of the compiled contract (a `$ref`), or its own node.
pub(super) enum Child {
    Slot(usize),
    Inline(Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JsonType {
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

    pub(super) fn matches(self, value: &Value) -> bool {
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
pub(super) enum Format {
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
pub(super) struct Compiler<'c> {
    doc: &'static Value,
    global: Option<&'c Compiled>,
    slots: Vec<Option<Node>>,
    by_pointer: HashMap<String, usize>,
    pending: Vec<(usize, String)>,
    pub(super) unsupported: Vec<String>,
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

    pub(super) fn ad_hoc(global: &'c Compiled) -> Compiler<'c> {
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

    pub(super) fn child(&mut self, schema: &Value, at: &str) -> Child {
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
        // In JSON's words, as error messages say it: `an integer or null`.
        node.wants = names
            .iter()
            .map(|name| match *name {
                "integer" | "array" | "object" => format!("an {name}"),
                "null" => "null".to_string(),
                _ => format!("a {name}"),
            })
            .collect::<Vec<_>>()
            .join(" or ");
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
    pub(super) fn node(&self) -> &Node {
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
    let mut params = HashMap::new();
    for (type_name, schema, kinds) in param_schemas(doc) {
        let node = compiler.compile(&schema, &format!("({type_name})"));
        params.insert(
            type_name,
            Params {
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
        params,
        unsupported: compiler.unsupported,
    }
}

/// A key as a JSON pointer segment (`~` -> `~0`, `/` -> `~1`).
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

const HTTP_METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Where a parameter is (`in`), and the suffix of the generated type that holds an operation's
/// parameters there (`bot_get` -> `BotGetPath`).
const PARAM_LOCATIONS: [(&str, &str); 3] =
    [("query", "Query"), ("path", "Path"), ("header", "Headers")];

/// Every operation's parameters of each location as one object schema, named as the generator
/// names their type (`bot_list` -> `BotListQuery`), as `xtask`'s `params_schema` builds it;
/// and how each parameter's text becomes a JSON value.
fn param_schemas(doc: &Value) -> Vec<(String, Value, HashMap<String, Scalar>)> {
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
            for (location, suffix) in PARAM_LOCATIONS {
                if let Some((schema, kinds)) = params_in(doc, op, location) {
                    out.push((format!("{}{suffix}", pascal_case(id)), schema, kinds));
                }
            }
        }
    }
    out
}

/// The parameters of `op` in `location` as one object schema (`properties`: one per
/// parameter, `required`: the required ones) and each one's scalar kind; `None` if it has none.
fn params_in(doc: &Value, op: &Value, location: &str) -> Option<(Value, HashMap<String, Scalar>)> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut kinds = HashMap::new();
    let parameters = op.get("parameters").and_then(Value::as_array);
    for parameter in parameters.into_iter().flatten() {
        let parameter = resolve_in(doc, parameter);
        if parameter.get("in").and_then(Value::as_str) != Some(location) {
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
        return None;
    }
    let schema = serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
    });
    Some((schema, kinds))
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
