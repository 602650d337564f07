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

use crate::cmdb::{self, Registered};
use crate::desk;

/// The topic assets arrive on.
pub(crate) const GOODS_RECEIVED: &str = "procurement.goods-received";
/// Most units of one line, and of one receipt, registered: a receipt of
/// more is registered up to these and says so in the audit trail.
const UNITS_PER_LINE_MAX: u32 = 200;
const UNITS_PER_RECEIPT_MAX: u32 = 1000;

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

/// A goods receipt: registers the units of its asset items. A unit its
/// class does not fit (a required attribute no receipt states) is left
/// out and said in the audit trail, rather than failing the delivery
/// again and again.
pub(crate) fn received(delivery: &Delivery) -> Result<()> {
    if delivery.topic != GOODS_RECEIVED {
        return Err(Error::invalid(format!("itsm does not handle {}", delivery.topic)));
    }
    let received: Received = events::payload(delivery)?;
    let assets = desk::settings()?.asset_items;
    let mut registered = 0u32;
    let mut left_out = Vec::new();
    'lines: for (number, line) in received.lines.iter().enumerate() {
        let Some(class) = assets.get(&line.item) else { continue };
        let whole = line.quantity.trunc();
        let units = whole.to_u32().unwrap_or(u32::MAX);
        let room = UNITS_PER_RECEIPT_MAX.saturating_sub(registered);
        let kept = units.min(UNITS_PER_LINE_MAX).min(room);
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
            match cmdb::register_asset(&id, class, &name, attributes)? {
                Registered::New => registered += 1,
                Registered::Already => {}
                Registered::Unfit(why) => {
                    // None of the line fits: why says it all.
                    left_out.push(format!("line {}: {why}", number + 1));
                    continue 'lines;
                }
            }
        }
        if units > kept || line.quantity != whole {
            left_out.push(format!(
                "line {}: {kept} of {} {} (at most {UNITS_PER_LINE_MAX} whole units a line and \
                 {UNITS_PER_RECEIPT_MAX} a receipt)",
                number + 1,
                line.quantity,
                line.item
            ));
        }
    }
    if registered > 0 {
        let detail = format!("receipt {}: {registered} registered as assets", received.receipt);
        record("assets.registered", &detail)?;
    }
    if !left_out.is_empty() {
        let detail = format!(
            "receipt {}: not registered, register by hand: {}",
            received.receipt,
            left_out.join("; ")
        );
        record("assets.left-out", &detail)?;
    }
    Ok(())
}

fn record(action: &str, detail: &str) -> Result<()> {
    let detail: String = detail.chars().take(3000).collect();
    audit::record(audit::Event { action, collection: Some("cis"), key: None, detail: &detail })
}
