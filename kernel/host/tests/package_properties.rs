//! Inspecting a package takes any bytes without a panic: whatever is not a
//! component with exactly one valid manifest is refused with a reason.

use keel_host::manifest_of;
use proptest::prelude::*;

const FINANCE: &str = include_str!("../../../plugins/finance/keel.toml");
/// The preamble of a WebAssembly component.
const COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

fn leb128(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A custom section named `name` holding `data`.
fn custom_section(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    leb128(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    let mut section = vec![0u8];
    leb128(body.len(), &mut section);
    section.extend(body);
    section
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_are_refused_with_a_reason(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let err = manifest_of(&bytes).expect_err("random bytes are no package");
        prop_assert!(!err.to_string().is_empty());
    }

    #[test]
    fn components_with_damaged_manifests_are_refused_or_read(
        n_manifests in 0usize..3,
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        trailing in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        let mut text = FINANCE.as_bytes()[..cut.index(FINANCE.len() + 1)].to_vec();
        for (at, byte) in &flips {
            if !text.is_empty() {
                let at = at.index(text.len());
                text[at] = *byte;
            }
        }
        let mut wasm = COMPONENT.to_vec();
        for _ in 0..n_manifests {
            wasm.extend(custom_section("keel:manifest", &text));
        }
        wasm.extend(trailing);
        match manifest_of(&wasm) {
            Ok(manifest) => prop_assert_eq!(n_manifests, 1, "read {}", manifest.id),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }
}

#[test]
fn an_intact_manifest_in_a_component_is_read() {
    let mut wasm = COMPONENT.to_vec();
    wasm.extend(custom_section("keel:manifest", FINANCE.as_bytes()));
    assert_eq!(manifest_of(&wasm).unwrap().id.as_str(), "finance");
}

const FINANCE_CONTRACT: &str = include_str!("../../../plugins/finance/keel.contract.json");

#[test]
fn a_contract_beside_the_manifest_is_read_and_a_damaged_one_refused() {
    let package = |contracts: &[&[u8]]| {
        let mut wasm = COMPONENT.to_vec();
        wasm.extend(custom_section("keel:manifest", FINANCE.as_bytes()));
        for contract in contracts {
            wasm.extend(custom_section("keel:contract", contract));
        }
        wasm
    };
    let (_, contract) = keel_host::declared(&package(&[FINANCE_CONTRACT.as_bytes()])).unwrap();
    assert!(contract.describes("entries.post"));
    let (_, none) = keel_host::declared(&package(&[])).unwrap();
    assert!(!none.describes("entries.post"), "a package without one types nothing");

    let refused =
        |contracts: &[&[u8]]| keel_host::declared(&package(contracts)).unwrap_err().to_string();
    let twice = refused(&[FINANCE_CONTRACT.as_bytes(), FINANCE_CONTRACT.as_bytes()]);
    assert!(twice.contains("2 keel:contract sections"), "{twice}");
    let cut = refused(&[&FINANCE_CONTRACT.as_bytes()[..FINANCE_CONTRACT.len() / 2]]);
    assert!(cut.starts_with("contract of plugin finance: : not JSON"), "{cut}");
    let hostile = FINANCE_CONTRACT.replacen(
        "\"type\": \"object\"",
        "\"type\": \"object\", \"$dynamicRef\": \"#x\"",
        1,
    );
    let hostile = refused(&[hostile.as_bytes()]);
    assert!(hostile.contains("keyword $dynamicRef is not one the kernel checks"), "{hostile}");
    let stranger = FINANCE_CONTRACT.replacen("\"accounts.balance\"", "\"accounts.burn\"", 1);
    let stranger = refused(&[stranger.as_bytes()]);
    assert!(stranger.contains("the manifest declares no operation accounts.burn"), "{stranger}");
}
