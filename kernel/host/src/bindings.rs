//! The host's `bindgen!` sites: the `keel:erp/module` world every plugin is
//! linked against (the `keel:kernel/plugin` world plus the domain
//! interfaces a module may import), and the domain interfaces a provider
//! exports, whose types are shared with the first.

wasmtime::component::bindgen!({
    path: ["../../wit", "../../wit/erp"],
    world: "keel:erp/module@0.3.0",
    imports: { default: trappable },
});

/// The domain interfaces as a provider exports them.
pub(crate) mod providers {
    wasmtime::component::bindgen!({
        path: ["../../wit", "../../wit/erp"],
        world: "keel:erp/providers@0.3.0",
        with: {
            "keel:kernel/types": super::keel::kernel::types,
            "keel:erp/types": super::keel::erp::types,
        },
    });
}

pub(crate) use Module as Plugin;
pub(crate) use ModulePre as PluginPre;
pub(crate) use keel::kernel::handler::Request as WitRequest;
pub(crate) use keel::kernel::types::{Error as WitError, Timestamp};
