//! Exact decimals, from the strings clients write them as: amounts of
//! money and quantities of goods.
//!
//! JSON carries them as strings such as `"1200.50"`, never as numbers,
//! which most clients read as floating point. Both kinds have at most
//! [`PLACES_MAX`] decimal places and are kept as written (`"12.50"` stays
//! `12.50`). Their sizes are bounded so that arithmetic on them stays
//! exact within `rust_decimal`'s 96 bits (about 7.9 × 10^28):
//!
//! - an amount (money, prices, costs, values) is below 10^15 in size, so
//!   that sums over millions of lines stay exact;
//! - a quantity is below 10^12, so that a quantity times a price is below
//!   10^27.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::RuleError;

/// In a plugin's contract, a [`Decimal`] as JSON carries it: text such as
/// `"12.50"`, never a number (which `rust_decimal`'s own schema admits,
/// and which its `serde-str` reading refuses). For a field:
/// `#[schemars(with = "keel_values::decimal::Text")]`.
pub struct Text;

impl schemars::JsonSchema for Text {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DecimalText".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A decimal number as text, such as \"12.50\"",
        })
    }
}

/// Most decimal places an amount or a quantity may have.
pub const PLACES_MAX: u32 = 4;
/// Amounts are below this in size: 10^15.
pub const AMOUNT_LIMIT: i64 = 1_000_000_000_000_000;
/// Quantities are below this in size: 10^12.
pub const QUANTITY_LIMIT: i64 = 1_000_000_000_000;
/// Most decimal places an exchange rate may have.
pub const RATE_PLACES_MAX: u32 = 10;
/// Exchange rates are below this: 10^9 units of one currency for one of
/// another, so that an amount times a rate is below 10^24.
pub const RATE_LIMIT: i64 = 1_000_000_000;

/// `value` in cents, written with two places (`40.00`), rounded half to
/// even so that rounding many values biases no total.
pub fn cents(value: Decimal) -> Decimal {
    let mut cents = value.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    cents.rescale(2);
    cents
}

/// Which signs a value may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// Greater than zero: what is ordered, posted or received.
    Positive,
    /// Zero or more: prices, costs, thresholds.
    NonNegative,
    /// Any: adjustments and differences.
    Any,
}

/// Parses an amount of money written as a decimal string; `what` names it
/// in the error (`"line 2 debit"`).
pub fn amount(text: &str, what: &str, sign: Sign) -> Result<Decimal, RuleError> {
    parse(text, what, sign, (PLACES_MAX, AMOUNT_LIMIT))
}

/// Parses a quantity written as a decimal string; `what` names it in the
/// error.
pub fn quantity(text: &str, what: &str, sign: Sign) -> Result<Decimal, RuleError> {
    parse(text, what, sign, (PLACES_MAX, QUANTITY_LIMIT))
}

/// Parses an exchange rate written as a decimal string: how many units of
/// one currency buy one unit of another, above zero, with at most
/// [`RATE_PLACES_MAX`] places.
pub fn rate(text: &str, what: &str) -> Result<Decimal, RuleError> {
    parse(text, what, Sign::Positive, (RATE_PLACES_MAX, RATE_LIMIT))
}

/// Checks an amount the plugin holds already (a setting, a sum) against
/// the same rules as one parsed.
pub fn check_amount(value: Decimal, what: &str, sign: Sign) -> Result<Decimal, RuleError> {
    check(value, &value.to_string(), what, sign, (PLACES_MAX, AMOUNT_LIMIT))
}

/// `-?[0-9]+(.[0-9]+)?`, read exactly, within the sign and the places and
/// size (`bounds`) asked for.
fn parse(text: &str, what: &str, sign: Sign, bounds: (u32, i64)) -> Result<Decimal, RuleError> {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let plain = match unsigned.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(unsigned),
    };
    let value = Decimal::from_str_exact(text).ok().filter(|_| plain).ok_or_else(|| {
        RuleError::new(format!("{what} {text:?} must be a decimal string such as \"12.50\""))
    })?;
    check(value, text, what, sign, bounds)
}

fn check(
    value: Decimal,
    text: &str,
    what: &str,
    sign: Sign,
    (places, limit): (u32, i64),
) -> Result<Decimal, RuleError> {
    if value.scale() > places {
        return Err(RuleError::new(format!(
            "{what} {text:?} has more than {places} decimal places"
        )));
    }
    if value.abs() >= Decimal::from(limit) {
        return Err(RuleError::new(format!(
            "{what} {text:?} is too large: at most {} digits before the point",
            limit.ilog10()
        )));
    }
    match sign {
        Sign::Positive if value <= Decimal::ZERO => {
            Err(RuleError::new(format!("{what} {text:?} must be greater than zero")))
        }
        Sign::NonNegative if value.is_sign_negative() => {
            Err(RuleError::new(format!("{what} {text:?} must not be negative")))
        }
        _ => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn decimal_strings_are_kept_as_written() {
        assert_eq!(amount("100.00", "debit", Sign::Positive).unwrap().to_string(), "100.00");
        assert_eq!(amount("0.0001", "debit", Sign::Positive).unwrap().to_string(), "0.0001");
        assert_eq!(quantity("12.50", "quantity", Sign::Positive).unwrap().to_string(), "12.50");
        assert_eq!(quantity("-3", "quantity", Sign::Any).unwrap().to_string(), "-3");
        assert_eq!(amount("0", "price", Sign::NonNegative).unwrap(), Decimal::ZERO);
        let largest = amount("999999999999999.9999", "debit", Sign::Positive).unwrap();
        assert_eq!(largest.to_string(), "999999999999999.9999");
    }

    #[test]
    fn everything_else_is_refused_with_what_is_wrong() {
        let cases = [
            ("", "decimal string"),
            (" 1", "decimal string"),
            ("1 ", "decimal string"),
            ("+1", "decimal string"),
            ("1-", "decimal string"),
            ("--1", "decimal string"),
            ("1e3", "decimal string"),
            ("abc", "decimal string"),
            ("NaN", "decimal string"),
            ("1.2.3", "decimal string"),
            (".5", "decimal string"),
            ("5.", "decimal string"),
            ("-", "decimal string"),
            ("-.5", "decimal string"),
            ("1,5", "decimal string"),
            ("1.00001", "more than 4 decimal places"),
            ("0.00000000000000000000000000001", "decimal string"),
            ("1000000000000000", "too large"),
            ("-1000000000000000", "too large"),
            ("99999999999999999999999999999999", "decimal string"),
        ];
        for (bad, why) in cases {
            let err = amount(bad, "debit", Sign::Any).unwrap_err();
            assert!(err.0.starts_with(&format!("debit {bad:?}")), "{bad}: {err}");
            assert!(err.0.contains(why), "{bad}: {err}");
        }
        assert!(
            quantity("1000000000000", "quantity", Sign::Any).unwrap_err().0.contains("too large")
        );
        assert!(quantity("999999999999.9999", "quantity", Sign::Any).is_ok());
    }

    #[test]
    fn signs() {
        for zero in ["0", "0.00", "-0"] {
            let err = amount(zero, "debit", Sign::Positive).unwrap_err();
            assert!(err.0.contains("greater than zero"), "{err}");
        }
        assert!(amount("0.00", "price", Sign::NonNegative).is_ok());
        let zero = amount("-0", "price", Sign::NonNegative).unwrap();
        assert_eq!(zero.to_string(), "0", "no negative zero is kept");
        let err = quantity("-1", "reorder point", Sign::NonNegative).unwrap_err();
        assert_eq!(err.0, "reorder point \"-1\" must not be negative");
        assert!(quantity("-1", "quantity", Sign::Positive).is_err());
    }

    #[test]
    fn cents_round_half_to_even() {
        let cents = |text: &str| super::cents(Decimal::from_str(text).unwrap()).to_string();
        assert_eq!(cents("2.005"), "2.00");
        assert_eq!(cents("2.015"), "2.02");
        assert_eq!(cents("-2.015"), "-2.02");
        assert_eq!(cents("40"), "40.00");
        assert_eq!(cents("0.12345"), "0.12");
    }

    #[test]
    fn held_amounts_meet_the_same_rules() {
        let held = Decimal::from_str("1000.00001").unwrap();
        assert!(check_amount(held, "approval threshold", Sign::NonNegative).is_err());
        let held = Decimal::from(-1);
        assert!(check_amount(held, "approval threshold", Sign::NonNegative).is_err());
        assert!(check_amount(Decimal::from(1000), "approval threshold", Sign::NonNegative).is_ok());
    }

    #[test]
    fn rates_have_ten_places_and_are_positive() {
        assert_eq!(rate("0.9234567891", "rate").unwrap().to_string(), "0.9234567891");
        assert_eq!(rate("150", "rate").unwrap().to_string(), "150");
        for (text, needle) in [
            ("0.92345678912", "more than 10 decimal places"),
            ("0", "greater than zero"),
            ("-1.1", "greater than zero"),
            ("1000000000", "too large"),
            ("1,1", "decimal string"),
        ] {
            let err = rate(text, "rate").unwrap_err().0;
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
