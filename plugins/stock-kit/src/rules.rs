//! The business rules of stock: pure, with no SDK imports and no I/O, so
//! they are unit-tested natively.
//!
//! - [`quantity`]: decimal strings in, decimals out.
//! - [`valuation`]: a quantity and what it is worth, averaged as it moves.

pub mod quantity;
pub mod valuation;

/// A broken business rule, reported to the client as 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

impl RuleError {
    /// A rule broken, said for the client.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Checks a `YYYY-MM-DD` date (years 1000 to 9999, a day the month has).
pub fn check_date(text: &str) -> Result<(), RuleError> {
    let invalid = || RuleError::new(format!("date {text:?} is not a valid YYYY-MM-DD date"));
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else { return Err(invalid()) };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return Err(invalid());
    }
    let number = |s: &str| s.parse::<u32>().map_err(|_| invalid());
    let (year, month, day) = (number(year)?, number(month)?, number(day)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(invalid()),
    };
    if year < 1000 || day == 0 || day > days {
        return Err(invalid());
    }
    Ok(())
}

/// Checks a code (items, warehouses, locations): 1 to 40 characters of
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_codes() {
        assert!(check_date("2026-02-28").is_ok());
        assert!(check_date("2028-02-29").is_ok());
        for bad in ["2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "2026-01-00", ""] {
            assert!(check_date(bad).is_err(), "{bad}");
        }
        assert!(check_code("item", "PARA-500").is_ok());
        for bad in ["", "para", "A B", &"A".repeat(41)] {
            assert!(check_code("item", bad).is_err(), "{bad}");
        }
    }
}
