//! The last step of `cargo xtask test`: a typed client generated from
//! the `demo` tenant's document drives the ledger walkthrough (`client.rs`),
//! then schemathesis (from PyPI, in a
//! virtual environment under `target/tools`, installed on first use)
//! fuzzes the admin API's OpenAPI document and the `demo` tenant's against
//! a release kernel with the bundled plugins. It fails on any 5xx answer,
//! and on any answer whose status, content type or body its document does
//! not describe.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::{exec, step};

/// The schemathesis release the suite runs, pinned.
const SCHEMATHESIS: &str = "4.32.5";
/// The `admin` password of the fuzzed kernel's fresh data directory.
const PASSWORD: &str = "schemathesis-admin-password";
/// What each generated answer is checked for.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";
/// Admin operations left out: logging out ends the run's own session,
/// changing or deleting a user may lock the run's administrator out, and
/// schemathesis cannot write a package's `application/wasm` body.
const ADMIN_EXCLUDED: &str = r"^/auth/logout$|^/admin/users/\{user\}$|^/admin/packages$";

/// Fuzzes both documents against a kernel started here.
pub(crate) fn run(root: &Path, target: &Path) -> anyhow::Result<()> {
    let tool = schemathesis(target)?;
    step("checking the admin API and the demo tenant's API against their documents");
    let dir = target.join("schemathesis");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let addr = free_addr()?;
    let log = std::fs::File::create(dir.join("keel.log")).context("creating the kernel's log")?;
    let kernel = Command::new(target.join("release").join("keel"))
        .current_dir(root)
        .args(["serve", "--demo", "--addr", &addr, "--data"])
        .arg(dir.join("data"))
        .arg("--plugins")
        .arg(target.join("plugins"))
        .env("KEEL_ADMIN_PASSWORD", PASSWORD)
        .env_remove("KEEL_CONFIG")
        .stdout(log.try_clone().context("sharing the kernel's log")?)
        .stderr(log)
        .spawn()
        .context("starting the release kernel (built by the crash test)")?;
    let _kernel = Stopped(kernel);
    ready(&addr)?;
    let login = format!(r#"{{"user":"admin","password":"{PASSWORD}"}}"#);
    let answer = http(&addr, "POST", "/auth/login", None, Some(&login))?;
    let token = answer
        .split(r#""token":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .with_context(|| format!("no token in the login's answer: {answer}"))?
        .to_owned();
    let tenant = http(&addr, "GET", "/api/demo/openapi.json", Some(&token), None)?;
    let tenant_file = dir.join("demo-openapi.json");
    std::fs::write(&tenant_file, tenant).context("writing the demo tenant's document")?;
    // The walkthrough first, on the fresh tenant the fuzzing then fills.
    let base_url = format!("http://{addr}/api/demo");
    crate::client::run(root, target, &dir, &base_url, &token, &tenant_file)?;
    let bearer = format!("Authorization: Bearer {token}");
    let common = ["--checks", CHECKS, "--seed", "1", "--no-color", "-H", &bearer];
    exec(
        Command::new(&tool)
            .arg("run")
            .arg(format!("http://{addr}/admin/openapi.json"))
            .args(common)
            .args(["--max-examples", "15", "--exclude-path-regex", ADMIN_EXCLUDED]),
    )?;
    exec(
        Command::new(&tool)
            .arg("run")
            .arg(&tenant_file)
            .args(["--url", &format!("http://{addr}/api/demo")])
            .args(common)
            .args(["--max-examples", "10"]),
    )
}

/// Kills the kernel when the step ends, however it ends.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Err(err) = self.0.kill().and_then(|()| self.0.wait().map(drop)) {
            crate::say(&format!("cannot stop the fuzzed kernel: {err}"));
        }
    }
}

/// schemathesis, installed into `target/tools` if it is not there yet.
fn schemathesis(target: &Path) -> anyhow::Result<PathBuf> {
    let venv = python_tool(target, "schemathesis", SCHEMATHESIS, "schemathesis")?;
    Ok(venv.join("bin").join("schemathesis"))
}

/// The virtual environment `target/tools/<package>-<version>` holding
/// that release of a Python package from PyPI, made on first use (when
/// its `bin/<command>` is missing).
pub(crate) fn python_tool(
    target: &Path,
    package: &str,
    version: &str,
    command: &str,
) -> anyhow::Result<PathBuf> {
    let venv = target.join("tools").join(format!("{package}-{version}"));
    if venv.join("bin").join(command).exists() {
        return Ok(venv);
    }
    step(&format!("installing {package} {version} from PyPI into {}", venv.display()));
    exec(Command::new("python3").args(["-m", "venv"]).arg(&venv)).with_context(|| {
        format!("python3 with venv is needed for {package} (Debian: apt-get install python3-venv)")
    })?;
    exec(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("{package}=={version}")),
    )?;
    Ok(venv)
}

/// A free address on loopback.
fn free_addr() -> anyhow::Result<String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port on loopback")?;
    Ok(listener.local_addr()?.to_string())
}

/// Waits until the kernel at `addr` is ready (`/readyz`), for at most 60 s.
fn ready(addr: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if http(addr, "GET", "/readyz", None, None).is_ok() {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "the kernel at {addr} was not ready within 60 s; its log is in target/schemathesis/keel.log"
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One HTTP/1.1 exchange with the kernel; the body of a 2xx answer.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or_default();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n{auth}\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    if !status.starts_with('2') {
        bail!("{method} {path} answered {status}: {body}");
    }
    Ok(body.to_owned())
}
