//! The business rules of purchasing: pure, with no SDK imports and no I/O,
//! so they are unit-tested natively.

pub mod dates;
pub mod matching;

use std::str::FromStr;

use rust_decimal::Decimal;

/// A broken business rule, reported to the client as 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

impl RuleError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Most decimal places of a quantity or price.
const SCALE_MAX: u32 = 4;

/// Parses a decimal string (`"12.50"`), at most 4 places, kept as written;
/// `positive` refuses zero.
pub fn decimal(text: &str, what: &str, positive: bool) -> Result<Decimal, RuleError> {
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let value = Decimal::from_str(text).ok().filter(|_| plain).ok_or_else(|| {
        RuleError::new(format!("{what} {text:?} must be a decimal string such as \"12.50\""))
    })?;
    if value.scale() > SCALE_MAX || value >= Decimal::from(1_000_000_000_000_i64) {
        return Err(RuleError::new(format!("{what} {text:?} has too many places or digits")));
    }
    if positive && value.is_zero() {
        return Err(RuleError::new(format!("{what} {text:?} must be greater than zero")));
    }
    Ok(value)
}

/// Checks a code (suppliers, locations, accounts): 1 to 40 characters of
/// `A-Z`, `0-9`, `-`, `_` and `.`.
pub fn check_code(what: &str, code: &str) -> Result<(), RuleError> {
    let allowed = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.".contains(&b);
    if code.is_empty() || code.len() > 40 || !code.bytes().all(allowed) {
        return Err(RuleError::new(format!(
            "{what} code {code:?} must be 1 to 40 characters of A-Z, 0-9, '-', '_' and '.'"
        )));
    }
    Ok(())
}

/// Money to cents, written with two places.
pub fn money(value: Decimal) -> Decimal {
    let mut cents = value.round_dp(2);
    cents.rescale(2);
    cents
}

/// Whether an order of `total` needs an approver: above the threshold.
pub fn needs_approval(total: Decimal, threshold: Decimal) -> bool {
    total > threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_money_and_approval() {
        assert_eq!(decimal("12.50", "price", true).unwrap().to_string(), "12.50");
        assert!(decimal("0", "quantity", true).is_err());
        assert!(decimal("0", "price", false).is_ok());
        for bad in ["-1", "1e2", "", "1.23456"] {
            assert!(decimal(bad, "price", false).is_err(), "{bad}");
        }
        assert_eq!(money(Decimal::from_str("2.005").unwrap()).to_string(), "2.00");
        assert!(check_code("location", "MAIN-A").is_ok());
        for bad in ["", "main", "A/B", &"A".repeat(41)] {
            assert!(check_code("location", bad).is_err(), "{bad}");
        }
        let threshold = Decimal::from(1000);
        assert!(!needs_approval(Decimal::from(1000), threshold));
        assert!(needs_approval(Decimal::from_str("1000.01").unwrap(), threshold));
    }
}
