//! A payroll run's calculation: a background job over every employee, a
//! batch a step. It first removes the payslips an earlier calculation of
//! the run left, then pays each employee who works in the period under a
//! contract naming a salary structure for their payment days (working days
//! while employed, less approved unpaid leave and approved absences), with
//! arrears for paid periods a later change affected, and their year to
//! date. The run keeps its totals and the one entry it will post.

use std::collections::BTreeMap;
use std::rc::Rc;

use keel_sdk::jobs::{Progress, Step};
use keel_sdk::{Error, Range, Result};
use keel_values::Date;
use keel_values::decimal::{self, Sign};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::absence::{CALENDARS, DEFAULT_CALENDAR, LEAVE_TYPES, REQUESTS};
use crate::attendance;
use crate::books::{self, EMPLOYEES};
use crate::leave::attendance::{DayState, Presence};
use crate::leave::calendar::Calendar;
use crate::leave::request::{State, payment_days};
use crate::pay::{
    self, ARREARS_DUE, Arrears, ENTRY_LINES_MAX, JournalLineDoc, PAYSLIPS, PayslipDoc, RUNS,
    RunDoc, Used,
};
use crate::payroll::posting::{Accounts, ComponentAccounts, Costed, JournalLine, journal};
use crate::payroll::run::{RunState, year_to_date};
use crate::payroll::structure::{Inputs, Line, Payslip, Structure};
use crate::people::{Contract, Employee, Share, in_force};

/// Employees a step pays.
const BATCH: u32 = 200;
/// Payslips of an earlier calculation a step removes.
const CLEAR_BATCH: u32 = 500;
/// Warnings a run keeps word for word; beyond, it counts them.
const WARNINGS_MAX: usize = 50;
/// Posted runs a change is computed again for, the latest first.
const ARREARS_PERIODS_MAX: usize = 12;

/// What a finished calculation's job tells: no amounts, as a job's record
/// is not sealed and a run of one employee would show their pay (the run
/// holds them).
#[derive(Serialize)]
struct Outcome<'a> {
    /// The run's id.
    run: &'a str,
    /// The employees it pays.
    employees: u64,
    /// How many warnings it gave (employees not paid, and why).
    warnings: u64,
}

/// Where the next step goes on.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// Still removing the payslips of an earlier calculation.
    clearing: bool,
    /// The employee page to go on from.
    #[serde(default)]
    after: Option<String>,
}

/// One step of `POST /payroll-runs/{id}/calculation`.
pub(crate) fn step(step: &Step) -> Result<Progress> {
    let id = step.request.param("id")?;
    let mut run = pay::run(id)?;
    let cursor = match step.cursor_as::<Cursor>()? {
        None => start(&mut run, &step.job)?,
        Some(cursor) if run.calculating.as_deref() == Some(step.job.as_str()) => cursor,
        Some(_) => {
            return Err(Error::conflict(format!(
                "payroll run {id} has been calculated by another job since this one began"
            )));
        }
    };
    if cursor.clearing {
        let page = PAYSLIPS.scan(&Range::prefix(format!("{id}/")), None, CLEAR_BATCH)?;
        for (key, _) in &page.items {
            PAYSLIPS.delete(key)?;
        }
        let next = Cursor { clearing: page.cursor.is_some(), after: None };
        return Progress::next(step.done, None, &next);
    }
    let page = EMPLOYEES.scan(&Range::all(), cursor.after.as_deref(), BATCH)?;
    let mut calculation = Calculation::new(&run)?;
    for (_, employee) in &page.items {
        calculation.employee(employee)?;
    }
    calculation.into_run(&mut run);
    let done = step.done + page.items.len() as u64;
    let Some(after) = page.cursor else {
        let sides =
            run.journal.iter().map(|l| 1 + usize::from(!l.debit.is_zero() && !l.credit.is_zero()));
        let lines: usize = sides.sum();
        if lines > ENTRY_LINES_MAX {
            return Err(Error::invalid(format!(
                "payroll run {id}'s entry would have {lines} lines, and the ledger takes \
                 {ENTRY_LINES_MAX}; post salaries to fewer accounts, or share costs between \
                 fewer departments"
            )));
        }
        run.run.calculated(&books::signed_in("a payroll run's calculation")?)?;
        run.calculating = None;
        RUNS.put(id, &run)?;
        let warnings = run.warnings.len() as u64 + run.warnings_more;
        let outcome = Outcome { run: id, employees: run.employees, warnings };
        return Progress::finished(done, &outcome);
    };
    RUNS.put(id, &run)?;
    Progress::next(done, None, &Cursor { clearing: false, after: Some(after) })
}

/// The first step: the run is (again) a draft being calculated by `job`,
/// from nothing.
fn start(run: &mut RunDoc, job: &str) -> Result<Cursor> {
    books::signed_in("a payroll run's calculation")?;
    let settings = pay::settings()?;
    let calculated_before = run.run.state == RunState::Calculated || run.calculating.is_some();
    run.run.recalculating()?;
    *run = RunDoc {
        calculating: Some(job.to_owned()),
        employees: 0,
        gross: Decimal::ZERO,
        deductions: Decimal::ZERO,
        net: Decimal::ZERO,
        contributions: Decimal::ZERO,
        payable_account: Some(settings.payable_account),
        journal: Vec::new(),
        structures: Vec::new(),
        warnings: Vec::new(),
        warnings_more: 0,
        ..run.clone()
    };
    RUNS.put(&run.id, run)?;
    Ok(Cursor { clearing: calculated_before, after: None })
}

/// A structure, checked, and where its components post.
struct Checked {
    structure: Structure,
    accounts: BTreeMap<String, ComponentAccounts>,
}

/// What an employee is due for one period.
enum Due {
    /// They did not work here in it.
    NotPaid,
    /// They cannot be paid for it, and why.
    Refused(String),
    Paid(Computed),
}

struct Computed {
    structure: String,
    base: Decimal,
    working: Decimal,
    payment: Decimal,
    payslip: Payslip,
    /// Absences recorded in the period that await a decision.
    waiting: usize,
}

/// One step's work: what it read once, and what its payslips add up to.
struct Calculation {
    run: String,
    from: Date,
    to: Date,
    currency: String,
    payable: String,
    /// Posted runs before this one, oldest first.
    posted: Vec<RunDoc>,
    structures: BTreeMap<String, Option<Rc<Checked>>>,
    calendars: BTreeMap<String, Option<Rc<Calendar>>>,
    /// Leave types, by code: whether each is paid.
    paid_leave: BTreeMap<String, bool>,
    employees: u64,
    totals: [Decimal; 4],
    journal: BTreeMap<(String, Option<String>), (Decimal, Decimal)>,
    used: Vec<String>,
    warnings: Vec<String>,
    warnings_more: u64,
}

impl Calculation {
    fn new(run: &RunDoc) -> Result<Self> {
        let posted = pay::runs()?
            .into_iter()
            .filter(|r| r.id != run.id && matches!(r.run.state, RunState::Posted | RunState::Paid))
            .collect();
        let paid_leave = LEAVE_TYPES
            .scan_all(&Range::all())?
            .into_iter()
            .map(|(code, leave_type)| (code, leave_type.paid))
            .collect();
        let payable = run.payable_account.clone().ok_or_else(|| {
            Error::internal(format!("payroll run {} is calculated with no payable account", run.id))
        })?;
        Ok(Self {
            run: run.id.clone(),
            from: run.run.from.clone(),
            to: run.run.to.clone(),
            currency: run.currency.clone(),
            payable,
            posted,
            structures: BTreeMap::new(),
            calendars: BTreeMap::new(),
            paid_leave,
            employees: 0,
            totals: [Decimal::ZERO; 4],
            journal: BTreeMap::new(),
            used: Vec::new(),
            warnings: Vec::new(),
            warnings_more: 0,
        })
    }

    fn warn(&mut self, employee: &str, why: &str) {
        if self.warnings.len() < WARNINGS_MAX {
            self.warnings.push(format!("{employee}: {why}"));
        } else {
            self.warnings_more += 1;
        }
    }

    fn structure(&mut self, code: &str) -> Result<Option<Rc<Checked>>> {
        if let Some(found) = self.structures.get(code) {
            return Ok(found.clone());
        }
        let checked = match pay::STRUCTURES.get(code)? {
            Some(doc) => {
                let (structure, accounts) = doc.checked()?;
                Some(Rc::new(Checked { structure, accounts }))
            }
            None => None,
        };
        self.structures.insert(code.to_owned(), checked.clone());
        Ok(checked)
    }

    fn calendar(&mut self, employee: &Employee) -> Result<Option<Rc<Calendar>>> {
        let id = employee.calendar.as_deref().unwrap_or(DEFAULT_CALENDAR);
        if let Some(found) = self.calendars.get(id) {
            return Ok(found.clone());
        }
        let calendar = CALENDARS.get(id)?.map(Rc::new);
        self.calendars.insert(id.to_owned(), calendar.clone());
        Ok(calendar)
    }

    /// Pays `employee` in this run what this period and any arrears come
    /// to, if anything.
    fn employee(&mut self, employee: &Employee) -> Result<()> {
        let contracts = books::contracts(&employee.id)?;
        let (from, to) = (self.from.clone(), self.to.clone());
        let computed = match self.due(employee, &contracts, &from, &to)? {
            Due::NotPaid => None,
            Due::Refused(why) => {
                self.warn(&employee.id, &format!("not paid: {why}"));
                None
            }
            Due::Paid(computed) => Some(computed),
        };
        if let Some(computed) = &computed
            && computed.waiting > 0
        {
            let why = format!(
                "{} days of attendance in the period await a decision; what was approved \
                 before is counted",
                computed.waiting
            );
            self.warn(&employee.id, &why);
        }
        let mut arrears = self.arrears(employee, &contracts)?;
        if computed.is_none() && arrears.is_empty() {
            return Ok(());
        }
        let own = computed.as_ref().map_or_else(Payslip::empty, |c| c.payslip.clone());
        let extra: Vec<Line> = arrears.iter().flat_map(|(a, _)| a.lines.iter().cloned()).collect();
        let total = match own.with(&extra) {
            Ok(total) => total,
            Err(err) => {
                // What is owed back exceeds the pay: pay the period, and
                // the arrears stay due until a run can settle them.
                self.warn(&employee.id, &format!("arrears not settled: {err}"));
                arrears.clear();
                own.clone()
            }
        };
        if computed.is_none() && arrears.is_empty() {
            return Ok(());
        }
        let contract = in_force(&contracts, employed_to(employee, &to))
            .or_else(|| contracts.iter().max_by(|a, b| a.from.cmp(&b.from)));
        let split = cost_split(employee, contract);
        // The entry's lines first, so that a payslip that cannot be posted
        // is refused before anything of it is kept.
        let mut lines = Vec::new();
        if let Some(computed) = &computed {
            let accounts = self.structure(&computed.structure)?.map(|c| c.accounts.clone());
            lines.push((&computed.payslip, accounts.unwrap_or_default()));
        }
        let owed: Vec<Payslip> =
            arrears.iter().map(|(a, _)| Payslip::totalled(a.lines.clone())).collect();
        lines.extend(owed.iter().zip(arrears.iter().map(|(_, accounts)| accounts.clone())));
        let mut posted = Vec::new();
        for (payslip, accounts) in lines {
            match self.entry_lines(payslip, &split, accounts) {
                Ok(more) => posted.extend(more),
                Err(err) => {
                    self.warn(&employee.id, &format!("not paid: {err}"));
                    return Ok(());
                }
            }
        }
        for line in posted {
            let kept = self.journal.entry((line.account, line.department)).or_default();
            kept.0 += line.debit;
            kept.1 += line.credit;
        }
        let ytd = year_to_date(&self.year_before(&employee.id)?, &total);
        for (total, amount) in self.totals.iter_mut().zip([
            total.gross,
            total.deductions,
            total.net,
            total.contributions,
        ]) {
            *total += amount;
        }
        self.employees += 1;
        if let Some(computed) = &computed
            && !self.used.contains(&computed.structure)
        {
            if pay::STRUCTURES_USED.get(&computed.structure)?.is_none() {
                pay::STRUCTURES_USED.put(&computed.structure, &Used { run: self.run.clone() })?;
            }
            self.used.push(computed.structure.clone());
        }
        let slip = PayslipDoc {
            run: self.run.clone(),
            employee: employee.id.clone(),
            name: employee.name.clone(),
            from,
            to,
            salary_structure: computed.as_ref().map(|c| c.structure.clone()),
            base_pay: computed.as_ref().map_or(Decimal::ZERO, |c| c.base),
            working_days: computed.as_ref().map_or(Decimal::ZERO, |c| c.working),
            payment_days: computed.as_ref().map_or(Decimal::ZERO, |c| c.payment),
            lines: own.lines,
            arrears: arrears.into_iter().map(|(owed, _)| owed).collect(),
            gross: total.gross,
            deductions: total.deductions,
            net: total.net,
            contributions: total.contributions,
            cost_split: split
                .into_iter()
                .map(|(department, percent)| Share { department, percent })
                .collect(),
            year_to_date: ytd,
        };
        PAYSLIPS.put(&format!("{}/{}", self.run, employee.id), &slip)
    }

    /// What `employee` is due from `from` to `to` under the contract in
    /// force on the last day they work here in it.
    fn due(
        &mut self,
        employee: &Employee,
        contracts: &[Contract],
        from: &Date,
        to: &Date,
    ) -> Result<Due> {
        let start = if employee.hired > *from { &employee.hired } else { from };
        let end = employed_to(employee, to);
        if start > end {
            return Ok(Due::NotPaid);
        }
        let Some(contract) = in_force(contracts, end) else {
            return Ok(Due::Refused(format!("no contract in force on {end}")));
        };
        let Some(code) = &contract.salary_structure else {
            return Ok(Due::Refused(format!(
                "the contract from {} names no salary structure",
                contract.from
            )));
        };
        if contract.currency != self.currency {
            return Ok(Due::Refused(format!(
                "paid in {}, and the ledger keeps its books in {}",
                contract.currency, self.currency
            )));
        }
        let base = decimal::amount(&contract.base_pay, "base_pay", Sign::NonNegative)?;
        let Some(checked) = self.structure(code)? else {
            return Ok(Due::Refused(format!("salary structure {code} does not exist")));
        };
        let Some(calendar) = self.calendar(employee)? else {
            let id = employee.calendar.as_deref().unwrap_or(DEFAULT_CALENDAR);
            return Ok(Due::Refused(format!("calendar {id} does not exist")));
        };
        let working = Decimal::from(calendar.working_days(from, to)?);
        if working.is_zero() {
            return Ok(Due::Refused(format!("no working day from {from} to {to}")));
        }
        let employed = Decimal::from(calendar.working_days(start, end)?);
        let requests = REQUESTS.lookup_all("by-employee", &Range::exactly(employee.id.as_str()))?;
        let leave: Vec<_> = requests
            .into_iter()
            .map(|(_, request)| request)
            .filter(|r| r.state == State::Approved && r.from <= *end && *start <= r.to)
            .collect();
        let mut unpaid = Decimal::ZERO;
        for request in &leave {
            if !self.paid_leave.get(&request.leave_type).copied().unwrap_or(true) {
                unpaid += request.days_within(&calendar, start, end)?;
            }
        }
        let mut absences = Decimal::ZERO;
        let mut waiting = 0;
        for day in attendance::days(&employee.id, start, end)? {
            let on_leave = leave.iter().any(|r| r.from <= day.date && day.date <= r.to);
            if on_leave || !calendar.is_working(&day.date) {
                continue;
            }
            absences += day.absence();
            let change = day.presence != day.approved.unwrap_or(Presence::Present);
            waiting += usize::from(day.state == DayState::Submitted && change);
        }
        let payment = payment_days(employed, unpaid, absences);
        let inputs = Inputs { base, working_days: working, payment_days: payment };
        match checked.structure.compute(&inputs) {
            Ok(payslip) => Ok(Due::Paid(Computed {
                structure: code.clone(),
                base,
                working,
                payment,
                payslip,
                waiting,
            })),
            Err(err) => Ok(Due::Refused(err.to_string())),
        }
    }

    /// What the posted periods since a change to `employee`'s pay still
    /// owe them (or they owe back): each computed again as things stand,
    /// less what its payslip and later arrears paid; with the accounts its
    /// components post to. Once every period is computed and nothing is
    /// owed, the change is settled. Only the last [`ARREARS_PERIODS_MAX`]
    /// posted periods are computed again.
    fn arrears(
        &mut self,
        employee: &Employee,
        contracts: &[Contract],
    ) -> Result<Vec<(Arrears, BTreeMap<String, ComponentAccounts>)>> {
        let Some(due) = ARREARS_DUE.get(&employee.id)? else { return Ok(Vec::new()) };
        let mut periods: Vec<(String, Date, Date)> = self
            .posted
            .iter()
            .filter(|r| r.run.to >= due.from)
            .map(|r| (r.id.clone(), r.run.from.clone(), r.run.to.clone()))
            .collect();
        if periods.len() > ARREARS_PERIODS_MAX {
            let older = periods.len() - ARREARS_PERIODS_MAX;
            periods.drain(..older);
            let why = format!(
                "a change from {} reaches back more than {ARREARS_PERIODS_MAX} runs; the {older} \
                 oldest are not computed again (settle them by hand)",
                due.from
            );
            self.warn(&employee.id, &why);
        }
        let mut slips = Vec::with_capacity(periods.len());
        for (run, _, _) in &periods {
            slips.push(PAYSLIPS.get(&format!("{run}/{}", employee.id))?);
        }
        let mut owed = Vec::new();
        let mut complete = true;
        for (n, (run, from, to)) in periods.iter().enumerate() {
            let paid = slips[n].as_ref();
            let later: Vec<Line> = slips[n + 1..]
                .iter()
                .flatten()
                .flat_map(|slip| slip.arrears.iter().filter(|a| a.run == *run))
                .flat_map(|a| a.lines.iter().cloned())
                .collect();
            let paid_then = Payslip::totalled(paid.map(|s| s.lines.clone()).unwrap_or_default())
                .paid_with(&later);
            let mut accounts = BTreeMap::new();
            if let Some(code) = paid.and_then(|slip| slip.salary_structure.as_deref())
                && let Some(checked) = self.structure(code)?
            {
                accounts.extend(checked.accounts.clone());
            }
            let due_then = match self.due(employee, contracts, from, to)? {
                Due::Paid(computed) => {
                    if let Some(checked) = self.structure(&computed.structure)? {
                        accounts.extend(checked.accounts.clone());
                    }
                    computed.payslip
                }
                Due::NotPaid => Payslip::empty(),
                Due::Refused(why) => {
                    self.warn(&employee.id, &format!("arrears for run {run} not computed: {why}"));
                    complete = false;
                    continue;
                }
            };
            let lines = paid_then.arrears(&due_then);
            if !lines.is_empty() {
                let arrears =
                    Arrears { run: run.clone(), from: from.clone(), to: to.clone(), lines };
                owed.push((arrears, accounts));
            }
        }
        if complete && owed.is_empty() {
            ARREARS_DUE.delete(&employee.id)?;
        }
        Ok(owed)
    }

    /// `employee`'s year to date before this run: from their payslip of
    /// the latest posted run of the same year that paid them.
    fn year_before(&self, employee: &str) -> Result<BTreeMap<String, Decimal>> {
        let year = self.from.year();
        for run in self.posted.iter().rev().take_while(|r| r.run.from.year() == year) {
            if let Some(slip) = PAYSLIPS.get(&format!("{}/{employee}", run.id))? {
                return Ok(slip.year_to_date);
            }
        }
        Ok(BTreeMap::new())
    }

    /// The entry lines of `payslip`, its cost split by `split`.
    fn entry_lines(
        &self,
        payslip: &Payslip,
        split: &[(String, Decimal)],
        components: BTreeMap<String, ComponentAccounts>,
    ) -> Result<Vec<JournalLine>> {
        let accounts = Accounts { components, payable: self.payable.clone() };
        let costed = Costed { payslip, departments: split.to_vec() };
        Ok(journal(&[costed], &accounts)?)
    }

    /// Adds what this step calculated to `run`.
    fn into_run(self, run: &mut RunDoc) {
        run.employees += self.employees;
        for (total, amount) in
            [&mut run.gross, &mut run.deductions, &mut run.net, &mut run.contributions]
                .into_iter()
                .zip(self.totals)
        {
            *total += amount;
        }
        let mut journal: BTreeMap<(String, Option<String>), (Decimal, Decimal)> = run
            .journal
            .drain(..)
            .map(|line| ((line.account, line.department), (line.debit, line.credit)))
            .collect();
        for (key, (debit, credit)) in self.journal {
            let kept = journal.entry(key).or_default();
            kept.0 += debit;
            kept.1 += credit;
        }
        run.journal = journal
            .into_iter()
            .map(|((account, department), (debit, credit))| JournalLineDoc {
                account,
                department,
                debit,
                credit,
            })
            .collect();
        run.journal.sort_by(|a, b| {
            (a.debit.is_zero(), &a.account, &a.department).cmp(&(
                b.debit.is_zero(),
                &b.account,
                &b.department,
            ))
        });
        for code in self.used {
            if !run.structures.contains(&code) {
                run.structures.push(code);
            }
        }
        for warning in self.warnings {
            if run.warnings.len() < WARNINGS_MAX {
                run.warnings.push(warning);
            } else {
                run.warnings_more += 1;
            }
        }
        run.warnings_more += self.warnings_more;
    }
}

/// The last day of `to`'s period that `employee` works here.
fn employed_to<'a>(employee: &'a Employee, to: &'a Date) -> &'a Date {
    match &employee.left {
        Some(left) if left < to => left,
        _ => to,
    }
}

/// How `employee`'s cost is shared: as their contract says, or all to
/// their department.
fn cost_split(employee: &Employee, contract: Option<&Contract>) -> Vec<(String, Decimal)> {
    match contract {
        Some(contract) if !contract.cost_split.is_empty() => contract
            .cost_split
            .iter()
            .map(|share| (share.department.clone(), share.percent))
            .collect(),
        _ => vec![(employee.department.clone(), Decimal::ONE_HUNDRED)],
    }
}
