//! The catalogue as data: items, warehouses, locations and the quantity of
//! an item at a location, with the rules each meets.

use keel_values::code::check_code;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{RuleError, quantity};

/// An item of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    /// The item's code.
    pub code: String,
    pub name: String,
    /// What it is counted in: box, kg, each.
    pub unit: String,
    /// Below this much on hand, a reorder event is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_point: Option<Decimal>,
    /// How much to order then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_quantity: Option<Decimal>,
}

/// An item as a client submits it: quantities as decimal strings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// The item's code: letters, digits, `-`, `_` and `.`.
    pub code: String,
    pub name: String,
    /// What it is counted in: box, kg, each.
    pub unit: String,
    /// Below this much on hand (a decimal string), a reorder event is
    /// published.
    #[serde(default)]
    pub reorder_point: Option<String>,
    /// How much to order then, a decimal string.
    #[serde(default)]
    pub reorder_quantity: Option<String>,
}

/// A warehouse, which holds locations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Warehouse {
    pub code: String,
    pub name: String,
}

/// A place in a warehouse where stock is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    pub code: String,
    /// The warehouse's code.
    pub warehouse: String,
    pub name: String,
}

/// How much of an item is at a location.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub item: String,
    pub location: String,
    pub quantity: Decimal,
}

impl NewItem {
    /// The item it asks for: its name and unit trimmed, its reorder point
    /// and quantity parsed, neither negative. The item is checked when it
    /// is created ([`Item::check`]).
    pub fn into_item(self) -> Result<Item, RuleError> {
        let amount = |text: Option<String>, what| {
            text.map(|text| quantity::non_negative(&text, what)).transpose()
        };
        Ok(Item {
            reorder_point: amount(self.reorder_point, "reorder point")?,
            reorder_quantity: amount(self.reorder_quantity, "reorder quantity")?,
            code: self.code,
            name: self.name.trim().to_owned(),
            unit: self.unit.trim().to_owned(),
        })
    }
}

impl Item {
    /// Checks a new item: a valid code, a name and a unit.
    pub fn check(&self) -> Result<(), RuleError> {
        check_code("item", &self.code)?;
        if self.name.trim().is_empty() || self.unit.trim().is_empty() {
            return Err(RuleError::new("an item needs a name and a unit"));
        }
        Ok(())
    }
}

impl Warehouse {
    /// Checks a new warehouse's code.
    pub fn check(&self) -> Result<(), RuleError> {
        check_code("warehouse", &self.code)
    }
}

impl Location {
    /// Checks a new location's code.
    pub fn check(&self) -> Result<(), RuleError> {
        check_code("location", &self.code)
    }
}

impl Level {
    /// Adds `delta` (negative to take out), counted in `unit`; refuses to
    /// take out more than is there, changing nothing.
    pub fn add(&mut self, delta: Decimal, unit: &str) -> Result<(), RuleError> {
        let after = self
            .quantity
            .checked_add(delta)
            .ok_or_else(|| RuleError::new("the quantity on hand would be too large"))?;
        if after < Decimal::ZERO {
            return Err(RuleError::new(format!(
                "only {} {unit} of {} on hand at {}, {} requested",
                self.quantity, self.item, self.location, -delta
            )));
        }
        self.quantity = after;
        Ok(())
    }
}

/// Checks a transfer from `from` to `to`: two different locations.
pub fn check_transfer(from: &str, to: &str) -> Result<(), RuleError> {
    if to == from {
        return Err(RuleError::new("a transfer moves goods between two different locations"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn levels_never_go_below_zero() {
        let mut level = Level { item: "PARA".into(), location: "MAIN-A".into(), quantity: d("5") };
        level.add(d("-2"), "box").unwrap();
        assert_eq!(level.quantity, d("3"));
        let err = level.add(d("-4"), "box").unwrap_err();
        assert_eq!(err.0, "only 3 box of PARA on hand at MAIN-A, 4 requested");
        assert_eq!(level.quantity, d("3"), "a refused move changes nothing");
        level.add(d("-3"), "box").unwrap();
        assert!(level.quantity.is_zero());
    }

    #[test]
    fn a_new_item_is_trimmed_and_its_reorder_figures_parsed() {
        let new = |point: Option<&str>| NewItem {
            code: "PARA".into(),
            name: " Paracetamol ".into(),
            unit: "box ".into(),
            reorder_point: point.map(str::to_owned),
            reorder_quantity: Some("50.0".into()),
        };
        let item = new(Some("10")).into_item().unwrap();
        assert_eq!((item.name.as_str(), item.unit.as_str()), ("Paracetamol", "box"));
        assert_eq!((item.reorder_point, item.reorder_quantity), (Some(d("10")), Some(d("50"))));
        assert_eq!(new(None).into_item().unwrap().reorder_point, None);
        assert!(new(Some("-1")).into_item().unwrap_err().0.contains("reorder point"));
        assert!(new(Some("ten")).into_item().is_err());
        let unknown =
            serde_json::from_str::<NewItem>(r#"{"code":"A","name":"A","unit":"u","colour":"red"}"#);
        assert!(unknown.is_err(), "unknown fields are refused");
    }

    #[test]
    fn new_records_are_checked() {
        let item = |code: &str, name: &str, unit: &str| Item {
            code: code.into(),
            name: name.into(),
            unit: unit.into(),
            reorder_point: None,
            reorder_quantity: None,
        };
        assert!(item("PARA-500", "Paracetamol", "box").check().is_ok());
        assert!(item("para", "Paracetamol", "box").check().unwrap_err().0.contains("item code"));
        assert!(item("PARA", " ", "box").check().unwrap_err().0.contains("a name and a unit"));
        assert!(item("PARA", "Paracetamol", "").check().is_err());
        let warehouse = Warehouse { code: "main".into(), name: "Main".into() };
        assert!(warehouse.check().unwrap_err().0.contains("warehouse code"));
        let location = Location { code: "A B".into(), warehouse: "MAIN".into(), name: "A".into() };
        assert!(location.check().unwrap_err().0.contains("location code"));
        assert!(check_transfer("MAIN-A", "MAIN-A").is_err());
        assert!(check_transfer("MAIN-A", "MAIN-B").is_ok());
    }
}
