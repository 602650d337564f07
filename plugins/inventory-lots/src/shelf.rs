//! One item's lots at one location as a move changes them: which lots an
//! issue or a transfer takes and what each gives, a lot's correction after
//! a count, and what arrives at the other end of a transfer. Pure, with no
//! SDK imports: `books` loads the lots, asks the shelf, and saves the lots
//! that changed.

use keel_stock_kit::moves::LotMoved;
use keel_stock_kit::rules::RuleError;
use keel_stock_kit::rules::accounts::ValueChange;
use keel_values::Date;
use keel_values::code::check_code;
use rust_decimal::Decimal;

use crate::fefo::{self, LotLevel};
use crate::lot::Lot;

/// The lots of one item at one location.
pub(crate) struct Shelf {
    item: String,
    location: String,
    lots: Vec<Lot>,
    /// Which of `lots` a move changed.
    changed: Vec<bool>,
}

/// What a move took off a shelf: each lot's part, and their value.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Taken {
    pub(crate) lots: Vec<LotMoved>,
    pub(crate) value: Decimal,
}

impl Shelf {
    /// The shelf of `item` at `location`, holding `lots`.
    pub(crate) fn new(item: &str, location: &str, lots: Vec<Lot>) -> Self {
        let changed = vec![false; lots.len()];
        Self { item: item.to_owned(), location: location.to_owned(), lots, changed }
    }

    /// Receives `quantity` into lot `code` (expiring on `expires`) at
    /// `unit_cost` each; returns what the lot took in.
    pub(crate) fn receive(
        &mut self,
        code: &str,
        expires: Option<&str>,
        quantity: Decimal,
        unit_cost: Decimal,
    ) -> Result<LotMoved, RuleError> {
        let i = self.lot(code, expires);
        let mut valued = self.lots[i].valued();
        let value = valued.receive(quantity, unit_cost)?;
        self.lots[i].set(valued);
        self.changed[i] = true;
        Ok(self.lots[i].moved(quantity, value))
    }

    /// Puts here what a transfer took off another shelf, at its value.
    pub(crate) fn arrive(&mut self, taken: &Taken) -> Result<(), RuleError> {
        for part in &taken.lots {
            let i = self.lot(&part.lot, part.expires.as_deref());
            self.lots[i].add(part)?;
            self.changed[i] = true;
        }
        Ok(())
    }

    /// Takes `quantity` first expiry first, never from a lot expired on
    /// `on`; refuses, saying how much is usable, if that is not enough.
    pub(crate) fn take_first_expiring(
        &mut self,
        quantity: Decimal,
        on: &str,
    ) -> Result<Taken, RuleError> {
        let levels: Vec<LotLevel> = self
            .lots
            .iter()
            .map(|l| LotLevel {
                lot: l.lot.clone(),
                expires: l.expires.clone(),
                quantity: l.quantity,
            })
            .collect();
        let picks = fefo::pick(&levels, quantity, on)?;
        self.take(&picks)
    }

    /// Takes `quantity` from lot `code`, expired or not (such as to move
    /// it to quarantine).
    pub(crate) fn take_lot(&mut self, code: &str, quantity: Decimal) -> Result<Taken, RuleError> {
        let i = self.holding(code, quantity)?;
        self.take(&[(i, quantity)])
    }

    /// Corrects lot `code` by `delta` units found (valued at the lot's
    /// cost) or lost; returns what moved and which way the value went.
    pub(crate) fn adjust(
        &mut self,
        code: &str,
        delta: Decimal,
    ) -> Result<(LotMoved, ValueChange), RuleError> {
        let i = self.holding(code, -delta.min(Decimal::ZERO))?;
        let mut valued = self.lots[i].valued();
        let (value, change) = valued.adjust(delta)?;
        self.lots[i].set(valued);
        self.changed[i] = true;
        Ok((self.lots[i].moved(delta.abs(), value), change))
    }

    /// The lots a move changed, to be saved; an empty one is to be
    /// forgotten.
    pub(crate) fn changed(&self) -> impl Iterator<Item = &Lot> {
        self.lots.iter().zip(&self.changed).filter(|(_, changed)| **changed).map(|(lot, _)| lot)
    }

    /// Takes `picks` (quantity by lot index) off the shelf.
    fn take(&mut self, picks: &[(usize, Decimal)]) -> Result<Taken, RuleError> {
        let mut taken = Taken::default();
        for &(i, quantity) in picks {
            let mut valued = self.lots[i].valued();
            let value = valued.issue(quantity)?;
            self.lots[i].set(valued);
            self.changed[i] = true;
            taken.lots.push(self.lots[i].moved(quantity, value));
            taken.value += value;
        }
        Ok(taken)
    }

    /// The index of lot `code` expiring on `expires`, added empty if it
    /// holds nothing here yet.
    fn lot(&mut self, code: &str, expires: Option<&str>) -> usize {
        let known = self.lots.iter().position(|l| l.lot == code && l.expires.as_deref() == expires);
        known.unwrap_or_else(|| {
            self.lots.push(Lot::empty(&self.item, &self.location, code, expires));
            self.changed.push(false);
            self.lots.len() - 1
        })
    }

    /// The index of lot `code`, which must hold at least `quantity` here.
    fn holding(&self, code: &str, quantity: Decimal) -> Result<usize, RuleError> {
        let (item, at) = (&self.item, &self.location);
        let i =
            self.lots.iter().position(|l| l.lot == code).ok_or_else(|| {
                RuleError::new(format!("lot {code} of {item} has no stock at {at}"))
            })?;
        let held = self.lots[i].quantity;
        if quantity > held {
            return Err(RuleError::new(format!(
                "lot {code} holds only {held} at {at}, {quantity} requested"
            )));
        }
        Ok(i)
    }
}

/// Checks a receipt into lot `code` expiring on `expires`, received `on`:
/// a valid lot code and date, and a lot that has not expired yet.
pub(crate) fn check_receipt(code: &str, expires: Option<&str>, on: &str) -> Result<(), RuleError> {
    check_code("lot", code)?;
    let Some(expires) = expires else { return Ok(()) };
    Date::parse(expires)?;
    if fefo::expired(Some(expires), on) {
        return Err(RuleError::new(format!(
            "lot {code} expired on {expires}; it cannot be received on {on}"
        )));
    }
    Ok(())
}

/// What the lots of one item hold at `location`, valued at their cost.
pub(crate) fn value_at(lots: &[Lot], location: &str) -> Decimal {
    lots.iter().filter(|lot| lot.location == location).map(|lot| lot.value).sum()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    /// A lot of PARA at MAIN-A holding `quantity` worth 2.00 each.
    fn lot(code: &str, expires: Option<&str>, quantity: &str) -> Lot {
        let mut lot = Lot::empty("PARA", "MAIN-A", code, expires);
        let mut valued = lot.valued();
        valued.receive(d(quantity), d("2.00")).unwrap();
        lot.set(valued);
        lot
    }

    fn shelf() -> Shelf {
        Shelf::new(
            "PARA",
            "MAIN-A",
            vec![
                lot("OLD", Some("2026-01-31"), "5"),
                lot("SOON", Some("2026-04-01"), "10"),
                lot("LATER", Some("2027-01-01"), "10"),
            ],
        )
    }

    #[test]
    fn an_issue_takes_the_first_unexpired_lots_and_their_value() {
        let mut shelf = shelf();
        let taken = shelf.take_first_expiring(d("12"), "2026-03-02").unwrap();
        let parts: Vec<_> = taken.lots.iter().map(|l| (l.lot.as_str(), l.quantity)).collect();
        assert_eq!(parts, [("SOON", d("10")), ("LATER", d("2"))]);
        assert_eq!(taken.value, d("24.00"));
        let changed: Vec<_> = shelf.changed().map(|l| (l.lot.as_str(), l.quantity)).collect();
        assert_eq!(changed, [("SOON", d("0")), ("LATER", d("8"))], "the expired lot is untouched");
    }

    #[test]
    fn an_issue_beyond_the_usable_stock_changes_nothing() {
        let mut shelf = shelf();
        let err = shelf.take_first_expiring(d("21"), "2026-03-02").unwrap_err();
        assert_eq!(err.0, "only 20 usable on 2026-03-02 (5 more in expired lots), 21 requested");
        assert_eq!(shelf.changed().count(), 0);
    }

    #[test]
    fn a_named_lot_moves_even_when_expired_but_never_more_than_it_holds() {
        let mut shelf = shelf();
        let taken = shelf.take_lot("OLD", d("5")).unwrap();
        assert_eq!(
            (taken.lots[0].expires.as_deref(), taken.value),
            (Some("2026-01-31"), d("10.00"))
        );
        let err = shelf.take_lot("SOON", d("11")).unwrap_err();
        assert_eq!(err.0, "lot SOON holds only 10 at MAIN-A, 11 requested");
        let err = shelf.take_lot("NONE", d("1")).unwrap_err();
        assert_eq!(err.0, "lot NONE of PARA has no stock at MAIN-A");
        let changed: Vec<_> = shelf.changed().map(|l| l.lot.as_str()).collect();
        assert_eq!(changed, ["OLD"]);
    }

    #[test]
    fn a_count_corrects_one_lot_at_its_cost() {
        let mut shelf = shelf();
        let (found, change) = shelf.adjust("SOON", d("3")).unwrap();
        assert_eq!((found.quantity, found.value, change), (d("3"), d("6.00"), ValueChange::Found));
        let (lost, change) = shelf.adjust("LATER", d("-4")).unwrap();
        assert_eq!((lost.quantity, lost.value, change), (d("4"), d("8.00"), ValueChange::Lost));
        let err = shelf.adjust("OLD", d("-6")).unwrap_err();
        assert_eq!(err.0, "lot OLD holds only 5 at MAIN-A, 6 requested");
        assert!(shelf.adjust("NONE", d("1")).is_err(), "a count finds stock only in a known lot");
        let held: Vec<_> = shelf.changed().map(|l| (l.lot.as_str(), l.quantity, l.value)).collect();
        assert_eq!(held, [("SOON", d("13"), d("26.00")), ("LATER", d("6"), d("12.00"))]);
    }

    #[test]
    fn a_receipt_adds_to_its_lot_or_starts_one() {
        let mut shelf = shelf();
        let part = shelf.receive("SOON", Some("2026-04-01"), d("2"), d("3.00")).unwrap();
        assert_eq!((part.quantity, part.value), (d("2"), d("6.00")));
        shelf.receive("NEW", None, d("1"), d("4.50")).unwrap();
        let held: Vec<_> = shelf.changed().map(|l| (l.lot.as_str(), l.quantity, l.value)).collect();
        assert_eq!(held, [("SOON", d("12"), d("26.00")), ("NEW", d("1"), d("4.50"))]);
        let new = shelf.changed().last().unwrap();
        assert_eq!((new.item.as_str(), new.location.as_str()), ("PARA", "MAIN-A"));
    }

    #[test]
    fn a_transfer_arrives_lot_by_lot_at_its_value() {
        let mut from = shelf();
        let taken = from.take_first_expiring(d("12"), "2026-03-02").unwrap();
        let mut to = Shelf::new("PARA", "MAIN-B", vec![]);
        to.arrive(&taken).unwrap();
        to.arrive(&taken).unwrap();
        let held: Vec<_> = to.changed().map(|l| (l.lot.as_str(), l.quantity, l.value)).collect();
        assert_eq!(held, [("SOON", d("20"), d("40.00")), ("LATER", d("4"), d("8.00"))]);
        assert!(to.changed().all(|l| l.location == "MAIN-B"));
        let expiries: Vec<_> = to.changed().map(|l| l.expires.as_deref()).collect();
        assert_eq!(expiries, [Some("2026-04-01"), Some("2027-01-01")], "lots keep their expiry");
    }

    #[test]
    fn a_receipt_needs_a_valid_lot_that_has_not_expired() {
        assert!(check_receipt("L1", Some("2026-03-02"), "2026-03-02").is_ok(), "its last day");
        assert!(check_receipt("L1", None, "2026-03-02").is_ok());
        let err = check_receipt("L1", Some("2026-03-01"), "2026-03-02").unwrap_err();
        assert_eq!(err.0, "lot L1 expired on 2026-03-01; it cannot be received on 2026-03-02");
        assert!(check_receipt("L1", Some("2026-02-30"), "2026-03-02").is_err());
        assert!(check_receipt("l 1", None, "2026-03-02").unwrap_err().0.contains("lot code"));
    }

    #[test]
    fn the_value_at_a_location_sums_its_lots_only() {
        let mut elsewhere = lot("SOON", Some("2026-04-01"), "1");
        elsewhere.location = "MAIN-B".into();
        let lots = [lot("SOON", Some("2026-04-01"), "10"), lot("LATER", None, "2"), elsewhere];
        assert_eq!(value_at(&lots, "MAIN-A"), d("24.00"));
        assert_eq!(value_at(&lots, "MAIN-B"), d("2.00"));
        assert_eq!(value_at(&lots, "MAIN-C"), Decimal::ZERO);
    }
}
