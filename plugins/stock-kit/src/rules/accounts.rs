//! The ledger accounts stock is valued in, and which of them each kind of
//! move debits and credits.

use keel_values::code::{check_account, check_currency};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::RuleError;

/// The ledger accounts stock is valued in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The currency of the accounts.
    pub currency: String,
    /// Stock on hand (an asset).
    pub inventory_account: String,
    /// Goods received, not yet invoiced (a liability), credited by receipts.
    pub received_account: String,
    /// Cost of goods sold or used (an expense), debited by issues.
    pub issued_account: String,
    /// Gains and losses found by counting, and write-offs (an expense).
    pub adjustment_account: String,
    /// The accounts were made sure of in the ledger.
    #[serde(default)]
    pub ensured: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            currency: "EUR".to_owned(),
            inventory_account: "1300".to_owned(),
            received_account: "2150".to_owned(),
            issued_account: "5000".to_owned(),
            adjustment_account: "5900".to_owned(),
            ensured: false,
        }
    }
}

/// A move that changes what stock is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueChange {
    /// Goods received: inventory against goods received not invoiced.
    Receipt,
    /// Goods issued: cost of goods against inventory.
    Issue,
    /// More counted than held: inventory against adjustments.
    Found,
    /// Less counted than held, or written off: adjustments against
    /// inventory.
    Lost,
}

impl Settings {
    /// Checks settings a client sent: a currency code and four account
    /// codes, each named in the error.
    pub fn check(&self) -> Result<(), RuleError> {
        check_currency(&self.currency)?;
        let accounts = [
            ("inventory_account", &self.inventory_account),
            ("received_account", &self.received_account),
            ("issued_account", &self.issued_account),
            ("adjustment_account", &self.adjustment_account),
        ];
        for (field, code) in accounts {
            check_account(code).map_err(|err| err.within(field))?;
        }
        Ok(())
    }

    /// The accounts a move of `kind` debits and credits, in that order.
    pub fn accounts(&self, kind: ValueChange) -> (&str, &str) {
        match kind {
            ValueChange::Receipt => (&self.inventory_account, &self.received_account),
            ValueChange::Issue => (&self.issued_account, &self.inventory_account),
            ValueChange::Found => (&self.inventory_account, &self.adjustment_account),
            ValueChange::Lost => (&self.adjustment_account, &self.inventory_account),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_move_moves_value_between_the_accounts_it_concerns() {
        let settings = Settings::default();
        assert_eq!(settings.accounts(ValueChange::Receipt), ("1300", "2150"));
        assert_eq!(settings.accounts(ValueChange::Issue), ("5000", "1300"));
        assert_eq!(settings.accounts(ValueChange::Found), ("1300", "5900"));
        assert_eq!(settings.accounts(ValueChange::Lost), ("5900", "1300"));
    }

    #[test]
    fn bad_settings_are_refused_naming_the_field() {
        assert!(Settings::default().check().is_ok());
        let cases = [
            (Settings { currency: "eur".to_owned(), ..Settings::default() }, "currency"),
            (
                Settings { inventory_account: String::new(), ..Settings::default() },
                "inventory_account",
            ),
            (
                Settings { received_account: "21 50".to_owned(), ..Settings::default() },
                "received_account",
            ),
            (
                Settings { issued_account: "5000/1".to_owned(), ..Settings::default() },
                "issued_account",
            ),
            (
                Settings { adjustment_account: "9".repeat(21), ..Settings::default() },
                "adjustment_account",
            ),
        ];
        for (settings, field) in cases {
            let err = settings.check().unwrap_err();
            assert!(err.0.contains(field), "{settings:?}: {err}");
        }
    }
}
