//! Glue used by [`export_plugin!`](crate::export_plugin); not part of the API.

pub use wit_bindgen;

/// The generated bindings for the `keel:kernel/plugin` world.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "keel:kernel/plugin@0.1.0",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "keel_sdk::__private::bindings",
        runtime_path: "keel_sdk::__private::wit_bindgen::rt",
    });
}

pub use bindings::Guest;
pub use bindings::keel::kernel::handler::{Request as WitRequest, Response as WitResponse};
pub use bindings::keel::kernel::types::Error as WitError;

use crate::{Plugin, Request};

/// Runs `P::handle` for one call from the kernel.
pub fn handle<P: Plugin>(operation: String, request: WitRequest) -> Result<WitResponse, WitError> {
    let request = Request::from_wit(request);
    match P::handle(&operation, request) {
        Ok(response) => Ok(response.into_wit()),
        Err(err) => Err(err.into_wit()),
    }
}

/// Runs `P::migrate` for one call from the kernel.
pub fn migrate<P: Plugin>(from_version: Option<String>) -> Result<(), WitError> {
    P::migrate(from_version.as_deref()).map_err(crate::Error::into_wit)
}

/// Registers a [`Plugin`](crate::Plugin) type as the component's exports and
/// embeds the crate's `keel.toml` manifest as the `keel:manifest` custom
/// section, where the kernel reads it without running any plugin code.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            struct KeelGuest;

            impl $crate::__private::Guest for KeelGuest {
                fn handle(
                    operation: ::std::string::String,
                    request: $crate::__private::WitRequest,
                ) -> ::std::result::Result<$crate::__private::WitResponse, $crate::__private::WitError> {
                    $crate::__private::handle::<$plugin>(operation, request)
                }

                fn migrate(
                    from_version: ::std::option::Option<::std::string::String>,
                ) -> ::std::result::Result<(), $crate::__private::WitError> {
                    $crate::__private::migrate::<$plugin>(from_version)
                }
            }

            $crate::__private::bindings::__export_plugin_world!(KeelGuest with_types_in $crate::__private::bindings);
        };

        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code, reason = "a custom section is how the kernel reads the manifest without running code")]
        #[unsafe(link_section = "keel:manifest")]
        #[used]
        static KEEL_MANIFEST: [u8; include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/keel.toml")).len()] =
            *include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/keel.toml"));
    };
}
