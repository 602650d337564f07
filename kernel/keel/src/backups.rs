//! `keel backup` (a client of `/admin/backups`: back up a serving kernel)
//! and `keel restore` (offline: a backup into a new data directory,
//! checked file by file, count by count and chain by chain).

use std::path::Path;

use crate::client::{Connection, show, show_line};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum BackupCommand {
    /// Back up the kernel now, while it serves, into its backups directory
    /// (`keel serve --backups-dir`); prints the backup's manifest.
    Create,
    /// List the backups made, oldest first.
    List,
}

pub(crate) async fn backup(connection: &Connection, command: BackupCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    let value = match command {
        BackupCommand::Create => connection.send(Method::POST, "/admin/backups", None).await?,
        BackupCommand::List => {
            connection.send(Method::GET, "/admin/backups?limit=1000", None).await?
        }
    };
    show(&value)
}

/// Restores the backup at `from` into the new data directory `data`.
pub(crate) fn restore(from: &Path, data: &Path) -> anyhow::Result<()> {
    let restored = keel_host::restore_backup(from, data)?;
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
    lines.push(format!(
        "next: put the keys kept apart from backups (secrets.key, data.key, audit-signing.key) \
         into {0}, or give them as to keel serve; start `keel serve --data {0}`; then \
         `keel audit verify TENANT` checks every document against its chain",
        data.display()
    ));
    show_line(&lines.join("\n"));
    Ok(())
}
