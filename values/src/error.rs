//! The one error of the pure cores: a rule the input broke, said for the
//! person who sent it.

/// A broken business rule, reported to the client as 422 with its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

impl RuleError {
    /// A rule broken, said for the client: what was wrong and with what.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The same error, its message after `context` (such as `"line 2"`).
    #[must_use]
    pub fn within(self, context: &str) -> Self {
        Self(format!("{context}: {}", self.0))
    }
}
