//! `--compare tryton`: the same journal entries posted into Tryton 8.2
//! (trytond and its account module, on SQLite) in the same run.
//!
//! Tryton is installed with pip into a virtualenv that outlives runs; the
//! script `tryton/post.py` creates a database, sets up a company, fiscal
//! year and chart with Tryton's own tools, then creates and posts each
//! entry in its own transaction through the ORM in-process (no RPC layer,
//! which favours Tryton) and prints what it measured.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::report::Tryton;
use crate::{Args, ledger, say};

const SCRIPT: &str = include_str!("../tryton/post.py");
const PACKAGES: [&str; 3] = ["trytond==8.2.*", "trytond_account==8.2.*", "proteus==8.2.*"];

/// Runs the Tryton side; `keel_serial` is Keel's entries per second at
/// concurrency 1, measured earlier in this run.
pub(crate) async fn run(args: &Args, keel_serial: Option<f64>) -> anyhow::Result<Tryton> {
    let Some(keel_serial) = keel_serial else {
        bail!("--compare tryton needs the post scenario (Keel's side of the ratio)");
    };
    let python = install(&args.tryton_venv)?;
    let dir = args.work.join("tryton");
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("post.py");
    std::fs::write(&script, SCRIPT)?;
    // The entries Keel posted first, as Keel received them.
    let entries: Vec<serde_json::Value> = (0..args.tryton_entries)
        .map(|n| serde_json::from_str(&ledger::entry(n).body))
        .collect::<Result<_, _>>()?;
    let entries_path = dir.join("entries.json");
    std::fs::write(&entries_path, serde_json::to_vec(&entries)?)?;
    say(&format!("==> compare: posting {} entries into Tryton 8.2 on SQLite", args.tryton_entries));
    let output = Command::new(&python)
        .arg(&script)
        .arg(dir.join("data"))
        .arg(&entries_path)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !output.status.success() {
        bail!("the Tryton run failed ({}); its output is above", output.status);
    }
    let measured: serde_json::Value =
        serde_json::from_slice(&output.stdout).with_context(|| {
            format!("the Tryton run printed {:?}", String::from_utf8_lossy(&output.stdout))
        })?;
    let number =
        |name: &str| measured[name].as_f64().with_context(|| format!("no {name} from Tryton"));
    let per_second = number("per_second")?;
    let tryton = Tryton {
        version: measured["version"].as_str().unwrap_or("?").to_owned(),
        entries: measured["entries"].as_u64().unwrap_or(0),
        seconds: number("seconds")?,
        per_second,
        median_ms: number("median_ms")?,
        p99_ms: number("p99_ms")?,
        keel_ratio: keel_serial / per_second,
    };
    say(&format!(
        "    Tryton {}: {:.1} entries/s, median {:.1} ms; Keel at concurrency 1 is {:.0}x faster",
        tryton.version, tryton.per_second, tryton.median_ms, tryton.keel_ratio
    ));
    Ok(tryton)
}

/// Makes the virtualenv and installs Tryton into it (pip skips what is
/// already there); returns its python.
fn install(venv: &Path) -> anyhow::Result<std::path::PathBuf> {
    let python = venv.join("bin").join("python");
    if !python.exists() {
        say(&format!("==> compare: creating a Python virtualenv at {}", venv.display()));
        let made = Command::new("python3").args(["-m", "venv"]).arg(venv).status().context(
            "--compare tryton needs python3 with its venv module (Debian: python3-venv)",
        )?;
        if !made.success() {
            bail!("python3 -m venv {} failed; install python3-venv", venv.display());
        }
    }
    say(&format!("==> compare: installing {} with pip", PACKAGES.join(" ")));
    let installed = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(PACKAGES)
        .status()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !installed.success() {
        bail!("pip could not install Tryton into {}; is PyPI reachable?", venv.display());
    }
    Ok(python)
}
