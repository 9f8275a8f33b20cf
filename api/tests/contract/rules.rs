//! The normalisation rules: every difference between `openapi.yaml` and the document dropshot
//! emits that the contract test accepts, because dropshot, schemars or typify cannot express
//! the spec's construct. Any difference not covered by one of these rules fails the test.
//!
//! Normal-form equivalences are not rules: they change how a schema is written, not what it
//! says (`$ref`s inlined, `type: [T, 'null']` = `nullable: true` = `anyOf [T, {type: null}]`,
//! a one-schema `allOf`/`anyOf`/`oneOf` = that schema, `additionalProperties: true` = absent,
//! `required`/`enum` compared as sets, `required: false` or a default `style` = absent,
//! whitespace in prose collapsed, header names case-insensitive, dropshot's `default` response
//! taken as the success response when there is no 2XX one).

/// A named, documented reason to accept a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub why: &'static str,
}

/// Every rule, in the order a reader meets them in a document.
pub const RULES: &[Rule] = &[
    SECURITY_AND_RATE_LIMIT_CLASS,
    ERROR_RESPONSES,
    MESSAGE_DESCRIPTIONS,
    MEDIA_EXAMPLES,
    MULTIPART_BODY,
    RAW_SUCCESS_MEDIA_TYPE,
    RAW_SUCCESS_HEADERS,
    SCHEMA_ANNOTATIONS,
    SCHEMA_CONSTRAINTS,
    NUMERIC_FORMATS,
    UNMAPPED_STRING_FORMATS,
    OPTIONAL_IS_NULLABLE,
];

pub const SECURITY_AND_RATE_LIMIT_CLASS: Rule = Rule {
    name: "R01-security-and-rate-limit-class",
    why: "An operation's `security`, `x-rate-limit-class` and `x-botwire-access` have no place \
          in a dropshot endpoint; they are generated into the policy table, and other tests \
          (the permission matrix among them) check that the server enforces them.",
};

pub const ERROR_RESPONSES: Rule = Rule {
    name: "R02-error-responses",
    why: "dropshot documents an endpoint's error type once, as shared `4XX` and `5XX` responses \
          without headers. So the spec's specific error codes (400, 404, 429, 5XX, ...) with \
          their descriptions and rate-limit headers are accepted when every one of them is the \
          `Error` envelope, the emitted operation has `4XX` and `5XX` with the `Error` envelope, \
          and the two `Error` schemas have the same shape (checked once, as `Error envelope`).",
};

pub const MESSAGE_DESCRIPTIONS: Rule = Rule {
    name: "R03-message-descriptions",
    why: "dropshot writes fixed success-response descriptions (`successful operation`, \
          `successful creation`, ...) and cannot describe a request body.",
};

pub const MEDIA_EXAMPLES: Rule = Rule {
    name: "R04-media-examples",
    why: "dropshot never emits `example`/`examples` on a request or response media type.",
};

pub const MULTIPART_BODY: Rule = Rule {
    name: "R05-multipart-body",
    why: "dropshot's `MultipartBody` documents its body as `{type: string, format: binary}`; \
          it cannot describe the form's parts, so only the media type is compared.",
};

pub const RAW_SUCCESS_MEDIA_TYPE: Rule = Rule {
    name: "R06-raw-success-media-type",
    why: "dropshot documents a response without a JSON schema (SSE, YAML, plain text, HTML) \
          as `*/*` with an any-schema; accepted when the spec's success response has a single \
          non-JSON media type.",
};

pub const RAW_SUCCESS_HEADERS: Rule = Rule {
    name: "R07-raw-success-headers",
    why: "dropshot emits response headers only for a response with a schema, so a raw (`*/*`) \
          success response cannot document the spec's rate-limit headers.",
};

pub const SCHEMA_ANNOTATIONS: Rule = Rule {
    name: "R08-schema-annotations",
    why: "Descriptions, titles, examples and readOnly/writeOnly inside schemas are prose or \
          hints, not shape; typify keeps only descriptions (as doc comments), and not all of them.",
};

pub const SCHEMA_CONSTRAINTS: Rule = Rule {
    name: "R09-schema-constraints",
    why: "typify enforces length, pattern, range, size and uniqueness constraints in the Rust \
          type (a newtype with a validating Deserialize, an unsigned or NonZero integer) and \
          defaults as serde default functions; the JsonSchema derived from that type does not \
          restate them, or states the Rust type's own bounds (uint64 has minimum 0) instead.",
};

pub const NUMERIC_FORMATS: Rule = Rule {
    name: "R10-numeric-formats",
    why: "The spec says `integer`/`number`; typify picks a Rust width (i64, u64, f64) and \
          schemars names it as `format` (int64, uint64, double).",
};

pub const UNMAPPED_STRING_FORMATS: Rule = Rule {
    name: "R11-unmapped-string-formats",
    why: "typify maps only the string formats uuid, date, date-time, ip, ipv4 and ipv6 to Rust \
          types; any other (email, uri, ...) becomes a plain String, which schemars documents \
          without a format.",
};

pub const OPTIONAL_IS_NULLABLE: Rule = Rule {
    name: "R12-optional-is-nullable",
    why: "typify makes an optional property or parameter without a default an `Option<T>`, and \
          schemars documents every `Option` as nullable: a Rust type cannot say `may be absent \
          but never null`. Accepted only where the property or parameter is optional on both \
          sides and only the emitted side is nullable.",
};

/// The string formats typify turns into Rust types that schemars documents with that format.
pub const TYPIFY_STRING_FORMATS: &[&str] = &["uuid", "date", "date-time", "ip", "ipv4", "ipv6"];

/// Schema keywords of [`SCHEMA_ANNOTATIONS`].
pub const ANNOTATION_KEYWORDS: &[&str] = &[
    "description",
    "title",
    "example",
    "examples",
    "readOnly",
    "writeOnly",
];

/// Schema keywords of [`SCHEMA_CONSTRAINTS`].
pub const CONSTRAINT_KEYWORDS: &[&str] = &[
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "default",
];
