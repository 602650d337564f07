//! Leave's rules: pure, with no SDK and no I/O.
//!
//! - [`attendance`]: a day's presence or absence, approved above the
//!   employee; approved absences are days payroll does not pay.
//! - [`calendar`]: holiday calendars and working days.
//! - [`balance`]: leave types, and balances kept as a ledger of accruals,
//!   takings, reversals and expiries beyond the carry-forward cap.
//! - [`request`]: requests, decided by someone other than whom they are
//!   for, and the payment days a payroll period keeps.

pub mod attendance;
pub mod balance;
pub mod calendar;
pub mod request;
