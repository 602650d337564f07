//! `keel:erp/stock@0.3.0`, as `inventory` provides it but lot by lot: a
//! receipt must name its lot, and an issue takes the first to expire.

use keel_sdk::erp::{self, StockProvider};
use keel_sdk::{Error, Result};
use keel_stock_kit::catalog;
use keel_stock_kit::provide::{self as kit, valuation};

use crate::InventoryLots;
use crate::books;

impl StockProvider for InventoryLots {
    fn find_item(code: String) -> Result<Option<erp::Item>> {
        kit::find_item(&code)
    }

    fn receive(receipt: erp::GoodsReceipt) -> Result<erp::Valuation> {
        let lot = receipt.lot.as_ref().ok_or_else(|| {
            Error::invalid(format!(
                "the stock provider inventory-lots needs the lot of each receipt; none was given for {}",
                receipt.item
            ))
        })?;
        let moved = books::receive(
            &(&receipt).into(),
            &receipt.unit_cost,
            &lot.code,
            lot.expires.as_deref(),
        )?;
        valuation(&moved)
    }

    fn issue(issue: erp::GoodsIssue) -> Result<erp::Valuation> {
        valuation(&books::issue(&(&issue).into())?)
    }

    fn transfer(transfer: erp::StockTransfer) -> Result<()> {
        books::transfer(&(&transfer).into(), &transfer.to, None).map(drop)
    }

    fn on_hand(item: String, location: Option<String>) -> Result<Vec<erp::StockLevel>> {
        let item = catalog::item(&item)?;
        Ok(kit::stock_levels(books::on_hand(&item, location.as_deref())?))
    }
}

keel_sdk::export_stock!(InventoryLots);
