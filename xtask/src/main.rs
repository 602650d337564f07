//! `cargo xtask`: Keel's developer commands.
//!
//! - `build-plugins`: builds every plugin for `wasm32-wasip2` (adding the
//!   target if missing) into `target/plugins` (bundled) and
//!   `target/test-plugins` (examples and test guests).
//! - `run`: builds the plugins and starts the kernel with a `demo` tenant.
//! - `test`: builds the plugins, runs the whole test suite, then a short
//!   crash test (20 kills) against a release kernel, and checks its API
//!   documents: a Python client generated from the `demo` tenant's by
//!   openapi-python-client drives the ledger walkthrough, and schemathesis
//!   fuzzes the admin and the tenant's documents (both tools installed from
//!   PyPI into `target/tools` on first use).
//! - `fuzz`: that last step alone.
//! - `crash`: the crash test: a release kernel killed with SIGKILL while it
//!   posts, restarted, and checked to have lost nothing acknowledged.
//! - `bench`: builds a release kernel and `keel-bench`, runs the criterion
//!   instantiate benchmark, then drives the kernel over HTTP and reports;
//!   `bench --micro` runs every criterion micro-benchmark instead.
//!
//! Its tests (`tidy`) keep the repository's shape.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};

mod client;
mod fuzz;
#[cfg(test)]
mod tidy;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

const USAGE: &str = "usage: cargo xtask <command>

commands:
  build-plugins   build every plugin for wasm32-wasip2 into target/plugins and target/test-plugins
  run [--release] [-- KEEL-ARGS]
                  build the plugins and start the kernel on 127.0.0.1:8080 with a demo tenant
  test            build the plugins and run the whole test suite, then a short crash
                  test and the API documents checked: a generated client and
                  schemathesis (what CI runs)
  fuzz            build a release kernel, drive the ledger walkthrough through a client
                  generated from the demo tenant's OpenAPI document, and fuzz the admin
                  and tenant documents with schemathesis (the last step of test)
  crash [KEEL-BENCH-CRASH-ARGS]
                  kill a release kernel with SIGKILL while clients post across tenants,
                  restart it, and check it lost nothing acknowledged (--rounds 20 by
                  default); JSON in target/crash/report.json.
                  `cargo xtask crash -- --help` lists its options
  bench [--micro] [KEEL-BENCH-ARGS]
                  build a release kernel and measure it over HTTP: read, post,
                  trial balance, startup, instantiate; table on stdout, JSON in
                  target/bench/report.json. `--compare tryton` adds Tryton 8.2
                  (needs python3). `--micro` runs the criterion benchmarks only.
                  `cargo xtask bench -- --help` lists keel-bench's options";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root()?;
    match args.first().map(String::as_str) {
        Some("build-plugins") => build_plugins(&root).map(drop),
        Some("run") => run(&root, &args[1..]),
        Some("test") => test(&root),
        Some("crash") => crash(&root, &args[1..]),
        Some("fuzz") => fuzz_api(&root),
        Some("bench") => bench(&root, &args[1..]),
        Some("help" | "--help" | "-h") | None => {
            say(USAGE);
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest_dir =
        std::env::var("CARGO_MANIFEST_DIR").context("run this through `cargo xtask`")?;
    Path::new(&manifest_dir)
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

#[expect(clippy::print_stdout, reason = "xtask reports progress to the developer")]
fn say(line: &str) {
    println!("{line}");
}

fn step(line: &str) {
    say(&format!("==> {line}"));
}

/// Runs a command, failing with the command line if it fails.
fn exec(command: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let status = command.status().with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn ensure_wasm_target() -> anyhow::Result<()> {
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("cannot run rustup; install Rust with rustup, or add the wasm32-wasip2 target to your toolchain")?;
    if String::from_utf8_lossy(&output.stdout).lines().any(|line| line.trim() == TARGET) {
        return Ok(());
    }
    step(&format!("adding the {TARGET} target (rustup target add {TARGET})"));
    exec(Command::new("rustup").args(["target", "add", TARGET]))
}

/// A plugin crate: its package name and where its `.wasm` is copied.
struct PluginCrate {
    package: String,
    dest: PathBuf,
}

fn plugin_crates(root: &Path) -> anyhow::Result<Vec<PluginCrate>> {
    let target = target_dir(root);
    let groups =
        [("plugins", "plugins"), ("examples", "test-plugins"), ("tests/guests", "test-plugins")];
    let mut crates = Vec::new();
    for (dir, out) in groups {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .with_context(|| format!("reading {dir}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("keel.toml").exists())
            .collect();
        dirs.sort();
        for path in dirs {
            let manifest = std::fs::read_to_string(path.join("Cargo.toml"))?;
            let package = manifest
                .lines()
                .find_map(|l| l.strip_prefix("name = \"").and_then(|rest| rest.strip_suffix('"')))
                .with_context(|| {
                    format!("no package name in {}", path.join("Cargo.toml").display())
                })?
                .to_owned();
            let name =
                path.file_name().and_then(|n| n.to_str()).context("plugin directory name")?;
            crates
                .push(PluginCrate { package, dest: target.join(out).join(format!("{name}.wasm")) });
        }
    }
    Ok(crates)
}

fn build_plugins(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    ensure_wasm_target()?;
    let crates = plugin_crates(root)?;
    let names: Vec<&str> = crates.iter().map(|c| c.package.as_str()).collect();
    step(&format!("building {} plugins for {TARGET}: {}", crates.len(), names.join(", ")));
    let started = Instant::now();
    let mut build = cargo();
    build.current_dir(root).args(["build", "--target", TARGET, "--profile", PROFILE]);
    for name in &names {
        build.args(["-p", name]);
    }
    exec(&mut build)?;
    let built = target_dir(root).join(TARGET).join(PROFILE);
    let mut outputs = Vec::new();
    for plugin in &crates {
        let from = built.join(format!("{}.wasm", plugin.package.replace('-', "_")));
        if let Some(dir) = plugin.dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(&from, &plugin.dest)
            .with_context(|| format!("copying {} to {}", from.display(), plugin.dest.display()))?;
        let size = std::fs::metadata(&plugin.dest)?.len();
        say(&format!("    {} ({} KiB)", plugin.dest.display(), size / 1024));
        outputs.push(plugin.dest.clone());
    }
    step(&format!("plugins built in {:.1} s", started.elapsed().as_secs_f64()));
    Ok(outputs)
}

fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let (ours, theirs) = match args.iter().position(|a| a == "--") {
        Some(idx) => (&args[..idx], &args[idx + 1..]),
        None => (args, &[][..]),
    };
    let release = ours.iter().any(|a| a == "--release");
    if let Some(unknown) = ours.iter().find(|a| *a != "--release") {
        bail!("unknown option {unknown:?} for run\n\n{USAGE}");
    }
    build_plugins(root)?;
    step("building and starting the kernel (first build compiles wasmtime: a few minutes)");
    say(WALKTHROUGH);
    let mut command = cargo();
    command.current_dir(root).args(["run", "-p", "keel"]);
    if release {
        command.arg("--release");
    }
    if std::env::var_os("KEEL_ADMIN_PASSWORD").is_none() {
        command.env("KEEL_ADMIN_PASSWORD", DEMO_ADMIN_PASSWORD);
    }
    let plugins = target_dir(root).join("plugins");
    // The walkthroughs deliver webhooks to a receiver on this machine,
    // which `keel serve` refuses unless told, and read scheduled reports'
    // mail as files, there being no mail relay here (unless one is given).
    command.args(["--", "serve", "--data", "data", "--demo", "--plugins"]).arg(plugins).args([
        "--webhook-allow-host",
        "127.0.0.1",
        "--webhook-allow-host",
        "localhost",
    ]);
    if std::env::var_os("KEEL_SMTP_RELAY").is_none() {
        command.args(["--mail-dir", "data/mail"]);
    }
    command.args(theirs);
    exec(&mut command)
}

/// The bootstrap admin's password on a fresh `./data`, unless
/// `KEEL_ADMIN_PASSWORD` says otherwise. For the local demo only.
const DEMO_ADMIN_PASSWORD: &str = "keel-demo-password";

const WALKTHROUGH: &str = r#"
    Keel will listen on http://127.0.0.1:8080 with a `demo` tenant that has every bundled plugin
    enabled (finance, inventory, inventory-lots, procurement, hr, itsm; the README walks through
    them).
    Data is kept in ./data; stop with Ctrl-C. On a fresh ./data the administrator is
    user `admin`, password `keel-demo-password` (or $KEEL_ADMIN_PASSWORD). From another terminal:

      TOKEN=$(curl -s -X POST localhost:8080/auth/login -d '{"user":"admin","password":"keel-demo-password"}' \
              | sed -E 's/.*"token":"([^"]+)".*/\1/')
      curl -s -H "authorization: Bearer $TOKEN" -X POST localhost:8080/api/demo/finance/chart-templates/starter -d '{"currency":"EUR"}'
      curl -s -H "authorization: Bearer $TOKEN" localhost:8080/api/demo/finance/reports/trial-balance
"#;

fn test(root: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    build_plugins(root)?;
    step("running the test suite: unit tests, plugin cores, SDK docs and system tests");
    let target = target_dir(root);
    exec(
        cargo()
            .current_dir(root)
            .args(["test", "--workspace", "--locked"])
            .env("KEEL_PLUGINS_DIR", target.join("plugins"))
            .env("KEEL_TEST_PLUGINS_DIR", target.join("test-plugins")),
    )?;
    crash(root, &["--rounds".to_owned(), CI_CRASH_ROUNDS.to_owned()])?;
    fuzz::run(root, &target)?;
    step(&format!("all tests passed in {:.0} s", started.elapsed().as_secs_f64()));
    Ok(())
}

/// Builds the plugins and a release kernel, then fuzzes its API documents.
fn fuzz_api(root: &Path) -> anyhow::Result<()> {
    build_plugins(root)?;
    step("building a release kernel (first build: several minutes)");
    exec(cargo().current_dir(root).args(["build", "--release", "--locked", "-p", "keel"]))?;
    fuzz::run(root, &target_dir(root))
}

/// Kills the short crash test of `cargo xtask test` runs.
const CI_CRASH_ROUNDS: &str = "20";

/// Builds a release kernel and the crash driver, then runs the crash test.
fn crash(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let theirs: Vec<&String> = args.iter().filter(|a| *a != "--").collect();
    build_plugins(root)?;
    step("building a release kernel and the crash driver (first build: several minutes)");
    exec(cargo().current_dir(root).args([
        "build",
        "--release",
        "--locked",
        "-p",
        "keel",
        "-p",
        "keel-bench",
    ]))?;
    let target = target_dir(root);
    let release = target.join("release");
    step("crash test: killing the kernel with SIGKILL while it posts, and checking what it kept");
    exec(
        Command::new(release.join("keel-bench"))
            .current_dir(root)
            .arg("crash")
            .arg("--keel")
            .arg(release.join("keel"))
            .arg("--plugins")
            .arg(target.join("plugins"))
            .arg("--test-plugins")
            .arg(target.join("test-plugins"))
            .arg("--work")
            .arg(target.join("crash").join("run"))
            .arg("--out")
            .arg(target.join("crash").join("report.json"))
            .args(theirs),
    )
}

fn bench(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let micro = args.iter().any(|a| a == "--micro");
    let theirs: Vec<&String> = args.iter().filter(|a| *a != "--micro" && *a != "--").collect();
    build_plugins(root)?;
    let target = target_dir(root);
    let criterion = |bench_args: &[&str]| {
        exec(
            cargo()
                .current_dir(root)
                .args(["bench", "--locked"])
                .args(bench_args)
                .env("KEEL_PLUGINS_DIR", target.join("plugins")),
        )
    };
    if micro {
        step("criterion micro-benchmarks: host, records layer, ledger core, payroll core");
        criterion(&[
            "-p",
            "keel-host",
            "-p",
            "keel-storage",
            "-p",
            "keel-finance",
            "-p",
            "keel-hr",
        ])?;
        step(&format!("reports in {}", target.join("criterion").display()));
        return Ok(());
    }
    step("building a release kernel and the load generator (first build: several minutes)");
    exec(cargo().current_dir(root).args([
        "build",
        "--release",
        "--locked",
        "-p",
        "keel",
        "-p",
        "keel-bench",
    ]))?;
    step("instantiate: criterion micro-benchmark of the host");
    criterion(&["-p", "keel-host", "--bench", "host", "--", "instantiate"])?;
    step("driving the kernel over HTTP");
    let release = target.join("release");
    let shown: Vec<&str> = theirs.iter().map(|a| a.as_str()).collect();
    let command = if shown.is_empty() {
        "cargo xtask bench".to_owned()
    } else {
        format!("cargo xtask bench {}", shown.join(" "))
    };
    exec(
        Command::new(release.join("keel-bench"))
            .current_dir(root)
            .arg("--keel")
            .arg(release.join("keel"))
            .arg("--plugins")
            .arg(target.join("plugins"))
            .arg("--test-plugins")
            .arg(target.join("test-plugins"))
            .arg("--work")
            .arg(target.join("bench").join("run"))
            .arg("--out")
            .arg(target.join("bench").join("report.json"))
            .arg("--tryton-venv")
            .arg(target.join("bench").join("tryton-venv"))
            .arg("--instantiate-estimates")
            .arg(target.join("criterion").join("instantiate").join("new").join("estimates.json"))
            .arg("--command")
            .arg(command)
            .args(theirs),
    )
}
