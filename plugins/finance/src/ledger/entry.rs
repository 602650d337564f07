//! Journal entries: validation of what a client posts.

use std::collections::{BTreeMap, HashMap};

use keel_values::Date;
use keel_values::code::{check_account, check_code, check_currency};
use keel_values::decimal;
use rust_decimal::Decimal;

use super::RuleError;
use super::account::Account;
use super::amount::parse_positive;
use super::balance::Totals;
use super::journal::{self, GENERAL};

/// Most lines one entry may have.
pub const LINES_MAX: usize = 500;
/// Longest memo or reference.
const TEXT_BYTES_MAX: usize = 500;

/// An entry as a client submits it. Amounts stay raw JSON until checked, so
/// that a number instead of a string is a rule error (422), not a parse error.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    /// The accounting date, `YYYY-MM-DD`.
    #[schemars(with = "keel_values::Date")]
    pub date: String,
    /// What the entry is for.
    #[serde(default)]
    pub memo: String,
    /// An outside reference such as an invoice number.
    #[serde(default)]
    pub reference: String,
    /// The journal it is kept in; the general journal if none.
    #[serde(default)]
    pub journal: Option<String>,
    /// The adjustment period it posts into, such as `2026-ADJ`; otherwise
    /// it posts into the period of its date's month.
    #[serde(default)]
    pub period: Option<String>,
    /// The currency its lines' amounts are in; the company's if none.
    #[serde(default)]
    pub currency: Option<String>,
    /// Company-currency units for one unit of `currency`; the rate of the
    /// entry's date if none.
    #[serde(default)]
    pub rate: Option<String>,
    /// The lines.
    pub lines: Vec<NewLine>,
}

/// A submitted line: an account and either a debit or a credit.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    /// The account code.
    pub account: String,
    /// A debit amount, as a decimal string.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub debit: Option<serde_json::Value>,
    /// A credit amount, as a decimal string.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub credit: Option<serde_json::Value>,
    /// The cost centre the line is kept for, such as a department's code.
    #[serde(default)]
    pub cost_centre: Option<String>,
}

/// A posted line: a debit or a credit in the company's currency, and what
/// it was in a foreign currency, if it was.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Line {
    /// The account code.
    pub account: String,
    /// The debit amount, if a debit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit: Option<Decimal>,
    /// The credit amount, if a credit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<Decimal>,
    /// The amount in a foreign currency, on the same side, and its rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign: Option<Foreign>,
    /// The cost centre it is kept for, such as a department's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_centre: Option<String>,
}

/// What a line was in a foreign currency.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Foreign {
    /// The currency, such as `USD`.
    pub currency: String,
    /// The amount in it, on the line's side; zero for an exchange
    /// difference on an account kept in that currency.
    pub amount: Decimal,
    /// Company-currency units for one unit of it.
    pub rate: Decimal,
}

impl Line {
    /// A debit of `amount` in the company's currency.
    pub fn debit(account: impl Into<String>, amount: Decimal) -> Self {
        Self {
            account: account.into(),
            debit: Some(amount),
            credit: None,
            foreign: None,
            cost_centre: None,
        }
    }

    /// A credit of `amount` in the company's currency.
    pub fn credit(account: impl Into<String>, amount: Decimal) -> Self {
        Self {
            account: account.into(),
            debit: None,
            credit: Some(amount),
            foreign: None,
            cost_centre: None,
        }
    }

    /// A debit if `debit`, else a credit.
    pub fn side(account: impl Into<String>, amount: Decimal, debit: bool) -> Self {
        if debit { Self::debit(account, amount) } else { Self::credit(account, amount) }
    }

    /// The line, noting it was `foreign`.
    pub fn with_foreign(self, foreign: Option<Foreign>) -> Self {
        Self { foreign, ..self }
    }

    /// The amount, positive on its side.
    pub fn amount(&self) -> Decimal {
        self.debit.or(self.credit).unwrap_or_default()
    }
}

/// An entry whose shape, amounts and balance are valid; its accounts are
/// still to be resolved against the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedEntry {
    /// The accounting date.
    pub date: Date,
    /// The memo.
    pub memo: String,
    /// The reference.
    pub reference: String,
    /// The journal.
    pub journal: String,
    /// The adjustment period it names, if any.
    pub period: Option<String>,
    /// The entry it reverses, if it is a reversal.
    pub reverses: Option<u64>,
    /// The record that posted it (an invoice, a receipt, a year end), if
    /// not a client by hand: only that record may undo it.
    pub source: Option<String>,
    /// The lines.
    pub lines: Vec<Line>,
    /// The sum of debits, equal to the sum of credits.
    pub total: Decimal,
}

/// A posted journal entry, as stored and returned.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Entry {
    /// The gapless entry number.
    pub number: u64,
    /// The accounting date.
    pub date: Date,
    /// The memo.
    pub memo: String,
    /// The reference.
    pub reference: String,
    /// The journal it is kept in.
    #[serde(default = "general")]
    pub journal: String,
    /// Its number in its journal and fiscal year, such as `SAL/2026/0001`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub journal_number: String,
    /// The period it posted into; none before the tenant had fiscal years.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub period: String,
    /// The entry it reverses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<u64>,
    /// The entry that reversed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversed_by: Option<u64>,
    /// The record that posted it, if not a client by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The currency of every line's account.
    pub currency: String,
    /// The lines.
    pub lines: Vec<Line>,
    /// Total debits (= total credits).
    pub total: Decimal,
    /// When it was posted, Unix seconds from the kernel clock.
    pub posted_at: i64,
    /// Who posted it, if known.
    #[serde(default)]
    pub posted_by: Option<String>,
}

fn general() -> String {
    GENERAL.to_owned()
}

impl NewEntry {
    /// The currency and the rate the client wrote the entry in, if it named
    /// a currency.
    pub fn written_in(&self) -> Result<Option<(String, Option<Decimal>)>, RuleError> {
        let Some(currency) = &self.currency else {
            if self.rate.is_some() {
                return Err(RuleError::new("a rate goes with a currency; name the currency"));
            }
            return Ok(None);
        };
        check_currency(currency)?;
        let rate = self.rate.as_deref().map(|text| decimal::rate(text, "rate")).transpose()?;
        Ok(Some((currency.clone(), rate)))
    }

    /// Checks everything that needs no stored data: date, texts, line count,
    /// amounts, and that debits equal credits.
    pub fn check(self) -> Result<CheckedEntry, RuleError> {
        let date = Date::parse(&self.date)?;
        let journal = self.journal.unwrap_or_else(general);
        journal::check_code(&journal)?;
        for (what, text) in [("memo", &self.memo), ("reference", &self.reference)] {
            if text.len() > TEXT_BYTES_MAX {
                return Err(RuleError::new(format!(
                    "{what} is longer than {TEXT_BYTES_MAX} bytes"
                )));
            }
        }
        if self.lines.len() < 2 {
            return Err(RuleError::new(format!(
                "an entry needs at least two lines; it has {}",
                self.lines.len()
            )));
        }
        if self.lines.len() > LINES_MAX {
            return Err(RuleError::new(format!(
                "an entry may have at most {LINES_MAX} lines; it has {}",
                self.lines.len()
            )));
        }
        let mut lines = Vec::with_capacity(self.lines.len());
        let (mut debits, mut credits) = (Decimal::ZERO, Decimal::ZERO);
        for (idx, line) in self.lines.into_iter().enumerate() {
            let n = idx + 1;
            check_account(&line.account)
                .map_err(|err| RuleError::new(format!("line {n}: {err}")))?;
            if let Some(centre) = &line.cost_centre {
                check_code("cost centre", centre)
                    .map_err(|err| RuleError::new(format!("line {n}: {err}")))?;
            }
            let cost_centre = line.cost_centre;
            let line = match (&line.debit, &line.credit) {
                (Some(debit), None) => {
                    let amount = parse_positive(debit, &format!("line {n} debit"))?;
                    debits = checked_add(debits, amount)?;
                    Line::debit(line.account, amount)
                }
                (None, Some(credit)) => {
                    let amount = parse_positive(credit, &format!("line {n} credit"))?;
                    credits = checked_add(credits, amount)?;
                    Line::credit(line.account, amount)
                }
                _ => {
                    return Err(RuleError::new(format!(
                        "line {n} must have exactly one of debit or credit"
                    )));
                }
            };
            lines.push(Line { cost_centre, ..line });
        }
        if debits != credits {
            return Err(RuleError::new(format!(
                "entry is unbalanced: debits {debits} and credits {credits} differ by {}",
                debits - credits
            )));
        }
        Ok(CheckedEntry {
            date,
            memo: self.memo,
            reference: self.reference,
            journal,
            period: self.period,
            reverses: None,
            source: None,
            lines,
            total: debits,
        })
    }
}

impl CheckedEntry {
    /// The distinct account codes the entry uses, in order.
    pub fn account_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self.lines.iter().map(|l| l.account.clone()).collect();
        codes.sort();
        codes.dedup();
        codes
    }

    /// Checks the accounts exist and each line is in its account's
    /// currency: an account kept in the company's currency (`company`)
    /// takes lines of any currency, one kept in a foreign currency only
    /// lines in that currency. An entry has at most one foreign currency;
    /// returns the entry's currency.
    pub fn resolve(
        &self,
        chart: &HashMap<String, Account>,
        company: &str,
    ) -> Result<String, RuleError> {
        let mut foreign: Option<&str> = None;
        for line in &self.lines {
            let code = &line.account;
            let account = chart
                .get(code)
                .ok_or_else(|| RuleError::new(format!("account {code:?} does not exist")))?;
            let currency = line.foreign.as_ref().map_or(company, |f| f.currency.as_str());
            if account.currency != company && account.currency != currency {
                return Err(RuleError::new(format!(
                    "account {code} is kept in {}; a line in {currency} cannot post to it (post the entry in {})",
                    account.currency, account.currency
                )));
            }
            if currency == company {
                continue;
            }
            match foreign {
                Some(known) if known != currency => {
                    return Err(RuleError::new(format!(
                        "an entry has one foreign currency; it has lines in {known} and {currency}"
                    )));
                }
                _ => foreign = Some(currency),
            }
        }
        Ok(foreign.unwrap_or(company).to_owned())
    }

    /// The debit and credit totals the entry adds to each account.
    pub fn deltas(&self) -> Result<BTreeMap<String, Totals>, RuleError> {
        let mut deltas: BTreeMap<String, Totals> = BTreeMap::new();
        for line in &self.lines {
            let delta = Totals {
                debit: line.debit.unwrap_or_default(),
                credit: line.credit.unwrap_or_default(),
            };
            deltas.entry(line.account.clone()).or_default().add(delta)?;
        }
        Ok(deltas)
    }

    /// The foreign totals the entry adds, by `account/CUR`.
    pub fn foreign_deltas(&self) -> Result<BTreeMap<String, Totals>, RuleError> {
        let mut deltas: BTreeMap<String, Totals> = BTreeMap::new();
        for line in &self.lines {
            let Some(foreign) = &line.foreign else { continue };
            let delta = if line.debit.is_some() {
                Totals { debit: foreign.amount, credit: Decimal::ZERO }
            } else {
                Totals { debit: Decimal::ZERO, credit: foreign.amount }
            };
            deltas
                .entry(format!("{}/{}", line.account, foreign.currency))
                .or_default()
                .add(delta)?;
        }
        Ok(deltas)
    }
}

impl Entry {
    /// The entry that reverses this one, dated `date`, for a client who
    /// asks: refused for an entry a record posted (an invoice, a receipt, a
    /// year end), which that record alone undoes.
    pub fn reversal(&self, date: Date, memo: Option<String>) -> Result<CheckedEntry, RuleError> {
        if let Some(source) = &self.source {
            return Err(RuleError::new(format!(
                "entry {} was posted by {source}; undo it there (a credit note, say), not by reversing its entry",
                self.number
            )));
        }
        self.undo(date, memo, None)
    }

    /// The entry that reverses this one, dated `date`: the same accounts
    /// and amounts with debits and credits swapped, in the same journal,
    /// posted by `source` if a record undoes its own entry.
    pub fn undo(
        &self,
        date: Date,
        memo: Option<String>,
        source: Option<String>,
    ) -> Result<CheckedEntry, RuleError> {
        if let Some(by) = self.reversed_by {
            return Err(RuleError::new(format!(
                "entry {} was reversed already, by entry {by}",
                self.number
            )));
        }
        let lines = self
            .lines
            .iter()
            .map(|l| Line { debit: l.credit, credit: l.debit, ..l.clone() })
            .collect();
        let memo = memo.unwrap_or_else(|| format!("Reversal of entry {}", self.number));
        if memo.len() > TEXT_BYTES_MAX {
            return Err(RuleError::new(format!("memo is longer than {TEXT_BYTES_MAX} bytes")));
        }
        Ok(CheckedEntry {
            date,
            memo,
            reference: self.reference.clone(),
            journal: self.journal.clone(),
            period: None,
            reverses: Some(self.number),
            source,
            lines,
            total: self.total,
        })
    }
}

impl CheckedEntry {
    /// Checks an entry the plugin built itself (an invoice's, a receipt's,
    /// a year end's) as a client's is checked: texts, 2 to 500 lines of one
    /// positive side each, and debits equal to credits.
    pub fn check_built(&self) -> Result<(), RuleError> {
        for (what, text) in [("memo", &self.memo), ("reference", &self.reference)] {
            if text.len() > TEXT_BYTES_MAX {
                return Err(RuleError::new(format!(
                    "{what} is longer than {TEXT_BYTES_MAX} bytes"
                )));
            }
        }
        if self.lines.len() < 2 || self.lines.len() > LINES_MAX {
            return Err(RuleError::new(format!(
                "an entry has 2 to {LINES_MAX} lines; this one {}",
                self.lines.len()
            )));
        }
        let (mut debits, mut credits) = (Decimal::ZERO, Decimal::ZERO);
        for line in &self.lines {
            match (line.debit, line.credit) {
                (Some(amount), None) if amount > Decimal::ZERO => {
                    debits = checked_add(debits, amount)?
                }
                (None, Some(amount)) if amount > Decimal::ZERO => {
                    credits = checked_add(credits, amount)?
                }
                _ => {
                    return Err(RuleError::new(format!(
                        "line on {} must have one positive debit or credit",
                        line.account
                    )));
                }
            }
        }
        if debits != credits || debits != self.total {
            return Err(RuleError::new(format!(
                "entry is unbalanced: debits {debits} and credits {credits}"
            )));
        }
        Ok(())
    }
}

/// Lines as `(account, debit, credit)`, for tests to compare at a glance.
#[cfg(test)]
pub(crate) fn sides(lines: Vec<Line>) -> Vec<(String, Option<Decimal>, Option<Decimal>)> {
    lines.into_iter().map(|l| (l.account, l.debit, l.credit)).collect()
}

fn checked_add(a: Decimal, b: Decimal) -> Result<Decimal, RuleError> {
    a.checked_add(b).ok_or_else(|| RuleError::new("amounts overflow"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ledger::account::AccountType;

    fn entry(lines: serde_json::Value) -> Result<CheckedEntry, RuleError> {
        let raw: NewEntry =
            serde_json::from_value(json!({ "date": "2026-03-01", "memo": "m", "lines": lines }))
                .unwrap();
        raw.check()
    }

    fn chart() -> HashMap<String, Account> {
        [("1000", "EUR"), ("4000", "EUR"), ("9000", "USD")]
            .into_iter()
            .map(|(code, currency)| {
                let account = Account {
                    code: code.into(),
                    name: code.into(),
                    kind: AccountType::Asset,
                    currency: currency.into(),
                };
                (code.to_owned(), account)
            })
            .collect()
    }

    #[test]
    fn balanced_entry_is_accepted() {
        let checked = entry(json!([
            { "account": "1000", "debit": "100.50" },
            { "account": "4000", "credit": "60.25" },
            { "account": "4000", "credit": "40.25" },
        ]))
        .unwrap();
        assert_eq!(checked.total.to_string(), "100.50");
        assert_eq!(checked.resolve(&chart(), "EUR").unwrap(), "EUR");
        let deltas = checked.deltas().unwrap();
        assert_eq!(deltas["4000"].credit.to_string(), "100.50");
        assert_eq!(deltas["1000"].debit.to_string(), "100.50");
    }

    #[test]
    fn broken_entries_are_rejected_with_reasons() {
        let cases = [
            (
                json!([{ "account": "1000", "debit": "100" }, { "account": "4000", "credit": "99.99" }]),
                "unbalanced",
            ),
            (json!([]), "at least two lines"),
            (json!([{ "account": "1000", "debit": "1" }]), "at least two lines"),
            (
                json!([{ "account": "1000", "debit": "-1" }, { "account": "4000", "credit": "-1" }]),
                "greater than zero",
            ),
            (
                json!([{ "account": "1000", "debit": 1 }, { "account": "4000", "credit": 1 }]),
                "decimal string",
            ),
            (
                json!([{ "account": "1000", "debit": "1x" }, { "account": "4000", "credit": "1" }]),
                "debit \"1x\" must be a decimal string",
            ),
            (
                json!([{ "account": "1000", "debit": "1", "credit": "1" }, { "account": "4000", "credit": "1" }]),
                "exactly one",
            ),
            (json!([{ "account": "1000" }, { "account": "4000", "credit": "1" }]), "exactly one"),
            (
                json!([{ "account": "", "debit": "1" }, { "account": "4000", "credit": "1" }]),
                "code",
            ),
        ];
        for (lines, needle) in cases {
            let err = entry(lines.clone()).unwrap_err().0;
            assert!(err.contains(needle), "{lines}: {err:?} should mention {needle:?}");
        }
    }

    #[test]
    fn line_limit_is_enforced_at_the_boundary() {
        let lines = |n: usize| {
            let mut lines = vec![json!({ "account": "1000", "debit": format!("{}", n - 1) })];
            lines.extend((1..n).map(|_| json!({ "account": "4000", "credit": "1" })));
            json!(lines)
        };
        assert!(entry(lines(LINES_MAX)).is_ok());
        assert!(entry(lines(LINES_MAX + 1)).unwrap_err().0.contains("at most"));
    }

    #[test]
    fn accounts_must_exist_and_take_lines_of_their_currency() {
        let unknown = entry(
            json!([{ "account": "1000", "debit": "1" }, { "account": "7777", "credit": "1" }]),
        )
        .unwrap();
        assert!(unknown.resolve(&chart(), "EUR").unwrap_err().0.contains("does not exist"));
        let mixed = entry(
            json!([{ "account": "1000", "debit": "1" }, { "account": "9000", "credit": "1" }]),
        )
        .unwrap();
        let err = mixed.resolve(&chart(), "EUR").unwrap_err().0;
        assert!(err.contains("account 9000 is kept in USD; a line in EUR"), "{err}");
        let mut in_usd = mixed;
        for line in &mut in_usd.lines {
            let foreign =
                Foreign { currency: "USD".into(), amount: line.amount(), rate: Decimal::ONE };
            line.foreign = Some(foreign);
        }
        assert_eq!(in_usd.resolve(&chart(), "EUR").unwrap(), "USD");
        in_usd.lines[1].foreign.as_mut().unwrap().currency = "GBP".into();
        let err = in_usd.resolve(&chart(), "EUR").unwrap_err().0;
        assert!(err.contains("kept in USD; a line in GBP"), "{err}");
    }

    #[test]
    fn bad_dates_are_rejected() {
        let raw: NewEntry = serde_json::from_value(json!({
            "date": "2026-02-30",
            "lines": [{ "account": "1000", "debit": "1" }, { "account": "4000", "credit": "1" }],
        }))
        .unwrap();
        assert!(raw.check().unwrap_err().0.contains("date"));
    }

    fn posted(checked: CheckedEntry, number: u64) -> Entry {
        Entry {
            number,
            date: checked.date,
            memo: checked.memo,
            reference: checked.reference,
            journal: checked.journal,
            journal_number: String::new(),
            period: String::new(),
            reverses: checked.reverses,
            reversed_by: None,
            source: checked.source,
            currency: "EUR".into(),
            lines: checked.lines,
            total: checked.total,
            posted_at: 0,
            posted_by: None,
        }
    }

    #[test]
    fn a_reversal_swaps_every_line_once() {
        let original = posted(
            entry(json!([
                { "account": "1000", "debit": "100.50" },
                { "account": "4000", "credit": "100.50" },
            ]))
            .unwrap(),
            7,
        );
        let date = Date::parse("2026-04-01").unwrap();
        let reversal = original.reversal(date.clone(), None).unwrap();
        assert_eq!((reversal.reverses, reversal.journal.as_str()), (Some(7), "GEN"));
        assert_eq!(reversal.memo, "Reversal of entry 7");
        assert_eq!(reversal.lines[0].credit, original.lines[0].debit);
        assert_eq!(reversal.lines[1].debit, original.lines[1].credit);
        assert_eq!(reversal.total, original.total);
        let mut reversed = original;
        reversed.reversed_by = Some(9);
        let err = reversed.reversal(date.clone(), None).unwrap_err().0;
        assert_eq!(err, "entry 7 was reversed already, by entry 9");
        let mut invoiced = reversed;
        (invoiced.reversed_by, invoiced.source) = (None, Some("invoice CI-000001".into()));
        let err = invoiced.reversal(date.clone(), None).unwrap_err().0;
        assert!(err.contains("posted by invoice CI-000001; undo it there"), "{err}");
        let undone = invoiced.undo(date, None, Some("credit".into())).unwrap();
        assert_eq!(undone.source.as_deref(), Some("credit"));
        undone.check_built().unwrap();
        let mut broken = undone;
        broken.lines[0].credit = None;
        assert!(broken.check_built().is_err());
    }

    proptest::proptest! {
        /// Any balanced entries keep debits equal to credits on every
        /// account together, and reversing each brings every account back
        /// to nothing.
        #[test]
        fn postings_balance_and_reversals_undo_them(
            entries in proptest::collection::vec(
                proptest::collection::vec((0usize..4, 1i64..100_000_000), 1..6),
                1..20,
            )
        ) {
            let accounts = ["1000", "2000", "4000", "5000"];
            fn post(totals: &mut BTreeMap<String, Totals>, checked: &CheckedEntry) {
                for (code, delta) in checked.deltas().unwrap() {
                    totals.entry(code).or_default().add(delta).unwrap();
                }
            }
            let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
            let mut posted_entries = Vec::new();
            for (n, debits) in entries.iter().enumerate() {
                // Each debit is balanced by a credit to the next account.
                let mut lines = Vec::new();
                for &(at, cents) in debits {
                    let amount = format!("{}.{:02}", cents / 100, cents % 100);
                    lines.push(json!({ "account": accounts[at], "debit": amount }));
                    lines.push(json!({ "account": accounts[(at + 1) % 4], "credit": amount }));
                }
                let checked = entry(json!(lines)).unwrap();
                post(&mut totals, &checked);
                posted_entries.push(posted(checked, n as u64 + 1));
            }
            let mut all = Totals::default();
            for t in totals.values() {
                all.add(*t).unwrap();
            }
            proptest::prop_assert_eq!(all.debit, all.credit);
            for original in &posted_entries {
                let date = Date::parse("2026-12-31").unwrap();
                post(&mut totals, &original.reversal(date, None).unwrap());
            }
            for (code, t) in &totals {
                proptest::prop_assert_eq!(t.debit, t.credit, "account {} not back to nothing", code);
            }
        }
    }
}
