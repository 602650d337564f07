//! A component that claims, in its manifest, to be a Keel plugin but
//! exports another world; installing it must fail with a clear error.
#![allow(unsafe_code, reason = "wit-bindgen expands its exports in this crate")]

wit_bindgen::generate!({
    inline: r"
        package test:other;

        world other {
            export run: func() -> u32;
        }
    ",
});

struct Other;

impl Guest for Other {
    fn run() -> u32 {
        42
    }
}

export!(Other);

#[cfg(target_arch = "wasm32")]
#[allow(
    unsafe_code,
    reason = "a custom section carries the manifest, as keel_sdk::export_plugin! does"
)]
#[unsafe(link_section = "keel:manifest")]
#[used]
static KEEL_MANIFEST: [u8; include_bytes!("../keel.toml").len()] = *include_bytes!("../keel.toml");
