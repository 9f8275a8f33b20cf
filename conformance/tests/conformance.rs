//! The one conformance test binary: behaviour against the contract, on SQLite and PostgreSQL,
//! through the generated client. One module per concern.

mod conformance {
    mod coverage;
    mod errors;
    mod inputs;
    mod operations;
    mod unimplemented;
}
