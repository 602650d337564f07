//! Login throttling that slows guessing without becoming a lockout switch.
//!
//! Failures are counted three ways, each with its own [`Rule`]: for a user
//! at one address (someone guessing one password), at one address over all
//! users (password spraying), and for a user over all addresses (guessing
//! from many addresses; capped at a short wait, so it can never keep the
//! owner out for long). Past a rule's free failures, each further attempt
//! must wait twice as long after the last failure as the one before; an
//! earlier one is refused with the time left. Counts leak away over time,
//! so that a busy shared address (an office, a proxy) that fails now and
//! then never adds up to a wait.
//!
//! IPv6 addresses count by /64, the block one subscriber usually holds.
//! An attempt counts as a failure from the moment it starts, so parallel
//! guesses cannot all slip under the limit; a success, or a right password
//! that still needs its second factor, takes it back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use keel_types::UserId;

use crate::IdentityError;

/// How one kind of failure count slows attempts.
#[derive(Debug, Clone, Copy)]
struct Rule {
    /// Failures before attempts must wait.
    free: u32,
    /// The longest wait.
    wait_max: Duration,
    /// One failure is forgotten every this long.
    leak_every: Duration,
}

/// One user guessed at from one address.
const USER_AT_ADDRESS: Rule = Rule {
    free: 3,
    wait_max: Duration::from_secs(15 * 60),
    leak_every: Duration::from_secs(15 * 60),
};
/// Any users guessed at from one address.
const ADDRESS: Rule =
    Rule { free: 20, wait_max: Duration::from_secs(15 * 60), leak_every: Duration::from_secs(60) };
/// One user guessed at from anywhere: a short wait at most.
const USER: Rule =
    Rule { free: 10, wait_max: Duration::from_secs(30), leak_every: Duration::from_secs(60) };

/// Tracked keys; past this the oldest half is forgotten.
const KEYS_MAX: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    /// Failures have leaked away up to here.
    leaked_to: Instant,
}

impl Failures {
    fn new(now: Instant) -> Self {
        Self { count: 0, last: now, leaked_to: now }
    }

    /// Forgets the failures that leaked away by `now`.
    fn leak(&mut self, rule: Rule, now: Instant) {
        let periods = now.duration_since(self.leaked_to).as_nanos() / rule.leak_every.as_nanos();
        let periods = u32::try_from(periods).unwrap_or(u32::MAX);
        self.count = self.count.saturating_sub(periods);
        self.leaked_to =
            if self.count == 0 { now } else { self.leaked_to + rule.leak_every * periods };
    }

    /// When the next attempt may start.
    fn next_allowed(&self, rule: Rule) -> Instant {
        let Some(doublings) = self.count.checked_sub(rule.free) else { return self.last };
        let wait = Duration::from_secs(1u64.checked_shl(doublings).unwrap_or(u64::MAX));
        self.last + wait.min(rule.wait_max)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    failures: HashMap<String, Failures>,
}

/// The keys an attempt counts against, with their rules. A name that is
/// no user id shares one key (it can only fail), so a client cannot grow
/// the table with long names.
fn keys(user: &str, source: &str) -> [(String, Rule); 3] {
    let user = if UserId::new(user).is_ok() { user } else { "~not-a-user" };
    let address = match source.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(ip)) => {
            let [a, b, c, d, ..] = ip.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        Ok(IpAddr::V4(ip)) => ip.to_string(),
        Err(_) => source.chars().take(64).collect(),
    };
    [
        (format!("user:{user}@{address}"), USER_AT_ADDRESS),
        (format!("addr:{address}"), ADDRESS),
        (format!("user:{user}"), USER),
    ]
}

impl Throttle {
    /// Refuses the attempt if it comes too soon after failures; otherwise
    /// counts it as a failure until it is taken back.
    pub(crate) fn begin(
        &mut self,
        user: &str,
        source: &str,
        now: Instant,
    ) -> Result<(), IdentityError> {
        let keys = keys(user, source);
        let mut allowed = now;
        for (key, rule) in &keys {
            if let Some(failures) = self.failures.get_mut(key) {
                failures.leak(*rule, now);
                allowed = allowed.max(failures.next_allowed(*rule));
            }
        }
        if allowed > now {
            let wait = allowed.duration_since(now);
            let retry_after_s = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(IdentityError::Throttled { retry_after_s: retry_after_s.max(1) });
        }
        self.make_room(now);
        for (key, _) in keys {
            let failures = self.failures.entry(key).or_insert_with(|| Failures::new(now));
            failures.count = failures.count.saturating_add(1);
            failures.last = now;
        }
        Ok(())
    }

    /// The password was right: takes the attempt back. `signed_in` (the
    /// second factor too, if any) also forgets the user's failures.
    pub(crate) fn take_back(&mut self, user: &str, source: &str, signed_in: bool) {
        let [(user_at_address, _), (address, _), (user_anywhere, _)] = keys(user, source);
        if signed_in {
            self.failures.remove(&user_at_address);
            self.failures.remove(&user_anywhere);
        }
        for key in [user_at_address, address, user_anywhere] {
            if let Some(failures) = self.failures.get_mut(&key) {
                failures.count = failures.count.saturating_sub(1);
            }
        }
    }

    fn make_room(&mut self, now: Instant) {
        if self.failures.len() < KEYS_MAX {
            return;
        }
        self.failures.retain(|_, failures| now.duration_since(failures.last) < ADDRESS.wait_max);
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
        for _ in 0..USER_AT_ADDRESS.free {
            throttle.begin("admin", "10.0.0.1", now).unwrap();
        }
        // Three attempts still in flight already hold back the fourth.
        assert_eq!(throttled(throttle.begin("admin", "10.0.0.1", now)), Some(1));
        throttle.take_back("admin", "10.0.0.1", true);
        throttle.begin("admin", "10.0.0.1", now).unwrap();
    }

    #[test]
    fn waits_double_up_to_a_bound_and_nothing_is_ever_locked() {
        let mut throttle = Throttle::default();
        let mut now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..30 {
            if let Some(wait) = throttled(throttle.begin("admin", "10.0.0.1", now)) {
                waits.push(wait);
                now += Duration::from_secs(wait);
                throttle.begin("admin", "10.0.0.1", now).expect("allowed once the wait is over");
            }
        }
        assert_eq!(&waits[..5], [1, 2, 4, 8, 16]);
        assert_eq!(waits.iter().max(), Some(&USER_AT_ADDRESS.wait_max.as_secs()));
        // The same user from elsewhere waits at most the short per-user wait.
        let elsewhere = throttled(throttle.begin("admin", "10.0.0.2", now));
        assert!(elsewhere.is_none_or(|wait| wait <= USER.wait_max.as_secs()), "{elsewhere:?}");
        now += USER.wait_max;
        throttle.begin("admin", "10.0.0.2", now).expect("another address signs in");
    }

    #[test]
    fn one_address_trying_many_users_is_slowed_too() {
        let mut throttle = Throttle::default();
        let now = Instant::now();
        for n in 0..ADDRESS.free {
            throttle.begin(&format!("user{n}"), "10.0.0.9", now).unwrap();
        }
        assert!(throttled(throttle.begin("someone-else", "10.0.0.9", now)).is_some());
        throttle.begin("someone-else", "10.0.0.10", now).expect("other addresses are not");
    }

    #[test]
    fn a_busy_shared_address_that_fails_now_and_then_never_waits() {
        let mut throttle = Throttle::default();
        let mut now = Instant::now();
        // An office behind one address: a typo every two minutes, all day,
        // and each person then signs in, some with a second factor.
        for n in 0..500 {
            let user = format!("clerk{}", n % 40);
            throttle.begin(&user, "192.0.2.1", now).expect("a typo is let through");
            throttle.begin(&user, "192.0.2.1", now).expect("and so is the retry");
            throttle.take_back(&user, "192.0.2.1", n % 3 != 0);
            now += Duration::from_secs(120);
        }
    }

    #[test]
    fn an_ipv6_subscriber_counts_as_one_address_and_names_share_a_key() {
        let mut throttle = Throttle::default();
        let now = Instant::now();
        for n in 0..USER_AT_ADDRESS.free {
            throttle.begin("admin", &format!("2001:db8:1:2::{n:x}"), now).unwrap();
        }
        assert!(throttled(throttle.begin("admin", "2001:db8:1:2::ffff", now)).is_some());
        // A mapped IPv4 address is that IPv4 address.
        for _ in 0..USER_AT_ADDRESS.free {
            throttle.begin("bob", "::ffff:10.1.1.1", now).unwrap();
        }
        assert!(throttled(throttle.begin("bob", "10.1.1.1", now)).is_some());
        // Long names that are no user id cannot grow the table.
        let long = "x".repeat(100_000);
        throttle.begin(&long, "10.2.2.2", now).unwrap();
        assert!(throttle.failures.keys().all(|key| key.len() < 100));
    }
}
