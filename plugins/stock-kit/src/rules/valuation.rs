//! Moving-average valuation: an item's stock is worth what was paid for
//! it, averaged over every unit on hand. A receipt adds its cost; an issue
//! takes out its quantity at the average cost; a transfer between
//! locations changes neither.

use keel_values::decimal::{self, Sign, cents as money};
use rust_decimal::Decimal;

use super::RuleError;
use super::accounts::ValueChange;

/// An item's quantity on hand, over all locations, and its value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Valued {
    /// Units on hand.
    pub quantity: Decimal,
    /// What they are worth.
    pub value: Decimal,
}

impl Valued {
    /// The average cost of one unit; zero with nothing on hand.
    pub fn average_cost(self) -> Decimal {
        if self.quantity.is_zero() {
            return Decimal::ZERO;
        }
        (self.value / self.quantity).round_dp(4)
    }

    /// Adds `quantity` units costing `unit_cost` each; returns what they
    /// are worth (rounded to cents).
    pub fn receive(&mut self, quantity: Decimal, unit_cost: Decimal) -> Result<Decimal, RuleError> {
        let value = money(quantity.checked_mul(unit_cost).ok_or_else(too_large)?);
        // One receipt is worth an amount, whatever ledger takes it, so that
        // the sums of stock values stay far inside the decimal range.
        decimal::check_amount(value, "the value received", Sign::NonNegative)?;
        self.quantity = self.quantity.checked_add(quantity).ok_or_else(too_large)?;
        self.value = self.value.checked_add(value).ok_or_else(too_large)?;
        Ok(value)
    }

    /// Takes out `quantity` units at the average cost; returns what they
    /// were worth. Taking out everything takes out all the value, so no
    /// rounding remainder is left behind.
    pub fn issue(&mut self, quantity: Decimal) -> Result<Decimal, RuleError> {
        if quantity > self.quantity {
            return Err(RuleError::new(format!(
                "only {} on hand, {quantity} requested",
                self.quantity
            )));
        }
        let value = self.value_of(quantity)?;
        self.quantity -= quantity;
        self.value -= value;
        Ok(value)
    }

    /// Corrects the stock by `delta` units found (positive, valued at the
    /// average cost) or lost (negative, taken out at it); returns what
    /// they are worth and which way the value went.
    pub fn adjust(&mut self, delta: Decimal) -> Result<(Decimal, ValueChange), RuleError> {
        if delta > Decimal::ZERO {
            let cost = self.average_cost();
            Ok((self.receive(delta, cost)?, ValueChange::Found))
        } else {
            Ok((self.issue(-delta)?, ValueChange::Lost))
        }
    }

    /// Adds `quantity` units worth `value` (either negative to take out),
    /// as they were valued elsewhere; changes nothing if a sum overflows.
    pub fn add(&mut self, quantity: Decimal, value: Decimal) -> Result<(), RuleError> {
        let quantity = self.quantity.checked_add(quantity).ok_or_else(too_large)?;
        let value = self.value.checked_add(value).ok_or_else(too_large)?;
        (self.quantity, self.value) = (quantity, value);
        Ok(())
    }

    /// What `quantity` units (at one location, or taken out) are worth at
    /// the average cost; all of them are worth all the value.
    pub fn value_of(self, quantity: Decimal) -> Result<Decimal, RuleError> {
        if quantity == self.quantity {
            return Ok(self.value);
        }
        if self.quantity.is_zero() {
            return Ok(Decimal::ZERO);
        }
        let share = self.value.checked_mul(quantity).ok_or_else(too_large)?;
        Ok(money(share / self.quantity))
    }
}

fn too_large() -> RuleError {
    RuleError::new("the quantity or value is too large")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn the_average_moves_with_each_receipt() {
        let mut stock = Valued::default();
        assert_eq!(stock.receive(d("10"), d("2")).unwrap().to_string(), "20.00");
        assert_eq!(stock.receive(d("30"), d("3.00")).unwrap(), d("90.00"));
        assert_eq!((stock.quantity, stock.value), (d("40"), d("110.00")));
        assert_eq!(stock.average_cost(), d("2.75"));
        assert_eq!(stock.issue(d("8")).unwrap(), d("22.00"));
        assert_eq!((stock.quantity, stock.value), (d("32"), d("88.00")));
    }

    #[test]
    fn issuing_everything_leaves_no_remainder() {
        let mut stock = Valued::default();
        stock.receive(d("3"), d("1.00")).unwrap();
        stock.receive(d("3"), d("1.01")).unwrap();
        let first = stock.issue(d("1")).unwrap();
        let second = stock.issue(d("2")).unwrap();
        let rest = stock.issue(d("3")).unwrap();
        assert_eq!(first + second + rest, d("6.03"), "every cent paid comes back out");
        assert_eq!(stock, Valued::default());
    }

    #[test]
    fn an_issue_beyond_what_is_on_hand_changes_nothing() {
        let mut stock = Valued::default();
        stock.receive(d("2"), d("5")).unwrap();
        let before = stock;
        assert!(stock.issue(d("2.5")).unwrap_err().to_string().contains("only 2 on hand"));
        assert_eq!(stock, before);
        assert_eq!(stock.value_of(d("1")).unwrap(), d("5.00"));
    }

    #[test]
    fn values_too_large_to_compute_are_refused_not_a_panic() {
        let most = d("999999999999.9999");
        let mut stock = Valued::default();
        assert!(stock.receive(most, most).unwrap_err().to_string().contains("too large"));
        // Stock worth far more than receipts can bring (as a damaged or
        // foreign record could hold) is refused too.
        let mut stock = Valued { quantity: most + d("1"), value: d("999999999999999800000001.00") };
        assert!(stock.issue(d("80000")).unwrap_err().to_string().contains("too large"));
        assert!(stock.value_of(d("80000")).is_err());
    }

    #[test]
    fn an_adjustment_finds_stock_at_the_average_cost_or_loses_it() {
        let mut valued = Valued::default();
        valued.receive(d("10"), d("2.00")).unwrap();
        valued.receive(d("10"), d("4.00")).unwrap();
        let (found, kind) = valued.adjust(d("2")).unwrap();
        assert_eq!((found, kind), (d("6.00"), ValueChange::Found), "at the average of 3.00");
        let (lost, kind) = valued.adjust(d("-22")).unwrap();
        assert_eq!((lost, kind), (d("66.00"), ValueChange::Lost), "all of it, all the value");
        assert!(valued.quantity.is_zero() && valued.value.is_zero());
        assert!(valued.adjust(d("-1")).is_err(), "nothing left to lose");
    }

    #[test]
    fn one_receipt_is_worth_an_amount_at_most() {
        let mut valued = Valued::default();
        let huge = valued.receive(d("999999999999"), d("999999999999999")).unwrap_err();
        assert!(huge.0.contains("too large"), "{huge}");
        assert_eq!(valued, Valued::default(), "a refused receipt changes nothing");
    }
}
