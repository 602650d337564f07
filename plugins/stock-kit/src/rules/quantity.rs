//! Quantities and money: decimal strings in JSON and WIT, `rust_decimal`
//! in memory.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::RuleError;

/// Most decimal places a quantity or a unit cost may have.
pub const SCALE_MAX: u32 = 4;
/// Quantities and costs must be below this (10^12).
const MAGNITUDE_MAX: i64 = 1_000_000_000_000;

/// Parses a decimal string such as `"12.5"` (digits, an optional point and
/// sign); at most 4 places.
pub fn parse(text: &str, what: &str) -> Result<Decimal, RuleError> {
    let plain = !text.is_empty()
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || b == b'.' || (i == 0 && b == b'-'));
    let value = Decimal::from_str(text).ok().filter(|_| plain).ok_or_else(|| {
        RuleError::new(format!("{what} {text:?} must be a decimal string such as \"12.5\""))
    })?;
    if value.scale() > SCALE_MAX {
        return Err(RuleError::new(format!(
            "{what} {text:?} has more than {SCALE_MAX} decimal places"
        )));
    }
    if value.abs() >= Decimal::from(MAGNITUDE_MAX) {
        return Err(RuleError::new(format!("{what} {text:?} is too large")));
    }
    Ok(value.normalize())
}

/// Parses a quantity or cost that must be greater than zero.
pub fn positive(text: &str, what: &str) -> Result<Decimal, RuleError> {
    let value = parse(text, what)?;
    if value <= Decimal::ZERO {
        return Err(RuleError::new(format!("{what} {text:?} must be greater than zero")));
    }
    Ok(value)
}

/// Parses a quantity or cost that may be zero but not negative.
pub fn non_negative(text: &str, what: &str) -> Result<Decimal, RuleError> {
    let value = parse(text, what)?;
    if value < Decimal::ZERO {
        return Err(RuleError::new(format!("{what} {text:?} must not be negative")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_only() {
        assert_eq!(positive("12.50", "quantity").unwrap().to_string(), "12.5");
        assert_eq!(parse("-3", "quantity").unwrap().to_string(), "-3");
        assert_eq!(non_negative("0", "reorder point").unwrap(), Decimal::ZERO);
        for bad in ["", "1e3", " 1", "1.00001", "abc", "NaN", "1000000000000", "+1"] {
            assert!(parse(bad, "quantity").is_err(), "{bad}");
        }
        assert!(positive("0", "quantity").is_err());
        assert!(non_negative("-1", "quantity").is_err());
    }
}
