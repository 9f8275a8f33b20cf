//! Project automation: `cargo xtask <command>`.
//!
//! - `regen [--check]`: generate the server interface and the client from openapi.yaml.
//! - `ci`: every check the project has (the README's test command, run by `.ci/run`).
//! - `drift-demo`: shows on a scratch copy that a spec change breaks the server's build.
//! - `llm-e2e`: chat send and stream against a real local LLM (llama-server, SmolLM2).
//! - `fuzz [--max-examples N] [--seed N]`: schemathesis over every operation (see fuzz.rs).
//! - `bench [--seconds N] [--backend sqlite|postgres] [--quick]`: the benchmark (release build, SQLite and PostgreSQL, wrk), written
//!   to `target/bench/` and `docs/bench/`.

mod bench;
mod ci;
mod clients;
mod downconvert;
mod drift;
mod fuzz;
mod llm_e2e;
mod regen;
mod spec;

use anyhow::{Result, bail};
use std::path::PathBuf;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is in the workspace")
        .into()
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = workspace_root();
    match args.as_slice() {
        ["regen"] => {
            let changed = regen::write(&root)?;
            if changed.is_empty() {
                println!("regen: generated files are up to date");
            }
            for path in changed {
                println!(
                    "regen: wrote {}",
                    path.strip_prefix(&root).unwrap_or(&path).display()
                );
            }
            Ok(())
        }
        ["regen", "--check"] => {
            let stale = regen::stale(&root)?;
            if stale.is_empty() {
                println!("regen --check: generated files are up to date");
                return Ok(());
            }
            for path in &stale {
                eprintln!(
                    "stale: {}",
                    path.strip_prefix(&root).unwrap_or(path).display()
                );
            }
            bail!("generated files are stale: run `cargo xtask regen` and commit the result")
        }
        ["ci"] => ci::run(&root),
        ["lint-spec"] => ci::lint_spec(&root),
        ["clients"] => clients::run(&root),
        ["drift-demo"] => drift::run(&root),
        ["llm-e2e"] => llm_e2e::run(&root),
        ["fuzz", options @ ..] => fuzz::run(&root, &fuzz::Options::parse(options)?),
        ["bench", options @ ..] => bench::run(&root, &bench::Options::parse(options)?),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 regen [--check]  generate the server interface and client from openapi.yaml\n  \
                 ci               run every check (what .ci/run runs)\n  \
                 lint-spec        validate openapi.yaml (openapi-spec-validator, redocly)\n  \
                 clients          generate Python and TypeScript clients with third-party\n                   \
                 generators and run the quick start through each against a server\n  \
                 drift-demo       show that spec changes break the server build until implemented\n  \
                 llm-e2e          chat send and stream against a real local LLM (llama-server, SmolLM2)\n  \
                 fuzz [--max-examples N] [--seed N]\n                   \
                 schemathesis over every operation against a fresh server (default\n                   \
                 25 cases per operation and phase, seed 19)\n  \
                 bench [--seconds N] [--backend sqlite|postgres] [--quick]\n                   \
                 benchmark the release server on SQLite and PostgreSQL with wrk (N s\n                   \
                 per scenario, default 10) against a raw hyper baseline; writes\n                   \
                 target/bench/report.md and chart.png, copied to docs/bench/ (a\n                   \
                 run of one backend, or --quick without breakdown and profiles, is not)"
            );
            bail!("unknown command: {}", args.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    /// A plain `cargo test` catches generated files that are stale against openapi.yaml or
    /// were edited by hand.
    #[test]
    fn generated_files_are_fresh() {
        let root = super::workspace_root();
        let stale = super::regen::stale(&root).expect("generation succeeds");
        assert!(
            stale.is_empty(),
            "generated files are stale: {stale:?}; run `cargo xtask regen` and commit the result"
        );
    }

    #[test]
    fn generation_is_deterministic() {
        let root = super::workspace_root();
        let first = super::regen::generate(&root).expect("generation succeeds");
        let second = super::regen::generate(&root).expect("generation succeeds");
        for (a, b) in first.iter().zip(&second) {
            assert!(
                a.contents == b.contents,
                "{} differs between runs",
                a.path.display()
            );
        }
    }
}
