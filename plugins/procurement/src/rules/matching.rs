//! Three-way match: what an invoice line may bill, given what was ordered
//! and what was received.

use keel_values::decimal::cents as money;
use rust_decimal::Decimal;

use super::RuleError;

/// One item of an order, with what has been received and invoiced so far.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct OrderLine {
    /// The item's code.
    pub item: String,
    /// Units ordered.
    pub quantity: Decimal,
    /// The agreed price of one unit.
    pub unit_price: Decimal,
    /// Units received so far.
    #[serde(default)]
    pub received: Decimal,
    /// Units invoiced so far.
    #[serde(default)]
    pub invoiced: Decimal,
    /// What the stock provider valued the receipts at, summed: what they
    /// credited to goods received not invoiced.
    #[serde(default)]
    pub received_value: Decimal,
    /// How much of `received_value` invoices have cleared.
    #[serde(default)]
    pub cleared: Decimal,
}

/// What a matched invoice line posts: the received goods at the order's
/// price, and the difference the supplier charged on top (negative if
/// less).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched {
    /// Quantity × the order's price, which clears goods received not
    /// invoiced; the invoice that completes what was received clears the
    /// rest of the receipts' value, so no rounding remainder stays there.
    pub at_order_price: Decimal,
    /// Quantity × (invoiced − ordered price).
    pub variance: Decimal,
}

impl OrderLine {
    /// A line of a new order: nothing received or invoiced yet.
    pub fn new(item: String, quantity: Decimal, unit_price: Decimal) -> Self {
        Self {
            item,
            quantity,
            unit_price,
            received: Decimal::ZERO,
            invoiced: Decimal::ZERO,
            received_value: Decimal::ZERO,
            cleared: Decimal::ZERO,
        }
    }

    /// Receives `quantity` more units; refuses an over-receipt. What the
    /// stock provider valued them at is added to `received_value`.
    pub fn receive(&mut self, quantity: Decimal) -> Result<(), RuleError> {
        let after = self.received + quantity;
        if after > self.quantity {
            return Err(RuleError::new(format!(
                "over-receipt of {}: ordered {}, received {} so far, {quantity} more would make {after}",
                self.item, self.quantity, self.received
            )));
        }
        self.received = after;
        Ok(())
    }

    /// Matches an invoice line of `quantity` units at `unit_price`: the
    /// quantity invoiced in all may not exceed what was received, and the
    /// price may differ from the order's by at most `tolerance_percent`.
    pub fn invoice(
        &mut self,
        quantity: Decimal,
        unit_price: Decimal,
        tolerance_percent: Decimal,
    ) -> Result<Matched, RuleError> {
        let after = self.invoiced + quantity;
        if after > self.received {
            return Err(RuleError::new(format!(
                "quantity mismatch on {}: received {}, invoiced {} so far, {quantity} more would make {after}",
                self.item, self.received, self.invoiced
            )));
        }
        let allowed = self.unit_price * tolerance_percent / Decimal::from(100);
        if (unit_price - self.unit_price).abs() > allowed {
            return Err(RuleError::new(format!(
                "price mismatch on {}: ordered at {}, invoiced at {unit_price}, beyond the {tolerance_percent}% tolerance",
                self.item, self.unit_price
            )));
        }
        self.invoiced = after;
        let at_order_price = if after == self.received {
            self.received_value - self.cleared
        } else {
            money(quantity * self.unit_price)
        };
        self.cleared += at_order_price;
        Ok(Matched { at_order_price, variance: money(quantity * unit_price) - at_order_price })
    }

    /// Whether everything ordered has been received.
    pub fn received_in_full(&self) -> bool {
        self.received == self.quantity
    }

    /// Whether everything ordered has been invoiced.
    pub fn invoiced_in_full(&self) -> bool {
        self.invoiced == self.quantity
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn line() -> OrderLine {
        OrderLine::new("PARA".into(), d("100"), d("2.00"))
    }

    #[test]
    fn receipts_stop_at_what_was_ordered() {
        let mut line = line();
        line.receive(d("60")).unwrap();
        let err = line.receive(d("41")).unwrap_err();
        assert!(err.0.contains("over-receipt"), "{err}");
        assert_eq!(line.received, d("60"), "a refused receipt changes nothing");
        line.receive(d("40")).unwrap();
        assert!(line.received_in_full());
    }

    #[test]
    fn invoices_match_what_was_received_within_the_price_tolerance() {
        let mut line = line();
        line.receive(d("60")).unwrap();
        line.received_value = d("120.00");
        assert!(
            line.invoice(d("61"), d("2.00"), d("2")).unwrap_err().0.contains("quantity mismatch")
        );
        assert!(line.invoice(d("10"), d("2.05"), d("2")).unwrap_err().0.contains("price mismatch"));
        assert_eq!(line.invoiced, d("0"));
        let matched = line.invoice(d("50"), d("2.04"), d("2")).unwrap();
        assert_eq!((matched.at_order_price, matched.variance), (d("100.00"), d("2.00")));
        let cheaper = line.invoice(d("10"), d("1.97"), d("2")).unwrap();
        assert_eq!((cheaper.at_order_price, cheaper.variance), (d("20.00"), d("-0.30")));
        assert!(!line.invoiced_in_full());
    }

    #[test]
    fn what_the_receipts_credited_is_cleared_to_the_cent() {
        let mut line = OrderLine { quantity: d("3"), unit_price: d("0.125"), ..line() };
        for _ in 0..3 {
            line.receive(d("1")).unwrap();
            line.received_value += d("0.12");
        }
        let first = line.invoice(d("2"), d("0.125"), d("2")).unwrap();
        assert_eq!((first.at_order_price, first.variance), (d("0.25"), d("0.00")));
        let last = line.invoice(d("1"), d("0.125"), d("2")).unwrap();
        assert_eq!(last.at_order_price, d("0.11"), "0.36 received, 0.25 cleared so far");
        assert_eq!(first.at_order_price + last.at_order_price, line.received_value);
        assert_eq!(
            first.variance + last.variance + line.received_value,
            d("0.37"),
            "billed 0.25 + 0.12"
        );
    }
}
