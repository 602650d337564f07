//! The scenarios, in order: read, post, trial balance, startup; then the
//! instantiate figure from criterion and, if asked, Tryton.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::StatusCode;

use crate::kernel::{self, Kernel, Launch};
use crate::ledger::{self, Books};
use crate::load::{self, Call, Connection, Plan, Stats};
use crate::report::{self, Report, Target};
use crate::{Args, Compare, Scenario, say};

pub(crate) const TENANT: &str = "demo";
/// Packages installed for the startup scenario (eight; `alarm` also serves
/// the automation scenarios, `hr` the payroll scenario, `hr` and `itsm`
/// the service desk).
const PACKAGES: [(&str, &str); 8] = [
    ("plugins", "finance.wasm"),
    ("plugins", "hr.wasm"),
    ("plugins", "itsm.wasm"),
    ("test-plugins", "hello.wasm"),
    ("test-plugins", "notes-v1.wasm"),
    ("test-plugins", "notes-v2.wasm"),
    ("test-plugins", "rogue.wasm"),
    ("test-plugins", "alarm.wasm"),
];
/// Rounds of the read comparison, alternating Wasm and native.
const READ_ROUNDS: usize = 3;
/// Trial balances read after filling.
const TRIAL_BALANCES: u64 = 200;
/// Starts measured with a warm cache.
const STARTS: usize = 5;
/// A bound on requests when the run is bounded by time.
const UNBOUNDED: u64 = u64::MAX;

/// The entries posted so far (their numbers feed the generator) and what
/// they add up to.
struct Journal {
    books: Books,
    next: AtomicU64,
}

pub(crate) async fn run(args: &Args) -> anyhow::Result<Report> {
    let work = &args.work;
    if work.exists() {
        std::fs::remove_dir_all(work)
            .with_context(|| format!("cannot clear {}", work.display()))?;
    }
    let plugins = work.join("plugins");
    let packages: Vec<PathBuf> = PACKAGES
        .iter()
        .map(|(dir, name)| match *dir {
            "plugins" => args.plugins.join(name),
            _ => args.test_plugins.join(name),
        })
        .collect();
    kernel::gather_plugins(&plugins, &packages)?;
    let launch = Launch {
        binary: args.keel.clone(),
        data: work.join("data"),
        plugins,
        log: work.join("keel.log"),
        cores: None,
    };
    std::fs::create_dir_all(&launch.data)?;
    let mut report = Report {
        command: args.command.clone(),
        unix_time: unix_now(),
        keel_commit: git_commit(),
        machine: report::Machine::read(&launch.data),
        ..Report::default()
    };

    say(&format!(
        "==> starting {} on a fresh data directory {}",
        args.keel.display(),
        launch.data.display()
    ));
    let kernel = Kernel::start(&launch, "/healthz", None).await?;
    let token = kernel::login(kernel.addr).await?;
    let journal = Journal { books: Books::default(), next: AtomicU64::new(0) };
    setup_books(kernel.addr, &token, &journal).await?;

    if args.runs(Scenario::Read) {
        report.read = Some(read(args, kernel.addr, &token).await?);
    }
    if args.runs(Scenario::Post) {
        for concurrency in [1, args.concurrency] {
            say(&format!(
                "==> post: balanced entries at concurrency {concurrency} for {} s",
                args.seconds
            ));
            let plan = Plan { concurrency, requests: UNBOUNDED, duration: secs(args.seconds) };
            let stats = post(kernel.addr, &token, plan, &journal).await?;
            say(&format!(
                "    {:.0} entries/s, median {:.2} ms, p99 {:.2} ms",
                stats.per_second, stats.median_ms, stats.p99_ms
            ));
            report.post.push(stats);
        }
    }
    if args.runs(Scenario::NoisyNeighbour) {
        report.noisy = Some(crate::tenants::noisy_neighbour(args, kernel.addr, &token).await?);
    }
    if args.runs(Scenario::Timers) {
        report.timers = Some(crate::automation::timers(&kernel, &token).await?);
    }
    if args.runs(Scenario::JobSteps) {
        report.job_steps = Some(crate::automation::job_steps(kernel.addr, &token).await?);
    }
    if args.runs(Scenario::Payroll) {
        report.payroll = Some(crate::payroll::payroll(args, kernel.addr, &token).await?);
    }
    if args.runs(Scenario::Desk) {
        report.desk = Some(crate::desk::desk(args, kernel.addr, &token).await?);
    }
    if args.runs(Scenario::TrialBalance) {
        report.trial_balance = Some(trial_balance(args, kernel.addr, &token, &journal).await?);
        if let Some(pid) = kernel.pid() {
            report.exports = crate::exports::run(kernel.addr, &token, pid).await?;
        }
    }
    report.peak_memory_mib = kernel.peak_memory_mib();
    kernel.stop().await?;

    if args.runs(Scenario::PostTenants) {
        for cores in args.core_counts()? {
            report.spread.push(crate::tenants::post_spread(args, &launch, Some(cores)).await?);
        }
    }

    if args.runs(Scenario::Startup) {
        report.startup = Some(startup(&launch, &token).await?);
    }
    if let Some(path) = &args.instantiate_estimates {
        report.instantiate = Some(instantiate(path)?);
    }
    if args.compare == Some(Compare::Tryton) {
        let keel_serial = report.post.first().map(|stats| stats.per_second);
        report.tryton = Some(crate::tryton::run(args, keel_serial).await?);
    }
    report.targets = targets(&report);
    Ok(report)
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

/// Loads the starter chart and posts entry 1, which the read scenario reads.
async fn setup_books(addr: SocketAddr, token: &str, journal: &Journal) -> anyhow::Result<()> {
    let mut connection = Connection::open(addr, Some(token)).await?;
    let chart = Call::post(
        format!("/api/{TENANT}/finance/chart-templates/starter"),
        serde_json::json!({ "currency": "EUR" }).to_string(),
    );
    let (status, body) = connection.send(&chart).await?;
    if !status.is_success() {
        bail!("loading the starter chart answered {status}: {}", String::from_utf8_lossy(&body));
    }
    let plan = Plan { concurrency: 1, requests: 1, duration: secs(10) };
    post(addr, token, plan, journal).await?;
    Ok(())
}

/// Posts generated entries as `plan` says, adding each to the books.
async fn post(
    addr: SocketAddr,
    token: &str,
    plan: Plan,
    journal: &Journal,
) -> anyhow::Result<Stats> {
    // Workers call `make` for each request they send, so what it made is
    // exactly what was posted once the run succeeds.
    let offset = journal.next.load(Ordering::Relaxed);
    let posted = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = Arc::clone(&posted);
    let make = Arc::new(move |n: u64| {
        let generated = ledger::entry(offset + n);
        record.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(generated.lines);
        Call::post(format!("/api/{TENANT}/finance/entries"), generated.body)
    });
    let stats = load::drive(addr, token, plan, StatusCode::CREATED, make).await?;
    let posted =
        std::mem::take(&mut *posted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    journal.next.fetch_add(posted.len() as u64, Ordering::Relaxed);
    for lines in &posted {
        journal.books.add(lines);
    }
    Ok(stats)
}

/// The same entry through the Wasm plugin and through the native handler,
/// alternating, keeping each side's best round.
async fn read(args: &Args, addr: SocketAddr, token: &str) -> anyhow::Result<report::Read> {
    let wasm_path = format!("/api/{TENANT}/finance/entries/1");
    let native_path = format!("/bench/native/{TENANT}/finance/entries/1");
    let mut connection = Connection::open(addr, Some(token)).await?;
    let through_wasm = connection.expect(&Call::get(&wasm_path), StatusCode::OK).await?;
    let native = connection.expect(&Call::get(&native_path), StatusCode::OK).await?;
    let as_json = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes);
    if as_json(&through_wasm)? != as_json(&native)? {
        bail!(
            "the native handler answers differently from the plugin; the comparison would be unfair"
        );
    }
    let plan = Plan {
        concurrency: args.read_concurrency,
        requests: UNBOUNDED,
        duration: secs(args.seconds),
    };
    let warm_up = Plan { duration: secs(1), ..plan };
    let mut best: [Option<Stats>; 2] = [None, None];
    for round in 1..=READ_ROUNDS {
        for (side, path) in [&wasm_path, &native_path].into_iter().enumerate() {
            let make = {
                let path = path.clone();
                Arc::new(move |_| Call::get(path.clone()))
            };
            load::drive(addr, token, warm_up, StatusCode::OK, make.clone()).await?;
            let stats = load::drive(addr, token, plan, StatusCode::OK, make).await?;
            say(&format!(
                "==> read round {round}/{READ_ROUNDS}, {}: {:.0} requests/s, median {:.3} ms, p99 {:.3} ms",
                ["wasm", "native"][side],
                stats.per_second,
                stats.median_ms,
                stats.p99_ms
            ));
            if best[side].as_ref().is_none_or(|b| stats.per_second > b.per_second) {
                best[side] = Some(stats);
            }
        }
    }
    let [Some(wasm), Some(native)] = best else { bail!("no read rounds ran") };
    let ratio = wasm.per_second / native.per_second;
    Ok(report::Read { wasm, native, ratio })
}

/// Posts until the journal holds `args.lines` lines, then reads the trial
/// balance, now and as of a date, checking it against what was posted.
async fn trial_balance(
    args: &Args,
    addr: SocketAddr,
    token: &str,
    journal: &Journal,
) -> anyhow::Result<report::TrialBalance> {
    say(&format!("==> trial balance: posting until the journal holds {} lines", args.lines));
    let mut fills = Vec::new();
    let started = Instant::now();
    while journal.books.lines() < args.lines {
        // About three lines an entry; post in slices to show progress.
        let missing = (args.lines - journal.books.lines()).div_ceil(3).max(1);
        let plan = Plan {
            concurrency: args.concurrency,
            requests: missing.min(25_000),
            duration: secs(3600),
        };
        let stats = post(addr, token, plan, journal).await?;
        say(&format!(
            "    {} of {} lines, {:.0} entries/s, {:.0} s so far",
            journal.books.lines(),
            args.lines,
            stats.per_second,
            started.elapsed().as_secs_f64()
        ));
        fills.push(stats);
    }
    let fill = merge(args.concurrency, &fills, started.elapsed());
    let mut connection = Connection::open(addr, Some(token)).await?;
    let now_path = format!("/api/{TENANT}/finance/reports/trial-balance");
    let answer = connection.expect(&Call::get(&now_path), StatusCode::OK).await?;
    journal.books.check(&serde_json::from_slice(&answer)?)?;
    say("    the trial balance matches every posted line");
    let plan = Plan { concurrency: 1, requests: TRIAL_BALANCES, duration: secs(600) };
    let now = load::drive(
        addr,
        token,
        plan,
        StatusCode::OK,
        Arc::new(move |_| Call::get(now_path.clone())),
    )
    .await?;
    let as_of_path = format!("/api/{TENANT}/finance/reports/trial-balance?as_of=2026-06-30");
    let as_of = load::drive(
        addr,
        token,
        plan,
        StatusCode::OK,
        Arc::new(move |_| Call::get(as_of_path.clone())),
    )
    .await?;
    say(&format!(
        "    trial balance: median {:.3} ms now, {:.3} ms as of 30 June",
        now.median_ms, as_of.median_ms
    ));
    let finance = format!("/api/{TENANT}/finance/reports");
    let pl_path = format!(
        "{finance}/profit-and-loss?from=2026-01-01&to=2026-06-30&compare_from=2026-04-01&compare_to=2026-06-30"
    );
    let sheet_path = format!("{finance}/balance-sheet?as_of=2026-06-30&compare_as_of=2026-03-31");
    let sheet: serde_json::Value =
        serde_json::from_slice(&connection.expect(&Call::get(&sheet_path), StatusCode::OK).await?)?;
    anyhow::ensure!(sheet["balanced"] == true, "the balance sheet does not balance: {sheet}");
    let statement = |path: String| {
        load::drive(addr, token, plan, StatusCode::OK, Arc::new(move |_| Call::get(path.clone())))
    };
    let profit_and_loss = statement(pl_path).await?;
    let balance_sheet = statement(sheet_path).await?;
    say(&format!(
        "    statements: median {:.3} ms profit and loss, {:.3} ms balance sheet, each with a comparative column",
        profit_and_loss.median_ms, balance_sheet.median_ms
    ));
    Ok(report::TrialBalance {
        lines: journal.books.lines(),
        entries: journal.books.entries(),
        fill,
        now,
        as_of,
        profit_and_loss,
        balance_sheet,
    })
}

/// Several runs' throughput over their whole wall time; latencies are
/// each run's, so the slowest median and p99 stand for all.
fn merge(concurrency: usize, runs: &[Stats], elapsed: Duration) -> Stats {
    let requests: u64 = runs.iter().map(|s| s.requests).sum();
    let worst = |pick: fn(&Stats) -> f64| runs.iter().map(pick).fold(0.0, f64::max);
    Stats {
        concurrency,
        requests,
        seconds: elapsed.as_secs_f64(),
        per_second: requests as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
        median_ms: worst(|s| s.median_ms),
        p99_ms: worst(|s| s.p99_ms),
        max_ms: worst(|s| s.max_ms),
        failures: runs.iter().map(|s| s.failures).sum(),
    }
}

/// Restarts the kernel on the same data directory, six packages
/// installed, timing process start to the first answered plugin call.
async fn startup(launch: &Launch, token: &str) -> anyhow::Result<report::Startup> {
    let probe = format!("/api/{TENANT}/finance/entries/1");
    let mut warm_ms = Vec::new();
    for start in 1..=STARTS {
        let kernel = Kernel::start(launch, &probe, Some(token)).await?;
        let ms = kernel.ready_after.as_secs_f64() * 1000.0;
        say(&format!(
            "==> startup {start}/{STARTS}, warm cache: first plugin call answered after {ms:.1} ms"
        ));
        warm_ms.push(ms);
        kernel.stop().await?;
    }
    let cache = launch.data.join("cache");
    std::fs::remove_dir_all(&cache).with_context(|| format!("cannot clear {}", cache.display()))?;
    let kernel = Kernel::start(launch, &probe, Some(token)).await?;
    let cold_ms = kernel.ready_after.as_secs_f64() * 1000.0;
    say(&format!("==> startup, cold cache (compiling every package): {cold_ms:.1} ms"));
    kernel.stop().await?;
    let mut sorted = warm_ms.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(report::Startup {
        packages: PACKAGES.iter().map(|(_, name)| (*name).to_owned()).collect(),
        warm_median_ms: sorted[sorted.len() / 2],
        warm_ms,
        cold_ms,
    })
}

/// Criterion's median estimate, from its `estimates.json` (nanoseconds).
fn instantiate(path: &Path) -> anyhow::Result<report::Instantiate> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read criterion's estimates at {}", path.display()))?;
    let estimates: serde_json::Value = serde_json::from_str(&text)?;
    let ns = estimates["median"]["point_estimate"]
        .as_f64()
        .with_context(|| format!("no median in {}", path.display()))?;
    Ok(report::Instantiate { median_us: ns / 1000.0, source: path.display().to_string() })
}

/// The targets against what this run measured.
fn targets(report: &Report) -> Vec<Target> {
    let mut targets = Vec::new();
    let mut target = |scenario: &str, target: &str, measured: String, met: bool| {
        targets.push(Target {
            scenario: scenario.to_owned(),
            target: target.to_owned(),
            measured,
            met,
        });
    };
    if let Some(read) = &report.read {
        target(
            "read",
            "Wasm at least 0.5x native throughput",
            format!(
                "{:.2}x ({:.0} vs {:.0} requests/s)",
                read.ratio, read.wasm.per_second, read.native.per_second
            ),
            read.ratio >= 0.5,
        );
    }
    if let Some(instantiate) = &report.instantiate {
        target(
            "instantiate",
            "under 10 µs per call",
            format!("{:.2} µs (criterion median)", instantiate.median_us),
            instantiate.median_us < 10.0,
        );
    }
    if let Some(stats) = report.post.iter().find(|stats| stats.concurrency == 1) {
        target(
            "post",
            "at concurrency 1: at most 0.5 ms median per durable post",
            format!("{:.2} ms median", stats.median_ms),
            stats.median_ms <= 0.5,
        );
    }
    if let Some(stats) = report.post.iter().find(|stats| stats.concurrency > 1) {
        target(
            "post",
            &format!("at concurrency {}: at least 5,000 entries/s, durable", stats.concurrency),
            format!("{:.0} entries/s", stats.per_second),
            stats.per_second >= 5000.0,
        );
    }
    if let Some(noisy) = &report.noisy {
        for neighbour in [&noisy.looping, &noisy.heavy] {
            target(
                "noisy-neighbour",
                &format!(
                    "beside {}: tenant quiet's p99 within +25% of alone, none failed",
                    neighbour.calls
                ),
                format!(
                    "p99 {:.2} ms vs {:.2} ms alone ({:.2}x), {} failed",
                    neighbour.tenant.p99_ms,
                    noisy.baseline.p99_ms,
                    neighbour.p99_ratio,
                    neighbour.tenant.failures
                ),
                neighbour.p99_ratio <= 1.25 && neighbour.tenant.failures == 0,
            );
        }
    }
    if let (Some(fewest), Some(most)) = (report.spread.first(), report.spread.last())
        && report.spread.len() > 1
    {
        let (from, to) = (fewest.cores.unwrap_or(0), most.cores.unwrap_or(0));
        let ratio = most.stats.per_second / fewest.stats.per_second.max(f64::MIN_POSITIVE);
        let measured = format!(
            "{ratio:.2}x from {from} to {to} cores ({:.0} vs {:.0} entries/s)",
            most.stats.per_second, fewest.stats.per_second
        );
        if from == 2 && to >= 16 {
            target(
                "post-tenants",
                "all cores at least 5x the kernel on 2 cores",
                measured,
                ratio >= 5.0,
            );
        } else {
            target(
                "post-tenants",
                "all cores at least 5x 2 cores (needs a 16-core machine; this one shows fewer)",
                measured,
                false,
            );
        }
    }
    if let Some(timers) = &report.timers {
        target(
            "timers",
            &format!(
                "{} pending timers cost no CPU while none is due (within 0.5% of a core of none)",
                timers.timers
            ),
            format!(
                "{:.2}% of a core over {:.1} s idle (with none: {:.2}%); all fired {:.0} ms after their time ({:.0} a second)",
                timers.idle_cpu_percent,
                timers.idle_seconds,
                timers.baseline_cpu_percent,
                timers.all_fired_after_ms,
                timers.fired_per_second
            ),
            timers.idle_cpu_percent < timers.baseline_cpu_percent + 0.5,
        );
    }
    if let Some(payroll) = &report.payroll {
        target(
            "payroll",
            &format!(
                "a run for {} employees calculates and posts in under 60 s",
                payroll.employees
            ),
            format!(
                "{:.1} s: calculated in {:.1} s ({} steps), posted in {:.0} ms",
                payroll.seconds(),
                payroll.calculate_seconds,
                payroll.steps,
                payroll.post_ms
            ),
            payroll.seconds() < 60.0,
        );
    }
    if let Some(desk) = &report.desk {
        target(
            "service-desk",
            &format!(
                "with {} open tickets on running clocks, the overdue queue opens in under 50 ms",
                desk.tickets
            ),
            format!(
                "median {:.2} ms, p99 {:.2} ms ({} a page of {} overdue), while breaches fire; \
                 raised {:.0} a second; a breach marked {:.0} ms after its deadline",
                desk.overdue.median_ms,
                desk.overdue.p99_ms,
                desk.overdue_first_page,
                desk.overdue_total,
                desk.raise.per_second,
                desk.breach_lag_ms
            ),
            desk.overdue.p99_ms < 50.0,
        );
    }
    if let Some(jobs) = &report.job_steps {
        target(
            "job-steps",
            "a job's steps, each a durable transaction of its own (no target: a baseline)",
            format!(
                "{:.0} steps a second (median of {} jobs of {} steps)",
                jobs.median_per_second,
                jobs.per_second.len(),
                jobs.steps
            ),
            true,
        );
    }
    if let Some(tb) = &report.trial_balance {
        let worst = tb.now.median_ms.max(tb.as_of.median_ms);
        target(
            "trial-balance",
            &format!("over {} lines: under 50 ms", tb.lines),
            format!(
                "{:.2} ms now, {:.2} ms as of a date (medians)",
                tb.now.median_ms, tb.as_of.median_ms
            ),
            worst < 50.0 && tb.lines >= 1_000_000,
        );
        let worst = tb.profit_and_loss.median_ms.max(tb.balance_sheet.median_ms);
        target(
            "statements",
            &format!("over {} lines: under 50 ms", tb.lines),
            format!(
                "{:.2} ms profit and loss, {:.2} ms balance sheet, with comparatives (medians)",
                tb.profit_and_loss.median_ms, tb.balance_sheet.median_ms
            ),
            worst < 50.0 && tb.lines >= 1_000_000,
        );
    }
    if let Some(startup) = &report.startup {
        target(
            "startup",
            &format!("{} packages, warm cache: under 500 ms", startup.packages.len()),
            format!("{:.0} ms (median of {STARTS})", startup.warm_median_ms),
            startup.warm_median_ms < 500.0,
        );
    }
    if let Some(tryton) = &report.tryton {
        target(
            "compare tryton",
            "Keel posts at least 50x faster",
            format!("{:.0}x ({:.1} entries/s in Tryton)", tryton.keel_ratio, tryton.per_second),
            tryton.keel_ratio >= 50.0,
        );
    }
    targets
}

#[expect(clippy::disallowed_methods, reason = "the report's timestamp is the wall clock's")]
fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn git_commit() -> Option<String> {
    let output =
        std::process::Command::new("git").args(["rev-parse", "--short", "HEAD"]).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
