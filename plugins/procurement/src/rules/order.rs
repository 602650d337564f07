//! An order's lines and lifecycle: raised (awaiting an approver above the
//! threshold), approved, received in full, then closed once invoiced in
//! full. Requisitions are drafts until an order takes them.

use std::fmt;

use keel_values::decimal::{self, Sign, cents};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RuleError;
use super::matching::{Matched, OrderLine};

/// Where an order stands. Stored, indexed and listed by these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Above the approval threshold: waits for an approver other than its
    /// creator, and no goods may be received.
    AwaitingApproval,
    /// Goods may be received and invoiced.
    Approved,
    /// Everything ordered has been received.
    Received,
    /// Everything ordered has been received and invoiced.
    Closed,
}

impl Status {
    /// The status of an order raised for `total`: an order above
    /// `threshold` needs an approver.
    pub fn raised(total: Decimal, threshold: Decimal) -> Self {
        if total > threshold { Self::AwaitingApproval } else { Self::Approved }
    }

    /// Approves order `number`; only one awaiting approval may be.
    pub fn approve(self, number: &str) -> Result<Self, RuleError> {
        match self {
            Self::AwaitingApproval => Ok(Self::Approved),
            other => {
                Err(RuleError::new(format!("order {number} is {other}, not awaiting approval")))
            }
        }
    }

    /// Refuses goods for order `number` until it is approved.
    pub fn check_receivable(self, number: &str) -> Result<(), RuleError> {
        if self == Self::AwaitingApproval {
            return Err(RuleError::new(format!(
                "order {number} is awaiting approval; goods cannot be received yet"
            )));
        }
        Ok(())
    }

    /// The status after receipts or invoices changed `lines`: received
    /// once every line is received in full, closed once every line is
    /// invoiced in full too; otherwise unchanged.
    pub fn after(self, lines: &[OrderLine]) -> Self {
        let received = lines.iter().all(OrderLine::received_in_full);
        if received && lines.iter().all(OrderLine::invoiced_in_full) {
            Self::Closed
        } else if received && self == Self::Approved {
            Self::Received
        } else {
            self
        }
    }

    /// The name clients see.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingApproval => "awaiting-approval",
            Self::Approved => "approved",
            Self::Received => "received",
            Self::Closed => "closed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a requisition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RequisitionStatus {
    /// Raised, and on no order yet.
    Draft,
    /// Taken by an order.
    Ordered,
}

impl RequisitionStatus {
    /// Takes requisition `number` for an order; only a draft may be.
    pub fn order(self, number: &str) -> Result<Self, RuleError> {
        match self {
            Self::Draft => Ok(Self::Ordered),
            Self::Ordered => {
                Err(RuleError::new(format!("requisition {number} is already ordered")))
            }
        }
    }
}

/// A line of an order or of a supplier's invoice: so many units of an item
/// at a price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PricedLine {
    /// The item's code.
    pub item: String,
    /// Units, more than zero.
    pub quantity: Decimal,
    /// The price of one unit, zero or more.
    pub unit_price: Decimal,
}

impl PricedLine {
    /// A line from the decimal strings a client sent.
    pub fn parse(item: String, quantity: &str, unit_price: &str) -> Result<Self, RuleError> {
        Ok(Self {
            item,
            quantity: decimal::quantity(quantity, "quantity", Sign::Positive)?,
            unit_price: decimal::amount(unit_price, "unit price", Sign::NonNegative)?,
        })
    }
}

/// The lines of a new order, nothing received or invoiced yet, and its
/// total; each item once.
pub fn order_lines(lines: Vec<PricedLine>) -> Result<(Vec<OrderLine>, Decimal), RuleError> {
    if lines.is_empty() {
        return Err(RuleError::new("an order needs at least one line"));
    }
    let mut ordered: Vec<OrderLine> = Vec::with_capacity(lines.len());
    let mut total = Decimal::ZERO;
    for line in lines {
        if ordered.iter().any(|l| l.item == line.item) {
            return Err(RuleError::new(format!("item {} is on the order twice", line.item)));
        }
        let amount = line.quantity.checked_mul(line.unit_price);
        total = amount
            .and_then(|amount| total.checked_add(amount))
            .ok_or_else(|| RuleError::new("the order's total is too large"))?;
        ordered.push(OrderLine::new(line.item, line.quantity, line.unit_price));
    }
    Ok((ordered, cents(total)))
}

/// The line of order `number` for `item`.
pub fn line_mut<'a>(
    lines: &'a mut [OrderLine],
    item: &str,
    number: &str,
) -> Result<&'a mut OrderLine, RuleError> {
    lines
        .iter_mut()
        .find(|l| l.item == item)
        .ok_or_else(|| RuleError::new(format!("item {item} is not on order {number}")))
}

/// What an invoice of order `number` bills, in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Billed {
    /// Goods received not invoiced that the invoice clears, at the order's
    /// prices.
    pub cleared: Decimal,
    /// Charged above the order's prices (negative if below).
    pub variance: Decimal,
}

impl Billed {
    /// What the supplier is owed: the goods and the variance (which
    /// [`match_invoice`] checked can be added).
    pub fn amount(self) -> Decimal {
        self.cleared + self.variance
    }
}

/// Matches each invoiced line to its order line (see
/// [`OrderLine::invoice`]), all or nothing: on an error `lines` are as
/// they were.
pub fn match_invoice(
    lines: &mut [OrderLine],
    invoiced: &[PricedLine],
    tolerance_percent: Decimal,
    number: &str,
) -> Result<Billed, RuleError> {
    if invoiced.is_empty() {
        return Err(RuleError::new("an invoice needs at least one line"));
    }
    let mut matched = lines.to_vec();
    let mut billed = Billed::default();
    for line in invoiced {
        let Matched { at_order_price, variance } = line_mut(&mut matched, &line.item, number)?
            .invoice(line.quantity, line.unit_price, tolerance_percent)?;
        let too_large = || RuleError::new("the invoice's total is too large");
        billed.cleared = billed.cleared.checked_add(at_order_price).ok_or_else(too_large)?;
        billed.variance = billed.variance.checked_add(variance).ok_or_else(too_large)?;
    }
    if billed.cleared.checked_add(billed.variance).is_none() {
        return Err(RuleError::new("the invoice's total is too large"));
    }
    lines.clone_from_slice(&matched);
    Ok(billed)
}

/// What a stock provider's `reorder-point-crossed` event says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReorderCrossed {
    /// The item's code.
    pub item: String,
    /// What is left on hand.
    pub on_hand: Decimal,
    /// The point it went below.
    pub reorder_point: Decimal,
    /// How much to order each time, if the item says.
    #[serde(default)]
    pub reorder_quantity: Option<Decimal>,
}

impl ReorderCrossed {
    /// How much to requisition: the item's reorder quantity, or what brings
    /// it back up to its reorder point; none if that is nothing. A
    /// quantity out of bounds is refused, whoever published it.
    pub fn quantity(&self) -> Result<Option<Decimal>, RuleError> {
        let wanted = match self.reorder_quantity {
            Some(quantity) => quantity,
            None => self
                .reorder_point
                .checked_sub(self.on_hand)
                .ok_or_else(|| RuleError::new("the reorder event's quantities are too large"))?,
        };
        if wanted <= Decimal::ZERO {
            return Ok(None);
        }
        decimal::quantity(&wanted.to_string(), "reorder quantity", Sign::Positive).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn priced(item: &str, quantity: &str, price: &str) -> PricedLine {
        PricedLine::parse(item.to_owned(), quantity, price).unwrap()
    }

    #[test]
    fn an_order_above_the_threshold_waits_for_an_approver() {
        let threshold = d("1000");
        assert_eq!(Status::raised(d("1000.00"), threshold), Status::Approved);
        assert_eq!(Status::raised(d("1000.01"), threshold), Status::AwaitingApproval);
        let waiting = Status::AwaitingApproval;
        let err = waiting.check_receivable("PO-000001").unwrap_err();
        assert!(err.0.contains("awaiting approval"), "{err}");
        assert_eq!(waiting.approve("PO-000001").unwrap(), Status::Approved);
        for done in [Status::Approved, Status::Received, Status::Closed] {
            let err = done.approve("PO-000001").unwrap_err();
            assert_eq!(err.0, format!("order PO-000001 is {done}, not awaiting approval"));
            assert!(done.check_receivable("PO-000001").is_ok());
        }
    }

    #[test]
    fn an_order_is_received_then_closed_as_its_lines_are() {
        let (mut lines, total) =
            order_lines(vec![priced("PARA", "100", "2.00"), priced("GAUZE", "10", "0.995")])
                .unwrap();
        assert_eq!(total, d("209.95"));
        assert_eq!(Status::Approved.after(&lines), Status::Approved);
        lines[0].receive(d("100")).unwrap();
        assert_eq!(Status::Approved.after(&lines), Status::Approved, "one line of two");
        lines[1].receive(d("10")).unwrap();
        assert_eq!(Status::Approved.after(&lines), Status::Received);
        lines[0].received_value = d("200.00");
        lines[1].received_value = d("9.95");
        let invoiced = [priced("PARA", "100", "2.00")];
        match_invoice(&mut lines, &invoiced, d("2"), "PO-1").unwrap();
        assert_eq!(Status::Received.after(&lines), Status::Received, "GAUZE not invoiced");
        match_invoice(&mut lines, &[priced("GAUZE", "10", "0.995")], d("2"), "PO-1").unwrap();
        assert_eq!(Status::Received.after(&lines), Status::Closed);
    }

    #[test]
    fn stored_statuses_keep_their_names() {
        let names: Vec<String> =
            [Status::AwaitingApproval, Status::Approved, Status::Received, Status::Closed]
                .iter()
                .map(|s| serde_json::to_string(s).unwrap())
                .collect();
        assert_eq!(names, ["\"awaiting-approval\"", "\"approved\"", "\"received\"", "\"closed\""]);
        assert_eq!(serde_json::to_string(&RequisitionStatus::Draft).unwrap(), "\"draft\"");
        let err = RequisitionStatus::Ordered.order("RQ-000001").unwrap_err();
        assert_eq!(err.0, "requisition RQ-000001 is already ordered");
        assert_eq!(RequisitionStatus::Draft.order("RQ-1").unwrap(), RequisitionStatus::Ordered);
    }

    #[test]
    fn order_lines_are_checked() {
        assert!(order_lines(vec![]).unwrap_err().0.contains("at least one line"));
        let twice = order_lines(vec![priced("A", "1", "1"), priced("A", "2", "1")]).unwrap_err();
        assert_eq!(twice.0, "item A is on the order twice");
        let err = PricedLine::parse("A".to_owned(), "0", "1").unwrap_err();
        assert!(err.0.contains("quantity \"0\" must be greater than zero"), "{err}");
        let err = PricedLine::parse("A".to_owned(), "1", "-1").unwrap_err();
        assert!(err.0.contains("unit price \"-1\" must not be negative"), "{err}");
        let huge = "999999999999999.9999";
        let lines: Vec<PricedLine> =
            (0..200).map(|n| priced(&format!("I{n}"), "999999999999.9999", huge)).collect();
        assert!(order_lines(lines).unwrap_err().0.contains("too large"));
    }

    #[test]
    fn a_reorder_event_asks_for_its_quantity_or_up_to_the_point() {
        let crossed = |on_hand: &str, point: &str, quantity: Option<&str>| ReorderCrossed {
            item: "PARA".to_owned(),
            on_hand: d(on_hand),
            reorder_point: d(point),
            reorder_quantity: quantity.map(d),
        };
        assert_eq!(crossed("4", "10", Some("50")).quantity().unwrap(), Some(d("50")));
        assert_eq!(crossed("4", "10", None).quantity().unwrap(), Some(d("6")));
        assert_eq!(crossed("10", "10", None).quantity().unwrap(), None);
        assert_eq!(crossed("4", "10", Some("0")).quantity().unwrap(), None);
        let huge = crossed("-79228162514264337593543950335", "79228162514264337593543950335", None);
        assert!(huge.quantity().is_err(), "no overflow");
        assert!(crossed("0", "10", Some("1000000000000")).quantity().is_err(), "past the bound");
    }

    #[test]
    fn an_invoice_is_matched_all_or_nothing() {
        let (mut lines, _) =
            order_lines(vec![priced("PARA", "100", "2.00"), priced("GAUZE", "10", "1.00")])
                .unwrap();
        lines[0].receive(d("60")).unwrap();
        lines[0].received_value = d("120.00");
        lines[1].receive(d("10")).unwrap();
        lines[1].received_value = d("10.00");
        let before = lines.clone();
        let over = [priced("PARA", "50", "2.00"), priced("GAUZE", "11", "1.00")];
        let err = match_invoice(&mut lines, &over, d("2"), "PO-1").unwrap_err();
        assert!(err.0.contains("quantity mismatch on GAUZE"), "{err}");
        assert_eq!(lines, before, "the PARA line matched before it is undone");
        let unknown = [priced("TAPE", "1", "1.00")];
        let err = match_invoice(&mut lines, &unknown, d("2"), "PO-1").unwrap_err();
        assert_eq!(err.0, "item TAPE is not on order PO-1");
        assert!(
            match_invoice(&mut lines, &[], d("2"), "PO-1").unwrap_err().0.contains("at least one")
        );
        let billed = match_invoice(
            &mut lines,
            &[priced("PARA", "50", "2.04"), priced("GAUZE", "10", "0.99")],
            d("2"),
            "PO-1",
        )
        .unwrap();
        assert_eq!(billed, Billed { cleared: d("110.00"), variance: d("1.90") });
        assert_eq!(billed.amount(), d("111.90"));
    }
}
