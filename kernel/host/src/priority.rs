//! The CPU priority of threads whose calls run long.
//!
//! A call that has run for [`LONG_CALL`] (a loop, or heavy work) is
//! stopped only at its deadline; until then it should take CPU from other
//! tenants only where they leave it idle. So the thread running it lowers
//! its own priority (nice 19). An unprivileged thread cannot raise it back,
//! so a lowered executor thread serves no further call: the executor hands
//! its queue to a fresh thread (see `executor.rs`). Only executor threads
//! lower themselves; others (the blocking pool, which reads use) are shared
//! and would stay lowered for calls that did nothing wrong.

use std::cell::Cell;
use std::time::Duration;

/// How long a call runs before its thread's priority is lowered.
pub(crate) const LONG_CALL: Duration = Duration::from_millis(20);

/// The nice value of a lowered thread: it runs when nothing else wants
/// the CPU, and barely otherwise.
#[cfg(target_os = "linux")]
const NICE_LOWERED: i32 = 19;

thread_local! {
    /// This thread may lower its priority (it serves one tenant's calls).
    static LOWERABLE: Cell<bool> = const { Cell::new(false) };
    /// This thread's priority was lowered.
    static LOWERED: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as one that may lower its own priority.
pub(crate) fn allow_lowering() {
    LOWERABLE.set(true);
}

/// Lowers this thread's priority, once, if it may: for a call that has run
/// for [`LONG_CALL`].
pub(crate) fn lower() {
    if !LOWERABLE.get() || LOWERED.get() {
        return;
    }
    LOWERED.set(true);
    #[cfg(target_os = "linux")]
    if let Err(err) = rustix::process::setpriority_process(None, NICE_LOWERED) {
        tracing::debug!(error = %err, "cannot lower the priority of a long call's thread");
    }
}

/// Whether this thread lowered its priority.
pub(crate) fn lowered() -> bool {
    LOWERED.get()
}
