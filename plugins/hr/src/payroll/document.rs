//! A salary structure as clients write it and the plugin keeps it: its
//! components, each with one rule (a fixed amount, a percentage of another
//! component, or a formula) and the accounts it posts to; checked into a
//! [`Structure`] and the [`ComponentAccounts`] of its components.

use std::collections::BTreeMap;

use keel_values::RuleError;
use keel_values::code::check_account;
use keel_values::decimal::{self, Sign};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::formula::Formula;
use super::posting::ComponentAccounts;
use super::structure::{Component, Kind, Rule, Structure};

/// Longest structure name, in bytes.
const NAME_BYTES_MAX: usize = 200;

/// A salary structure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SalaryStructure")]
pub struct StructureDoc {
    /// Its name, 1 to 200 bytes.
    pub name: String,
    /// In the order a payslip lists them.
    pub components: Vec<ComponentDoc>,
}

/// One component: exactly one of `fixed`, `percent` (with `of`) and
/// `formula`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SalaryComponent")]
pub struct ComponentDoc {
    /// Its code, which formulas use: 1 to 32 of a-z, 0-9 and `_`, starting
    /// with a letter.
    pub code: String,
    pub kind: Kind,
    /// A fixed amount, a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// A rate in percent, a decimal string, of the component or variable `of`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<String>,
    /// What `percent` is a percentage of: a component, `base`,
    /// `payment_days` or `working_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// A formula over other components, `base`, `payment_days` and
    /// `working_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    /// Scaled by payment days over working days.
    #[serde(default)]
    pub prorated: bool,
    /// Computed for formulas to use, never paid or posted.
    #[serde(default)]
    pub statistical: bool,
    /// Where earnings and contributions are expensed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expense_account: Option<String>,
    /// Where deductions and contributions are owed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liability_account: Option<String>,
}

impl StructureDoc {
    /// The checked structure, and where each of its components posts: every
    /// component that is paid names the accounts its kind needs.
    pub fn checked(&self) -> Result<(Structure, BTreeMap<String, ComponentAccounts>), RuleError> {
        if self.name.trim().is_empty() || self.name.len() > NAME_BYTES_MAX {
            return Err(RuleError::new(format!(
                "a structure's name is 1 to {NAME_BYTES_MAX} bytes"
            )));
        }
        let mut components = Vec::with_capacity(self.components.len());
        let mut accounts = BTreeMap::new();
        for doc in &self.components {
            let within = |err: RuleError| err.within(&format!("component {}", doc.code));
            components.push(doc.component().map_err(within)?);
            accounts.insert(doc.code.clone(), doc.accounts().map_err(within)?);
        }
        Ok((Structure::new(components)?, accounts))
    }
}

impl ComponentDoc {
    fn component(&self) -> Result<Component, RuleError> {
        let rule = match (&self.fixed, &self.percent, &self.of, &self.formula) {
            (Some(fixed), None, None, None) => {
                Rule::Fixed(decimal::amount(fixed, "fixed", Sign::NonNegative)?)
            }
            (None, Some(rate), Some(of), None) => Rule::Percent {
                of: of.clone(),
                rate: decimal::amount(rate, "percent", Sign::NonNegative)?,
            },
            (None, None, None, Some(formula)) => Rule::Formula(Formula::parse(formula)?),
            _ => {
                return Err(RuleError::new(
                    "give exactly one rule: `fixed`, `percent` with `of`, or `formula`",
                ));
            }
        };
        Ok(Component {
            code: self.code.clone(),
            kind: self.kind,
            rule,
            prorated: self.prorated,
            statistical: self.statistical,
        })
    }

    fn accounts(&self) -> Result<ComponentAccounts, RuleError> {
        for account in self.expense_account.iter().chain(&self.liability_account) {
            check_account(account)?;
        }
        let expensed = matches!(self.kind, Kind::Earning | Kind::Contribution);
        let owed = matches!(self.kind, Kind::Deduction | Kind::Contribution);
        if !self.statistical {
            if expensed && self.expense_account.is_none() {
                return Err(RuleError::new("it is paid, so it names its expense_account"));
            }
            if owed && self.liability_account.is_none() {
                return Err(RuleError::new(
                    "it is owed to someone, so it names its liability_account",
                ));
            }
        }
        Ok(ComponentAccounts {
            expense: self.expense_account.clone().filter(|_| expensed),
            liability: self.liability_account.clone().filter(|_| owed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: serde_json::Value) -> Result<StructureDoc, serde_json::Error> {
        serde_json::from_value(json)
    }

    #[test]
    fn a_structure_is_checked_with_the_accounts_each_component_posts_to() {
        let structure = doc(serde_json::json!({
            "name": "Staff",
            "components": [
                {"code": "basic", "kind": "earning", "percent": "100", "of": "base", "prorated": true, "expense_account": "6200"},
                {"code": "tax", "kind": "deduction", "formula": "round(basic * 0.2, 2)", "liability_account": "2310"},
                {"code": "employer_pension", "kind": "contribution", "percent": "10", "of": "basic", "expense_account": "6210", "liability_account": "2320"},
            ],
        }))
        .unwrap();
        let (checked, accounts) = structure.checked().unwrap();
        assert_eq!(checked.components().len(), 3);
        assert_eq!(accounts["tax"].liability.as_deref(), Some("2310"));
        assert_eq!(accounts["tax"].expense, None);
        assert_eq!(accounts["employer_pension"].expense.as_deref(), Some("6210"));
    }

    #[test]
    fn a_component_has_one_rule_and_the_accounts_its_kind_needs() {
        let cases = [
            (
                serde_json::json!({"code": "basic", "kind": "earning", "fixed": "1", "formula": "2", "expense_account": "6200"}),
                "exactly one rule",
            ),
            (
                serde_json::json!({"code": "basic", "kind": "earning", "percent": "10", "expense_account": "6200"}),
                "exactly one rule",
            ),
            (
                serde_json::json!({"code": "basic", "kind": "earning", "fixed": "1"}),
                "expense_account",
            ),
            (
                serde_json::json!({"code": "tax", "kind": "deduction", "fixed": "1"}),
                "liability_account",
            ),
            (
                serde_json::json!({"code": "basic", "kind": "earning", "fixed": "-1", "expense_account": "6200"}),
                "fixed",
            ),
            (
                serde_json::json!({"code": "basic", "kind": "earning", "formula": "basic + 1", "expense_account": "6200"}),
                "refers to itself",
            ),
            (
                serde_json::json!({"code": "basic", "kind": "earning", "formula": "bonus", "expense_account": "6200"}),
                "bonus",
            ),
        ];
        for (component, expected) in cases {
            let structure =
                doc(serde_json::json!({"name": "S", "components": [component]})).unwrap();
            let err = structure.checked().unwrap_err().to_string();
            assert!(err.contains(expected), "{component}: {err}");
        }
        let statistical = serde_json::json!({"code": "taxable", "kind": "earning", "fixed": "1", "statistical": true});
        let structure = doc(serde_json::json!({"name": "S", "components": [statistical]})).unwrap();
        assert!(structure.checked().is_ok(), "a statistical component posts nowhere");
        assert!(doc(serde_json::json!({"name": "S", "components": [], "extra": 1})).is_err());
    }
}
