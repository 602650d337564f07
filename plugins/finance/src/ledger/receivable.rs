//! Accounts receivable: customers, and their invoices and credit notes.
//! An invoice is a draft, which can be edited or deleted, until it is
//! posted: then its total is debited to the customer's receivable account
//! against its lines, it gets its number in the sales journal, and it falls
//! due in the instalments of its payment terms. A credit note posts the
//! other way round.

use keel_values::Date;
use keel_values::code::{check_account, check_code, check_currency};
use keel_values::decimal::{self, Sign, cents};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::RuleError;
use super::entry::Line;
use super::tax::{self, TaxLine, TaxRate};
use super::terms::{Instalment, PaymentTerms};

/// The account customers' invoices are debited to when a customer names
/// none.
pub const RECEIVABLES_ACCOUNT: &str = "1200";
/// The terms of a customer that names none.
pub const DEFAULT_TERMS: &str = "NET30";
/// Most lines one invoice may have.
const LINES_MAX: usize = 200;
/// Longest name, description, memo or reference.
const TEXT_BYTES_MAX: usize = 200;

/// A customer, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Customer {
    /// Such as `C001`.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The code of its payment terms.
    pub terms: String,
    /// The receivable account its invoices are debited to.
    pub account: String,
}

/// A customer as a client creates it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// Such as `C001`.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The code of its payment terms; `NET30` if none.
    #[serde(default)]
    pub terms: Option<String>,
    /// The receivable account its invoices are debited to; 1200 if none.
    #[serde(default)]
    pub account: Option<String>,
}

impl NewCustomer {
    /// Checks a new customer: a code, a name, and codes for its terms and
    /// account (whether they exist is for the books to say).
    pub fn check(self) -> Result<Customer, RuleError> {
        check_code("customer", &self.code)?;
        let name = text("name", &self.name)?;
        if name.is_empty() {
            return Err(RuleError::new("a customer needs a name"));
        }
        let terms = self.terms.unwrap_or_else(|| DEFAULT_TERMS.to_owned());
        check_code("payment terms", &terms)?;
        let account = self.account.unwrap_or_else(|| RECEIVABLES_ACCOUNT.to_owned());
        check_account(&account)?;
        Ok(Customer { code: self.code, name, terms, account })
    }
}

/// An invoice, or a credit note that takes back some of one.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "InvoiceKind")]
pub enum Kind {
    /// What the customer owes.
    #[default]
    Invoice,
    /// What is taken back of an invoice.
    CreditNote,
}

/// Where an invoice stands. Stored, indexed and listed by these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "InvoiceStatus")]
pub enum Status {
    /// Editable; posts nothing.
    Draft,
    /// Posted and not settled in full.
    Open,
    /// Posted and settled.
    Paid,
}

impl Status {
    /// The status named `text` in a query, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(Self::Draft),
            "open" => Some(Self::Open),
            "paid" => Some(Self::Paid),
            _ => None,
        }
    }
}

/// A line as a client submits it: quantity and unit price as decimal
/// strings.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoiceLine {
    /// The income account it is credited to.
    pub account: String,
    /// What was sold.
    #[serde(default)]
    pub description: String,
    /// How many, as a decimal string.
    pub quantity: String,
    /// The price of one, as a decimal string (tax included if its rate
    /// includes it).
    pub unit_price: String,
    /// The sales tax rate it bears, if any.
    #[serde(default)]
    pub tax: Option<String>,
}

/// An invoice as a client creates or replaces a draft.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    /// The customer's code.
    pub customer: String,
    /// An invoice, or a credit note; an invoice if none.
    #[serde(default)]
    pub kind: Kind,
    /// Its date, which it posts on.
    #[schemars(with = "keel_values::Date")]
    pub date: String,
    /// Payment terms; the customer's if none.
    #[serde(default)]
    pub terms: Option<String>,
    /// What it is for.
    #[serde(default)]
    pub memo: String,
    /// The customer's order number, say.
    #[serde(default)]
    pub reference: String,
    /// The currency it is written in; the company's if none.
    #[serde(default)]
    pub currency: Option<String>,
    /// Company-currency units for one unit of `currency`, if agreed; else
    /// the rate of its date when it is posted.
    #[serde(default)]
    pub rate: Option<String>,
    /// Its lines.
    pub lines: Vec<NewInvoiceLine>,
}

/// An invoice line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InvoiceLine {
    /// The income account it is credited to.
    pub account: String,
    /// What was sold.
    pub description: String,
    /// How many.
    pub quantity: Decimal,
    /// The price of one.
    pub unit_price: Decimal,
    /// Quantity times unit price, to the cent (tax included if its rate
    /// includes it).
    pub amount: Decimal,
    /// Its tax rate, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<String>,
    /// What its account is credited: the amount less any tax it includes.
    #[serde(default)]
    pub net: Decimal,
}

/// An instalment of a posted invoice and what of it is still open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Due {
    /// When it falls due.
    pub due: Date,
    /// How much.
    pub amount: Decimal,
    /// What of it is still to be settled.
    pub open: Decimal,
}

/// An invoice or credit note, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Invoice {
    /// `CI-000001`, from its draft on.
    pub id: String,
    /// An invoice or a credit note.
    pub kind: Kind,
    /// The customer's code.
    pub customer: String,
    /// Its date, which it posts on.
    pub date: Date,
    /// The code of its payment terms.
    pub terms: String,
    /// What it is for.
    pub memo: String,
    /// The customer's order number, say.
    pub reference: String,
    /// Its lines.
    pub lines: Vec<InvoiceLine>,
    /// The tax of each rate, rounded once on its lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taxes: Vec<TaxLine>,
    /// The lines' net amounts.
    #[serde(default)]
    pub net_total: Decimal,
    /// The taxes.
    #[serde(default)]
    pub tax_total: Decimal,
    /// Net and tax: what the customer owes.
    pub total: Decimal,
    /// A draft, open, or paid.
    pub status: Status,
    /// Its number in the sales journal, once posted (`SAL/2026/0001`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub number: String,
    /// The journal entry that posted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_entry: Option<u64>,
    /// The currency it is written in: its lines, taxes, totals and open
    /// amounts are in it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub currency: String,
    /// Company-currency units for one unit of `currency`, if foreign: as
    /// agreed on the draft, or its date's once posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
    /// What is open, in the company's currency at the rate it was posted
    /// at, once posted.
    #[serde(default)]
    pub carried: Decimal,
    /// When what falls due, once posted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instalments: Vec<Due>,
    /// What is still to be settled, once posted.
    #[serde(default)]
    pub open: Decimal,
    /// The receipts that settled it, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settlements: Vec<Settled>,
}

/// What one receipt settled of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Settled {
    /// The receipt's date.
    pub date: Date,
    /// The receipt, `RC-000001`.
    pub receipt: String,
    /// In the invoice's currency.
    pub amount: Decimal,
    /// What it took off the carrying amount, in the company's currency.
    pub cleared: Decimal,
}

/// A checked draft's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedInvoice {
    pub currency: Option<String>,
    pub rate: Option<Decimal>,
    pub customer: String,
    pub kind: Kind,
    pub date: Date,
    pub terms: Option<String>,
    pub memo: String,
    pub reference: String,
    pub lines: Vec<InvoiceLine>,
    pub taxes: Vec<TaxLine>,
    pub net_total: Decimal,
    pub tax_total: Decimal,
    pub total: Decimal,
}

impl NewInvoice {
    /// The tax rates its lines name, each once.
    pub fn tax_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self.lines.iter().filter_map(|l| l.tax.clone()).collect();
        codes.sort_unstable();
        codes.dedup();
        codes
    }

    /// Checks the date, texts, 1 to 200 lines of positive quantity and a
    /// price, each tax one of the sales rates of `rates`, and a total above
    /// zero; prices the lines and taxes them.
    pub fn check(self, rates: &BTreeMap<String, TaxRate>) -> Result<CheckedInvoice, RuleError> {
        check_code("customer", &self.customer)?;
        let date = Date::parse(&self.date)?;
        if let Some(currency) = &self.currency {
            check_currency(currency)?;
        }
        let rate = match (&self.currency, &self.rate) {
            (_, None) => None,
            (Some(_), Some(text)) => Some(decimal::rate(text, "rate")?),
            (None, Some(_)) => {
                return Err(RuleError::new("a rate goes with a currency; name the currency"));
            }
        };
        if let Some(terms) = &self.terms {
            check_code("payment terms", terms)?;
        }
        if self.lines.is_empty() || self.lines.len() > LINES_MAX {
            return Err(RuleError::new(format!("an invoice has 1 to {LINES_MAX} lines")));
        }
        let mut lines = Vec::with_capacity(self.lines.len());
        let mut total = Decimal::ZERO;
        for (i, line) in self.lines.into_iter().enumerate() {
            let n = i + 1;
            check_account(&line.account)
                .map_err(|err| RuleError::new(format!("line {n}: {err}")))?;
            let quantity =
                decimal::quantity(&line.quantity, &format!("line {n} quantity"), Sign::Positive)?;
            let unit_price = decimal::amount(
                &line.unit_price,
                &format!("line {n} unit price"),
                Sign::NonNegative,
            )?;
            let amount = cents(quantity.checked_mul(unit_price).ok_or_else(too_large)?);
            decimal::check_amount(amount, &format!("line {n} amount"), Sign::NonNegative)?;
            total = total.checked_add(amount).ok_or_else(too_large)?;
            let description = text(&format!("line {n} description"), &line.description)?;
            if let Some(code) = &line.tax {
                match rates.get(code) {
                    Some(rate) if rate.kind == tax::Kind::Sales => {}
                    Some(_) => {
                        return Err(RuleError::new(format!(
                            "line {n}: tax {code} is a purchase rate"
                        )));
                    }
                    None => {
                        return Err(RuleError::new(format!(
                            "line {n}: tax rate {code} does not exist"
                        )));
                    }
                }
            }
            let (tax, net) = (line.tax, amount);
            lines.push(InvoiceLine {
                account: line.account,
                description,
                quantity,
                unit_price,
                amount,
                tax,
                net,
            });
        }
        let amounts: Vec<Decimal> = lines.iter().map(|l| l.amount).collect();
        let line_rates: Vec<Option<&TaxRate>> =
            lines.iter().map(|l| l.tax.as_ref().and_then(|code| rates.get(code))).collect();
        let (nets, taxes) = tax::apply(&amounts, &line_rates)?;
        for (line, net) in lines.iter_mut().zip(nets) {
            line.net = net;
        }
        let net_total: Decimal = lines.iter().map(|l| l.net).sum();
        let tax_total: Decimal = taxes.iter().map(|t| t.amount).sum();
        let total = net_total.checked_add(tax_total).ok_or_else(too_large)?;
        decimal::check_amount(total, "the invoice total", Sign::Positive)?;
        Ok(CheckedInvoice {
            currency: self.currency,
            rate,
            customer: self.customer,
            kind: self.kind,
            date,
            terms: self.terms,
            memo: text("memo", &self.memo)?,
            reference: text("reference", &self.reference)?,
            lines,
            taxes,
            net_total,
            tax_total,
            total,
        })
    }
}

impl Invoice {
    /// A new draft `id` of `checked`, on `terms` (the invoice's own or its
    /// customer's), in its currency or else the company's (`company`).
    pub fn draft(id: String, checked: CheckedInvoice, terms: String, company: &str) -> Self {
        let currency = checked.currency.unwrap_or_else(|| company.to_owned());
        let rate = checked.rate.filter(|_| currency != company);
        Self {
            id,
            kind: checked.kind,
            customer: checked.customer,
            date: checked.date,
            terms,
            memo: checked.memo,
            reference: checked.reference,
            lines: checked.lines,
            taxes: checked.taxes,
            net_total: checked.net_total,
            tax_total: checked.tax_total,
            total: checked.total,
            status: Status::Draft,
            number: String::new(),
            journal_entry: None,
            currency,
            rate,
            carried: Decimal::ZERO,
            instalments: Vec::new(),
            open: Decimal::ZERO,
            settlements: Vec::new(),
        }
    }

    /// What was open at the end of `date`, in its currency and as carried
    /// in the company's: what is open now, and what receipts after `date`
    /// settled.
    pub fn open_at(&self, date: &Date) -> (Decimal, Decimal) {
        self.settlements
            .iter()
            .filter(|s| s.date > *date)
            .fold((self.open, self.carried), |(open, carried), s| {
                (open + s.amount, carried + s.cleared)
            })
    }

    /// Brings an invoice stored before currencies were kept (finance 0.3.0
    /// and earlier) up to date: its currency is the company's, and it is
    /// carried at what is open.
    pub fn upgrade(&mut self, company: &str) {
        if self.currency.is_empty() {
            self.currency = company.to_owned();
        }
        if self.status != Status::Draft && self.rate.is_none() && self.carried.is_zero() {
            self.carried = self.open;
        }
    }

    /// Checks that the invoice is still a draft, which alone may be edited,
    /// deleted or posted.
    pub fn check_draft(&self, doing: &str) -> Result<(), RuleError> {
        if self.status != Status::Draft {
            return Err(RuleError::new(format!(
                "invoice {} is posted as {}; a posted invoice cannot be {doing}: issue a credit note",
                self.id, self.number
            )));
        }
        Ok(())
    }

    /// The lines of its journal entry: the total debited to `receivable`,
    /// each line's net credited to its account and each tax to its account
    /// (the other way round for a credit note), amounts of one account
    /// together.
    pub fn posting_lines(&self, receivable: &str) -> Vec<Line> {
        let mut by_account: Vec<(String, Decimal)> = Vec::new();
        let credits = self.lines.iter().map(|l| (&l.account, l.net));
        let taxes = self.taxes.iter().map(|t| (&t.account, t.amount));
        for (account, amount) in credits.chain(taxes).filter(|(_, a)| !a.is_zero()) {
            match by_account.iter_mut().find(|(known, _)| known == account) {
                Some((_, sum)) => *sum += amount,
                None => by_account.push((account.clone(), amount)),
            }
        }
        let invoice = self.kind == Kind::Invoice;
        let mut lines = vec![Line::side(receivable, self.total, invoice)];
        lines.extend(
            by_account.into_iter().map(|(account, amount)| Line::side(account, amount, !invoice)),
        );
        lines
    }

    /// Marks the draft posted as `number` by entry `entry`, which carries
    /// its total at `carried` in the company's currency (at `rate`, if
    /// foreign), falling due by `terms` (a credit note at once).
    pub fn post(
        &mut self,
        terms: &PaymentTerms,
        (number, entry, carried): (String, u64, Decimal),
        rate: Option<Decimal>,
    ) -> Result<(), RuleError> {
        self.check_draft("posted again")?;
        let instalments = match self.kind {
            Kind::Invoice => terms.instalments(self.total, &self.date)?,
            Kind::CreditNote => vec![Instalment { due: self.date.clone(), amount: self.total }],
        };
        self.instalments = instalments
            .into_iter()
            .map(|i| Due { due: i.due, open: i.amount, amount: i.amount })
            .collect();
        (self.number, self.journal_entry, self.carried) = (number, Some(entry), carried);
        self.rate = rate;
        self.open = self.total;
        self.status = Status::Open;
        Ok(())
    }
}

/// `value` trimmed, within the length a text may have.
fn text(what: &str, value: &str) -> Result<String, RuleError> {
    let value = value.trim();
    if value.len() > TEXT_BYTES_MAX {
        return Err(RuleError::new(format!("{what} is longer than {TEXT_BYTES_MAX} bytes")));
    }
    Ok(value.to_owned())
}

fn too_large() -> RuleError {
    RuleError::new("the invoice amounts are too large")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::ledger::terms::net;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn new(kind: Kind, lines: &[(&str, &str, &str)]) -> NewInvoice {
        NewInvoice {
            customer: "ACME".into(),
            kind,
            date: "2026-03-10".into(),
            terms: None,
            memo: String::new(),
            reference: "PO-7".into(),
            currency: None,
            rate: None,
            lines: lines
                .iter()
                .map(|(account, quantity, price)| NewInvoiceLine {
                    account: (*account).into(),
                    description: "work".into(),
                    quantity: (*quantity).into(),
                    unit_price: (*price).into(),
                    tax: None,
                })
                .collect(),
        }
    }

    fn draft(kind: Kind, lines: &[(&str, &str, &str)]) -> Invoice {
        Invoice::draft(
            "CI-000001".into(),
            new(kind, lines).check(&BTreeMap::new()).unwrap(),
            "NET30".into(),
            "EUR",
        )
    }

    #[test]
    fn lines_are_priced_to_the_cent_and_totalled() {
        let invoice = draft(Kind::Invoice, &[("4000", "3", "19.995"), ("4100", "1.5", "100")]);
        assert_eq!(invoice.lines[0].amount, d("59.98"), "59.985 to the even cent");
        assert_eq!(invoice.total, d("209.98"));
        assert_eq!(invoice.status, Status::Draft);
    }

    #[test]
    fn broken_invoices_are_refused_with_reasons() {
        let err = |lines: &[(&str, &str, &str)]| {
            new(Kind::Invoice, lines).check(&BTreeMap::new()).unwrap_err().0
        };
        assert!(err(&[]).contains("1 to 200 lines"));
        assert!(err(&[("4000", "0", "10")]).contains("line 1 quantity"));
        assert!(err(&[("4000", "1", "-10")]).contains("line 1 unit price"));
        assert!(err(&[("4000", "1", "0")]).contains("invoice total"));
        assert!(err(&[("40 00", "1", "10")]).contains("line 1"));
        let mut bad_date = new(Kind::Invoice, &[("4000", "1", "10")]);
        bad_date.date = "2026-02-30".into();
        assert!(bad_date.check(&BTreeMap::new()).is_err());
    }

    #[test]
    fn an_invoice_debits_the_customer_and_a_credit_note_credits_it() {
        let invoice =
            draft(Kind::Invoice, &[("4000", "2", "50"), ("4100", "1", "20"), ("4000", "1", "5")]);
        let lines = crate::ledger::entry::sides(invoice.posting_lines("1200"));
        assert_eq!(
            lines,
            [
                ("1200".to_owned(), Some(d("125")), None),
                ("4000".to_owned(), None, Some(d("105"))),
                ("4100".to_owned(), None, Some(d("20"))),
            ]
        );
        let credit = draft(Kind::CreditNote, &[("4000", "1", "20")]);
        let lines = credit.posting_lines("1200");
        assert_eq!((lines[0].credit, lines[1].debit), (Some(d("20")), Some(d("20"))));
    }

    #[test]
    fn taxed_lines_credit_their_net_and_the_tax_its_account() {
        let vat = TaxRate {
            code: "VAT20".into(),
            name: "VAT".into(),
            rate: d("20"),
            kind: tax::Kind::Sales,
            inclusive: false,
            account: "2100".into(),
        };
        let rates = BTreeMap::from([("VAT20".to_owned(), vat.clone())]);
        let mut taxed = new(Kind::Invoice, &[("4000", "3", "0.33"), ("4100", "1", "10")]);
        taxed.lines[0].tax = Some("VAT20".into());
        let invoice = Invoice::draft(
            "CI-1".into(),
            taxed.clone().check(&rates).unwrap(),
            "NET30".into(),
            "EUR",
        );
        assert_eq!(
            (invoice.net_total, invoice.tax_total, invoice.total),
            (d("10.99"), d("0.20"), d("11.19"))
        );
        let lines = crate::ledger::entry::sides(invoice.posting_lines("1200"));
        assert_eq!(
            lines,
            [
                ("1200".to_owned(), Some(d("11.19")), None),
                ("4000".to_owned(), None, Some(d("0.99"))),
                ("4100".to_owned(), None, Some(d("10"))),
                ("2100".to_owned(), None, Some(d("0.20"))),
            ]
        );
        let purchase =
            BTreeMap::from([("VAT20".to_owned(), TaxRate { kind: tax::Kind::Purchase, ..vat })]);
        assert!(taxed.clone().check(&purchase).unwrap_err().0.contains("purchase rate"));
        assert!(taxed.check(&BTreeMap::new()).unwrap_err().0.contains("does not exist"));
    }

    #[test]
    fn a_posted_invoice_falls_due_and_is_no_longer_a_draft() {
        let mut invoice = draft(Kind::Invoice, &[("4000", "1", "100")]);
        invoice.post(&net(30), ("SAL/2026/0001".into(), 7, d("100")), None).unwrap();
        assert_eq!((invoice.status, invoice.open), (Status::Open, d("100")));
        assert_eq!(invoice.instalments[0].due.as_str(), "2026-04-09");
        let err = invoice.check_draft("edited").unwrap_err().0;
        assert!(err.contains("posted as SAL/2026/0001") && err.contains("credit note"), "{err}");
        assert!(invoice.post(&net(30), ("again".into(), 8, d("100")), None).is_err());
        let mut credit = draft(Kind::CreditNote, &[("4000", "1", "20")]);
        credit.post(&net(30), ("SAL/2026/0002".into(), 9, d("20")), None).unwrap();
        assert_eq!(credit.instalments[0].due, credit.date, "a credit note is due at once");
    }

    #[test]
    fn what_was_open_at_a_date_adds_back_later_receipts() {
        let mut invoice = draft(Kind::Invoice, &[("4000", "1", "1000")]);
        invoice.post(&net(30), ("SAL/2026/0001".into(), 7, d("900.00")), Some(d("0.90"))).unwrap();
        let day = |text: &str| Date::parse(text).unwrap();
        invoice.settle((&day("2026-04-10"), "RC-1"), d("400"), d("360.00"));
        invoice.settle((&day("2026-05-10"), "RC-2"), d("600"), d("540.00"));
        assert_eq!(
            (invoice.open, invoice.carried, invoice.status),
            (d("0"), d("0.00"), Status::Paid)
        );
        assert_eq!(invoice.open_at(&day("2026-03-31")), (d("1000"), d("900.00")));
        assert_eq!(invoice.open_at(&day("2026-04-30")), (d("600"), d("540.00")));
        assert_eq!(invoice.open_at(&day("2026-05-10")), (d("0"), d("0.00")));
    }

    #[test]
    fn an_invoice_from_before_currencies_is_carried_at_what_is_open() {
        let mut old = draft(Kind::Invoice, &[("4000", "1", "100")]);
        old.post(&net(30), ("SAL/2026/0001".into(), 7, d("0")), None).unwrap();
        old.currency = String::new();
        old.upgrade("GBP");
        assert_eq!((old.currency.as_str(), old.carried), ("GBP", d("100")));
        let mut draft = draft(Kind::Invoice, &[("4000", "1", "100")]);
        draft.currency = String::new();
        draft.upgrade("GBP");
        assert_eq!((draft.currency.as_str(), draft.carried), ("GBP", d("0")));
    }

    #[test]
    fn a_customer_gets_default_terms_and_account() {
        let new =
            NewCustomer { code: "ACME".into(), name: " Acme ".into(), terms: None, account: None };
        let customer = new.check().unwrap();
        assert_eq!(
            (customer.name.as_str(), customer.terms.as_str(), customer.account.as_str()),
            ("Acme", "NET30", "1200")
        );
        let nameless =
            NewCustomer { code: "X".into(), name: " ".into(), terms: None, account: None };
        assert!(nameless.check().unwrap_err().0.contains("needs a name"));
        let lower =
            NewCustomer { code: "acme".into(), name: "A".into(), terms: None, account: None };
        assert!(lower.check().unwrap_err().0.contains("customer code"));
    }
}
