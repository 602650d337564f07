//! A lot's stock at one location, and the expiry date each lot keeps:
//! pure, with no SDK imports, so it is unit-tested natively.

use keel_stock_kit::moves::LotMoved;
use keel_stock_kit::rules::RuleError;
use keel_stock_kit::rules::valuation::Valued;
use keel_values::Date;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fefo;

/// One lot's stock at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Lot {
    /// The item's code.
    pub(crate) item: String,
    /// The location's code.
    pub(crate) location: String,
    /// The lot's code.
    pub(crate) lot: String,
    /// Its last day of use; absent for goods that do not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Date>")]
    pub(crate) expires: Option<String>,
    pub(crate) quantity: Decimal,
    /// What it cost.
    pub(crate) value: Decimal,
}

/// The expiry date a lot was registered with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LotCode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) expires: Option<String>,
}

impl Lot {
    /// `lot` of `item` at `location`, holding nothing yet.
    pub(crate) fn empty(item: &str, location: &str, lot: &str, expires: Option<&str>) -> Self {
        Self {
            item: item.to_owned(),
            location: location.to_owned(),
            lot: lot.to_owned(),
            expires: expires.map(str::to_owned),
            quantity: Decimal::ZERO,
            value: Decimal::ZERO,
        }
    }

    /// Its key, `item/location/expiry/lot`, so that a scan meets the first
    /// to expire first.
    pub(crate) fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.item,
            self.location,
            fefo::sort_key(self.expires.as_deref(), &self.lot)
        )
    }

    /// The start of the keys of `item`'s lots at `location`, or everywhere.
    pub(crate) fn prefix(item: &str, location: Option<&str>) -> String {
        match location {
            Some(location) => format!("{item}/{location}/"),
            None => format!("{item}/"),
        }
    }

    /// Its quantity and value.
    pub(crate) fn valued(&self) -> Valued {
        Valued { quantity: self.quantity, value: self.value }
    }

    /// Sets its quantity and value.
    pub(crate) fn set(&mut self, valued: Valued) {
        (self.quantity, self.value) = (valued.quantity, valued.value);
    }

    /// Adds what a transfer brought from another location.
    pub(crate) fn add(&mut self, arrived: &LotMoved) -> Result<(), RuleError> {
        let mut valued = self.valued();
        valued.add(arrived.quantity, arrived.value)?;
        self.set(valued);
        Ok(())
    }

    /// What a move of `quantity` worth `value` took from or brought to it.
    pub(crate) fn moved(&self, quantity: Decimal, value: Decimal) -> LotMoved {
        LotMoved { lot: self.lot.clone(), expires: self.expires.clone(), quantity, value }
    }
}

impl LotCode {
    /// The key of lot `lot` of `item`'s record, `item/lot`.
    pub(crate) fn key(item: &str, lot: &str) -> String {
        format!("{item}/{lot}")
    }

    /// Checks that `lot` of `item`, known with this expiry, comes again
    /// with the same one.
    pub(crate) fn check_same(
        &self,
        item: &str,
        lot: &str,
        expires: Option<&str>,
    ) -> Result<(), RuleError> {
        if self.expires.as_deref() == expires {
            return Ok(());
        }
        Err(RuleError::new(format!(
            "lot {lot} of {item} expires on {}, not {}",
            self.expires.as_deref().unwrap_or("no date"),
            expires.unwrap_or("no date")
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn lots_sort_first_to_expire_first_within_their_item_and_location() {
        let soon = Lot::empty("PARA", "MAIN-A", "L2", Some("2026-04-01"));
        let later = Lot::empty("PARA", "MAIN-A", "L1", Some("2027-01-01"));
        let never = Lot::empty("PARA", "MAIN-A", "L0", None);
        assert!(soon.key() < later.key() && later.key() < never.key());
        assert!(soon.key().starts_with(&Lot::prefix("PARA", Some("MAIN-A"))));
        assert!(soon.key().starts_with(&Lot::prefix("PARA", None)));
        let elsewhere = Lot::empty("PARA", "MAIN-AB", "L2", Some("2026-04-01"));
        assert!(!elsewhere.key().starts_with(&Lot::prefix("PARA", Some("MAIN-A"))));
        assert!(
            !Lot::empty("PARAX", "MAIN-A", "L2", None)
                .key()
                .starts_with(&Lot::prefix("PARA", None))
        );
    }

    #[test]
    fn a_lot_keeps_its_value_and_says_what_moved() {
        let mut lot = Lot::empty("PARA", "MAIN-A", "L1", Some("2026-04-01"));
        let mut valued = lot.valued();
        valued.receive(d("10"), d("2.00")).unwrap();
        lot.set(valued);
        assert_eq!((lot.quantity, lot.value), (d("10"), d("20.00")));
        let moved = lot.moved(d("4"), d("8.00"));
        assert_eq!((moved.lot.as_str(), moved.expires.as_deref()), ("L1", Some("2026-04-01")));
        let mut there = Lot::empty("PARA", "MAIN-B", "L1", Some("2026-04-01"));
        there.add(&moved).unwrap();
        there.add(&moved).unwrap();
        assert_eq!((there.quantity, there.value), (d("8"), d("16.00")));
        let huge = LotMoved { value: Decimal::MAX, ..moved };
        assert!(there.add(&huge).unwrap_err().0.contains("too large"));
        assert_eq!(there.value, d("16.00"), "a refused arrival changes nothing");
    }

    #[test]
    fn a_lot_comes_back_with_the_expiry_it_was_registered_with() {
        let known = LotCode { expires: Some("2026-04-01".to_owned()) };
        assert!(known.check_same("PARA", "L1", Some("2026-04-01")).is_ok());
        let err = known.check_same("PARA", "L1", None).unwrap_err();
        assert_eq!(err.0, "lot L1 of PARA expires on 2026-04-01, not no date");
        let undated = LotCode { expires: None };
        assert!(undated.check_same("PARA", "L1", Some("2026-04-01")).is_err());
    }
}
