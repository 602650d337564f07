//! The host's one `bindgen!` site for the `keel:kernel/plugin` world.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "keel:kernel/plugin@0.3.0",
    imports: { default: trappable },
});

pub(crate) use keel::kernel::handler::Request as WitRequest;
pub(crate) use keel::kernel::types::{Error as WitError, Timestamp};
