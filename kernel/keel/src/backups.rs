//! `keel backup` (a client of `/admin/backups`: back up a serving kernel)
//! and `keel restore` (offline: a backup into a new data directory,
//! checked file by file, count by count and chain by chain).

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::client::{Body, Connection, show, show_line};

/// How often `keel backup create` looks at the backup's progress.
const LOOK_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, clap::Subcommand)]
pub(crate) enum BackupCommand {
    /// Back up the kernel now, while it serves, into its backups directory
    /// (`keel serve --backups-dir`); prints the backup's manifest.
    Create {
        /// Also back up the kernel's keys, sealed with the passphrase in
        /// this file (its first line; 12 to 1024 characters). Keep the
        /// passphrase apart from the backups: it is all a restore needs.
        #[arg(long, value_name = "FILE")]
        keys_passphrase_file: Option<std::path::PathBuf>,
        /// Also back up the packages' compiled code, so that a kernel
        /// restored with `keel restore --compiled-code` starts without
        /// compiling them.
        #[arg(long)]
        compiled_code: bool,
    },
    /// List the backups made, oldest first.
    List,
}

pub(crate) async fn backup(connection: &Connection, command: BackupCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    let value = match command {
        BackupCommand::Create { keys_passphrase_file, compiled_code } => {
            let mut asked = serde_json::Map::new();
            if let Some(file) = keys_passphrase_file {
                asked.insert("keys_passphrase".to_owned(), passphrase(&file)?.into());
            }
            if compiled_code {
                asked.insert("compiled_code".to_owned(), true.into());
            }
            let body = (!asked.is_empty()).then(|| Body::Json(asked.into()));
            let made = connection.send(Method::POST, "/admin/backups", body);
            let mut made = std::pin::pin!(made);
            let mut shown = Shown::new();
            let value = loop {
                tokio::select! {
                    made = &mut made => break made?,
                    () = tokio::time::sleep(LOOK_EVERY) => {
                        // A look that fails (an older kernel) shows nothing.
                        let look = connection.send(Method::GET, "/admin/backups/progress", None).await;
                        if let Some(line) = look.ok().and_then(|l| l["progress"]["line"].as_str().map(str::to_owned)) {
                            shown.show(&line);
                        }
                    }
                }
            };
            shown.finish();
            value
        }
        BackupCommand::List => {
            connection.send(Method::GET, "/admin/backups?limit=1000", None).await?
        }
    };
    show(&value)
}

/// The passphrase in `file`: its first line.
pub(crate) fn passphrase(file: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file)
        .map_err(|err| anyhow::anyhow!("reading the passphrase file {}: {err}", file.display()))?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

/// Restores the backup at `from` into the new data directory `data`, and
/// the keys it holds sealed when given the passphrase in `keys`.
pub(crate) fn restore(
    from: &Path,
    data: &Path,
    keys: Option<&Path>,
    compiled_code: bool,
) -> anyhow::Result<()> {
    let passphrase = keys.map(passphrase).transpose()?;
    let mut shown = Shown::new();
    let asked = keel_host::Restore { passphrase: passphrase.as_deref(), compiled_code };
    let restored = keel_host::restore_backup_showing(from, data, asked, &mut |p| {
        shown.show(&p.line());
    });
    shown.finish();
    let restored = restored?;
    let backup = &restored.backup;
    let mut lines = vec![format!(
        "restored backup {} into {}: {} documents, {} catalog records, {} audit entries; \
         every file as its manifest says",
        backup.id,
        data.display(),
        backup.counts.documents,
        backup.counts.catalog_records,
        backup.counts.log_entries,
    )];
    for (chain, entries) in &restored.chains {
        lines.push(format!("  audit chain {chain}: {entries} entries, linked whole"));
    }
    if restored.compiled_code > 0 {
        lines.push(format!(
            "  compiled code: {} packages, into {} (a kernel with the default --cache-dir loads \
             it without compiling)",
            restored.compiled_code,
            data.join("cache").display()
        ));
    }
    if let Some(why) = &restored.compiled_code_skipped {
        lines.push(format!("  compiled code not all put back ({why}): compiled again at start"));
    }
    let next = format!(
        "start `keel serve --data {0}`; then `keel audit verify TENANT` checks every document \
         against its chain",
        data.display()
    );
    if !restored.keys_restored.is_empty() {
        lines.push(format!(
            "  keys: {} (opened with the passphrase)",
            restored.keys_restored.join(", ")
        ));
        lines.push(format!(
            "next: {next} (without --secrets-key, --data-key-file or KEEL_DATA_KEY, which would \
             name other keys)"
        ));
    } else if restored.keys_sealed {
        lines.push(format!(
            "next: this backup holds the kernel's keys, sealed: restore again into a new directory \
             with --keys-passphrase-file to put them back, or put the keys kept apart \
             (secrets.key, data.key, audit-signing.key) into {}; {next}",
            data.display()
        ));
    } else {
        lines.push(format!(
            "next: put the keys kept apart from backups (secrets.key, data.key, audit-signing.key) \
             into {}, or give them as to keel serve; {next}",
            data.display()
        ));
    }
    show_line(&lines.join("\n"));
    Ok(())
}

/// Progress on standard error: redrawn in place on a terminal (at most
/// ten times a second), else a line when the step changes and every five
/// seconds between.
struct Shown {
    terminal: bool,
    last: String,
    at: Option<Instant>,
}

impl Shown {
    fn new() -> Self {
        Self { terminal: std::io::stderr().is_terminal(), last: String::new(), at: None }
    }

    fn show(&mut self, line: &str) {
        let since = self.at.map(|at| at.elapsed());
        let step = |line: &str| line.split(',').next().unwrap_or_default().to_owned();
        let due = match (self.terminal, since) {
            (_, None) => true,
            (true, Some(since)) => since >= Duration::from_millis(100),
            (false, Some(since)) => {
                step(line) != step(&self.last) || since >= Duration::from_secs(5)
            }
        };
        if !due || line == self.last {
            return;
        }
        let mut err = std::io::stderr().lock();
        // Progress is a courtesy: a closed standard error stops nothing.
        let _ = if self.terminal {
            write!(err, "\r\x1b[2K{line}").and_then(|()| err.flush())
        } else {
            writeln!(err, "{line}")
        };
        self.last = line.to_owned();
        self.at = Some(Instant::now());
    }

    /// Ends the line drawn on a terminal.
    fn finish(&self) {
        if self.terminal && self.at.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}
