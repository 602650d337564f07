//! Manifest parsing and routing take any input without a panic: a
//! malformed manifest is an error that says what is wrong, and any method
//! and path either route to an operation or are refused.

use keel_manifest::{Manifest, PathPattern, RouteError};
use proptest::prelude::*;

/// The bundled plugins' manifests, as real inputs to mutate.
const REAL: [&str; 4] = [
    include_str!("../../../plugins/finance/keel.toml"),
    include_str!("../../../plugins/procurement/keel.toml"),
    include_str!("../../../plugins/inventory/keel.toml"),
    include_str!("../../../plugins/inventory-lots/keel.toml"),
];

/// One edit of a manifest's lines.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Replace(usize, String),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), "\\PC{0,40}").prop_map(|(n, text)| Edit::Replace(n, text)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for edit in edits {
        if lines.is_empty() {
            break;
        }
        match edit {
            Edit::Delete(n) => drop(lines.remove(n % lines.len())),
            Edit::Duplicate(n) => {
                let line = lines[n % lines.len()].clone();
                lines.insert(n % lines.len(), line);
            }
            Edit::Replace(n, text) => {
                let n = n % lines.len();
                lines[n] = text.clone();
            }
            Edit::Truncate(n) => lines.truncate(n % lines.len()),
        }
    }
    lines.join("\n")
}

/// A request path for `pattern` with `values` in its parameters.
fn fill(pattern: &PathPattern, values: &[String]) -> String {
    let mut values = values.iter().cycle();
    let filled: Vec<String> = pattern
        .to_string()
        .split('/')
        .map(|part| {
            if part.starts_with('{') {
                values.next().cloned().unwrap_or_default()
            } else {
                part.to_owned()
            }
        })
        .collect();
    filled.join("/")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_parses_or_is_refused_with_a_reason(text in "\\PC{0,400}") {
        if let Err(err) = Manifest::parse(&text) {
            prop_assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn edited_real_manifests_parse_or_are_refused_with_a_reason(
        which in 0..REAL.len(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let text = apply(REAL[which], &edits);
        match Manifest::parse(&text) {
            Ok(manifest) => {
                // Whatever survived routes its own operations.
                for op in &manifest.operations {
                    let path = fill(&op.path, &["x1".to_owned()]);
                    prop_assert!(manifest.route(op.method.as_str(), &path).is_ok(), "{}", path);
                }
            }
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn any_method_and_path_route_or_are_refused(
        which in 0..REAL.len(),
        method in "\\PC{0,10}",
        path in "\\PC{0,200}",
    ) {
        let manifest = Manifest::parse(REAL[which]).unwrap();
        let _ = manifest.route(&method, &path);
        let _ = PathPattern::parse(&path);
    }

    #[test]
    fn a_filled_pattern_routes_to_an_operation_with_its_values(
        which in 0..REAL.len(),
        op in any::<prop::sample::Index>(),
        values in prop::collection::vec("[a-z0-9%-]{1,12}", 1..4),
    ) {
        let manifest = Manifest::parse(REAL[which]).unwrap();
        let operation = op.get(&manifest.operations);
        let path = fill(&operation.path, &values);
        match manifest.route(operation.method.as_str(), &path) {
            // A more specific literal may win; the route is still the method's.
            Ok(route) => prop_assert_eq!(route.operation.method, operation.method),
            Err(RouteError::NotFound | RouteError::MethodNotAllowed { .. }) => {
                prop_assert!(false, "{} {} did not route", operation.method.as_str(), path);
            }
        }
    }
}
