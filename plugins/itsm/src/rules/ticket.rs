//! Incidents and service requests: new → assigned → in progress → pending
//! (awaiting the requester, a vendor, a change or a problem) → resolved →
//! closed, with reopening within a window after resolution. A request may
//! need an approval first, never by whom it is for; an incident never
//! does. Times are Unix seconds, as the kernel's clock gives them.

use keel_values::RuleError;
use serde::{Deserialize, Serialize};

/// Longest solution or reason, in bytes.
const TEXT_BYTES_MAX: usize = 4000;

/// What a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Something broke.
    Incident,
    /// Something is asked for.
    Request,
}

/// Where a ticket stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// A request waiting for its approval.
    AwaitingApproval,
    New,
    Assigned,
    InProgress,
    /// Waiting on someone outside the desk (see [`PendingOn`]).
    Pending,
    Resolved,
    Closed,
    /// A request whose approval was refused.
    Rejected,
    Cancelled,
}

/// Whom a pending ticket waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PendingOn {
    Requester,
    Vendor,
    Change,
    Problem,
}

/// A ticket's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Ticket {
    pub kind: Kind,
    pub requester: String,
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_on: Option<PendingOn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Who approved or refused a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
    /// When it was last resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
}

impl Ticket {
    /// A new ticket raised by `requester`; a request that `needs_approval`
    /// waits for it first.
    pub fn raise(kind: Kind, requester: &str, needs_approval: bool) -> Result<Self, RuleError> {
        if kind == Kind::Incident && needs_approval {
            return Err(RuleError::new(
                "an incident is worked on at once; only a request waits for an approval",
            ));
        }
        Ok(Self {
            kind,
            requester: requester.to_owned(),
            state: if needs_approval { State::AwaitingApproval } else { State::New },
            pending_on: None,
            group: None,
            agent: None,
            decided_by: None,
            solution: None,
            resolved_at: None,
        })
    }

    /// Whether it is still to be worked on or waited for.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Resolved | State::Closed | State::Rejected | State::Cancelled)
    }

    fn expect(&self, states: &[State], what: &str) -> Result<(), RuleError> {
        if states.contains(&self.state) {
            return Ok(());
        }
        Err(RuleError::new(format!("a ticket that is {:?} cannot be {what}", self.state)))
    }

    /// Approves or refuses a request waiting for it: never by whom it is for.
    pub fn decide(&mut self, by: &str, approve: bool) -> Result<(), RuleError> {
        self.expect(&[State::AwaitingApproval], "approved or refused")?;
        if by == self.requester {
            return Err(RuleError::new(format!(
                "{by} asked for this request, so someone else approves or refuses it"
            )));
        }
        self.decided_by = Some(by.to_owned());
        self.state = if approve { State::New } else { State::Rejected };
        Ok(())
    }

    /// Assigns it to `group`, and to `agent` of it if given; reassigning a
    /// ticket being worked on keeps it where it is.
    pub fn assign(&mut self, group: &str, agent: Option<&str>) -> Result<(), RuleError> {
        self.expect(&[State::New, State::Assigned, State::InProgress, State::Pending], "assigned")?;
        self.group = Some(group.to_owned());
        self.agent = agent.map(str::to_owned);
        if self.state == State::New {
            self.state = State::Assigned;
        }
        Ok(())
    }

    /// `agent` starts working on it, taking it if it was the group's.
    pub fn start(&mut self, agent: &str) -> Result<(), RuleError> {
        self.expect(&[State::Assigned], "started")?;
        self.agent = Some(agent.to_owned());
        self.state = State::InProgress;
        Ok(())
    }

    /// It waits on `on`: its clocks pause where a policy says so.
    pub fn pend(&mut self, on: PendingOn) -> Result<(), RuleError> {
        self.expect(&[State::Assigned, State::InProgress], "put pending")?;
        self.state = State::Pending;
        self.pending_on = Some(on);
        Ok(())
    }

    /// What it waited on came back.
    pub fn resume(&mut self) -> Result<(), RuleError> {
        self.expect(&[State::Pending], "resumed")?;
        self.state = State::InProgress;
        self.pending_on = None;
        Ok(())
    }

    /// Resolved `at`, with `solution`.
    pub fn resolve(&mut self, solution: &str, at: i64) -> Result<(), RuleError> {
        self.expect(&[State::Assigned, State::InProgress, State::Pending], "resolved")?;
        let solution = solution.trim();
        if solution.is_empty() || solution.len() > TEXT_BYTES_MAX {
            return Err(RuleError::new(format!(
                "a ticket is resolved with its solution, 1 to {TEXT_BYTES_MAX} bytes"
            )));
        }
        self.state = State::Resolved;
        self.pending_on = None;
        self.solution = Some(solution.to_owned());
        self.resolved_at = Some(at);
        Ok(())
    }

    /// Reopened `at`, no later than `window` seconds after it was resolved:
    /// back in progress with whoever worked on it.
    pub fn reopen(&mut self, at: i64, window: i64) -> Result<(), RuleError> {
        self.expect(&[State::Resolved], "reopened")?;
        let resolved = self.resolved_at.unwrap_or(at);
        if at.saturating_sub(resolved) > window {
            return Err(RuleError::new(format!(
                "a ticket is reopened within {} hours of its resolution; raise a new one and \
                 link it to this one",
                window / 3600
            )));
        }
        self.state = if self.agent.is_some() { State::InProgress } else { State::Assigned };
        self.solution = None;
        self.resolved_at = None;
        Ok(())
    }

    /// Closed: resolved for good (the requester accepted, or the reopening
    /// window passed).
    pub fn close(&mut self) -> Result<(), RuleError> {
        self.expect(&[State::Resolved], "closed")?;
        self.state = State::Closed;
        Ok(())
    }

    /// Cancelled while still open.
    pub fn cancel(&mut self) -> Result<(), RuleError> {
        if !self.is_open() {
            return Err(RuleError::new(format!(
                "a ticket that is {:?} cannot be cancelled",
                self.state
            )));
        }
        self.state = State::Cancelled;
        self.pending_on = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn an_incident_goes_from_new_to_closed_and_pauses_while_pending() {
        let mut incident = Ticket::raise(Kind::Incident, "rita", false).unwrap();
        assert_eq!(incident.state, State::New);
        assert!(incident.start("sam").is_err(), "assigned first");
        incident.assign("service-desk", None).unwrap();
        incident.start("sam").unwrap();
        assert_eq!((incident.state, incident.agent.as_deref()), (State::InProgress, Some("sam")));
        incident.pend(PendingOn::Vendor).unwrap();
        assert_eq!(
            (incident.state, incident.pending_on),
            (State::Pending, Some(PendingOn::Vendor))
        );
        assert!(incident.pend(PendingOn::Requester).is_err());
        incident.resume().unwrap();
        assert!(incident.resolve(" ", 10).unwrap_err().to_string().contains("solution"));
        incident.resolve("replaced the switch", 10).unwrap();
        assert!(!incident.is_open());
        incident.close().unwrap();
        assert!(incident.reopen(11, DAY).is_err(), "closed for good");
        assert!(incident.cancel().is_err());
        let err = Ticket::raise(Kind::Incident, "rita", true).unwrap_err();
        assert!(err.to_string().contains("only a request waits"), "{err}");
    }

    #[test]
    fn a_resolved_ticket_is_reopened_within_its_window_only() {
        let mut ticket = Ticket::raise(Kind::Incident, "rita", false).unwrap();
        ticket.assign("network", Some("nina")).unwrap();
        ticket.start("nina").unwrap();
        ticket.resolve("rebooted", 1_000).unwrap();
        ticket.reopen(1_000 + 2 * DAY, 3 * DAY).unwrap();
        assert_eq!((ticket.state, ticket.agent.as_deref()), (State::InProgress, Some("nina")));
        ticket.resolve("rebooted again", 5_000).unwrap();
        let err = ticket.reopen(5_000 + 4 * DAY, 3 * DAY).unwrap_err();
        assert!(err.to_string().contains("within 72 hours"), "{err}");
    }

    #[test]
    fn a_request_is_approved_by_someone_other_than_whom_it_is_for() {
        let mut request = Ticket::raise(Kind::Request, "rita", true).unwrap();
        assert_eq!(request.state, State::AwaitingApproval);
        assert!(request.assign("desk", None).is_err(), "approved first");
        let err = request.decide("rita", true).unwrap_err();
        assert!(err.to_string().contains("someone else approves"), "{err}");
        request.decide("mona", true).unwrap();
        assert_eq!((request.state, request.decided_by.as_deref()), (State::New, Some("mona")));
        let mut refused = Ticket::raise(Kind::Request, "rita", true).unwrap();
        refused.decide("mona", false).unwrap();
        assert_eq!(refused.state, State::Rejected);
        assert!(refused.cancel().is_err());
        let mut cancelled = Ticket::raise(Kind::Request, "rita", false).unwrap();
        cancelled.cancel().unwrap();
        assert_eq!(cancelled.state, State::Cancelled);
    }
}
