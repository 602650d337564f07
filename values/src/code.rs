//! Codes people type and read back: of records (items, suppliers,
//! locations), of ledger accounts, and of currencies.

use crate::RuleError;

/// Longest record code, in bytes.
pub const CODE_BYTES_MAX: usize = 40;
/// Longest account code, in bytes.
pub const ACCOUNT_BYTES_MAX: usize = 20;

/// Checks the code of a record (items, warehouses, locations, lots,
/// suppliers): 1 to 40 characters of `A-Z`, `0-9`, `-`, `_` and `.`.
/// `what` names the record in the error.
pub fn check_code(what: &str, code: &str) -> Result<(), RuleError> {
    let allowed = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.".contains(&b);
    if code.is_empty() || code.len() > CODE_BYTES_MAX || !code.bytes().all(allowed) {
        return Err(RuleError::new(format!(
            "{what} code {code:?} must be 1 to {CODE_BYTES_MAX} characters of A-Z, 0-9, '-', '_' and '.'"
        )));
    }
    Ok(())
}

/// Checks a ledger account's code: 1 to 20 letters, digits, `.` or `-`
/// (charts number accounts, `1100`, or name them, `AR.EU`).
pub fn check_account(code: &str) -> Result<(), RuleError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
    if code.is_empty() || code.len() > ACCOUNT_BYTES_MAX || !code.bytes().all(allowed) {
        return Err(RuleError::new(format!(
            "account code {code:?} must be 1 to {ACCOUNT_BYTES_MAX} letters, digits, '.' or '-'"
        )));
    }
    Ok(())
}

/// Checks an ISO 4217 style currency code: three upper-case letters.
pub fn check_currency(currency: &str) -> Result<(), RuleError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(RuleError::new(format!(
            "currency {currency:?} must be an ISO 4217 code such as \"EUR\""
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_codes() {
        for ok in ["PARA-500", "MAIN.A_1", "X", &"A".repeat(40)] {
            assert!(check_code("item", ok).is_ok(), "{ok}");
        }
        for bad in ["", "para", "A B", "A/B", "É", &"A".repeat(41)] {
            let err = check_code("item", bad).unwrap_err();
            assert!(err.0.starts_with("item code"), "{err}");
        }
    }

    #[test]
    fn account_codes() {
        for ok in ["1100", "AR.EU", "ar-eu", &"9".repeat(20)] {
            assert!(check_account(ok).is_ok(), "{ok}");
        }
        for bad in ["", "11 00", "1100_A", "1100/2", &"9".repeat(21)] {
            assert!(check_account(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn currencies() {
        assert!(check_currency("EUR").is_ok());
        for bad in ["eur", "EURO", "EU", "", "E1R"] {
            assert!(check_currency(bad).is_err(), "{bad}");
        }
    }
}
