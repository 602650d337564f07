//! Calendar dates as `YYYY-MM-DD`: checking them and adding days (for due
//! dates from payment terms).

use super::RuleError;

/// Days from 1970-01-01 to a valid `YYYY-MM-DD`, or an error naming it.
pub fn days(text: &str) -> Result<i64, RuleError> {
    let invalid = || RuleError::new(format!("date {text:?} is not a valid YYYY-MM-DD date"));
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(invalid());
    }
    let number = |r: std::ops::Range<usize>| -> Result<i64, RuleError> {
        let part = text.get(r).ok_or_else(invalid)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(invalid());
        }
        part.parse().map_err(|_| invalid())
    };
    let (y, m, d) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if y < 1000 || !(1..=12).contains(&m) || d < 1 || d > month_days(y, m) {
        return Err(invalid());
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok(era * 146_097 + doe - 719_468)
}

/// The `YYYY-MM-DD` date `days` days after 1970-01-01.
pub fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `text` plus `n` days.
pub fn add_days(text: &str, n: u32) -> Result<String, RuleError> {
    Ok(date(days(text)? + i64::from(n)))
}

fn month_days(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_and_terms_cross_months_and_years() {
        assert_eq!(days("1970-01-01").unwrap(), 0);
        for text in ["2026-03-01", "2028-02-29", "1999-12-31", "2400-02-29"] {
            assert_eq!(date(days(text).unwrap()), text);
        }
        assert_eq!(add_days("2026-01-31", 30).unwrap(), "2026-03-02");
        assert_eq!(add_days("2026-12-15", 30).unwrap(), "2027-01-14");
        for bad in ["2026-02-29", "2026-13-01", "26-1-1", "2026-01-32", "20x6-01-01"] {
            assert!(days(bad).is_err(), "{bad}");
        }
    }
}
