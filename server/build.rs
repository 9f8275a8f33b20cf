//! `embed_migrations!` reads `migrations/` at compile time, but cargo does not know it does: without
//! this, a new or edited migration leaves a binary built before it looking fresh.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
