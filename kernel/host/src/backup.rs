//! Backups: the database copied as of one snapshot (every durable commit,
//! whether redb or only the log holds it), the plugin packages the kernel
//! keeps, and a manifest with each file's size and SHA-256; and restoring
//! one into a new data directory, every checksum and count checked.
//!
//! The kernel's keys (the secrets key, the data key ring and the audit
//! signing key) are in a backup only when the operator asks, sealed with a
//! passphrase they give (`keys.rs`); otherwise they are kept apart, and
//! restored beside it.

mod keys;
mod restore;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use keel_storage::{Copied, Lane};
use keel_types::action;
use sha2::{Digest as _, Sha256};

pub use restore::{Restore, Restored, restore_backup, restore_backup_showing};

use crate::progress::{self, Progress, Reporter};

use crate::error::CallError;
use crate::host::Host;

/// The manifest's file name in a backup's directory.
pub const BACKUP_MANIFEST: &str = "backup.json";
/// The database's file name, in a backup and in a data directory.
const DATABASE: &str = "keel.redb";
/// The packages' directory, in a backup and in a data directory.
const PACKAGES: &str = "packages";
/// The compiled code's directory in a backup (`<data>/cache` by default
/// in a data directory).
const COMPILED: &str = "cache";

/// What a backup holds beside the database and the packages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// The kernel's keys, sealed with this passphrase.
    pub keys: Option<&'a str>,
    /// The packages' compiled code (the kernel's cache), so that a kernel
    /// restored from it starts without compiling them again.
    pub compiled_code: bool,
}

/// A backup's manifest: what it holds, and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Backup {
    /// The manifest's format.
    pub format: u32,
    /// Its name: the directory it is in.
    pub id: String,
    /// When its snapshot was taken, in Unix seconds.
    pub created: i64,
    /// The kernel that took it.
    pub keel_version: String,
    /// What the database copy holds, table by table.
    pub counts: Counts,
    /// Every file, by its path within the backup, with its size and digest.
    pub files: BTreeMap<String, FileSum>,
}

/// What a database copy holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub documents: u64,
    pub index_entries: u64,
    pub sequences: u64,
    pub catalog_records: u64,
    pub log_entries: u64,
}

impl Counts {
    /// Entries of every table, in all; saturating, for a manifest's
    /// counts that no database could hold.
    pub fn entries(&self) -> u64 {
        [self.index_entries, self.sequences, self.catalog_records, self.log_entries]
            .into_iter()
            .fold(self.documents, u64::saturating_add)
    }
}

impl From<Copied> for Counts {
    fn from(c: Copied) -> Self {
        Self {
            documents: c.documents,
            index_entries: c.index_entries,
            sequences: c.sequences,
            catalog_records: c.catalog_records,
            log_entries: c.log_entries,
        }
    }
}

/// A file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileSum {
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// Why a backup could not be made, checked or restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The destination is in use: it exists, or a data directory already
    /// holds a database.
    #[error("{0}")]
    Exists(String),
    /// The backup is not whole or not as its manifest says.
    #[error("the backup at {dir} is damaged: {why}")]
    Damaged { dir: PathBuf, why: String },
    /// Reading or writing files failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] keel_storage::Error),
    /// The backup could not be audited, so it is not kept.
    #[error("{0}")]
    Unaudited(CallError),
    /// The keys could not be sealed or opened: no keys, a passphrase too
    /// short, or one that does not open them.
    #[error("{0}")]
    Keys(String),
    /// The kernel was started with no backups directory.
    #[error("this kernel has no backups directory (keel serve --backups-dir)")]
    NotConfigured,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

impl Host {
    /// Backs up the database and the kept packages into `dir`, a new
    /// directory named as the backup, and audits it on the platform's
    /// chain (`backup.create`). Writers go on meanwhile: the backup holds
    /// what was durable when it began. It is made in `<dir>.partial`
    /// (readable by this user only from the start) and renamed once whole.
    /// It also holds what `extras` asks for: the kernel's keys sealed
    /// with a passphrase, the packages' compiled code.
    pub fn back_up(
        &self,
        origin: &keel_audit::Origin,
        dir: &Path,
        extras: Extras<'_>,
    ) -> Result<Backup, BackupError> {
        self.back_up_showing(origin, dir, extras, &mut |_| {})
    }

    /// [`Host::back_up`], telling `show` how far each step is, as
    /// [`Host::backup_progress`] tells any caller meanwhile.
    pub fn back_up_showing(
        &self,
        origin: &keel_audit::Origin,
        dir: &Path,
        extras: Extras<'_>,
        show: &mut dyn FnMut(&Progress),
    ) -> Result<Backup, BackupError> {
        if dir.exists() {
            return Err(BackupError::Exists(format!(
                "{} exists; a backup goes to a new directory",
                dir.display()
            )));
        }
        let partial = dir.with_extension("partial");
        if partial.exists() {
            // Left by a kernel that stopped while it backed up.
            std::fs::remove_dir_all(&partial)
                .map_err(io(format!("removing the unfinished {}", partial.display())))?;
        }
        if let Some(parent) = dir.parent() {
            private_dir(parent)?;
        }
        private_dir(&partial)?;
        let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let shown = &self.inner.backup_progress;
        let mut show_both = |progress: &Progress| {
            *shown.lock().unwrap_or_else(|p| p.into_inner()) = Some(progress.clone());
            show(progress);
        };
        let mut reporter = Reporter::new(&id, &mut show_both);
        let made = self.back_up_into(origin, &partial, id.clone(), extras, &mut reporter);
        drop(reporter);
        *shown.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let made = made.and_then(|backup| {
            std::fs::rename(&partial, dir).map_err(io(format!(
                "renaming {} to {}",
                partial.display(),
                dir.display()
            )))?;
            Ok(backup)
        });
        if made.is_err() {
            // Nothing half made stays to be mistaken for a backup.
            if let Err(err) = std::fs::remove_dir_all(&partial) {
                tracing::warn!(dir = %partial.display(), error = %err, "cannot remove a failed backup");
            }
        }
        made
    }

    /// Backs up into a new directory of the backups directory, named by
    /// the time (`20261207T193000Z`); with `extras`, as [`Host::back_up`].
    pub fn back_up_now(
        &self,
        origin: &keel_audit::Origin,
        extras: Extras<'_>,
    ) -> Result<Backup, BackupError> {
        let root = self.backups_dir()?;
        let now = self.now();
        let (days, secs) = (now.seconds.div_euclid(86_400), now.seconds.rem_euclid(86_400));
        let stamp = match keel_values::Date::from_days(days) {
            Ok(date) => format!(
                "{}T{:02}{:02}{:02}Z",
                date.as_str().replace('-', ""),
                secs / 3600,
                secs % 3600 / 60,
                secs % 60
            ),
            Err(_) => now.seconds.to_string(),
        };
        let mut dir = root.join(&stamp);
        let mut n = 1;
        while dir.exists() {
            n += 1;
            dir = root.join(format!("{stamp}-{n}"));
        }
        let backup = self.back_up(origin, &dir, extras)?;
        self.prune_backups(&root);
        Ok(backup)
    }

    /// Removes the oldest backups beyond the number the kernel keeps.
    fn prune_backups(&self, root: &Path) {
        let keep = self.inner.config.limits.backups_keep.max(1);
        let Ok(backups) = self.backups() else { return };
        for old in backups.iter().take(backups.len().saturating_sub(keep)) {
            match std::fs::remove_dir_all(root.join(&old.id)) {
                Ok(()) => tracing::info!(backup = %old.id, keep, "old backup removed"),
                Err(err) => {
                    tracing::warn!(backup = %old.id, error = %err, "cannot remove an old backup")
                }
            }
        }
    }

    /// The backups in the backups directory, oldest first, each as its
    /// manifest says (unchecked: `keel restore` checks one).
    pub fn backups(&self) -> Result<Vec<Backup>, BackupError> {
        let root = self.backups_dir()?;
        if !root.is_dir() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&root).map_err(io(format!("reading {}", root.display())))? {
            let entry = entry.map_err(io(format!("reading {}", root.display())))?;
            if entry.path().extension().is_some_and(|e| e == "partial") {
                continue;
            }
            let Ok(bytes) = std::fs::read(entry.path().join(BACKUP_MANIFEST)) else { continue };
            match serde_json::from_slice::<Backup>(&bytes) {
                // Its id names its directory (which pruning removes).
                Ok(backup) if *backup.id == *entry.file_name() => found.push(backup),
                Ok(backup) => {
                    tracing::warn!(dir = %entry.path().display(), id = %backup.id, "a backup's manifest names another directory; left out");
                }
                Err(err) => {
                    tracing::warn!(dir = %entry.path().display(), error = %err, "a backup's manifest does not read");
                }
            }
        }
        found.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(found)
    }

    /// One of the kernel's keys, as the file a data directory keeps it in
    /// (`secrets.key`, `data.key` or `audit-signing.key`), for backups
    /// that hold them sealed with a passphrase. Write-only: nothing reads
    /// the keys back through the host but a backup.
    pub fn set_key_file(&self, name: &str, bytes: Vec<u8>) {
        let mut files = self.inner.key_files.write().unwrap_or_else(|p| p.into_inner());
        files.retain(|(kept, _)| kept != name);
        files.push((name.to_owned(), bytes));
    }

    /// The key files [`Host::set_key_file`] gave.
    fn key_files(&self) -> Vec<(String, Vec<u8>)> {
        self.inner.key_files.read().map(|files| files.clone()).unwrap_or_default()
    }

    /// How far the backup being made is; none while none is.
    pub fn backup_progress(&self) -> Option<Progress> {
        self.inner.backup_progress.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn backups_dir(&self) -> Result<PathBuf, BackupError> {
        self.inner.config.backups_dir.clone().ok_or(BackupError::NotConfigured)
    }

    fn back_up_into(
        &self,
        origin: &keel_audit::Origin,
        dir: &Path,
        id: String,
        extras: Extras<'_>,
        reporter: &mut Reporter<'_>,
    ) -> Result<Backup, BackupError> {
        if let Some(passphrase) = extras.keys {
            reporter.step(progress::Step::SealingKeys, Some(3));
            let sealed = keys::seal(&self.key_files(), passphrase, &id)?;
            write_synced(&dir.join(keys::KEYS), &sealed)?;
            reporter.set(3);
        }
        let snapshot = self.inner.storage.read()?;
        let created = self.now().seconds;
        reporter.step(progress::Step::CopyingDatabase, None);
        let copied = snapshot.copy_to(&dir.join(DATABASE), &mut |so_far| {
            reporter.set(Counts::from(*so_far).entries());
        })?;
        let counts = Counts::from(copied);
        drop(snapshot);
        if let Some(packages) = &self.inner.config.packages_dir
            && packages.is_dir()
        {
            let into = dir.join(PACKAGES);
            private_dir(&into)?;
            let mut names = Vec::new();
            for entry in std::fs::read_dir(packages)
                .map_err(io(format!("reading {}", packages.display())))?
            {
                let entry = entry.map_err(io(format!("reading {}", packages.display())))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                // Installed packages only, not one being written now.
                if package_name(&name) {
                    names.push(name);
                }
            }
            reporter.step(progress::Step::CopyingPackages, Some(names.len() as u64));
            for name in names {
                let (from, to) = (packages.join(&name), into.join(&name));
                match std::fs::copy(&from, &to) {
                    Ok(_) => sync(&to)?,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => return Err(io(format!("copying {}", from.display()))(err)),
                }
                reporter.add(1);
            }
        }
        if extras.compiled_code {
            self.back_up_compiled_code(&dir.join(COMPILED), reporter)?;
        }
        let files = sums(dir, reporter)?;
        let backup = Backup {
            format: 1,
            id,
            created,
            keel_version: env!("CARGO_PKG_VERSION").to_owned(),
            counts,
            files,
        };
        let manifest = serde_json::to_vec_pretty(&backup).map_err(|err| BackupError::Io {
            what: "writing the manifest".into(),
            source: err.into(),
        })?;
        write_synced(&dir.join(BACKUP_MANIFEST), &manifest)?;
        // As the data directory's: the backup holds what it holds.
        private_files(dir)?;
        self.audit_backup(origin, &backup).map_err(BackupError::Unaudited)?;
        tracing::info!(backup = %backup.id, documents = counts.documents, "backup made");
        Ok(backup)
    }

    /// Copies the compiled code the kernel keeps of its packages into
    /// `into`: files its cache names as it writes them, no other.
    fn back_up_compiled_code(
        &self,
        into: &Path,
        reporter: &mut Reporter<'_>,
    ) -> Result<(), BackupError> {
        let cache = &self.inner.config.cache_dir;
        let mut names = Vec::new();
        if cache.is_dir() {
            for entry in
                std::fs::read_dir(cache).map_err(io(format!("reading {}", cache.display())))?
            {
                let entry = entry.map_err(io(format!("reading {}", cache.display())))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if compiled_name(&name) {
                    names.push(name);
                }
            }
        }
        private_dir(into)?;
        reporter.step(progress::Step::CopyingCompiledCode, Some(names.len() as u64));
        for name in names {
            let (from, to) = (cache.join(&name), into.join(&name));
            match std::fs::copy(&from, &to) {
                Ok(_) => sync(&to)?,
                // Replaced by a kernel that recompiled it meanwhile.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io(format!("copying {}", from.display()))(err)),
            }
            reporter.add(1);
        }
        Ok(())
    }

    fn audit_backup(&self, origin: &keel_audit::Origin, backup: &Backup) -> Result<(), CallError> {
        let storage_err = CallError::Storage;
        let mut txn = self.inner.storage.write(&[Lane::Platform]).map_err(storage_err)?;
        let database = backup.files.get(DATABASE).map(|f| f.sha256.clone());
        let record = keel_audit::Record {
            collection: Some("backups".to_owned()),
            key: Some(backup.id.clone()),
            after: Some(serde_json::json!({
                "created": backup.created,
                "counts": backup.counts,
                "database_sha256": database,
                "keys": backup.files.contains_key(keys::KEYS),
                // What a restore may put where the kernel loads native code.
                "compiled_code": backup
                    .files
                    .iter()
                    .filter(|(name, _)| name.starts_with("cache/"))
                    .map(|(name, sum)| (name.clone(), sum.sha256.clone()))
                    .collect::<BTreeMap<_, _>>(),
            })),
            ..origin.record(action::BACKUP_CREATE)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(None), record).map_err(storage_err)?;
        txn.commit().map_err(storage_err)
    }
}

/// Makes every file of the backup in `dir` readable by this user only
/// (0600; its directories were made 0700).
fn private_files(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let manifest = dir.join(BACKUP_MANIFEST);
        for path in files(dir)?.into_values().chain([manifest]) {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(io(format!("making {} private (mode 600)", path.display())))?;
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` (and its parents) readable by this user only from the
/// start, so that nothing written into it is ever open to others.
fn private_dir(dir: &Path) -> Result<(), BackupError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io(format!("creating {}", dir.display())))
}

fn sync(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(io(format!("syncing {}", path.display())))
}

/// Whether `name` is an installed package's file name: `<name>.wasm` of
/// letters, digits, `-` and `_`.
fn package_name(name: &str) -> bool {
    name.strip_suffix(".wasm").is_some_and(|stem| {
        !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    })
}

/// Whether `name` is a compiled package as the kernel's cache names it:
/// `<SHA-256 of the package>-<engine's hash>.cwasm`, in hex.
fn compiled_name(name: &str) -> bool {
    // Lower-case hex, as the kernel writes it.
    let is_hex = |text: &str, len: usize| {
        text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    name.strip_suffix(".cwasm")
        .and_then(|stem| stem.split_once('-'))
        .is_some_and(|(digest, engine)| is_hex(digest, 64) && is_hex(engine, 16))
}

/// Whether `name` is a file a backup may hold: its database, sealed
/// keys, a package, or a package's compiled code.
fn backed_up_name(name: &str) -> bool {
    name == DATABASE
        || name == keys::KEYS
        || name.strip_prefix("packages/").is_some_and(package_name)
        || name.strip_prefix("cache/").is_some_and(compiled_name)
}

/// Every file under `dir` but the manifest, by its path within it.
/// Refuses anything but plain files and directories (a link, say).
fn files(dir: &Path) -> Result<BTreeMap<String, PathBuf>, BackupError> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).map_err(io(format!("reading {}", at.display())))? {
            let entry = entry.map_err(io(format!("reading {}", at.display())))?;
            let path = entry.path();
            let kind = std::fs::symlink_metadata(&path)
                .map_err(io(format!("reading {}", path.display())))?
                .file_type();
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            let Ok(name) = path.strip_prefix(dir) else { continue };
            let name: Vec<String> =
                name.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            let name = name.join("/");
            if name == BACKUP_MANIFEST {
                continue;
            }
            if !kind.is_file() {
                return Err(BackupError::Damaged {
                    dir: dir.to_path_buf(),
                    why: format!("{name} is not a plain file"),
                });
            }
            files.insert(name, path);
        }
    }
    Ok(files)
}

/// Every file under `dir` but the manifest, with its size and digest,
/// telling `reporter` of each megabyte read.
fn sums(dir: &Path, reporter: &mut Reporter<'_>) -> Result<BTreeMap<String, FileSum>, BackupError> {
    let files = files(dir)?;
    let mut total = 0;
    for path in files.values() {
        let meta = std::fs::metadata(path).map_err(io(format!("reading {}", path.display())))?;
        total += meta.len();
    }
    reporter.step(progress::Step::Checksums, Some(total));
    files
        .into_iter()
        .map(|(name, path)| {
            reporter.at(&name);
            Ok((name, sum(&path, reporter)?))
        })
        .collect()
}

fn sum(path: &Path, reporter: &mut Reporter<'_>) -> Result<FileSum, BackupError> {
    let mut file = std::fs::File::open(path).map_err(io(format!("reading {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(io(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
        reporter.add(n as u64);
    }
    Ok(FileSum { bytes, sha256: hex(&hasher.finalize()) })
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a new file readable by this user only from its creation
/// (0600), synced: a key.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io(format!("creating {}", path.display())))?;
    file.write_all(bytes).map_err(io(format!("writing {}", path.display())))?;
    file.sync_all().map_err(io(format!("syncing {}", path.display())))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    use std::io::Write as _;
    let mut file =
        std::fs::File::create(path).map_err(io(format!("creating {}", path.display())))?;
    file.write_all(bytes).map_err(io(format!("writing {}", path.display())))?;
    file.sync_all().map_err(io(format!("syncing {}", path.display())))
}

/// The manifest of the backup at `dir`, if it is one this kernel reads
/// and names only a database, packages, their compiled code and sealed
/// keys.
fn manifest(dir: &Path) -> Result<Backup, BackupError> {
    let damaged = |why: String| BackupError::Damaged { dir: dir.to_path_buf(), why };
    let manifest = std::fs::read(dir.join(BACKUP_MANIFEST))
        .map_err(|err| damaged(format!("its manifest {BACKUP_MANIFEST} cannot be read: {err}")))?;
    let backup: Backup = serde_json::from_slice(&manifest)
        .map_err(|err| damaged(format!("its manifest is not one: {err}")))?;
    if backup.format != 1 {
        return Err(damaged(format!(
            "manifest format {} is not one this kernel reads (1)",
            backup.format
        )));
    }
    let plain = |id: &str| {
        !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !plain(&backup.id) {
        return Err(damaged(format!(
            "its manifest's id {:?} is not a backup's name (letters, digits, - and _)",
            backup.id
        )));
    }
    if let Some(odd) = backup.files.keys().find(|name| !backed_up_name(name)) {
        return Err(damaged(format!(
            "its manifest names {odd:?}, which no backup holds (only {DATABASE}, packages/<name>.wasm, cache/<digest>-<engine>.cwasm and {})",
            keys::KEYS
        )));
    }
    if !backup.files.contains_key(DATABASE) {
        return Err(damaged(format!("it holds no {DATABASE}")));
    }
    Ok(backup)
}
