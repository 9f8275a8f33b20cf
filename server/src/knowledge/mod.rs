//! The knowledge base's text: what an uploaded file becomes before it is stored.
//!
//! The database is the source of truth for a bot's knowledge: a document's row and its
//! passages (or FAQ pairs) are what the service stores, in one transaction; the answer
//! engine's search index is rebuilt from them and can always be thrown away. So the work of
//! understanding a file happens once, at upload, in the pure functions here, with no I/O:
//!
//! - [`extract`](extract::extract): bytes, file name and content type -> the
//!   [`DocumentKind`](botwire_api::types::DocumentKind) and either normalised text or
//!   question-and-answer pairs; an unreadable, unsupported or empty file is an
//!   [`ExtractError`], whose message the client may see (422; `TooLarge` is 413), and
//!   nothing is stored.
//! - [`chunk`](chunk::chunk): text -> the ordered passages retrieval searches
//!   (`Document.chunk_count` counts them; an FAQ's pairs are its `faq_count`).
//!
//! Being pure, they are tested on fixtures built in the tests, and can run on a blocking
//! thread (`spawn_blocking`) without touching the request's state. They bound their work on
//! hostile input (see [`extract`](extract::extract)); what they cannot bound is noted there.

pub mod chunk;
pub mod extract;

pub use chunk::{CHUNK_MAX_CHARS, CHUNK_TARGET_CHARS, chunk};
pub use extract::{
    ExtractError, Extracted, FaqPair, MAX_FAQ_PAIRS, MAX_FILE_BYTES, MAX_HTML_DEPTH,
    MAX_TEXT_CHARS, extract,
};
