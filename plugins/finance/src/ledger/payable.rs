//! Accounts payable: a supplier invoice becomes an open item, posted with
//! its lines debited and what is owed credited to payables, and payments
//! settle it out of a bank account.

use keel_values::Date;
use keel_values::code::check_account;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RuleError;
use super::amount::parse_positive;
use super::entry::{Foreign, Line, NewLine};
use super::fx::{self, DifferenceAccounts};

/// The account supplier invoices are credited to until paid.
pub const PAYABLES_ACCOUNT: &str = "2000";
/// The account payments come out of when the client names none.
pub const BANK_ACCOUNT: &str = "1100";
/// Longest supplier code or invoice number.
const TEXT_BYTES_MAX: usize = 100;

/// Whether anything of a payable is still owed. Stored, indexed and listed
/// by these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Some or all of it is owed.
    Open,
    /// Paid in full.
    Paid,
}

impl Status {
    /// The status named `text` in a query, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Self::Open),
            "paid" => Some(Self::Paid),
            _ => None,
        }
    }
}

/// A supplier invoice, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Payable {
    /// `AP-000001`.
    pub number: String,
    /// The supplier's code.
    pub supplier: String,
    /// The supplier's invoice number.
    pub invoice: String,
    /// The invoice's date, which it is posted on.
    pub date: Date,
    /// When it is due.
    pub due: Date,
    /// What it is for.
    pub memo: String,
    /// An outside reference, such as a purchase order.
    pub reference: String,
    /// The currency it is written in: its amounts are in it.
    pub currency: String,
    /// Company-currency units for one unit of `currency`, if foreign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
    /// What the supplier is owed in all.
    pub amount: Decimal,
    /// What is still owed.
    pub open: Decimal,
    /// What is still owed in the company's currency, at the rate it was
    /// recorded at.
    #[serde(default)]
    pub carried: Decimal,
    /// Open until `open` is zero.
    pub status: Status,
    /// The journal entry that recorded it.
    pub journal_entry: u64,
    /// Its payments, oldest first.
    #[serde(default)]
    pub payments: Vec<Payment>,
}

/// A payment of a payable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Payment {
    /// When it was paid.
    pub date: Date,
    /// How much.
    pub amount: Decimal,
    /// The account it came out of.
    pub account: String,
    /// The rate it was paid at, if foreign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
    /// What it took off the carrying amount, in the company's currency;
    /// its amount if none (a payment from before currencies were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared: Option<Decimal>,
    /// The realised exchange difference, if foreign: a gain when positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_difference: Option<Decimal>,
    /// The journal entry that posted it.
    pub journal_entry: u64,
}

/// How a payment posts: its lines, what it clears off the payable's
/// carrying amount, and the realised exchange difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPosting {
    pub lines: Vec<Line>,
    pub cleared: Decimal,
    pub difference: Decimal,
}

/// A supplier invoice as a client or another plugin submits it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayable {
    /// The supplier's code.
    pub supplier: String,
    /// The supplier's invoice number, once per supplier.
    pub invoice: String,
    /// The invoice's date.
    #[schemars(with = "keel_values::Date")]
    pub date: String,
    /// When it is due, not before `date`.
    #[schemars(with = "keel_values::Date")]
    pub due: String,
    /// What it is for.
    #[serde(default)]
    pub memo: String,
    /// An outside reference.
    #[serde(default)]
    pub reference: String,
    /// The currency it is written in; the company's if none.
    #[serde(default)]
    pub currency: Option<String>,
    /// Company-currency units for one unit of `currency`; the rate of its
    /// date if none.
    #[serde(default)]
    pub rate: Option<String>,
    /// The lines it posts: debits, and credits (a price below the order's);
    /// what they come to is credited to payables.
    pub lines: Vec<NewLine>,
}

/// A submitted payable that keeps the rules, ready to post.
#[derive(Debug, Clone)]
pub struct CheckedPayable {
    /// The payable as submitted.
    pub new: NewPayable,
    /// The invoice's date.
    pub date: Date,
    /// When it is due.
    pub due: Date,
    /// Debits less credits: what is owed.
    pub total: Decimal,
}

impl NewPayable {
    /// Checks the rules: supplier and invoice are plain text, the due date
    /// is not before the invoice's, each line is a debit or a credit, and
    /// they come to more than zero.
    pub fn check(self) -> Result<CheckedPayable, RuleError> {
        for (what, text) in [("supplier", &self.supplier), ("invoice", &self.invoice)] {
            let trimmed = text.trim() == text.as_str();
            if text.is_empty() || !trimmed || text.len() > TEXT_BYTES_MAX || text.contains('/') {
                return Err(RuleError::new(format!(
                    "{what} must be 1 to {TEXT_BYTES_MAX} bytes without '/' or surrounding spaces"
                )));
            }
        }
        let (date, due) = (Date::parse(&self.date)?, Date::parse(&self.due)?);
        if due < date {
            return Err(RuleError::new(format!(
                "due date {due} is before the invoice date {date}"
            )));
        }
        let overflow = || RuleError::new("the payable's lines come to too much");
        let mut total = Decimal::ZERO;
        for line in &self.lines {
            total = match (&line.debit, &line.credit) {
                (Some(debit), None) => total.checked_add(parse_positive(debit, "debit")?),
                (None, Some(credit)) => total.checked_sub(parse_positive(credit, "credit")?),
                _ => return Err(RuleError::new("each line of a payable is a debit or a credit")),
            }
            .ok_or_else(overflow)?;
        }
        if total <= Decimal::ZERO {
            return Err(RuleError::new(format!(
                "a payable owes something; its lines come to {total}"
            )));
        }
        Ok(CheckedPayable { new: self, date, due, total })
    }
}

impl CheckedPayable {
    /// The lines of its journal entry: its own, and what is owed credited
    /// to payables.
    pub fn lines(&self) -> Vec<NewLine> {
        let mut lines = self.new.lines.clone();
        lines.push(credit(PAYABLES_ACCOUNT, self.total));
        lines
    }

    /// The memo of its journal entry.
    pub fn memo(&self) -> String {
        let new = &self.new;
        format!("Supplier invoice {} from {}: {}", new.invoice, new.supplier, new.memo)
            .trim_end_matches([':', ' '])
            .to_owned()
    }

    /// The open item `number`, once its journal entry is posted: its
    /// number, its currency, and the company-currency amount it credited to
    /// payables at `rate` (if foreign).
    pub fn open(
        self,
        number: String,
        (journal_entry, currency, carried): (u64, String, Decimal),
        rate: Option<Decimal>,
    ) -> Payable {
        Payable {
            number,
            supplier: self.new.supplier,
            invoice: self.new.invoice,
            date: self.date,
            due: self.due,
            memo: self.new.memo,
            reference: self.new.reference,
            currency,
            rate,
            amount: self.total,
            open: self.total,
            carried,
            status: Status::Open,
            journal_entry,
            payments: Vec::new(),
        }
    }
}

impl Payable {
    /// Checks a payment of `amount` (a decimal string, in the payable's
    /// currency) out of `account` on `date`: no more than is open. Returns
    /// the amount and the date.
    pub fn check_payment(
        &self,
        amount: &serde_json::Value,
        date: &str,
        account: &str,
    ) -> Result<(Decimal, Date), RuleError> {
        let amount = parse_positive(amount, "amount")?;
        if amount > self.open {
            return Err(RuleError::new(format!(
                "{} has {} open; cannot pay {amount}",
                self.number, self.open
            )));
        }
        check_account(account)?;
        Ok((amount, Date::parse(date)?))
    }

    /// How paying `amount` out of `account` posts. In the company's
    /// currency (`foreign` none): payables debited, the bank credited. In a
    /// foreign one, paid at `foreign`'s rate: payables debited with what the
    /// payment clears of the carrying amount, at the rate the payable was
    /// recorded at, the bank credited at the payment's rate, and the
    /// difference to an exchange gain or loss.
    pub fn payment(
        &self,
        amount: Decimal,
        account: &str,
        foreign: Option<(Decimal, &DifferenceAccounts)>,
    ) -> Result<PaymentPosting, RuleError> {
        let Some((rate, accounts)) = foreign else {
            let lines = vec![Line::debit(PAYABLES_ACCOUNT, amount), Line::credit(account, amount)];
            return Ok(PaymentPosting { lines, cleared: amount, difference: Decimal::ZERO });
        };
        let booked = self.rate.unwrap_or(Decimal::ONE);
        let cleared = fx::cleared(amount, self.open, self.carried, booked)?;
        let paid = fx::convert(amount, rate)?;
        let in_currency =
            |rate: Decimal| Some(Foreign { currency: self.currency.clone(), amount, rate });
        let difference = cleared - paid;
        let mut lines = vec![
            Line::debit(PAYABLES_ACCOUNT, cleared).with_foreign(in_currency(booked)),
            Line::credit(account, paid).with_foreign(in_currency(rate)),
        ];
        lines.extend(accounts.line(difference));
        if lines.iter().any(|l| l.amount().is_zero()) {
            return Err(RuleError::new(format!(
                "{} {amount} is less than a cent in the company's currency; pay a larger amount",
                self.currency
            )));
        }
        Ok(PaymentPosting { lines, cleared, difference })
    }

    /// What was open at the end of `date`, in its currency and as carried
    /// in the company's: what is open now, and what payments after `date`
    /// settled.
    pub fn open_at(&self, date: &Date) -> (Decimal, Decimal) {
        self.payments
            .iter()
            .filter(|p| p.date > *date)
            .fold((self.open, self.carried), |(open, carried), p| {
                (open + p.amount, carried + p.cleared.unwrap_or(p.amount))
            })
    }

    /// Brings a payable stored before currencies were kept (finance 0.3.0
    /// and earlier, all in the company's currency) up to date: it is
    /// carried at what is open.
    pub fn upgrade(&mut self) {
        if self.rate.is_none() && self.carried.is_zero() {
            self.carried = self.open;
        }
    }

    /// Settles `payment`, checked and posted, which cleared `cleared` off
    /// the carrying amount: what is open goes down, and the payable is paid
    /// once nothing is.
    pub fn settle(&mut self, payment: Payment, cleared: Decimal) {
        self.carried -= cleared;
        self.open -= payment.amount;
        let payment = Payment { cleared: Some(cleared), ..payment };
        if self.open.is_zero() {
            self.status = Status::Paid;
        }
        self.payments.push(payment);
    }
}

fn credit(account: &str, amount: Decimal) -> NewLine {
    let amount = serde_json::Value::String(amount.to_string());
    NewLine { account: account.to_owned(), debit: None, credit: Some(amount), cost_centre: None }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use serde_json::json;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn new(lines: serde_json::Value) -> NewPayable {
        serde_json::from_value(json!({
            "supplier": "ACME", "invoice": "INV-7", "date": "2026-11-05", "due": "2026-12-05",
            "memo": "paper", "lines": lines,
        }))
        .unwrap()
    }

    fn amounts(lines: &[NewLine]) -> Vec<(String, Option<String>, Option<String>)> {
        let text =
            |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.as_str().unwrap().to_owned());
        lines.iter().map(|l| (l.account.clone(), text(&l.debit), text(&l.credit))).collect()
    }

    #[test]
    fn a_payable_owes_its_debits_less_its_credits_credited_to_payables() {
        let checked = new(json!([
            { "account": "2150", "debit": "100.00" },
            { "account": "5100", "debit": "2.00" },
            { "account": "5100", "credit": "0.30" },
        ]))
        .check()
        .unwrap();
        assert_eq!(checked.total, d("101.70"));
        assert_eq!(checked.memo(), "Supplier invoice INV-7 from ACME: paper");
        let posted = amounts(&checked.lines());
        assert_eq!(posted.last().unwrap(), &("2000".to_owned(), None, Some("101.70".to_owned())));
        let payable =
            checked.open("AP-000001".to_owned(), (7, "EUR".to_owned(), d("101.70")), None);
        assert_eq!((payable.open, payable.status), (d("101.70"), Status::Open));
        assert_eq!(serde_json::to_value(payable.status).unwrap(), json!("open"));
    }

    #[test]
    fn broken_payables_are_refused_with_reasons() {
        let line = json!([{ "account": "2150", "debit": "1" }]);
        let with = |field: &str, value: serde_json::Value| {
            let mut body = json!({
                "supplier": "ACME", "invoice": "INV-7", "date": "2026-11-05",
                "due": "2026-12-05", "lines": line.clone(),
            });
            body[field] = value;
            serde_json::from_value::<NewPayable>(body).unwrap().check().unwrap_err().0
        };
        assert!(with("supplier", json!("")).contains("supplier must be 1 to 100 bytes"));
        assert!(with("supplier", json!(" ACME")).contains("surrounding spaces"));
        assert!(with("invoice", json!("A/B")).contains("invoice must be"));
        assert!(with("invoice", json!("x".repeat(101))).contains("invoice must be"));
        assert!(with("due", json!("2026-11-04")).contains("before the invoice date 2026-11-05"));
        assert!(with("date", json!("2026-02-30")).contains("not a valid"));
        let cases = [
            (json!([{ "account": "2150", "credit": "5" }]), "owes something; its lines come to -5"),
            (json!([]), "owes something; its lines come to 0"),
            (json!([{ "account": "2150", "debit": "1", "credit": "1" }]), "a debit or a credit"),
            (json!([{ "account": "2150" }]), "a debit or a credit"),
            (json!([{ "account": "2150", "debit": 1 }]), "decimal string"),
        ];
        for (lines, why) in cases {
            let err = new(lines.clone()).check().unwrap_err();
            assert!(err.0.contains(why), "{lines}: {err}");
        }
    }

    #[test]
    fn payments_settle_what_is_open_and_no_more() {
        let checked = new(json!([{ "account": "2150", "debit": "100.00" }])).check().unwrap();
        let mut payable =
            checked.open("AP-000001".to_owned(), (7, "EUR".to_owned(), d("100.00")), None);
        let err = payable.check_payment(&json!("100.01"), "2026-11-20", "1100").unwrap_err();
        assert_eq!(err.0, "AP-000001 has 100.00 open; cannot pay 100.01");
        assert!(payable.check_payment(&json!("1"), "2026-11-31", "1100").is_err());
        assert!(payable.check_payment(&json!("1"), "2026-11-20", "11 00").is_err());
        let (amount, date) = payable.check_payment(&json!("40.00"), "2026-11-20", "1100").unwrap();
        let posting = payable.payment(amount, "1100", None).unwrap();
        assert_eq!(
            crate::ledger::entry::sides(posting.lines),
            [
                ("2000".to_owned(), Some(d("40.00")), None),
                ("1100".to_owned(), None, Some(d("40.00")))
            ]
        );
        payable.settle(payment(date, amount, 8), posting.cleared);
        assert_eq!((payable.open, payable.status), (d("60.00"), Status::Open));
        let (amount, date) = payable.check_payment(&json!("60.00"), "2026-11-21", "1100").unwrap();
        payable.settle(payment(date, amount, 9), amount);
        assert_eq!((payable.open, payable.status), (d("0.00"), Status::Paid));
        assert_eq!(payable.payments.len(), 2);
        assert_eq!(payable.carried, d("0.00"));
    }

    fn payment(date: Date, amount: Decimal, journal_entry: u64) -> Payment {
        Payment {
            date,
            amount,
            account: "1100".to_owned(),
            rate: None,
            cleared: None,
            exchange_difference: None,
            journal_entry,
        }
    }

    #[test]
    fn a_foreign_payable_paid_at_another_rate_posts_the_difference() {
        // USD 1,000.00 recorded at 0.90 (900.00), paid 400 at 0.95 and the
        // remaining 600 at 0.88.
        let checked = new(json!([{ "account": "2150", "debit": "1000.00" }])).check().unwrap();
        let mut payable = checked.open(
            "AP-000001".to_owned(),
            (7, "USD".to_owned(), d("900.00")),
            Some(d("0.90")),
        );
        let accounts = DifferenceAccounts { gain: "4950".into(), loss: "6950".into() };
        let first = payable.payment(d("400"), "1100", Some((d("0.95"), &accounts))).unwrap();
        assert_eq!((first.cleared, first.difference), (d("360.00"), d("-20.00")));
        assert_eq!(
            crate::ledger::entry::sides(first.lines.clone()),
            [
                ("2000".to_owned(), Some(d("360.00")), None),
                ("1100".to_owned(), None, Some(d("380.00"))),
                ("6950".to_owned(), Some(d("20.00")), None),
            ]
        );
        assert_eq!(first.lines[0].foreign.as_ref().map(|f| f.rate), Some(d("0.90")));
        payable.settle(payment(Date::parse("2026-11-20").unwrap(), d("400"), 8), first.cleared);
        let rest = payable.payment(d("600"), "1100", Some((d("0.88"), &accounts))).unwrap();
        assert_eq!((rest.cleared, rest.difference), (d("540.00"), d("12.00")));
        assert_eq!(rest.lines[2], Line::credit("4950", d("12.00")));
        // At the end of 19 November all of it was open; of 20 November, 600.
        assert_eq!(payable.open_at(&Date::parse("2026-11-19").unwrap()), (d("1000"), d("900.00")));
        assert_eq!(payable.open_at(&Date::parse("2026-11-20").unwrap()), (d("600"), d("540.00")));
        let tiny = payable.payment(d("0.001"), "1100", Some((d("0.88"), &accounts)));
        assert!(tiny.unwrap_err().0.contains("less than a cent"));
    }
}
