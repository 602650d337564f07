//! Tidy: tests that keep the repository's shape, after rust-analyzer's
//! `tidy.rs`. Run by `cargo xtask test` with the rest of the workspace.
//!
//! - Each heavy dependency is used only by the crate that owns it, as the
//!   comment beside it in the workspace `Cargo.toml` says, and by the
//!   crates that drive the kernel from outside (tests, test guests, the
//!   benchmarks and this one), which never ship.
//! - The pure cores of the plugins import no SDK and do no I/O.
//! - Every Rust source file opens with a `//!` comment saying what it is.
//! - No Rust source file passes 800 lines.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Longest a Rust source file may be, in lines.
const FILE_LINES_MAX: usize = 800;

/// Crates that drive the kernel from outside and never ship, by the
/// directory they are in: they may use any dependency.
const OUTSIDE: &[&str] = &["tests/", "bench/", "xtask/"];

/// The pure cores: rules with no SDK and no I/O, unit-tested natively.
/// A directory stands for its `.rs` files and the module file beside it.
const PURE_CORES: &[&str] = &[
    "values/src",
    "plugins/finance/src/ledger",
    "plugins/stock-kit/src/rules",
    "plugins/procurement/src/rules",
    "plugins/inventory-lots/src/fefo.rs",
];

/// What a pure core may not name: the SDK, the guest bindings, and the
/// standard library's I/O, processes, threads and clocks.
const IMPURE: &[&str] = &[
    "keel_sdk",
    "wit_bindgen",
    "std::fs",
    "std::io",
    "std::net",
    "std::process",
    "std::env",
    "std::thread",
    "SystemTime",
    "Instant::now",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is in the workspace").to_owned()
}

/// Files under `dir` whose name ends with `suffix`, outside `target/` and
/// hidden directories, relative to the workspace root.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    pending.push(path);
                }
            } else if name.ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn every_source_file_opens_with_a_doc_comment() {
    let missing: Vec<String> = files(&root(), ".rs")
        .into_iter()
        .filter(|path| !read(path).starts_with("//!"))
        .map(|path| relative(&path))
        .collect();
    assert!(
        missing.is_empty(),
        "open these with a `//!` comment saying what they are: {missing:#?}"
    );
}

#[test]
fn no_source_file_passes_800_lines() {
    let long: Vec<String> = files(&root(), ".rs")
        .into_iter()
        .filter_map(|path| {
            let lines = read(&path).lines().count();
            (lines > FILE_LINES_MAX).then(|| format!("{}: {lines} lines", relative(&path)))
        })
        .collect();
    assert!(long.is_empty(), "split these at a seam, {FILE_LINES_MAX} lines at most: {long:#?}");
}

#[test]
fn pure_cores_import_no_sdk_and_do_no_io() {
    let root = root();
    let mut checked = 0;
    let mut impure = Vec::new();
    for core in PURE_CORES {
        let path = root.join(core);
        let mut sources = if path.is_dir() { files(&path, ".rs") } else { vec![path.clone()] };
        let module = path.with_extension("rs");
        if path.is_dir() && module.is_file() {
            sources.push(module);
        }
        assert!(!sources.is_empty(), "the pure core {core} has no sources: update PURE_CORES");
        for source in sources {
            checked += 1;
            let text = read(&source);
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if let Some(name) = IMPURE.iter().find(|name| code.contains(**name)) {
                    impure.push(format!("{}:{}: {name}", relative(&source), n + 1));
                }
            }
        }
    }
    assert!(checked >= PURE_CORES.len());
    assert!(impure.is_empty(), "pure cores may not use these: {impure:#?}");
}

/// The heavy dependencies and their owners, from the comments beside them
/// in the workspace `Cargo.toml` (`redb = "4.6"  # keel-storage`).
fn owners(crates: &BTreeMap<String, PathBuf>) -> BTreeMap<String, String> {
    let manifest = read(&root().join("Cargo.toml"));
    let section = manifest
        .split("[workspace.dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("the workspace Cargo.toml has [workspace.dependencies]");
    let mut owners = BTreeMap::new();
    for line in section.lines() {
        let (Some((dependency, _)), Some((_, comment))) =
            (line.split_once('='), line.rsplit_once('#'))
        else {
            continue;
        };
        let owner = comment.split_whitespace().next().unwrap_or_default();
        let owner = if owner == "tests" { "keel-tests" } else { owner };
        if crates.contains_key(owner) {
            owners.insert(dependency.trim().to_owned(), owner.to_owned());
        }
    }
    owners
}

/// Every crate of the workspace by name, with its `Cargo.toml`.
fn crates() -> BTreeMap<String, PathBuf> {
    files(&root(), "Cargo.toml")
        .into_iter()
        .filter(|path| path.parent() != Some(&root()))
        .filter_map(|path| {
            let manifest: toml::Table = toml::from_str(&read(&path)).ok()?;
            let name = manifest.get("package")?.get("name")?.as_str()?.to_owned();
            Some((name, path))
        })
        .collect()
}

/// The names of every dependency `manifest` declares, of any kind and
/// for any target.
fn dependencies(manifest: &toml::Table) -> Vec<String> {
    let kinds = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut tables: Vec<&toml::Table> =
        kinds.iter().filter_map(|kind| manifest.get(*kind)?.as_table()).collect();
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for target in targets.values().filter_map(toml::Value::as_table) {
            tables.extend(kinds.iter().filter_map(|kind| target.get(*kind)?.as_table()));
        }
    }
    tables.into_iter().flat_map(|table| table.keys().cloned()).collect()
}

#[test]
fn heavy_dependencies_are_used_only_by_their_owner() {
    let crates = crates();
    let owners = owners(&crates);
    for heavy in ["redb", "wasmtime", "axum", "casbin", "argon2", "wit-bindgen"] {
        assert!(owners.contains_key(heavy), "{heavy} has no owner comment: {owners:?}");
    }
    let mut strays = Vec::new();
    for (name, path) in &crates {
        if OUTSIDE.iter().any(|dir| relative(path).starts_with(dir)) {
            continue;
        }
        let manifest: toml::Table = toml::from_str(&read(path)).expect("a valid Cargo.toml");
        for dependency in dependencies(&manifest) {
            match owners.get(&dependency) {
                Some(owner) if owner != name => {
                    strays.push(format!("{name} depends on {dependency}, which {owner} owns"));
                }
                _ => {}
            }
        }
    }
    assert!(strays.is_empty(), "reach these through their owner's API: {strays:#?}");
}
