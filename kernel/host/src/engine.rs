//! The one wasmtime engine: pooling allocator, epoch interruption, and the
//! on-disk cache of compiled components.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keel_types::Limits;
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::HostError;

/// Core instances a Rust `wasm32-wasip2` component instantiates (the module
/// plus WASI adapter shims), with headroom.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;

/// Bytes of each linear memory (and table) kept resident when its slot is
/// freed, and reset in place instead of returned to the kernel: a call
/// dirties a few pages of stack and heap, and `madvise` plus the page
/// faults to bring them back cost more than resetting them. With
/// `PAGEMAP_SCAN` (Linux 6.7+) only the pages actually dirtied are reset.
const MEMORY_KEEP_RESIDENT: usize = 2 << 20;
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// Builds the engine for `limits`.
pub(crate) fn new_engine(limits: &Limits) -> Result<Engine, HostError> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.instances_max)
        .total_core_instances(limits.instances_max * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(limits.instances_max * 2)
        .total_tables(limits.instances_max * CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(4)
        .max_memory_size(limits.memory_bytes_max)
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .max_wasm_stack(512 * 1024)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(|err| HostError::new("configure wasmtime", err))
}

/// Advances the engine's epoch every `tick` until the engine is dropped, so
/// a call's deadline (counted in ticks) stops a looping guest.
pub(crate) fn start_epoch_ticker(engine: &Engine, tick: Duration) -> Result<(), HostError> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("keel-epoch".to_owned())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        })
        .map(drop)
        .map_err(|err| HostError::new("start the epoch thread", err))
}

/// Compiles `wasm`, or loads the native code cached for `digest` by this
/// engine configuration. A stale or corrupt cache entry is replaced.
pub(crate) fn compile_cached(
    engine: &Engine,
    cache_dir: &Path,
    digest: &str,
    wasm: &[u8],
) -> wasmtime::Result<Component> {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let path = cache_dir.join(format!("{digest}-{:016x}.cwasm", hasher.finish()));
    if path.exists() {
        // SAFETY: the file was written by `Component::serialize` of an engine
        // with the same compatibility hash, into the kernel's own data
        // directory, or put back there by `keel restore --compiled-code`
        // from a backup the kernel made (the operator's explicit choice,
        // trusting the backup as the data directory; its digests are in the
        // `backup.create` audit record); wasmtime also checks its header
        // before using it.
        #[expect(unsafe_code, reason = "loading natively compiled code we cached ourselves")]
        let cached = unsafe { Component::deserialize_file(engine, &path) };
        match cached {
            Ok(component) => return Ok(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "recompiling: cached code unusable")
            }
        }
    }
    let component = Component::new(engine, wasm)?;
    if let Err(err) = write_cache(&path, &component) {
        tracing::warn!(path = %path.display(), error = %err, "cannot cache compiled plugin; it will be recompiled next start");
    }
    Ok(component)
}

fn write_cache(path: &Path, component: &Component) -> wasmtime::Result<()> {
    let bytes = component.serialize()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Unique per writer: kernels sharing a cache directory must not
    // truncate each other's half-written files.
    static N_WRITES: AtomicU64 = AtomicU64::new(0);
    let n = N_WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("{}-{n}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
