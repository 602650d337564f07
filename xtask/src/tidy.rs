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
//! - The modules of a crate import each other without cycles, but for
//!   the cycles listed in [`KNOWN_CYCLES`], which are to be broken.

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
    "plugins/hr/src/payroll",
    "plugins/hr/src/leave",
    "plugins/hr/src/people.rs",
    "plugins/stock-kit/src/rules",
    "plugins/procurement/src/rules",
    "plugins/inventory-lots/src/fefo.rs",
    "plugins/inventory-lots/src/lot.rs",
    "plugins/inventory-lots/src/shelf.rs",
    "plugins/itsm/src/rules",
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

/// Module cycles that exist and are to be broken, by crate directory: a
/// new cycle fails the test, and so does a listed one that is gone (so
/// that the list stays true).
const KNOWN_CYCLES: &[(&str, &[&str])] = &[
    (
        "kernel/host/src",
        &["call", "capabilities", "events", "host", "idempotency", "package", "tenants"],
    ),
    ("kernel/storage/src", &["apply", "lane", "store"]),
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

/// The top-level modules of the crate whose sources are in `src`, each
/// with the modules of the crate it names (`crate::x`, `crate::{x, y}`).
fn module_graph(src: &Path) -> BTreeMap<String, Vec<String>> {
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for file in fs::read_dir(src).into_iter().flatten().flatten().map(|e| e.path()) {
        let Some(name) = file.file_stem().and_then(|n| n.to_str()) else { continue };
        if file.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main" {
            let mut sources = vec![file.clone()];
            let dir = src.join(name);
            if dir.is_dir() {
                sources.extend(files(&dir, ".rs"));
            }
            modules.insert(name.to_owned(), sources);
        }
    }
    let mut graph = BTreeMap::new();
    for (name, sources) in &modules {
        let mut named: Vec<String> = Vec::new();
        for source in sources {
            for line in read(source).lines() {
                let code = line.split("//").next().unwrap_or_default();
                for (at, _) in code.match_indices("crate::") {
                    let rest = &code[at + "crate::".len()..];
                    let heads: Vec<&str> = match rest.strip_prefix('{') {
                        Some(group) => group
                            .split('}')
                            .next()
                            .unwrap_or_default()
                            .split(',')
                            .map(|part| part.trim().split("::").next().unwrap_or_default())
                            .collect(),
                        None => {
                            let end = rest
                                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                                .unwrap_or(rest.len());
                            vec![&rest[..end]]
                        }
                    };
                    for head in heads {
                        if head != name
                            && modules.contains_key(head)
                            && !named.iter().any(|n| n == head)
                        {
                            named.push(head.to_owned());
                        }
                    }
                }
            }
        }
        graph.insert(name.clone(), named);
    }
    graph
}

/// The modules of `graph` in a cycle, grouped by the cycle (the strongly
/// connected components of more than one module).
fn cycles(graph: &BTreeMap<String, Vec<String>>) -> Vec<Vec<String>> {
    let reach = |from: &str| {
        let mut seen: Vec<&str> = Vec::new();
        let mut pending = vec![from];
        while let Some(module) = pending.pop() {
            for next in graph.get(module).into_iter().flatten() {
                if !seen.contains(&next.as_str()) {
                    seen.push(next);
                    pending.push(next);
                }
            }
        }
        seen
    };
    let mut groups: Vec<Vec<String>> = Vec::new();
    for module in graph.keys() {
        if groups.iter().any(|g| g.contains(module)) {
            continue;
        }
        let from = reach(module);
        let mut group: Vec<String> = from
            .iter()
            .filter(|other| reach(other).contains(&module.as_str()))
            .map(|other| (*other).to_owned())
            .collect();
        if group.len() > 1 {
            group.sort();
            groups.push(group);
        }
    }
    groups
}

#[test]
fn modules_import_each_other_without_cycles() {
    let root = root();
    let mut sources = vec![root.join("values/src"), root.join("sdk/src")];
    for parent in ["kernel", "plugins"] {
        let mut crates: Vec<PathBuf> = fs::read_dir(root.join(parent))
            .expect("the workspace has kernel/ and plugins/")
            .flatten()
            .map(|entry| entry.path().join("src"))
            .filter(|src| src.is_dir())
            .collect();
        crates.sort();
        sources.extend(crates);
    }
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for src in sources {
        let at = relative(&src);
        found.extend(cycles(&module_graph(&src)).into_iter().map(|cycle| (at.clone(), cycle)));
    }
    let known: Vec<(String, Vec<String>)> = KNOWN_CYCLES
        .iter()
        .map(|(at, cycle)| ((*at).to_owned(), cycle.iter().map(|m| (*m).to_owned()).collect()))
        .collect();
    let new: Vec<_> = found.iter().filter(|cycle| !known.contains(cycle)).collect();
    assert!(
        new.is_empty(),
        "modules that import each other in a circle; move what they share to a leaf module: {new:#?}"
    );
    let gone: Vec<_> = known.iter().filter(|cycle| !found.contains(cycle)).collect();
    assert!(gone.is_empty(), "these cycles are broken or changed: update KNOWN_CYCLES: {gone:#?}");
}

#[test]
fn a_cycle_is_found_and_a_chain_is_not() {
    let graph = |edges: &[(&str, &[&str])]| -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(from, to)| ((*from).to_owned(), to.iter().map(|t| (*t).to_owned()).collect()))
            .collect()
    };
    let circle = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]);
    assert_eq!(cycles(&circle), [["a", "b", "c"]]);
    let chain = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &[])]);
    assert!(cycles(&chain).is_empty());
}
