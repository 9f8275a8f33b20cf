//! `cargo xtask clients` (part of `ci`): clients of our contract generated the way third parties
//! generate them, with widely used generators, pinned, from their registries:
//! `openapi-python-client` (PyPI, with ruff, which it formats with) and `openapi-typescript`
//! plus `openapi-fetch` (npm, compiled with `typescript`). Generation must print nothing but its
//! progress lines: any other line is a warning about the contract, and fails. Then the quick
//! start in each language (`docs/clients/quickstart.py`, `docs/clients/quickstart.ts`) drives a
//! real server through the generated client: register, API key, bot, FAQ upload, webhook, chat,
//! history. Output in `target/clients/`.

use crate::bench::process::{Scratch, debug_server};
use crate::ci::{ensure_venv, run_step};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

const OPENAPI_PYTHON_CLIENT: &str = "openapi-python-client==0.29.1";
/// openapi-python-client formats what it writes with ruff, and says so when ruff is missing.
const RUFF: &str = "ruff==0.14.8";
const NPM_PACKAGES: [&str; 4] = [
    "openapi-typescript@7.13.0",
    "openapi-fetch@0.17.0",
    "typescript@5.9.3",
    // Node's own types (`process`), of the Node the machine has (20).
    "@types/node@20.19.25",
];

pub fn run(root: &Path) -> Result<()> {
    let out = root.join("target/clients");
    let contract = root.join("openapi.yaml");

    let venv = ensure_venv(
        &root.join("target/tools"),
        "clients-venv",
        &[OPENAPI_PYTHON_CLIENT, RUFF],
    )?;
    let python = out.join("python");
    std::fs::create_dir_all(&out)?;
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    generate(
        "openapi-python-client",
        Command::new(venv.join("bin/openapi-python-client"))
            .current_dir(&out)
            .env("PATH", &path)
            .arg("generate")
            .arg("--path")
            .arg(&contract)
            .arg("--output-path")
            .arg(&python)
            .arg("--overwrite"),
        |line| line.starts_with("Generating "),
    )?;

    let typescript = out.join("typescript");
    ensure_npm(&typescript)?;
    generate(
        "openapi-typescript",
        // From the client's own directory, as a third party runs it in their project: from our
        // root it would lint with our redocly.yaml, whose accepted warnings
        // (.redocly.lint-ignore.yaml, with their reasons) it does not read.
        Command::new(typescript.join("node_modules/.bin/openapi-typescript"))
            .current_dir(&typescript)
            .arg(&contract)
            .arg("-o")
            .arg(typescript.join("schema.d.ts")),
        |line| line.starts_with("✨ openapi-typescript") || line.starts_with("🚀 "),
    )?;
    std::fs::copy(
        root.join("docs/clients/quickstart.ts"),
        typescript.join("quickstart.ts"),
    )?;
    std::fs::write(
        typescript.join("tsconfig.json"),
        r#"{"compilerOptions": {"target": "es2022", "module": "nodenext", "moduleResolution": "nodenext",
  "strict": true, "skipLibCheck": true, "lib": ["es2022", "dom"], "types": ["node"]},
 "files": ["quickstart.ts"]}"#,
    )?;
    run_step(
        "tsc (the TypeScript quick start against the generated types)",
        Command::new(typescript.join("node_modules/.bin/tsc"))
            .arg("-p")
            .arg(&typescript),
    )?;

    let scratch = Scratch::new()?;
    let server = debug_server(root, &scratch)?;
    let base = format!("http://{}", server.addr);
    // The webhook's target: no receiver is needed to create it (deliveries are retried later).
    let hook = format!("http://{}/hook", server.addr);
    run_step(
        "the quick start through the generated Python client",
        Command::new(venv.join("bin/python"))
            .env("PYTHONPATH", &python)
            .arg(root.join("docs/clients/quickstart.py"))
            .args([&base, &hook]),
    )?;
    run_step(
        "the quick start through the generated TypeScript client",
        Command::new("node")
            .arg(typescript.join("quickstart.js"))
            .args([&base, &hook]),
    )?;
    drop(server);
    Ok(())
}

/// Runs a generator, printing what it prints; fails when it prints a line `expected` does not
/// accept (blank lines aside): a warning about the contract.
fn generate(name: &str, command: &mut Command, expected: impl Fn(&str) -> bool) -> Result<()> {
    println!("\n==> {name}");
    let output = command
        .output()
        .with_context(|| format!("starting {name}"))?;
    let printed = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    print!("{printed}");
    if !output.status.success() {
        bail!("{name} failed ({})", output.status);
    }
    let unexpected: Vec<&str> = printed
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !expected(line))
        .collect();
    if !unexpected.is_empty() {
        bail!(
            "{name} printed what is not progress (a warning about openapi.yaml?): {unexpected:?}"
        );
    }
    Ok(())
}

/// The npm packages, pinned, installed beside the TypeScript quick start (so that Node's module
/// resolution finds them from it); a marker lists what was installed.
fn ensure_npm(dir: &Path) -> Result<()> {
    let marker = dir.join("botwire-packages.txt");
    let wanted = NPM_PACKAGES.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    // ES modules: openapi-fetch is one, and so is the compiled quick start.
    std::fs::write(
        dir.join("package.json"),
        r#"{"private": true, "type": "module"}"#,
    )?;
    run_step(
        "install the TypeScript generator and client",
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--save-exact",
                "--prefix",
            ])
            .arg(dir)
            .args(NPM_PACKAGES),
    )?;
    std::fs::write(&marker, wanted)?;
    Ok(())
}
