//! Stock moves as data: what a request asks, the document a move becomes,
//! what its audit record says, and when it crosses a reorder point.

use keel_values::Date;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::RuleError;
use super::quantity;

/// What kind of move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Receipt,
    Issue,
    Transfer,
    Adjustment,
}

/// How much of one lot a move took or brought, for providers that track
/// lots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LotMoved {
    pub lot: String,
    /// The lot's last day of use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Date>")]
    pub expires: Option<String>,
    pub quantity: Decimal,
    pub value: Decimal,
}

/// One stock move, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Move {
    /// Given by [`record`].
    pub number: u64,
    pub kind: Kind,
    pub item: String,
    /// Where the goods arrive, or leave from (a transfer's source).
    pub location: String,
    /// A transfer's destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Positive; an adjustment's sign says which way it went.
    pub quantity: Decimal,
    /// What the move added to (or took out of) the value of stock.
    pub value: Decimal,
    #[schemars(with = "Date")]
    pub date: String,
    pub reference: String,
    /// The journal entry that valued it, if it changed the value of stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_entry: Option<u64>,
    /// The lots it moved, for providers that track them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lots: Vec<LotMoved>,
}

/// A move as a client submits it; which fields a kind of move needs is
/// for its provider to say ([`required`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMove {
    pub item: String,
    pub location: String,
    pub quantity: String,
    pub date: String,
    #[serde(default)]
    pub reference: String,
    /// Receipts only.
    #[serde(default)]
    pub unit_cost: Option<String>,
    /// Transfers only.
    #[serde(default)]
    pub to: Option<String>,
    /// Providers that track lots: the lot received or adjusted.
    #[serde(default)]
    pub lot: Option<String>,
    /// Providers that track lots: a received lot's last day of use.
    #[serde(default)]
    pub expires: Option<String>,
}

/// A request missing a field its kind of move needs, or carrying one its
/// provider does not take: the client's mistake in the request's shape
/// (400), not a broken rule of stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl NewMove {
    /// What every move names.
    pub fn request(&self) -> MoveRequest<'_> {
        MoveRequest {
            item: &self.item,
            location: &self.location,
            quantity: &self.quantity,
            date: &self.date,
            reference: &self.reference,
        }
    }

    /// Refuses lots and expiry dates, for a provider that does not track
    /// them; `instead` says which provider does.
    pub fn without_lots(self, instead: &str) -> Result<Self, Malformed> {
        if self.lot.is_some() || self.expires.is_some() {
            return Err(Malformed(instead.to_owned()));
        }
        Ok(self)
    }
}

/// The field `name`, which this kind of move needs.
pub fn required<'a>(field: &'a Option<String>, name: &str) -> Result<&'a str, Malformed> {
    field.as_deref().ok_or_else(|| Malformed(format!("{name} is required")))
}

/// What every move names.
pub struct MoveRequest<'a> {
    pub item: &'a str,
    pub location: &'a str,
    pub quantity: &'a str,
    pub date: &'a str,
    pub reference: &'a str,
}

impl MoveRequest<'_> {
    /// The positive quantity of a receipt, issue or transfer, on a valid
    /// date.
    pub fn positive_quantity(&self) -> Result<Decimal, RuleError> {
        Date::parse(self.date)?;
        quantity::positive(self.quantity, "quantity")
    }

    /// The signed quantity of an adjustment, on a valid date; never zero.
    pub fn delta(&self) -> Result<Decimal, RuleError> {
        Date::parse(self.date)?;
        let delta = quantity::parse(self.quantity, "quantity")?;
        if delta.is_zero() {
            return Err(RuleError::new("an adjustment changes the quantity: it cannot be zero"));
        }
        Ok(delta)
    }

    /// A move of `kind` from this request, to be completed and recorded.
    pub fn moved(&self, kind: Kind, quantity: Decimal, value: Decimal) -> Move {
        Move {
            number: 0,
            kind,
            item: self.item.to_owned(),
            location: self.location.to_owned(),
            to: None,
            quantity,
            value,
            date: self.date.to_owned(),
            reference: self.reference.to_owned(),
            journal_entry: None,
            lots: Vec::new(),
        }
    }
}

impl Move {
    /// What its audit record says, its item counted in `unit`.
    pub fn detail(&self, unit: &str) -> String {
        let lots: Vec<String> =
            self.lots.iter().map(|l| format!("{} {}", l.quantity, l.lot)).collect();
        format!(
            "{:?} {}: {} {unit} of {} at {}, worth {}{}{}",
            self.kind,
            self.number,
            self.quantity,
            self.item,
            self.location,
            self.value,
            self.journal_entry.map(|n| format!(", journal entry {n}")).unwrap_or_default(),
            if lots.is_empty() { String::new() } else { format!(", lots {}", lots.join(", ")) },
        )
    }
}

/// Whether stock that went from `before` to `after` crossed `point`: from
/// at or above it to below it. An item with no reorder point never does.
pub fn crossed(point: Option<Decimal>, before: Decimal, after: Decimal) -> bool {
    point.is_some_and(|point| before >= point && after < point)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn request<'a>(quantity: &'a str, date: &'a str) -> MoveRequest<'a> {
        MoveRequest { item: "PARA", location: "MAIN-A", quantity, date, reference: "test" }
    }

    #[test]
    fn quantities_and_dates_are_checked() {
        assert_eq!(request("12.50", "2026-03-02").positive_quantity().unwrap(), d("12.5"));
        assert!(request("0", "2026-03-02").positive_quantity().is_err());
        assert!(request("-1", "2026-03-02").positive_quantity().is_err());
        assert!(request("1", "2026-02-30").positive_quantity().unwrap_err().0.contains("date"));
        assert_eq!(request("-3", "2026-03-02").delta().unwrap(), d("-3"));
        let zero = request("0", "2026-03-02").delta().unwrap_err();
        assert!(zero.0.contains("cannot be zero"), "{zero}");
    }

    #[test]
    fn a_move_body_is_read_strictly() {
        let body =
            r#"{"item":"PARA","location":"MAIN-A","quantity":"2","date":"2026-03-02","lot":"L1"}"#;
        let new: NewMove = serde_json::from_str(body).unwrap();
        assert_eq!(new.request().reference, "", "the reference is optional");
        assert_eq!(required(&new.lot, "lot"), Ok("L1"));
        assert_eq!(required(&new.to, "to"), Err(Malformed("to is required".into())));
        let refused = new.without_lots("use a provider that tracks lots").unwrap_err();
        assert_eq!(refused.0, "use a provider that tracks lots");
        let unknown = body.replace("\"lot\"", "\"colour\"");
        assert!(serde_json::from_str::<NewMove>(&unknown).is_err(), "unknown fields are refused");
    }

    #[test]
    fn a_move_says_what_it_moved() {
        let mut moved = request("5", "2026-03-02").moved(Kind::Issue, d("5"), d("10.00"));
        moved.number = 7;
        moved.journal_entry = Some(3);
        assert_eq!(
            moved.detail("box"),
            "Issue 7: 5 box of PARA at MAIN-A, worth 10.00, journal entry 3"
        );
        moved.lots.push(LotMoved {
            lot: "L1".into(),
            expires: None,
            quantity: d("5"),
            value: d("10.00"),
        });
        assert!(moved.detail("box").ends_with(", lots 5 L1"));
    }

    #[test]
    fn the_reorder_point_is_crossed_only_going_below_it() {
        let point = Some(d("10"));
        assert!(crossed(point, d("10"), d("9")));
        assert!(crossed(point, d("15"), d("0")));
        assert!(!crossed(point, d("9"), d("5")), "already below");
        assert!(!crossed(point, d("15"), d("10")), "at the point is not below it");
        assert!(!crossed(point, d("5"), d("15")), "going up");
        assert!(!crossed(None, d("15"), d("0")), "no reorder point");
    }
}
