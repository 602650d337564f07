//! Plugin packages (install, list, inspect) and enabling them per tenant.

use super::*;

#[derive(Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Enable {
    /// The version to run (default: the newest installed).
    #[serde(default)]
    version: Option<String>,
    /// Report what would happen, run the migration, and roll it all back.
    #[serde(default)]
    dry_run: bool,
}

/// `PUT /admin/tenants/{tenant}/plugins/{plugin}` with an optional
/// `{"version", "dry_run"}`: enables, upgrades (running `migrate`), or
/// reports what an upgrade would do.
#[utoipa::path(put, path = "/admin/tenants/{tenant}/plugins/{plugin}", tag = "plugins", params(("tenant" = String, Path), ("plugin" = String, Path)), request_body(content = Option<Enable>, description = "Optional: a version and dry_run"), responses((status = 200, description = "What was (or, in a dry run, would be) done", body = EnabledBody), (status = 409, description = "A downgrade"), (status = 422, description = "The migration failed; nothing changed")))]
pub(crate) async fn enable_plugin(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let (tenant, plugin) = path(ids)?;
            let (tenant, plugin) =
                (TenantId::new(tenant).map_err(unknown)?, PluginId::new(plugin).map_err(unknown)?);
            let actor =
                allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            let limit = body_limit(&state);
            let bytes = crate::extract::read_body(request.into_body(), limit).await?;
            let body: Enable = if bytes.is_empty() {
                Enable::default()
            } else {
                serde_json::from_slice(&bytes)
                    .map_err(|err| Problem::bad_request(format!("request body: {err}")))?
            };
            let report = state
                .platform
                .enable_plugin(&actor, &tenant, &plugin, body.version, body.dry_run)
                .await
                .map_err(Problem::from_platform)?;
            let report = EnableReportBody::from(&report);
            Ok(Json(EnabledBody { tenant: tenant.to_string(), report }).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/plugins/{plugin}`: stops serving; data is kept.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/plugins/{plugin}", tag = "plugins", params(("tenant" = String, Path), ("plugin" = String, Path)), responses((status = 204, description = "Disabled; data kept")))]
pub(crate) async fn disable_plugin(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, plugin) = path(ids)?;
            let (tenant, plugin) =
                (TenantId::new(tenant).map_err(unknown)?, PluginId::new(plugin).map_err(unknown)?);
            let actor =
                allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            state
                .platform
                .disable_plugin(&actor, &tenant, &plugin)
                .await
                .map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

/// `{"interface", "plugin"}`: which enabled plugin provides a domain interface.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Provider {
    /// The domain interface, such as `keel:erp/stock@0.3.0`.
    interface: String,
    /// The enabled plugin that is to provide it.
    plugin: String,
}

/// `GET /admin/tenants/{tenant}/providers`: for each domain interface, the
/// tenant's provider, the enabled plugins that could provide it, and those
/// that require it.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/providers", tag = "plugins", params(("tenant" = String, Path)), responses((status = 200, description = "Each interface with its provider, candidates and consumers", body = ProvidersBody)))]
pub(crate) async fn providers(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(id)?).map_err(unknown)?;
            allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            let providers = state.platform.providers(&tenant).map_err(Problem::from_platform)?;
            let providers: Vec<ProviderBody> = bodies(&providers);
            Ok(Json(ProvidersBody { tenant: tenant.to_string(), providers }).into_response())
        }
        .await,
    )
}

/// `PUT /admin/tenants/{tenant}/providers` with `{"interface", "plugin"}`:
/// makes an enabled plugin the tenant's provider of a domain interface, such
/// as `inventory-lots` for `keel:erp/stock@0.3.0`.
#[utoipa::path(put, path = "/admin/tenants/{tenant}/providers", tag = "plugins", params(("tenant" = String, Path)), request_body = Provider, responses((status = 200, description = "The interface with its new provider", body = ProviderBody), (status = 409, description = "The plugin is not enabled for the tenant"), (status = 422, description = "An unknown interface, or a plugin that does not provide it")))]
pub(crate) async fn choose_provider(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(id)?).map_err(unknown)?;
            let actor =
                allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            let body: Provider = json(request, body_limit(&state)).await?;
            let plugin = PluginId::new(&body.plugin).map_err(|err| {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("plugin: {err}"))
            })?;
            let choice = state
                .platform
                .choose_provider(&actor, &tenant, &body.interface, &plugin)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(ProviderBody::from(&choice)).into_response())
        }
        .await,
    )
}

/// `POST /admin/packages` with the component bytes as the body.
#[utoipa::path(post, path = "/admin/packages", tag = "packages", request_body(content = Vec<u8>, content_type = "application/wasm"), responses((status = 201, description = "Installed", body = PackageBody), (status = 200, description = "Already installed", body = PackageBody), (status = 422, description = "Not a valid plugin component")))]
pub(crate) async fn install_package(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Response {
    respond(
        async {
            // Authorize from the headers alone, before a byte of the body is
            // kept. A refused client that waits for `100 Continue` is answered
            // at once; one that sends its body anyway has it read and dropped
            // (bounded, like every body), since answering while an upload is
            // still arriving resets the connection and the client would see
            // an error instead of its 403.
            let actor = caller.authenticate(&state.platform)?;
            let limit = state.platform.host().limits().package_bytes_max;
            let (parts, body) = request.into_parts();
            let allowed =
                state.platform.authorize(&actor.principal, Scope::Platform, PACKAGES_MANAGE).await;
            if let Err(refused) = allowed {
                if !crate::extract::expects_continue(&parts.headers) {
                    crate::extract::discard_body(body, limit).await;
                }
                return Err(Problem::from_platform(refused));
            }
            let wasm = crate::extract::read_body(body, limit).await?;
            if wasm.is_empty() {
                return Err(Problem::bad_request("the body must be a plugin component (.wasm)"));
            }
            let (plugin, created) = state
                .platform
                .install_package(&actor, wasm)
                .await
                .map_err(Problem::from_platform)?;
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(PackageBody::from(plugin.as_ref()))).into_response())
        }
        .await,
    )
}

/// `GET /admin/packages`
#[utoipa::path(get, path = "/admin/packages", tag = "packages", params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "A page of installed packages and the cursor of the next", body = PackagePage)))]
pub(crate) async fn packages(
    State(state): State<AppState>,
    caller: Caller,
    query: PageParams,
) -> Response {
    respond(
        async {
            allow(&state.platform, &caller, Scope::Platform, PACKAGES_READ).await?;
            let packages: Vec<PackageBody> =
                state.platform.packages().iter().map(|p| PackageBody::from(p.as_ref())).collect();
            let key = |p: &PackageBody| format!("{}@{:0>10}", p.id, p.digest);
            let (packages, cursor) = paged(packages, key, query)?;
            Ok(Json(PackagePage { packages, cursor }).into_response())
        }
        .await,
    )
}

/// `GET /admin/packages/{plugin}/{version}`: what the package declares and asks for.
#[utoipa::path(get, path = "/admin/packages/{plugin}/{version}", tag = "packages", params(("plugin" = String, Path), ("version" = String, Path)), responses((status = 200, description = "What the package declares and imports", body = PackageDetail)))]
pub(crate) async fn package(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (plugin, version) = path(ids)?;
            let plugin = PluginId::new(plugin).map_err(unknown)?;
            allow(&state.platform, &caller, Scope::Platform, PACKAGES_READ).await?;
            let package =
                state.platform.package(&plugin, &version).map_err(Problem::from_platform)?;
            Ok(Json(PackageDetail::from(package.as_ref())).into_response())
        }
        .await,
    )
}

/// What enabling a plugin for a tenant did, or (in a dry run) would do.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct EnabledBody {
    tenant: String,
    report: EnableReportBody,
}

/// A tenant's domain interfaces and who provides each.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ProvidersBody {
    tenant: String,
    providers: Vec<ProviderBody>,
}

/// An installed package, as lists show it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct PackageBody {
    /// The plugin's id.
    id: String,
    /// Its version.
    version: String,
    /// The SHA-256 of the component, hex.
    digest: String,
    /// Its display name and what it does.
    name: String,
    description: String,
    /// The WIT world it targets.
    world: String,
}

impl From<&Plugin> for PackageBody {
    fn from(plugin: &Plugin) -> Self {
        let m = plugin.manifest();
        Self {
            id: m.id.to_string(),
            version: m.version.clone(),
            digest: plugin.digest().to_owned(),
            name: m.name.clone(),
            description: m.description.clone(),
            world: m.world.clone(),
        }
    }
}

/// A page of installed packages.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct PackagePage {
    packages: Vec<PackageBody>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    cursor: Option<String>,
}

/// A package with everything its manifest declares, and the component's
/// imports and exports.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct PackageDetail {
    /// The plugin's id.
    id: String,
    /// Its version.
    version: String,
    /// The SHA-256 of the component, hex.
    digest: String,
    /// Its display name and what it does.
    name: String,
    description: String,
    /// The WIT world it targets.
    world: String,
    /// The permissions it declares.
    permissions: Vec<PermissionBody>,
    /// The roles it declares.
    roles: Vec<PluginRoleBody>,
    /// Its collections and their indexes.
    collections: Vec<CollectionBody>,
    /// Its operations.
    operations: Vec<OperationBody>,
    /// The interfaces the component imports and exports.
    imports: Vec<String>,
    exports: Vec<String>,
}

/// A permission a package declares.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct PermissionBody {
    id: String,
    description: String,
}

/// A role a package declares, and what it grants.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct PluginRoleBody {
    id: String,
    description: String,
    permissions: Vec<String>,
}

/// A collection a package declares.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct CollectionBody {
    name: String,
    indexes: Vec<IndexBody>,
    /// Whether its documents are personal data, sealed at rest.
    sensitive: bool,
}

/// A secondary index of a collection.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct IndexBody {
    name: String,
    /// Where the indexed values are, such as `date` or `lines[].account`.
    field: String,
}

/// An operation a package declares.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct OperationBody {
    id: String,
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    method: String,
    /// Its path under `/api/{tenant}/{plugin}`.
    path: String,
    /// The permission it requires.
    permission: String,
    summary: String,
    /// Whether the package's contract describes its request and answer.
    typed: bool,
}

impl From<&Plugin> for PackageDetail {
    fn from(plugin: &Plugin) -> Self {
        let m = plugin.manifest();
        let PackageBody { id, version, digest, name, description, world } = plugin.into();
        let permissions = m
            .permissions
            .iter()
            .map(|p| PermissionBody { id: p.id.clone(), description: p.description.clone() })
            .collect();
        let roles = m
            .roles
            .iter()
            .map(|r| PluginRoleBody {
                id: r.id.clone(),
                description: r.description.clone(),
                permissions: r.permissions.clone(),
            })
            .collect();
        let collections = m
            .collections
            .iter()
            .map(|c| CollectionBody {
                name: c.name.clone(),
                indexes: c
                    .indexes
                    .iter()
                    .map(|i| IndexBody { name: i.name.clone(), field: i.field.as_str().to_owned() })
                    .collect(),
                sensitive: c.sensitive,
            })
            .collect();
        let operations = m
            .operations
            .iter()
            .map(|o| OperationBody {
                id: o.id.clone(),
                method: o.method.as_str().to_owned(),
                path: o.path.to_string(),
                permission: o.permission.clone(),
                summary: o.summary.clone(),
                typed: plugin.contract().describes(&o.id),
            })
            .collect();
        Self {
            id,
            version,
            digest,
            name,
            description,
            world,
            permissions,
            roles,
            collections,
            operations,
            imports: plugin.imports().to_vec(),
            exports: plugin.exports().to_vec(),
        }
    }
}
