//! The `keel:kernel` interfaces, implemented for a call's store.
//!
//! Each interface lives in its own module; this module links them all,
//! together with WASI (with an empty context), into the host's `Linker`.

mod context;
mod log;
mod records;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings;
use crate::call::CallState;
use crate::error::HostError;

impl bindings::keel::kernel::types::Host for CallState {}
impl bindings::keel::kernel::handler::Host for CallState {}

/// Builds the linker every plugin is pre-linked against.
pub(crate) fn linker(engine: &wasmtime::Engine) -> Result<Linker<CallState>, HostError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .map_err(|err| HostError(format!("cannot link WASI: {err:#}")))?;
    bindings::Plugin::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state)
        .map_err(|err| HostError(format!("cannot link keel:kernel: {err:#}")))?;
    Ok(linker)
}
