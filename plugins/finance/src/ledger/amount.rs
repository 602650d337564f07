//! Money amounts in posted lines: decimal strings in JSON, `rust_decimal`
//! in memory, with the bounds of [`keel_values::decimal`].

use keel_values::decimal::{self, Sign};
use rust_decimal::Decimal;

use super::RuleError;

/// Parses a positive amount from a JSON value, which must be a decimal
/// string such as `"1200.50"`; numbers are refused because JSON numbers are
/// floats for most clients.
pub fn parse_positive(value: &serde_json::Value, what: &str) -> Result<Decimal, RuleError> {
    let Some(text) = value.as_str() else {
        return Err(RuleError::new(format!(
            "{what} must be a decimal string such as \"100.00\", not {value}"
        )));
    };
    decimal::amount(text, what, Sign::Positive)
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
