//! A call checked against its operation's contract before the plugin
//! runs: the query, and the JSON body of an operation that writes.

use keel_manifest::Contract;

use crate::error::CallError;

/// Checks a call's query and JSON body against the schemas its
/// operation's contract declares (an operation it does not type takes
/// anything).
pub(crate) fn check(
    contract: &Contract,
    operation: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Result<(), CallError> {
    if !contract.describes(operation) {
        return Ok(());
    }
    let refused = |part, violations| CallError::Contract {
        operation: operation.to_owned(),
        part,
        violations,
    };
    contract.check_query(operation, query).map_err(|v| refused("query", v))?;
    if contract.schema(operation, keel_manifest::Part::Request).is_none() {
        return Ok(());
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        let missing = keel_manifest::Violation {
            pointer: String::new(),
            detail: "a JSON body is required".to_owned(),
        };
        return Err(refused("body", vec![missing]));
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|err| CallError::Plugin {
            kind: crate::PluginErrorKind::BadRequest,
            message: format!("the body of {operation} is not JSON: {err}"),
        })?;
    contract.check_request(operation, &value).map_err(|v| refused("body", v))
}
