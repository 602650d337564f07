//! The documents of purchasing, as stored and returned: suppliers,
//! requisitions, orders, receipts and invoices, and the checks a new
//! supplier meets.

use keel_values::Date;
use keel_values::code::check_code;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RuleError;
use super::matching::OrderLine;
use super::order::{PricedLine, RequisitionStatus, Status};

/// A supplier, as a client creates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Supplier {
    pub code: String,
    pub name: String,
    /// Days from an invoice's date to its due date.
    #[serde(default = "thirty")]
    pub payment_terms_days: u32,
}

fn thirty() -> u32 {
    30
}

/// Longest payment terms: ten years.
pub const PAYMENT_TERMS_DAYS_MAX: u32 = 3650;

/// A request to buy an item, raised by someone or by a reorder event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Requisition {
    pub number: String,
    pub item: String,
    pub quantity: Decimal,
    pub status: RequisitionStatus,
    /// Why it was raised: by whom, or by which reorder event.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

/// A purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Order {
    pub number: String,
    pub supplier: String,
    pub date: Date,
    /// Where its goods are received by default.
    pub location: String,
    pub lines: Vec<OrderLine>,
    pub total: Decimal,
    pub status: Status,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requisitions: Vec<String>,
}

/// An item a receipt brought in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReceiptLine {
    pub item: String,
    pub quantity: Decimal,
    /// What the stock provider valued it at.
    pub value: String,
}

/// Goods received against an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Receipt {
    pub number: String,
    pub order: String,
    pub date: Date,
    pub location: String,
    pub lines: Vec<ReceiptLine>,
}

/// A supplier invoice matched to its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Invoice {
    pub number: String,
    pub order: String,
    pub supplier: String,
    /// The supplier's invoice number.
    pub invoice: String,
    pub date: Date,
    pub due: Date,
    pub lines: Vec<PricedLine>,
    pub amount: Decimal,
    /// Charged above the order's prices (negative if below).
    pub variance: Decimal,
    /// The ledger's payable.
    pub payable: String,
}

/// What a client orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The supplier's code.
    pub supplier: String,
    /// The order's date.
    pub date: String,
    /// Where its goods are received by default.
    pub location: String,
    /// What it orders.
    pub lines: Vec<PricedLine>,
    /// The draft requisitions it takes.
    pub requisitions: Vec<String>,
}

/// What a supplier invoices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoice {
    /// The supplier's invoice number.
    pub invoice: String,
    /// The invoice's date.
    pub date: String,
    /// When it is due; the supplier's payment terms from `date` if none.
    pub due: Option<String>,
    /// What it bills.
    pub lines: Vec<PricedLine>,
}

impl Supplier {
    /// Checks a new supplier: a valid code, a name, payment terms of at
    /// most ten years.
    pub fn check(&self) -> Result<(), RuleError> {
        check_code("supplier", &self.code)?;
        if self.name.trim().is_empty() {
            return Err(RuleError::new("a supplier needs a name"));
        }
        if self.payment_terms_days > PAYMENT_TERMS_DAYS_MAX {
            return Err(RuleError::new(format!(
                "payment_terms_days is at most {PAYMENT_TERMS_DAYS_MAX}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_supplier_needs_a_code_a_name_and_sane_terms() {
        let supplier: Supplier =
            serde_json::from_str(r#"{"code":"ACME","name":"Acme Medical"}"#).unwrap();
        assert_eq!(supplier.payment_terms_days, 30, "thirty days unless said");
        assert!(supplier.check().is_ok());
        let bad = [
            (Supplier { code: "acme".into(), ..supplier.clone() }, "supplier code"),
            (Supplier { name: "  ".into(), ..supplier.clone() }, "needs a name"),
            (Supplier { payment_terms_days: 3651, ..supplier.clone() }, "at most 3650"),
        ];
        for (supplier, why) in bad {
            let err = supplier.check().unwrap_err();
            assert!(err.0.contains(why), "{supplier:?}: {err}");
        }
        assert!(serde_json::from_str::<Supplier>(r#"{"code":"A","name":"B","x":1}"#).is_err());
    }
}
