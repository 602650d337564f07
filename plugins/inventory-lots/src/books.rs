//! How stock is moved lot by lot: each lot's quantity and value at each
//! location, beside the kit's quantity per item and location and the value
//! per item. Issues take the first lot to expire first and never an
//! expired one; every move that changes the value of stock posts a journal
//! entry through `keel:erp/ledger`, in the same transaction.

use keel_sdk::{Collection, Error, Range, Result};
use keel_stock_kit::catalog::{self, Item, Level};
use keel_stock_kit::ledger::{ValueChange, ledger_settings, post};
use keel_stock_kit::moves::{self, Kind, LotMoved, Move, MoveRequest};
use keel_stock_kit::rules::quantity;
use keel_values::Date;
use keel_values::code::check_code;
use rust_decimal::Decimal;

use crate::fefo::{self, LotLevel};
use crate::lot::{Lot, LotCode};

use keel_stock_kit::catalog::VALUATIONS;
/// Stock per lot and location, keyed `item/location/expiry/lot`.
pub(crate) const LOTS: Collection<Lot> = Collection::new("lots");
/// Each lot's expiry date, keyed `item/lot`.
const LOT_CODES: Collection<LotCode> = Collection::new("lot-codes");

/// The topic of [`moves::crossed_reorder_point`].
const REORDER_TOPIC: &str = "inventory-lots.reorder-point-crossed";

/// Stores `lot`, or forgets it once it is empty.
fn save(lot: &Lot) -> Result<()> {
    if lot.quantity.is_zero() {
        LOTS.delete(&lot.key()).map(drop)
    } else {
        LOTS.put(&lot.key(), lot)
    }
}

/// The item's lots at `location` (or everywhere), first to expire first.
pub(crate) fn lots(item: &str, location: Option<&str>) -> Result<Vec<Lot>> {
    let prefix = match location {
        Some(location) => format!("{item}/{location}/"),
        None => format!("{item}/"),
    };
    Ok(LOTS.scan_all(&Range::prefix(prefix))?.into_iter().map(|(_, lot)| lot).collect())
}

/// The stock of `lot` (expiring on `expires`) of `item` at `location`;
/// empty if it has none there.
fn lot_at(item: &str, location: &str, lot: &str, expires: Option<&str>) -> Result<Lot> {
    let empty = Lot::empty(item, location, lot, expires);
    Ok(LOTS.get(&empty.key())?.unwrap_or(empty))
}

/// The quantity and value per item, changed by `quantity` and `value`.
fn revalue(item: &str, quantity: Decimal, value: Decimal) -> Result<(Decimal, Decimal)> {
    let mut valued = VALUATIONS.get(item)?.unwrap_or_default();
    let before = valued.quantity;
    valued.quantity = valued.quantity.checked_add(quantity).ok_or_else(too_large)?;
    valued.value = valued.value.checked_add(value).ok_or_else(too_large)?;
    VALUATIONS.put(item, &valued)?;
    Ok((before, valued.quantity))
}

/// The lot's registered expiry: a new lot is registered with `expires`; a
/// known one must come with the same date.
fn register(item: &str, lot: &str, expires: Option<&str>) -> Result<()> {
    let key = format!("{item}/{lot}");
    match LOT_CODES.get(&key)? {
        None => LOT_CODES.insert(&key, &LotCode { expires: expires.map(str::to_owned) }),
        Some(known) => Ok(known.check_same(item, lot, expires)?),
    }
}

/// Receives goods into `lot` at `unit_cost` each; the value is posted as
/// inventory against goods received not invoiced. An expired lot is
/// refused.
pub(crate) fn receive(
    request: &MoveRequest<'_>,
    unit_cost: &str,
    lot: &str,
    expires: Option<&str>,
) -> Result<Move> {
    let (item, quantity) = request.check()?;
    check_code("lot", lot)?;
    if let Some(expires) = expires {
        Date::parse(expires)?;
        if fefo::expired(Some(expires), request.date) {
            return Err(Error::invalid(format!(
                "lot {lot} expired on {expires}; it cannot be received on {}",
                request.date
            )));
        }
    }
    let unit_cost = quantity::unit_cost(unit_cost)?;
    register(&item.code, lot, expires)?;
    let mut stock = lot_at(&item.code, request.location, lot, expires)?;
    let mut valued = stock.valued();
    let value = valued.receive(quantity, unit_cost)?;
    stock.set(valued);
    catalog::add_level(&item, request.location, quantity)?;
    let settings = ledger_settings()?;
    let mut moved = request.moved(Kind::Receipt, quantity, value);
    moved.journal_entry = post(request, &settings, ValueChange::Receipt, value, "receipt")?;
    moved.lots.push(stock.moved(quantity, value));
    save(&stock)?;
    revalue(&item.code, quantity, value)?;
    moves::record(moved, &item.unit)
}

/// Takes `picks` out of `lots`; returns what each lot gave and the value.
fn take(lots: &mut [Lot], picks: &[(usize, Decimal)]) -> Result<(Vec<LotMoved>, Decimal)> {
    let (mut taken, mut total) = (Vec::new(), Decimal::ZERO);
    for &(i, quantity) in picks {
        let lot = &mut lots[i];
        let mut valued = lot.valued();
        let value = valued.issue(quantity)?;
        lot.set(valued);
        taken.push(lot.moved(quantity, value));
        total += value;
    }
    Ok((taken, total))
}

fn too_large() -> Error {
    Error::invalid("the quantity or value is too large")
}

/// The lots at the request's location, as the picker sees them.
fn levels_of(lots: &[Lot]) -> Vec<LotLevel> {
    lots.iter()
        .map(|l| LotLevel { lot: l.lot.clone(), expires: l.expires.clone(), quantity: l.quantity })
        .collect()
}

/// Issues goods, first expiry first out, never from an expired lot; the
/// lots' cost is posted as cost of goods against inventory. Publishes a
/// reorder event if this takes the item below its reorder point.
pub(crate) fn issue(request: &MoveRequest<'_>) -> Result<Move> {
    let (item, quantity) = request.check()?;
    catalog::add_level(&item, request.location, -quantity)?;
    let mut lots = lots(&item.code, Some(request.location))?;
    let picks = fefo::pick(&levels_of(&lots), quantity, request.date)
        .map_err(|err| Error::invalid(format!("{} at {}: {err}", item.code, request.location)))?;
    let (taken, value) = take(&mut lots, &picks)?;
    let settings = ledger_settings()?;
    let mut moved = request.moved(Kind::Issue, quantity, value);
    moved.journal_entry = post(request, &settings, ValueChange::Issue, value, "issue")?;
    moved.lots = taken;
    for &(i, _) in &picks {
        save(&lots[i])?;
    }
    let (before, after) = revalue(&item.code, -quantity, -value)?;
    let moved = moves::record(moved, &item.unit)?;
    moves::crossed_reorder_point(REORDER_TOPIC, &item, before, after, &moved)?;
    Ok(moved)
}

/// Moves goods from `request.location` to `to`, lot by lot: the named
/// `lot` (expired or not, such as to quarantine), or the unexpired lots
/// first expiry first. Their value is unchanged.
pub(crate) fn transfer(request: &MoveRequest<'_>, to: &str, lot: Option<&str>) -> Result<Move> {
    let (item, quantity) = request.check()?;
    catalog::shift(&item, request.location, to, quantity)?;
    let mut lots = lots(&item.code, Some(request.location))?;
    let picks = match lot {
        Some(code) => vec![(named(&lots, code, quantity, request)?, quantity)],
        None => fefo::pick(&levels_of(&lots), quantity, request.date)?,
    };
    let (taken, value) = take(&mut lots, &picks)?;
    for (&(i, _), moved) in picks.iter().zip(&taken) {
        save(&lots[i])?;
        let mut arrived = lot_at(&item.code, to, &moved.lot, moved.expires.as_deref())?;
        let mut valued = arrived.valued();
        valued.quantity = valued.quantity.checked_add(moved.quantity).ok_or_else(too_large)?;
        valued.value = valued.value.checked_add(moved.value).ok_or_else(too_large)?;
        arrived.set(valued);
        save(&arrived)?;
    }
    let mut moved = request.moved(Kind::Transfer, quantity, value);
    moved.to = Some(to.to_owned());
    moved.lots = taken;
    moves::record(moved, &item.unit)
}

/// The index of lot `code` among `lots`, which must hold `quantity`.
fn named(lots: &[Lot], code: &str, quantity: Decimal, request: &MoveRequest<'_>) -> Result<usize> {
    let i = lots.iter().position(|l| l.lot == code).ok_or_else(|| {
        Error::invalid(format!(
            "lot {code} of {} has no stock at {}",
            request.item, request.location
        ))
    })?;
    if quantity > lots[i].quantity {
        return Err(Error::invalid(format!(
            "lot {code} holds only {} at {}, {quantity} requested",
            lots[i].quantity, request.location
        )));
    }
    Ok(i)
}

/// Corrects one lot to what was counted, or writes it off: `delta` units
/// more (at the lot's cost) or fewer, against the adjustment account.
pub(crate) fn adjust(request: &MoveRequest<'_>, lot: &str) -> Result<Move> {
    let (item, delta) = request.check_adjustment()?;
    let mut lots = lots(&item.code, Some(request.location))?;
    let i = named(&lots, lot, -delta.min(Decimal::ZERO), request)?;
    let settings = ledger_settings()?;
    let mut valued = lots[i].valued();
    let (value, kind) = valued.adjust(delta)?;
    let signed = if kind == ValueChange::Found { value } else { -value };
    lots[i].set(valued);
    catalog::add_level(&item, request.location, delta)?;
    let mut moved = request.moved(Kind::Adjustment, delta.abs(), value);
    moved.journal_entry = post(request, &settings, kind, value, "adjustment")?;
    moved.lots.push(lots[i].moved(delta.abs(), value));
    save(&lots[i])?;
    let (before, after) = revalue(&item.code, delta, signed)?;
    let moved = moves::record(moved, &item.unit)?;
    moves::crossed_reorder_point(REORDER_TOPIC, &item, before, after, &moved)?;
    Ok(moved)
}

/// The item's stock at each location holding some (or at `at` only), with
/// the value of its lots there.
pub(crate) fn on_hand(item: &Item, at: Option<&str>) -> Result<Vec<(Level, Decimal)>> {
    let lots = lots(&item.code, at)?;
    Ok(catalog::levels(&item.code, at)?
        .into_iter()
        .map(|level| {
            let value =
                lots.iter().filter(|lot| lot.location == level.location).map(|lot| lot.value).sum();
            (level, value)
        })
        .collect())
}

/// Lots expired on `on` (their last day was before it) that still hold
/// stock, a page at a time in order of expiry.
pub(crate) fn expired(
    on: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<(Vec<Lot>, Option<String>)> {
    Date::parse(on)?;
    let range = Range::between(None, Some(on.to_owned()));
    let page = LOTS.lookup("by-expiry", &range, cursor, limit)?;
    let lots = page
        .items
        .into_iter()
        .map(|(_, lot)| lot)
        .filter(|lot| fefo::expired(lot.expires.as_deref(), on))
        .collect();
    Ok((lots, page.cursor))
}
