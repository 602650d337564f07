//! `keel:erp/stock@0.1.0`: stock for other plugins, with the same rules as
//! the HTTP operations. Lots are not tracked here; a receipt's lot is
//! ignored (`inventory-lots` tracks them).

use keel_sdk::Result;
use keel_sdk::erp::{self, StockProvider};

use crate::Inventory;
use crate::books::{self, MoveRequest};

fn valuation(moved: &books::Move) -> Result<erp::Valuation> {
    Ok(erp::Valuation {
        quantity: moved.quantity.to_string(),
        value: moved.value.to_string(),
        currency: books::settings()?.currency,
    })
}

impl StockProvider for Inventory {
    fn find_item(code: String) -> Result<Option<erp::Item>> {
        Ok(books::ITEMS.get(&code)?.map(|item| erp::Item {
            code: item.code,
            name: item.name,
            unit: item.unit,
        }))
    }

    fn receive(receipt: erp::GoodsReceipt) -> Result<erp::Valuation> {
        let request = MoveRequest {
            item: &receipt.item,
            location: &receipt.location,
            quantity: &receipt.quantity,
            date: &receipt.date,
            reference: &receipt.reference,
        };
        valuation(&books::receive(&request, &receipt.unit_cost)?)
    }

    fn issue(issue: erp::GoodsIssue) -> Result<erp::Valuation> {
        let request = MoveRequest {
            item: &issue.item,
            location: &issue.location,
            quantity: &issue.quantity,
            date: &issue.date,
            reference: &issue.reference,
        };
        valuation(&books::issue(&request)?)
    }

    fn transfer(transfer: erp::StockTransfer) -> Result<()> {
        let request = MoveRequest {
            item: &transfer.item,
            location: &transfer.from,
            quantity: &transfer.quantity,
            date: &transfer.date,
            reference: &transfer.reference,
        };
        books::transfer(&request, &transfer.to).map(drop)
    }

    fn on_hand(item: String, location: Option<String>) -> Result<Vec<erp::StockLevel>> {
        books::item(&item)?;
        Ok(books::on_hand(&item, location.as_deref())?
            .into_iter()
            .map(|(location, quantity, value)| erp::StockLevel {
                item: item.clone(),
                location,
                quantity: quantity.to_string(),
                value: value.to_string(),
            })
            .collect())
    }
}

keel_sdk::export_stock!(Inventory);
