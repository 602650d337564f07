//! SLA policies and the two clocks they give a ticket: time to own (until
//! an agent starts on it) and time to resolve. A policy is chosen by the
//! ticket's kind, priority and service; each clock runs only in the states
//! the policy lists for it, so a pending ticket's clocks stand still by
//! construction. Warnings and breaches are noticed once each: at least
//! once timers may fire again, and must not warn twice.

use keel_values::RuleError;
use keel_values::code::check_code;
use serde::{Deserialize, Serialize};

use super::sla::{Calendar, Clock, Stage};
use super::ticket::{Kind, State};

/// Most policies a tenant keeps.
pub const POLICIES_MAX: usize = 200;
/// The longest target: a year of business time.
const TARGET_MINUTES_MAX: i64 = 366 * 24 * 60;

/// A tenant's SLA policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub id: String,
    /// The kinds of ticket it covers; all if empty.
    #[serde(default)]
    pub kinds: Vec<Kind>,
    /// The priorities it covers; all if empty.
    #[serde(default)]
    pub priorities: Vec<u8>,
    /// The service (a configuration item) it covers; any if none. A
    /// policy for the ticket's service wins over one for any.
    #[serde(default)]
    pub service: Option<String>,
    /// Business minutes until an agent starts on it.
    pub own_minutes: i64,
    /// Business minutes until it is resolved.
    pub resolve_minutes: i64,
    /// The business calendar its clocks count on.
    pub calendar: String,
    /// Percent of a target at which it warns.
    #[serde(default = "default_warn")]
    pub warn_percent: u8,
    /// States in which time to own runs.
    #[serde(default = "own_states")]
    pub own_states: Vec<State>,
    /// States in which time to resolve runs (pending is not one, unless
    /// listed).
    #[serde(default = "resolve_states")]
    pub resolve_states: Vec<State>,
}

fn default_warn() -> u8 {
    75
}

fn own_states() -> Vec<State> {
    vec![State::New, State::Assigned]
}

fn resolve_states() -> Vec<State> {
    vec![State::New, State::Assigned, State::InProgress]
}

impl Policy {
    /// Checks its id, targets, warning and states.
    pub fn check(&self) -> Result<(), RuleError> {
        check_code("SLA policy", &self.id)?;
        check_code("calendar", &self.calendar)?;
        for (what, minutes) in [("own", self.own_minutes), ("resolve", self.resolve_minutes)] {
            if !(1..=TARGET_MINUTES_MAX).contains(&minutes) {
                return Err(RuleError::new(format!(
                    "policy {}: {what}_minutes is 1 to {TARGET_MINUTES_MAX}, not {minutes}",
                    self.id
                )));
            }
        }
        if !(1..=99).contains(&self.warn_percent) {
            return Err(RuleError::new(format!(
                "policy {}: warn_percent is 1 to 99, not {}",
                self.id, self.warn_percent
            )));
        }
        let ends = |s: &State| {
            matches!(s, State::Resolved | State::Closed | State::Rejected | State::Cancelled)
        };
        if self.own_states.iter().chain(&self.resolve_states).any(ends) {
            return Err(RuleError::new(format!(
                "policy {}: a clock cannot run once a ticket is resolved, closed, rejected or \
                 cancelled",
                self.id
            )));
        }
        Ok(())
    }

    fn covers(&self, kind: Kind, priority: u8, service: Option<&str>) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&kind))
            && (self.priorities.is_empty() || self.priorities.contains(&priority))
            && self.service.as_deref().is_none_or(|s| Some(s) == service)
    }
}

/// The policy for a ticket: the first in `policies` for its service that
/// covers it, or else the first for any service.
pub fn choose<'p>(
    policies: &'p [Policy],
    kind: Kind,
    priority: u8,
    service: Option<&str>,
) -> Option<&'p Policy> {
    let covering = || policies.iter().filter(move |p| p.covers(kind, priority, service));
    covering().find(|p| p.service.is_some()).or_else(|| covering().next())
}

/// Which of a ticket's clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Own,
    Resolve,
}

/// One clock of a ticket, with what was noticed of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tracked {
    pub target: Target,
    pub clock: Clock,
    /// Its warning was published.
    pub warned: bool,
    /// Its breach was published.
    pub breached: bool,
}

/// What a look at the clocks noticed, to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noticed {
    Warning(Target),
    Breach(Target),
}

/// A ticket's clocks under its policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Clocks {
    pub policy: String,
    pub calendar: String,
    pub own_states: Vec<State>,
    pub resolve_states: Vec<State>,
    pub tracked: Vec<Tracked>,
}

impl Clocks {
    /// Both clocks of `policy`, started `at` for a ticket now in `state`.
    pub fn start(policy: &Policy, state: State, at: i64, calendar: &dyn Calendar) -> Self {
        let clock = |target: Target, minutes: i64| Tracked {
            target,
            clock: Clock::start(minutes * 60, policy.warn_percent, at),
            warned: false,
            breached: false,
        };
        let mut clocks = Self {
            policy: policy.id.clone(),
            calendar: policy.calendar.clone(),
            own_states: policy.own_states.clone(),
            resolve_states: policy.resolve_states.clone(),
            tracked: vec![
                clock(Target::Own, policy.own_minutes),
                clock(Target::Resolve, policy.resolve_minutes),
            ],
        };
        clocks.follow(state, at, calendar);
        clocks
    }

    /// The ticket moved to `state` at `at`: each clock runs, stands still,
    /// or stops. Time to own stops for good once an agent started (or the
    /// ticket ended); time to resolve stops when the ticket is resolved and
    /// runs again if it is reopened. Otherwise a clock outside its states
    /// stands still.
    pub fn follow(&mut self, state: State, at: i64, calendar: &dyn Calendar) {
        let ended =
            matches!(state, State::Resolved | State::Closed | State::Rejected | State::Cancelled);
        for tracked in &mut self.tracked {
            let (states, pauses) = match tracked.target {
                // Waiting (on an approval, or pending before anyone
                // started) is not owning it.
                Target::Own => {
                    (&self.own_states, matches!(state, State::Pending | State::AwaitingApproval))
                }
                Target::Resolve => (&self.resolve_states, !ended),
            };
            let clock = &mut tracked.clock;
            if states.contains(&state) {
                if clock.stage == Stage::Stopped && tracked.target == Target::Resolve {
                    clock.stage = Stage::Paused;
                }
                clock.resume(at);
            } else if pauses {
                clock.pause(calendar, at);
            } else if clock.stage != Stage::Stopped {
                clock.stop(calendar, at);
            }
        }
    }

    /// A new policy (after a new priority, say) from `at`: each clock not
    /// stopped keeps what it spent, counted on the calendar it ran on until now (`was`),
    /// and counts on towards its new target on the new policy's. What was
    /// noticed stays noticed: a warning or a breach is published once.
    pub fn retarget(&mut self, policy: &Policy, at: i64, was: &dyn Calendar) {
        self.policy = policy.id.clone();
        self.calendar = policy.calendar.clone();
        self.own_states = policy.own_states.clone();
        self.resolve_states = policy.resolve_states.clone();
        // A clock stopped is met or missed for good, by the target it had.
        for tracked in self.tracked.iter_mut().filter(|t| t.clock.stage != Stage::Stopped) {
            let minutes = match tracked.target {
                Target::Own => policy.own_minutes,
                Target::Resolve => policy.resolve_minutes,
            };
            tracked.clock.retarget(was, minutes * 60, at);
            tracked.clock.warn_percent = policy.warn_percent;
        }
    }

    /// Since when the earliest running clock runs; `i64::MAX` if none
    /// does. Business time before it is counted and kept.
    pub fn running_since(&self) -> i64 {
        let running = self.tracked.iter().filter(|t| t.clock.stage == Stage::Running);
        running.map(|t| t.clock.since).min().unwrap_or(i64::MAX)
    }

    /// Whether these clocks are `policy`'s as it stands: its calendar,
    /// states, targets and warning.
    pub fn follows(&self, policy: &Policy) -> bool {
        let target = |target: Target| match target {
            Target::Own => policy.own_minutes * 60,
            Target::Resolve => policy.resolve_minutes * 60,
        };
        self.policy == policy.id
            && self.calendar == policy.calendar
            && self.own_states == policy.own_states
            && self.resolve_states == policy.resolve_states
            && self.tracked.iter().filter(|t| t.clock.stage != Stage::Stopped).all(|t| {
                t.clock.target == target(t.target) && t.clock.warn_percent == policy.warn_percent
            })
    }

    /// What is due to be noticed by `at`, marked noticed. Called before
    /// the ticket's state changes too, so that a clock stopped late (an
    /// agent starting after the deadline, before its timer ran) is still
    /// noticed.
    pub fn notice(&mut self, at: i64, calendar: &dyn Calendar) -> Vec<Noticed> {
        let mut noticed = Vec::new();
        for tracked in &mut self.tracked {
            let clock = &tracked.clock;
            if !tracked.warned && clock.warns(calendar, at) {
                tracked.warned = true;
                noticed.push(Noticed::Warning(tracked.target));
            }
            if !tracked.breached && tracked.clock.breaches(calendar, at) {
                tracked.breached = true;
                noticed.push(Noticed::Breach(tracked.target));
            }
        }
        noticed
    }

    /// The next instant something is to be noticed, if a clock runs.
    pub fn next_notice(&self, calendar: &dyn Calendar) -> Option<i64> {
        self.tracked
            .iter()
            .filter_map(|t| match (t.warned, t.breached) {
                (false, _) => t.clock.warn_at(calendar),
                (true, false) => t.clock.breach_at(calendar),
                (true, true) => None,
            })
            .min()
    }

    /// The earliest deadline of a running clock not breached yet: what the
    /// overdue queue sorts by.
    pub fn due(&self, calendar: &dyn Calendar) -> Option<i64> {
        self.tracked
            .iter()
            .filter(|t| t.clock.stage == Stage::Running)
            .filter_map(|t| t.clock.due_at(calendar))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::super::sla::AllHours;
    use super::*;

    const MINUTE: i64 = 60;

    fn policy(id: &str, priorities: Vec<u8>, service: Option<&str>) -> Policy {
        Policy {
            id: id.to_owned(),
            kinds: vec![Kind::Incident],
            priorities,
            service: service.map(str::to_owned),
            own_minutes: 30,
            resolve_minutes: 240,
            calendar: "ALWAYS".to_owned(),
            warn_percent: 75,
            own_states: own_states(),
            resolve_states: resolve_states(),
        }
    }

    #[test]
    fn the_policy_for_the_service_wins_over_one_for_any() {
        let policies = vec![
            policy("P1-ANY", vec![1], None),
            policy("P1-MAIL", vec![1], Some("SVC-MAIL")),
            policy("ANY", vec![], None),
        ];
        let chosen = |priority, service| {
            choose(&policies, Kind::Incident, priority, service).map(|p| p.id.as_str())
        };
        assert_eq!(chosen(1, Some("SVC-MAIL")), Some("P1-MAIL"));
        assert_eq!(chosen(1, Some("SVC-WEB")), Some("P1-ANY"));
        assert_eq!(chosen(3, None), Some("ANY"));
        assert_eq!(choose(&policies, Kind::Request, 1, None), None);
    }

    #[test]
    fn pending_stands_both_clocks_still_and_a_breach_is_noticed_once() {
        let cal = AllHours;
        let p = policy("P", vec![], None);
        let mut clocks = Clocks::start(&p, State::New, 0, &cal);
        // Warns at 75% of 30 minutes.
        assert_eq!(clocks.next_notice(&cal), Some(22 * MINUTE + 30));
        assert_eq!(clocks.notice(23 * MINUTE, &cal), [Noticed::Warning(Target::Own)]);
        assert_eq!(clocks.notice(23 * MINUTE, &cal), [], "once");
        // Started at 25 minutes: time to own stops, met.
        clocks.follow(State::InProgress, 25 * MINUTE, &cal);
        assert_eq!(clocks.tracked[0].clock.stage, Stage::Stopped);
        // Pending from 60 to 600 minutes: time to resolve stands still.
        clocks.follow(State::Pending, 60 * MINUTE, &cal);
        assert_eq!(clocks.due(&cal), None);
        assert_eq!(clocks.notice(600 * MINUTE, &cal), []);
        clocks.follow(State::InProgress, 600 * MINUTE, &cal);
        // 60 spent of 240: due 180 minutes on.
        assert_eq!(clocks.due(&cal), Some(780 * MINUTE));
        let noticed = clocks.notice(781 * MINUTE, &cal);
        assert_eq!(noticed, [Noticed::Warning(Target::Resolve), Noticed::Breach(Target::Resolve)]);
        assert_eq!(clocks.notice(800 * MINUTE, &cal), []);
        // Resolved, then reopened: it counts on from what it spent.
        clocks.follow(State::Resolved, 800 * MINUTE, &cal);
        assert_eq!(clocks.tracked[1].clock.stage, Stage::Stopped);
        clocks.follow(State::InProgress, 900 * MINUTE, &cal);
        assert_eq!(clocks.tracked[1].clock.elapsed(&cal, 910 * MINUTE), 270 * MINUTE);
        assert_eq!(clocks.tracked[0].clock.stage, Stage::Stopped, "owned once for good");
    }

    #[test]
    fn a_new_policy_keeps_what_was_spent_and_what_was_noticed() {
        let cal = AllHours;
        let mut clocks = Clocks::start(&policy("P3", vec![], None), State::New, 0, &cal);
        clocks.follow(State::InProgress, 10 * MINUTE, &cal);
        assert_eq!(clocks.notice(200 * MINUTE, &cal), [Noticed::Warning(Target::Resolve)]);
        // Lowered to a day to resolve at 200 minutes: 200 spent, 1240 left.
        let day = Policy { resolve_minutes: 1440, ..policy("P4", vec![], None) };
        clocks.retarget(&day, 200 * MINUTE, &cal);
        assert_eq!(clocks.due(&cal), Some(1440 * MINUTE));
        assert_eq!(clocks.policy, "P4");
        // Raised back: warned once already, so only the breach is left.
        clocks.retarget(&policy("P3", vec![], None), 210 * MINUTE, &cal);
        assert_eq!(clocks.notice(241 * MINUTE, &cal), [Noticed::Breach(Target::Resolve)]);
    }

    #[test]
    fn a_deadline_at_closing_time_breaches_the_next_working_second_not_before() {
        // Eight business hours from 09:00 on a 9-to-5 calendar: due at 17:00,
        // met if resolved then; breached at 09:00:01 the next day.
        let week = keel_values::Weekday::ALL[..5]
            .iter()
            .map(|w| {
                (*w, vec![super::super::hours::Period { from: "09:00".into(), to: "17:00".into() }])
            })
            .collect();
        let def =
            super::super::hours::HoursDef { time_zone: "UTC".into(), week, holidays: Vec::new() };
        let cal = super::super::hours::Hours::new(&def).unwrap();
        // Monday 7 December 2026, 09:00 UTC.
        let monday = 1_796_634_000;
        let p = Policy {
            own_minutes: 480,
            resolve_minutes: 480,
            warn_percent: 33,
            ..policy("P", vec![], None)
        };
        let mut clocks = Clocks::start(&p, State::New, monday, &cal);
        assert_eq!(clocks.due(&cal), Some(monday + 8 * 3600));
        // 33% of 8 hours is 9,504 s: the warning's instant and its test agree.
        let warn = clocks.next_notice(&cal).unwrap();
        assert_eq!(warn, monday + 9_504);
        assert_eq!(clocks.notice(warn - 1, &cal), []);
        assert_eq!(clocks.notice(warn, &cal).len(), 2, "both clocks warn");
        let breach = clocks.next_notice(&cal).unwrap();
        assert_eq!(breach, monday + 86_400 + 1, "Tuesday 09:00:01");
        assert_eq!(clocks.notice(monday + 8 * 3600 + 1, &cal), [], "not at 17:00:01");
        assert_eq!(clocks.notice(breach, &cal).len(), 2);
        assert_eq!(clocks.next_notice(&cal), None);
    }

    #[test]
    fn bad_policies_are_refused_with_what_is_wrong() {
        let cases = [
            (Policy { own_minutes: 0, ..policy("P", vec![], None) }, "own_minutes"),
            (Policy { warn_percent: 100, ..policy("P", vec![], None) }, "warn_percent"),
            (
                Policy { resolve_states: vec![State::Resolved], ..policy("P", vec![], None) },
                "cannot run",
            ),
            (policy("p 1", vec![], None), "SLA policy"),
        ];
        for (bad, expected) in cases {
            let err = bad.check().unwrap_err().to_string();
            assert!(err.contains(expected), "{bad:?}: {err}");
        }
    }
}
