//! Exports of the large ledger the trial-balance scenario posted: every
//! account's general ledger and the journal as CSV, which stream page by
//! page, and one account's ledger as a workbook, which is gathered whole;
//! each with the kernel's resident memory sampled while it runs, to show
//! what an export costs the kernel beyond what it held before.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use hyper::StatusCode;
use serde::Serialize;

use crate::ledger::ACCOUNTS;
use crate::load::{Call, Connection};
use crate::say;
use crate::scenarios::TENANT;

/// One export, as measured.
#[derive(Debug, Serialize)]
pub(crate) struct Export {
    pub(crate) what: String,
    /// Data rows (CSV lines less the heading); none for a workbook.
    pub(crate) rows: Option<u64>,
    pub(crate) bytes: u64,
    pub(crate) seconds: f64,
    /// The kernel's resident memory just before, and the most it reached
    /// while the export ran, in MiB.
    pub(crate) rss_before_mib: f64,
    pub(crate) rss_peak_mib: f64,
}

/// Runs the exports against the kernel `pid` at `addr`.
pub(crate) async fn run(addr: SocketAddr, token: &str, pid: u32) -> anyhow::Result<Vec<Export>> {
    let finance = format!("/api/{TENANT}/finance");
    let ledgers: Vec<String> = ACCOUNTS
        .iter()
        .map(|code| format!("{finance}/accounts/{code}/ledger?format=csv"))
        .collect();
    let mut exports = vec![
        measure(addr, token, pid, "general ledger of every account, CSV", &ledgers, true).await?,
        measure(
            addr,
            token,
            pid,
            "journal entries, CSV",
            &[format!("{finance}/entries?format=csv")],
            true,
        )
        .await?,
    ];
    let workbook = format!("{finance}/accounts/{}/ledger?format=xlsx", ACCOUNTS[0]);
    match measure(addr, token, pid, "one account's ledger, XLSX", &[workbook], false).await {
        Ok(export) => exports.push(export),
        // An account of more than 100,000 lines is refused as a workbook.
        Err(err) => say(&format!("    the workbook was not measured: {err:#}")),
    }
    for export in &exports {
        say(&format!(
            "    export, {}: {} in {:.1} s, {:.1} MiB; kernel RSS {:.0} MiB before, {:.0} MiB at most",
            export.what,
            export.rows.map_or_else(|| "a workbook".to_owned(), |rows| format!("{rows} rows")),
            export.seconds,
            export.bytes as f64 / (1024.0 * 1024.0),
            export.rss_before_mib,
            export.rss_peak_mib,
        ));
    }
    Ok(exports)
}

/// Downloads each of `paths` in turn as one export, sampling the kernel's
/// memory meanwhile.
async fn measure(
    addr: SocketAddr,
    token: &str,
    pid: u32,
    what: &str,
    paths: &[String],
    csv: bool,
) -> anyhow::Result<Export> {
    let before = rss_mib(pid).unwrap_or(0.0);
    let sampler = Sampler::start(pid);
    let started = Instant::now();
    let mut connection = Connection::open(addr, Some(token)).await?;
    let (mut bytes, mut rows) = (0, 0);
    for path in paths {
        let (status, n_bytes, n_lines) = connection.download(&Call::get(path)).await?;
        if status != StatusCode::OK {
            bail!("{path} answered {status}");
        }
        bytes += n_bytes;
        rows += n_lines.saturating_sub(1);
    }
    let seconds = started.elapsed().as_secs_f64();
    let peak = sampler.stop().max(before);
    Ok(Export {
        what: what.to_owned(),
        rows: csv.then_some(rows),
        bytes,
        seconds,
        rss_before_mib: before,
        rss_peak_mib: peak,
    })
}

/// A thread reading a process's resident memory every few milliseconds.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<f64>,
}

impl Sampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut peak = 0.0f64;
            while !stopped.load(Ordering::Relaxed) {
                peak = peak.max(rss_mib(pid).unwrap_or(0.0));
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        });
        Self { stop, thread }
    }

    /// The most the process held while sampled, in MiB.
    fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or(0.0)
    }
}

/// A process's resident memory now, in MiB (Linux only).
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
