//! Customer receipts: money received, applied to one or more of the
//! customer's posted invoices, partly or fully, and to its credit notes;
//! a small difference can be written off to a chosen account. Invoices
//! settle their oldest instalments first.

use keel_values::Date;
use keel_values::code::{check_account, check_code};
use keel_values::decimal::{self, Sign, cents};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RuleError;
use super::entry::{Foreign, Line};
use super::fx::{self, DifferenceAccounts};
use super::receivable::{Invoice, Kind, Settled, Status};

/// The account receipts go into when the client names none.
pub const BANK_ACCOUNT: &str = "1100";
/// Most invoices one receipt may settle.
const ALLOCATIONS_MAX: usize = 100;
/// A write-off is a small difference: at most this share of what the
/// receipt settles...
const WRITE_OFF_SHARE: Decimal = Decimal::from_parts(1, 0, 0, false, 2);
/// ...and never more than this, in the ledger's currency; a larger loss is
/// a credit note or a bad-debt entry, not a receipt's difference.
const WRITE_OFF_MAX: Decimal = Decimal::from_parts(10, 0, 0, false, 0);

/// A receipt as a client submits it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReceipt {
    /// The customer's code.
    pub customer: String,
    /// When it was received.
    #[schemars(with = "keel_values::Date")]
    pub date: String,
    /// What was received, a decimal string.
    pub amount: String,
    /// The bank or cash account it went into; 1100 if none.
    #[serde(default)]
    pub account: Option<String>,
    /// The invoices and credit notes it settles, and how much of each.
    pub allocations: Vec<NewAllocation>,
    /// What is written off rather than received.
    #[serde(default)]
    pub write_off: Option<NewWriteOff>,
    /// Company-currency units for one unit of the invoices' currency, if
    /// foreign and agreed with the bank; else the rate of the receipt's date.
    #[serde(default)]
    pub rate: Option<String>,
}

/// How much of one invoice or credit note a receipt settles, as a client
/// submits it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAllocation {
    /// The invoice or credit note, `CI-000001`.
    pub invoice: String,
    /// How much of it, as a decimal string (positive for a credit note
    /// too).
    pub amount: String,
}

/// What a receipt writes off, as a client submits it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWriteOff {
    /// The income or expense account it goes to.
    pub account: String,
    /// How much, as a decimal string.
    pub amount: String,
}

/// How much of one invoice or credit note a receipt settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Allocation {
    /// The invoice or credit note, `CI-000001`.
    pub invoice: String,
    /// How much of it.
    pub amount: Decimal,
}

/// What a receipt wrote off, and to which account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WriteOff {
    /// The income or expense account it went to.
    pub account: String,
    /// How much.
    pub amount: Decimal,
}

/// A receipt, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Receipt {
    /// `RC-000001`.
    pub id: String,
    /// The customer's code.
    pub customer: String,
    /// When it was received.
    pub date: Date,
    /// What was received.
    pub amount: Decimal,
    /// The bank or cash account it went into.
    pub account: String,
    /// The invoices and credit notes it settled, and how much of each.
    pub allocations: Vec<Allocation>,
    /// What was written off rather than received, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_off: Option<WriteOff>,
    /// The currency of the invoices it settles, which its amounts are in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub currency: String,
    /// The rate it was received at, if foreign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
    /// The realised exchange difference, if foreign: a gain when positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_difference: Option<Decimal>,
    /// The journal entry that posted it.
    pub journal_entry: u64,
    /// Its number in the bank journal, such as `BNK/2026/0001`.
    pub journal_number: String,
}

/// A receipt whose amounts are valid, still to be checked against the
/// invoices it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedReceipt {
    pub customer: String,
    pub date: Date,
    pub amount: Decimal,
    pub account: String,
    pub allocations: Vec<Allocation>,
    pub write_off: Option<WriteOff>,
    pub rate: Option<Decimal>,
}

/// How a receipt posts: its lines, what it cleared off each invoice's
/// carrying amount (in its allocations' order), and the realised exchange
/// difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub lines: Vec<Line>,
    pub cleared: Vec<Decimal>,
    pub difference: Decimal,
}

impl NewReceipt {
    /// Checks what needs no stored data: codes, the date, a positive amount,
    /// 1 to 100 allocations of positive amounts, each invoice once.
    pub fn check(self) -> Result<CheckedReceipt, RuleError> {
        check_code("customer", &self.customer)?;
        let date = Date::parse(&self.date)?;
        let amount = decimal::amount(&self.amount, "amount", Sign::Positive)?;
        let account = self.account.unwrap_or_else(|| BANK_ACCOUNT.to_owned());
        check_account(&account)?;
        if self.allocations.is_empty() || self.allocations.len() > ALLOCATIONS_MAX {
            return Err(RuleError::new(format!(
                "a receipt settles 1 to {ALLOCATIONS_MAX} invoices; name them in allocations"
            )));
        }
        let mut allocations: Vec<Allocation> = Vec::with_capacity(self.allocations.len());
        for (i, new) in self.allocations.into_iter().enumerate() {
            let what = format!("allocation {} amount", i + 1);
            let amount = decimal::amount(&new.amount, &what, Sign::Positive)?;
            if allocations.iter().any(|a| a.invoice == new.invoice) {
                return Err(RuleError::new(format!("invoice {} is allocated twice", new.invoice)));
            }
            allocations.push(Allocation { invoice: new.invoice, amount });
        }
        let write_off = match self.write_off {
            Some(w) => {
                check_account(&w.account)?;
                let amount = decimal::amount(&w.amount, "write-off amount", Sign::Positive)?;
                Some(WriteOff { account: w.account, amount })
            }
            None => None,
        };
        let rate = self.rate.as_deref().map(|text| decimal::rate(text, "rate")).transpose()?;
        Ok(CheckedReceipt {
            customer: self.customer,
            date,
            amount,
            account,
            allocations,
            write_off,
            rate,
        })
    }
}

impl CheckedReceipt {
    /// The one currency of the invoices it settles, which its amounts are
    /// in.
    pub fn currency_of(invoices: &[Invoice]) -> Result<String, RuleError> {
        let Some(first) = invoices.first() else {
            return Err(RuleError::new("a receipt settles at least one invoice"));
        };
        if let Some(other) = invoices.iter().find(|i| i.currency != first.currency) {
            return Err(RuleError::new(format!(
                "invoice {} is in {} and {} in {}; one receipt settles invoices of one currency",
                first.id, first.currency, other.id, other.currency
            )));
        }
        Ok(first.currency.clone())
    }

    /// Checks the receipt against the invoices it settles (`invoices`, in
    /// the order of its allocations): each posted and of its customer, none
    /// settled beyond what is open, and the invoices less the credit notes
    /// coming to what was received plus what is written off, which is at
    /// most 1% and 10.00 in the company's currency (at `rate`).
    pub fn check_against(&self, invoices: &[Invoice], rate: Decimal) -> Result<(), RuleError> {
        let mut net = Decimal::ZERO;
        for (allocation, invoice) in self.allocations.iter().zip(invoices) {
            if invoice.customer != self.customer {
                return Err(RuleError::new(format!(
                    "invoice {} is {}'s, not {}'s",
                    invoice.id, invoice.customer, self.customer
                )));
            }
            if invoice.status == Status::Draft {
                return Err(RuleError::new(format!(
                    "invoice {} is a draft; post it first",
                    invoice.id
                )));
            }
            if allocation.amount > invoice.open {
                return Err(RuleError::new(format!(
                    "invoice {} ({}) has {} open; {} cannot be applied to it",
                    invoice.id, invoice.number, invoice.open, allocation.amount
                )));
            }
            match invoice.kind {
                Kind::Invoice => net += allocation.amount,
                Kind::CreditNote => net -= allocation.amount,
            }
        }
        let written_off = self.write_off.as_ref().map_or(Decimal::ZERO, |w| w.amount);
        let limit = cents((net * WRITE_OFF_SHARE).min(WRITE_OFF_MAX / rate));
        if written_off > limit {
            return Err(RuleError::new(format!(
                "a write-off of {written_off} is more than a small difference (at most 1% of what is settled and {WRITE_OFF_MAX}: {limit} here)"
            )));
        }
        let covered = self.amount + written_off;
        if net != covered {
            return Err(RuleError::new(format!(
                "the allocations come to {net} but the receipt is {}{}; they must be equal (a receipt over what is open is refused)",
                self.amount,
                if written_off.is_zero() {
                    String::new()
                } else {
                    format!(" plus {written_off} written off")
                }
            )));
        }
        Ok(())
    }

    /// The lines of its journal entry in the company's currency: the
    /// amount debited to the bank, a write-off debited to its account, and
    /// both credited to the customer's `receivable` account.
    pub fn posting_lines(&self, receivable: &str) -> Vec<Line> {
        let mut lines = vec![Line::debit(&self.account, self.amount)];
        let mut settled = self.amount;
        if let Some(w) = &self.write_off {
            lines.push(Line::debit(&w.account, w.amount));
            settled += w.amount;
        }
        lines.push(Line::credit(receivable, settled));
        lines
    }

    /// How a receipt of `invoices` (in its allocations' order) posts. In
    /// the company's currency (`foreign` none), as [`Self::posting_lines`].
    /// In a foreign one, received at `foreign`'s rate: the bank and any
    /// write-off at that rate; each invoice credited (a credit note
    /// debited) with what it clears of its carrying amount, at the rate it
    /// was posted at; and the difference to an exchange gain or loss.
    pub fn settlement(
        &self,
        invoices: &[Invoice],
        receivable: &str,
        foreign: Option<(&str, Decimal, &DifferenceAccounts)>,
    ) -> Result<Settlement, RuleError> {
        let Some((currency, rate, accounts)) = foreign else {
            return Ok(Settlement {
                lines: self.posting_lines(receivable),
                cleared: self.allocations.iter().map(|a| a.amount).collect(),
                difference: Decimal::ZERO,
            });
        };
        let in_currency = |amount: Decimal, rate: Decimal| {
            Some(Foreign { currency: currency.to_owned(), amount, rate })
        };
        let mut lines = Vec::new();
        let mut debits = fx::convert(self.amount, rate)?;
        lines.push(Line::debit(&self.account, debits).with_foreign(in_currency(self.amount, rate)));
        if let Some(w) = &self.write_off {
            let company = fx::convert(w.amount, rate)?;
            debits += company;
            lines.push(Line::debit(&w.account, company).with_foreign(in_currency(w.amount, rate)));
        }
        let (mut credits, mut cleared) = (Decimal::ZERO, Vec::with_capacity(invoices.len()));
        for (allocation, invoice) in self.allocations.iter().zip(invoices) {
            let booked = invoice.rate.unwrap_or(Decimal::ONE);
            let off = fx::cleared(allocation.amount, invoice.open, invoice.carried, booked)?;
            let is_invoice = invoice.kind == Kind::Invoice;
            credits += if is_invoice { off } else { -off };
            cleared.push(off);
            lines.push(
                Line::side(receivable, off, !is_invoice)
                    .with_foreign(in_currency(allocation.amount, booked)),
            );
        }
        let difference = debits - credits;
        lines.extend(accounts.line(difference));
        if let Some(line) = lines.iter().find(|l| l.amount().is_zero()) {
            let foreign = line.foreign.as_ref().map_or(Decimal::ZERO, |f| f.amount);
            return Err(RuleError::new(format!(
                "{currency} {foreign} on {} is less than a cent in the company's currency; settle it with a larger amount",
                line.account
            )));
        }
        Ok(Settlement { lines, cleared, difference })
    }
}

impl Invoice {
    /// Settles `amount` of the invoice on `date` by `receipt`, which
    /// clears `cleared` off its carrying amount, its oldest instalments
    /// first; paid once nothing is open.
    pub fn settle(&mut self, (date, receipt): (&Date, &str), amount: Decimal, cleared: Decimal) {
        self.carried -= cleared;
        self.settlements.push(Settled {
            date: date.clone(),
            receipt: receipt.to_owned(),
            amount,
            cleared,
        });
        let mut left = amount;
        for due in &mut self.instalments {
            let taken = left.min(due.open);
            due.open -= taken;
            left -= taken;
        }
        self.open -= amount;
        if self.open.is_zero() {
            self.status = Status::Paid;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::ledger::receivable::{NewInvoice, NewInvoiceLine};
    use crate::ledger::terms::{NewTermLine, NewTerms};

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn day() -> Date {
        Date::parse("2026-04-01").unwrap()
    }

    fn posted(id: &str, kind: Kind, total: &str) -> Invoice {
        let new = NewInvoice {
            customer: "ACME".into(),
            kind,
            date: "2026-03-10".into(),
            terms: None,
            memo: String::new(),
            reference: String::new(),
            currency: None,
            rate: None,
            lines: vec![NewInvoiceLine {
                account: "4000".into(),
                description: String::new(),
                quantity: "1".into(),
                unit_price: total.into(),
                tax: None,
            }],
        };
        let halves = NewTerms {
            code: "HALVES".into(),
            name: "Halves".into(),
            lines: vec![
                NewTermLine { percent: Some("50".into()), days: 0 },
                NewTermLine { percent: None, days: 30 },
            ],
        };
        let checked = new.check(&std::collections::BTreeMap::new()).unwrap();
        let mut invoice = Invoice::draft(id.into(), checked, "HALVES".into(), "EUR");
        let total = invoice.total;
        invoice.post(&halves.check().unwrap(), (format!("SAL/{id}"), 1, total), None).unwrap();
        invoice
    }

    fn receipt(
        amount: &str,
        allocations: &[(&str, &str)],
        write_off: Option<&str>,
    ) -> CheckedReceipt {
        NewReceipt {
            customer: "ACME".into(),
            date: "2026-04-01".into(),
            amount: amount.into(),
            account: None,
            allocations: allocations
                .iter()
                .map(|(invoice, amount)| NewAllocation {
                    invoice: (*invoice).into(),
                    amount: (*amount).into(),
                })
                .collect(),
            write_off: write_off.map(|a| NewWriteOff { account: "6900".into(), amount: a.into() }),
            rate: None,
        }
        .check()
        .unwrap()
    }

    #[test]
    fn a_receipt_settles_several_invoices_net_of_a_credit_note() {
        let invoices = [
            posted("CI-1", Kind::Invoice, "100.00"),
            posted("CI-2", Kind::Invoice, "50.00"),
            posted("CI-3", Kind::CreditNote, "20.00"),
        ];
        let paid =
            receipt("130.00", &[("CI-1", "100.00"), ("CI-2", "50.00"), ("CI-3", "20.00")], None);
        paid.check_against(&invoices, Decimal::ONE).unwrap();
        let lines = crate::ledger::entry::sides(paid.posting_lines("1200"));
        assert_eq!(
            lines,
            [
                ("1100".to_owned(), Some(d("130.00")), None),
                ("1200".to_owned(), None, Some(d("130.00")))
            ]
        );
    }

    #[test]
    fn a_small_difference_is_written_off_and_an_overpayment_refused() {
        let invoices = [posted("CI-1", Kind::Invoice, "100.00")];
        let short = receipt("99.98", &[("CI-1", "100.00")], Some("0.02"));
        short.check_against(&invoices, Decimal::ONE).unwrap();
        let lines = short.posting_lines("1200");
        assert_eq!((lines[1].account.as_str(), lines[1].debit), ("6900", Some(d("0.02"))));
        assert_eq!(lines[2].credit, Some(d("100.00")));
        let greedy = receipt("0.01", &[("CI-1", "100.00")], Some("99.99"));
        assert!(
            greedy
                .check_against(&invoices, Decimal::ONE)
                .unwrap_err()
                .0
                .contains("more than a small difference")
        );
        let over = receipt("120.00", &[("CI-1", "120.00")], None);
        assert!(
            over.check_against(&invoices, Decimal::ONE).unwrap_err().0.contains("has 100.00 open")
        );
        let unbalanced = receipt("120.00", &[("CI-1", "100.00")], None);
        assert!(
            unbalanced
                .check_against(&invoices, Decimal::ONE)
                .unwrap_err()
                .0
                .contains("come to 100.00")
        );
    }

    #[test]
    fn only_the_customers_posted_invoices_are_settled() {
        let mut theirs = posted("CI-1", Kind::Invoice, "100.00");
        theirs.customer = "OTHER".into();
        let paid = receipt("100.00", &[("CI-1", "100.00")], None);
        assert!(paid.check_against(&[theirs], Decimal::ONE).unwrap_err().0.contains("OTHER's"));
        let mut draft = posted("CI-1", Kind::Invoice, "100.00");
        draft.status = Status::Draft;
        assert!(paid.check_against(&[draft], Decimal::ONE).unwrap_err().0.contains("draft"));
        let twice = NewReceipt {
            customer: "ACME".into(),
            date: "2026-04-01".into(),
            amount: "1".into(),
            account: None,
            allocations: vec![
                NewAllocation { invoice: "CI-1".into(), amount: "1".into() },
                NewAllocation { invoice: "CI-1".into(), amount: "1".into() },
            ],
            write_off: None,
            rate: None,
        };
        assert!(twice.check().unwrap_err().0.contains("allocated twice"));
    }

    #[test]
    fn a_foreign_receipt_clears_invoices_at_their_rate_and_books_the_difference() {
        // USD 1,000.00 invoiced at 0.90 (carried 900.00) and a USD 100.00
        // credit note at 0.92 (92.00); USD 900.00 received at 0.95.
        let mut invoice = posted("CI-1", Kind::Invoice, "1000.00");
        (invoice.currency, invoice.rate, invoice.carried) =
            ("USD".into(), Some(d("0.90")), d("900.00"));
        let mut credit = posted("CI-2", Kind::CreditNote, "100.00");
        (credit.currency, credit.rate, credit.carried) =
            ("USD".into(), Some(d("0.92")), d("92.00"));
        let invoices = [invoice, credit];
        assert_eq!(CheckedReceipt::currency_of(&invoices).unwrap(), "USD");
        let paid = receipt("900.00", &[("CI-1", "1000.00"), ("CI-2", "100.00")], None);
        paid.check_against(&invoices, d("0.95")).unwrap();
        let accounts = DifferenceAccounts { gain: "4950".into(), loss: "6950".into() };
        let settled =
            paid.settlement(&invoices, "1200", Some(("USD", d("0.95"), &accounts))).unwrap();
        assert_eq!(settled.cleared, [d("900.00"), d("92.00")]);
        // 855.00 received against 808.00 carried: 47.00 gained.
        assert_eq!(settled.difference, d("47.00"));
        assert_eq!(
            crate::ledger::entry::sides(settled.lines.clone()),
            [
                ("1100".to_owned(), Some(d("855.00")), None),
                ("1200".to_owned(), None, Some(d("900.00"))),
                ("1200".to_owned(), Some(d("92.00")), None),
                ("4950".to_owned(), None, Some(d("47.00"))),
            ]
        );
        let rates: Vec<_> =
            settled.lines.iter().map(|l| l.foreign.as_ref().map(|f| f.rate)).collect();
        assert_eq!(rates, [Some(d("0.95")), Some(d("0.90")), Some(d("0.92")), None]);
        let mut euros = invoices[0].clone();
        euros.currency = "EUR".into();
        let err = CheckedReceipt::currency_of(&[invoices[0].clone(), euros]).unwrap_err().0;
        assert!(err.contains("invoices of one currency"), "{err}");
        // A write-off is small in the company's currency: at 0.01 EUR per
        // unit, 1% of 1,000 is allowed (10 units), 11 units are not.
        let short = receipt("990.00", &[("CI-1", "1000.00")], Some("10.00"));
        short.check_against(&invoices[..1], d("0.01")).unwrap();
        assert!(short.check_against(&invoices[..1], d("2")).is_err(), "10 units are 20.00 here");
    }

    #[test]
    fn oldest_instalments_settle_first() {
        let mut invoice = posted("CI-1", Kind::Invoice, "100.00");
        invoice.settle((&day(), "RC-1"), d("70.00"), d("70.00"));
        let open: Vec<_> = invoice.instalments.iter().map(|i| i.open).collect();
        assert_eq!(open, [d("0.00"), d("30.00")]);
        assert_eq!((invoice.open, invoice.status), (d("30.00"), Status::Open));
        invoice.settle((&day(), "RC-2"), d("30.00"), d("30.00"));
        assert_eq!((invoice.open, invoice.status), (d("0.00"), Status::Paid));
    }
}
