//! The benchmark's processes and what they need: the servers (killed on drop, and by a
//! watchdog if the xtask dies), free loopback ports, the run's scratch directory, and other
//! programs' output.

use super::http;
use anyhow::{Context, Result, bail};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process of the benchmark, killed on drop (or by a watchdog if the xtask dies).
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    name: &'static str,
    log: PathBuf,
}

impl Server {
    /// Starts `command`, which must bind the address given in its arguments or environment.
    pub(crate) fn start(command: &mut Command, log: PathBuf, name: &'static str) -> Result<Server> {
        let addr = command
            .get_args()
            .chain(command.get_envs().filter_map(|(_, value)| value))
            .find_map(|arg| arg.to_str()?.parse::<SocketAddr>().ok())
            .context("the server's command names no address")?;
        let file = std::fs::File::create(&log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {:?}", command.get_program()))?;
        spawn_watchdog(
            &format!("kill -0 {} 2>/dev/null", child.id()),
            &format!("kill {} 2>/dev/null", child.id()),
        )
        .context("starting the server's watchdog")?;
        println!("==> {name}: started on {addr} (pid {})", child.id());
        Ok(Server {
            child,
            addr,
            name,
            log,
        })
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `path` answers 200.
    pub(crate) fn wait_ready(&self, path: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = http::Connection::open(self.addr)
                .and_then(|mut c| c.send(&http::request("GET", path, &[], b"")))
                .is_ok_and(|response| response.status == 200);
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not answer {path} within 60 s; its log:\n{}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `botwire serve` from `binary` on `addr` with the database at `database_url` and its data in
/// `data_dir`, logging warnings and worse, with the rate limits and the monthly quota out of the
/// way of a load of requests with one key, and the pool at its default size.
pub(crate) fn botwire_serve(
    binary: &Path,
    addr: SocketAddr,
    database_url: &str,
    data_dir: PathBuf,
) -> Command {
    let unlimited = super::UNLIMITED_PER_MINUTE;
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .env("BOTWIRE_BIND", addr.to_string())
        .env("DATABASE_URL", database_url)
        .env("BOTWIRE_DATA_DIR", data_dir)
        .env("BOTWIRE_LOG", "warn")
        .env("BOTWIRE_RATE_LIMIT_STANDARD", unlimited)
        .env("BOTWIRE_RATE_LIMIT_CHAT", unlimited)
        .env("BOTWIRE_RATE_LIMIT_AUTH", unlimited)
        .env_remove("BOTWIRE_MONTHLY_MESSAGE_QUOTA")
        .env_remove("BOTWIRE_DB_POOL_SIZE");
    command
}

/// The debug `botwire` (built first), serving on a free loopback port from an SQLite database in
/// `scratch`, logging to `scratch`'s `server.log`, webhook targets on loopback allowed; ready.
pub(crate) fn debug_server(root: &Path, scratch: &Scratch) -> Result<Server> {
    crate::ci::run_step(
        "build the server",
        crate::ci::cargo(root).args([
            "build",
            "--locked",
            "-p",
            "botwire-server",
            "--bin",
            "botwire",
        ]),
    )?;
    let database_url = format!("sqlite://{}", scratch.path("botwire.sqlite3").display());
    let server = Server::start(
        botwire_serve(
            &root.join("target/debug/botwire"),
            free_addr()?,
            &database_url,
            scratch.path("data"),
        )
        .env("BOTWIRE_WEBHOOK_ALLOWED_CIDRS", "127.0.0.1/32"),
        scratch.path("server.log"),
        "server",
    )?;
    server.wait_ready("/ready")?;
    Ok(server)
}

/// A detached shell that runs `action` once this process has ended (however it ends), unless
/// `still_needed` fails first.
pub(crate) fn spawn_watchdog(still_needed: &str, action: &str) -> Result<()> {
    let script = format!(
        "while kill -0 {xtask} 2>/dev/null && {still_needed}; do sleep 0.5; done; {action}",
        xtask = std::process::id(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(())
}

/// A directory for the run (the database, logs, scripts), removed at the end.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new() -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("botwire-xtask-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub(super) fn write(&self, name: &str, contents: &str) -> Result<PathBuf> {
        let path = self.path(name);
        std::fs::write(&path, contents)?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) fn free_addr() -> Result<SocketAddr> {
    Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
}

pub(super) fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

pub(super) fn is_root() -> bool {
    command_line("id", &["-u"]) == "0"
}

/// A command's standard output, trimmed (empty if it fails).
pub(super) fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default()
}
