//! Priority from impact and urgency, through a tenant's matrix. Impact and
//! urgency run from 1 (highest) to the matrix's size; priority from 1
//! (critical) to 5 (planning). The ServiceNow 3×3 and the GLPI 5×5 ship as
//! presets; GLPI's priority 6, "major", is only ever set by hand, so an
//! override may name it. An override says why, for the audit trail.

use keel_values::RuleError;
use serde::{Deserialize, Serialize};

/// The highest priority a matrix gives.
pub const PRIORITY_MIN: u8 = 1;
/// The lowest priority a matrix gives.
pub const PRIORITY_MAX: u8 = 5;
/// The priority only set by hand: a major incident.
pub const MAJOR: u8 = 6;
/// Longest reason for an override, in bytes.
const REASON_BYTES_MAX: usize = 500;

/// A matrix: `cells[urgency - 1][impact - 1]` is the priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    pub cells: Vec<Vec<u8>>,
}

impl Matrix {
    /// ServiceNow's 3×3: impact and urgency 1 to 3.
    pub fn servicenow() -> Self {
        Self { cells: vec![vec![1, 2, 3], vec![2, 3, 4], vec![3, 4, 5]] }
    }

    /// GLPI's 5×5 (symmetric): impact and urgency 1 to 5.
    pub fn glpi() -> Self {
        Self {
            cells: vec![
                vec![1, 1, 2, 2, 2],
                vec![1, 2, 2, 3, 3],
                vec![2, 2, 3, 4, 4],
                vec![2, 3, 4, 4, 5],
                vec![2, 3, 4, 5, 5],
            ],
        }
    }

    /// The preset called `name` (`servicenow` or `glpi`).
    pub fn preset(name: &str) -> Result<Self, RuleError> {
        match name {
            "servicenow" => Ok(Self::servicenow()),
            "glpi" => Ok(Self::glpi()),
            other => Err(RuleError::new(format!(
                "priority matrix preset {other:?} does not exist; the presets are servicenow \
                 (3×3) and glpi (5×5)"
            ))),
        }
    }

    /// Checks a tenant's own matrix: square, 2×2 to 5×5, each cell a
    /// priority 1 to 5, and never less urgent for more impact or urgency
    /// (a cell is at least as high a priority as those right of and below it).
    pub fn check(&self) -> Result<(), RuleError> {
        let n = self.cells.len();
        if !(2..=5).contains(&n) || self.cells.iter().any(|row| row.len() != n) {
            return Err(RuleError::new("a priority matrix is square, 2×2 to 5×5"));
        }
        let cell = |u: usize, i: usize| self.cells[u][i];
        for u in 0..n {
            for i in 0..n {
                if !(PRIORITY_MIN..=PRIORITY_MAX).contains(&cell(u, i)) {
                    return Err(RuleError::new(format!(
                        "urgency {} impact {}: a priority is {PRIORITY_MIN} to {PRIORITY_MAX}, \
                         not {}",
                        u + 1,
                        i + 1,
                        cell(u, i)
                    )));
                }
                let lower_impact = i + 1 < n && cell(u, i + 1) < cell(u, i);
                let lower_urgency = u + 1 < n && cell(u + 1, i) < cell(u, i);
                if lower_impact || lower_urgency {
                    return Err(RuleError::new(format!(
                        "urgency {} impact {}: less impact or urgency never makes a ticket \
                         more urgent",
                        u + 1,
                        i + 1
                    )));
                }
            }
        }
        Ok(())
    }

    /// The impacts and urgencies it takes: 1 to this.
    pub fn size(&self) -> u8 {
        u8::try_from(self.cells.len()).unwrap_or(u8::MAX)
    }

    /// The priority of `impact` and `urgency`, each 1 to the matrix's size.
    pub fn priority(&self, impact: u8, urgency: u8) -> Result<u8, RuleError> {
        let n = self.size();
        for (what, value) in [("impact", impact), ("urgency", urgency)] {
            if !(1..=n).contains(&value) {
                return Err(RuleError::new(format!("{what} is 1 to {n}, not {value}")));
            }
        }
        Ok(self.cells[usize::from(urgency - 1)][usize::from(impact - 1)])
    }
}

/// A ticket's priority: as the matrix gave it, or set by hand and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Priority {
    pub value: u8,
    /// Who set it by hand, and why; none when the matrix gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<Override>,
}

/// A priority set by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Override {
    pub by: String,
    pub reason: String,
    /// What the matrix gave.
    pub computed: u8,
}

impl Priority {
    /// As `matrix` gives it for `impact` and `urgency`.
    pub fn computed(matrix: &Matrix, impact: u8, urgency: u8) -> Result<Self, RuleError> {
        Ok(Self { value: matrix.priority(impact, urgency)?, overridden: None })
    }

    /// Set by hand to `value` (1 to 5, or 6 for a major incident) by `by`,
    /// who says why.
    pub fn set_by_hand(&self, value: u8, by: &str, reason: &str) -> Result<Self, RuleError> {
        if !(PRIORITY_MIN..=MAJOR).contains(&value) {
            return Err(RuleError::new(format!(
                "a priority is {PRIORITY_MIN} to {PRIORITY_MAX}, or {MAJOR} for a major incident, \
                 not {value}"
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > REASON_BYTES_MAX {
            return Err(RuleError::new(format!(
                "a priority set by hand says why, in 1 to {REASON_BYTES_MAX} bytes"
            )));
        }
        let computed = self.overridden.as_ref().map_or(self.value, |o| o.computed);
        let overridden = Override { by: by.to_owned(), reason: reason.to_owned(), computed };
        Ok(Self { value, overridden: Some(overridden) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_presets_give_the_anchors_priorities() {
        let servicenow = Matrix::servicenow();
        let given: Vec<u8> =
            [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3)]
                .iter()
                .map(|&(impact, urgency)| servicenow.priority(impact, urgency).unwrap())
                .collect();
        assert_eq!(given, [1, 2, 3, 2, 3, 4, 3, 4, 5]);
        let glpi = Matrix::glpi();
        assert_eq!(glpi.priority(5, 4).unwrap(), 5);
        assert_eq!(glpi.priority(1, 3).unwrap(), 2);
        assert_eq!(glpi.priority(3, 3).unwrap(), 3);
        servicenow.check().unwrap();
        glpi.check().unwrap();
        assert!(servicenow.priority(4, 1).unwrap_err().to_string().contains("impact is 1 to 3"));
        assert!(Matrix::preset("itil").is_err());
    }

    #[test]
    fn a_tenants_matrix_is_checked() {
        let bad = [
            (Matrix { cells: vec![vec![1]] }, "square, 2×2"),
            (Matrix { cells: vec![vec![1, 2], vec![2]] }, "square"),
            (Matrix { cells: vec![vec![1, 7], vec![2, 3]] }, "not 7"),
            (Matrix { cells: vec![vec![2, 1], vec![2, 3]] }, "never makes a ticket more urgent"),
        ];
        for (matrix, expected) in bad {
            let err = matrix.check().unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn an_override_says_why_and_keeps_what_the_matrix_gave() {
        let given = Priority::computed(&Matrix::servicenow(), 2, 2).unwrap();
        assert_eq!(given.value, 3);
        let err = given.set_by_hand(1, "sam", "  ").unwrap_err();
        assert!(err.to_string().contains("says why"), "{err}");
        assert!(given.set_by_hand(7, "sam", "because").is_err());
        let major = given.set_by_hand(MAJOR, "sam", "the whole site is down").unwrap();
        let again = major.set_by_hand(2, "ana", "contained to one floor").unwrap();
        let overridden = again.overridden.unwrap();
        assert_eq!((again.value, overridden.computed, overridden.by.as_str()), (2, 3, "ana"));
    }

    proptest! {
        /// More impact or more urgency never lowers the priority, in either preset.
        #[test]
        fn more_impact_or_urgency_is_never_less_urgent(
            glpi in any::<bool>(), impact in 1u8..=5, urgency in 1u8..=5,
        ) {
            let matrix = if glpi { Matrix::glpi() } else { Matrix::servicenow() };
            let n = matrix.size();
            let (impact, urgency) = (impact.min(n), urgency.min(n));
            let here = matrix.priority(impact, urgency).unwrap();
            if impact > 1 {
                prop_assert!(matrix.priority(impact - 1, urgency).unwrap() <= here);
            }
            if urgency > 1 {
                prop_assert!(matrix.priority(impact, urgency - 1).unwrap() <= here);
            }
        }
    }
}
