//! The checker: walks a compiled [`Node`] tree over a value and reports every violation.

use super::compile::{Additional, Child, Format, Node};
use super::formats::{is_date_time, is_email, is_uri, is_uuid};
use super::violations::{Violation, ViolationKind, join_path};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

pub(super) fn check_root(node: &Node, value: &Value) -> Vec<Violation> {
    let mut checker = Checker::new(false);
    checker.check(node, value, false);
    checker.out
}

/// As [`check_root`], and when `value` keeps the schema, rewrites every integer written as a
/// float (`5.0` where the schema's type is `integer`, which JSON Schema calls an integer) to
/// the JSON integer it stands for (`5`), so that a typed parse into an integer type takes it.
/// An integral float out of the range of 64-bit integers is reported as a violation: no typed
/// parse could take it.
///
/// Costs nothing more on a value with no float; each integral float at an integer-typed
/// position costs its JSON pointer (a `String`) and a lookup.
pub(super) fn check_root_normalising(node: &Node, value: &mut Value) -> Vec<Violation> {
    let floats = {
        let mut checker = Checker::new(true);
        checker.check(node, value, false);
        if !checker.out.is_empty() {
            return checker.out;
        }
        checker.integral_floats
    };
    for pointer in floats {
        if let Some(slot) = value.pointer_mut(&pointer)
            && let Some(integer) = slot.as_f64().and_then(integer_of)
        {
            *slot = integer;
        }
    }
    Vec::new()
}

/// The JSON integer an integral float stands for, if a 64-bit integer can hold it.
fn integer_of(f: f64) -> Option<Value> {
    // 2^64 and -2^63 are exact as f64; a float is integral here (the type check passed).
    const U64_END: f64 = 18_446_744_073_709_551_616.0;
    const I64_START: f64 = -9_223_372_036_854_775_808.0;
    if f.fract() != 0.0 {
        None
    } else if (0.0..U64_END).contains(&f) {
        Some(Value::from(f as u64))
    } else if (I64_START..0.0).contains(&f) {
        Some(Value::from(f as i64))
    } else {
        None
    }
}

/// One step of the path to the value being checked (rendered only when reporting).
enum Segment<'v> {
    Key(&'v str),
    Index(usize),
}

struct Checker<'v> {
    path: Vec<Segment<'v>>,
    out: Vec<Violation>,
    /// Whether to record integral floats at integer-typed positions (`integral_floats`).
    normalising: bool,
    /// The JSON pointers of the integers written as floats (`/settings/max_tokens`).
    integral_floats: Vec<String>,
}

/// Echoed input is cut to this many characters in a violation's detail.
const ECHO_LIMIT: usize = 80;

impl<'v> Checker<'v> {
    fn new(normalising: bool) -> Self {
        Checker {
            path: Vec::new(),
            out: Vec::new(),
            normalising,
            integral_floats: Vec::new(),
        }
    }

    /// The path as a JSON pointer (`/settings/tags/2`).
    fn pointer(&self) -> String {
        let mut pointer = String::new();
        for segment in &self.path {
            pointer.push('/');
            match segment {
                Segment::Key(key) => pointer.push_str(&key.replace('~', "~0").replace('/', "~1")),
                Segment::Index(i) => pointer.push_str(&i.to_string()),
            }
        }
        pointer
    }

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
            let detail = format!("expected {}, got {}", node.wants, got(value));
            self.report(WrongType, detail);
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
                format!("does not match pattern {:?}", pattern.source()),
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
        if node.integer_only && n.is_f64() {
            // An integer written as a float (the type check passed: it is integral).
            if integer_of(x).is_none() {
                self.report(
                    WrongType,
                    format!("expected an integer of at most 64 bits, got {n}"),
                );
                return;
            }
            if self.normalising {
                let pointer = self.pointer();
                self.integral_floats.push(pointer);
            }
        }
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

/// What `value` is, in a violation's detail (`a string`, `the number 5.5`).
fn got(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "a string".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
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
