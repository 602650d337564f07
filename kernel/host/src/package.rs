//! Plugin packages: a component with its manifest embedded, compiled and
//! pre-linked once, then instantiated per call.

use std::sync::Arc;

use keel_manifest::{Contract, ContractError, Manifest};
use sha2::{Digest, Sha256};
use wasmtime::component::Linker;

use crate::bindings::PluginPre;
use crate::bindings::providers::exports::keel::erp::{directory, ledger, stock};
use crate::call::CallState;
use crate::error::LoadError;

/// The custom sections that carry the manifest and the contract.
const MANIFEST_SECTION: &str = "keel:manifest";
const CONTRACT_SECTION: &str = "keel:contract";

/// A loaded plugin package: its manifest and its pre-linked component.
pub struct Plugin {
    manifest: Manifest,
    contract: Contract,
    digest: String,
    imports: Vec<String>,
    exports: Vec<String>,
    pub(crate) pre: PluginPre<CallState>,
    /// The domain interfaces its manifest says it provides, found once.
    pub(crate) provides: Provides,
}

/// Where a provider's domain interfaces are among its exports.
#[derive(Default)]
pub(crate) struct Provides {
    pub(crate) ledger: Option<ledger::GuestIndices>,
    pub(crate) stock: Option<stock::GuestIndices>,
    pub(crate) directory: Option<directory::GuestIndices>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("id", &self.manifest.id)
            .field("digest", &self.digest)
            .finish()
    }
}

impl Plugin {
    /// The validated manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The schemas of its operations (empty for a package that declares none).
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// The package's SHA-256 digest, lower-case hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The interfaces the component imports (what it asks of the kernel).
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// What the component exports.
    pub fn exports(&self) -> &[String] {
        &self.exports
    }
}

/// Reads and validates the manifest embedded in a component, without
/// compiling or running it.
pub fn manifest_of(wasm: &[u8]) -> Result<Manifest, LoadError> {
    declared(wasm).map(|(manifest, _)| manifest)
}

/// Reads and validates the manifest and the contract (none is an empty
/// one) embedded in a component, without compiling or running it.
pub fn declared(wasm: &[u8]) -> Result<(Manifest, Contract), LoadError> {
    if !wasmparser::Parser::is_component(wasm) {
        let what = if wasmparser::Parser::is_core_wasm(wasm) {
            "a core module, not a component"
        } else {
            "not WebAssembly"
        };
        return Err(LoadError::InvalidWasm(format!("the package is {what}")));
    }
    let (mut sections, mut contracts) = (Vec::new(), Vec::new());
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|err| LoadError::InvalidWasm(err.to_string()))?;
        if let wasmparser::Payload::CustomSection(reader) = payload {
            match reader.name() {
                MANIFEST_SECTION => sections.push(reader.data()),
                CONTRACT_SECTION => contracts.push(reader.data()),
                _ => {}
            }
        }
    }
    let [section] = sections.as_slice() else {
        return Err(LoadError::ManifestSections(sections.len()));
    };
    let text = std::str::from_utf8(section).map_err(|_| {
        keel_manifest::ManifestError::Syntax("the manifest section is not UTF-8 text".to_owned())
    })?;
    let manifest = Manifest::parse(text)?;
    let contract = match contracts.as_slice() {
        [] => Contract::default(),
        [section] => {
            let text = std::str::from_utf8(section).map_err(|_| ContractError {
                plugin: manifest.id.to_string(),
                at: String::new(),
                reason: "the contract section is not UTF-8 text".to_owned(),
            })?;
            Contract::parse(text, &manifest)?
        }
        several => {
            return Err(LoadError::Contract(ContractError {
                plugin: manifest.id.to_string(),
                at: String::new(),
                reason: format!(
                    "the package has {} keel:contract sections; at most one",
                    several.len()
                ),
            }));
        }
    };
    Ok((manifest, contract))
}

/// Hex SHA-256 of a package: the name it is kept under.
pub fn digest(wasm: &[u8]) -> String {
    Sha256::digest(wasm).iter().map(|b| format!("{b:02x}")).collect()
}

/// Validates, compiles (or loads from cache) and pre-links a package.
pub(crate) fn load(
    engine: &wasmtime::Engine,
    linker: &Linker<CallState>,
    cache_dir: &std::path::Path,
    wasm: &[u8],
) -> Result<Arc<Plugin>, LoadError> {
    let (manifest, contract) = declared(wasm)?;
    let digest = digest(wasm);
    let component = crate::engine::compile_cached(engine, cache_dir, &digest, wasm)
        .map_err(|err| LoadError::InvalidWasm(format!("{err:#}")))?;
    let instance_pre =
        linker.instantiate_pre(&component).map_err(|err| LoadError::World(format!("{err:#}")))?;
    let pre = PluginPre::new(instance_pre).map_err(|err| LoadError::World(format!("{err:#}")))?;
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(name, _)| name.to_owned()).collect();
    let exports = ty.exports(engine).map(|(name, _)| name.to_owned()).collect();
    // A module may call only the domain interfaces its manifest requires,
    // so that an administrator sees them before enabling it.
    if let Some(undeclared) = imports
        .iter()
        .find(|name| name.starts_with("keel:erp/") && !name.starts_with("keel:erp/types@"))
        .filter(|name| !manifest.requires(name))
    {
        return Err(LoadError::World(format!(
            "the component imports {undeclared} but its manifest does not list it under `requires`"
        )));
    }
    let provides = provided(&manifest, pre.instance_pre())?;
    Ok(Arc::new(Plugin { manifest, contract, digest, imports, exports, pre, provides }))
}

/// Finds the exports of each domain interface `manifest` says it provides.
fn provided(
    manifest: &Manifest,
    pre: &wasmtime::component::InstancePre<CallState>,
) -> Result<Provides, LoadError> {
    let missing = |interface: &str, err: wasmtime::Error| {
        LoadError::World(format!(
            "the manifest says it provides {interface} but the component does not export it: {err:#}"
        ))
    };
    let mut provides = Provides::default();
    for interface in &manifest.provides {
        match interface.as_str() {
            "keel:erp/ledger@0.3.0" => {
                provides.ledger =
                    Some(ledger::GuestIndices::new(pre).map_err(|e| missing(interface, e))?);
            }
            "keel:erp/stock@0.3.0" => {
                provides.stock =
                    Some(stock::GuestIndices::new(pre).map_err(|e| missing(interface, e))?);
            }
            "keel:erp/directory@0.3.0" => {
                provides.directory =
                    Some(directory::GuestIndices::new(pre).map_err(|e| missing(interface, e))?);
            }
            other => {
                return Err(LoadError::World(format!(
                    "this host cannot call {other} on providers"
                )));
            }
        }
    }
    Ok(provides)
}
