//! Custom SQL that diesel's DSL cannot express lives here, and only here: hand-written query
//! types (their own `QueryFragment`/`QueryId`, static ids so that each connection prepares
//! them once) and raw statements. The store's modules run them; nothing else names them.

pub(crate) mod conversations;
pub(crate) mod rate_limits;
