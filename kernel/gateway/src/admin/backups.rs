//! `/admin/backups`: make a backup of the whole kernel (its database as of
//! one moment and its packages, with a manifest of checksums) while it
//! serves, and list those made. `keel restore` restores one, offline.

use super::*;

/// `POST /admin/backups`
#[utoipa::path(post, path = "/admin/backups", tag = "backups", responses((status = 201, description = "The backup's manifest: its id (the directory under the kernel's backups directory), when its snapshot was taken, what its database holds, and each file's size and SHA-256"), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.backups.manage"), (status = 409, description = "Another backup is being made")))]
pub(crate) async fn create_backup(State(state): State<AppState>, caller: Caller) -> Response {
    respond(
        async {
            let actor = allow(&state.platform, &caller, Scope::Platform, BACKUPS_MANAGE).await?;
            let backup = state.platform.back_up(&actor).await.map_err(Problem::from_platform)?;
            Ok((StatusCode::CREATED, Json(backup)).into_response())
        }
        .await,
    )
}

/// `GET /admin/backups`
#[utoipa::path(get, path = "/admin/backups", tag = "backups", params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query, description = "The id of the last backup seen")), responses((status = 200, description = "A page of backups, oldest first, as their manifests say, and the cursor of the next"), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.backups.manage")))]
pub(crate) async fn backups(
    State(state): State<AppState>,
    caller: Caller,
    query: PageParams,
) -> Response {
    respond(
        async {
            allow(&state.platform, &caller, Scope::Platform, BACKUPS_MANAGE).await?;
            let backups = state.platform.backups().await.map_err(Problem::from_platform)?;
            let key = |b: &keel_host::Backup| b.id.clone();
            Ok(Json(page("backups", backups, key, query)?).into_response())
        }
        .await,
    )
}
