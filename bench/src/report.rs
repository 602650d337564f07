//! The report: the machine, every measurement, and the table printed and
//! pasted into the README.

use serde::Serialize;

use crate::load::Stats;

/// What a run measured, written as JSON so runs can be compared.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Report {
    pub(crate) command: String,
    pub(crate) unix_time: u64,
    pub(crate) keel_commit: Option<String>,
    pub(crate) machine: Machine,
    pub(crate) read: Option<Read>,
    pub(crate) post: Vec<Stats>,
    pub(crate) noisy: Option<crate::tenants::Noisy>,
    /// Posting spread over tenants, once per core count the kernel was pinned to.
    pub(crate) spread: Vec<crate::tenants::Spread>,
    pub(crate) trial_balance: Option<TrialBalance>,
    /// Exports of the trial balance's ledger, with the kernel's memory.
    pub(crate) exports: Vec<crate::exports::Export>,
    pub(crate) timers: Option<crate::automation::Timers>,
    pub(crate) job_steps: Option<crate::automation::JobSteps>,
    pub(crate) payroll: Option<crate::payroll::Payroll>,
    pub(crate) desk: Option<crate::desk::Desk>,
    pub(crate) startup: Option<Startup>,
    pub(crate) instantiate: Option<Instantiate>,
    pub(crate) tryton: Option<Tryton>,
    /// The kernel's peak resident memory over the load scenarios.
    pub(crate) peak_memory_mib: Option<f64>,
    /// Each target of the issue, with what was measured.
    pub(crate) targets: Vec<Target>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Read {
    pub(crate) wasm: Stats,
    pub(crate) native: Stats,
    /// Wasm throughput over native throughput.
    pub(crate) ratio: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct TrialBalance {
    pub(crate) lines: u64,
    pub(crate) entries: u64,
    /// Posting the lines, at the post scenario's high concurrency.
    pub(crate) fill: Stats,
    /// The trial balance now, from running totals.
    pub(crate) now: Stats,
    /// The trial balance as of 30 June, from monthly and daily totals.
    pub(crate) as_of: Stats,
    /// Profit and loss for the first half-year against the second quarter.
    pub(crate) profit_and_loss: Stats,
    /// The balance sheet at 30 June against 31 March.
    pub(crate) balance_sheet: Stats,
}

#[derive(Debug, Serialize)]
pub(crate) struct Startup {
    pub(crate) packages: Vec<String>,
    /// Each start with a warm native-code cache, in ms.
    pub(crate) warm_ms: Vec<f64>,
    pub(crate) warm_median_ms: f64,
    /// One start after deleting the native-code cache, in ms.
    pub(crate) cold_ms: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Instantiate {
    /// Criterion's median estimate for a fresh store plus instantiation, in µs.
    pub(crate) median_us: f64,
    pub(crate) source: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Tryton {
    pub(crate) version: String,
    pub(crate) entries: u64,
    pub(crate) seconds: f64,
    pub(crate) per_second: f64,
    pub(crate) median_ms: f64,
    pub(crate) p99_ms: f64,
    /// Keel's entries per second at concurrency 1 over Tryton's.
    pub(crate) keel_ratio: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Target {
    pub(crate) scenario: String,
    pub(crate) target: String,
    pub(crate) measured: String,
    pub(crate) met: bool,
}

/// Facts about the machine that shape the numbers.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) memory_gib: f64,
    pub(crate) os: String,
    pub(crate) data_filesystem: String,
}

impl Machine {
    /// Reads what Linux tells; unknown facts stay empty.
    pub(crate) fn read(data_dir: &std::path::Path) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| {
                line.strip_prefix("model name").and_then(|rest| rest.split(':').nth(1))
            })
            .map(|name| name.trim().to_owned())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0.0);
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            os: format!("Linux {}", release.trim()),
            data_filesystem: filesystem_of(data_dir),
        }
    }
}

/// The filesystem type of the mount holding `path`, from /proc/mounts.
fn filesystem_of(path: &std::path::Path) -> String {
    let Ok(path) = path.canonicalize() else { return String::new() };
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_device, mount, kind) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(mount).then(|| (mount.len(), kind.to_owned()))
        })
        .max()
        .map(|(_, kind)| kind)
        .unwrap_or_default()
}

impl Report {
    /// The Markdown tables: load scenarios, then targets.
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        out.push_str("| scenario | concurrency | requests | per second | median ms | p99 ms |\n");
        out.push_str("| --- | ---: | ---: | ---: | ---: | ---: |\n");
        let mut row = |name: &str, stats: &Stats| {
            out.push_str(&format!(
                "| {name} | {} | {} | {:.0} | {:.3} | {:.3} |\n",
                stats.concurrency, stats.requests, stats.per_second, stats.median_ms, stats.p99_ms
            ));
        };
        if let Some(read) = &self.read {
            row("read: entry through the Wasm plugin", &read.wasm);
            row("read: same entry, native handler", &read.native);
        }
        for stats in &self.post {
            row("post: balanced entry, 2-4 lines, durable", stats);
        }
        if let Some(noisy) = &self.noisy {
            row("post, tenant quiet alone", &noisy.baseline);
            for neighbour in [&noisy.looping, &noisy.heavy] {
                row(
                    &format!(
                        "post, tenant quiet beside {} in tenant noisy ({} at once)",
                        neighbour.calls, neighbour.concurrency
                    ),
                    &neighbour.tenant,
                );
            }
        }
        for spread in &self.spread {
            let cores =
                spread.cores.map_or_else(|| "all cores".to_owned(), |n| format!("{n} cores"));
            row(
                &format!("post spread over {} tenants, kernel pinned to {cores}", spread.tenants),
                &spread.stats,
            );
        }
        if let Some(tb) = &self.trial_balance {
            row(&format!("post: filling to {} lines", tb.lines), &tb.fill);
            row(&format!("trial balance over {} lines", tb.lines), &tb.now);
            row(&format!("trial balance as of 30 June, {} lines", tb.lines), &tb.as_of);
            row(
                &format!("profit and loss, half-year with comparative, {} lines", tb.lines),
                &tb.profit_and_loss,
            );
            row(
                &format!("balance sheet, 30 June with comparative, {} lines", tb.lines),
                &tb.balance_sheet,
            );
        }
        if let Some(tryton) = &self.tryton {
            out.push_str(&format!(
                "| Tryton {}: same entries, in-process, SQLite | 1 | {} | {:.0} | {:.3} | {:.3} |\n",
                tryton.version, tryton.entries, tryton.per_second, tryton.median_ms, tryton.p99_ms
            ));
        }
        if !self.exports.is_empty() {
            out.push_str(
                "\n| export | rows | MiB | seconds | kernel RSS before (MiB) | kernel RSS peak (MiB) |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
            );
            for export in &self.exports {
                out.push_str(&format!(
                    "| {} | {} | {:.1} | {:.1} | {:.0} | {:.0} |\n",
                    export.what,
                    export.rows.map_or_else(|| "-".to_owned(), |rows| rows.to_string()),
                    export.bytes as f64 / (1024.0 * 1024.0),
                    export.seconds,
                    export.rss_before_mib,
                    export.rss_peak_mib,
                ));
            }
        }
        out.push_str("\n| scenario | target | measured | met |\n| --- | --- | --- | --- |\n");
        for target in &self.targets {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                target.scenario,
                target.target,
                target.measured,
                if target.met { "yes" } else { "**no**" }
            ));
        }
        let machine = &self.machine;
        out.push_str(&format!(
            "\nMachine: {}, {} cores, {} GiB, {}, data on {}.",
            machine.cpu, machine.cores, machine.memory_gib, machine.os, machine.data_filesystem
        ));
        if let Some(peak) = self.peak_memory_mib {
            out.push_str(&format!(" Kernel peak RSS {peak:.0} MiB."));
        }
        out.push('\n');
        out
    }
}
