//! Login throttling: after repeated failures for one user name or from one
//! address, further attempts are refused for a while.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::IdentityError;

/// Failures allowed within the window before attempts are refused.
const FAILURES_MAX: u32 = 5;
/// How long failures are remembered, and how long a lock lasts.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Tracked names and addresses before the oldest state is dropped.
const KEYS_MAX: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    failures: HashMap<String, (u32, Instant)>,
}

impl Throttle {
    /// Refuses the attempt if the user or the address is locked.
    pub(crate) fn check(
        &mut self,
        user: &str,
        source: &str,
        now: Instant,
    ) -> Result<(), IdentityError> {
        for key in [format!("user:{user}"), format!("addr:{source}")] {
            if let Some((count, since)) = self.failures.get(&key) {
                let elapsed = now.duration_since(*since);
                if *count >= FAILURES_MAX && elapsed < WINDOW {
                    return Err(IdentityError::Throttled {
                        retry_after_s: (WINDOW - elapsed).as_secs().max(1),
                    });
                }
            }
        }
        Ok(())
    }

    /// Records a failure for both the user name and the address.
    pub(crate) fn fail(&mut self, user: &str, source: &str, now: Instant) {
        if self.failures.len() >= KEYS_MAX {
            self.failures.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
        }
        for key in [format!("user:{user}"), format!("addr:{source}")] {
            let entry = self.failures.entry(key).or_insert((0, now));
            if now.duration_since(entry.1) >= WINDOW {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    /// Forgets a user's failures after a successful login.
    pub(crate) fn succeed(&mut self, user: &str) {
        self.failures.remove(&format!("user:{user}"));
    }
}
