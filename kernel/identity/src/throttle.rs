//! Login throttling that slows guessing without becoming a lockout switch.
//!
//! Failures are counted for each user at each address, and for each
//! address over all users (password spraying). Past a few free failures,
//! each further attempt must wait twice as long after the last failure as
//! the one before (at most [`WAIT_MAX`]); an earlier one is refused with the
//! time left. Nothing is ever locked: someone guessing `admin`'s password
//! from one address does not slow `admin` signing in from another.
//!
//! An attempt counts as a failure from the moment it starts, so parallel
//! guesses cannot all slip under the limit; a success takes it back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::IdentityError;

/// Failures of one user at one address before attempts must wait.
const FREE_PER_USER: u32 = 3;
/// Failures at one address, whoever the users, before attempts must wait.
const FREE_PER_ADDRESS: u32 = 20;
/// The longest wait between attempts.
const WAIT_MAX: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Tracked keys; past this the oldest half is forgotten.
const KEYS_MAX: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt may start, given `free` failures before waits.
    fn next_allowed(&self, free: u32) -> Instant {
        let Some(doublings) = self.count.checked_sub(free) else { return self.last };
        let wait = Duration::from_secs(1u64.checked_shl(doublings).unwrap_or(u64::MAX));
        self.last + wait.min(WAIT_MAX)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    failures: HashMap<String, Failures>,
}

/// The keys an attempt counts against, with their free failures.
fn keys(user: &str, source: &str) -> [(String, u32); 2] {
    [(format!("user:{user}@{source}"), FREE_PER_USER), (format!("addr:{source}"), FREE_PER_ADDRESS)]
}

impl Throttle {
    /// Refuses the attempt if it comes too soon after failures of this user
    /// at this address, or at this address; otherwise counts it as a
    /// failure until [`Throttle::succeed`] takes it back.
    pub(crate) fn begin(
        &mut self,
        user: &str,
        source: &str,
        now: Instant,
    ) -> Result<(), IdentityError> {
        let keys = keys(user, source);
        for (key, free) in &keys {
            let Some(failures) = self.failures.get(key) else { continue };
            let allowed = failures.next_allowed(*free);
            if now < allowed && now.duration_since(failures.last) < FORGET_AFTER {
                let wait = allowed.duration_since(now);
                let retry_after_s = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Err(IdentityError::Throttled { retry_after_s: retry_after_s.max(1) });
            }
        }
        self.make_room(now);
        for (key, _) in keys {
            let failures = self.failures.entry(key).or_insert(Failures { count: 0, last: now });
            if now.duration_since(failures.last) >= FORGET_AFTER {
                failures.count = 0;
            }
            failures.count += 1;
            failures.last = now;
        }
        Ok(())
    }

    /// A successful login: forgets the user's failures at this address and
    /// takes back the attempt counted against the address.
    pub(crate) fn succeed(&mut self, user: &str, source: &str) {
        let [(user_key, _), (address_key, _)] = keys(user, source);
        self.failures.remove(&user_key);
        if let Some(failures) = self.failures.get_mut(&address_key) {
            failures.count = failures.count.saturating_sub(1);
        }
    }

    fn make_room(&mut self, now: Instant) {
        if self.failures.len() < KEYS_MAX {
            return;
        }
        self.failures.retain(|_, failures| now.duration_since(failures.last) < FORGET_AFTER);
        if self.failures.len() < KEYS_MAX {
            return;
        }
        let mut lasts: Vec<Instant> = self.failures.values().map(|f| f.last).collect();
        lasts.sort_unstable();
        let cutoff = lasts[lasts.len() / 2];
        self.failures.retain(|_, failures| failures.last > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled(result: Result<(), IdentityError>) -> Option<u64> {
        match result {
            Err(IdentityError::Throttled { retry_after_s }) => Some(retry_after_s),
            _ => None,
        }
    }

    #[test]
    fn attempts_count_before_they_finish() {
        let mut throttle = Throttle::default();
        let now = Instant::now();
        for _ in 0..FREE_PER_USER {
            throttle.begin("admin", "10.0.0.1", now).unwrap();
        }
        // Three attempts still in flight already hold back the fourth.
        assert_eq!(throttled(throttle.begin("admin", "10.0.0.1", now)), Some(1));
        throttle.succeed("admin", "10.0.0.1");
        throttle.begin("admin", "10.0.0.1", now).unwrap();
    }

    #[test]
    fn waits_double_up_to_a_bound_and_nothing_is_ever_locked() {
        let mut throttle = Throttle::default();
        let mut now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..30 {
            match throttled(throttle.begin("admin", "10.0.0.1", now)) {
                None => {}
                Some(wait) => {
                    waits.push(wait);
                    now += Duration::from_secs(wait);
                    throttle
                        .begin("admin", "10.0.0.1", now)
                        .expect("allowed once the wait is over");
                }
            }
        }
        assert_eq!(&waits[..5], [1, 2, 4, 8, 16]);
        assert_eq!(waits.iter().max(), Some(&WAIT_MAX.as_secs()));
        // The same user from elsewhere is not held back at all.
        throttle.begin("admin", "10.0.0.2", now).expect("another address signs in");
        // Failures are forgotten an hour after the last.
        now += FORGET_AFTER;
        for _ in 0..FREE_PER_USER {
            throttle.begin("admin", "10.0.0.1", now).unwrap();
        }
    }

    #[test]
    fn one_address_trying_many_users_is_slowed_too() {
        let mut throttle = Throttle::default();
        let now = Instant::now();
        for n in 0..FREE_PER_ADDRESS {
            throttle.begin(&format!("user{n}"), "10.0.0.9", now).unwrap();
        }
        assert!(throttled(throttle.begin("someone-else", "10.0.0.9", now)).is_some());
        throttle.begin("someone-else", "10.0.0.10", now).expect("other addresses are not");
    }
}
