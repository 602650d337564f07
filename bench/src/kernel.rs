//! The kernel under test: a release `keel serve` process on loopback.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::StatusCode;
use tokio::process::{Child, Command};

use crate::load::{Call, Connection};

/// The bootstrap administrator's password on the benchmark's fresh data directory.
pub(crate) const ADMIN_PASSWORD: &str = "keel-bench-password";

/// How the kernel is started.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) binary: PathBuf,
    pub(crate) data: PathBuf,
    pub(crate) plugins: PathBuf,
    pub(crate) log: PathBuf,
    /// Pin the kernel to the first this many cores (with `taskset`).
    pub(crate) cores: Option<usize>,
}

/// A running kernel process.
pub(crate) struct Kernel {
    child: Child,
    pub(crate) addr: SocketAddr,
    /// From spawning the process to its first answered request.
    pub(crate) ready_after: Duration,
}

impl Kernel {
    /// Starts the kernel and waits until `probe` (a path needing `token`,
    /// or `/healthz` without one) answers 200.
    pub(crate) async fn start(
        launch: &Launch,
        probe: &str,
        token: Option<&str>,
    ) -> anyhow::Result<Self> {
        let addr = free_port()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.log)
            .with_context(|| format!("cannot open {}", launch.log.display()))?;
        let started = Instant::now();
        let mut command = match launch.cores {
            Some(cores) => {
                let mut taskset = Command::new("taskset");
                taskset.arg("-c").arg(format!("0-{}", cores.saturating_sub(1))).arg(&launch.binary);
                taskset
            }
            None => Command::new(&launch.binary),
        };
        let child = command
            .arg("serve")
            .arg("--addr")
            .arg(addr.to_string())
            .arg("--data")
            .arg(&launch.data)
            .arg("--plugins")
            .arg(&launch.plugins)
            .args(["--demo", "--bench-routes", "--audit-sign-interval-s", "0"])
            .env("KEEL_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", launch.binary.display()))?;
        let mut kernel = Self { child, addr, ready_after: Duration::ZERO };
        kernel.ready_after = kernel.wait_ready(launch, probe, token, started).await?;
        Ok(kernel)
    }

    async fn wait_ready(
        &mut self,
        launch: &Launch,
        probe: &str,
        token: Option<&str>,
        started: Instant,
    ) -> anyhow::Result<Duration> {
        let give_up = started + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the kernel exited with {status} while starting; see {}",
                    launch.log.display()
                );
            }
            if let Ok(mut connection) = Connection::open(self.addr, token).await
                && let Ok((StatusCode::OK, _)) = connection.send(&Call::get(probe)).await
            {
                return Ok(started.elapsed());
            }
            if Instant::now() > give_up {
                bail!(
                    "the kernel did not answer {probe} within 120 s; see {}",
                    launch.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// The process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Peak resident memory of the process so far, in MiB (Linux only).
    pub(crate) fn peak_memory_mib(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// CPU time the process has used so far, user and system, in seconds
    /// (Linux only; clock ticks of 1/100 s, as Linux reports them to users).
    pub(crate) fn cpu_seconds(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name, which may hold spaces: state is
        // the first, utime the 12th and stime the 13th.
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    /// Kills the kernel with SIGKILL, as a crash or power cut would end it
    /// (minus the page cache), and waits for it to be gone.
    pub(crate) async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("cannot kill the kernel")
    }

    /// Stops the kernel as an operator would (SIGTERM), so it closes its
    /// database cleanly, and waits for it.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let sent = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await?;
            if !sent.success() {
                bail!("cannot signal the kernel (pid {pid})");
            }
        }
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .context("the kernel did not stop within 60 s of SIGTERM")??;
        if !status.success() {
            bail!("the kernel exited with {status}");
        }
        Ok(())
    }
}

/// A loopback address with a port free right now.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// Logs in as the bootstrap administrator and returns the session token.
pub(crate) async fn login(addr: SocketAddr) -> anyhow::Result<String> {
    let mut connection = Connection::open(addr, None).await?;
    let body = serde_json::json!({ "user": "admin", "password": ADMIN_PASSWORD }).to_string();
    let answer = connection.expect(&Call::post("/auth/login", body), StatusCode::OK).await?;
    let session: serde_json::Value = serde_json::from_slice(&answer)?;
    session["token"].as_str().map(str::to_owned).context("the login answer has no token")
}

/// Copies the packages the benchmark installs into one directory.
pub(crate) fn gather_plugins(into: &Path, packages: &[PathBuf]) -> anyhow::Result<()> {
    std::fs::create_dir_all(into)?;
    for package in packages {
        let name = package.file_name().context("a package path without a file name")?;
        std::fs::copy(package, into.join(name)).with_context(|| {
            format!(
                "cannot copy {}; build plugins with `cargo xtask build-plugins`",
                package.display()
            )
        })?;
    }
    Ok(())
}
