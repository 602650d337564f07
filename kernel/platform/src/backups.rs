//! Backups, one at a time, made off the async workers and audited.

use keel_host::{Backup, BackupError};

use crate::error::internal;
use crate::{Actor, Platform, PlatformError};

impl Platform {
    /// Makes a backup in the kernel's backups directory, as `actor`
    /// (audited as `backup.create`); a 409 while another is made. With
    /// `keys`, a passphrase, the backup holds the kernel's keys sealed
    /// with it; with `compiled_code`, the packages' compiled code.
    pub async fn back_up(
        &self,
        actor: &Actor,
        keys: Option<String>,
        compiled_code: bool,
    ) -> Result<Backup, PlatformError> {
        if keys.as_ref().is_some_and(|p| !(12..=1024).contains(&p.chars().count())) {
            return Err(PlatformError::Invalid(
                "a passphrase must be 12 to 1024 characters long".to_owned(),
            ));
        }
        let origin = self.origin(actor, None).await;
        let inner = std::sync::Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // One at a time; a backup that panicked leaves the way open.
            let _one = match inner.backing_up.try_lock() {
                Ok(one) => one,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    return Err(PlatformError::Conflict(
                        "a backup is being made; try again when it is done".to_owned(),
                    ));
                }
            };
            let extras = keel_host::Extras { keys: keys.as_deref(), compiled_code };
            inner.host.back_up_now(&origin, extras).map_err(backup_error)
        })
        .await
        .map_err(internal)?
    }

    /// How far the backup being made is; none while none is.
    pub fn backup_progress(&self) -> Option<keel_host::Progress> {
        self.inner.host.backup_progress()
    }

    /// The backups in the kernel's backups directory, oldest first.
    pub async fn backups(&self) -> Result<Vec<Backup>, PlatformError> {
        let host = self.inner.host.clone();
        tokio::task::spawn_blocking(move || host.backups().map_err(backup_error))
            .await
            .map_err(internal)?
    }
}

fn backup_error(err: BackupError) -> PlatformError {
    match err {
        BackupError::Exists(why) => PlatformError::Conflict(why),
        err @ (BackupError::NotConfigured | BackupError::Keys(_)) => {
            PlatformError::Invalid(err.to_string())
        }
        other => {
            tracing::error!(error = %other, "backup failed");
            PlatformError::Internal(other.to_string())
        }
    }
}
