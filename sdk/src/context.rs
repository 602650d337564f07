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

/// The UTC calendar date of a Unix time, as `YYYY-MM-DD`
/// (Howard Hinnant's days-from-civil inverse).
pub fn civil_date(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(951_782_400), "2000-02-29");
        assert_eq!(super::civil_date(1_795_392_000), "2026-11-23");
        assert_eq!(super::civil_date(-86_400), "1969-12-31");
    }
}
