//! Background jobs: work too long for one call.
//!
//! An operation the manifest declares with `job = true` is not served by
//! [`Plugin::handle`](crate::Plugin::handle). Calling it answers 202 with a
//! job id, and the kernel then calls [`Plugin::run_step`](crate::Plugin::run_step)
//! again and again, each time in a write transaction of its own within the
//! normal deadline, as the caller who started the job. A step does a
//! bounded slice of the work from the [`Step::cursor`] the previous step
//! returned, and returns [`Progress`]: how much is done, how much there is,
//! and where the next step goes on. Its writes and the job's progress
//! commit together, so after a crash the job resumes from its last
//! committed step and no step's changes are made twice. A plugin upgraded
//! while its job runs gets the cursor its previous version returned: keep
//! cursors readable across versions.
//!
//! ```no_run
//! use keel_sdk::jobs::{Progress, Step};
//! use keel_sdk::Result;
//!
//! /// Recomputes 100 employees a step.
//! fn run(step: &Step) -> Result<Progress> {
//!     let after: u64 = step.cursor_as()?.unwrap_or(0);
//!     let total = 1_000;
//!     let upto = (after + 100).min(total);
//!     // ... the work for employees after+1 ..= upto ...
//!     if upto == total {
//!         return Progress::finished(upto, &serde_json::json!({ "employees": upto }));
//!     }
//!     Progress::next(upto, Some(total), &upto)
//! }
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Request, Result};

/// Longest cursor a step may return, in bytes.
pub const CURSOR_BYTES_MAX: usize = 4 * 1024;
/// Longest result a finished job may keep, in bytes.
pub const RESULT_BYTES_MAX: usize = 64 * 1024;

/// One step of a job, as the kernel asks for it.
#[derive(Debug, Clone)]
pub struct Step {
    /// The job's id, the same for each of its steps.
    pub job: String,
    /// The manifest operation the job runs.
    pub operation: String,
    /// The request that started the job.
    pub request: Request,
    /// Where the previous step said to go on (see [`Step::cursor_as`]);
    /// none for the first step.
    pub cursor: Option<String>,
    /// Units done by the steps before this one.
    pub done: u64,
    /// 1 on the first attempt at this step, 2 on its first retry, and so on.
    pub attempt: u32,
}

impl Step {
    /// The cursor the previous step returned, read back from its JSON;
    /// none for the first step.
    pub fn cursor_as<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        self.cursor
            .as_deref()
            .map(|text| {
                serde_json::from_str(text).map_err(|err| {
                    Error::internal(format!("job {} cursor {text:?}: {err}", self.job))
                })
            })
            .transpose()
    }
}

/// What a step did, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub(crate) done: u64,
    pub(crate) total: Option<u64>,
    pub(crate) cursor: Option<String>,
    pub(crate) result: Option<String>,
}

impl Progress {
    /// More to do: `done` units so far (this step's included), of `total`
    /// when known; the next step gets `cursor` back, as JSON.
    pub fn next(done: u64, total: Option<u64>, cursor: &impl Serialize) -> Result<Self> {
        let cursor = json("cursor", cursor, CURSOR_BYTES_MAX)?;
        Ok(Self { done, total, cursor: Some(cursor), result: None })
    }

    /// The job is finished, with `done` units in all, keeping `result`
    /// with it for whoever reads the job.
    pub fn finished(done: u64, result: &impl Serialize) -> Result<Self> {
        let result = json("result", result, RESULT_BYTES_MAX)?;
        Ok(Self { done, total: Some(done), cursor: None, result: Some(result) })
    }
}

fn json(what: &str, value: &impl Serialize, max: usize) -> Result<String> {
    let text = serde_json::to_string(value)
        .map_err(|err| Error::internal(format!("job {what}: {err}")))?;
    if text.len() > max {
        return Err(Error::internal(format!(
            "a job {what} holds at most {max} bytes; this one has {}",
            text.len()
        )));
    }
    Ok(text)
}
