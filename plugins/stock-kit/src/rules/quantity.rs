//! Quantities and unit costs: decimal strings in JSON and WIT, within the
//! bounds of [`keel_values::decimal`], normalised in memory (`"12.50"`
//! units are `12.5`).

use keel_values::decimal::{self, Sign};
use rust_decimal::Decimal;

use super::RuleError;

/// Parses a quantity such as `"12.5"` or `"-3"` (an adjustment).
pub fn parse(text: &str, what: &str) -> Result<Decimal, RuleError> {
    decimal::quantity(text, what, Sign::Any).map(|value| value.normalize())
}

/// Parses a quantity that must be greater than zero.
pub fn positive(text: &str, what: &str) -> Result<Decimal, RuleError> {
    decimal::quantity(text, what, Sign::Positive).map(|value| value.normalize())
}

/// Parses a quantity that may be zero but not negative.
pub fn non_negative(text: &str, what: &str) -> Result<Decimal, RuleError> {
    decimal::quantity(text, what, Sign::NonNegative).map(|value| value.normalize())
}

/// Parses the cost of one unit: an amount, zero or more.
pub fn unit_cost(text: &str) -> Result<Decimal, RuleError> {
    decimal::amount(text, "unit cost", Sign::NonNegative).map(|value| value.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_normalised_and_unit_costs_are_amounts() {
        assert_eq!(positive("12.50", "quantity").unwrap().to_string(), "12.5");
        assert_eq!(parse("-3", "quantity").unwrap().to_string(), "-3");
        assert_eq!(non_negative("0", "reorder point").unwrap(), Decimal::ZERO);
        for bad in ["", "1e3", " 1", "1.00001", "abc", "NaN", "1000000000000", "+1"] {
            assert!(parse(bad, "quantity").is_err(), "{bad}");
        }
        assert!(positive("0", "quantity").is_err());
        assert!(non_negative("-1", "quantity").is_err());
        assert_eq!(unit_cost("1000000000000.50").unwrap().to_string(), "1000000000000.5");
        assert!(unit_cost("-0.01").is_err());
    }
}
