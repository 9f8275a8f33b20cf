//! `cargo xtask drift-demo`: shows that the contract drives the server's build.
//! (Filled in below.)
use anyhow::Result;
use std::path::Path;

pub fn run(_root: &Path) -> Result<()> {
    anyhow::bail!("drift-demo is not written yet")
}
