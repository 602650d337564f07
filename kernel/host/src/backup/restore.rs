//! Restoring a backup into a new data directory: every file, count and
//! audit chain checked before anything is put in place.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::Path;

use keel_storage::Storage;
use keel_types::TenantId;
use sha2::{Digest as _, Sha256};

use super::{
    Backup, BackupError, COMPILED, Counts, DATABASE, FileSum, PACKAGES, files, hex, io, keys,
    manifest, private_dir, sums, sync, write_private,
};
use crate::progress::{Progress, Reporter, Step};

/// Checks that the backup at `dir` holds the files its manifest names,
/// and no other.
fn same_files<'a>(
    dir: &Path,
    backup: &Backup,
    mut found: impl Iterator<Item = &'a String> + Clone,
) -> Result<(), BackupError> {
    let damaged = |why: String| BackupError::Damaged { dir: dir.to_path_buf(), why };
    if let Some(missing) = backup.files.keys().find(|name| !found.clone().any(|f| f == *name)) {
        return Err(damaged(format!("{missing} is missing")));
    }
    if let Some(extra) = found.find(|name| !backup.files.contains_key(*name)) {
        return Err(damaged(format!("{extra} is not in the manifest")));
    }
    Ok(())
}

/// Checks the copies of the backup at `from`, with their sizes and
/// digests as `found`, against its manifest.
fn same_sums(
    from: &Path,
    backup: &Backup,
    found: &BTreeMap<String, FileSum>,
) -> Result<(), BackupError> {
    same_files(from, backup, found.keys())?;
    for (name, expected) in &backup.files {
        if let Some(sum) = found.get(name).filter(|sum| *sum != expected) {
            return Err(BackupError::Damaged {
                dir: from.to_path_buf(),
                why: format!(
                    "{name} is not as it was backed up ({} bytes, SHA-256 {}; the manifest says {} bytes, {})",
                    sum.bytes, sum.sha256, expected.bytes, expected.sha256
                ),
            });
        }
    }
    Ok(())
}

/// Restores the backup at `from` into `data_dir` (created if missing,
/// readable by this user only; it must hold no database): checks its
/// manifest and that it holds just the files it names, copies them into
/// `<data_dir>/.restoring` and checks each copy's size and digest,
/// opens the copied database, counts what it holds against the manifest,
/// and checks that every audit chain in it is linked whole (the documents
/// against their chains: `keel audit verify`, once it serves); only then
/// moves it into place. A restore that fails leaves nothing behind.
/// With `passphrase`, the keys the backup holds sealed are opened first
/// (a wrong passphrase restores nothing) and written beside the database;
/// without, they stay sealed and are to be put back by hand.
pub fn restore_backup(
    from: &Path,
    data_dir: &Path,
    passphrase: Option<&str>,
) -> Result<Restored, BackupError> {
    restore_backup_showing(
        from,
        data_dir,
        Restore { passphrase, compiled_code: false },
        &mut |_| {},
    )
}

/// What a restore puts back beside the database and the packages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Restore<'a> {
    /// Opens the keys the backup holds sealed, and puts them back.
    pub passphrase: Option<&'a str>,
    /// Puts the packages' compiled code the backup holds into the data
    /// directory's `cache/`, where a kernel loads it without compiling:
    /// native code, so only from a backup kept as safely as the data
    /// directory itself.
    pub compiled_code: bool,
}

/// [`restore_backup`], with what `restore` asks for, telling `show` how
/// far each step is.
pub fn restore_backup_showing(
    from: &Path,
    data_dir: &Path,
    restore: Restore<'_>,
    show: &mut dyn FnMut(&Progress),
) -> Result<Restored, BackupError> {
    let passphrase = restore.passphrase;
    let backup = manifest(from)?;
    same_files(from, &backup, files(from)?.keys())?;
    let keys_sealed = backup.files.contains_key(keys::KEYS);
    let key_files = match passphrase {
        Some(_) if !keys_sealed => {
            return Err(BackupError::Keys(format!(
                "the backup at {} holds no keys (it was made without a passphrase); restore it without one and put the keys back by hand",
                from.display()
            )));
        }
        Some(passphrase) => {
            let sealed = std::fs::read(from.join(keys::KEYS))
                .map_err(io(format!("reading {}", from.join(keys::KEYS).display())))?;
            // Damage is named as damage, before any passphrase is tried.
            let sum = FileSum { bytes: sealed.len() as u64, sha256: hex(&Sha256::digest(&sealed)) };
            if backup.files.get(keys::KEYS) != Some(&sum) {
                return Err(BackupError::Damaged {
                    dir: from.to_path_buf(),
                    why: format!("{} is not as it was backed up", keys::KEYS),
                });
            }
            keys::open(&sealed, passphrase, &backup.id, from)?
        }
        None => Vec::new(),
    };
    if let Some((name, _)) = key_files.iter().find(|(name, _)| data_dir.join(name).exists()) {
        return Err(BackupError::Exists(format!(
            "{} already holds {name}; restore into a new data directory",
            data_dir.display()
        )));
    }
    let database = data_dir.join(DATABASE);
    if database.exists() || data_dir.join("keel.wal").exists() {
        return Err(BackupError::Exists(format!(
            "{} already holds a database; restore into a new data directory",
            data_dir.display()
        )));
    }
    let packages = data_dir.join(PACKAGES);
    if backup.files.keys().any(|name| name.starts_with("packages/") && data_dir.join(name).exists())
    {
        return Err(BackupError::Exists(format!(
            "{} already holds packages of this backup; restore into a new data directory",
            packages.display()
        )));
    }
    private_dir(data_dir)?;
    let staging = data_dir.join(".restoring");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(io(format!("removing the unfinished {}", staging.display())))?;
    }
    private_dir(&staging)?;
    // What is in place so far, removed again if the restore fails.
    let mut placed = Vec::new();
    let mut reporter = Reporter::new(&backup.id, show);
    let restored = restore_into(from, &backup, &staging, &mut reporter).and_then(|restored| {
        // The keys first, written and synced in staging, then put in
        // place: a database is never left without them.
        for (name, bytes) in &key_files {
            write_private(&staging.join(name), bytes)?;
        }
        for (name, _) in &key_files {
            let to = data_dir.join(name);
            if to.exists() {
                return Err(BackupError::Exists(format!(
                    "{} appeared while restoring; restore into a new data directory",
                    to.display()
                )));
            }
            std::fs::rename(staging.join(name), &to)
                .map_err(io(format!("moving a restored key to {}", to.display())))?;
            placed.push(to);
        }
        if staging.join(PACKAGES).is_dir() {
            private_dir(&packages)?;
            for name in backup.files.keys().filter_map(|n| n.strip_prefix("packages/")) {
                let to = packages.join(name);
                std::fs::rename(staging.join(PACKAGES).join(name), &to)
                    .map_err(io(format!("moving a restored package to {}", to.display())))?;
                placed.push(to);
            }
        }
        // The database last: a data directory that holds one is restored.
        std::fs::rename(staging.join(DATABASE), &database)
            .map_err(io(format!("moving the restored database to {}", database.display())))?;
        placed.push(database.clone());
        // Only a speed-up: what cannot be put back is compiled again when
        // the kernel starts, and the restore stands.
        let (compiled_code, compiled_code_skipped) = if restore.compiled_code {
            place_compiled_code(&staging.join(COMPILED), &data_dir.join(COMPILED), &backup)
        } else {
            (0, None)
        };
        sync(data_dir)?;
        Ok(Restored {
            keys_restored: key_files.iter().map(|(name, _)| name.clone()).collect(),
            keys_sealed,
            compiled_code,
            compiled_code_skipped,
            ..restored
        })
    });
    if restored.is_err() {
        for file in &placed {
            if let Err(err) = std::fs::remove_file(file) {
                tracing::warn!(file = %file.display(), error = %err, "cannot remove a file of a failed restore");
            }
        }
    }
    if let Err(err) = std::fs::remove_dir_all(&staging) {
        tracing::warn!(dir = %staging.display(), error = %err, "cannot remove the restore's staging directory");
    }
    restored
}

/// Moves the compiled code staged in `staged` into `cache`, leaving any
/// entry the cache already holds as it is; returns how many were placed,
/// and why the rest were not.
fn place_compiled_code(staged: &Path, cache: &Path, backup: &Backup) -> (usize, Option<String>) {
    let names: Vec<&str> = backup.files.keys().filter_map(|n| n.strip_prefix("cache/")).collect();
    if names.is_empty() {
        return (0, None);
    }
    if let Err(err) = private_dir(cache) {
        return (0, Some(err.to_string()));
    }
    let mut placed = 0;
    let mut kept = 0;
    for name in names {
        let to = cache.join(name);
        if std::fs::symlink_metadata(&to).is_ok() {
            kept += 1;
            continue;
        }
        // A cache entry arrives whole or not at all.
        if let Err(err) = std::fs::rename(staged.join(name), &to) {
            return (placed, Some(format!("moving compiled code to {}: {err}", to.display())));
        }
        placed += 1;
    }
    let kept =
        (kept > 0).then(|| format!("{kept} already in {}, kept as they were", cache.display()));
    (placed, kept)
}

/// Copies the backup into `staging`, checks the copies, and checks what
/// the copied database holds.
fn restore_into(
    from: &Path,
    backup: &Backup,
    staging: &Path,
    reporter: &mut Reporter<'_>,
) -> Result<Restored, BackupError> {
    let damaged = |why: String| BackupError::Damaged { dir: from.to_path_buf(), why };
    let total = backup
        .files
        .values()
        .try_fold(0u64, |sum, file| sum.checked_add(file.bytes))
        .ok_or_else(|| damaged("its manifest's file sizes add up past any disk".to_owned()))?;
    reporter.step(Step::CopyingFiles, Some(total));
    for name in backup.files.keys() {
        let to = staging.join(name);
        if let Some(parent) = to.parent() {
            private_dir(parent)?;
        }
        reporter.at(name);
        copy(&from.join(name), &to, reporter)
            .map_err(io(format!("copying {name} into {}", staging.display())))?;
        sync(&to)?;
    }
    // Each file is read once, as it was copied: what is checked is what
    // is restored.
    same_sums(from, backup, &sums(staging, reporter)?)?;
    let restored = Storage::open(&staging.join(DATABASE), keel_types::Limits::default())?;
    let read = restored.read()?;
    reporter.step(Step::CountingTables, Some(backup.counts.entries()));
    let counts = Counts::from(read.tally()?);
    // What was counted, which the manifest's count is then checked against.
    reporter.set(counts.entries());
    if counts != backup.counts {
        return Err(damaged(format!(
            "the restored database holds {} documents, {} index entries, {} sequences, {} catalog \
             records and {} audit entries, where the manifest says {}, {}, {}, {} and {}; use \
             another backup",
            counts.documents,
            counts.index_entries,
            counts.sequences,
            counts.catalog_records,
            counts.log_entries,
            backup.counts.documents,
            backup.counts.index_entries,
            backup.counts.sequences,
            backup.counts.catalog_records,
            backup.counts.log_entries,
        )));
    }
    let mut chains = vec![keel_audit::chain_of(None)];
    for (key, _) in read.catalog_scan("tenant/")? {
        if let Some(tenant) = key.strip_prefix("tenant/").and_then(|t| TenantId::new(t).ok()) {
            chains.push(keel_audit::chain_of(Some(&tenant)));
        }
    }
    let mut verified = Vec::new();
    reporter.step(Step::VerifyingChains, Some(chains.len() as u64));
    for chain in chains {
        reporter.at(&chain);
        let summary = verify_chain(&read, &chain)?.map_err(|broken| {
            damaged(format!("audit chain {chain}: {broken}; use another backup"))
        })?;
        verified.push((chain, summary.entries));
        reporter.add(1);
    }
    drop(read);
    drop(restored);
    // Nothing was written: the log the check opened holds nothing.
    let log = staging.join("keel.wal");
    if log.exists() {
        std::fs::remove_dir_all(&log).map_err(io(format!("removing {}", log.display())))?;
    }
    Ok(Restored {
        backup: backup.clone(),
        chains: verified,
        keys_restored: Vec::new(),
        keys_sealed: false,
        compiled_code: 0,
        compiled_code_skipped: None,
    })
}

/// Copies `from` to the new file `to`, telling `reporter` of each
/// megabyte.
fn copy(from: &Path, to: &Path, reporter: &mut Reporter<'_>) -> std::io::Result<()> {
    let mut source = std::fs::File::open(from)?;
    let mut copy = std::fs::OpenOptions::new().write(true).create_new(true).open(to)?;
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = source.read(&mut buffer)?;
        if n == 0 {
            return copy.flush();
        }
        copy.write_all(&buffer[..n])?;
        reporter.add(n as u64);
    }
}

/// What a restore found: the backup, and each audit chain it holds with
/// its entries, every one linked to the last.
#[derive(Debug, Clone)]
pub struct Restored {
    pub backup: Backup,
    /// `platform` or `tenant/<id>`, and its entries.
    pub chains: Vec<(String, u64)>,
    /// The key files written beside the database (opened with the
    /// passphrase).
    pub keys_restored: Vec<String>,
    /// Whether the backup holds the kernel's keys, sealed.
    pub keys_sealed: bool,
    /// The compiled packages put into the data directory's `cache/`.
    pub compiled_code: usize,
    /// Why some compiled code the backup holds was not put back (it is
    /// compiled again when the kernel starts).
    pub compiled_code_skipped: Option<String>,
}

/// Checks that every entry of `chain` is linked to the one before.
fn verify_chain(
    read: &keel_storage::ReadTxn,
    chain: &str,
) -> Result<Result<keel_audit::Summary, keel_audit::Broken>, BackupError> {
    let mut verifier = keel_audit::Verifier::default();
    let mut from = 0;
    loop {
        let page = read.log_scan(chain, from, 1_000)?;
        let Some((last, _)) = page.last() else { break };
        from = last + 1;
        for (position, bytes) in page {
            if let Err(broken) = verifier.check(position, &bytes) {
                return Ok(Err(broken));
            }
        }
    }
    Ok(Ok(verifier.summary()))
}
