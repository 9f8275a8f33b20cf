//! `botwire serve`: the Botwire server.

use anyhow::{Result, bail};
use botwire_server::config::Config;

/// glibc's malloc contends on its arena locks when the runtime's threads allocate at once (see
/// docs/bench/report.md); mimalloc keeps per-thread heaps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: botwire serve

Environment:
  BOTWIRE_BIND          address to listen on (default 127.0.0.1:8080)
  DATABASE_URL          sqlite://PATH or postgres://... (default: an SQLite file in BOTWIRE_DATA_DIR)
  BOTWIRE_DATA_DIR      where the default SQLite file lives (default ./botwire-data)
  BOTWIRE_DB_POOL_SIZE  database connections (default twice the CPUs, at least 4)
  BOTWIRE_LOG           error, warn, info or debug (default info)";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("botwire: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve"] => serve().await,
        ["--help" | "-h" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            bail!("unknown arguments: {args:?}")
        }
    }
}

async fn serve() -> Result<()> {
    let log = botwire_server::logger(std::env::var("BOTWIRE_LOG").ok().as_deref())?;
    let config = Config::from_env()?;
    let server = botwire_server::start(config, log.clone()).await?;
    tokio::select! {
        result = server.wait() => result,
        _ = shutdown_signal() => {
            slog::info!(log, "shutting down");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
