//! Bank reconciliation: a bank statement read from CSV through a column
//! mapping, its lines checked against its opening and closing balances,
//! and each line matched to the ledger's movement on the bank account by
//! amount, date and reference.

use keel_values::Date;
use keel_values::code::check_account;
use keel_values::decimal::{self, Sign};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RuleError;
use super::camt;

/// Most lines one statement may have.
pub const LINES_MAX: usize = 5_000;
/// Furthest apart, in days, a statement line and the entry it matches may
/// be dated when matched automatically.
pub const MATCH_DAYS: i64 = 7;
/// Most days one statement may span, first line to last; and how far back
/// before a statement its reconciliation looks for items still
/// outstanding (an uncashed cheque).
pub const SPAN_DAYS: i64 = 92;

/// Which CSV column holds what (by header name).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The column of the dates.
    pub date: String,
    /// The column of the amounts: money in positive, money out negative.
    pub amount: String,
    /// The column of the bank's references, if any.
    #[serde(default)]
    pub reference: Option<String>,
    /// The column of the descriptions, if any.
    #[serde(default)]
    pub description: Option<String>,
}

/// How the statement writes its dates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum DateFormat {
    /// `2026-03-31`.
    #[default]
    #[serde(rename = "YYYY-MM-DD")]
    Iso,
    /// `31/03/2026`.
    #[serde(rename = "DD/MM/YYYY")]
    DayFirst,
    /// `03/31/2026`.
    #[serde(rename = "MM/DD/YYYY")]
    MonthFirst,
}

/// A statement as a client imports it: CSV with a column mapping and the
/// balances the bank prints, or a CAMT.053 file, which holds its balances.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStatement {
    /// The bank account of the ledger it is for.
    pub account: String,
    /// The statement, as CSV with a header row.
    #[serde(default)]
    pub csv: Option<String>,
    /// Which of the CSV's columns holds what; with `csv`.
    #[serde(default)]
    pub mapping: Option<Mapping>,
    /// How the CSV writes its dates; `YYYY-MM-DD` if none.
    #[serde(default)]
    pub date_format: DateFormat,
    /// The balance before its first line, as the bank prints it, as a
    /// decimal string; with `csv`.
    #[serde(default)]
    pub opening_balance: Option<String>,
    /// The balance after its last line, as the bank prints it, as a
    /// decimal string; with `csv`.
    #[serde(default)]
    pub closing_balance: Option<String>,
    /// The statement as an ISO 20022 CAMT.053 document.
    #[serde(default)]
    pub camt053: Option<String>,
}

/// A statement's content, read from either format.
struct Read {
    opening: Decimal,
    closing: Decimal,
    lines: Vec<StatementLine>,
    /// The currency the file names, if it names one.
    currency: Option<String>,
}

/// Where a statement line stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum LineStatus {
    /// Neither matched nor posted yet.
    Unmatched,
    /// Matched to an entry already in the ledger.
    Matched {
        /// The entry's number.
        entry: u64,
    },
    /// Posted from the statement to an account the user chose.
    Posted {
        /// The number of the entry it posted.
        entry: u64,
    },
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "BankStatementLine")]
pub struct StatementLine {
    /// Its position, from 1.
    pub line: u32,
    /// Its date.
    pub date: Date,
    /// Money in positive, money out negative.
    pub amount: Decimal,
    /// The bank's reference.
    pub reference: String,
    /// What the bank says it is.
    pub description: String,
    /// Whether it is matched or posted, and to which entry.
    #[serde(flatten)]
    pub status: LineStatus,
}

/// A statement, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "BankStatement")]
pub struct Statement {
    /// `BS-000001`.
    pub id: String,
    /// The bank account of the ledger it is for.
    pub account: String,
    /// The currency a CAMT.053 file names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The balance before its first line.
    pub opening_balance: Decimal,
    /// The balance after its last line.
    pub closing_balance: Decimal,
    /// Its first line's date.
    pub from: Date,
    /// Its last line's date.
    pub to: Date,
    /// Its lines, in the order of the file.
    pub lines: Vec<StatementLine>,
}

/// A movement of the ledger's bank account that a line may match: an
/// entry's number, date, references and what it moved on the account
/// (debits positive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub entry: u64,
    pub date: Date,
    pub references: Vec<String>,
    pub amount: Decimal,
}

impl NewStatement {
    /// Reads the statement: the CSV through the mapping, every line a date
    /// and an amount, and the lines adding up from the opening to the
    /// closing balance.
    pub fn read(self, id: String) -> Result<Statement, RuleError> {
        check_account(&self.account)?;
        let read = match (&self.camt053, &self.csv) {
            (Some(xml), None) => {
                if self.mapping.is_some()
                    || self.opening_balance.is_some()
                    || self.closing_balance.is_some()
                {
                    return Err(RuleError::new(
                        "a CAMT.053 file holds its own balances and fields; send no mapping or balances with it",
                    ));
                }
                let camt = camt::read(xml)?;
                let lines = camt
                    .lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| StatementLine {
                        line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                        date: l.date,
                        amount: l.amount,
                        reference: l.reference,
                        description: l.description,
                        status: LineStatus::Unmatched,
                    })
                    .collect();
                Read {
                    opening: camt.opening,
                    closing: camt.closing,
                    lines,
                    currency: Some(camt.currency),
                }
            }
            (None, Some(_)) => self.read_csv()?,
            _ => {
                return Err(RuleError::new(
                    "send the statement as csv (with a mapping and its balances) or as camt053",
                ));
            }
        };
        finish(id, self.account, read)
    }

    /// Reads the CSV through the mapping.
    fn read_csv(&self) -> Result<Read, RuleError> {
        let (Some(csv), Some(mapping)) = (&self.csv, &self.mapping) else {
            return Err(RuleError::new("a CSV statement needs its column mapping"));
        };
        let balance_of = |value: &Option<String>, what: &str| match value {
            Some(text) => decimal::amount(text, what, Sign::Any),
            None => Err(RuleError::new(format!("a CSV statement needs its {what}"))),
        };
        let opening = balance_of(&self.opening_balance, "opening balance")?;
        let closing = balance_of(&self.closing_balance, "closing balance")?;
        let rows = parse_csv(csv)?;
        let (header, rows) =
            rows.split_first().ok_or_else(|| RuleError::new("the CSV is empty"))?;
        if rows.is_empty() || rows.len() > LINES_MAX {
            return Err(RuleError::new(format!("a statement has 1 to {LINES_MAX} lines")));
        }
        let column = |name: &str| {
            header.iter().position(|h| h.trim() == name).ok_or_else(|| {
                RuleError::new(format!(
                    "the CSV has no column {name:?}; its columns are {}",
                    header.join(", ")
                ))
            })
        };
        let (date_at, amount_at) = (column(&mapping.date)?, column(&mapping.amount)?);
        let reference_at = mapping.reference.as_deref().map(column).transpose()?;
        let description_at = mapping.description.as_deref().map(column).transpose()?;
        let mut lines = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let n = i + 2;
            let cell = |at: usize| row.get(at).map_or("", |c| c.trim());
            let date = parse_date(cell(date_at), self.date_format)
                .map_err(|err| RuleError::new(format!("CSV line {n}: {err}")))?;
            let amount =
                decimal::amount(cell(amount_at), &format!("CSV line {n} amount"), Sign::Any)?;
            lines.push(StatementLine {
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                date,
                amount,
                reference: reference_at.map(cell).unwrap_or_default().chars().take(200).collect(),
                description: description_at
                    .map(cell)
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect(),
                status: LineStatus::Unmatched,
            });
        }
        Ok(Read { opening, closing, lines, currency: None })
    }
}

/// A statement's lines checked: 1 to [`LINES_MAX`] of them, adding up from
/// the opening to the closing balance, over at most [`SPAN_DAYS`].
fn finish(id: String, account: String, read: Read) -> Result<Statement, RuleError> {
    let Read { opening, closing, lines, currency } = read;
    if lines.is_empty() || lines.len() > LINES_MAX {
        return Err(RuleError::new(format!("a statement has 1 to {LINES_MAX} lines")));
    }
    let mut balance = opening;
    for line in &lines {
        balance = balance
            .checked_add(line.amount)
            .ok_or_else(|| RuleError::new("the statement's amounts overflow"))?;
    }
    if balance != closing {
        return Err(RuleError::new(format!(
            "the lines take the opening balance {opening} to {balance}, not the closing balance {closing}: a line is missing or misread"
        )));
    }
    let from = lines.iter().map(|l| l.date.clone()).min().unwrap_or_else(|| lines[0].date.clone());
    let to = lines.iter().map(|l| l.date.clone()).max().unwrap_or_else(|| lines[0].date.clone());
    if to.days() - from.days() > SPAN_DAYS {
        return Err(RuleError::new(format!(
            "a statement spans at most {SPAN_DAYS} days; this one runs from {from} to {to}: import it in parts"
        )));
    }
    Ok(Statement {
        id,
        account,
        currency,
        opening_balance: opening,
        closing_balance: closing,
        from,
        to,
        lines,
    })
}

/// The movement of `movements` (none already matched) that `line` matches
/// best: the same amount, dated within [`MATCH_DAYS`], a reference in
/// common first, then the nearest date, then the lowest entry.
pub fn best_match<'m>(line: &StatementLine, movements: &'m [Movement]) -> Option<&'m Movement> {
    movements
        .iter()
        .filter(|m| {
            m.amount == line.amount && (m.date.days() - line.date.days()).abs() <= MATCH_DAYS
        })
        .min_by_key(|m| {
            let shared = !line.reference.is_empty()
                && m.references
                    .iter()
                    .any(|r| !r.is_empty() && line.reference.contains(r.as_str()));
            (!shared, (m.date.days() - line.date.days()).abs(), m.entry)
        })
}

/// RFC 4180 CSV: fields separated by commas, quoted with `"` where they
/// hold commas, quotes or line breaks, quotes doubled inside.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, RuleError> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(RuleError::new("the CSV ends inside a quoted field"));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.retain(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(rows)
}

fn parse_date(text: &str, format: DateFormat) -> Result<Date, RuleError> {
    let iso = match format {
        DateFormat::Iso => text.to_owned(),
        DateFormat::DayFirst | DateFormat::MonthFirst => {
            let parts: Vec<&str> = text.split('/').collect();
            let [a, b, year] = parts.as_slice() else {
                return Err(RuleError::new(format!(
                    "date {text:?} is not in the statement's date format"
                )));
            };
            let (day, month) = if format == DateFormat::DayFirst { (a, b) } else { (b, a) };
            format!("{year}-{month:0>2}-{day:0>2}")
        }
    };
    Date::parse(&iso)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn statement(csv: &str, closing: &str, format: DateFormat) -> Result<Statement, RuleError> {
        NewStatement {
            account: "1100".into(),
            csv: Some(csv.into()),
            mapping: Some(Mapping {
                date: "Date".into(),
                amount: "Amount".into(),
                reference: Some("Ref".into()),
                description: Some("Text".into()),
            }),
            date_format: format,
            opening_balance: Some("1000.00".into()),
            closing_balance: Some(closing.into()),
            camt053: None,
        }
        .read("BS-000001".into())
    }

    #[test]
    fn a_camt053_statement_brings_its_own_balances() {
        let camt = |xml: &str, opening: Option<&str>| NewStatement {
            account: "1100".into(),
            csv: None,
            mapping: None,
            date_format: DateFormat::Iso,
            opening_balance: opening.map(str::to_owned),
            closing_balance: None,
            camt053: Some(xml.to_owned()),
        };
        let read = camt(crate::ledger::camt::tests::STATEMENT, None).read("BS-1".into()).unwrap();
        assert_eq!((read.opening_balance, read.closing_balance), (d("1000.00"), d("1745.50")));
        assert_eq!((read.from.as_str(), read.to.as_str()), ("2026-03-12", "2026-03-31"));
        assert_eq!((read.currency.as_deref(), read.lines[1].amount), (Some("EUR"), d("-4.50")));
        let err = camt(crate::ledger::camt::tests::STATEMENT, Some("1"))
            .read("BS-1".into())
            .unwrap_err()
            .0;
        assert!(err.contains("holds its own balances"), "{err}");
        let short = crate::ledger::camt::tests::STATEMENT.replace("1745.50", "1745.00");
        let err = camt(&short, None).read("BS-1".into()).unwrap_err().0;
        assert!(err.contains("not the closing balance 1745.00"), "{err}");
    }

    const CSV: &str = "Date,Text,Ref,Amount\r\n03/04/2026,\"Acme, Ltd \"\"payment\"\"\",INV-7,1190.00\r\n05/04/2026,Bank fee,,-2.50\r\n";

    #[test]
    fn a_statement_is_read_through_its_mapping() {
        let read = statement(CSV, "2187.50", DateFormat::DayFirst).unwrap();
        assert_eq!(read.lines.len(), 2);
        let first = &read.lines[0];
        assert_eq!((first.date.as_str(), first.amount), ("2026-04-03", d("1190.00")));
        assert_eq!(first.description, "Acme, Ltd \"payment\"");
        assert_eq!((first.reference.as_str(), &first.status), ("INV-7", &LineStatus::Unmatched));
        assert_eq!((read.from.as_str(), read.to.as_str()), ("2026-04-03", "2026-04-05"));
        let american = statement(
            &CSV.replace("03/04", "04/03").replace("05/04", "04/05"),
            "2187.50",
            DateFormat::MonthFirst,
        );
        assert_eq!(american.unwrap().lines[1].date.as_str(), "2026-04-05");
    }

    #[test]
    fn a_statement_that_does_not_add_up_or_read_is_refused() {
        let err = statement(CSV, "2190.00", DateFormat::DayFirst).unwrap_err().0;
        assert!(err.contains("to 2187.50, not the closing balance 2190.00"), "{err}");
        let err = statement(CSV, "2187.50", DateFormat::Iso).unwrap_err().0;
        assert!(err.starts_with("CSV line 2:"), "{err}");
        let err = statement("Day,Amount\n2026-04-03,1\n", "1001", DateFormat::Iso).unwrap_err().0;
        assert!(err.contains("no column \"Date\""), "{err}");
        assert!(
            statement("Date,Amount\n", "1000", DateFormat::Iso)
                .unwrap_err()
                .0
                .contains("1 to 5000 lines")
        );
        assert!(
            statement("Date,Amount\n\"2026", "1000", DateFormat::Iso)
                .unwrap_err()
                .0
                .contains("quoted")
        );
        let err = NewStatement {
            account: "1100".into(),
            csv: Some("Date,Amount\n2026-01-01,1\n2026-06-01,1\n".into()),
            mapping: Some(Mapping {
                date: "Date".into(),
                amount: "Amount".into(),
                reference: None,
                description: None,
            }),
            date_format: DateFormat::Iso,
            opening_balance: Some("0".into()),
            closing_balance: Some("2".into()),
            camt053: None,
        }
        .read("BS-1".into())
        .unwrap_err();
        assert!(err.0.contains("at most 92 days"), "{err}");
    }

    #[test]
    fn a_line_matches_the_same_amount_nearby_by_reference_then_date() {
        let line = |amount: &str, reference: &str| StatementLine {
            line: 1,
            date: Date::parse("2026-04-03").unwrap(),
            amount: d(amount),
            reference: reference.into(),
            description: String::new(),
            status: LineStatus::Unmatched,
        };
        let movement = |entry, date: &str, amount: &str, reference: &str| Movement {
            entry,
            date: Date::parse(date).unwrap(),
            references: vec![reference.into()],
            amount: d(amount),
        };
        let movements = [
            movement(1, "2026-04-03", "1190.00", "RC-1"),
            movement(2, "2026-04-06", "1190.00", "INV-7"),
            movement(3, "2026-04-20", "-2.50", ""),
            movement(4, "2026-04-02", "-2.50", ""),
        ];
        assert_eq!(
            best_match(&line("1190.00", "Payment INV-7"), &movements).map(|m| m.entry),
            Some(2)
        );
        assert_eq!(best_match(&line("1190.00", "unknown"), &movements).map(|m| m.entry), Some(1));
        assert_eq!(
            best_match(&line("-2.50", ""), &movements).map(|m| m.entry),
            Some(4),
            "17 days is too far"
        );
        assert_eq!(best_match(&line("5.00", ""), &movements), None);
    }
}
