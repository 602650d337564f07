//! `keel job`, `keel timer` and `keel schedule`: following and steering a
//! tenant's background work through the HTTP APIs.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use anyhow::bail;
use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use crate::client::{Connection, show, show_line};

/// How often `keel job watch` reads the job.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// Width of the progress bar, in characters.
const BAR_WIDTH: usize = 30;

#[derive(Debug, Subcommand)]
pub(crate) enum JobCommand {
    /// List a tenant's jobs, oldest first.
    List {
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
        /// Only those queued or running.
        #[arg(long)]
        open: bool,
    },
    /// Show one job.
    Get {
        id: String,
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
    /// Follow a job with a progress bar until it ends; fails unless it
    /// succeeds.
    Watch {
        id: String,
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
    /// Cancel a job between steps.
    Cancel {
        id: String,
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TimerCommand {
    /// List a tenant's pending timers (or, with --dead, those whose
    /// attempts ran out).
    List {
        tenant: String,
        #[arg(long)]
        dead: bool,
    },
    /// Set a dead timer going again.
    Retry { tenant: String, plugin: String, key: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ScheduleCommand {
    /// List a tenant's schedules with their next and last runs.
    List { tenant: String },
    /// Run a schedule now, for its next slot.
    Run { tenant: String, plugin: String, id: String },
}

pub(crate) async fn job(connection: &Connection, command: JobCommand) -> anyhow::Result<()> {
    match command {
        JobCommand::List { tenant, open } => {
            let path = format!("/admin/tenants/{tenant}/jobs?limit=1000&open={open}");
            show(&connection.send(Method::GET, &path, None).await?)
        }
        JobCommand::Get { id, tenant } => {
            show(&connection.send(Method::GET, &format!("/api/{tenant}/jobs/{id}"), None).await?)
        }
        JobCommand::Cancel { id, tenant } => {
            let path = format!("/api/{tenant}/jobs/{id}/cancel");
            show(&connection.send(Method::POST, &path, None).await?)
        }
        JobCommand::Watch { id, tenant } => watch(connection, &tenant, &id).await,
    }
}

/// Draws the job's progress on standard error until it ends.
async fn watch(connection: &Connection, tenant: &str, id: &str) -> anyhow::Result<()> {
    let path = format!("/api/{tenant}/jobs/{id}");
    let terminal = std::io::stderr().is_terminal();
    let mut last = String::new();
    loop {
        let job = connection.send(Method::GET, &path, None).await?;
        let line = progress_line(&job);
        if line != last {
            let mut err = std::io::stderr().lock();
            if terminal {
                write!(err, "\r\x1b[2K{line}")?;
            } else {
                writeln!(err, "{line}")?;
            }
            err.flush()?;
            last = line;
        }
        match job["state"].as_str() {
            Some("queued" | "running") => tokio::time::sleep(WATCH_EVERY).await,
            state => {
                if terminal {
                    writeln!(std::io::stderr())?;
                }
                show(&job)?;
                if state != Some("succeeded") {
                    bail!(
                        "job {id} {}: {}",
                        state.unwrap_or("ended"),
                        job["error"].as_str().unwrap_or("no reason given")
                    );
                }
                return Ok(());
            }
        }
    }
}

/// `[#######-------]  45%  450/1000  running  job …`: what one look at the
/// job shows.
fn progress_line(job: &Value) -> String {
    let done = job["done"].as_u64().unwrap_or(0);
    let state = job["state"].as_str().unwrap_or("?");
    let what = format!(
        "{} of {}",
        job["operation"].as_str().unwrap_or("?"),
        job["plugin"].as_str().unwrap_or("?")
    );
    match job["total"].as_u64().filter(|total| *total > 0) {
        Some(total) => {
            let (done_wide, total_wide) = (u128::from(done.min(total)), u128::from(total));
            let filled = usize::try_from(done_wide * BAR_WIDTH as u128 / total_wide).unwrap_or(0);
            let percent = done_wide * 100 / total_wide;
            format!(
                "[{}{}] {percent:>3}%  {done}/{total}  {state}  {what}",
                "#".repeat(filled),
                "-".repeat(BAR_WIDTH - filled)
            )
        }
        None => format!("[{}] {done} done  {state}  {what}", "?".repeat(BAR_WIDTH)),
    }
}

pub(crate) async fn timer(connection: &Connection, command: TimerCommand) -> anyhow::Result<()> {
    match command {
        TimerCommand::List { tenant, dead } => {
            let kind = if dead { "dead-timers" } else { "timers" };
            let path = format!("/admin/tenants/{tenant}/{kind}?limit=1000");
            show(&connection.send(Method::GET, &path, None).await?)
        }
        TimerCommand::Retry { tenant, plugin, key } => {
            let path = format!("/admin/tenants/{tenant}/dead-timers/{plugin}/{key}");
            show(&connection.send(Method::POST, &path, None).await?)
        }
    }
}

pub(crate) async fn schedule(
    connection: &Connection,
    command: ScheduleCommand,
) -> anyhow::Result<()> {
    match command {
        ScheduleCommand::List { tenant } => {
            let path = format!("/admin/tenants/{tenant}/schedules?limit=1000");
            let page = connection.send(Method::GET, &path, None).await?;
            for schedule in page["schedules"].as_array().into_iter().flatten() {
                show_line(&format!(
                    "{}/{}  {}  next {}  ({})",
                    schedule["plugin"].as_str().unwrap_or("?"),
                    schedule["id"].as_str().unwrap_or("?"),
                    schedule["description"].as_str().unwrap_or("?"),
                    schedule["next_run_local"].as_str().unwrap_or("?"),
                    schedule["operation"].as_str().unwrap_or("?"),
                ));
            }
            Ok(())
        }
        ScheduleCommand::Run { tenant, plugin, id } => {
            let path = format!("/admin/tenants/{tenant}/schedules/{plugin}/{id}/run");
            show(&connection.send(Method::POST, &path, None).await?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_share_done() {
        let job = serde_json::json!({ "done": 45, "total": 100, "state": "running", "operation": "count", "plugin": "alarm" });
        let line = progress_line(&job);
        assert!(line.starts_with(&format!("[{}{}]", "#".repeat(13), "-".repeat(17))), "{line}");
        assert!(line.contains(" 45%  45/100  running  count of alarm"), "{line}");
        let unknown = serde_json::json!({ "done": 7, "total": null, "state": "queued" });
        assert!(progress_line(&unknown).contains("7 done  queued"));
    }
}
