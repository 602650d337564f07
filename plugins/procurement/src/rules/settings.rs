//! What a tenant sets for purchasing: the approval threshold, how far an
//! invoiced price may stray from the order's, and the accounts invoices
//! post to.

use keel_values::code::{check_account, check_currency};
use keel_values::decimal::{self, Sign};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RuleError;

/// Thresholds, tolerance and the accounts invoices post to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Orders above this total need an approver other than their creator.
    #[schemars(with = "keel_values::decimal::Text")]
    pub approval_threshold: Decimal,
    /// How far an invoiced price may be from the order's, in percent.
    #[schemars(with = "keel_values::decimal::Text")]
    pub price_tolerance_percent: Decimal,
    /// The currency of the accounts below.
    pub currency: String,
    /// Goods received not invoiced: what receipts credited, invoices clear.
    pub received_account: String,
    /// Differences between invoiced and ordered prices.
    pub variance_account: String,
    /// Whether the accounts were made sure of in the ledger since the
    /// settings last changed.
    #[serde(default)]
    pub ensured: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            approval_threshold: Decimal::from(1000),
            price_tolerance_percent: Decimal::from(2),
            currency: "EUR".to_owned(),
            received_account: "2150".to_owned(),
            variance_account: "5100".to_owned(),
            ensured: false,
        }
    }
}

impl Settings {
    /// Checks settings a client sent: an amount of at least zero, a
    /// percentage from 0 to 100, valid account and currency codes.
    pub fn check(&self) -> Result<(), RuleError> {
        decimal::check_amount(self.approval_threshold, "approval_threshold", Sign::NonNegative)?;
        let percent = self.price_tolerance_percent;
        let in_range = (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&percent);
        if !in_range || percent.scale() > decimal::PLACES_MAX {
            return Err(RuleError::new(format!(
                "price_tolerance_percent {percent} must be from 0 to 100, with at most {} places",
                decimal::PLACES_MAX
            )));
        }
        check_currency(&self.currency)?;
        check_account(&self.received_account).map_err(|err| err.within("received_account"))?;
        check_account(&self.variance_account).map_err(|err| err.within("variance_account"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert!(Settings::default().check().is_ok());
    }

    #[test]
    fn bad_settings_are_refused_naming_the_field() {
        let d = |text: &str| Decimal::from_str(text).unwrap();
        let cases = [
            (Settings { approval_threshold: d("-1"), ..Settings::default() }, "approval_threshold"),
            (
                Settings { approval_threshold: d("0.00001"), ..Settings::default() },
                "approval_threshold",
            ),
            (
                Settings { price_tolerance_percent: d("101"), ..Settings::default() },
                "price_tolerance_percent",
            ),
            (
                Settings { price_tolerance_percent: d("-0.5"), ..Settings::default() },
                "price_tolerance_percent",
            ),
            (
                Settings { price_tolerance_percent: d("1.00001"), ..Settings::default() },
                "price_tolerance_percent",
            ),
            (Settings { currency: "euro".to_owned(), ..Settings::default() }, "currency"),
            (
                Settings { received_account: "21 50".to_owned(), ..Settings::default() },
                "received_account",
            ),
            (
                Settings { variance_account: String::new(), ..Settings::default() },
                "variance_account",
            ),
        ];
        for (settings, field) in cases {
            let err = settings.check().unwrap_err();
            assert!(err.0.contains(field), "{settings:?}: {err}");
        }
        let zero = Settings {
            approval_threshold: d("0"),
            price_tolerance_percent: d("100"),
            ..Settings::default()
        };
        assert!(zero.check().is_ok());
    }
}
