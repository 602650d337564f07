//! The service desk's rules: pure, with no SDK and no I/O.
//!
//! - [`cmdb`]: configuration items of typed classes, their relations, and
//!   impact analysis (which services an item failing takes down), bounded.
//! - [`hours`]: business calendars: working hours per weekday on a time
//!   zone's wall clock, and holidays; the calendar SLA clocks count on.
//! - [`history`]: a calendar with its earlier versions, each edit holding
//!   from its instant, so that what a clock counted stays counted.
//! - [`policy`]: SLA policies chosen by kind, priority and service, and the
//!   two clocks (time to own, time to resolve) they give a ticket, with
//!   warnings and breaches noticed once each.
//! - [`problem`]: problems grouping incidents, known errors with their root
//!   cause and workaround.
//! - [`priority`]: priority from impact × urgency through a matrix (the
//!   ServiceNow 3×3 and the GLPI 5×5 ship as presets), and a manual
//!   override that must say why.
//! - [`sla`]: SLA clocks that count business time only while their
//!   ticket is in the states a policy lists, with deadlines recomputed from
//!   what was spent, over a [`sla::Calendar`] such as [`hours::Hours`].
//! - [`ticket`]: incidents and service requests, from new to closed, with
//!   pending reasons, approval of requests by someone other than the
//!   requester, and reopening within a window.
//! - [`change`]: standard, normal and emergency changes, authorised by a
//!   change advisory board (N of M named approvers, never the requester),
//!   and never implemented before they are authorised, but for an
//!   emergency, authorised after the fact.

pub mod change;
pub mod cmdb;
pub mod history;
pub mod hours;
pub mod policy;
pub mod priority;
pub mod problem;
pub mod sla;
pub mod ticket;
