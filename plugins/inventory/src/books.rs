//! How stock is stored and moved: items, warehouses and locations, the
//! quantity per item and location, the quantity and value per item, and
//! one document per move. Every move that changes the value of stock posts
//! a journal entry through `keel:erp/ledger`, in the same transaction.

use keel_sdk::erp::{self, AccountType, JournalEntry, Line};
use keel_sdk::{Collection, Error, Range, Result, audit, events, next_sequence};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::stock::valuation::Valued;
use crate::stock::{RuleError, check_code, check_date, quantity};

pub(crate) const ITEMS: Collection<Item> = Collection::new("items");
pub(crate) const WAREHOUSES: Collection<Warehouse> = Collection::new("warehouses");
pub(crate) const LOCATIONS: Collection<Location> = Collection::new("locations");
/// Quantity per `item/location`.
const LEVELS: Collection<Level> = Collection::new("levels");
/// Quantity and value per item.
pub(crate) const VALUATIONS: Collection<Valued> = Collection::new("valuations");
pub(crate) const MOVES: Collection<Move> = Collection::new("moves");
const SETTINGS: Collection<Settings> = Collection::new("settings");

/// The topic of [`crossed_reorder_point`].
pub(crate) const REORDER_TOPIC: &str = "inventory.reorder-point-crossed";

impl From<RuleError> for Error {
    fn from(err: RuleError) -> Self {
        Error::invalid(err.0)
    }
}

/// An item of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Item {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) unit: String,
    /// Below this much on hand, a reorder event is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reorder_point: Option<Decimal>,
    /// How much to order then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reorder_quantity: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Warehouse {
    pub(crate) code: String,
    pub(crate) name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Location {
    pub(crate) code: String,
    pub(crate) warehouse: String,
    pub(crate) name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Level {
    item: String,
    location: String,
    quantity: Decimal,
}

/// What kind of move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Receipt,
    Issue,
    Transfer,
    Adjustment,
}

/// One stock move, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Move {
    pub(crate) number: u64,
    pub(crate) kind: Kind,
    pub(crate) item: String,
    /// Where the goods arrive, or leave from (a transfer's source).
    pub(crate) location: String,
    /// A transfer's destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<String>,
    /// Positive; an adjustment's sign says which way it went.
    pub(crate) quantity: Decimal,
    /// What the move added to (or took out of) the value of stock.
    pub(crate) value: Decimal,
    pub(crate) date: String,
    pub(crate) reference: String,
    /// The journal entry that valued it, if it changed the value of stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) journal_entry: Option<u64>,
}

/// The ledger accounts stock is valued in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    pub(crate) currency: String,
    /// Stock on hand (an asset).
    pub(crate) inventory_account: String,
    /// Goods received, not yet invoiced (a liability), credited by receipts.
    pub(crate) received_account: String,
    /// Cost of goods sold or used (an expense), debited by issues.
    pub(crate) issued_account: String,
    /// Gains and losses found by counting (an expense).
    pub(crate) adjustment_account: String,
    /// The accounts were made sure of in the ledger.
    #[serde(default)]
    pub(crate) ensured: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            currency: "EUR".to_owned(),
            inventory_account: "1300".to_owned(),
            received_account: "2150".to_owned(),
            issued_account: "5000".to_owned(),
            adjustment_account: "5900".to_owned(),
            ensured: false,
        }
    }
}

/// The settings, defaults until an administrator saves some.
pub(crate) fn settings() -> Result<Settings> {
    Ok(SETTINGS.get("ledger")?.unwrap_or_default())
}

/// Saves `settings`; the accounts are made sure of on the next move.
pub(crate) fn save_settings(mut settings: Settings) -> Result<Settings> {
    settings.ensured = false;
    SETTINGS.put("ledger", &settings)?;
    Ok(settings)
}

/// The settings, with their accounts made sure of in the ledger (once).
fn ledger_settings() -> Result<Settings> {
    let mut settings = settings()?;
    if settings.ensured {
        return Ok(settings);
    }
    let accounts = [
        (&settings.inventory_account, "Inventory", AccountType::Asset),
        (&settings.received_account, "Goods received not invoiced", AccountType::Liability),
        (&settings.issued_account, "Cost of goods sold", AccountType::Expense),
        (&settings.adjustment_account, "Stock adjustments", AccountType::Expense),
    ];
    for (code, name, type_) in accounts {
        erp::ledger::ensure_account(&erp::Account {
            code: code.clone(),
            name: name.to_owned(),
            type_,
            currency: settings.currency.clone(),
        })?;
    }
    settings.ensured = true;
    SETTINGS.put("ledger", &settings)?;
    Ok(settings)
}

/// The item with `code`, or a 422 naming it.
pub(crate) fn item(code: &str) -> Result<Item> {
    ITEMS.get(code)?.ok_or_else(|| Error::invalid(format!("item {code} does not exist")))
}

fn location(code: &str) -> Result<Location> {
    LOCATIONS.get(code)?.ok_or_else(|| Error::invalid(format!("location {code} does not exist")))
}

fn level_key(item: &str, location: &str) -> String {
    format!("{item}/{location}")
}

fn level(item: &str, location: &str) -> Result<Level> {
    Ok(LEVELS.get(&level_key(item, location))?.unwrap_or_else(|| Level {
        item: item.to_owned(),
        location: location.to_owned(),
        quantity: Decimal::ZERO,
    }))
}

fn put_level(level: &Level) -> Result<()> {
    LEVELS.put(&level_key(&level.item, &level.location), level)
}

/// Creates an item; 409 if its code exists.
pub(crate) fn create_item(item: Item) -> Result<Item> {
    check_code("item", &item.code)?;
    if item.name.trim().is_empty() || item.unit.trim().is_empty() {
        return Err(Error::invalid("an item needs a name and a unit"));
    }
    if ITEMS.get(&item.code)?.is_some() {
        return Err(Error::conflict(format!("item {} already exists", item.code)));
    }
    ITEMS.insert(&item.code, &item)?;
    Ok(item)
}

/// Creates a warehouse; 409 if its code exists.
pub(crate) fn create_warehouse(warehouse: Warehouse) -> Result<Warehouse> {
    check_code("warehouse", &warehouse.code)?;
    if WAREHOUSES.get(&warehouse.code)?.is_some() {
        return Err(Error::conflict(format!("warehouse {} already exists", warehouse.code)));
    }
    WAREHOUSES.insert(&warehouse.code, &warehouse)?;
    Ok(warehouse)
}

/// Creates a location in an existing warehouse; 409 if its code exists.
pub(crate) fn create_location(location: Location) -> Result<Location> {
    check_code("location", &location.code)?;
    if WAREHOUSES.get(&location.warehouse)?.is_none() {
        return Err(Error::invalid(format!("warehouse {} does not exist", location.warehouse)));
    }
    if LOCATIONS.get(&location.code)?.is_some() {
        return Err(Error::conflict(format!("location {} already exists", location.code)));
    }
    LOCATIONS.insert(&location.code, &location)?;
    Ok(location)
}

/// What every move names.
pub(crate) struct MoveRequest<'a> {
    pub(crate) item: &'a str,
    pub(crate) location: &'a str,
    pub(crate) quantity: &'a str,
    pub(crate) date: &'a str,
    pub(crate) reference: &'a str,
}

impl MoveRequest<'_> {
    /// The item and location (which must exist), and the positive quantity.
    fn check(&self) -> Result<(Item, Decimal)> {
        check_date(self.date)?;
        let quantity = quantity::positive(self.quantity, "quantity")?;
        let item = item(self.item)?;
        location(self.location)?;
        Ok((item, quantity))
    }
}

/// Receives goods at `unit_cost` each: stock and its value grow, and the
/// value is posted as inventory against goods received not invoiced.
pub(crate) fn receive(request: &MoveRequest<'_>, unit_cost: &str) -> Result<Move> {
    let (item, quantity) = request.check()?;
    let unit_cost = quantity::non_negative(unit_cost, "unit cost")?;
    let mut valued = VALUATIONS.get(&item.code)?.unwrap_or_default();
    let value = valued.receive(quantity, unit_cost)?;
    let mut level = level(&item.code, request.location)?;
    level.quantity += quantity;
    let settings = ledger_settings()?;
    let posting = (value > Decimal::ZERO)
        .then(|| {
            post(request, &settings.inventory_account, &settings.received_account, value, "receipt")
        })
        .transpose()?;
    put_level(&level)?;
    VALUATIONS.put(&item.code, &valued)?;
    record(Kind::Receipt, &item, request, None, quantity, value, posting)
}

/// Issues goods: stock and its value shrink at the average cost, posted
/// as cost of goods against inventory. Publishes a reorder event if this
/// takes the item below its reorder point.
pub(crate) fn issue(request: &MoveRequest<'_>) -> Result<Move> {
    let (item, quantity) = request.check()?;
    let mut level = level(&item.code, request.location)?;
    if quantity > level.quantity {
        return Err(Error::invalid(format!(
            "only {} {} of {} on hand at {}, {quantity} requested",
            level.quantity, item.unit, item.code, request.location
        )));
    }
    let mut valued = VALUATIONS.get(&item.code)?.unwrap_or_default();
    let before = valued.quantity;
    let value = valued.issue(quantity)?;
    level.quantity -= quantity;
    let settings = ledger_settings()?;
    let posting = (value > Decimal::ZERO)
        .then(|| {
            post(request, &settings.issued_account, &settings.inventory_account, value, "issue")
        })
        .transpose()?;
    put_level(&level)?;
    VALUATIONS.put(&item.code, &valued)?;
    let moved = record(Kind::Issue, &item, request, None, quantity, value, posting)?;
    crossed_reorder_point(&item, before, valued.quantity, &moved)?;
    Ok(moved)
}

/// Moves goods from `request.location` to `to`; their value is unchanged.
pub(crate) fn transfer(request: &MoveRequest<'_>, to: &str) -> Result<Move> {
    let (item, quantity) = request.check()?;
    location(to)?;
    if to == request.location {
        return Err(Error::invalid("a transfer moves goods between two different locations"));
    }
    let mut from = level(&item.code, request.location)?;
    if quantity > from.quantity {
        return Err(Error::invalid(format!(
            "only {} {} of {} on hand at {}, {quantity} requested",
            from.quantity, item.unit, item.code, request.location
        )));
    }
    let mut into = level(&item.code, to)?;
    from.quantity -= quantity;
    into.quantity += quantity;
    put_level(&from)?;
    put_level(&into)?;
    let value = VALUATIONS.get(&item.code)?.unwrap_or_default().value_of(quantity);
    record(Kind::Transfer, &item, request, Some(to), quantity, value, None)
}

/// Corrects stock to what was counted: `delta` units more (or fewer, if
/// negative), valued at the average cost against the adjustment account.
pub(crate) fn adjust(request: &MoveRequest<'_>) -> Result<Move> {
    check_date(request.date)?;
    let delta = quantity::parse(request.quantity, "quantity")?;
    if delta.is_zero() {
        return Err(Error::invalid("an adjustment changes the quantity: it cannot be zero"));
    }
    let item = item(request.item)?;
    location(request.location)?;
    let mut level = level(&item.code, request.location)?;
    let mut valued = VALUATIONS.get(&item.code)?.unwrap_or_default();
    let before = valued.quantity;
    let settings = ledger_settings()?;
    let (value, debit, credit) = if delta > Decimal::ZERO {
        let cost = valued.average_cost();
        let value = valued.receive(delta, cost)?;
        (value, &settings.inventory_account, &settings.adjustment_account)
    } else {
        if -delta > level.quantity {
            return Err(Error::invalid(format!(
                "only {} on hand at {}; cannot take out {}",
                level.quantity, request.location, -delta
            )));
        }
        let value = valued.issue(-delta)?;
        (value, &settings.adjustment_account, &settings.inventory_account)
    };
    level.quantity += delta;
    let posting = (value > Decimal::ZERO)
        .then(|| post(request, debit, credit, value, "adjustment"))
        .transpose()?;
    put_level(&level)?;
    VALUATIONS.put(&item.code, &valued)?;
    let moved = record(Kind::Adjustment, &item, request, None, delta.abs(), value, posting)?;
    crossed_reorder_point(&item, before, valued.quantity, &moved)?;
    Ok(moved)
}

/// Posts `value` from `credit` to `debit` through the ledger.
fn post(
    request: &MoveRequest<'_>,
    debit: &str,
    credit: &str,
    value: Decimal,
    what: &str,
) -> Result<u64> {
    let amount = value.to_string();
    erp::ledger::post(&JournalEntry {
        date: request.date.to_owned(),
        memo: format!("Stock {what}: {} {}", request.quantity, request.item),
        reference: request.reference.to_owned(),
        lines: vec![
            Line { account: debit.to_owned(), debit: Some(amount.clone()), credit: None },
            Line { account: credit.to_owned(), debit: None, credit: Some(amount) },
        ],
    })
}

fn record(
    kind: Kind,
    item: &Item,
    request: &MoveRequest<'_>,
    to: Option<&str>,
    quantity: Decimal,
    value: Decimal,
    journal_entry: Option<u64>,
) -> Result<Move> {
    let number = next_sequence("moves")?;
    let moved = Move {
        number,
        kind,
        item: item.code.clone(),
        location: request.location.to_owned(),
        to: to.map(str::to_owned),
        quantity,
        value,
        date: request.date.to_owned(),
        reference: request.reference.to_owned(),
        journal_entry,
    };
    let key = format!("{number:020}");
    MOVES.insert(&key, &moved)?;
    let detail = format!(
        "{kind:?} {number}: {quantity} {} of {} at {}, worth {value}{}",
        item.unit,
        item.code,
        request.location,
        journal_entry.map(|n| format!(", journal entry {n}")).unwrap_or_default()
    );
    audit::record(audit::Event {
        action: "move.recorded",
        collection: Some("moves"),
        key: Some(&key),
        detail: &detail,
    })?;
    Ok(moved)
}

/// Publishes a reorder event if the item's stock went from at or above its
/// reorder point to below it.
fn crossed_reorder_point(item: &Item, before: Decimal, after: Decimal, moved: &Move) -> Result<()> {
    let Some(point) = item.reorder_point else { return Ok(()) };
    if before < point || after >= point {
        return Ok(());
    }
    let payload = serde_json::json!({
        "item": item.code,
        "name": item.name,
        "unit": item.unit,
        "on_hand": after,
        "reorder_point": point,
        "reorder_quantity": item.reorder_quantity,
        "date": moved.date,
        "move": moved.number,
    });
    events::publish(REORDER_TOPIC, &format!("{}/{}", item.code, moved.number), &payload)
}

/// The item's stock at each location holding some (or at `at` only), with
/// its value at the average cost.
pub(crate) fn on_hand(
    item_code: &str,
    at: Option<&str>,
) -> Result<Vec<(String, Decimal, Decimal)>> {
    let valued = VALUATIONS.get(item_code)?.unwrap_or_default();
    let levels = match at {
        Some(at) => vec![level(item_code, at)?],
        None => {
            let mut levels = Vec::new();
            let mut cursor = None;
            loop {
                let page = LEVELS.scan(
                    &Range::prefix(format!("{item_code}/")),
                    cursor.as_deref(),
                    1000,
                )?;
                levels.extend(page.items.into_iter().map(|(_, level)| level));
                match page.cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            levels.retain(|l| !l.quantity.is_zero());
            levels
        }
    };
    Ok(levels
        .into_iter()
        .map(|level| {
            let value = valued.value_of(level.quantity);
            (level.location, level.quantity, value)
        })
        .collect())
}
