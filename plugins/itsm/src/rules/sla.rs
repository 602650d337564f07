//! SLA clocks, as iTop's stopwatches have them: a clock counts business
//! time only while its ticket is in a state the policy lists, so a pending
//! ticket's clock stands still by construction, and its deadline is never
//! pushed by hand (GLPI's way, which lost time when policies changed). The
//! deadline is always the target less what was spent, added to now in
//! business time; changing the target (a new priority, a new policy) keeps
//! what was spent.
//!
//! Business time comes from a [`Calendar`]: [`super::hours::Hours`]
//! (working hours on a time zone's wall clock, holidays), or [`AllHours`],
//! which counts every second. Times are Unix seconds.

use serde::{Deserialize, Serialize};

/// What counts as business time.
pub trait Calendar {
    /// The business seconds from `from` to `to` (none if `to` is not after
    /// `from`).
    fn business_seconds(&self, from: i64, to: i64) -> i64;

    /// The instant `seconds` of business time after `from`.
    fn add_business(&self, from: i64, seconds: i64) -> i64;
}

/// Every second is business time: a 24/7 service.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllHours;

impl Calendar for AllHours {
    fn business_seconds(&self, from: i64, to: i64) -> i64 {
        to.saturating_sub(from).max(0)
    }

    fn add_business(&self, from: i64, seconds: i64) -> i64 {
        from.saturating_add(seconds.max(0))
    }
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Counting: the ticket is in a state the policy lists.
    Running,
    /// Standing still: the ticket is in another state.
    Paused,
    /// Met or missed for good: the ticket left the clock's states for one
    /// that ends it (resolved, for time to resolve).
    Stopped,
}

/// One clock (time to own, or time to resolve) of one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Clock {
    /// The business seconds the policy allows.
    pub target: i64,
    /// Business seconds counted before `since`.
    pub spent: i64,
    pub stage: Stage,
    /// When it last started running (its stage's start, while running).
    pub since: i64,
    /// Percent of the target at which it warns.
    pub warn_percent: u8,
}

impl Clock {
    /// A clock of `target` business seconds started `at`, warning at
    /// `warn_percent` of it.
    pub fn start(target: i64, warn_percent: u8, at: i64) -> Self {
        Self { target: target.max(0), spent: 0, stage: Stage::Running, since: at, warn_percent }
    }

    /// Business seconds counted up to `at`.
    pub fn elapsed(&self, calendar: &dyn Calendar, at: i64) -> i64 {
        match self.stage {
            Stage::Running => self.spent.saturating_add(calendar.business_seconds(self.since, at)),
            Stage::Paused | Stage::Stopped => self.spent,
        }
    }

    /// Stands still from `at` (the ticket went pending, say).
    pub fn pause(&mut self, calendar: &dyn Calendar, at: i64) {
        if self.stage == Stage::Running {
            self.spent = self.elapsed(calendar, at);
            self.stage = Stage::Paused;
            self.since = at;
        }
    }

    /// Counts again from `at`.
    pub fn resume(&mut self, at: i64) {
        if self.stage == Stage::Paused {
            self.stage = Stage::Running;
            self.since = at;
        }
    }

    /// Stops for good at `at`; whether it was met then.
    pub fn stop(&mut self, calendar: &dyn Calendar, at: i64) -> bool {
        if self.stage == Stage::Running {
            self.spent = self.elapsed(calendar, at);
        }
        self.stage = Stage::Stopped;
        self.since = at;
        self.spent <= self.target
    }

    /// A new target from `at` (a new priority or policy), keeping what was
    /// spent.
    pub fn retarget(&mut self, calendar: &dyn Calendar, target: i64, at: i64) {
        if self.stage == Stage::Running {
            self.spent = self.elapsed(calendar, at);
            self.since = at;
        }
        self.target = target.max(0);
    }

    /// When it is due (breaches), while it runs: the business time left
    /// added to when it started running.
    pub fn due_at(&self, calendar: &dyn Calendar) -> Option<i64> {
        self.instant_at(calendar, self.target)
    }

    /// When it warns, while it runs: the first instant [`Clock::warns`].
    pub fn warn_at(&self, calendar: &dyn Calendar) -> Option<i64> {
        self.instant_at(calendar, self.warn_threshold())
    }

    /// When it breaches, while it runs: the first instant
    /// [`Clock::breaches`], a second past its deadline (time spent exactly
    /// to the deadline met it).
    pub fn breach_at(&self, calendar: &dyn Calendar) -> Option<i64> {
        self.instant_at(calendar, self.target.saturating_add(1))
    }

    /// Whether it has reached its warning by `at`: `warn_percent` of its
    /// target spent.
    pub fn warns(&self, calendar: &dyn Calendar, at: i64) -> bool {
        self.elapsed(calendar, at) >= self.warn_threshold()
    }

    /// Whether it is past its target by `at`.
    pub fn breaches(&self, calendar: &dyn Calendar, at: i64) -> bool {
        self.elapsed(calendar, at) > self.target
    }

    /// The business seconds at which it warns: `warn_percent` of the
    /// target, rounded up, so that a warning's instant and the test of it
    /// agree to the second.
    fn warn_threshold(&self) -> i64 {
        let share = self.target.saturating_mul(i64::from(self.warn_percent));
        share / 100 + i64::from(share % 100 != 0)
    }

    fn instant_at(&self, calendar: &dyn Calendar, business: i64) -> Option<i64> {
        (self.stage == Stage::Running)
            .then(|| calendar.add_business(self.since, business.saturating_sub(self.spent)))
    }

    /// The percent of its target spent by `at`.
    pub fn percent(&self, calendar: &dyn Calendar, at: i64) -> i64 {
        if self.target == 0 {
            return 100;
        }
        self.elapsed(calendar, at).saturating_mul(100) / self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: i64 = 3600;

    /// Business hours from 9:00 to 17:00 every day, in UTC: a stand-in
    /// with gaps, for the clock's own rules.
    struct NineToFive;

    impl Calendar for NineToFive {
        fn business_seconds(&self, from: i64, to: i64) -> i64 {
            let open = |t: i64| {
                let second = t.rem_euclid(86_400);
                (9 * HOUR..17 * HOUR).contains(&second)
            };
            // By the hour: the tests use whole hours.
            (from..to).step_by(usize::try_from(HOUR).unwrap()).filter(|t| open(*t)).count() as i64
                * HOUR
        }

        fn add_business(&self, from: i64, seconds: i64) -> i64 {
            let mut at = from;
            let mut left = seconds;
            while left > 0 {
                if self.business_seconds(at, at + HOUR) > 0 {
                    left -= HOUR;
                }
                at += HOUR;
            }
            at
        }
    }

    #[test]
    fn pending_stands_the_clock_still_and_a_new_priority_keeps_what_was_spent() {
        let day = 20_000 * 86_400;
        let cal = NineToFive;
        // Opened at 9:00 with 8 business hours to resolve, warning at 75%.
        let mut clock = Clock::start(8 * HOUR, 75, day + 9 * HOUR);
        assert_eq!(clock.due_at(&cal), Some(day + 17 * HOUR));
        assert_eq!(clock.warn_at(&cal), Some(day + 15 * HOUR));
        // Pending from 11:00 to the next day 10:00: two hours spent.
        clock.pause(&cal, day + 11 * HOUR);
        assert_eq!((clock.elapsed(&cal, day + 20 * HOUR), clock.due_at(&cal)), (2 * HOUR, None));
        clock.resume(day + 86_400 + 10 * HOUR);
        // Six hours left from 10:00: due at 16:00 the next day.
        assert_eq!(clock.due_at(&cal), Some(day + 86_400 + 16 * HOUR));
        // Raised to 4 hours at 11:00: three spent, one left.
        clock.retarget(&cal, 4 * HOUR, day + 86_400 + 11 * HOUR);
        assert_eq!(clock.due_at(&cal), Some(day + 86_400 + 12 * HOUR));
        assert_eq!(clock.percent(&cal, day + 86_400 + 11 * HOUR), 75);
        // Resolved at 13:00: five hours of four, missed.
        assert!(!clock.stop(&cal, day + 86_400 + 13 * HOUR));
        assert_eq!((clock.spent, clock.due_at(&cal)), (5 * HOUR, None));
    }

    fn office_in_paris() -> crate::rules::hours::Hours {
        let day = vec![crate::rules::hours::Period { from: "09:00".into(), to: "17:00".into() }];
        let week = keel_values::Weekday::ALL[..5].iter().map(|w| (*w, day.clone())).collect();
        let def = crate::rules::hours::HoursDef {
            time_zone: "Europe/Paris".into(),
            week,
            holidays: Vec::new(),
        };
        crate::rules::hours::Hours::new(&def).unwrap()
    }

    proptest! {
        /// Whatever happens to a ticket, its elapsed business time never
        /// goes down, a pause never brings its deadline forward, and a new
        /// target loses nothing already spent.
        #[test]
        fn elapsed_never_decreases_and_pausing_never_shortens_a_deadline(
            target in 0i64..100_000,
            steps in proptest::collection::vec((1i64..20_000, 0u8..4), 1..30),
        ) {
            // Working days in Paris from a week before the clocks go
            // forward, and around the clock.
            let office = office_in_paris();
            let calendars: [&dyn Calendar; 2] = [&office, &AllHours];
            let cal = calendars[usize::from(target % 2 == 0)];
            let start = 1_774_000_000;
            let mut clock = Clock::start(target, 75, start);
            let mut at = start;
            let mut last = 0;
            let mut deadline = clock.due_at(cal);
            for (gap, action) in steps {
                at += gap;
                let spent_before = clock.elapsed(cal, at);
                match action {
                    0 => clock.pause(cal, at),
                    1 => clock.resume(at),
                    2 => clock.retarget(cal, target, at),
                    _ => {}
                }
                let elapsed = clock.elapsed(cal, at);
                prop_assert!(elapsed >= last);
                prop_assert_eq!(elapsed, spent_before, "an action at an instant spends nothing");
                if let (Some(before), Some(now)) = (deadline, clock.due_at(cal)) {
                    prop_assert!(now >= before, "a deadline never comes sooner");
                }
                last = elapsed;
                if clock.due_at(cal).is_some() {
                    deadline = clock.due_at(cal);
                }
            }
        }
    }
}
