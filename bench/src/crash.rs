//! `keel-bench crash`: kills a release kernel with SIGKILL while clients
//! post across tenants, restarts it on the same data directory, and checks
//! that it lost nothing it acknowledged.
//!
//! Each round restarts the kernel and checks every tenant:
//! - every entry acknowledged before the kill is there, unchanged;
//! - entry numbers run 1, 2, 3… with no gap, and every entry is one the
//!   clients sent (an entry sent but not acknowledged may or may not be
//!   there: the kill can come after its commit and before its answer);
//! - the trial balance (from running totals) equals the sum of the entries
//!   found, so no entry is half there, and balances;
//! - the audit chain verifies (every `--verify-audit-every` rounds).
//!
//! Then clients post until a kill -9 at a random moment. The last round
//! restarts, checks everything once more and stops the kernel cleanly.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use hyper::StatusCode;
use serde::Serialize;

mod automation;

use crate::kernel::{self, Kernel, Launch};
use crate::ledger::{self, ACCOUNTS};
use crate::load::{Call, Connection};
use crate::say;

/// Kills a release kernel while it posts, restarts it, and checks it lost
/// nothing acknowledged; see `cargo xtask crash --help`.
#[derive(Debug, Clone, Parser)]
#[command(name = "keel-bench crash")]
pub(crate) struct CrashArgs {
    /// The `keel` binary to start (a release build).
    #[arg(long)]
    keel: PathBuf,
    /// The bundled plugins (`finance.wasm`).
    #[arg(long)]
    plugins: PathBuf,
    /// Scratch directory: the data directory and the log (wiped first).
    #[arg(long)]
    work: PathBuf,
    /// The test plugins (`alarm.wasm`): with them, each round also starts
    /// a background job and sets timers, checked after each restart.
    #[arg(long)]
    test_plugins: Option<PathBuf>,
    /// Where to write the JSON report.
    #[arg(long)]
    out: PathBuf,
    /// Kills (and restarts) in all.
    #[arg(long, default_value_t = 20)]
    rounds: u32,
    /// Tenants posting.
    #[arg(long, default_value_t = 4)]
    tenants: usize,
    /// Clients posting to each tenant.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// The longest a round posts before its kill, in ms (each kill comes at
    /// a random moment up to this).
    #[arg(long, default_value_t = 400)]
    kill_within_ms: u64,
    /// Verify the audit chains every this many rounds (and after the last).
    #[arg(long, default_value_t = 1)]
    verify_audit_every: u32,
    /// Seed of the kill times, to repeat a run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// What a crash run found.
#[derive(Debug, Default, Serialize)]
struct CrashReport {
    rounds: u32,
    tenants: usize,
    /// Posts answered 201 before a kill.
    acknowledged: u64,
    /// Entries found after the restarts, acknowledged or not.
    entries: u64,
    /// Entries found that were sent but never acknowledged.
    committed_unanswered: u64,
    /// Audit chain verifications, every one passed.
    audit_verified: u64,
    /// Jobs started (one a round, killed halfway) and their steps, all
    /// committed once; timers set due at once, all rung.
    jobs: u64,
    jobs_resumed: u64,
    job_steps: u64,
    timers_rang: u64,
    /// The slowest restart after a kill, to the first answered request.
    slowest_restart_ms: f64,
    seconds: f64,
}

/// What the clients sent to one tenant, and what the checks found.
#[derive(Default)]
struct TenantBooks {
    name: String,
    /// Acknowledged entries: number -> the generator's entry number.
    acked: BTreeMap<u64, u64>,
    /// Entries found and checked, numbered 1 to this.
    found: u64,
    /// Generator entry numbers of every entry found.
    seen: HashSet<u64>,
    /// Net cents per account over the entries found.
    nets: [i64; ACCOUNTS.len()],
}

pub(crate) async fn run() -> anyhow::Result<()> {
    let args = CrashArgs::parse_from(std::env::args().skip(1));
    if args.work.exists() {
        std::fs::remove_dir_all(&args.work)
            .with_context(|| format!("cannot clear {}", args.work.display()))?;
    }
    let plugins = args.work.join("plugins");
    let mut packages = vec![args.plugins.join("finance.wasm")];
    packages.extend(args.test_plugins.iter().map(|dir| dir.join("alarm.wasm")));
    kernel::gather_plugins(&plugins, &packages)?;
    let mut automation = args.test_plugins.as_ref().map(|_| automation::Automation::default());
    let launch = Launch {
        binary: args.keel.clone(),
        data: args.work.join("data"),
        plugins,
        log: args.work.join("keel.log"),
        cores: None,
    };
    std::fs::create_dir_all(&launch.data)?;
    let started = Instant::now();
    let mut report =
        CrashReport { rounds: args.rounds, tenants: args.tenants, ..Default::default() };
    let mut tenants: Vec<TenantBooks> = (1..=args.tenants)
        .map(|n| TenantBooks { name: format!("c{n}"), ..TenantBooks::default() })
        .collect();
    let next = Arc::new(AtomicU64::new(0));
    let mut seed = args.seed;
    say(&format!(
        "==> crash: {} rounds of posting to {} tenants ({} clients each) killed with SIGKILL within {} ms, data in {}",
        args.rounds,
        args.tenants,
        args.clients,
        args.kill_within_ms,
        launch.data.display()
    ));
    for round in 0..=args.rounds {
        let kernel = Kernel::start(&launch, "/healthz", None).await?;
        report.slowest_restart_ms =
            report.slowest_restart_ms.max(kernel.ready_after.as_secs_f64() * 1000.0);
        let token = kernel::login(kernel.addr).await?;
        let mut admin = Connection::open(kernel.addr, Some(&token)).await?;
        if round == 0 {
            for tenant in &tenants {
                set_up(&mut admin, &tenant.name).await?;
            }
        }
        let audit = round == args.rounds || round % args.verify_audit_every.max(1) == 0;
        // First, while the restart is fresh: which jobs the kill interrupted.
        if let Some(automation) = &mut automation {
            automation.check(&mut admin).await.with_context(|| format!("after kill {round}"))?;
        }
        for tenant in &mut tenants {
            check(&mut admin, tenant, audit)
                .await
                .with_context(|| format!("after kill {round}, tenant {}", tenant.name))?;
        }
        report.audit_verified += if audit { tenants.len() as u64 } else { 0 };
        if let Some(automation) = &mut automation {
            if audit {
                let verdict = admin
                    .expect(&Call::get("/admin/tenants/demo/audit/verify"), StatusCode::OK)
                    .await?;
                let verdict: serde_json::Value = serde_json::from_slice(&verdict)?;
                if verdict["ok"] != true {
                    bail!("after kill {round}, the audit chain of demo does not verify: {verdict}");
                }
                report.audit_verified += 1;
            }
            if round < args.rounds {
                automation.start_round(&mut admin, round).await?;
            }
        }
        if round == args.rounds {
            kernel.stop().await?;
            break;
        }
        let kill_after =
            Duration::from_millis(1 + ledger::splitmix64(&mut seed) % args.kill_within_ms.max(1));
        let acked =
            post_until_killed(kernel, &token, &tenants, args.clients, &next, kill_after).await?;
        for (at, number, generated) in acked {
            if tenants[at].acked.insert(number, generated).is_some() {
                bail!("tenant {}: number {number} was acknowledged twice", tenants[at].name);
            }
        }
        let acked_so_far: usize = tenants.iter().map(|t| t.acked.len()).sum();
        say(&format!(
            "    kill {}/{} after {} ms: {} entries acknowledged so far, {} found before this round",
            round + 1,
            args.rounds,
            kill_after.as_millis(),
            acked_so_far,
            tenants.iter().map(|t| t.found).sum::<u64>()
        ));
    }
    report.acknowledged = tenants.iter().map(|t| t.acked.len() as u64).sum();
    report.entries = tenants.iter().map(|t| t.found).sum();
    report.committed_unanswered = report.entries - report.acknowledged;
    if let Some(automation) = &automation {
        (report.jobs, report.jobs_resumed, report.job_steps, report.timers_rang) =
            (u64::from(args.rounds), automation.resumed, automation.steps, automation.rang);
        say(&format!(
            "==> crash: {} jobs started before a kill, {} of them still running at it and resumed after the restart; {} steps, each committed once; {} timers set due at a kill, all rung",
            report.jobs, report.jobs_resumed, report.job_steps, report.timers_rang
        ));
    }
    report.seconds = started.elapsed().as_secs_f64();
    say(&format!(
        "==> crash: {} kills, {} entries acknowledged, none lost or changed; {} more committed but unanswered; numbers gapless, trial balances equal to their entries, {} audit chain verifications passed; slowest restart {:.0} ms; {:.0} s",
        report.rounds,
        report.acknowledged,
        report.committed_unanswered,
        report.audit_verified,
        report.slowest_restart_ms,
        report.seconds
    ));
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    say(&format!("report written to {}", args.out.display()));
    Ok(())
}

/// Creates `tenant` with finance and the starter chart.
async fn set_up(admin: &mut Connection, tenant: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({ "id": tenant, "name": tenant }).to_string();
    admin.expect(&Call::post("/admin/tenants", body), StatusCode::CREATED).await?;
    let enable = Call {
        method: hyper::Method::PUT,
        path: format!("/admin/tenants/{tenant}/plugins/finance"),
        body: None,
    };
    admin.expect(&enable, StatusCode::OK).await?;
    let chart = Call::post(
        format!("/api/{tenant}/finance/chart-templates/starter"),
        serde_json::json!({ "currency": "EUR" }).to_string(),
    );
    admin.expect(&chart, StatusCode::CREATED).await.map(drop)
}

/// Checks `tenant` after a restart: the new entries (and a sample of old
/// ones) against what was sent, the numbers, the trial balance, and the
/// audit chain if `audit`.
async fn check(
    admin: &mut Connection,
    tenant: &mut TenantBooks,
    audit: bool,
) -> anyhow::Result<()> {
    let name = tenant.name.clone();
    // New entries, in number order, until the first number not there.
    loop {
        let number = tenant.found + 1;
        let (status, body) =
            admin.send(&Call::get(format!("/api/{name}/finance/entries/{number}"))).await?;
        match status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => break,
            other => bail!("entry {number} answered {other}"),
        }
        let generated = sent_entry(&serde_json::from_slice(&body)?)
            .with_context(|| format!("entry {number}"))?;
        if !tenant.seen.insert(generated) {
            bail!("entry {number} is benchmark entry {generated} a second time");
        }
        if let Some(acked) = tenant.acked.get(&number)
            && *acked != generated
        {
            bail!("entry {number} was acknowledged as benchmark entry {acked}, is now {generated}");
        }
        for (account, cents) in ledger::entry(generated).lines {
            tenant.nets[account] += cents;
        }
        tenant.found = number;
    }
    if let Some((&number, _)) = tenant.acked.range(tenant.found + 1..).next() {
        bail!(
            "entry {number} was acknowledged but is not there (entries run to {}): lost, or after a gap",
            tenant.found
        );
    }
    // A sample of older acknowledged entries, unchanged since checked.
    let step = (tenant.acked.len() / 16).max(1);
    for (&number, &generated) in tenant.acked.iter().step_by(step) {
        let reply = admin
            .expect(&Call::get(format!("/api/{name}/finance/entries/{number}")), StatusCode::OK)
            .await?;
        if sent_entry(&serde_json::from_slice(&reply)?)? != generated {
            bail!("acknowledged entry {number} changed");
        }
    }
    let books = ledger::Books::default();
    books.add(&ACCOUNTS.iter().enumerate().map(|(i, _)| (i, tenant.nets[i])).collect::<Vec<_>>());
    let path = format!("/api/{name}/finance/reports/trial-balance");
    let report: serde_json::Value =
        serde_json::from_slice(&admin.expect(&Call::get(path), StatusCode::OK).await?)?;
    books.check(&report).context("the trial balance against the entries found")?;
    if report["totals"].as_array().is_some_and(|t| t.iter().any(|t| t["balanced"] != true)) {
        bail!("the trial balance does not balance: {report}");
    }
    if audit {
        let path = format!("/admin/tenants/{name}/audit/verify");
        let verdict: serde_json::Value =
            serde_json::from_slice(&admin.expect(&Call::get(path), StatusCode::OK).await?)?;
        if verdict["ok"] != true {
            bail!("the audit chain does not verify: {verdict}");
        }
    }
    Ok(())
}

/// The generator's number of an entry the clients sent, from its memo.
fn sent_entry(entry: &serde_json::Value) -> anyhow::Result<u64> {
    let memo = entry["memo"].as_str().context("an entry without a memo")?;
    let generated: u64 = memo
        .strip_prefix("benchmark entry ")
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("an entry the clients never sent: {memo:?}"))?;
    let expected: serde_json::Value = serde_json::from_str(&ledger::entry(generated).body)?;
    for field in ["date", "memo", "reference", "lines"] {
        if entry[field] != expected[field] {
            bail!(
                "{field} is {} where benchmark entry {generated} has {}",
                entry[field],
                expected[field]
            );
        }
    }
    Ok(generated)
}

/// Posts from every client until the kernel is killed after `kill_after`;
/// returns what was acknowledged: (tenant index, entry number, generator number).
async fn post_until_killed(
    kernel: Kernel,
    token: &str,
    tenants: &[TenantBooks],
    clients: usize,
    next: &Arc<AtomicU64>,
    kill_after: Duration,
) -> anyhow::Result<Vec<(usize, u64, u64)>> {
    let mut workers = Vec::new();
    for (at, tenant) in tenants.iter().enumerate() {
        for _ in 0..clients {
            let connection = Connection::open(kernel.addr, Some(token)).await?;
            workers.push(tokio::spawn(client(
                connection,
                at,
                tenant.name.clone(),
                Arc::clone(next),
            )));
        }
    }
    tokio::time::sleep(kill_after).await;
    kernel.kill().await?;
    let mut acked = Vec::new();
    for worker in workers {
        acked.extend(worker.await.context("a client panicked")??);
    }
    Ok(acked)
}

/// Posts entries to `tenant` until the connection fails.
async fn client(
    mut connection: Connection,
    at: usize,
    tenant: String,
    next: Arc<AtomicU64>,
) -> anyhow::Result<Vec<(usize, u64, u64)>> {
    let mut acked = Vec::new();
    loop {
        let generated = next.fetch_add(1, Ordering::Relaxed);
        let call =
            Call::post(format!("/api/{tenant}/finance/entries"), ledger::entry(generated).body);
        match connection.send(&call).await {
            Ok((StatusCode::CREATED, body)) => {
                let entry: serde_json::Value = serde_json::from_slice(&body)?;
                let number = entry["number"].as_u64().context("an answer without a number")?;
                acked.push((at, number, generated));
            }
            Ok((status, body)) => bail!(
                "a post answered {status} before the kill: {}",
                String::from_utf8_lossy(&body)
            ),
            // Killed: whatever this request became, it was not acknowledged.
            Err(_) => return Ok(acked),
        }
    }
}
