//! `cargo xtask ci`: every check, in the order that fails fastest.
//!
//! This is the README's test command and exactly what `.ci/run` runs. It installs the spec
//! linters it needs itself (pinned versions from PyPI and npm, into `target/tools/`), so it
//! works on a fresh machine.

use crate::regen;
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const SPEC_VALIDATOR: &str = "openapi-spec-validator==0.7.2";
/// The SMTP relay the conformance tests start (`conformance/src/smtp.rs`).
const AIOSMTPD: &str = "aiosmtpd==1.4.6";
/// The data set of the offline engine's answer-quality test (server/tests/answer_quality.rs).
pub(crate) const ANSWER_QUALITY_DATA: &str = "zaragoza-construction-faq==1.2.1";
/// Everything `target/tools/venv` must hold.
const PYTHON_TOOLS: [&str; 3] = [SPEC_VALIDATOR, AIOSMTPD, ANSWER_QUALITY_DATA];
const REDOCLY: &str = "@redocly/cli@2.77.0";

pub fn run_step(name: &str, command: &mut Command) -> Result<()> {
    println!("\n==> {name}");
    let status = command
        .status()
        .with_context(|| format!("starting {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}

pub fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root);
    command
}

pub fn run(root: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    println!("==> regen --check");
    let stale = regen::stale(root)?;
    if !stale.is_empty() {
        bail!(
            "generated files are stale ({stale:?}): run `cargo xtask regen` and commit the result"
        );
    }
    run_step(
        "rustfmt",
        cargo(root).args(["fmt", "--all", "--", "--check"]),
    )?;
    run_step(
        "clippy",
        cargo(root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    lint_spec(root)?;
    // The conformance tests' SMTP sink runs aiosmtpd from this venv and the answer-quality
    // test reads its data set from it (lint_spec ensured both already; this says so where the
    // tests need them, at no cost).
    ensure_python_tools(&root.join("target/tools"))?;

    let references = root.join("target/insta-references.txt");
    let _ = std::fs::remove_file(&references);
    run_step(
        "tests (unit, contract, conformance on SQLite and PostgreSQL)",
        cargo(root)
            .args(["test", "--workspace", "--locked"])
            // A failing test's panic message, not a backtrace, is what a cut CI log must keep.
            .env("RUST_BACKTRACE", "0")
            .env("INSTA_UPDATE", "no")
            .env("INSTA_FORCE_PASS", "0")
            .env("INSTA_SNAPSHOT_REFERENCES_FILE", &references),
    )?;
    check_unreferenced_snapshots(root, &references)?;
    // About two minutes (install, build, about 6,800 requests from a fixed seed): it has found what
    // hand-written tests had not (statuses the contract did not list, refusals it did not state).
    println!("\n==> fuzz");
    crate::fuzz::run(root, &crate::fuzz::Options::parse(&[])?)?;
    println!("\n==> drift-demo");
    crate::drift::run(root)?;
    println!("\nci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}

/// openapi-spec-validator and `redocly lint` (recommended rules, see redocly.yaml).
pub fn lint_spec(root: &Path) -> Result<()> {
    let tools = root.join("target/tools");
    let validator = ensure_python_tools(&tools)?.join("bin/openapi-spec-validator");
    let redocly = ensure_redocly(&tools)?;
    run_step(
        "openapi-spec-validator",
        Command::new(validator).arg(root.join("openapi.yaml")),
    )?;
    run_step(
        "redocly lint",
        Command::new(redocly)
            .current_dir(root)
            .args([
                "lint",
                "--config",
                "redocly.yaml",
                "--max-problems",
                "50",
                "openapi.yaml",
            ])
            .env("REDOCLY_TELEMETRY", "off")
            .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true"),
    )
}

/// The venv `target/tools/venv` with every pin of [`PYTHON_TOOLS`]; returns its path.
fn ensure_python_tools(tools: &Path) -> Result<PathBuf> {
    ensure_venv(tools, "venv", &PYTHON_TOOLS)
}

/// The venv `<tools>/<name>` with every pin of `packages`; returns its path. A marker file
/// lists what was installed, so a venv from an earlier run (say, with the validator only, or
/// an older pin) gets the rest, and a complete one costs nothing.
pub(crate) fn ensure_venv(tools: &Path, name: &str, packages: &[&str]) -> Result<PathBuf> {
    let venv = tools.join(name);
    let marker = venv.join("botwire-requirements.txt");
    let wanted = packages.join("\n") + "\n";
    if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == wanted) {
        return Ok(venv);
    }
    if !venv.join("bin/pip").exists() {
        run_step(
            &format!("create target/tools/{name}"),
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
        )?;
    }
    run_step(
        &format!("install {}", packages.join(" ")),
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet"])
            .args(packages),
    )?;
    std::fs::write(&marker, wanted).with_context(|| format!("writing {}", marker.display()))?;
    Ok(venv)
}

fn ensure_redocly(tools: &Path) -> Result<PathBuf> {
    let prefix = tools.join("npm");
    let bin = prefix.join("node_modules/.bin/redocly");
    if !bin.exists() {
        std::fs::create_dir_all(&prefix)?;
        run_step(
            "install redocly",
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
                .arg(&prefix)
                .arg(REDOCLY),
        )?;
    }
    Ok(bin)
}

/// Every `.snap` file in the tree must have been read by the test run: a snapshot that no
/// test refers to any more is stale and fails, as `cargo insta test --unreferenced=reject`.
fn check_unreferenced_snapshots(root: &Path, references: &Path) -> Result<()> {
    println!("\n==> unreferenced snapshots");
    let referenced: BTreeSet<PathBuf> = std::fs::read_to_string(references)
        .unwrap_or_default()
        .lines()
        .map(|line| std::fs::canonicalize(line).unwrap_or_else(|_| PathBuf::from(line)))
        .collect();
    let mut unreferenced = Vec::new();
    for dir in ["api", "server", "conformance", "generated-client", "xtask"] {
        collect_snapshots(&root.join(dir), &mut |path| {
            let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            if !referenced.contains(&path) {
                unreferenced.push(path);
            }
        })?;
    }
    if !unreferenced.is_empty() {
        bail!("snapshots that no test refers to (delete them): {unreferenced:#?}");
    }
    println!("all {} snapshots are referenced", referenced.len());
    Ok(())
}

fn collect_snapshots(dir: &Path, found: &mut dyn FnMut(&Path)) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect_snapshots(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "snap") {
            found(&path);
        }
    }
    Ok(())
}
