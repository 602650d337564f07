//! Payroll's rules: pure, with no SDK and no I/O, unit- and
//! property-tested natively.
//!
//! - [`formula`]: the expression language of salary formulas.
//! - [`structure`]: salary structures (earnings, deductions, employer
//!   contributions; fixed, a percentage, or a formula), checked when saved,
//!   and one employee's payslip: proration by payment days, amounts to the
//!   cent, net pay, and arrears when a period is computed again.
//! - [`document`]: a structure as clients write it, with the accounts
//!   each component posts to.
//! - [`posting`]: a run's one journal entry, split by department to the
//!   cent and always balanced, and its payment.
//! - [`run`]: a run's states, approved by someone other than who
//!   calculated it, and each employee's year to date.

pub mod document;
pub mod formula;
pub mod posting;
pub mod run;
pub mod structure;

#[cfg(test)]
mod tests;
