//! Aged balances: what each customer owes (or each supplier is owed), by
//! how long past due, in the usual buckets: not yet due, 1 to 30 days, 31
//! to 60, 61 to 90 and over 90.

use std::collections::BTreeMap;

use keel_values::Date;
use rust_decimal::Decimal;

use super::RuleError;

/// One open amount: whose, when it falls due, and how much (negative for
/// a credit note's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    pub party: String,
    pub due: Date,
    pub open: Decimal,
}

/// Amounts by how late they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Buckets {
    /// Not yet due.
    pub current: Decimal,
    /// 1 to 30 days past due.
    pub days_1_30: Decimal,
    /// 31 to 60 days past due.
    pub days_31_60: Decimal,
    /// 61 to 90 days past due.
    pub days_61_90: Decimal,
    /// More than 90 days past due.
    pub over_90: Decimal,
    /// All of them.
    pub total: Decimal,
}

/// One party's line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct AgedRow {
    /// The customer's or the supplier's code.
    pub party: String,
    /// What it owes, or is owed, by how late.
    #[serde(flatten)]
    pub buckets: Buckets,
}

/// The aged balance at a date.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Aged {
    pub rows: Vec<AgedRow>,
    pub totals: Buckets,
}

impl Buckets {
    /// Adds `amount`, `late` days past due (zero or less: not yet due).
    fn add(&mut self, late: i64, amount: Decimal) -> Result<(), RuleError> {
        let bucket = match late {
            ..=0 => &mut self.current,
            1..=30 => &mut self.days_1_30,
            31..=60 => &mut self.days_31_60,
            61..=90 => &mut self.days_61_90,
            _ => &mut self.over_90,
        };
        let overflow = || RuleError::new("aged amounts overflow");
        *bucket = bucket.checked_add(amount).ok_or_else(overflow)?;
        self.total = self.total.checked_add(amount).ok_or_else(overflow)?;
        Ok(())
    }

    fn add_all(&mut self, other: &Buckets) -> Result<(), RuleError> {
        for (late, amount) in [
            (0, other.current),
            (1, other.days_1_30),
            (31, other.days_31_60),
            (61, other.days_61_90),
            (91, other.over_90),
        ] {
            self.add(late, amount)?;
        }
        Ok(())
    }
}

/// Ages `items` at `as_of`: a row per party, by code, and the totals.
pub fn aged(items: &[OpenItem], as_of: &Date) -> Result<Aged, RuleError> {
    let mut rows: BTreeMap<&str, Buckets> = BTreeMap::new();
    for item in items.iter().filter(|i| !i.open.is_zero()) {
        let late = as_of.days() - item.due.days();
        rows.entry(&item.party).or_default().add(late, item.open)?;
    }
    let mut totals = Buckets::default();
    for buckets in rows.values() {
        totals.add_all(buckets)?;
    }
    let rows = rows
        .into_iter()
        .map(|(party, buckets)| AgedRow { party: party.to_owned(), buckets })
        .collect();
    Ok(Aged { rows, totals })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn item(party: &str, due: &str, open: &str) -> OpenItem {
        OpenItem {
            party: party.into(),
            due: Date::parse(due).unwrap(),
            open: Decimal::from_str(open).unwrap(),
        }
    }

    #[test]
    fn amounts_fall_in_the_bucket_of_their_lateness() {
        let as_of = Date::parse("2026-06-30").unwrap();
        let items = [
            item("ACME", "2026-07-15", "100"),
            item("ACME", "2026-06-30", "1"),
            item("ACME", "2026-06-29", "10"),
            item("ACME", "2026-05-31", "20"),
            item("ACME", "2026-05-30", "30"),
            item("ACME", "2026-04-01", "40"),
            item("ACME", "2026-03-31", "50"),
            item("BETA", "2026-01-01", "5"),
            item("BETA", "2026-06-01", "-2"),
            item("ZERO", "2026-01-01", "0"),
        ];
        let aged = aged(&items, &as_of).unwrap();
        let acme = &aged.rows[0].buckets;
        assert_eq!(acme.current, Decimal::from(101), "due today is not late");
        assert_eq!((acme.days_1_30, acme.days_31_60), (Decimal::from(30), Decimal::from(30)));
        assert_eq!((acme.days_61_90, acme.over_90), (Decimal::from(40), Decimal::from(50)));
        assert_eq!(acme.total, Decimal::from(251));
        assert_eq!(aged.rows.len(), 2, "nothing open for ZERO");
        assert_eq!(
            aged.rows[1].buckets.total,
            Decimal::from(3),
            "a credit note's amount counts against"
        );
        assert_eq!(aged.totals.total, Decimal::from(254));
        assert_eq!(aged.totals.over_90, Decimal::from(55));
    }
}
