//! Payroll as served: salary structures, the accounts runs post to, and
//! runs: created for a period once the runs before it are posted,
//! calculated by a background job (`calculation`), approved by someone who
//! did not calculate them, posted to the ledger as one balanced entry
//! through `keel:erp/ledger`, and paid; their payslips, each employee's own
//! included.

use std::collections::BTreeMap;

use keel_sdk::contract::JsonSchema;
use keel_sdk::erp::{self, JournalEntry};
use keel_sdk::{Collection, Error, Range, Request, Response, Result};
use keel_values::Date;
use keel_values::code::check_account;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::books;
use crate::payroll::document::StructureDoc;
use crate::payroll::posting::payment;
use crate::payroll::run::{Run, RunState};
use crate::payroll::structure::Line;
use crate::people::{Share, check_id};

pub(crate) const STRUCTURES: Collection<StructureDoc> = Collection::new("salary-structures");
/// Structures a run was calculated with, which are kept as they are from
/// then on (payslips and arrears are computed again from them).
pub(crate) const STRUCTURES_USED: Collection<Used> = Collection::new("salary-structures-used");
const SETTINGS: Collection<Settings> = Collection::new("payroll-settings");
pub(crate) const RUNS: Collection<RunDoc> = Collection::new("payroll-runs");
/// Keyed `<run>/<employee>`.
pub(crate) const PAYSLIPS: Collection<PayslipDoc> = Collection::new("payslips");
/// Keyed by employee: the earliest date of a change made after it was
/// paid for (a backdated contract, a correction of attendance), from which
/// their paid periods are computed again and the difference paid as
/// arrears.
pub(crate) const ARREARS_DUE: Collection<ArrearsDue> = Collection::new("arrears-due");
const SETTINGS_KEY: &str = "accounts";
/// Most lines the ledger takes in one entry.
pub(crate) const ENTRY_LINES_MAX: usize = 500;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Used {
    pub run: String,
}

/// Where a run's net pay is owed and paid from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PayrollSettings")]
pub(crate) struct Settings {
    /// Payroll payable: the ledger account the net pay is owed on.
    pub payable_account: String,
    /// The ledger account of the bank it is paid from.
    pub bank_account: String,
}

/// A run, with what its calculation came to.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "PayrollRun")]
pub(crate) struct RunDoc {
    /// Its first day.
    pub id: String,
    #[serde(flatten)]
    pub run: Run,
    /// The ledger's currency; contracts in another are not paid by it.
    pub currency: String,
    /// The job calculating it now, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculating: Option<String>,
    /// The employees it pays.
    #[serde(default)]
    pub employees: u64,
    /// Their earnings, arrears included.
    #[serde(default)]
    pub gross: Decimal,
    /// What is kept from their pay for others.
    #[serde(default)]
    pub deductions: Decimal,
    /// What they are paid: gross less deductions.
    #[serde(default)]
    pub net: Decimal,
    /// The employer's contributions on top.
    #[serde(default)]
    pub contributions: Decimal,
    /// Payroll payable, as it was when calculated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payable_account: Option<String>,
    /// The entry it will post: by account and department.
    #[serde(default)]
    pub journal: Vec<JournalLineDoc>,
    /// The structures its payslips used.
    #[serde(default)]
    pub structures: Vec<String>,
    /// Employees it did not pay, and why (the first ones).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The warnings beyond those kept word for word.
    #[serde(default)]
    pub warnings_more: u64,
    /// The number of the ledger entry it posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
    /// The number of the ledger entry that paid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_entry: Option<u64>,
}

/// Debits and credits to one account (for one department, on expenses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "PayrollJournalLine")]
pub(crate) struct JournalLineDoc {
    /// The ledger account's code.
    pub account: String,
    /// The department, on expense lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Debits, to the cent.
    pub debit: Decimal,
    /// Credits, to the cent.
    pub credit: Decimal,
}

/// One employee's payslip in a run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Payslip")]
pub(crate) struct PayslipDoc {
    /// The run's id.
    pub run: String,
    /// The employee's number.
    pub employee: String,
    /// Their name.
    pub name: String,
    /// The period's first day.
    pub from: Date,
    /// The period's last day.
    pub to: Date,
    /// None on a payslip of arrears alone (for someone who has left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salary_structure: Option<String>,
    /// Base pay for the full period.
    pub base_pay: Decimal,
    /// The period's working days.
    pub working_days: Decimal,
    /// The days paid: those worked here, less unpaid leave and absences.
    pub payment_days: Decimal,
    /// This period's lines.
    pub lines: Vec<Line>,
    /// What earlier periods still owed, by period.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arrears: Vec<Arrears>,
    /// Earnings, with arrears.
    pub gross: Decimal,
    /// Deductions, with arrears.
    pub deductions: Decimal,
    /// What is paid: gross less deductions.
    pub net: Decimal,
    /// The employer's contributions, with arrears.
    pub contributions: Decimal,
    /// How the cost is shared between departments, in percent.
    pub cost_split: Vec<Share>,
    /// This year's totals so far: each component, and `gross`,
    /// `deductions` and `net`.
    pub year_to_date: BTreeMap<String, Decimal>,
}

/// What a paid period still owed, paid in a later run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Arrears {
    /// The run that paid the period.
    pub run: String,
    /// The period's first day.
    pub from: Date,
    /// The period's last day.
    pub to: Date,
    /// What is still owed by component (taken back, if negative).
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ArrearsDue {
    pub from: Date,
}

pub(crate) fn run(id: &str) -> Result<RunDoc> {
    RUNS.get(id)?.ok_or_else(|| Error::not_found(format!("payroll run {id} does not exist")))
}

pub(crate) fn settings() -> Result<Settings> {
    SETTINGS.get(SETTINGS_KEY)?.ok_or_else(|| {
        Error::invalid("payroll has no accounts yet; set them with PUT /payroll-settings")
    })
}

/// The runs, oldest first.
pub(crate) fn runs() -> Result<Vec<RunDoc>> {
    Ok(RUNS.scan_all(&Range::all())?.into_iter().map(|(_, run)| run).collect())
}

/// Checks the pay terms of a contract: its salary structure exists, and
/// its cost is shared between departments that exist.
pub(crate) fn check_terms(structure: Option<&str>, split: &[Share]) -> Result<()> {
    if let Some(code) = structure
        && STRUCTURES.get(code)?.is_none()
    {
        return Err(Error::invalid(format!(
            "salary structure {code} does not exist; create it with PUT /salary-structures/{code}"
        )));
    }
    if split.is_empty() {
        return Ok(());
    }
    for share in split {
        if books::DEPARTMENTS.get(&share.department)?.is_none() {
            return Err(Error::invalid(format!("department {} does not exist", share.department)));
        }
    }
    let shares: Vec<(String, Decimal)> =
        split.iter().map(|s| (s.department.clone(), s.percent)).collect();
    Ok(crate::payroll::posting::check_shares(&shares)?)
}

/// Notes that what `employee` is owed from `from` changed: if a run
/// (calculated already, or posted) covers that date or later, the next run
/// computes the posted periods since again and pays the difference as
/// arrears.
pub(crate) fn note_change(employee: &str, from: &Date) -> Result<()> {
    let paid_to = runs()?.into_iter().map(|r| r.run.to).max();
    if paid_to.is_none_or(|to| *from > to) {
        return Ok(());
    }
    let due = ARREARS_DUE.get(employee)?;
    if due.as_ref().is_some_and(|due| due.from <= *from) {
        return Ok(());
    }
    ARREARS_DUE.put(employee, &ArrearsDue { from: from.clone() })
}

/// Checks that `account` is in the ledger's chart.
fn in_the_chart(account: &str) -> Result<()> {
    check_account(account)?;
    erp::ledger::balance(account, None)
        .map_err(|err| Error::invalid(format!("account {account}: {}", err.message())))?;
    Ok(())
}

/// `PUT /salary-structures/{code}`: kept as they are once a posted run used
/// them (a change is a new structure, given by new contracts from a date).
pub(crate) fn put_structure(request: &Request) -> Result<Response> {
    let code = request.param("code")?;
    check_id("salary structure", code)?;
    let structure: StructureDoc = request.json()?;
    let (_, accounts) = structure.checked()?;
    if let Some(used) = STRUCTURES_USED.get(code)? {
        return Err(Error::conflict(format!(
            "salary structure {code} was used by payroll run {}, so it stays as it is; \
             create a new structure and give it in contracts from the date it applies",
            used.run
        )));
    }
    let named = accounts.values().flat_map(|a| a.expense.iter().chain(&a.liability));
    for account in named.collect::<std::collections::BTreeSet<_>>() {
        in_the_chart(account)?;
    }
    STRUCTURES.put(code, &structure)?;
    Response::ok(&CodedStructure { code: code.to_owned(), structure })
}

/// A salary structure and its code.
#[derive(Serialize, JsonSchema)]
pub(crate) struct CodedStructure {
    /// Its code: 1 to 32 of a-z, 0-9 and `-`.
    pub(crate) code: String,
    pub(crate) structure: StructureDoc,
}

/// Every salary structure.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Structures {
    /// By code.
    pub(crate) structures: Vec<CodedStructure>,
}

/// `GET /salary-structures`
pub(crate) fn list_structures(_request: &Request) -> Result<Response> {
    let all = STRUCTURES.scan_all(&Range::all())?;
    let structures: Vec<CodedStructure> =
        all.into_iter().map(|(code, structure)| CodedStructure { code, structure }).collect();
    Response::ok(&Structures { structures })
}

/// `PUT /payroll-settings`: the payable and bank accounts, which must be
/// in the ledger's chart.
pub(crate) fn put_settings(request: &Request) -> Result<Response> {
    let settings: Settings = request.json()?;
    for account in [&settings.payable_account, &settings.bank_account] {
        in_the_chart(account)?;
    }
    SETTINGS.put(SETTINGS_KEY, &settings)?;
    Response::ok(&settings)
}

/// A payroll run's period, 1 to 31 days.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRun {
    /// Its first day: the day after the last run's.
    from: Date,
    /// Its last day.
    to: Date,
}

/// `POST /payroll-runs`: a draft run for the period that begins the day
/// after the last run's (no day unpaid, none paid twice), once every run
/// before it is posted; its id is its first day.
pub(crate) fn create_run(request: &Request) -> Result<Response> {
    let new: NewRun = request.json()?;
    let run = Run::new(new.from, new.to)?;
    let earlier = runs()?;
    if let Some(last) = earlier.iter().max_by(|a, b| a.run.to.cmp(&b.run.to)) {
        let next = Date::from_days(last.run.to.days() + 1)?;
        if run.from != next {
            return Err(Error::conflict(format!(
                "payroll run {} covers {} to {}; the next run starts on {next}",
                last.id, last.run.from, last.run.to
            )));
        }
    }
    for earlier in earlier {
        if !matches!(earlier.run.state, RunState::Posted | RunState::Paid) {
            return Err(Error::conflict(format!(
                "payroll run {} is {:?}; post it before starting the next",
                earlier.id, earlier.run.state
            )));
        }
    }
    let doc = RunDoc {
        id: run.from.to_string(),
        currency: erp::ledger::company_currency()?,
        run,
        calculating: None,
        employees: 0,
        gross: Decimal::ZERO,
        deductions: Decimal::ZERO,
        net: Decimal::ZERO,
        contributions: Decimal::ZERO,
        payable_account: None,
        journal: Vec::new(),
        structures: Vec::new(),
        warnings: Vec::new(),
        warnings_more: 0,
        entry: None,
        payment_entry: None,
    };
    RUNS.insert(&doc.id, &doc)?;
    Response::created(&doc)
}

/// `GET /payroll-runs`
pub(crate) fn list_runs(request: &Request) -> Result<Response> {
    let page = RUNS.scan(&Range::all(), request.query("cursor"), request.page_limit()?)?;
    let runs: Vec<RunDoc> = page.items.into_iter().map(|(_, run)| run).collect();
    Response::ok(&RunPage { runs, cursor: page.cursor })
}

/// A page of payroll runs.
#[derive(Serialize, JsonSchema)]
pub(crate) struct RunPage {
    /// Oldest first.
    pub(crate) runs: Vec<RunDoc>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// `GET /payroll-runs/{id}`
pub(crate) fn get_run(request: &Request) -> Result<Response> {
    Response::ok(&run(request.param("id")?)?)
}

fn settled(run: &RunDoc) -> Result<()> {
    match &run.calculating {
        Some(job) => Err(Error::conflict(format!(
            "payroll run {} is being calculated (job {job}); wait for it to finish",
            run.id
        ))),
        None => Ok(()),
    }
}

/// `POST /payroll-runs/{id}/approval`: by someone who did not calculate it.
pub(crate) fn approve(request: &Request) -> Result<Response> {
    let mut run = run(request.param("id")?)?;
    settled(&run)?;
    run.run.approve(&books::signed_in("a payroll run's approval")?)?;
    RUNS.put(&run.id, &run)?;
    Response::ok(&run)
}

/// The ledger's lines for `journal`: a line that came to less than zero
/// (arrears taking back more than was paid) goes to the other side.
fn ledger_lines(journal: &[JournalLineDoc]) -> Vec<erp::Line> {
    let mut lines = Vec::with_capacity(journal.len());
    for line in journal {
        let net = line.debit - line.credit;
        if net.is_zero() {
            continue;
        }
        let amount = Some(net.abs().to_string());
        let (debit, credit) = if net > Decimal::ZERO { (amount, None) } else { (None, amount) };
        lines.push(erp::Line {
            account: line.account.clone(),
            debit,
            credit,
            cost_centre: line.department.clone(),
        });
    }
    lines
}

/// The optional body of a posting or a payment. Not in the contract: the
/// kernel would then require a body, and these operations take none too.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Dated {
    #[serde(default)]
    date: Option<Date>,
}

/// The body's date, if it has a body.
fn dated(request: &Request) -> Result<Dated> {
    if request.body().iter().all(u8::is_ascii_whitespace) {
        return Ok(Dated::default());
    }
    request.json()
}

/// `POST /payroll-runs/{id}/posting`: the approved run's one entry, dated
/// its last day (or `date`): each earning and contribution an expense of
/// its departments, each deduction and contribution owed, the net pay owed
/// on payroll payable.
pub(crate) fn post(request: &Request) -> Result<Response> {
    let dated = dated(request)?;
    let mut run = run(request.param("id")?)?;
    settled(&run)?;
    run.run.posted()?;
    let date = dated.date.unwrap_or_else(|| run.run.to.clone());
    let lines = ledger_lines(&run.journal);
    if lines.len() > ENTRY_LINES_MAX {
        return Err(Error::invalid(format!(
            "payroll run {}'s entry has {} lines, and the ledger takes {ENTRY_LINES_MAX} in one \
             entry; post fewer accounts or departments",
            run.id,
            lines.len()
        )));
    }
    // A run that paid no one posts nothing, and the next run may follow.
    if !lines.is_empty() {
        let entry = JournalEntry {
            date: date.to_string(),
            memo: format!("Payroll {} to {}", run.run.from, run.run.to),
            reference: format!("payroll/{}", run.id),
            lines,
            currency: Some(run.currency.clone()),
            rate: None,
        };
        run.entry = Some(erp::ledger::post(&entry)?);
    }
    RUNS.put(&run.id, &run)?;
    Response::ok(&run)
}

/// `POST /payroll-runs/{id}/payment`: the posted run's net pay, paid from
/// the bank account on `date` (today if none).
pub(crate) fn pay(request: &Request) -> Result<Response> {
    let dated = dated(request)?;
    let mut run = run(request.param("id")?)?;
    run.run.paid()?;
    let settings = settings()?;
    let payable = run.payable_account.clone().unwrap_or(settings.payable_account);
    let date = match dated.date {
        Some(date) => date,
        None => books::today()?,
    };
    if run.net.is_zero() {
        RUNS.put(&run.id, &run)?;
        return Response::ok(&run);
    }
    let lines = payment(run.net, &payable, &settings.bank_account)
        .into_iter()
        .map(|line| erp::Line {
            account: line.account,
            debit: (!line.debit.is_zero()).then(|| line.debit.to_string()),
            credit: (!line.credit.is_zero()).then(|| line.credit.to_string()),
            cost_centre: None,
        })
        .collect();
    let entry = JournalEntry {
        date: date.to_string(),
        memo: format!("Net pay of payroll {} to {}", run.run.from, run.run.to),
        reference: format!("payroll/{}/payment", run.id),
        lines,
        currency: Some(run.currency.clone()),
        rate: None,
    };
    run.payment_entry = Some(erp::ledger::post(&entry)?);
    RUNS.put(&run.id, &run)?;
    Response::ok(&run)
}

/// `GET /payroll-runs/{id}/payslips?cursor=&limit=`
pub(crate) fn payslips(request: &Request) -> Result<Response> {
    let run = run(request.param("id")?)?;
    let range = Range::prefix(format!("{}/", run.id));
    let page = PAYSLIPS.scan(&range, request.query("cursor"), request.page_limit()?)?;
    let payslips: Vec<PayslipDoc> = page.items.into_iter().map(|(_, slip)| slip).collect();
    Response::ok(&PayslipPage { run: run.id, payslips, cursor: page.cursor })
}

/// A page of a run's payslips.
#[derive(Serialize, JsonSchema)]
pub(crate) struct PayslipPage {
    /// The run's id.
    pub(crate) run: String,
    /// By employee number.
    pub(crate) payslips: Vec<PayslipDoc>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// An employee's payslips.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Payslips {
    /// The employee's number.
    pub(crate) employee: String,
    /// Oldest first.
    pub(crate) payslips: Vec<PayslipDoc>,
}

/// `GET /payroll-runs/{id}/payslips/{employee}`
pub(crate) fn payslip(request: &Request) -> Result<Response> {
    let (id, employee) = (request.param("id")?, request.param("employee")?);
    let slip = PAYSLIPS.get(&format!("{id}/{employee}"))?.ok_or_else(|| {
        Error::not_found(format!("payroll run {id} has no payslip for {employee}"))
    })?;
    Response::ok(&slip)
}

/// `GET /me/payslips`: the caller's payslips of posted runs.
pub(crate) fn my_payslips(_request: &Request) -> Result<Response> {
    let me = books::caller_employee()?.ok_or_else(|| {
        Error::not_found("you are not an employee here; HR links a user to an employee record")
    })?;
    let mut payslips = Vec::new();
    for run in runs()? {
        if matches!(run.run.state, RunState::Posted | RunState::Paid)
            && let Some(slip) = PAYSLIPS.get(&format!("{}/{}", run.id, me.id))?
        {
            payslips.push(slip);
        }
    }
    Response::ok(&Payslips { employee: me.id, payslips })
}
