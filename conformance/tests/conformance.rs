//! The one conformance test binary: behaviour against the contract, on SQLite and PostgreSQL,
//! through the generated client.
//!
//! Layout: a module per resource group, the contract's tags (`accounts`, `analytics`, `bots`, `chat`,
//! `contacts`, `credentials`, `inbox`, `knowledge_base`, `notifications`, `operations`,
//! `presence`, `teams`, `webhooks`), so that an operation's tests are found from its name:
//! they live in its tag's module (a folder, with a file per operation or pair of operations,
//! where the group is big: `chat_send`'s tests are all under `chat::send`) and their names
//! start with or contain the operationId they test.
//!
//! `cross_cutting` holds the sweeps over every operation or over the storage under them (inputs,
//! errors, credentials, 501s, endpoint coverage, tenancy, secrets, rate limits, migrations,
//! replicas, checkpoints, a crash, the README's quick start), each module saying in its first line what it sweeps.
//! `support` holds the helpers the modules share, one copy of each. A test is an `async fn`
//! run on both databases by `botwire_conformance::on_both_databases!`, as
//! `<module>::<test>::sqlite` and `<module>::<test>::postgres`.

mod conformance {
    mod accounts;
    mod analytics;
    mod bots;
    mod chat;
    mod contacts;
    mod credentials;
    mod cross_cutting;
    mod inbox;
    mod knowledge_base;
    mod notifications;
    mod operations;
    mod presence;
    mod support;
    mod teams;
    mod webhooks;
}
