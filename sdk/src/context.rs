//! Facts about the current call, from the kernel.

use crate::__private::bindings::keel::kernel::context as wit;

/// The tenant this call runs for.
pub fn tenant() -> String {
    wit::tenant()
}

/// The authenticated caller, if any.
pub fn caller() -> Option<String> {
    wit::caller()
}

/// The request id, as in the kernel's logs and response headers.
pub fn request_id() -> String {
    wit::request_id()
}

/// Whether the caller holds `permission` (such as `finance.journal.approve`)
/// in this tenant: for rules a manifest cannot express, like amount
/// thresholds. False for anonymous calls and malformed names.
pub fn has_permission(permission: &str) -> bool {
    wit::has_permission(permission)
}

/// Seconds since the Unix epoch, from the kernel's clock (fixed for the call).
pub fn now_seconds() -> i64 {
    wit::now().seconds
}

/// Today's date in UTC as `YYYY-MM-DD`, from the kernel's clock.
pub fn today() -> String {
    civil_date(now_seconds())
}

/// The UTC calendar date of a Unix time, as `YYYY-MM-DD`.
pub fn civil_date(unix_seconds: i64) -> String {
    keel_values::date::civil_date(unix_seconds)
}
