//! A calendar's history. A tenant may change a business calendar while
//! tickets' clocks run on it, and each version holds from the instant it
//! was saved: business time a clock counted before an edit stays as it
//! was counted (a clock's elapsed time never goes down because the hours
//! changed), and time after the edit counts on the new hours.
//!
//! Worked example (see the tests): Paris, Monday to Friday 09:00 to
//! 17:00, changed on Wednesday 25 March 2026 at noon to around the clock.
//! From Monday 09:00 to Thursday 09:00 a clock counts 8 + 8 + 3 hours on
//! the office's hours, then the 21 hours from Wednesday noon: 40 hours,
//! where the office's hours alone give 24.

use keel_values::Zone;

use super::hours::Hours;
use super::sla::Calendar;

/// Most earlier versions kept of one calendar; an edit past them forgets
/// the oldest, which only a clock that has run since before it would miss.
pub const VERSIONS_MAX: usize = 100;

/// A calendar and its earlier versions.
#[derive(Debug, Clone)]
pub struct History {
    /// Each version with the instant it holds from, oldest first; the
    /// oldest holds from the beginning of time.
    versions: Vec<(i64, Hours)>,
}

impl History {
    /// A calendar as it has always been.
    pub fn new(hours: Hours) -> Self {
        Self { versions: vec![(i64::MIN, hours)] }
    }

    /// `current`, after the `earlier` versions, each with the instant it
    /// held until (in any order): each version holds from where the one
    /// before it ended.
    pub fn of(mut earlier: Vec<(i64, Hours)>, current: Hours) -> Self {
        earlier.sort_by_key(|(until, _)| *until);
        let mut versions = Vec::with_capacity(earlier.len() + 1);
        let mut from = i64::MIN;
        for (until, hours) in earlier {
            if until > from {
                versions.push((from, hours));
                from = until;
            }
        }
        versions.push((from, current));
        Self { versions }
    }

    /// The hours in force now: the last version.
    pub fn current(&self) -> &Hours {
        // `new` and `of` always keep at least the current version.
        &self.versions[self.versions.len() - 1].1
    }

    /// The time zone of the hours in force now, to show instants in.
    pub fn zone(&self) -> &Zone {
        self.current().zone()
    }

    /// Each version with the span it holds over, `from` up to `to`.
    fn spans(&self) -> impl Iterator<Item = (i64, i64, &Hours)> {
        self.versions.iter().enumerate().map(|(index, (from, hours))| {
            let to = self.versions.get(index + 1).map_or(i64::MAX, |(next, _)| *next);
            (*from, to, hours)
        })
    }
}

impl Calendar for History {
    fn business_seconds(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        self.spans()
            .map(|(start, end, hours)| {
                let (a, b) = (from.max(start), to.min(end));
                if b > a { hours.business_seconds(a, b) } else { 0 }
            })
            .sum()
    }

    fn add_business(&self, from: i64, seconds: i64) -> i64 {
        if seconds <= 0 {
            return from;
        }
        let mut left = seconds;
        for (start, end, hours) in self.spans() {
            if end <= from {
                continue;
            }
            let at = from.max(start);
            if end == i64::MAX {
                return hours.add_business(at, left);
            }
            let here = hours.business_seconds(at, end);
            if left <= here {
                return hours.add_business(at, left);
            }
            left -= here;
        }
        i64::MAX
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::rules::hours::{HoursDef, Period};

    const HOUR: i64 = 3600;

    fn office(from: &str, to: &str) -> Hours {
        let day = vec![Period { from: from.into(), to: to.into() }];
        let week = keel_values::Weekday::ALL[..5].iter().map(|w| (*w, day.clone())).collect();
        let def = HoursDef { time_zone: "Europe/Paris".into(), week, holidays: Vec::new() };
        Hours::new(&def).unwrap()
    }

    /// Monday 23 March 2026, 09:00 in Paris (08:00 UTC).
    const MONDAY_NINE: i64 = 1_774_252_800;

    #[test]
    fn an_edit_holds_from_its_instant_and_what_was_counted_before_stays() {
        let wednesday_noon = MONDAY_NINE + 2 * 24 * HOUR + 3 * HOUR;
        let thursday_nine = MONDAY_NINE + 3 * 24 * HOUR;
        let edited = History::of(vec![(wednesday_noon, office("09:00", "17:00"))], Hours::always());
        assert_eq!(edited.business_seconds(MONDAY_NINE, thursday_nine), 40 * HOUR);
        let never = History::new(office("09:00", "17:00"));
        assert_eq!(never.business_seconds(MONDAY_NINE, thursday_nine), 24 * HOUR);
        // Before the edit, both count the same.
        assert_eq!(
            edited.business_seconds(MONDAY_NINE, wednesday_noon),
            never.business_seconds(MONDAY_NINE, wednesday_noon)
        );
        // 30 business hours from Monday 09:00: 19 on the office's hours by
        // Wednesday noon, then eleven around the clock; on the office's
        // hours alone, Thursday at 15:00.
        assert_eq!(edited.add_business(MONDAY_NINE, 30 * HOUR), wednesday_noon + 11 * HOUR);
        assert_eq!(never.add_business(MONDAY_NINE, 30 * HOUR), thursday_nine + 6 * HOUR);
        assert_eq!(edited.zone().name(), "UTC");
    }

    fn any_hours() -> impl Strategy<Value = Hours> {
        prop_oneof![
            Just(Hours::always()),
            Just(office("09:00", "17:00")),
            Just(office("08:00", "12:00")),
            Just(office("13:30", "22:00")),
        ]
    }

    fn any_history() -> impl Strategy<Value = (Vec<(i64, Hours)>, Hours)> {
        let edit = (0i64..30 * 24 * HOUR, any_hours());
        let edits = proptest::collection::vec(edit, 0..6);
        (edits, any_hours()).prop_map(|(edits, current)| {
            let earlier = edits.into_iter().map(|(at, h)| (MONDAY_NINE + at, h)).collect();
            (earlier, current)
        })
    }

    proptest! {
        /// Business time adds up across edits, adding then counting gives
        /// what was added, and an edit changes nothing counted before it.
        #[test]
        fn versions_add_up_and_an_edit_changes_nothing_before_it(
            (earlier, current) in any_history(),
            a in 0i64..40 * 24 * HOUR,
            b in 0i64..40 * 24 * HOUR,
            c in 0i64..40 * 24 * HOUR,
            seconds in 0i64..200 * HOUR,
            edit in 0i64..40 * 24 * HOUR,
            then in any_hours(),
        ) {
            let mut at = [MONDAY_NINE + a, MONDAY_NINE + b, MONDAY_NINE + c];
            at.sort_unstable();
            let history = History::of(earlier.clone(), current.clone());
            prop_assert_eq!(
                history.business_seconds(at[0], at[1]) + history.business_seconds(at[1], at[2]),
                history.business_seconds(at[0], at[2])
            );
            let due = history.add_business(at[0], seconds);
            if due < i64::MAX {
                prop_assert_eq!(history.business_seconds(at[0], due), seconds);
            }
            // The current hours edited at `edit`, after every other edit.
            let edit = MONDAY_NINE + edit;
            if earlier.iter().all(|(until, _)| *until < edit) {
                let mut more = earlier;
                more.push((edit, current));
                let edited = History::of(more, then);
                let before = at[1].min(edit);
                prop_assert_eq!(
                    edited.business_seconds(at[0], before),
                    history.business_seconds(at[0], before)
                );
            }
        }
    }
}
