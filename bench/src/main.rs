//! `keel-bench`: starts a release kernel on loopback with a fresh data
//! directory and the bundled plugins, drives it over HTTP, and reports
//! throughput and latency as a table and a JSON file.
//!
//! Run it through `cargo xtask bench`, which builds everything first and
//! runs the criterion micro-benchmark whose result the report includes.
//!
//! - `kernel`: the process under test.
//! - `load`: the load generator.
//! - `ledger`: the entries posted and the trial balance they must give.
//! - `scenarios`: read, post, trial balance, startup.
//! - `tenants`: a noisy neighbour, and posting spread over tenants on a
//!   kernel pinned to a number of cores.
//! - `automation`: timers (100,000 set, idle CPU, time until all fire) and
//!   job steps a second, with the `alarm` test plugin.
//! - `exports`: the trial balance's ledger exported as CSV (streamed) and
//!   as a workbook (gathered), with the kernel's memory meanwhile.
//! - `payroll`: a payroll run for 10,000 employees, calculated as a job
//!   and posted to the ledger.
//! - `desk`: 100,000 open tickets with running SLA clocks, the overdue
//!   queue, and a breach marked by its timer.
//! - `tryton`: the same postings against Tryton, for `--compare tryton`.
//! - `report`: the JSON report and the table.
//! - `crash`: `keel-bench crash`, the kill -9 test (`cargo xtask crash`).

mod automation;
mod crash;
mod desk;
mod exports;
mod kernel;
mod ledger;
mod load;
mod payroll;
mod report;
mod scenarios;
mod tenants;
mod tryton;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;

/// Drives a release kernel and reports; see `cargo xtask bench --help`.
#[derive(Debug, Clone, Parser)]
#[command(name = "keel-bench")]
pub(crate) struct Args {
    /// The `keel` binary to start (a release build).
    #[arg(long)]
    pub(crate) keel: PathBuf,
    /// The bundled plugins (`finance.wasm`).
    #[arg(long)]
    pub(crate) plugins: PathBuf,
    /// The example and test plugins, for the startup scenario.
    #[arg(long)]
    pub(crate) test_plugins: PathBuf,
    /// Scratch directory: data directories and logs (wiped first).
    #[arg(long)]
    pub(crate) work: PathBuf,
    /// Where to write the JSON report.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Which scenarios to run (default: all).
    #[arg(long, value_delimiter = ',', value_enum)]
    pub(crate) only: Vec<Scenario>,
    /// Seconds each throughput run lasts at most.
    #[arg(long, default_value_t = 10)]
    pub(crate) seconds: u64,
    /// Connections for the read scenario.
    #[arg(long, default_value_t = 8)]
    pub(crate) read_concurrency: usize,
    /// Connections for the concurrent post run and for filling the ledger.
    #[arg(long, default_value_t = 64)]
    pub(crate) concurrency: usize,
    /// Connections tenant `demo` posts on in the noisy-neighbour scenario.
    #[arg(long, default_value_t = 4)]
    pub(crate) noisy_concurrency: usize,
    /// Calls the noisy tenant runs at once, over and over.
    #[arg(long, default_value_t = 3)]
    pub(crate) neighbour_calls: usize,
    /// Core counts to pin the kernel to, one run each, for post-tenants
    /// (default: 1 and all on a machine of fewer than 4 cores, else 2 and all).
    #[arg(long, value_delimiter = ',')]
    pub(crate) cores: Vec<usize>,
    /// Journal lines posted before the trial balance is measured.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) lines: u64,
    /// Measure against another ERP in the same run.
    #[arg(long, value_enum)]
    pub(crate) compare: Option<Compare>,
    /// Entries Tryton posts (the first ten warm it up, untimed).
    #[arg(long, default_value_t = 310)]
    pub(crate) tryton_entries: u64,
    /// The virtualenv Tryton is installed into; kept between runs.
    #[arg(long, default_value = "target/bench/tryton-venv")]
    pub(crate) tryton_venv: PathBuf,
    /// Criterion's estimates for the instantiate micro-benchmark.
    #[arg(long)]
    pub(crate) instantiate_estimates: Option<PathBuf>,
    /// The command line to record in the report.
    #[arg(long, default_value = "cargo xtask bench")]
    pub(crate) command: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Scenario {
    Read,
    Post,
    NoisyNeighbour,
    PostTenants,
    TrialBalance,
    Timers,
    JobSteps,
    Payroll,
    Desk,
    Startup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Compare {
    Tryton,
}

impl Args {
    pub(crate) fn runs(&self, scenario: Scenario) -> bool {
        self.only.is_empty() || self.only.contains(&scenario)
    }

    /// The core counts post-tenants pins the kernel to, fewest first.
    pub(crate) fn core_counts(&self) -> anyhow::Result<Vec<usize>> {
        let all = std::thread::available_parallelism().map_or(1, usize::from);
        let mut counts = if self.cores.is_empty() {
            vec![if all < 4 { 1 } else { 2 }, all]
        } else {
            self.cores.clone()
        };
        counts.sort_unstable();
        counts.dedup();
        if let Some(n) = counts.iter().find(|n| **n == 0 || **n > all) {
            anyhow::bail!("cannot pin the kernel to {n} cores on a machine of {all}");
        }
        Ok(counts)
    }
}

#[expect(clippy::print_stdout, reason = "the benchmark reports to the developer")]
pub(crate) fn say(line: &str) {
    println!("{line}");
}

fn main() -> anyhow::Result<()> {
    // One thread: the load generator takes at most one core from the kernel.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if std::env::args().nth(1).as_deref() == Some("crash") {
        return runtime.block_on(crash::run());
    }
    let args = Args::parse();
    let report = runtime.block_on(scenarios::run(&args))?;
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    say("");
    say(&report.table());
    say(&format!("report written to {}", args.out.display()));
    Ok(())
}
