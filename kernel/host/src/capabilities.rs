//! The `keel:kernel` interfaces, implemented for a call's store.
//!
//! Each interface lives in its own module; this module links them all,
//! together with WASI (with an empty context), into the host's `Linker`.

mod audit;
mod context;
mod domain;
mod events;
mod log;
mod records;
mod timers;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings;
use crate::call::CallState;
use crate::error::HostError;

impl bindings::keel::kernel::types::Host for CallState {}
impl bindings::keel::kernel::handler::Host for CallState {}
impl bindings::keel::kernel::jobs::Host for CallState {}
impl bindings::keel::erp::types::Host for CallState {}

/// The `wasi:io/poll` instance as wasmtime-wasi defines it.
const WASI_POLL: &str = "wasi:io/poll@0.2.12";

/// Builds the linker every plugin is pre-linked against.
pub(crate) fn linker(engine: &wasmtime::Engine) -> Result<Linker<CallState>, HostError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .map_err(|err| HostError::new("link WASI", err))?;
    forbid_blocking(&mut linker).map_err(|err| HostError::new("restrict WASI polling", err))?;
    bindings::Plugin::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state)
        .map_err(|err| HostError::new("link keel:kernel", err))?;
    log::link(&mut linker).map_err(|err| HostError::new("link keel:kernel/log", err))?;
    Ok(linker)
}

/// WASI's blocking waits run inside host code, where the epoch deadline
/// cannot interrupt them: a plugin sleeping forever would hold its
/// transaction forever. Plugins have nothing to wait for, so both blocking
/// entry points trap instead.
fn forbid_blocking(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut poll = linker.instance(WASI_POLL)?;
    for name in ["poll", "[method]pollable.block"] {
        poll.func_new(name, |_store, _ty, _params, _results| {
            Err(wasmtime::Error::msg(
                "plugins may not block or sleep (wasi:io/poll is not available)",
            ))
        })?;
    }
    linker.allow_shadowing(false);
    Ok(())
}
