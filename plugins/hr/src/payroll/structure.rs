//! Salary structures: the components a payslip is made of, checked when a
//! structure is saved (every name known, no component depending on itself
//! however indirectly), and one employee's payslip computed from them.

use std::collections::{BTreeMap, BTreeSet};

use keel_values::RuleError;
use keel_values::decimal::{self, Sign, cents};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::formula::Formula;

/// The payslip's own values that formulas may use.
pub const VARIABLES: [&str; 3] = ["base", "payment_days", "working_days"];
/// Most components one structure has.
pub const COMPONENTS_MAX: usize = 100;
/// Longest component code, in bytes.
const CODE_BYTES_MAX: usize = 32;
/// Words a formula gives a meaning of its own.
const RESERVED: [&str; 10] =
    ["and", "or", "not", "min", "max", "if", "round", "floor", "ceil", "abs"];

/// What a component is to the employee and the books.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "ComponentKind")]
pub enum Kind {
    /// Paid to the employee: an expense.
    Earning,
    /// Kept from the employee's pay for someone else (tax, social
    /// security): a liability.
    Deduction,
    /// Paid by the employer on top of pay (its share of social security):
    /// an expense and a liability, outside the employee's net.
    Contribution,
}

/// How a component's amount is found.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// This amount.
    Fixed(Decimal),
    /// `rate` percent of another component, or of a variable.
    Percent { of: String, rate: Decimal },
    /// A formula.
    Formula(Formula),
}

/// One line of a structure.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Its code, which formulas use: lower case, digits and `_`.
    pub code: String,
    pub kind: Kind,
    pub rule: Rule,
    /// Scaled by payment days over working days.
    pub prorated: bool,
    /// Computed for formulas to use, never paid or posted.
    pub statistical: bool,
}

impl Component {
    /// What its rule refers to.
    fn refers_to(&self) -> BTreeSet<&str> {
        match &self.rule {
            Rule::Fixed(_) => BTreeSet::new(),
            Rule::Percent { of, .. } => BTreeSet::from([of.as_str()]),
            Rule::Formula(formula) => formula.names(),
        }
    }
}

/// A checked structure: its components, and the order to compute them in.
#[derive(Debug, Clone, PartialEq)]
pub struct Structure {
    components: Vec<Component>,
    /// Indexes into `components`, each after those it refers to.
    order: Vec<usize>,
}

/// What one employee's payslip is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    /// The base pay of the employee's assignment, for a full period.
    pub base: Decimal,
    /// The period's working days.
    pub working_days: Decimal,
    /// The days paid: working days less unpaid leave and absences.
    pub payment_days: Decimal,
}

/// One line of a payslip, in cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "PayslipLine")]
pub struct Line {
    /// The component's code.
    pub code: String,
    pub kind: Kind,
    /// Its amount, to the cent.
    pub amount: Decimal,
    /// Computed for formulas to use, never paid or posted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub statistical: bool,
}

/// One employee's pay for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payslip {
    /// In the structure's order.
    pub lines: Vec<Line>,
    /// The earnings.
    pub gross: Decimal,
    /// The deductions.
    pub deductions: Decimal,
    /// What the employee is paid: gross less deductions.
    pub net: Decimal,
    /// The employer's contributions.
    pub contributions: Decimal,
}

impl Structure {
    /// Checks `components`: codes well formed and unique, every name a
    /// rule uses known, and no component depending on itself.
    pub fn new(components: Vec<Component>) -> Result<Self, RuleError> {
        if components.is_empty() || components.len() > COMPONENTS_MAX {
            return Err(RuleError::new(format!(
                "a structure has 1 to {COMPONENTS_MAX} components"
            )));
        }
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, component) in components.iter().enumerate() {
            check_code(&component.code)?;
            if index.insert(component.code.as_str(), i).is_some() {
                return Err(RuleError::new(format!(
                    "component {} is listed twice",
                    component.code
                )));
            }
            match &component.rule {
                Rule::Fixed(amount) if amount.is_sign_negative() => {
                    return Err(RuleError::new(format!(
                        "component {}: an amount is zero or more",
                        component.code
                    )));
                }
                Rule::Percent { rate, .. } if rate.is_sign_negative() => {
                    return Err(RuleError::new(format!(
                        "component {}: a percentage is zero or more",
                        component.code
                    )));
                }
                _ => {}
            }
        }
        for component in &components {
            for name in component.refers_to() {
                if name == component.code {
                    return Err(RuleError::new(format!("component {name} refers to itself")));
                }
                if !index.contains_key(name) && !VARIABLES.contains(&name) {
                    return Err(RuleError::new(format!(
                        "component {} refers to {name}, which is neither a component of the \
                         structure nor one of {}",
                        component.code,
                        VARIABLES.join(", ")
                    )));
                }
            }
        }
        let order = order(&components, &index)?;
        Ok(Self { components, order })
    }

    /// The components, as listed.
    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// The payslip of one employee with `inputs`.
    pub fn compute(&self, inputs: &Inputs) -> Result<Payslip, RuleError> {
        if inputs.working_days <= Decimal::ZERO {
            return Err(RuleError::new("a period has working days"));
        }
        if inputs.payment_days.is_sign_negative() || inputs.payment_days > inputs.working_days {
            return Err(RuleError::new(format!(
                "payment days are 0 to the {} working days, not {}",
                inputs.working_days, inputs.payment_days
            )));
        }
        if inputs.base.is_sign_negative() {
            return Err(RuleError::new("base pay is zero or more"));
        }
        let mut values: BTreeMap<&str, Decimal> = BTreeMap::from([
            ("base", inputs.base),
            ("payment_days", inputs.payment_days),
            ("working_days", inputs.working_days),
        ]);
        for &i in &self.order {
            let component = &self.components[i];
            let value = |name: &str| values.get(name).copied();
            let what = || format!("component {}", component.code);
            let mut amount = match &component.rule {
                Rule::Fixed(amount) => *amount,
                Rule::Percent { of, rate } => {
                    let of = value(of).unwrap_or_default();
                    of.checked_mul(*rate)
                        .map(|x| x / Decimal::ONE_HUNDRED)
                        .ok_or_else(|| RuleError::new("the amount is too large").within(&what()))?
                }
                Rule::Formula(formula) => formula.eval(&value).map_err(|e| e.within(&what()))?,
            };
            if component.prorated {
                amount = amount
                    .checked_mul(inputs.payment_days)
                    .ok_or_else(|| RuleError::new("the amount is too large").within(&what()))?
                    / inputs.working_days;
            }
            let amount = cents(amount);
            decimal::check_amount(amount, "the amount", Sign::Any)
                .map_err(|err| err.within(&what()))?;
            if amount.is_sign_negative() {
                return Err(RuleError::new(format!(
                    "it came to {amount}; amounts are zero or more"
                ))
                .within(&what()));
            }
            values.insert(component.code.as_str(), amount);
        }
        let mut slip = Payslip {
            lines: Vec::with_capacity(self.components.len()),
            gross: cents(Decimal::ZERO),
            deductions: cents(Decimal::ZERO),
            net: cents(Decimal::ZERO),
            contributions: cents(Decimal::ZERO),
        };
        for component in &self.components {
            let amount = values[component.code.as_str()];
            if !component.statistical {
                match component.kind {
                    Kind::Earning => slip.gross += amount,
                    Kind::Deduction => slip.deductions += amount,
                    Kind::Contribution => slip.contributions += amount,
                }
            }
            slip.lines.push(Line {
                code: component.code.clone(),
                kind: component.kind,
                amount,
                statistical: component.statistical,
            });
        }
        slip.net = slip.gross - slip.deductions;
        if slip.net.is_sign_negative() {
            return Err(RuleError::new(format!(
                "deductions ({}) exceed earnings ({}): the net pay would be {}",
                slip.deductions, slip.gross, slip.net
            )));
        }
        Ok(slip)
    }
}

impl Payslip {
    /// A payslip with no lines: what someone not paid for a period got.
    pub fn empty() -> Self {
        let zero = cents(Decimal::ZERO);
        Self { lines: Vec::new(), gross: zero, deductions: zero, net: zero, contributions: zero }
    }

    /// This payslip with `extra` lines added after its own (arrears for
    /// earlier periods, which may be negative), and its totals with them.
    /// The net pay may not fall below zero.
    pub fn with(&self, extra: &[Line]) -> Result<Payslip, RuleError> {
        let lines = self.lines.iter().chain(extra).cloned().collect();
        let slip = Payslip::totalled(lines);
        if slip.net.is_sign_negative() {
            return Err(RuleError::new(format!(
                "with arrears, deductions ({}) exceed earnings ({}): the net pay would be {}",
                slip.deductions, slip.gross, slip.net
            )));
        }
        Ok(slip)
    }

    /// A payslip of `lines` and their totals, whatever they come to (the
    /// arrears of a period alone may be negative).
    pub fn totalled(lines: Vec<Line>) -> Payslip {
        let mut slip = Payslip { lines, ..Payslip::empty() };
        for line in slip.lines.iter().filter(|line| !line.statistical) {
            match line.kind {
                Kind::Earning => slip.gross += line.amount,
                Kind::Deduction => slip.deductions += line.amount,
                Kind::Contribution => slip.contributions += line.amount,
            }
        }
        slip.net = slip.gross - slip.deductions;
        slip
    }

    /// What was paid in all for the period of this payslip: its lines, and
    /// `later` arrears paid for the period since, summed by component.
    pub fn paid_with(&self, later: &[Line]) -> Payslip {
        let mut lines: Vec<Line> = Vec::with_capacity(self.lines.len());
        for line in self.lines.iter().chain(later).filter(|line| !line.statistical) {
            match lines.iter_mut().find(|l| l.code == line.code) {
                Some(kept) => kept.amount += line.amount,
                None => lines.push(line.clone()),
            }
        }
        Payslip::totalled(lines)
    }

    /// What is still owed for a period this payslip was paid for, once it
    /// is computed again as `due` (a backdated rise, say): per component,
    /// due less paid, the lines that differ. The next run pays them as
    /// arrears, so past payslips never change.
    pub fn arrears(&self, due: &Payslip) -> Vec<Line> {
        let paid: BTreeMap<&str, &Line> = self.lines.iter().map(|l| (l.code.as_str(), l)).collect();
        let mut arrears: Vec<Line> = due
            .lines
            .iter()
            .filter(|line| !line.statistical)
            .map(|line| {
                let before = paid.get(line.code.as_str()).map_or(Decimal::ZERO, |l| l.amount);
                Line { amount: line.amount - before, ..line.clone() }
            })
            .collect();
        let due_codes: BTreeSet<&str> = due.lines.iter().map(|l| l.code.as_str()).collect();
        arrears.extend(
            self.lines
                .iter()
                .filter(|line| !line.statistical && !due_codes.contains(line.code.as_str()))
                .map(|line| Line { amount: -line.amount, ..line.clone() }),
        );
        arrears.retain(|line| !line.amount.is_zero());
        arrears
    }
}

fn check_code(code: &str) -> Result<(), RuleError> {
    let well_formed = !code.is_empty()
        && code.len() <= CODE_BYTES_MAX
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(RuleError::new(format!(
            "component code {code:?}: 1 to {CODE_BYTES_MAX} of a-z, 0-9 and _, starting with a \
             letter (formulas name it)"
        )));
    }
    if VARIABLES.contains(&code) || RESERVED.contains(&code) {
        return Err(RuleError::new(format!(
            "component code {code:?} is a word formulas give a meaning of their own"
        )));
    }
    Ok(())
}

/// The components in an order where each comes after those it refers to;
/// an error names a circle of them.
fn order(components: &[Component], index: &BTreeMap<&str, usize>) -> Result<Vec<usize>, RuleError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    fn visit(
        i: usize,
        components: &[Component],
        index: &BTreeMap<&str, usize>,
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), RuleError> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Visiting => {
                let from = path.iter().position(|&p| p == i).unwrap_or(0);
                let circle: Vec<&str> = path[from..]
                    .iter()
                    .chain(std::iter::once(&i))
                    .map(|&p| components[p].code.as_str())
                    .collect();
                return Err(RuleError::new(format!(
                    "components refer to each other in a circle: {}",
                    circle.join(" → ")
                )));
            }
            Mark::New => {}
        }
        marks[i] = Mark::Visiting;
        path.push(i);
        for name in components[i].refers_to() {
            if let Some(&j) = index.get(name) {
                visit(j, components, index, marks, path, order)?;
            }
        }
        path.pop();
        marks[i] = Mark::Done;
        order.push(i);
        Ok(())
    }
    let mut marks = vec![Mark::New; components.len()];
    let mut order = Vec::with_capacity(components.len());
    for i in 0..components.len() {
        visit(i, components, index, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}
