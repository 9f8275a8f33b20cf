//! Sweeps across the resource groups: properties of the whole contract or the whole server
//! (every operation's inputs, errors, credentials and 501s, endpoint coverage, tenancy, CORS,
//! secrets in the log, rate limits as a policy) and of the storage under every operation
//! (migrations, replicas, SQLite's checkpoints, a crash). Each module's first line says what it
//! sweeps.

mod access_matrix;
mod checkpoints;
mod cors;
mod coverage;
mod errors;
mod inputs;
mod migrations;
mod quickstart;
mod rate_limiter;
mod rate_limits;
mod replicas;
mod secrets;
mod tenancy;
mod unauthenticated;
mod unimplemented;
mod webhook_crash;
