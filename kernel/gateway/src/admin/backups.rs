//! `/admin/backups`: make a backup of the whole kernel (its database as of
//! one moment and its packages, with a manifest of checksums) while it
//! serves, and list those made. `keel restore` restores one, offline.

use super::*;

/// What `POST /admin/backups` may say; no body is a backup without keys.
#[derive(Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewBackup {
    /// Also back up the kernel's keys (the secrets key, the data key ring
    /// and the audit signing key), sealed with this passphrase (12 to 1024
    /// characters), which the kernel does not keep: `keel restore
    /// --keys-passphrase-file` puts them back.
    keys_passphrase: Option<String>,
    /// Also back up the packages' compiled code, so that a kernel restored
    /// with `keel restore --compiled-code` starts without compiling them.
    compiled_code: Option<bool>,
}

/// `POST /admin/backups`
#[utoipa::path(post, path = "/admin/backups", tag = "backups", request_body(content = Option<NewBackup>, description = "Optional: the passphrase to seal the kernel's keys with, and whether to back up the packages' compiled code"), responses((status = 201, description = "The backup's manifest: its id (the directory under the kernel's backups directory), when its snapshot was taken, what its database holds, and each file's size and SHA-256 (`keys.sealed` among them when it holds the keys)", body = BackupBody), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.backups.manage"), (status = 409, description = "Another backup is being made"), (status = 422, description = "A passphrase too short or too long, or no backups directory")))]
pub(crate) async fn create_backup(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Response {
    respond(
        async {
            let actor = allow(&state.platform, &caller, Scope::Platform, BACKUPS_MANAGE).await?;
            let bytes = crate::extract::read_body(request.into_body(), body_limit(&state)).await?;
            let body: NewBackup = if bytes.iter().all(u8::is_ascii_whitespace) {
                NewBackup::default()
            } else {
                // The serde message could quote the passphrase: not echoed.
                serde_json::from_slice::<Option<NewBackup>>(&bytes)
                    .map_err(|_| {
                        Problem::bad_request(
                            r#"request body: nothing, or {"keys_passphrase": "…", "compiled_code": true} (each optional) and no other field"#,
                        )
                    })?
                    .unwrap_or_default()
            };
            let backup = state
                .platform
                .back_up(&actor, body.keys_passphrase, body.compiled_code.unwrap_or(false))
                .await
                .map_err(Problem::from_platform)?;
            Ok((StatusCode::CREATED, Json(BackupBody::from(backup))).into_response())
        }
        .await,
    )
}

/// `GET /admin/backups`
#[utoipa::path(get, path = "/admin/backups", tag = "backups", params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query, description = "The id of the last backup seen")), responses((status = 200, description = "A page of backups, oldest first, as their manifests say, and the cursor of the next", body = BackupPage), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.backups.manage")))]
pub(crate) async fn backups(
    State(state): State<AppState>,
    caller: Caller,
    query: PageParams,
) -> Response {
    respond(
        async {
            allow(&state.platform, &caller, Scope::Platform, BACKUPS_MANAGE).await?;
            let backups = state.platform.backups().await.map_err(Problem::from_platform)?;
            let (backups, cursor) = paged(backups, |b| b.id.clone(), query)?;
            let backups = backups.into_iter().map(BackupBody::from).collect();
            Ok(Json(BackupPage { backups, cursor }).into_response())
        }
        .await,
    )
}

/// A backup's manifest (`backup.json` in its directory): what it holds,
/// and how to check it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct BackupBody {
    /// The manifest's format: 1.
    format: u32,
    /// Its name: the directory it is in, under the backups directory.
    id: String,
    /// When its snapshot was taken, in Unix seconds.
    created: i64,
    /// The kernel that took it.
    keel_version: String,
    /// What its database holds, table by table.
    counts: CountsBody,
    /// Every file by its path within the backup (`keel.redb`,
    /// `packages/<name>.wasm`, `cache/<digest>-<engine>.cwasm`,
    /// `keys.sealed`), with its size and SHA-256.
    files: std::collections::BTreeMap<String, FileSumBody>,
}

/// What a backup's database holds.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct CountsBody {
    documents: u64,
    index_entries: u64,
    sequences: u64,
    catalog_records: u64,
    log_entries: u64,
}

/// A file of a backup.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct FileSumBody {
    bytes: u64,
    /// Lower-case hex.
    sha256: String,
}

impl From<keel_host::Backup> for BackupBody {
    fn from(backup: keel_host::Backup) -> Self {
        let c = backup.counts;
        Self {
            format: backup.format,
            id: backup.id,
            created: backup.created,
            keel_version: backup.keel_version,
            counts: CountsBody {
                documents: c.documents,
                index_entries: c.index_entries,
                sequences: c.sequences,
                catalog_records: c.catalog_records,
                log_entries: c.log_entries,
            },
            files: backup
                .files
                .into_iter()
                .map(|(name, sum)| (name, FileSumBody { bytes: sum.bytes, sha256: sum.sha256 }))
                .collect(),
        }
    }
}

/// A page of backups, oldest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct BackupPage {
    backups: Vec<BackupBody>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    cursor: Option<String>,
}

/// How far the backup being made is.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct BackupProgress {
    /// Null while no backup is being made.
    #[schema(required = true)]
    progress: Option<ProgressBody>,
}

/// One look at a backup under way.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ProgressBody {
    /// The backup's id.
    backup: String,
    /// `sealing-keys`, `copying-database`, `copying-packages`,
    /// `copying-compiled-code` or `checksums`.
    step: String,
    /// The file the step is at, when it goes through several; else null.
    #[schema(required = true)]
    at: Option<String>,
    /// How far the step is, in `unit`.
    done: u64,
    /// Of how much, when known before the step ends; else null.
    #[schema(required = true)]
    total: Option<u64>,
    /// `keys`, `entries`, `files` or `bytes`.
    unit: String,
    /// The same in words.
    line: String,
}

impl From<keel_host::Progress> for ProgressBody {
    fn from(progress: keel_host::Progress) -> Self {
        let step = serde_json::to_value(progress.step)
            .ok()
            .and_then(|step| step.as_str().map(str::to_owned))
            .unwrap_or_default();
        Self {
            line: progress.line(),
            unit: progress.step.unit().to_owned(),
            backup: progress.backup,
            step,
            at: progress.at,
            done: progress.done,
            total: progress.total,
        }
    }
}

/// `GET /admin/backups/progress`
#[utoipa::path(get, path = "/admin/backups/progress", tag = "backups", responses((status = 200, description = "How far the backup being made is, step by step; `progress` is null while none is", body = BackupProgress), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.backups.manage")))]
pub(crate) async fn backup_progress(State(state): State<AppState>, caller: Caller) -> Response {
    respond(
        async {
            allow(&state.platform, &caller, Scope::Platform, BACKUPS_MANAGE).await?;
            let progress = state.platform.backup_progress().map(ProgressBody::from);
            Ok(Json(BackupProgress { progress }).into_response())
        }
        .await,
    )
}
