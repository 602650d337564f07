//! A typed client generated from the `demo` tenant's OpenAPI document by
//! openapi-python-client (from PyPI, in a virtual environment under
//! `target/tools`, installed on first use), driving the README's ledger
//! walkthrough (`tests/client/ledger_walkthrough.py`) against the kernel
//! the API step started: the document must be complete and true enough
//! for a widely used generator to make a working client of it.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

use crate::{exec, step};

/// The openapi-python-client release the suite runs, pinned.
const GENERATOR: &str = "0.29.1";

/// Generates the client into `dir/client` and runs the walkthrough with it.
pub(crate) fn run(
    root: &Path,
    target: &Path,
    dir: &Path,
    base_url: &str,
    token: &str,
    document: &Path,
) -> anyhow::Result<()> {
    // Its Python also runs the walkthrough: httpx, attrs and dateutil,
    // which the generated client needs, come with it.
    let venv = crate::fuzz::python_tool(
        target,
        "openapi-python-client",
        GENERATOR,
        "openapi-python-client",
    )?;
    step("generating a Python client from the demo tenant's OpenAPI document");
    let config = dir.join("client.yml");
    std::fs::write(
        &config,
        "project_name_override: keel-demo-client\npackage_name_override: keel_demo\npost_hooks: []\n",
    )
    .context("writing the generator's configuration")?;
    let client = dir.join("client");
    exec(
        Command::new(venv.join("bin").join("openapi-python-client"))
            .arg("generate")
            .arg("--path")
            .arg(document)
            .arg("--config")
            .arg(&config)
            .arg("--output-path")
            .arg(&client)
            .arg("--overwrite")
            .arg("--fail-on-warning"),
    )?;
    step("driving the ledger walkthrough through the generated client");
    exec(
        Command::new(venv.join("bin").join("python"))
            .arg(root.join("tests").join("client").join("ledger_walkthrough.py"))
            .args([base_url, token])
            .env("PYTHONPATH", &client),
    )
}
