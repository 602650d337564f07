//! Leave accrual as served: the monthly schedule starts it, and a timer
//! carries it through every employee a batch at a time. Each paid leave
//! type's accruals due so far this year are added to each balance's
//! ledger, and in a new year the expiry of what the last one left beyond
//! the carry-forward cap; run again, it adds nothing more.

use keel_sdk::audit::{self, Event};
use keel_sdk::contract::JsonSchema;
use keel_sdk::timers::{self, Fired};
use keel_sdk::{Range, Request, Response, Result, context};
use serde::{Deserialize, Serialize};

use crate::absence::{LEAVE_TYPES, LEDGER, ledger};
use crate::books::{self, EMPLOYEES};
use crate::leave::balance::{EntryKind, LeaveType, due};

/// The timer that carries accrual on.
pub(crate) const TIMER: &str = "leave-accrual";
/// Employees one timer call accrues for (at most 13 entries a type each).
const BATCH: u32 = 100;

/// How far an accrual has gone.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Going {
    /// The employee page to go on from.
    after: Option<String>,
    employees: u64,
    entries: u64,
}

/// An accrual started: it goes on in the background.
#[derive(Serialize, JsonSchema)]
pub(crate) struct AccrualStarted {
    /// Always true.
    pub(crate) started: bool,
    /// The timer that carries it through every employee.
    pub(crate) timer: &'static str,
}

/// `POST /leave-accruals`: starts accruing leave for everyone (the monthly
/// schedule calls it; HR may, after changing a leave type).
pub(crate) fn start(_request: &Request) -> Result<Response> {
    timers::set(TIMER, context::now_seconds(), &Going::default())?;
    Response::json(202, &AccrualStarted { started: true, timer: TIMER })
}

/// One batch of employees, at the timer; sets it again for the next.
pub(crate) fn batch(fired: &Fired) -> Result<()> {
    let mut going: Going = timers::payload(fired)?;
    let today = books::today()?;
    let types: Vec<LeaveType> = LEAVE_TYPES
        .scan_all(&Range::all())?
        .into_iter()
        .map(|(_, leave_type)| leave_type)
        .filter(|leave_type| leave_type.paid && !leave_type.yearly_allowance.is_zero())
        .collect();
    let page = EMPLOYEES.scan(&Range::all(), going.after.as_deref(), BATCH)?;
    for (_, employee) in &page.items {
        let gone = employee.left.as_ref().is_some_and(|left| left.year() < today.year() - 1);
        if employee.hired > today || gone {
            continue;
        }
        for leave_type in &types {
            let held = ledger(&employee.id, &leave_type.code)?;
            let employed = (&employee.hired, employee.left.as_ref());
            for entry in due(leave_type, employed, &today, &held)? {
                let kind = match entry.kind {
                    EntryKind::Expiry => "expiry",
                    _ => "accrual",
                };
                let key = format!("{}/{}/{}/{kind}", employee.id, leave_type.code, entry.date);
                LEDGER.put(&key, &entry)?;
                going.entries += 1;
            }
        }
        going.employees += 1;
    }
    if let Some(after) = page.cursor {
        going.after = Some(after);
        return timers::set(TIMER, context::now_seconds(), &going);
    }
    let detail = format!(
        "leave accrued on {today}: {} entries in the balances of {} employees",
        going.entries, going.employees
    );
    audit::record(Event { action: "leave.accrued", collection: None, key: None, detail: &detail })
}
