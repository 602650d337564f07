//! The service-desk scenario: tenant `desk` with hr and itsm, 100,000 open
//! incidents raised over HTTP, each with two running SLA clocks on a 24/7
//! calendar (priority 1 due within a minute, priority 2 within an hour,
//! the rest within a week). It measures opening the overdue queue (its
//! first page, one reader) once the first priority 1 tickets are past
//! their deadline, while the others' timers fire, and
//! how long after its deadline a ticket raised last is marked breached:
//! each ticket has one kernel timer, so a tick reads the tickets due, never
//! all of them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::load::{self, Call, Connection, Plan, Stats};
use crate::tenants::{create_tenant, load_chart};
use crate::{Args, say};

const TENANT: &str = "desk";
const TICKETS: u64 = 100_000;
/// Reads of the overdue queue's first page, and how far apart: over the
/// ten seconds in which priority 1 tickets breach.
const OVERDUE_READS: usize = 200;
const READ_EVERY: Duration = Duration::from_millis(50);
/// Its page size.
const PAGE: u32 = 100;
/// Priority 1's time to resolve, and how long the probe may take past it.
const P1_MINUTES: i64 = 1;
const BREACH_WITHIN: Duration = Duration::from_secs(120);

#[derive(Debug, Serialize)]
pub(crate) struct Desk {
    pub(crate) tickets: u64,
    /// Raising them, one call each, at the post scenario's concurrency.
    pub(crate) raise: Stats,
    /// Opening the overdue queue, earliest first, `PAGE` at a time.
    pub(crate) overdue: Stats,
    /// Tickets in the queue's first page when it was last read.
    pub(crate) overdue_first_page: usize,
    /// Tickets overdue in all, counted through every page, then.
    pub(crate) overdue_total: u64,
    /// From a ticket's deadline until it read as breached.
    pub(crate) breach_lag_ms: f64,
}

fn put(path: String, body: &Value) -> Call {
    Call { method: Method::PUT, path, body: Some(body.to_string().into()) }
}

/// Ticket `n`: impact and urgency cycle, so that a ninth are priority 1
/// and two ninths priority 2 (the ServiceNow matrix).
fn raise(n: u64) -> Call {
    let body = json!({
        "kind": "incident",
        "title": format!("Incident {n}"),
        "impact": n % 3 + 1,
        "urgency": n / 3 % 3 + 1,
    });
    Call::post(format!("/api/{TENANT}/itsm/tickets"), body.to_string())
}

pub(crate) async fn desk(args: &Args, addr: SocketAddr, token: &str) -> anyhow::Result<Desk> {
    say(&format!(
        "==> service desk: {TICKETS} open tickets with running clocks in tenant {TENANT}"
    ));
    let mut admin = Connection::open(addr, Some(token)).await?;
    create_tenant(&mut admin, TENANT, &["finance", "hr", "itsm"]).await?;
    load_chart(&mut admin, TENANT).await?;
    let itsm = format!("/api/{TENANT}/itsm");
    for (id, priorities, minutes) in
        [("P1", json!([1]), P1_MINUTES), ("P2", json!([2]), 60), ("P9", json!([]), 7 * 24 * 60)]
    {
        let policy = json!({
            "id": id, "priorities": priorities, "own_minutes": minutes,
            "resolve_minutes": minutes, "calendar": "ALWAYS",
        });
        admin.expect(&put(format!("{itsm}/sla-policies/{id}"), &policy), StatusCode::OK).await?;
    }

    let plan = Plan {
        concurrency: args.concurrency,
        requests: TICKETS,
        duration: Duration::from_secs(900),
    };
    let raising = Instant::now();
    let raised = load::drive(addr, token, plan, StatusCode::CREATED, Arc::new(raise)).await?;
    if raised.requests != TICKETS {
        bail!("raised {} tickets of {TICKETS} in 900 s", raised.requests);
    }
    say(&format!(
        "    raised {TICKETS} at {:.0} a second (median {:.2} ms)",
        raised.per_second, raised.median_ms
    ));

    // The probe: one more priority 1 ticket, raised last (on a connection
    // of its own: the kernel closes one idle for 15 s).
    let mut admin = Connection::open(addr, Some(token)).await?;
    let probe = admin.expect_json(&raise(0), StatusCode::CREATED).await?;
    let id = probe["id"].as_str().context("a raised ticket has an id")?.to_owned();
    let due = probe["sla"]["clocks"][1]["due_at"].as_i64().context("the probe has a deadline")?;

    // The overdue queue, once the first priority 1 tickets are past their
    // deadline, while the others' timers fire around it.
    let first_due = raising + Duration::from_secs(60 * P1_MINUTES.unsigned_abs() + 2);
    tokio::time::sleep_until(first_due.into()).await;
    let mut admin = Connection::open(addr, Some(token)).await?;
    let overdue_path = format!("{itsm}/overdue?limit={PAGE}");
    let mut latencies = Vec::with_capacity(OVERDUE_READS);
    let started = Instant::now();
    let mut first_page = 0;
    for _ in 0..OVERDUE_READS {
        tokio::time::sleep(READ_EVERY).await;
        let call = Call::get(overdue_path.clone());
        let sent = Instant::now();
        let page = admin.expect_json(&call, StatusCode::OK).await?;
        latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
        first_page = page["tickets"].as_array().map_or(0, Vec::len);
    }
    let overdue = Stats::of(1, latencies, started.elapsed());
    let mut total = 0u64;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{itsm}/overdue?limit=500");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = admin.expect_json(&Call::get(path), StatusCode::OK).await?;
        total += page["tickets"].as_array().map_or(0, |t| t.len() as u64);
        match page["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    say(&format!(
        "    overdue queue: median {:.2} ms, p99 {:.2} ms ({first_page} a page, {total} overdue)",
        overdue.median_ms, overdue.p99_ms
    ));

    // The probe's breach, marked by its timer.
    let breached_at = loop {
        let ticket =
            admin.expect_json(&Call::get(format!("{itsm}/tickets/{id}")), StatusCode::OK).await?;
        if ticket["sla"]["clocks"][1]["breached"] == true {
            break unix_ms();
        }
        if unix_ms() > (due * 1000).saturating_add(BREACH_WITHIN.as_millis() as i64) {
            bail!("ticket {id} was not marked breached within {BREACH_WITHIN:?} of {due}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let breach_lag_ms = (breached_at - due * 1000).max(0) as f64;
    say(&format!("    {id} marked breached {breach_lag_ms:.0} ms after its deadline"));
    Ok(Desk {
        tickets: TICKETS,
        raise: raised,
        overdue,
        overdue_first_page: first_page,
        overdue_total: total,
        breach_lag_ms,
    })
}

#[expect(
    clippy::disallowed_methods,
    reason = "the kernel's deadlines are on the wall clock, which the bench reads to compare"
)]
fn unix_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
