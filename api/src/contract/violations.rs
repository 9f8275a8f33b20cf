//! What a checked value can break: [`ViolationKind`], [`Violation`] and their dotted paths.

use std::fmt;

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
