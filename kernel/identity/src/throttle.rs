//! Login throttling: after repeated failures for one user name or from one
//! address, further attempts are refused for a while. An attempt counts as a
//! failure from the moment it starts, so parallel guesses cannot all slip
//! under the limit; a success takes it back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::IdentityError;

/// Failures allowed within the window before attempts are refused.
const FAILURES_MAX: u32 = 5;
/// How long failures are remembered, and how long a lock lasts.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Tracked names and addresses; past this the oldest half is forgotten.
const KEYS_MAX: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    failures: HashMap<String, (u32, Instant)>,
}

impl Throttle {
    /// Refuses the attempt if the user or the address is locked; otherwise
    /// counts it as a failure until [`Throttle::succeed`] takes it back.
    pub(crate) fn begin(
        &mut self,
        user: &str,
        source: &str,
        now: Instant,
    ) -> Result<(), IdentityError> {
        let keys = [format!("user:{user}"), format!("addr:{source}")];
        for key in &keys {
            if let Some((count, since)) = self.failures.get(key) {
                let elapsed = now.duration_since(*since);
                if *count >= FAILURES_MAX && elapsed < WINDOW {
                    return Err(IdentityError::Throttled {
                        retry_after_s: (WINDOW - elapsed).as_secs().max(1),
                    });
                }
            }
        }
        self.make_room(now);
        for key in keys {
            let entry = self.failures.entry(key).or_insert((0, now));
            if now.duration_since(entry.1) >= WINDOW {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
        Ok(())
    }

    /// A successful login: forgets the user's failures and takes back the
    /// attempt counted against the address.
    pub(crate) fn succeed(&mut self, user: &str, source: &str) {
        self.failures.remove(&format!("user:{user}"));
        if let Some(entry) = self.failures.get_mut(&format!("addr:{source}")) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }

    fn make_room(&mut self, now: Instant) {
        if self.failures.len() < KEYS_MAX {
            return;
        }
        self.failures.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
        if self.failures.len() < KEYS_MAX {
            return;
        }
        let mut starts: Vec<Instant> = self.failures.values().map(|(_, since)| *since).collect();
        starts.sort_unstable();
        let cutoff = starts[starts.len() / 2];
        self.failures.retain(|_, (_, since)| *since > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_count_before_they_finish() {
        let mut throttle = Throttle::default();
        let now = Instant::now();
        for _ in 0..FAILURES_MAX {
            throttle.begin("admin", "10.0.0.1", now).unwrap();
        }
        // Five attempts still in flight already lock the sixth.
        assert!(matches!(
            throttle.begin("admin", "10.0.0.2", now),
            Err(IdentityError::Throttled { .. })
        ));
        throttle.succeed("admin", "10.0.0.1");
        throttle.begin("admin", "10.0.0.2", now).unwrap();
        assert!(throttle.begin("admin", "10.0.0.3", now + WINDOW).is_ok(), "the window passes");
    }
}
