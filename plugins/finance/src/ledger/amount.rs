//! Money amounts: decimal strings in JSON, `rust_decimal` in memory.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::RuleError;

/// Most decimal places an amount may have.
pub const SCALE_MAX: u32 = 4;
/// Amounts must be below this (10^15), so sums over millions of lines stay exact.
const MAGNITUDE_MAX: i64 = 1_000_000_000_000_000;

/// Parses a positive amount from a JSON value, which must be a decimal
/// string such as `"1200.50"`; numbers are refused because JSON numbers are
/// floats for most clients.
pub fn parse_positive(value: &serde_json::Value, what: &str) -> Result<Decimal, RuleError> {
    let Some(text) = value.as_str() else {
        return Err(RuleError::new(format!(
            "{what} must be a decimal string such as \"100.00\", not {value}"
        )));
    };
    let amount = Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_str(text))
        .map_err(|_| RuleError::new(format!("{what} {text:?} is not a decimal number")))?;
    let plain =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
    if !plain {
        return Err(RuleError::new(format!(
            "{what} {text:?} must be written as digits with an optional decimal point"
        )));
    }
    if amount.is_sign_negative() || amount.is_zero() {
        return Err(RuleError::new(format!("{what} {text:?} must be greater than zero")));
    }
    if amount.scale() > SCALE_MAX {
        return Err(RuleError::new(format!(
            "{what} {text:?} has more than {SCALE_MAX} decimal places"
        )));
    }
    if amount >= Decimal::from(MAGNITUDE_MAX) {
        return Err(RuleError::new(format!("{what} {text:?} is too large")));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_positive_decimal_strings() {
        assert_eq!(parse_positive(&json!("100.00"), "debit").unwrap().to_string(), "100.00");
        assert_eq!(parse_positive(&json!("0.0001"), "debit").unwrap().to_string(), "0.0001");
        assert_eq!(parse_positive(&json!("42"), "debit").unwrap().to_string(), "42");
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            json!(100),
            json!(1.5),
            json!(null),
            json!("-5"),
            json!("0"),
            json!("0.00"),
            json!("abc"),
            json!("1e3"),
            json!("1.00001"),
            json!(" 1"),
            json!(""),
            json!("1000000000000000"),
            json!("NaN"),
        ] {
            assert!(parse_positive(&bad, "debit").is_err(), "{bad}");
        }
    }
}
