//! The automation scenarios, with the `alarm` test plugin enabled in
//! `demo`: `timers` sets 100,000 timers due at one moment, measures the
//! kernel's CPU while none is due, then how long after that moment the
//! last one fired; `job-steps` runs jobs of one-unit steps and reports
//! steps a second.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use hyper::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use crate::kernel::Kernel;
use crate::load::{self, Call, Connection, Plan};
use crate::say;

/// Timers set, all due at one moment.
const TIMERS: u64 = 100_000;
/// Timers one call sets (a call may set at most 64).
const TIMERS_PER_CALL: u64 = 50;
/// How long after the start of setting them the timers are due.
const TIMERS_DUE_AFTER: Duration = Duration::from_secs(40);
/// How long the kernel's idle CPU is measured before any timer is set.
const BASELINE: Duration = Duration::from_secs(10);
/// The longest the scenario waits for them to fire.
const FIRE_WITHIN: Duration = Duration::from_secs(300);
/// Steps in each job of the job-steps scenario, and how many jobs.
const JOB_STEPS: u64 = 2_000;
const JOB_RUNS: usize = 3;

#[derive(Debug, Serialize)]
pub(crate) struct Timers {
    pub(crate) timers: u64,
    /// Setting them, a call per 50.
    pub(crate) set: load::Stats,
    /// The kernel's CPU over a wait before any was set: the baseline.
    pub(crate) baseline_cpu_percent: f64,
    /// The kernel's CPU over a wait with every timer pending and none due.
    pub(crate) idle_seconds: f64,
    pub(crate) idle_cpu_percent: f64,
    /// From their due moment until none was pending.
    pub(crate) all_fired_after_ms: f64,
    pub(crate) fired_per_second: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct JobSteps {
    pub(crate) steps: u64,
    /// Each job's steps a second, from its 202 until it was seen succeeded.
    pub(crate) per_second: Vec<f64>,
    pub(crate) median_per_second: f64,
}

pub(crate) async fn timers(kernel: &Kernel, token: &str) -> anyhow::Result<Timers> {
    let baseline_cpu_percent = idle_cpu(kernel, BASELINE).await?;
    say(&format!("==> timers: the kernel idles at {baseline_cpu_percent:.2}% of a core with none"));
    let started = Instant::now();
    let due = unix_now() + TIMERS_DUE_AFTER.as_secs();
    say(&format!("==> timers: setting {TIMERS} timers, all due {TIMERS_DUE_AFTER:?} from now"));
    let calls = TIMERS / TIMERS_PER_CALL;
    let make = Arc::new(move |n: u64| {
        let body = json!({ "prefix": format!("bench/{n}"), "n": TIMERS_PER_CALL, "at": due });
        Call::post("/api/demo/alarm/alarms/many", body.to_string())
    });
    let plan = Plan { concurrency: 8, requests: calls, duration: TIMERS_DUE_AFTER };
    let set = load::drive(kernel.addr, token, plan, StatusCode::CREATED, make).await?;
    if set.requests != calls {
        bail!("set {} of {calls} batches of timers before they were due", set.requests);
    }
    // Idle: every timer pending, none due, until a second before.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_until = started + TIMERS_DUE_AFTER - Duration::from_secs(1);
    let idle = idle_until.saturating_duration_since(Instant::now());
    let idle_cpu_percent = idle_cpu(kernel, idle).await?;
    let idle_seconds = idle.as_secs_f64();
    say(&format!(
        "    set at {:.0} calls/s; idle with {TIMERS} pending: {idle_cpu_percent:.2}% of a core over {idle_seconds:.1} s",
        set.per_second
    ));
    // Firing: from the due moment until none is pending.
    let mut admin = Connection::open(kernel.addr, Some(token)).await?;
    let due_at = UNIX_EPOCH + Duration::from_secs(due);
    tokio::time::sleep(due_at.duration_since(wall_clock()).unwrap_or_default()).await;
    loop {
        let pending =
            admin.expect(&Call::get("/admin/tenants/demo/timers?limit=1"), StatusCode::OK).await?;
        let pending: Value = serde_json::from_slice(&pending)?;
        if pending["timers"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        if wall_clock().duration_since(due_at).unwrap_or_default() > FIRE_WITHIN {
            bail!("timers still pending {FIRE_WITHIN:?} after their time");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = wall_clock().duration_since(due_at).unwrap_or_default().as_secs_f64();
    let dead =
        admin.expect(&Call::get("/admin/tenants/demo/dead-timers?limit=1"), StatusCode::OK).await?;
    if serde_json::from_slice::<Value>(&dead)?["timers"].as_array().is_none_or(|d| !d.is_empty()) {
        bail!("some timers died instead of firing");
    }
    let fired_per_second = TIMERS as f64 / after.max(f64::MIN_POSITIVE);
    say(&format!("    all {TIMERS} fired {:.0} ms after their time", after * 1000.0));
    Ok(Timers {
        timers: TIMERS,
        set,
        baseline_cpu_percent,
        idle_seconds,
        idle_cpu_percent,
        all_fired_after_ms: after * 1000.0,
        fired_per_second,
    })
}

pub(crate) async fn job_steps(addr: SocketAddr, token: &str) -> anyhow::Result<JobSteps> {
    let mut connection = Connection::open(addr, Some(token)).await?;
    let mut per_second = Vec::new();
    for run in 1..=JOB_RUNS {
        let body = json!({ "to": JOB_STEPS, "per_step": 1 }).to_string();
        let started_at = Instant::now();
        let started = connection
            .expect(&Call::post("/api/demo/alarm/counts", body), StatusCode::ACCEPTED)
            .await?;
        let id = serde_json::from_slice::<Value>(&started)?["id"]
            .as_str()
            .context("a started job has an id")?
            .to_owned();
        loop {
            let job = connection
                .expect(&Call::get(format!("/api/demo/jobs/{id}")), StatusCode::OK)
                .await?;
            let job: Value = serde_json::from_slice(&job)?;
            match job["state"].as_str() {
                Some("succeeded") => break,
                Some("queued" | "running") => tokio::time::sleep(Duration::from_millis(10)).await,
                _ => bail!("job {id} ended as {job}"),
            }
        }
        let rate = JOB_STEPS as f64 / started_at.elapsed().as_secs_f64();
        say(&format!("==> job-steps {run}/{JOB_RUNS}: {JOB_STEPS} steps at {rate:.0} a second"));
        per_second.push(rate);
    }
    let mut sorted = per_second.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(JobSteps { steps: JOB_STEPS, median_per_second: sorted[sorted.len() / 2], per_second })
}

/// The kernel's CPU over `wait`, as a share of one core in percent.
async fn idle_cpu(kernel: &Kernel, wait: Duration) -> anyhow::Result<f64> {
    let from = Instant::now();
    let before = kernel.cpu_seconds().context("reading the kernel's CPU time")?;
    tokio::time::sleep(wait).await;
    let after = kernel.cpu_seconds().context("reading the kernel's CPU time")?;
    Ok((after - before) / from.elapsed().as_secs_f64() * 100.0)
}

fn unix_now() -> u64 {
    wall_clock().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[expect(
    clippy::disallowed_methods,
    reason = "the kernel fires timers by its wall clock, this machine's"
)]
fn wall_clock() -> SystemTime {
    SystemTime::now()
}
