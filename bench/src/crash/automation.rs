//! The crash test's automation checks, with the `alarm` test plugin: each
//! round starts a job and sets timers due at once, so the kill comes while
//! a job is halfway and timers are due. After each restart every job
//! started must end having counted each unit exactly once (a unit is an
//! insert, so a step run twice would fail its job), and every timer set
//! must have rung.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::load::{Call, Connection};

/// Units each job counts, one a step.
const JOB_UNITS: u64 = 300;
/// Timers set each round, due at once.
const TIMERS_PER_ROUND: usize = 4;
/// How long a check waits for resumed jobs and timers.
const SETTLE: Duration = Duration::from_secs(60);

/// What the rounds started, to check after each restart.
#[derive(Debug, Default)]
pub(crate) struct Automation {
    /// Ids of the jobs started, and whether a check saw each end.
    jobs: Vec<(String, bool)>,
    /// Keys of the timers set.
    timers: Vec<String>,
    /// Jobs found still running after a restart (the kill came while
    /// they were), job steps and timer firings checked so far.
    pub(crate) resumed: u64,
    pub(crate) steps: u64,
    pub(crate) rang: u64,
}

impl Automation {
    /// Starts a job and sets timers in `demo`, before a round's kill.
    pub(crate) async fn start_round(
        &mut self,
        admin: &mut Connection,
        round: u32,
    ) -> anyhow::Result<()> {
        let body = json!({ "to": JOB_UNITS, "per_step": 1, "spin": 1_000_000 }).to_string();
        let started =
            admin.expect(&Call::post("/api/demo/alarm/counts", body), StatusCode::ACCEPTED).await?;
        let job: Value = serde_json::from_slice(&started)?;
        let id = job["id"].as_str().context("a started job has an id")?;
        self.jobs.push((id.to_owned(), false));
        for n in 0..TIMERS_PER_ROUND {
            let key = format!("crash/{round}/{n}");
            let body = json!({ "key": key, "in": 0 }).to_string();
            admin.expect(&Call::post("/api/demo/alarm/alarms", body), StatusCode::CREATED).await?;
            self.timers.push(key);
        }
        Ok(())
    }

    /// After a restart: every job ends, succeeded, with each unit counted
    /// once; every timer set has rung.
    pub(crate) async fn check(&mut self, admin: &mut Connection) -> anyhow::Result<()> {
        let deadline = Instant::now() + SETTLE;
        let (mut resumed, mut steps) = (0, 0);
        for (id, checked) in self.jobs.iter_mut().filter(|(_, checked)| !*checked) {
            let mut first = true;
            let job = loop {
                let reply = admin
                    .expect(&Call::get(format!("/api/demo/jobs/{id}")), StatusCode::OK)
                    .await?;
                let job: Value = serde_json::from_slice(&reply)?;
                if !matches!(job["state"].as_str(), Some("queued" | "running")) {
                    break job;
                }
                if std::mem::take(&mut first) {
                    resumed += 1;
                }
                if Instant::now() > deadline {
                    bail!("job {id} did not end within {SETTLE:?} of a restart: {job}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            if job["state"] != "succeeded" || job["done"] != JOB_UNITS {
                bail!("job {id} ended as {job}");
            }
            let reply = admin
                .expect(&Call::get(format!("/api/demo/alarm/counts/{id}")), StatusCode::OK)
                .await?;
            let units: Value = serde_json::from_slice(&reply)?;
            if units["units"] != JOB_UNITS {
                bail!("job {id} counted {} units of {JOB_UNITS}", units["units"]);
            }
            steps += job["steps"].as_u64().unwrap_or(0);
            *checked = true;
        }
        (self.resumed, self.steps) = (self.resumed + resumed, self.steps + steps);
        loop {
            let reply = admin.expect(&Call::get("/api/demo/alarm/rang"), StatusCode::OK).await?;
            let rang: serde_json::Map<String, Value> = serde_json::from_slice(&reply)?;
            let silent: Vec<&String> = self
                .timers
                .iter()
                .filter(|key| !rang.keys().any(|k| k.starts_with(&format!("{key}/"))))
                .collect();
            if silent.is_empty() {
                self.rang = self.timers.len() as u64;
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("timers {silent:?} were set and never rang");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
