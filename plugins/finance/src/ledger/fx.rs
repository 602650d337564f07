//! Foreign currencies. The ledger keeps its books in the company's
//! currency; an entry, invoice or payable in another currency keeps on
//! each line the foreign amount and the rate beside the company-currency
//! amount. Rates are entered by date; an amount is converted at the
//! latest rate of the [`RATE_DAYS_MAX`] days up to its date.
//!
//! Settling a foreign item at another rate than it was booked at posts a
//! realised difference. A period-end revaluation restates what is still
//! open (foreign invoices and payables, and accounts kept in a foreign
//! currency) at the period's closing rate; its entry is reversed on the
//! first day of the next period, so that settlements keep clearing items
//! at the rate they were booked at.

use std::collections::{BTreeMap, BTreeSet};

use keel_values::Date;
use keel_values::code::check_currency;
use keel_values::decimal::{self, Sign, cents};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RuleError;
use super::entry::{CheckedEntry, Foreign, Line};
use super::tax::shares;

/// A rate is used for up to this many days after its date; an amount dated
/// later than that with no newer rate is refused.
pub const RATE_DAYS_MAX: u32 = 31;
/// Most rates one CSV import may hold: a call writes each, within the
/// kernel's writes per call.
pub const IMPORT_ROWS_MAX: usize = 5_000;

/// An exchange rate: company-currency units for one unit of `currency`,
/// from `date` on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ExchangeRate")]
pub struct Rate {
    /// The currency, such as `USD`.
    pub currency: String,
    /// The day it is from.
    pub date: Date,
    /// Company-currency units for one unit of `currency`.
    pub rate: Decimal,
}

/// A rate as a client enters it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NewExchangeRate")]
pub struct NewRate {
    /// The currency, such as `USD`, not the company's.
    pub currency: String,
    /// The day it is from.
    #[schemars(with = "keel_values::Date")]
    pub date: String,
    /// Company-currency units for one unit of `currency`, as a decimal
    /// string, such as `"0.9215"`.
    pub rate: String,
}

impl NewRate {
    /// Checks the rate of a currency other than `company`.
    pub fn check(self, company: &str) -> Result<Rate, RuleError> {
        check_currency(&self.currency)?;
        if self.currency == company {
            return Err(RuleError::new(format!(
                "{company} is the company's currency; its rate is 1 and is not entered"
            )));
        }
        Ok(Rate {
            date: Date::parse(&self.date)?,
            rate: decimal::rate(&self.rate, "rate")?,
            currency: self.currency,
        })
    }
}

/// The rates of a CSV file: a header naming the columns `currency`,
/// `date` and `rate` (in any order, among others), then one rate a row.
/// Errors name the row.
pub fn parse_csv(text: &str, company: &str) -> Result<Vec<Rate>, RuleError> {
    let mut rows = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty());
    let Some((_, header)) = rows.next() else {
        return Err(RuleError::new("the file is empty; its first row names currency, date, rate"));
    };
    let names: Vec<String> = header.split(',').map(|n| n.trim().to_lowercase()).collect();
    let column = |name: &str| {
        names.iter().position(|n| n == name).ok_or_else(|| {
            RuleError::new(format!(
                "the header {header:?} has no {name} column; it names currency, date, rate"
            ))
        })
    };
    let (currency, date, rate) = (column("currency")?, column("date")?, column("rate")?);
    let mut rates: Vec<Rate> = Vec::new();
    let mut seen: BTreeSet<(String, Date)> = BTreeSet::new();
    for (index, line) in rows {
        let row = index + 1;
        if rates.len() == IMPORT_ROWS_MAX {
            return Err(RuleError::new(format!(
                "a file holds at most {IMPORT_ROWS_MAX} rates; split it"
            )));
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let cell = |at: usize| cells.get(at).copied().unwrap_or_default().to_owned();
        let new = NewRate { currency: cell(currency), date: cell(date), rate: cell(rate) };
        let parsed = new.check(company).map_err(|err| err.within(&format!("row {row}")))?;
        if !seen.insert((parsed.currency.clone(), parsed.date.clone())) {
            return Err(RuleError::new(format!(
                "row {row}: {} on {} is in the file twice",
                parsed.currency, parsed.date
            )));
        }
        rates.push(parsed);
    }
    Ok(rates)
}

/// The first day whose rate may serve for `date`.
pub fn window_start(date: &Date) -> Date {
    Date::from_days(date.days() - i64::from(RATE_DAYS_MAX)).unwrap_or_else(|_| date.clone())
}

/// The rate of `currency` for `date`: the latest of `candidates` (its
/// rates from [`window_start`] to `date`) on or before `date`.
pub fn rate_for(currency: &str, date: &Date, candidates: &[Rate]) -> Result<Decimal, RuleError> {
    candidates
        .iter()
        .filter(|r| r.currency == currency && r.date <= *date)
        .max_by(|a, b| a.date.cmp(&b.date))
        .map(|r| r.rate)
        .ok_or_else(|| {
            RuleError::new(format!(
                "no {currency} exchange rate on {date} or in the {RATE_DAYS_MAX} days before; enter one with POST /exchange-rates or give the rate"
            ))
        })
}

/// `amount` of a foreign currency in the company's, at `rate`, to the cent.
pub fn convert(amount: Decimal, rate: Decimal) -> Result<Decimal, RuleError> {
    let converted = amount
        .checked_mul(rate)
        .map(cents)
        .ok_or_else(|| RuleError::new(format!("{amount} at the rate {rate} is too large")))?;
    decimal::check_amount(converted, &format!("{amount} at the rate {rate}"), Sign::Any)
}

/// Converts an entry written in `currency` at `rate` into the company's
/// currency: its total is converted once, then shared over its debits and
/// over its credits to the cent, so that it still balances. Each line
/// keeps its foreign amount and the rate.
pub fn convert_entry(
    entry: &mut CheckedEntry,
    currency: &str,
    rate: Decimal,
) -> Result<(), RuleError> {
    let total = convert(entry.total, rate)?;
    for debits in [true, false] {
        let on_side: Vec<usize> =
            (0..entry.lines.len()).filter(|&i| entry.lines[i].debit.is_some() == debits).collect();
        let weights: Vec<Decimal> = on_side.iter().map(|&i| entry.lines[i].amount()).collect();
        for (&i, company) in on_side.iter().zip(shares(total, &weights)) {
            let line = &mut entry.lines[i];
            let amount = line.amount();
            if company.is_zero() {
                return Err(RuleError::new(format!(
                    "line {}: {currency} {amount} at {rate} is less than a cent",
                    i + 1
                )));
            }
            let foreign = Foreign { currency: currency.to_owned(), amount, rate };
            *line = Line {
                cost_centre: line.cost_centre.take(),
                ..Line::side(line.account.clone(), company, debits).with_foreign(Some(foreign))
            };
        }
    }
    entry.total = total;
    Ok(())
}

/// What settling `amount` of a foreign item that has `open` left, carried
/// at `carried` in the company's currency and booked at `rate`, takes off
/// its carrying amount: all of it when the item is settled in full, else
/// its share at the booked rate.
pub fn cleared(
    amount: Decimal,
    open: Decimal,
    carried: Decimal,
    rate: Decimal,
) -> Result<Decimal, RuleError> {
    if amount == open { Ok(carried) } else { Ok(convert(amount, rate)?.min(carried)) }
}

/// The accounts exchange differences go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DifferenceAccounts {
    /// An income account credited with gains.
    pub gain: String,
    /// An expense account debited with losses.
    pub loss: String,
}

impl DifferenceAccounts {
    /// The line that books an exchange difference that leaves the company
    /// `difference` better off (worse off when negative); none for zero.
    pub fn line(&self, difference: Decimal) -> Option<Line> {
        match difference.cmp(&Decimal::ZERO) {
            std::cmp::Ordering::Greater => Some(Line::credit(&self.gain, difference)),
            std::cmp::Ordering::Less => Some(Line::debit(&self.loss, -difference)),
            std::cmp::Ordering::Equal => None,
        }
    }
}

/// Something open in a foreign currency at a period's end: an invoice, a
/// payable, or the balance of an account kept in that currency. Amounts
/// are signed, debits positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    /// What it is, such as `invoice CI-000003` or `account 1110`.
    pub what: String,
    /// The account it is carried on.
    pub account: String,
    /// Whether that account is kept in `currency` (then its revaluation
    /// lines carry the currency, with no foreign amount).
    pub foreign_account: bool,
    pub currency: String,
    /// What is open in the currency.
    pub foreign: Decimal,
    /// What it is carried at in the company's currency.
    pub carrying: Decimal,
}

/// A period-end revaluation, as stored and returned.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Revaluation {
    /// The month's last day it is at.
    pub date: Date,
    /// The closing rate of each currency revalued.
    pub rates: BTreeMap<String, Decimal>,
    /// What was revalued.
    pub items: Vec<Revalued>,
    /// Revalued less carrying, over all items: a gain when positive.
    pub net: Decimal,
    /// The entries that posted the differences, one per currency; none
    /// when nothing changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journal_entries: Vec<u64>,
    /// The entries that reversed them the next day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reversal_entries: Vec<u64>,
}

/// One item of a revaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Revalued {
    /// What it is, such as `invoice CI-000003 (SAL/2026/0003)` or
    /// `account 1110`.
    pub what: String,
    /// The account it is carried on.
    pub account: String,
    /// Its currency.
    pub currency: String,
    /// What is open in the currency, debits positive.
    pub foreign: Decimal,
    /// What it was carried at in the company's currency.
    pub carrying: Decimal,
    /// The closing rate.
    pub rate: Decimal,
    /// The foreign amount at the closing rate.
    pub revalued: Decimal,
    /// Revalued less carrying: a gain on an asset when positive, on a
    /// liability when negative.
    pub difference: Decimal,
}

/// Restates `exposures` at the closing `rates` (by currency): each item's
/// difference, and the lines of the entry that books them: each account's
/// differences together, against one unrealised gain or loss. No lines
/// when nothing changed.
pub fn revalue(
    exposures: &[Exposure],
    rates: &BTreeMap<String, Decimal>,
    accounts: &DifferenceAccounts,
) -> Result<(Vec<Revalued>, Vec<Line>), RuleError> {
    let overflow = || RuleError::new("revaluation amounts overflow");
    let mut items = Vec::with_capacity(exposures.len());
    let mut by_account: BTreeMap<(String, Option<String>), (Decimal, Decimal)> = BTreeMap::new();
    let mut net = Decimal::ZERO;
    for exposure in exposures {
        let rate = *rates
            .get(&exposure.currency)
            .ok_or_else(|| RuleError::new(format!("no closing rate for {}", exposure.currency)))?;
        let revalued = convert(exposure.foreign, rate)?;
        let difference = revalued.checked_sub(exposure.carrying).ok_or_else(overflow)?;
        items.push(Revalued {
            what: exposure.what.clone(),
            account: exposure.account.clone(),
            currency: exposure.currency.clone(),
            foreign: exposure.foreign,
            carrying: exposure.carrying,
            rate,
            revalued,
            difference,
        });
        if difference.is_zero() {
            continue;
        }
        let kept_in = exposure.foreign_account.then(|| exposure.currency.clone());
        let sum =
            by_account.entry((exposure.account.clone(), kept_in)).or_insert((rate, Decimal::ZERO));
        sum.1 = sum.1.checked_add(difference).ok_or_else(overflow)?;
        net = net.checked_add(difference).ok_or_else(overflow)?;
    }
    let mut lines = Vec::new();
    for ((account, kept_in), (rate, difference)) in by_account {
        if difference.is_zero() {
            continue;
        }
        let foreign = kept_in.map(|currency| Foreign { currency, amount: Decimal::ZERO, rate });
        lines.push(
            Line::side(account, difference.abs(), difference > Decimal::ZERO).with_foreign(foreign),
        );
    }
    lines.extend(accounts.line(net));
    Ok((items, lines))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::ledger::entry::NewEntry;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn rate(currency: &str, on: &str, rate: &str) -> Rate {
        Rate { currency: currency.into(), date: date(on), rate: d(rate) }
    }

    #[test]
    fn the_latest_rate_of_the_window_serves() {
        let rates = [rate("USD", "2026-03-02", "0.92"), rate("USD", "2026-03-05", "0.93")];
        assert_eq!(rate_for("USD", &date("2026-03-04"), &rates).unwrap(), d("0.92"));
        assert_eq!(rate_for("USD", &date("2026-03-05"), &rates).unwrap(), d("0.93"));
        let err = rate_for("USD", &date("2026-03-01"), &rates).unwrap_err().0;
        assert!(err.contains("no USD exchange rate on 2026-03-01"), "{err}");
        assert!(rate_for("GBP", &date("2026-03-05"), &rates).is_err());
        let huge = convert(d("999999999999999"), d("999999999")).unwrap_err().0;
        assert!(huge.contains("too large"), "{huge}");
        assert_eq!(window_start(&date("2026-03-05")), date("2026-02-02"));
    }

    #[test]
    fn rates_are_checked() {
        let new = |currency: &str, rate: &str| NewRate {
            currency: currency.into(),
            date: "2026-03-01".into(),
            rate: rate.into(),
        };
        assert_eq!(new("USD", "0.9215").check("EUR").unwrap().rate, d("0.9215"));
        assert!(new("EUR", "1").check("EUR").unwrap_err().0.contains("company's currency"));
        assert!(new("usd", "1").check("EUR").unwrap_err().0.contains("currency"));
        assert!(new("USD", "0").check("EUR").unwrap_err().0.contains("greater than zero"));
    }

    #[test]
    fn a_csv_file_of_rates_is_read_by_its_header() {
        let text =
            "date,currency,rate,source\n2026-03-01,USD,0.92,ECB\n\n2026-03-01,GBP,1.17,ECB\n";
        let rates = parse_csv(text, "EUR").unwrap();
        assert_eq!(rates, [rate("USD", "2026-03-01", "0.92"), rate("GBP", "2026-03-01", "1.17")]);
        let err = parse_csv("date,currency\n", "EUR").unwrap_err().0;
        assert!(err.contains("no rate column"), "{err}");
        let err = parse_csv("currency,date,rate\nUSD,2026-03-01,x\n", "EUR").unwrap_err().0;
        assert!(err.starts_with("row 2:"), "{err}");
        let twice = "currency,date,rate\nUSD,2026-03-01,1\nUSD,2026-03-01,2\n";
        assert!(parse_csv(twice, "EUR").unwrap_err().0.contains("row 3: USD on 2026-03-01"));
        assert!(parse_csv("", "EUR").unwrap_err().0.contains("empty"));
    }

    fn entry(lines: serde_json::Value) -> CheckedEntry {
        let new: NewEntry = serde_json::from_value(
            serde_json::json!({ "date": "2026-03-10", "currency": "USD", "lines": lines }),
        )
        .unwrap();
        new.check().unwrap()
    }

    #[test]
    fn an_entry_is_converted_once_and_still_balances() {
        // 3 × 33.33 = 99.99 USD at 0.9215 is 92.140785: 92.14 EUR, shared.
        let mut checked = entry(serde_json::json!([
            { "account": "1200", "debit": "99.99" },
            { "account": "4000", "credit": "33.33" },
            { "account": "4000", "credit": "33.33" },
            { "account": "4100", "credit": "33.33" },
        ]));
        convert_entry(&mut checked, "USD", d("0.9215")).unwrap();
        assert_eq!(checked.total, d("92.14"));
        let credits: Vec<Decimal> = checked.lines[1..].iter().map(|l| l.credit.unwrap()).collect();
        assert_eq!(credits.iter().sum::<Decimal>(), d("92.14"));
        assert!(credits.iter().all(|c| *c == d("30.71") || *c == d("30.72")), "{credits:?}");
        let foreign = checked.lines[0].foreign.clone().unwrap();
        assert_eq!(
            (foreign.currency.as_str(), foreign.amount, foreign.rate),
            ("USD", d("99.99"), d("0.9215"))
        );
        checked.check_built().unwrap();
        let mut tiny = entry(serde_json::json!([
            { "account": "1200", "debit": "0.01" },
            { "account": "4000", "credit": "0.01" },
        ]));
        assert!(
            convert_entry(&mut tiny, "JPY", d("0.006")).unwrap_err().0.contains("less than a cent")
        );
    }

    #[test]
    fn settling_in_full_clears_all_that_is_carried() {
        assert_eq!(cleared(d("1000"), d("1000"), d("900.01"), d("0.9")).unwrap(), d("900.01"));
        assert_eq!(cleared(d("400"), d("1000"), d("900.01"), d("0.9")).unwrap(), d("360.00"));
    }

    #[test]
    fn differences_go_to_gain_or_loss() {
        let accounts = DifferenceAccounts { gain: "4950".into(), loss: "6950".into() };
        assert_eq!(accounts.line(d("5")), Some(Line::credit("4950", d("5"))));
        assert_eq!(accounts.line(d("-5")), Some(Line::debit("6950", d("5"))));
        assert_eq!(accounts.line(Decimal::ZERO), None);
    }

    #[test]
    fn a_revaluation_restates_what_is_open_at_the_closing_rate() {
        let accounts = DifferenceAccounts { gain: "4950".into(), loss: "6950".into() };
        let exposure =
            |what: &str, account: &str, kept: bool, foreign: &str, carrying: &str| Exposure {
                what: what.into(),
                account: account.into(),
                foreign_account: kept,
                currency: "USD".into(),
                foreign: d(foreign),
                carrying: d(carrying),
            };
        let exposures = [
            // A receivable of USD 1,000 booked at 0.90, a payable of USD 500
            // booked at 0.92, and USD 2,000 in a USD bank account carried at
            // 1,830.00; the closing rate is 0.95.
            exposure("invoice CI-000001", "1200", false, "1000", "900"),
            exposure("payable AP-000001", "2000", false, "-500", "-460"),
            exposure("account 1110", "1110", true, "2000", "1830"),
        ];
        let rates = BTreeMap::from([("USD".to_owned(), d("0.95"))]);
        let (items, lines) = revalue(&exposures, &rates, &accounts).unwrap();
        let differences: Vec<Decimal> = items.iter().map(|i| i.difference).collect();
        assert_eq!(differences, [d("50.00"), d("-15.00"), d("70.00")]);
        let sides: Vec<_> = lines.iter().map(|l| (l.account.as_str(), l.debit, l.credit)).collect();
        assert_eq!(
            sides,
            [
                ("1110", Some(d("70.00")), None),
                ("1200", Some(d("50.00")), None),
                ("2000", None, Some(d("15.00"))),
                ("4950", None, Some(d("105.00"))),
            ]
        );
        assert_eq!(lines[0].foreign.as_ref().map(|f| f.amount), Some(Decimal::ZERO));
        assert_eq!(lines[1].foreign, None);
        assert!(revalue(&exposures, &BTreeMap::new(), &accounts).is_err());
    }

    proptest::proptest! {
        /// However its lines and the rate fall, a converted entry still
        /// balances to the cent, at its total converted once, and each line
        /// keeps its foreign amount.
        #[test]
        fn a_converted_entry_balances(
            debits in proptest::collection::vec(1i64..10_000_000, 1..8),
            splits in 1usize..6,
            rate in 1i64..100_000_000,
        ) {
            let total: i64 = debits.iter().sum();
            let mut lines: Vec<serde_json::Value> = debits
                .iter()
                .map(|c| serde_json::json!({ "account": "1200", "debit": format!("{}.{:02}", c / 100, c % 100) }))
                .collect();
            // The credits: `splits` parts of the total, the last taking the rest.
            let part = total / splits as i64;
            for n in 0..splits {
                let cents = if n + 1 == splits { total - part * (splits as i64 - 1) } else { part };
                if cents > 0 {
                    lines.push(serde_json::json!({ "account": "4000", "credit": format!("{}.{:02}", cents / 100, cents % 100) }));
                }
            }
            let mut checked = entry(serde_json::json!(lines));
            let rate = Decimal::new(rate, 6);
            if convert_entry(&mut checked, "USD", rate).is_ok() {
                checked.check_built().unwrap();
                proptest::prop_assert_eq!(checked.total, convert(Decimal::new(total, 2), rate).unwrap());
                let foreign: Decimal = checked.lines.iter().filter(|l| l.debit.is_some()).map(|l| l.foreign.as_ref().unwrap().amount).sum();
                proptest::prop_assert_eq!(foreign, Decimal::new(total, 2));
            }
        }
    }
}
