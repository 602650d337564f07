//! What every `keel:erp/stock` provider does alike: the catalogue lookup,
//! and moving between the interface's records and the kit's moves.

use keel_sdk::Result;
use keel_sdk::erp;
use rust_decimal::Decimal;

use crate::catalog::{ITEMS, Level};
use crate::ledger;
use crate::moves::{Move, MoveRequest};

/// `find-item`: the catalogue's item with `code`.
pub fn find_item(code: &str) -> Result<Option<erp::Item>> {
    Ok(ITEMS.get(code)?.map(|item| erp::Item { code: item.code, name: item.name, unit: item.unit }))
}

/// What `moved` was worth, in the ledger's currency.
pub fn valuation(moved: &Move) -> Result<erp::Valuation> {
    Ok(erp::Valuation {
        quantity: moved.quantity.to_string(),
        value: moved.value.to_string(),
        currency: ledger::settings()?.currency,
    })
}

/// `on-hand`'s answer: each level with its value.
pub fn stock_levels(levels: Vec<(Level, Decimal)>) -> Vec<erp::StockLevel> {
    levels
        .into_iter()
        .map(|(level, value)| erp::StockLevel {
            item: level.item,
            location: level.location,
            quantity: level.quantity.to_string(),
            value: value.to_string(),
        })
        .collect()
}

impl<'a> From<&'a erp::GoodsReceipt> for MoveRequest<'a> {
    fn from(receipt: &'a erp::GoodsReceipt) -> Self {
        Self {
            item: &receipt.item,
            location: &receipt.location,
            quantity: &receipt.quantity,
            date: &receipt.date,
            reference: &receipt.reference,
        }
    }
}

impl<'a> From<&'a erp::GoodsIssue> for MoveRequest<'a> {
    fn from(issue: &'a erp::GoodsIssue) -> Self {
        Self {
            item: &issue.item,
            location: &issue.location,
            quantity: &issue.quantity,
            date: &issue.date,
            reference: &issue.reference,
        }
    }
}

impl<'a> From<&'a erp::StockTransfer> for MoveRequest<'a> {
    fn from(transfer: &'a erp::StockTransfer) -> Self {
        Self {
            item: &transfer.item,
            location: &transfer.from,
            quantity: &transfer.quantity,
            date: &transfer.date,
            reference: &transfer.reference,
        }
    }
}
