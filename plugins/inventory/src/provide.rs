//! `keel:erp/stock@0.3.0`: stock for other plugins, with the same rules as
//! the HTTP operations. Lots are not tracked here; a receipt's lot is
//! ignored (`inventory-lots` tracks them).

use keel_sdk::Result;
use keel_sdk::erp::{self, StockProvider};
use keel_stock_kit::catalog;
use keel_stock_kit::provide::{self as kit, valuation};

use crate::Inventory;
use crate::books;

impl StockProvider for Inventory {
    fn find_item(code: String) -> Result<Option<erp::Item>> {
        kit::find_item(&code)
    }

    fn receive(receipt: erp::GoodsReceipt) -> Result<erp::Valuation> {
        valuation(&books::receive(&(&receipt).into(), &receipt.unit_cost)?)
    }

    fn issue(issue: erp::GoodsIssue) -> Result<erp::Valuation> {
        valuation(&books::issue(&(&issue).into())?)
    }

    fn transfer(transfer: erp::StockTransfer) -> Result<()> {
        books::transfer(&(&transfer).into(), &transfer.to).map(drop)
    }

    fn on_hand(item: String, location: Option<String>) -> Result<Vec<erp::StockLevel>> {
        catalog::item(&item)?;
        Ok(kit::stock_levels(books::on_hand(&item, location.as_deref())?))
    }
}

keel_sdk::export_stock!(Inventory);
