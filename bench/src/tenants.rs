//! Scenarios of several tenants: a noisy neighbour (does one tenant's
//! looping or heavy module slow another's posts?) and posting spread over
//! tenants on a kernel pinned to a number of cores (do writes scale?).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::StatusCode;
use serde::Serialize;

use crate::kernel::{self, Kernel, Launch};
use crate::ledger::{self, Books};
use crate::load::{self, Background, Call, Connection, Failures, Plan, Stats};
use crate::{Args, say};

/// The tenant whose module misbehaves.
const NOISY: &str = "noisy";
/// The tenant posting beside it.
const QUIET: &str = "quiet";
/// Tenants the posting is spread over.
const TENANTS: usize = 8;
/// Records and bytes a heavy call writes.
const HEAVY_RECORDS: u32 = 2000;
const HEAVY_BYTES: u32 = 200;

/// Tenant B's posts, alone and beside tenant A's misbehaving module.
#[derive(Debug, Serialize)]
pub(crate) struct Noisy {
    /// B's posts with A idle.
    pub(crate) baseline: Stats,
    /// B's posts while A's write calls loop until their deadline.
    pub(crate) looping: Neighbour,
    /// B's posts while A's write calls each write many records.
    pub(crate) heavy: Neighbour,
}

/// One phase with the neighbour busy.
#[derive(Debug, Serialize)]
pub(crate) struct Neighbour {
    /// What the neighbour ran, at once, over and over.
    pub(crate) calls: String,
    pub(crate) concurrency: usize,
    /// The neighbour's calls answered during the phase.
    pub(crate) answered: u64,
    /// Tenant B's posts meanwhile.
    pub(crate) tenant: Stats,
    /// B's p99 over its baseline p99.
    pub(crate) p99_ratio: f64,
}

/// Posting spread over tenants on a kernel pinned to `cores` cores.
#[derive(Debug, Serialize)]
pub(crate) struct Spread {
    /// None: not pinned (every core of the machine).
    pub(crate) cores: Option<usize>,
    pub(crate) tenants: usize,
    pub(crate) stats: Stats,
}

/// A's misbehaving calls run beside B's posts, in three phases on the
/// running kernel: B (tenant `quiet`) alone, beside A's (tenant `noisy`)
/// looping writes, beside A's heavy writes. B's books are checked after.
pub(crate) async fn noisy_neighbour(
    args: &Args,
    addr: SocketAddr,
    token: &str,
) -> anyhow::Result<Noisy> {
    let mut admin = Connection::open(addr, Some(token)).await?;
    create_tenant(&mut admin, NOISY, &["rogue"]).await?;
    create_tenant(&mut admin, QUIET, &["finance"]).await?;
    load_chart(&mut admin, QUIET).await?;
    let books = Arc::new(Books::default());
    let posted = Arc::new(AtomicU64::new(0));
    let post = async |plan: Plan| -> anyhow::Result<Stats> {
        let (books, posted) = (Arc::clone(&books), Arc::clone(&posted));
        let make = Arc::new(move |_: u64| {
            let generated = ledger::entry(posted.fetch_add(1, Ordering::Relaxed));
            books.add(&generated.lines);
            Call::post(format!("/api/{QUIET}/finance/entries"), generated.body)
        });
        load::drive_with(addr, token, plan, StatusCode::CREATED, make, Failures::Count).await
    };
    let plan = Plan::timed(args.noisy_concurrency, Duration::from_secs(args.seconds));
    say(&format!(
        "==> noisy neighbour: tenant {QUIET} posts at concurrency {} for {} s, alone",
        plan.concurrency, args.seconds
    ));
    let baseline = post(plan).await?;
    report_phase(&baseline);

    let phase = async |calls: String, path: String| -> anyhow::Result<Neighbour> {
        say(&format!(
            "==> noisy neighbour: tenant {NOISY} runs {calls} ({} at once) while {QUIET} posts",
            args.neighbour_calls
        ));
        let call = Arc::new(move || Call::post(path.clone(), "{}".to_owned()));
        let neighbour = Background::start(addr, token, args.neighbour_calls, call).await?;
        // Let the neighbour's calls get going first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let tenant = post(plan).await?;
        let answered = neighbour.stop();
        report_phase(&tenant);
        wait_for_lane(addr, token).await?;
        let p99_ratio = tenant.p99_ms / baseline.p99_ms.max(f64::MIN_POSITIVE);
        Ok(Neighbour { calls, concurrency: args.neighbour_calls, answered, tenant, p99_ratio })
    };
    let looping = phase(
        "write calls that loop until their deadline".to_owned(),
        format!("/api/{NOISY}/rogue/loop"),
    )
    .await?;
    let heavy = phase(
        format!("write calls of {HEAVY_RECORDS} records of {HEAVY_BYTES} bytes each"),
        format!("/api/{NOISY}/rogue/heavy?records={HEAVY_RECORDS}&bytes={HEAVY_BYTES}"),
    )
    .await?;
    let failures = baseline.failures + looping.tenant.failures + heavy.tenant.failures;
    if failures == 0 {
        let path = format!("/api/{QUIET}/finance/reports/trial-balance");
        let answer = admin.expect(&Call::get(path), StatusCode::OK).await?;
        books.check(&serde_json::from_slice(&answer)?).context("tenant quiet's trial balance")?;
        say("    tenant quiet's trial balance matches every entry posted");
    }
    Ok(Noisy { baseline, looping, heavy })
}

fn report_phase(stats: &Stats) {
    say(&format!(
        "    {:.0} entries/s, median {:.2} ms, p99 {:.2} ms, {} failed",
        stats.per_second, stats.median_ms, stats.p99_ms, stats.failures
    ));
}

/// Waits until the noisy tenant's lane serves a write again: its calls
/// given up on have stopped.
async fn wait_for_lane(addr: SocketAddr, token: &str) -> anyhow::Result<()> {
    let mut admin = Connection::open(addr, Some(token)).await?;
    let started = Instant::now();
    let probe = Call::post(format!("/api/{NOISY}/rogue/notes/probe/author"), "{}".to_owned());
    loop {
        if let Ok((StatusCode::CREATED, _)) = admin.send(&probe).await {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the noisy tenant's calls did not stop within 60 s of being given up");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates `tenant` with `plugins` enabled.
pub(crate) async fn create_tenant(
    admin: &mut Connection,
    tenant: &str,
    plugins: &[&str],
) -> anyhow::Result<()> {
    let body = serde_json::json!({ "id": tenant, "name": tenant }).to_string();
    admin.expect(&Call::post("/admin/tenants", body), StatusCode::CREATED).await?;
    for plugin in plugins {
        let enable = Call {
            method: hyper::Method::PUT,
            path: format!("/admin/tenants/{tenant}/plugins/{plugin}"),
            body: None,
        };
        admin.expect(&enable, StatusCode::OK).await?;
    }
    Ok(())
}

/// Loads the starter chart (EUR) into `tenant`'s finance.
pub(crate) async fn load_chart(admin: &mut Connection, tenant: &str) -> anyhow::Result<()> {
    let chart = Call::post(
        format!("/api/{tenant}/finance/chart-templates/starter"),
        serde_json::json!({ "currency": "EUR" }).to_string(),
    );
    admin.expect(&chart, StatusCode::CREATED).await.map(drop)
}

/// Starts a kernel pinned to `cores` cores on a fresh data directory, sets
/// up [`TENANTS`] tenants with finance and the starter chart, posts spread
/// over them at the post scenario's concurrency, checks every tenant's
/// trial balance against what it was sent, and stops the kernel.
pub(crate) async fn post_spread(
    args: &Args,
    launch: &Launch,
    cores: Option<usize>,
) -> anyhow::Result<Spread> {
    let work = launch.data.with_file_name(match cores {
        Some(n) => format!("spread-{n}-cores"),
        None => "spread".to_owned(),
    });
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("cannot clear {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;
    let launch = Launch { data: work, cores, ..launch.clone() };
    let kernel = Kernel::start(&launch, "/healthz", None).await?;
    let token = kernel::login(kernel.addr).await?;
    let mut admin = Connection::open(kernel.addr, Some(&token)).await?;
    let tenants: Vec<String> = (1..=TENANTS).map(|n| format!("t{n}")).collect();
    for tenant in &tenants {
        create_tenant(&mut admin, tenant, &["finance"]).await?;
        load_chart(&mut admin, tenant).await?;
    }
    let pinned = cores.map_or_else(|| "all cores".to_owned(), |n| format!("{n} cores"));
    say(&format!(
        "==> post spread over {TENANTS} tenants, concurrency {} in all, kernel on {pinned}, {} s",
        args.concurrency, args.seconds
    ));
    let books: Arc<Vec<Books>> = Arc::new(tenants.iter().map(|_| Books::default()).collect());
    let make = {
        let (books, tenants) = (Arc::clone(&books), tenants.clone());
        Arc::new(move |n: u64| {
            let at = usize::try_from(n % TENANTS as u64).unwrap_or(0);
            let generated = ledger::entry(n);
            books[at].add(&generated.lines);
            Call::post(format!("/api/{}/finance/entries", tenants[at]), generated.body)
        })
    };
    let plan = Plan::timed(args.concurrency, Duration::from_secs(args.seconds));
    let stats = load::drive(kernel.addr, &token, plan, StatusCode::CREATED, make).await?;
    say(&format!(
        "    {:.0} entries/s, median {:.2} ms, p99 {:.2} ms",
        stats.per_second, stats.median_ms, stats.p99_ms
    ));
    for (tenant, books) in tenants.iter().zip(books.iter()) {
        let path = format!("/api/{tenant}/finance/reports/trial-balance");
        let answer = admin.expect(&Call::get(path), StatusCode::OK).await?;
        books
            .check(&serde_json::from_slice(&answer)?)
            .with_context(|| format!("tenant {tenant}'s trial balance"))?;
    }
    say("    every tenant's trial balance matches what it was sent");
    kernel.stop().await?;
    Ok(Spread { cores, tenants: TENANTS, stats })
}
