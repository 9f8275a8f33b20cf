//! The one conformance test binary: behaviour against the contract, on SQLite and PostgreSQL,
//! through the generated client. One module per concern.

mod conformance {
    mod accounts;
    mod bots;
    mod coverage;
    mod credentials;
    mod email;
    mod errors;
    mod inputs;
    mod migrations;
    mod operations;
    mod quota;
    mod rate_limits;
    mod ratelimit;
    mod secrets;
    mod support;
    mod tenancy;
    mod unauthenticated;
    mod unimplemented;
}
