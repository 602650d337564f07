//! Who is calling, as segregation of duties needs it, and the decision an
//! approver sends (on a request or a change).

use keel_sdk::contract::JsonSchema;
use keel_sdk::{Error, Result, context};
use serde::Deserialize;

/// The caller's user id (empty for none, which the kernel never calls
/// an operation as).
pub(crate) fn caller() -> String {
    context::caller().unwrap_or_default()
}

/// The caller, who must be signed in: segregation of duties must tell who
/// `what` is done by, and an API token acts for whoever made it, which a
/// plugin cannot see.
pub(crate) fn signed_in(what: &str) -> Result<String> {
    match context::caller() {
        Some(caller) if !caller.starts_with("token:") => Ok(caller),
        _ => Err(Error::denied(format!(
            "{what} is done by someone signed in, not through an API token"
        ))),
    }
}

/// An approval or a refusal, and why.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decision {
    /// Approve, or refuse.
    pub approve: bool,
    /// Why, at most 1,000 bytes.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Longest reason for a decision, in bytes.
const REASON_BYTES_MAX: usize = 1000;

impl Decision {
    /// Checks its reason's length.
    pub(crate) fn check(&self) -> Result<()> {
        if self.reason.as_ref().is_some_and(|r| r.len() > REASON_BYTES_MAX) {
            return Err(Error::invalid(format!(
                "a decision's reason is at most {REASON_BYTES_MAX} bytes"
            )));
        }
        Ok(())
    }

    /// What the audit trail says of it: `<id> approved by <by>: <why>`.
    pub(crate) fn detail(&self, id: &str, by: &str) -> String {
        let verb = if self.approve { "approved" } else { "refused" };
        let why = self.reason.as_deref().map(|r| format!(": {}", r.trim())).unwrap_or_default();
        format!("{id} {verb} by {by}{why}")
    }
}
