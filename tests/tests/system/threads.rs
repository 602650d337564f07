//! This process's threads, as Linux's `/proc` shows them: their CPU time
//! and priority, and a wait until a named thread is at work, so that tests
//! wait for a call to be running rather than for a guessed time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub(crate) struct Thread {
    /// User and system CPU time, in ticks of 10 ms.
    pub(crate) cpu_ticks: u64,
    pub(crate) nice: i64,
}

/// The threads called `name`, by thread id.
pub(crate) fn named(name: &str) -> HashMap<u32, Thread> {
    let mut found = HashMap::new();
    for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the name, which ends at the last ')': state is
        // field 3, utime 14, stime 15, nice 19.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields[n - 3].parse::<i64>().unwrap();
        let cpu_ticks = u64::try_from(field(14) + field(15)).unwrap();
        found.insert(tid, Thread { cpu_ticks, nice: field(19) });
    }
    found
}

/// Waits until a thread called `name` (cut to Linux's 15 bytes) uses CPU,
/// such as a tenant's executor running a looping call
/// (`keel-exec-<tenant>`) or its event deliveries (`keel-deliver-<tenant>`).
/// Elsewhere than Linux, waits a moment instead.
pub(crate) async fn busy(name: &str) {
    if !cfg!(target_os = "linux") {
        return tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let name: String = name.chars().take(15).collect();
    let started = Instant::now();
    let mut before = named(&name);
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = named(&name);
        let used = |tid: &u32, thread: &Thread| {
            thread.cpu_ticks > before.get(tid).map_or(0, |b| b.cpu_ticks)
        };
        if now.iter().any(|(tid, thread)| used(tid, thread)) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no thread {name} at work in 10 s");
        before = now;
    }
}
