//! `cargo xtask drift-demo`: the contract drives the server's build.
//!
//! On a scratch copy of the workspace (never the real one) this edits `openapi.yaml`, runs
//! regen there, and checks that `botwire-server` no longer compiles, naming what is missing:
//! - a new operation: the server does not implement the trait method;
//! - a new required field in a response schema: the server builds that response without it.
//!
//! (A new required field in a *request* schema breaks the build of the handler that uses it,
//! because handlers destructure request bodies without `..`: see ARCHITECTURE.md.)
//! The unchanged copy is checked first, so that a failure is the edit's doing.

use crate::regen;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Scenario {
    name: &'static str,
    edit: fn(&str) -> Result<String>,
    /// What the compiler must say, proving it is this edit that broke the build.
    expect: &'static [&'static str],
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "a new operation (bot_archive)",
        edit: add_operation,
        expect: &["bot_archive", "E0046"],
    },
    Scenario {
        name: "a new required field in a response schema (Health.uptime_seconds)",
        edit: add_required_response_field,
        expect: &["uptime_seconds", "E0063"],
    },
];

pub fn run(root: &Path) -> Result<()> {
    let scratch = tempfile_dir()?;
    let result = run_in(root, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run_in(root: &Path, scratch: &Path) -> Result<()> {
    copy_tracked_files(root, scratch)?;
    // Share the real target dir: dependencies are already built there.
    let target = root.join("target");
    println!("drift-demo: the unchanged scratch copy builds");
    let baseline = check_server(scratch, &target)?;
    if !baseline.0 {
        bail!("the unchanged scratch copy does not build:\n{}", baseline.1);
    }
    let original = std::fs::read_to_string(scratch.join("openapi.yaml"))?;
    for scenario in &SCENARIOS {
        println!("drift-demo: {}", scenario.name);
        std::fs::write(scratch.join("openapi.yaml"), (scenario.edit)(&original)?)?;
        regen::write(scratch)?;
        let (ok, output) = check_server(scratch, &target)?;
        if ok {
            bail!(
                "{}: the server still builds after regen; the contract does not drive it",
                scenario.name
            );
        }
        for needle in scenario.expect {
            if !output.contains(needle) {
                bail!(
                    "{}: the build failed, but not for this edit (no {needle:?}):\n{output}",
                    scenario.name
                );
            }
        }
        let first_error = output
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("");
        println!("  the server no longer builds: {first_error}");
        std::fs::write(scratch.join("openapi.yaml"), &original)?;
        regen::write(scratch)?;
    }
    println!("drift-demo: every contract change broke the server's build until implemented");
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("botwire-drift-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn copy_tracked_files(root: &Path, scratch: &Path) -> Result<()> {
    let output = Command::new("git")
        .current_dir(root)
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .output()
        .context("listing the workspace's files with git")?;
    if !output.status.success() {
        bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for file in String::from_utf8(output.stdout)?.lines() {
        let from = root.join(file);
        if !from.is_file() {
            continue;
        }
        let to = scratch.join(file);
        std::fs::create_dir_all(to.parent().expect("a file has a parent"))?;
        std::fs::copy(&from, &to).with_context(|| format!("copying {file}"))?;
    }
    Ok(())
}

/// `cargo check -p botwire-server` in `dir`: (whether it built, what the compiler said).
fn check_server(dir: &Path, target: &Path) -> Result<(bool, String)> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(dir)
        .args([
            "check",
            "--quiet",
            "--package",
            "botwire-server",
            "--message-format",
            "short",
        ])
        .env("CARGO_TARGET_DIR", target)
        .output()
        .context("running cargo check")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.success(), text))
}

/// Adds `POST /v1/bots/{bot_id}/archive` (`bot_archive`), shaped like `bot_activate`.
fn add_operation(spec: &str) -> Result<String> {
    let mut doc: serde_json::Value = serde_yaml::from_str(spec)?;
    let activate = doc
        .pointer("/paths/~1v1~1bots~1{bot_id}~1activate/post")
        .cloned()
        .context("the contract has no bot_activate to copy")?;
    let mut archive = activate;
    archive["operationId"] = "bot_archive".into();
    archive["summary"] = "Archive a bot".into();
    doc["paths"]["/v1/bots/{bot_id}/archive"] = serde_json::json!({ "post": archive });
    Ok(serde_yaml::to_string(&doc)?)
}

/// Makes `uptime_seconds` a required property of `Health` (the body of `health_get`).
fn add_required_response_field(spec: &str) -> Result<String> {
    let mut doc: serde_json::Value = serde_yaml::from_str(spec)?;
    let health = doc
        .pointer_mut("/components/schemas/Health")
        .context("the contract has no Health schema")?;
    health["properties"]["uptime_seconds"] = serde_json::json!({ "type": "integer", "minimum": 0 });
    health["required"]
        .as_array_mut()
        .context("Health has a required list")?
        .push("uptime_seconds".into());
    Ok(serde_yaml::to_string(&doc)?)
}
