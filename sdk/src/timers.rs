//! Timers: ask the kernel to call the plugin back at a time.
//!
//! [`set`] keeps a timer in the call's transaction: it exists exactly when
//! the call's changes do, and survives restarts. At its time the kernel
//! calls [`Plugin::on_timer`](crate::Plugin::on_timer) in a transaction of
//! its own, which also removes the timer: at least once, retried with a
//! growing delay when it fails, and kept as a dead timer for an
//! administrator once attempts run out. Setting a key again replaces its
//! timer, which is how an SLA clock moves its deadline.

use serde::Serialize;

use crate::__private::bindings::keel::kernel::timers as wit;
use crate::__private::bindings::keel::kernel::types::Timestamp;
use crate::{Error, Result};

pub use crate::__private::bindings::keel::kernel::timers::Fired;

/// Sets the timer `key` (1 to 256 bytes) to fire at `at_seconds` (Unix
/// seconds; a time past fires at once) with `payload` serialised as JSON,
/// replacing the timer set before under `key`.
pub fn set(key: &str, at_seconds: i64, payload: &impl Serialize) -> Result<()> {
    let payload = serde_json::to_string(payload)
        .map_err(|err| Error::internal(format!("timer payload: {err}")))?;
    let timer = wit::Timer {
        key: key.to_owned(),
        at: Timestamp { seconds: at_seconds, nanoseconds: 0 },
        payload,
    };
    wit::set(&timer).map_err(Error::from_wit)
}

/// Cancels the timer `key`; whether there was one.
pub fn cancel(key: &str) -> Result<bool> {
    wit::cancel(key).map_err(Error::from_wit)
}

/// The payload of `fired`, deserialised.
pub fn payload<T: serde::de::DeserializeOwned>(fired: &Fired) -> Result<T> {
    serde_json::from_str(&fired.payload)
        .map_err(|err| Error::invalid(format!("timer {} payload: {err}", fired.key)))
}
