//! The payroll run's journal entry: one balanced entry for all payslips.
//! Each earning and contribution is an expense of the employee's
//! departments (split by their shares), each deduction and contribution a
//! credit to its liability account, and the net pay a credit to payroll
//! payable. Every split is allocated to the cent (largest remainder), so
//! the entry balances however many employees, departments and shares.

use std::collections::BTreeMap;

use keel_values::RuleError;
use keel_values::decimal::cents;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;

use super::structure::{Kind, Payslip};

/// Most departments one employee's cost is shared between.
pub const SHARES_MAX: usize = 20;

/// Where a component is posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentAccounts {
    /// The expense account (earnings and contributions).
    pub expense: Option<String>,
    /// The liability account (deductions and contributions).
    pub liability: Option<String>,
}

/// The accounts a run posts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounts {
    /// By component code.
    pub components: BTreeMap<String, ComponentAccounts>,
    /// Payroll payable: the net pay owed.
    pub payable: String,
}

/// One employee's payslip, and how their cost is shared between
/// departments (percentages that add up to 100).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Costed<'a> {
    pub payslip: &'a Payslip,
    pub departments: Vec<(String, Decimal)>,
}

/// One line of the journal entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct JournalLine {
    pub account: String,
    /// The department, on expense lines.
    pub department: Option<String>,
    pub debit: Decimal,
    pub credit: Decimal,
}

/// The journal entry of a run over `slips`: lines by account and
/// department, debits first. Balanced by construction.
pub fn journal(slips: &[Costed<'_>], accounts: &Accounts) -> Result<Vec<JournalLine>, RuleError> {
    let mut debits: BTreeMap<(String, Option<String>), Decimal> = BTreeMap::new();
    let mut credits: BTreeMap<String, Decimal> = BTreeMap::new();
    for (n, slip) in slips.iter().enumerate() {
        let within = |err: RuleError| err.within(&format!("payslip {}", n + 1));
        check_shares(&slip.departments).map_err(within)?;
        for line in slip.payslip.lines.iter().filter(|l| !l.statistical && !l.amount.is_zero()) {
            let posted = accounts.components.get(&line.code).ok_or_else(|| {
                within(RuleError::new(format!("component {} has no accounts", line.code)))
            })?;
            let account = |which: &Option<String>, what: &str| {
                which.clone().ok_or_else(|| {
                    within(RuleError::new(format!("component {} has no {what} account", line.code)))
                })
            };
            if matches!(line.kind, Kind::Earning | Kind::Contribution) {
                let expense = account(&posted.expense, "expense")?;
                for (department, part) in split(line.amount, &slip.departments) {
                    *debits.entry((expense.clone(), Some(department))).or_default() += part;
                }
            }
            if matches!(line.kind, Kind::Deduction | Kind::Contribution) {
                *credits.entry(account(&posted.liability, "liability")?).or_default() +=
                    line.amount;
            }
        }
        *credits.entry(accounts.payable.clone()).or_default() += slip.payslip.net;
    }
    let zero = cents(Decimal::ZERO);
    let mut lines: Vec<JournalLine> = debits
        .into_iter()
        .filter(|(_, amount)| !amount.is_zero())
        .map(|((account, department), debit)| JournalLine {
            account,
            department,
            debit,
            credit: zero,
        })
        .collect();
    lines.extend(
        credits.into_iter().filter(|(_, amount)| !amount.is_zero()).map(|(account, credit)| {
            JournalLine { account, department: None, debit: zero, credit }
        }),
    );
    Ok(lines)
}

/// The payment of a run's net pay: payroll payable cleared against the bank.
pub fn payment(net: Decimal, payable: &str, bank: &str) -> [JournalLine; 2] {
    let zero = cents(Decimal::ZERO);
    [
        JournalLine { account: payable.to_owned(), department: None, debit: net, credit: zero },
        JournalLine { account: bank.to_owned(), department: None, debit: zero, credit: net },
    ]
}

/// Departments and their shares: at least one, each share above zero, all
/// adding up to 100.
pub fn check_shares(shares: &[(String, Decimal)]) -> Result<(), RuleError> {
    if shares.len() > SHARES_MAX {
        return Err(RuleError::new(format!(
            "a cost is shared between at most {SHARES_MAX} departments"
        )));
    }
    // Each share within 0 to 100 first, so that adding them cannot overflow.
    let within = |s: &Decimal| *s > Decimal::ZERO && *s <= Decimal::ONE_HUNDRED;
    let total: Decimal = if shares.iter().all(|(_, s)| within(s)) {
        shares.iter().map(|(_, share)| *share).sum()
    } else {
        Decimal::ZERO
    };
    if shares.is_empty() || total != Decimal::ONE_HUNDRED {
        return Err(RuleError::new(format!(
            "a cost is shared between departments by shares above zero that add up to 100, not {total}"
        )));
    }
    Ok(())
}

/// `amount` (in cents) shared by percentages that add up to 100: each
/// department gets its share rounded down to the cent, and the cents left
/// go one each to the largest remainders (the first listed, on a tie), so
/// the parts add up to `amount` exactly.
pub fn split(amount: Decimal, shares: &[(String, Decimal)]) -> Vec<(String, Decimal)> {
    let total_cents = (amount * Decimal::ONE_HUNDRED).trunc();
    let mut parts: Vec<(String, Decimal, Decimal)> = shares
        .iter()
        .map(|(department, share)| {
            let exact = total_cents * *share / Decimal::ONE_HUNDRED;
            (department.clone(), exact.floor(), exact - exact.floor())
        })
        .collect();
    let given: Decimal = parts.iter().map(|(_, whole, _)| *whole).sum();
    // Fewer cents are left than there are parts: each lost less than one.
    let left = (total_cents - given).to_usize().unwrap_or(0);
    let mut by_remainder: Vec<usize> = (0..parts.len()).collect();
    by_remainder.sort_by(|&a, &b| parts[b].2.cmp(&parts[a].2).then(a.cmp(&b)));
    for &i in by_remainder.iter().take(left) {
        parts[i].1 += Decimal::ONE;
    }
    parts
        .into_iter()
        .map(|(department, whole, _)| (department, cents(whole / Decimal::ONE_HUNDRED)))
        .collect()
}
