//! Changes, as ServiceNow's and iTop's models have them:
//!
//! - standard: pre-approved, so new → scheduled → implement → review →
//!   closed, with no authorisation;
//! - normal: new → assess → authorise, by a change advisory board of named
//!   approvers, N of M → scheduled → implement → review → closed; its risk
//!   and backout plan are required;
//! - emergency: implemented at once and authorised after the fact, before
//!   it closes.
//!
//! The requester never approves their own change, and a change is never
//! implemented before it is authorised (but for an emergency).

use keel_values::RuleError;
use serde::{Deserialize, Serialize};

/// Most approvers on one board.
const APPROVERS_MAX: usize = 20;
/// Longest backout plan, in bytes.
const PLAN_BYTES_MAX: usize = 8000;

/// How a change is authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeType {
    Standard,
    Normal,
    Emergency,
}

/// What could go wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    Low,
    Moderate,
    High,
}

/// Where a change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeState {
    New,
    Assess,
    Authorise,
    Scheduled,
    Implement,
    Review,
    Closed,
    /// The board refused it: too few approvers are left to authorise it.
    Refused,
    Cancelled,
}

/// A change advisory board: `required` of its named `approvers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Board {
    pub approvers: Vec<String>,
    pub required: usize,
}

/// A change's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Change {
    pub kind: ChangeType,
    pub requester: String,
    pub state: ChangeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backout_plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<Board>,
    #[serde(default)]
    pub approvals: Vec<String>,
    #[serde(default)]
    pub refusals: Vec<String>,
    /// Authorised: by the board, or (standard) in advance.
    pub authorised: bool,
    /// When it is to be implemented, Unix seconds from and to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<(i64, i64)>,
}

impl Change {
    /// A new change asked for by `requester`. A normal change names its
    /// risk, its backout plan and its board; an emergency its board (which
    /// authorises it after the fact); a standard one is authorised already.
    pub fn new(
        kind: ChangeType,
        requester: &str,
        risk: Option<Risk>,
        backout_plan: Option<String>,
        board: Option<Board>,
    ) -> Result<Self, RuleError> {
        let backout_plan =
            backout_plan.map(|plan| plan.trim().to_owned()).filter(|p| !p.is_empty());
        if backout_plan.as_ref().is_some_and(|plan| plan.len() > PLAN_BYTES_MAX) {
            return Err(RuleError::new(format!(
                "a backout plan is at most {PLAN_BYTES_MAX} bytes"
            )));
        }
        if kind == ChangeType::Normal && (risk.is_none() || backout_plan.is_none()) {
            return Err(RuleError::new("a normal change states its risk and its backout plan"));
        }
        match (&board, kind) {
            (None, ChangeType::Normal | ChangeType::Emergency) => {
                return Err(RuleError::new(
                    "a normal or emergency change names the board that authorises it",
                ));
            }
            (Some(board), _) => check_board(board, requester)?,
            (None, ChangeType::Standard) => {}
        }
        Ok(Self {
            kind,
            requester: requester.to_owned(),
            state: ChangeState::New,
            risk,
            backout_plan,
            board,
            approvals: Vec::new(),
            refusals: Vec::new(),
            authorised: kind == ChangeType::Standard,
            window: None,
        })
    }

    fn expect(&self, states: &[ChangeState], what: &str) -> Result<(), RuleError> {
        if states.contains(&self.state) {
            return Ok(());
        }
        Err(RuleError::new(format!("a change that is {:?} cannot be {what}", self.state)))
    }

    /// A normal change is assessed.
    pub fn assess(&mut self) -> Result<(), RuleError> {
        self.expect(&[ChangeState::New], "assessed")?;
        if self.kind != ChangeType::Normal {
            return Err(RuleError::new("only a normal change is assessed and authorised"));
        }
        self.state = ChangeState::Assess;
        Ok(())
    }

    /// An assessed change goes to its board.
    pub fn to_board(&mut self) -> Result<(), RuleError> {
        self.expect(&[ChangeState::Assess], "sent for authorisation")?;
        self.state = ChangeState::Authorise;
        Ok(())
    }

    /// Whether `by` may approve or refuse now: a member of the board, not
    /// the requester, who has not decided yet; a normal change being
    /// authorised, or an emergency one before it closes.
    fn check_decider(&self, by: &str) -> Result<&Board, RuleError> {
        match self.kind {
            ChangeType::Normal => self.expect(&[ChangeState::Authorise], "approved or refused")?,
            ChangeType::Emergency => self.expect(
                &[ChangeState::New, ChangeState::Implement, ChangeState::Review],
                "approved or refused",
            )?,
            ChangeType::Standard => {
                return Err(RuleError::new("a standard change is approved in advance"));
            }
        }
        if self.authorised {
            return Err(RuleError::new("the change is authorised already"));
        }
        if by == self.requester {
            return Err(RuleError::new(format!(
                "{by} asked for this change, so others on the board approve or refuse it"
            )));
        }
        let board = self.board.as_ref().ok_or_else(|| RuleError::new("the change has no board"))?;
        if !board.approvers.iter().any(|a| a == by) {
            return Err(RuleError::new(format!("{by} is not on this change's board")));
        }
        if self.approvals.iter().chain(&self.refusals).any(|d| d == by) {
            return Err(RuleError::new(format!("{by} has decided on this change already")));
        }
        Ok(board)
    }

    /// `by`, on the board, approves: with enough approvals the change is
    /// authorised (a normal one is then to be scheduled).
    pub fn approve(&mut self, by: &str) -> Result<(), RuleError> {
        let required = self.check_decider(by)?.required;
        self.approvals.push(by.to_owned());
        if self.approvals.len() >= required {
            self.authorised = true;
            if self.kind == ChangeType::Normal {
                self.state = ChangeState::Scheduled;
            }
        }
        Ok(())
    }

    /// `by`, on the board, refuses: once too few approvers are left to
    /// authorise it, the change is refused.
    pub fn refuse(&mut self, by: &str) -> Result<(), RuleError> {
        let board = self.check_decider(by)?;
        let eligible = board.approvers.iter().filter(|a| **a != self.requester).count();
        let required = board.required;
        self.refusals.push(by.to_owned());
        if eligible.saturating_sub(self.refusals.len()) < required {
            self.state = ChangeState::Refused;
        }
        Ok(())
    }

    /// Scheduled to be implemented from `from` to `to`: a standard change
    /// from new, a normal one once authorised.
    pub fn schedule(&mut self, from: i64, to: i64) -> Result<(), RuleError> {
        if to <= from {
            return Err(RuleError::new("a change's window ends after it starts"));
        }
        match self.kind {
            ChangeType::Standard => {
                self.expect(&[ChangeState::New, ChangeState::Scheduled], "scheduled")?
            }
            ChangeType::Normal => self.expect(&[ChangeState::Scheduled], "scheduled")?,
            ChangeType::Emergency => {
                return Err(RuleError::new("an emergency change is implemented at once"));
            }
        }
        self.state = ChangeState::Scheduled;
        self.window = Some((from, to));
        Ok(())
    }

    /// Implemented: once authorised and scheduled, or at once for an
    /// emergency.
    pub fn implement(&mut self) -> Result<(), RuleError> {
        if self.kind == ChangeType::Emergency {
            self.expect(&[ChangeState::New], "implemented")?;
        } else {
            if !self.authorised {
                return Err(RuleError::new(
                    "a change is implemented once it is authorised, not before",
                ));
            }
            self.expect(&[ChangeState::Scheduled], "implemented")?;
            if self.window.is_none() {
                return Err(RuleError::new("a change is implemented in its scheduled window"));
            }
        }
        self.state = ChangeState::Implement;
        Ok(())
    }

    /// Implemented, it is reviewed.
    pub fn review(&mut self) -> Result<(), RuleError> {
        self.expect(&[ChangeState::Implement], "reviewed")?;
        self.state = ChangeState::Review;
        Ok(())
    }

    /// Reviewed, it is closed; an emergency change only once its board
    /// authorised it after the fact.
    pub fn close(&mut self) -> Result<(), RuleError> {
        self.expect(&[ChangeState::Review], "closed")?;
        if !self.authorised {
            return Err(RuleError::new(
                "an emergency change is authorised by its board, after the fact, before it closes",
            ));
        }
        self.state = ChangeState::Closed;
        Ok(())
    }

    /// Cancelled before it is implemented.
    pub fn cancel(&mut self) -> Result<(), RuleError> {
        self.expect(
            &[
                ChangeState::New,
                ChangeState::Assess,
                ChangeState::Authorise,
                ChangeState::Scheduled,
            ],
            "cancelled",
        )?;
        self.state = ChangeState::Cancelled;
        Ok(())
    }
}

/// A board of 1 to 20 distinct approvers, `required` of whom (at least
/// one) can be reached without the requester.
fn check_board(board: &Board, requester: &str) -> Result<(), RuleError> {
    let mut approvers = board.approvers.clone();
    approvers.sort_unstable();
    approvers.dedup();
    if approvers.is_empty()
        || approvers.len() != board.approvers.len()
        || approvers.len() > APPROVERS_MAX
    {
        return Err(RuleError::new(format!(
            "a board names 1 to {APPROVERS_MAX} approvers, each once"
        )));
    }
    // Keel user ids: 1 to 63 of a-z, 0-9 and '-', starting with a letter.
    // Anything else (an API token, a name) could never decide.
    let user_id = |id: &str| {
        id.len() <= 63
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if let Some(bad) = approvers.iter().find(|a| !user_id(a)) {
        return Err(RuleError::new(format!(
            "approver {bad:?} is not a user id (a-z, 0-9 and '-', starting with a letter)"
        )));
    }
    let eligible = approvers.iter().filter(|a| *a != requester).count();
    if board.required == 0 || board.required > eligible {
        return Err(RuleError::new(format!(
            "a board's approvals required are 1 to the {eligible} approvers other than the \
             requester, not {}",
            board.required
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(approvers: &[&str], required: usize) -> Option<Board> {
        Some(Board { approvers: approvers.iter().map(|a| (*a).to_owned()).collect(), required })
    }

    fn normal(requester: &str) -> Change {
        Change::new(
            ChangeType::Normal,
            requester,
            Some(Risk::Moderate),
            Some("restore last night's snapshot".to_owned()),
            board(&["ana", "ben", "cy", "rob"], 2),
        )
        .unwrap()
    }

    #[test]
    fn a_normal_change_is_authorised_by_two_of_its_board_and_never_by_its_requester() {
        let mut change = normal("rob");
        assert!(change.implement().unwrap_err().to_string().contains("once it is authorised"));
        change.assess().unwrap();
        change.to_board().unwrap();
        let own = change.approve("rob").unwrap_err();
        assert!(own.to_string().contains("others on the board"), "{own}");
        assert!(
            change.approve("zed").unwrap_err().to_string().contains("not on this change's board")
        );
        change.approve("ana").unwrap();
        assert!(change.approve("ana").unwrap_err().to_string().contains("decided"));
        assert!(change.implement().is_err(), "one of two");
        change.approve("ben").unwrap();
        assert_eq!((change.state, change.authorised), (ChangeState::Scheduled, true));
        assert!(change.implement().unwrap_err().to_string().contains("scheduled window"));
        change.schedule(100, 200).unwrap();
        change.implement().unwrap();
        change.review().unwrap();
        change.close().unwrap();
        assert_eq!(change.state, ChangeState::Closed);
    }

    #[test]
    fn a_board_that_cannot_reach_its_number_refuses() {
        let mut change = normal("rob");
        change.assess().unwrap();
        change.to_board().unwrap();
        change.refuse("ana").unwrap();
        assert_eq!(change.state, ChangeState::Authorise, "ben and cy can still approve");
        change.refuse("ben").unwrap();
        assert_eq!(change.state, ChangeState::Refused);
        assert!(change.approve("cy").is_err());
    }

    #[test]
    fn what_a_change_must_state() {
        let err = Change::new(
            ChangeType::Normal,
            "rob",
            None,
            Some("plan".to_owned()),
            board(&["ana"], 1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("risk and its backout plan"), "{err}");
        let err = Change::new(
            ChangeType::Normal,
            "rob",
            Some(Risk::Low),
            Some("  ".to_owned()),
            board(&["ana"], 1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("backout plan"), "{err}");
        let err = Change::new(
            ChangeType::Normal,
            "rob",
            Some(Risk::Low),
            Some("p".to_owned()),
            board(&["rob", "ana"], 2),
        )
        .unwrap_err();
        assert!(err.to_string().contains("1 to the 1 approvers other than the requester"), "{err}");
        let err = Change::new(ChangeType::Emergency, "rob", None, None, None).unwrap_err();
        assert!(err.to_string().contains("names the board"), "{err}");
        assert!(
            Change::new(
                ChangeType::Normal,
                "rob",
                Some(Risk::Low),
                Some("p".to_owned()),
                board(&["ana", "ana"], 1)
            )
            .is_err()
        );
        for stranger in ["token:7f3a", "Ana", ""] {
            let err = Change::new(
                ChangeType::Normal,
                "rob",
                Some(Risk::Low),
                Some("p".to_owned()),
                board(&["ana", stranger], 1),
            )
            .unwrap_err();
            assert!(err.to_string().contains("is not a user id"), "{stranger}: {err}");
        }
    }

    #[test]
    fn a_standard_change_needs_no_authorisation_and_an_emergency_gets_it_after_the_fact() {
        let mut standard = Change::new(ChangeType::Standard, "rob", None, None, None).unwrap();
        assert!(standard.assess().is_err());
        standard.schedule(10, 20).unwrap();
        standard.implement().unwrap();
        standard.review().unwrap();
        standard.close().unwrap();

        let mut emergency = Change::new(
            ChangeType::Emergency,
            "rob",
            Some(Risk::High),
            None,
            board(&["ana", "ben"], 1),
        )
        .unwrap();
        emergency.implement().unwrap();
        emergency.review().unwrap();
        let err = emergency.close().unwrap_err();
        assert!(err.to_string().contains("after the fact"), "{err}");
        assert!(emergency.approve("rob").is_err(), "not its requester either");
        emergency.approve("ben").unwrap();
        emergency.close().unwrap();
        assert!(emergency.cancel().is_err());
    }
}
