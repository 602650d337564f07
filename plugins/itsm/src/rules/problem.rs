//! Problems: the cause behind one or more incidents, investigated until it
//! is known (a known error, with its root cause and, while no fix is in,
//! a workaround the desk can give), then resolved and closed.

use keel_values::RuleError;
use serde::{Deserialize, Serialize};

/// Longest root cause or workaround, in bytes.
const TEXT_BYTES_MAX: usize = 8000;
/// Most incidents one problem groups.
pub const INCIDENTS_MAX: usize = 1000;

/// Where a problem stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemState {
    Investigating,
    /// Its root cause is known.
    KnownError,
    Resolved,
    Closed,
}

/// A problem's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Problem {
    pub state: ProblemState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workaround: Option<String>,
    /// The incidents it groups, in the order they were linked.
    #[serde(default)]
    pub incidents: Vec<String>,
}

fn text(what: &str, text: &str) -> Result<String, RuleError> {
    let text = text.trim();
    if text.is_empty() || text.len() > TEXT_BYTES_MAX {
        return Err(RuleError::new(format!("a {what} is 1 to {TEXT_BYTES_MAX} bytes")));
    }
    Ok(text.to_owned())
}

impl Problem {
    /// A problem being investigated.
    pub fn open() -> Self {
        Self {
            state: ProblemState::Investigating,
            root_cause: None,
            workaround: None,
            incidents: Vec::new(),
        }
    }

    /// Groups `incident` under it, once; not once it is closed.
    pub fn link(&mut self, incident: &str) -> Result<bool, RuleError> {
        if self.state == ProblemState::Closed {
            return Err(RuleError::new("a closed problem groups no more incidents"));
        }
        if self.incidents.iter().any(|i| i == incident) {
            return Ok(false);
        }
        if self.incidents.len() >= INCIDENTS_MAX {
            return Err(RuleError::new(format!(
                "a problem groups at most {INCIDENTS_MAX} incidents"
            )));
        }
        self.incidents.push(incident.to_owned());
        Ok(true)
    }

    /// Its root cause is found: a known error, with a workaround if there
    /// is one.
    pub fn know(&mut self, root_cause: &str, workaround: Option<&str>) -> Result<(), RuleError> {
        if !matches!(self.state, ProblemState::Investigating | ProblemState::KnownError) {
            return Err(RuleError::new(format!(
                "a problem that is {:?} is not reopened",
                self.state
            )));
        }
        self.root_cause = Some(text("root cause", root_cause)?);
        self.workaround = workaround.map(|w| text("workaround", w)).transpose()?;
        self.state = ProblemState::KnownError;
        Ok(())
    }

    /// Fixed: only once its root cause is known.
    pub fn resolve(&mut self) -> Result<(), RuleError> {
        if self.state != ProblemState::KnownError {
            return Err(RuleError::new(
                "a problem is resolved once its root cause is known: record it first",
            ));
        }
        self.state = ProblemState::Resolved;
        Ok(())
    }

    /// Closed once resolved.
    pub fn close(&mut self) -> Result<(), RuleError> {
        if self.state != ProblemState::Resolved {
            return Err(RuleError::new(format!(
                "a problem that is {:?} is not closed",
                self.state
            )));
        }
        self.state = ProblemState::Closed;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_known_before_it_is_resolved_and_groups_each_incident_once() {
        let mut problem = Problem::open();
        assert_eq!(problem.link("INC-000001"), Ok(true));
        assert_eq!(problem.link("INC-000001"), Ok(false));
        assert!(problem.resolve().unwrap_err().to_string().contains("root cause"));
        assert!(problem.know("  ", None).is_err());
        problem.know("a full disk on SRV-0001", Some("restart the mail queue")).unwrap();
        assert_eq!(problem.workaround.as_deref(), Some("restart the mail queue"));
        problem.resolve().unwrap();
        problem.close().unwrap();
        assert!(problem.link("INC-000002").is_err());
    }
}
