//! First expiry, first out: which lots an issue takes, and which have
//! expired. Pure, with no SDK imports, so it is unit-tested natively.
//! Dates are `YYYY-MM-DD`, which order as text.

use keel_stock_kit::rules::RuleError;
use rust_decimal::Decimal;

/// A lot's stock at one location, as the picker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotLevel {
    pub lot: String,
    /// The last day it may be used; none if it does not expire.
    pub expires: Option<String>,
    pub quantity: Decimal,
}

/// Whether a lot expiring on `expires` has expired by `on`: it may be used
/// up to and including its expiry date.
pub fn expired(expires: Option<&str>, on: &str) -> bool {
    expires.is_some_and(|last| last < on)
}

/// The order lots are issued in: the first to expire first, lots that do
/// not expire last, ties by lot code.
pub fn sort_key(expires: Option<&str>, lot: &str) -> String {
    format!("{}/{lot}", expires.unwrap_or("~"))
}

/// Takes `wanted` from `lots`, first expiry first, skipping lots expired
/// on `on`; returns how much to take from each lot (by index), in order.
/// Refuses, saying how much is usable and how much has expired, if the
/// unexpired lots hold less than `wanted`.
pub fn pick(
    lots: &[LotLevel],
    wanted: Decimal,
    on: &str,
) -> Result<Vec<(usize, Decimal)>, RuleError> {
    let mut order: Vec<usize> = (0..lots.len()).collect();
    order.sort_by_key(|&i| sort_key(lots[i].expires.as_deref(), &lots[i].lot));
    let (mut left, mut taken, mut expired_quantity) = (wanted, Vec::new(), Decimal::ZERO);
    for i in order {
        let lot = &lots[i];
        if expired(lot.expires.as_deref(), on) {
            expired_quantity += lot.quantity;
            continue;
        }
        if left.is_zero() || lot.quantity <= Decimal::ZERO {
            continue;
        }
        let take = left.min(lot.quantity);
        taken.push((i, take));
        left -= take;
    }
    if !left.is_zero() {
        let usable = wanted - left;
        return Err(RuleError::new(format!(
            "only {usable} usable on {on} ({expired_quantity} more in expired lots), {wanted} requested"
        )));
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn lot(code: &str, expires: Option<&str>, quantity: &str) -> LotLevel {
        LotLevel { lot: code.into(), expires: expires.map(str::to_owned), quantity: d(quantity) }
    }

    #[test]
    fn the_first_to_expire_goes_first_and_never_an_expired_one() {
        let lots = [
            lot("L-LATE", Some("2027-06-30"), "10"),
            lot("L-FOREVER", None, "100"),
            lot("L-GONE", Some("2026-01-31"), "5"),
            lot("L-SOON", Some("2026-12-31"), "4"),
        ];
        let taken = pick(&lots, d("12"), "2026-03-01").unwrap();
        assert_eq!(taken, vec![(3, d("4")), (0, d("8"))]);
        let all = pick(&lots, d("114"), "2026-03-01").unwrap();
        assert_eq!(all.last(), Some(&(1, d("100"))), "lots that never expire go last");
        let err = pick(&lots, d("115"), "2026-03-01").unwrap_err();
        assert_eq!(err.0, "only 114 usable on 2026-03-01 (5 more in expired lots), 115 requested");
    }

    #[test]
    fn a_lot_may_be_used_on_its_expiry_date() {
        assert!(!expired(Some("2026-03-01"), "2026-03-01"));
        assert!(expired(Some("2026-03-01"), "2026-03-02"));
        assert!(!expired(None, "9999-12-31"));
        let lots = [lot("L1", Some("2026-03-01"), "2")];
        assert!(pick(&lots, d("2"), "2026-03-01").is_ok());
        assert!(pick(&lots, d("1"), "2026-03-02").is_err());
    }
}
