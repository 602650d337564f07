//! Assets bought through procurement: each unit of an item the desk keeps
//! as an asset (`asset_items` in the settings) is registered as a
//! configuration item when its goods receipt is published. Delivered at
//! least once: an item's id comes from the receipt, its line and the unit,
//! so a delivery repeated registers nothing twice.

use std::collections::BTreeMap;

use keel_sdk::events::{self, Delivery};
use keel_sdk::{Error, Result, audit};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use serde_json::json;

use crate::{cmdb, desk};

/// The topic assets arrive on.
pub(crate) const GOODS_RECEIVED: &str = "procurement.goods-received";
/// Most units of one line registered: a receipt of more is registered up
/// to this and says so in the audit trail.
const UNITS_PER_LINE_MAX: u32 = 200;

#[derive(Deserialize)]
struct Received {
    receipt: String,
    order: String,
    supplier: String,
    date: String,
    lines: Vec<Line>,
}

#[derive(Deserialize)]
struct Line {
    item: String,
    quantity: Decimal,
}

/// A goods receipt: registers the units of its asset items.
pub(crate) fn received(delivery: &Delivery) -> Result<()> {
    if delivery.topic != GOODS_RECEIVED {
        return Err(Error::invalid(format!("itsm does not handle {}", delivery.topic)));
    }
    let received: Received = events::payload(delivery)?;
    let assets = desk::settings()?.asset_items;
    let mut registered = Vec::new();
    for (number, line) in received.lines.iter().enumerate() {
        let Some(class) = assets.get(&line.item) else { continue };
        let whole = line.quantity.trunc();
        let units = whole.to_u32().unwrap_or(u32::MAX);
        let kept = units.min(UNITS_PER_LINE_MAX);
        for unit in 1..=kept {
            let id = format!("AST-{}-{}-{unit}", received.receipt, number + 1);
            let attributes = BTreeMap::from([
                ("item".to_owned(), json!(line.item)),
                ("receipt".to_owned(), json!(received.receipt)),
                ("order".to_owned(), json!(received.order)),
                ("supplier".to_owned(), json!(received.supplier)),
                ("received".to_owned(), json!(received.date)),
            ]);
            let name = format!("{} {unit} of {}", line.item, received.receipt);
            if cmdb::register_asset(&id, class, &name, attributes)? {
                registered.push(id);
            }
        }
        if units > kept || line.quantity != whole {
            let detail = format!(
                "receipt {} line {}: {} of {} registered as assets (at most \
                 {UNITS_PER_LINE_MAX} whole units a line); register the rest by hand",
                received.receipt,
                number + 1,
                kept,
                line.quantity
            );
            audit::record(audit::Event {
                action: "assets.partly-registered",
                collection: Some("cis"),
                key: None,
                detail: &detail,
            })?;
        }
    }
    if !registered.is_empty() {
        let detail = format!(
            "receipt {}: {} registered ({})",
            received.receipt,
            registered.len(),
            registered.join(", ")
        );
        audit::record(audit::Event {
            action: "assets.registered",
            collection: Some("cis"),
            key: None,
            detail: &detail,
        })?;
    }
    Ok(())
}
