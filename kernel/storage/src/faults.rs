//! Failures injected into the write-ahead log, for the fault tests: a
//! write or sync that fails must never be acknowledged, and a restart
//! must recover everything acknowledged before it.

use std::sync::Mutex;

use crate::error::{Error, Result};

/// A log operation to make fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Writing a record.
    LogWrite,
    /// Syncing it.
    LogSync,
}

/// The failures still to happen, each once.
#[derive(Debug, Default)]
pub struct Faults(Mutex<Vec<Fault>>);

impl Faults {
    /// Makes the next `fault` fail.
    pub(crate) fn inject(&self, fault: Fault) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(fault);
    }

    /// Fails if `fault` is due.
    pub(crate) fn check(&self, fault: Fault) -> Result<()> {
        let mut due = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match due.iter().position(|f| *f == fault) {
            Some(at) => {
                due.remove(at);
                Err(Error::Backend(format!("injected failure: {fault:?}")))
            }
            None => Ok(()),
        }
    }
}
