//! The one conformance test binary: behaviour against the contract, on SQLite and PostgreSQL,
//! through the generated client. One module per concern.

mod conformance {
    mod accounts;
    mod bot_settings;
    mod bots;
    mod chat;
    mod checkpoints;
    mod coverage;
    mod credentials;
    mod email;
    mod errors;
    mod group_commit;
    mod inputs;
    mod knowledge;
    mod llm;
    mod llm_e2e;
    mod migrations;
    mod operations;
    mod quota;
    mod rate_limits;
    mod ratelimit;
    mod replicas;
    mod secrets;
    mod stream;
    mod support;
    mod tenancy;
    mod unauthenticated;
    mod unimplemented;
    mod webhook_crash;
    mod webhooks;
    mod widget_origins;
}
