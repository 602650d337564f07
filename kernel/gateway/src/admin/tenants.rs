//! `/admin/tenants`: create, list, get, rename and delete tenants, and
//! set how much each may store.

use super::*;

/// A tenant as created.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct CreatedTenant {
    /// Its id, also its URL segment.
    id: String,
    /// Its display name.
    name: String,
}

/// A tenant.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct TenantBody {
    /// Its id, also its URL segment.
    id: String,
    /// Its display name.
    name: String,
    /// The most bytes it may store, if set for it; null where the kernel's
    /// default holds.
    #[schema(required = true)]
    storage_quota_bytes: Option<u64>,
}

impl From<&keel_host::TenantInfo> for TenantBody {
    fn from(tenant: &keel_host::TenantInfo) -> Self {
        Self {
            id: tenant.id.to_string(),
            name: tenant.name.clone(),
            storage_quota_bytes: tenant.storage_quota_bytes,
        }
    }
}

/// A page of tenants.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct TenantPage {
    tenants: Vec<TenantBody>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    cursor: Option<String>,
}

/// A tenant with what it stores against its quota.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct TenantStorage {
    /// Its id, also its URL segment.
    id: String,
    /// Its display name.
    name: String,
    /// The most bytes it may store, if set for it; null where the kernel's
    /// default holds.
    #[schema(required = true)]
    storage_quota_bytes: Option<u64>,
    storage: StorageBody,
}

/// What a tenant stores against its quota.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct StorageBody {
    /// Bytes stored: documents, index entries, its kernel records and its
    /// audit trail.
    stored_bytes: u64,
    /// The most it may store: its own quota, or the kernel's default.
    quota_bytes: u64,
    /// Whether that is the kernel's default.
    quota_is_default: bool,
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTenant {
    id: String,
    name: String,
}

/// `POST /admin/tenants`
#[utoipa::path(post, path = "/admin/tenants", tag = "tenants", request_body = NewTenant, responses((status = 201, description = "Created", body = CreatedTenant), (status = 409, description = "Exists"), (status = 422, description = "Invalid")))]
pub(crate) async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Response {
    respond(
        async {
            let actor = allow(&state.platform, &caller, Scope::Platform, TENANTS_MANAGE).await?;
            let body: NewTenant = json(request, body_limit(&state)).await?;
            let tenant = TenantId::new(&body.id).map_err(|err| {
                Problem::from_platform(keel_platform::PlatformError::Invalid(err.to_string()))
            })?;
            let created = state
                .platform
                .create_tenant(&actor, &tenant, &body.name)
                .await
                .map_err(Problem::from_platform)?;
            Ok((
                StatusCode::CREATED,
                Json(CreatedTenant { id: created.id.to_string(), name: created.name }),
            )
                .into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants`
#[utoipa::path(get, path = "/admin/tenants", tag = "tenants", params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "A page of tenants and the cursor of the next", body = TenantPage)))]
pub(crate) async fn tenants(
    State(state): State<AppState>,
    caller: Caller,
    query: PageParams,
) -> Response {
    respond(
        async {
            allow(&state.platform, &caller, Scope::Platform, TENANTS_MANAGE).await?;
            let tenants = state.platform.tenants().map_err(Problem::from_platform)?;
            let tenants: Vec<TenantBody> = bodies(&tenants);
            let (tenants, cursor) = paged(tenants, |t| t.id.clone(), query)?;
            Ok(Json(TenantPage { tenants, cursor }).into_response())
        }
        .await,
    )
}

/// A tenant with what it stores against its quota, which is its own or
/// the kernel's default.
async fn tenant_with_storage(
    state: &AppState,
    tenant: &keel_host::TenantInfo,
) -> Result<TenantStorage, Problem> {
    let (stored, quota) =
        state.platform.tenant_storage(&tenant.id).await.map_err(Problem::from_platform)?;
    let TenantBody { id, name, storage_quota_bytes } = TenantBody::from(tenant);
    let storage = StorageBody {
        stored_bytes: stored,
        quota_bytes: quota,
        quota_is_default: storage_quota_bytes.is_none(),
    };
    Ok(TenantStorage { id, name, storage_quota_bytes, storage })
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StorageQuota {
    /// The most bytes the tenant may store: documents, index entries, its
    /// kernel records and its audit trail.
    storage_bytes: u64,
}

/// `PUT /admin/tenants/{tenant}/storage-quota` with `{"storage_bytes"}`:
/// the most the tenant may store. A call that would store more fails with
/// 507 and changes nothing; lowering it below what the tenant stores
/// deletes nothing.
#[utoipa::path(put, path = "/admin/tenants/{tenant}/storage-quota", tag = "tenants", params(("tenant" = String, Path)), request_body = StorageQuota, responses((status = 200, description = "The tenant, with what it stores", body = TenantStorage), (status = 404, description = "No such tenant"), (status = 422, description = "Invalid")))]
pub(crate) async fn set_storage_quota(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(tenant)?).map_err(unknown)?;
            let actor = allow(&state.platform, &caller, Scope::Platform, TENANTS_MANAGE).await?;
            let body: StorageQuota = json(request, body_limit(&state)).await?;
            let set = state
                .platform
                .set_tenant_quota(&actor, &tenant, Some(body.storage_bytes))
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(tenant_with_storage(&state, &set).await?).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/storage-quota`: the tenant goes back to
/// the kernel's default quota (`--tenant-storage-mib`).
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/storage-quota", tag = "tenants", params(("tenant" = String, Path)), responses((status = 200, description = "The tenant, with what it stores", body = TenantStorage), (status = 404, description = "No such tenant")))]
pub(crate) async fn reset_storage_quota(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(tenant)?).map_err(unknown)?;
            let actor = allow(&state.platform, &caller, Scope::Platform, TENANTS_MANAGE).await?;
            let set = state
                .platform
                .set_tenant_quota(&actor, &tenant, None)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(tenant_with_storage(&state, &set).await?).into_response())
        }
        .await,
    )
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantUpdate {
    name: String,
}

/// `GET /admin/tenants/{tenant}`
#[utoipa::path(get, path = "/admin/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)), responses((status = 200, description = "The tenant, with what it stores", body = TenantStorage), (status = 404, description = "No such tenant")))]
pub(crate) async fn tenant(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(tenant)?).map_err(unknown)?;
            allow(&state.platform, &caller, Scope::Platform, TENANTS_MANAGE).await?;
            let found = state.platform.tenant(&tenant).map_err(Problem::from_platform)?;
            Ok(Json(tenant_with_storage(&state, &found).await?).into_response())
        }
        .await,
    )
}

/// `PATCH /admin/tenants/{tenant}` with `{"name"}`
#[utoipa::path(patch, path = "/admin/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)), request_body = TenantUpdate, responses((status = 200, description = "Renamed", body = TenantBody)))]
pub(crate) async fn update_tenant(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(tenant)?).map_err(unknown)?;
            let actor = allow(&state.platform, &caller, Scope::Platform, TENANTS_MANAGE).await?;
            let body: TenantUpdate = json(request, body_limit(&state)).await?;
            let renamed = state
                .platform
                .rename_tenant(&actor, &tenant, &body.name)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(TenantBody::from(&renamed)).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}`: only a tenant that never had plugins.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)), responses((status = 204, description = "Deleted"), (status = 409, description = "It has had plugins and may hold their data")))]
pub(crate) async fn delete_tenant(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(tenant)?).map_err(unknown)?;
            let actor = allow(&state.platform, &caller, Scope::Platform, TENANTS_MANAGE).await?;
            state.platform.delete_tenant(&actor, &tenant).await.map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}
