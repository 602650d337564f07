//! `/admin/…`: tenants, users, memberships and plugin enablement. Each
//! route authenticates, then checks the kernel permission it declares.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keel_platform::{
    AUDIT_READ, MEMBERS_MANAGE, MEMBERS_READ, PACKAGES_MANAGE, PACKAGES_READ, PLUGINS_MANAGE,
    Platform, Plugin, Principal, ROLES_MANAGE, Scope, TENANTS_MANAGE, TOKENS_MANAGE, USERS_MANAGE,
};
use keel_types::{PluginId, TenantId, UserId};
use serde::de::DeserializeOwned;

use crate::auth::bearer;
use crate::page::{PageQuery, page};
use crate::problem::Problem;
use crate::server::AppState;

type Reply = Result<Response, Problem>;
type PageParams = Result<axum::extract::Query<PageQuery>, axum::extract::rejection::QueryRejection>;

/// Reads a JSON body with the kernel's body limit; malformed JSON, unknown
/// fields and missing fields are a 400 that says where.
pub(crate) async fn json<T: DeserializeOwned>(
    request: Request,
    limit: usize,
) -> Result<T, Problem> {
    let bytes = crate::api::read_body(request.into_body(), limit).await?;
    serde_json::from_slice(&bytes)
        .map_err(|err| Problem::bad_request(format!("request body: {err}")))
}

/// Authenticates the caller and checks `permission` in `scope`.
async fn allow(
    platform: &Platform,
    headers: &HeaderMap,
    scope: Scope<'_>,
    permission: &str,
) -> Result<Principal, Problem> {
    let principal = platform.authenticate(bearer(headers)).map_err(Problem::from_platform)?;
    platform.authorize(&principal, scope, permission).await.map_err(Problem::from_platform)?;
    Ok(principal)
}

/// Parses a `{tenant}` path segment and checks `permission` in it.
async fn in_tenant(
    state: &AppState,
    headers: &HeaderMap,
    raw: String,
    permission: &str,
) -> Result<TenantId, Problem> {
    Ok(in_tenant_as(state, headers, raw, permission).await?.0)
}

/// [`in_tenant`], also returning who is acting.
async fn in_tenant_as(
    state: &AppState,
    headers: &HeaderMap,
    raw: String,
    permission: &str,
) -> Result<(TenantId, Principal), Problem> {
    let tenant = TenantId::new(raw).map_err(unknown)?;
    let actor = allow(&state.platform, headers, Scope::Tenant(&tenant), permission).await?;
    Ok((tenant, actor))
}

/// The largest JSON body an admin route reads.
fn body_limit(state: &AppState) -> usize {
    state.platform.host().limits().request_body_bytes_max
}

/// A malformed id in a path names nothing that can exist.
fn unknown(err: keel_types::IdError) -> Problem {
    Problem::not_found(err.to_string())
}

fn path<T>(path: Result<Path<T>, PathRejection>) -> Result<T, Problem> {
    path.map(|Path(value)| value).map_err(|err| Problem::bad_request(err.body_text()))
}

fn respond(result: Reply) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTenant {
    id: String,
    name: String,
}

/// `POST /admin/tenants`
#[utoipa::path(post, path = "/admin/tenants", tag = "tenants", request_body = NewTenant, responses((status = 201, description = "Created"), (status = 409, description = "Exists"), (status = 422, description = "Invalid")))]
pub(crate) async fn create_tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    respond(
        async {
            allow(&state.platform, &headers, Scope::Platform, TENANTS_MANAGE).await?;
            let body: NewTenant = json(request, body_limit(&state)).await?;
            let tenant = TenantId::new(&body.id).map_err(|err| {
                Problem::from_platform(keel_platform::PlatformError::Invalid(err.to_string()))
            })?;
            let created = state
                .platform
                .create_tenant(&tenant, &body.name)
                .map_err(Problem::from_platform)?;
            Ok((
                StatusCode::CREATED,
                Json(serde_json::json!({ "id": created.id, "name": created.name })),
            )
                .into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants`
#[utoipa::path(get, path = "/admin/tenants", tag = "tenants", responses((status = 200, description = "Every tenant")))]
pub(crate) async fn tenants(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: PageParams,
) -> Response {
    respond(
        async {
            allow(&state.platform, &headers, Scope::Platform, TENANTS_MANAGE).await?;
            let tenants = state.platform.tenants().map_err(Problem::from_platform)?;
            let tenants: Vec<_> = tenants.iter().map(tenant_json).collect();
            let key = |t: &serde_json::Value| t["id"].as_str().unwrap_or_default().to_owned();
            Ok(Json(page("tenants", tenants, key, query)?).into_response())
        }
        .await,
    )
}

fn tenant_json(tenant: &keel_host::TenantInfo) -> serde_json::Value {
    serde_json::json!({ "id": tenant.id, "name": tenant.name })
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantUpdate {
    name: String,
}

/// `GET /admin/tenants/{tenant}`
#[utoipa::path(get, path = "/admin/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)), responses((status = 200, description = "The tenant"), (status = 404, description = "No such tenant")))]
pub(crate) async fn tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(tenant)?).map_err(unknown)?;
            allow(&state.platform, &headers, Scope::Platform, TENANTS_MANAGE).await?;
            let found = state.platform.tenant(&tenant).map_err(Problem::from_platform)?;
            Ok(Json(tenant_json(&found)).into_response())
        }
        .await,
    )
}

/// `PATCH /admin/tenants/{tenant}` with `{"name"}`
#[utoipa::path(patch, path = "/admin/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)), request_body = TenantUpdate, responses((status = 200, description = "Renamed")))]
pub(crate) async fn update_tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(tenant)?).map_err(unknown)?;
            allow(&state.platform, &headers, Scope::Platform, TENANTS_MANAGE).await?;
            let body: TenantUpdate = json(request, body_limit(&state)).await?;
            let renamed = state
                .platform
                .rename_tenant(&tenant, &body.name)
                .map_err(Problem::from_platform)?;
            Ok(Json(tenant_json(&renamed)).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}`: only a tenant that never had plugins.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)), responses((status = 204, description = "Deleted"), (status = 409, description = "It has had plugins and may hold their data")))]
pub(crate) async fn delete_tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(tenant)?).map_err(unknown)?;
            allow(&state.platform, &headers, Scope::Platform, TENANTS_MANAGE).await?;
            state.platform.delete_tenant(&tenant).await.map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    id: String,
    name: String,
    password: String,
}

/// `POST /admin/users`
#[utoipa::path(post, path = "/admin/users", tag = "users", request_body = NewUser, responses((status = 201, description = "Created"), (status = 409, description = "Exists"), (status = 422, description = "Invalid, such as a password under 12 characters")))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    respond(
        async {
            allow(&state.platform, &headers, Scope::Platform, USERS_MANAGE).await?;
            let body: NewUser = json(request, body_limit(&state)).await?;
            let user = UserId::new(&body.id).map_err(|err| {
                Problem::from_platform(keel_platform::PlatformError::Invalid(err.to_string()))
            })?;
            let created = state
                .platform
                .create_user(user, body.name, body.password)
                .await
                .map_err(Problem::from_platform)?;
            Ok((StatusCode::CREATED, Json(created)).into_response())
        }
        .await,
    )
}

/// `GET /admin/users`
#[utoipa::path(get, path = "/admin/users", tag = "users", responses((status = 200, description = "Every user")))]
pub(crate) async fn users(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: PageParams,
) -> Response {
    respond(
        async {
            allow(&state.platform, &headers, Scope::Platform, USERS_MANAGE).await?;
            let users = state.platform.users().map_err(Problem::from_platform)?;
            Ok(Json(page("users", users, |u| u.id.to_string(), query)?).into_response())
        }
        .await,
    )
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserUpdate {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// `GET /admin/users/{user}`
#[utoipa::path(get, path = "/admin/users/{user}", tag = "users", params(("user" = String, Path)), responses((status = 200, description = "The user"), (status = 404, description = "No such user")))]
pub(crate) async fn user(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let user = UserId::new(path(user)?).map_err(unknown)?;
            allow(&state.platform, &headers, Scope::Platform, USERS_MANAGE).await?;
            Ok(Json(state.platform.user(&user).map_err(Problem::from_platform)?).into_response())
        }
        .await,
    )
}

/// `PATCH /admin/users/{user}` with `{"name"?, "password"?}`: a new password ends the user's sessions.
#[utoipa::path(patch, path = "/admin/users/{user}", tag = "users", params(("user" = String, Path)), request_body = UserUpdate, responses((status = 200, description = "Updated"), (status = 422, description = "Invalid")))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let user = UserId::new(path(user)?).map_err(unknown)?;
            allow(&state.platform, &headers, Scope::Platform, USERS_MANAGE).await?;
            let body: UserUpdate = json(request, body_limit(&state)).await?;
            let updated = state
                .platform
                .update_user(user, body.name, body.password)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(updated).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/users/{user}`
#[utoipa::path(delete, path = "/admin/users/{user}", tag = "users", params(("user" = String, Path)), responses((status = 204, description = "Deleted with their memberships"), (status = 409, description = "The last platform administrator")))]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let user = UserId::new(path(user)?).map_err(unknown)?;
            allow(&state.platform, &headers, Scope::Platform, USERS_MANAGE).await?;
            state.platform.delete_user(&user).await.map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/members`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/members", tag = "members", params(("tenant" = String, Path)), responses((status = 200, description = "Members, their roles, and the grantable roles")))]
pub(crate) async fn members(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &headers, path(tenant)?, MEMBERS_READ).await?;
            let members = state.platform.members(&tenant).map_err(Problem::from_platform)?;
            let mut listed = page("members", members, |m| m.user.to_string(), query)?;
            listed["grantable_roles"] = serde_json::json!(state.platform.grantable_roles(&tenant));
            Ok(Json(listed).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/members/{user}`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/members/{user}", tag = "members", params(("tenant" = String, Path), ("user" = String, Path)), responses((status = 200, description = "The member's roles"), (status = 404, description = "Not a member")))]
pub(crate) async fn member(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, user) = path(ids)?;
            let (tenant, user) =
                (TenantId::new(tenant).map_err(unknown)?, UserId::new(user).map_err(unknown)?);
            allow(&state.platform, &headers, Scope::Tenant(&tenant), MEMBERS_READ).await?;
            let members = state.platform.members(&tenant).map_err(Problem::from_platform)?;
            let member = members.into_iter().find(|m| m.user == user);
            let member = member
                .ok_or_else(|| Problem::not_found(format!("{user} is not a member of {tenant}")))?;
            Ok(Json(member).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/members/{user}`: takes every role away.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/members/{user}", tag = "members", params(("tenant" = String, Path), ("user" = String, Path)), responses((status = 204, description = "No longer a member")))]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, user) = path(ids)?;
            let (tenant, user) =
                (TenantId::new(tenant).map_err(unknown)?, UserId::new(user).map_err(unknown)?);
            let actor =
                allow(&state.platform, &headers, Scope::Tenant(&tenant), MEMBERS_MANAGE).await?;
            state
                .platform
                .set_roles(&actor, &tenant, &user, &[])
                .await
                .map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Roles {
    roles: Vec<String>,
}

/// `PUT /admin/tenants/{tenant}/members/{user}` with `{"roles": [...]}`
#[utoipa::path(put, path = "/admin/tenants/{tenant}/members/{user}", tag = "members", params(("tenant" = String, Path), ("user" = String, Path)), request_body = Roles, responses((status = 200, description = "The user's roles now"), (status = 404, description = "No such tenant or user"), (status = 422, description = "A role is not grantable")))]
pub(crate) async fn set_roles(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let (tenant, user) = path(ids)?;
            let (tenant, user) =
                (TenantId::new(tenant).map_err(unknown)?, UserId::new(user).map_err(unknown)?);
            let actor =
                allow(&state.platform, &headers, Scope::Tenant(&tenant), MEMBERS_MANAGE).await?;
            let body: Roles = json(request, body_limit(&state)).await?;
            let roles = state
                .platform
                .set_roles(&actor, &tenant, &user, &body.roles)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(serde_json::json!({ "tenant": tenant, "user": user, "roles": roles }))
                .into_response())
        }
        .await,
    )
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    name: String,
    roles: Vec<String>,
    expires_in_days: u32,
}

/// `POST /admin/tenants/{tenant}/tokens`: the secret is in this answer only.
#[utoipa::path(post, path = "/admin/tenants/{tenant}/tokens", tag = "tokens", params(("tenant" = String, Path)), request_body = NewToken, responses((status = 201, description = "The token and its secret, shown only now")))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let (tenant, actor) =
                in_tenant_as(&state, &headers, path(tenant)?, TOKENS_MANAGE).await?;
            let body: NewToken = json(request, body_limit(&state)).await?;
            let (token, secret) = state
                .platform
                .create_token(&actor, &tenant, &body.name, &body.roles, body.expires_in_days)
                .await
                .map_err(Problem::from_platform)?;
            Ok((StatusCode::CREATED, Json(serde_json::json!({ "token": token, "secret": secret })))
                .into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/tokens`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/tokens", tag = "tokens", params(("tenant" = String, Path)), responses((status = 200, description = "The tenant's tokens, without secrets")))]
pub(crate) async fn tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &headers, path(tenant)?, TOKENS_MANAGE).await?;
            let tokens = state.platform.tokens(&tenant).map_err(Problem::from_platform)?;
            Ok(Json(page("tokens", tokens, |t| t.id.clone(), query)?).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/tokens/{id}`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/tokens/{id}", tag = "tokens", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 200, description = "The token, without its secret"), (status = 404, description = "No such token")))]
pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, id) = path(ids)?;
            let tenant = in_tenant(&state, &headers, tenant, TOKENS_MANAGE).await?;
            let tokens = state.platform.tokens(&tenant).map_err(Problem::from_platform)?;
            let token = tokens
                .into_iter()
                .find(|t| t.id == id)
                .ok_or_else(|| Problem::not_found(format!("token {id} does not exist")))?;
            Ok(Json(token).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/tokens/{id}`: revokes at once.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/tokens/{id}", tag = "tokens", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 204, description = "Revoked"), (status = 404, description = "No such token")))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, id) = path(ids)?;
            let tenant = in_tenant(&state, &headers, tenant, TOKENS_MANAGE).await?;
            state.platform.revoke_token(&tenant, &id).await.map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

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
#[utoipa::path(put, path = "/admin/tenants/{tenant}/plugins/{plugin}", tag = "plugins", params(("tenant" = String, Path), ("plugin" = String, Path)), request_body(content = Option<Enable>, description = "Optional: a version and dry_run"), responses((status = 200, description = "What was (or, in a dry run, would be) done"), (status = 409, description = "A downgrade"), (status = 422, description = "The migration failed; nothing changed")))]
pub(crate) async fn enable_plugin(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let (tenant, plugin) = path(ids)?;
            let (tenant, plugin) =
                (TenantId::new(tenant).map_err(unknown)?, PluginId::new(plugin).map_err(unknown)?);
            let actor =
                allow(&state.platform, &headers, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            let limit = body_limit(&state);
            let bytes = crate::api::read_body(request.into_body(), limit).await?;
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
            Ok(Json(serde_json::json!({ "tenant": tenant, "report": report })).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/plugins/{plugin}`: stops serving; data is kept.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/plugins/{plugin}", tag = "plugins", params(("tenant" = String, Path), ("plugin" = String, Path)), responses((status = 204, description = "Disabled; data kept")))]
pub(crate) async fn disable_plugin(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, plugin) = path(ids)?;
            let (tenant, plugin) =
                (TenantId::new(tenant).map_err(unknown)?, PluginId::new(plugin).map_err(unknown)?);
            let actor =
                allow(&state.platform, &headers, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
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

/// `POST /admin/packages` with the component bytes as the body.
#[utoipa::path(post, path = "/admin/packages", tag = "packages", request_body(content = Vec<u8>, content_type = "application/wasm"), responses((status = 201, description = "Installed"), (status = 200, description = "Already installed"), (status = 422, description = "Not a valid plugin component")))]
pub(crate) async fn install_package(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    respond(
        async {
            allow(&state.platform, &headers, Scope::Platform, PACKAGES_MANAGE).await?;
            let limit = state.platform.host().limits().package_bytes_max;
            let wasm = crate::api::read_body(request.into_body(), limit).await?;
            if wasm.is_empty() {
                return Err(Problem::bad_request("the body must be a plugin component (.wasm)"));
            }
            let (plugin, created) =
                state.platform.install_package(wasm).await.map_err(Problem::from_platform)?;
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(package_json(&plugin, false))).into_response())
        }
        .await,
    )
}

/// `GET /admin/packages`
#[utoipa::path(get, path = "/admin/packages", tag = "packages", responses((status = 200, description = "Installed packages")))]
pub(crate) async fn packages(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: PageParams,
) -> Response {
    respond(
        async {
            allow(&state.platform, &headers, Scope::Platform, PACKAGES_READ).await?;
            let packages: Vec<_> =
                state.platform.packages().iter().map(|p| package_json(p, false)).collect();
            let key = |p: &serde_json::Value| {
                format!(
                    "{}@{:0>10}",
                    p["id"].as_str().unwrap_or_default(),
                    p["digest"].as_str().unwrap_or_default()
                )
            };
            Ok(Json(page("packages", packages, key, query)?).into_response())
        }
        .await,
    )
}

/// `GET /admin/packages/{plugin}/{version}`: what the package declares and asks for.
#[utoipa::path(get, path = "/admin/packages/{plugin}/{version}", tag = "packages", params(("plugin" = String, Path), ("version" = String, Path)), responses((status = 200, description = "What the package declares and imports")))]
pub(crate) async fn package(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (plugin, version) = path(ids)?;
            let plugin = PluginId::new(plugin).map_err(unknown)?;
            allow(&state.platform, &headers, Scope::Platform, PACKAGES_READ).await?;
            let package =
                state.platform.package(&plugin, &version).map_err(Problem::from_platform)?;
            Ok(Json(package_json(&package, true)).into_response())
        }
        .await,
    )
}

/// A package as the admin API shows it; `detailed` adds everything the
/// manifest declares and the component's imports and exports.
fn package_json(plugin: &Plugin, detailed: bool) -> serde_json::Value {
    let m = plugin.manifest();
    let mut json = serde_json::json!({
        "id": m.id, "version": m.version, "digest": plugin.digest(),
        "name": m.name, "description": m.description, "world": m.world,
    });
    if detailed {
        json["permissions"] = m
            .permissions
            .iter()
            .map(|p| serde_json::json!({ "id": p.id, "description": p.description }))
            .collect();
        json["roles"] = m.roles.iter().map(|r| serde_json::json!({ "id": r.id, "description": r.description, "permissions": r.permissions })).collect();
        json["collections"] = m
            .collections
            .iter()
            .map(|c| {
                let indexes: Vec<_> = c
                    .indexes
                    .iter()
                    .map(|i| serde_json::json!({ "name": i.name, "field": i.field.as_str() }))
                    .collect();
                serde_json::json!({ "name": c.name, "indexes": indexes, "sensitive": c.sensitive })
            })
            .collect();
        json["operations"] = m
            .operations
            .iter()
            .map(|o| serde_json::json!({ "id": o.id, "method": o.method.as_str(), "path": o.path.to_string(), "permission": o.permission, "summary": o.summary }))
            .collect();
        json["imports"] = serde_json::json!(plugin.imports());
        json["exports"] = serde_json::json!(plugin.exports());
    }
    json
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Permissions {
    permissions: Vec<String>,
}

/// `GET /admin/tenants/{tenant}/roles`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/roles", tag = "roles", params(("tenant" = String, Path)), responses((status = 200, description = "Grantable roles and what each grants")))]
pub(crate) async fn roles(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &headers, path(tenant)?, MEMBERS_READ).await?;
            let roles =
                state.platform.tenant_roles(&tenant).await.map_err(Problem::from_platform)?;
            Ok(Json(serde_json::json!({ "roles": roles })).into_response())
        }
        .await,
    )
}

/// `PUT /admin/tenants/{tenant}/roles/{role}` with `{"permissions": [...]}`
#[utoipa::path(put, path = "/admin/tenants/{tenant}/roles/{role}", tag = "roles", params(("tenant" = String, Path), ("role" = String, Path)), request_body = Permissions, responses((status = 200, description = "Defined"), (status = 409, description = "A built-in or plugin role, or a member would break a segregation-of-duties rule"), (status = 422, description = "A malformed permission")))]
pub(crate) async fn define_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    respond(async {
        let (tenant, role) = path(ids)?;
        let (tenant, actor) = in_tenant_as(&state, &headers, tenant, ROLES_MANAGE).await?;
        let body: Permissions = json(request, body_limit(&state)).await?;
        state.platform.define_tenant_role(&actor, &tenant, &role, &body.permissions).await.map_err(Problem::from_platform)?;
        Ok(Json(serde_json::json!({ "tenant": tenant, "role": role, "permissions": body.permissions })).into_response())
    }
    .await)
}

/// `GET /admin/tenants/{tenant}/sod`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/sod", tag = "roles", params(("tenant" = String, Path)), responses((status = 200, description = "Segregation-of-duties rules")))]
pub(crate) async fn sod_rules(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &headers, path(tenant)?, MEMBERS_READ).await?;
            let rules = state.platform.sod_rules(&tenant).map_err(Problem::from_platform)?;
            Ok(Json(serde_json::json!({ "rules": rules })).into_response())
        }
        .await,
    )
}

/// `PUT /admin/tenants/{tenant}/sod/{rule}` with `{"permissions": [a, b]}`
#[utoipa::path(put, path = "/admin/tenants/{tenant}/sod/{rule}", tag = "roles", params(("tenant" = String, Path), ("rule" = String, Path)), request_body = Permissions, responses((status = 200, description = "Defined"), (status = 409, description = "Someone already holds all the permissions"), (status = 422, description = "Malformed")))]
pub(crate) async fn put_sod_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    respond(async {
        let (tenant, rule) = path(ids)?;
        let tenant = in_tenant(&state, &headers, tenant, ROLES_MANAGE).await?;
        let body: Permissions = json(request, body_limit(&state)).await?;
        state.platform.put_sod_rule(&tenant, &rule, &body.permissions).await.map_err(Problem::from_platform)?;
        Ok(Json(serde_json::json!({ "tenant": tenant, "rule": rule, "permissions": body.permissions })).into_response())
    }
    .await)
}

/// `GET /admin/tenants/{tenant}/roles/{role}`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/roles/{role}", tag = "roles", params(("tenant" = String, Path), ("role" = String, Path)), responses((status = 200, description = "The role and what it grants"), (status = 404, description = "Not grantable here")))]
pub(crate) async fn role(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, role) = path(ids)?;
            let tenant = in_tenant(&state, &headers, tenant, MEMBERS_READ).await?;
            let roles =
                state.platform.tenant_roles(&tenant).await.map_err(Problem::from_platform)?;
            let found = roles.into_iter().find(|r| r.id == role);
            let found = found.ok_or_else(|| {
                Problem::not_found(format!("role {role:?} is not grantable in {tenant}"))
            })?;
            Ok(Json(found).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/roles/{role}`: only the tenant's own roles, and only when no one holds them.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/roles/{role}", tag = "roles", params(("tenant" = String, Path), ("role" = String, Path)), responses((status = 204, description = "Deleted"), (status = 409, description = "Someone holds it")))]
pub(crate) async fn delete_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, role) = path(ids)?;
            let tenant = in_tenant(&state, &headers, tenant, ROLES_MANAGE).await?;
            state
                .platform
                .delete_tenant_role(&tenant, &role)
                .await
                .map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/sod/{rule}`
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/sod/{rule}", tag = "roles", params(("tenant" = String, Path), ("rule" = String, Path)), responses((status = 204, description = "Deleted"), (status = 404, description = "No such rule")))]
pub(crate) async fn delete_sod_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, rule) = path(ids)?;
            let tenant = in_tenant(&state, &headers, tenant, ROLES_MANAGE).await?;
            state.platform.delete_sod_rule(&tenant, &rule).await.map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

/// `?from=&limit=&actor=&plugin=&collection=&key=&action=&since=&until=&format=`
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    from: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    plugin: Option<String>,
    #[serde(default)]
    collection: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    since: Option<i64>,
    #[serde(default)]
    until: Option<i64>,
    /// For export: `jsonl` (default) or `csv`.
    #[serde(default)]
    format: Option<String>,
}

/// Entries read per request at most, however few match.
const AUDIT_SCAN_MAX: usize = 100_000;
/// Entries one export returns at most; continue from `x-keel-next`.
const AUDIT_EXPORT_MAX: usize = 50_000;

impl AuditQuery {
    fn filter(&self) -> keel_audit::Filter {
        keel_audit::Filter {
            actor: self.actor.clone(),
            plugin: self.plugin.clone(),
            collection: self.collection.clone(),
            key: self.key.clone(),
            action: self.action.clone(),
            since: self.since,
            until: self.until,
        }
    }
}

type AuditParams =
    Result<axum::extract::Query<AuditQuery>, axum::extract::rejection::QueryRejection>;

/// `GET /admin/tenants/{tenant}/audit`: the tenant's audit trail in order,
/// filtered by actor, plugin, collection, key, action and time.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/audit", tag = "audit", params(("tenant" = String, Path), ("from" = Option<u64>, Query), ("limit" = Option<usize>, Query), ("actor" = Option<String>, Query), ("plugin" = Option<String>, Query), ("collection" = Option<String>, Query), ("key" = Option<String>, Query), ("action" = Option<String>, Query), ("since" = Option<i64>, Query), ("until" = Option<i64>, Query)), responses((status = 200, description = "Matching entries and the position to continue from")))]
pub(crate) async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
    query: AuditParams,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &headers, path(tenant)?, AUDIT_READ).await?;
            let axum::extract::Query(query) =
                query.map_err(|err| Problem::bad_request(err.body_text()))?;
            let limit = query.limit.unwrap_or(100);
            if limit == 0 || limit > 1000 {
                return Err(Problem::bad_request("limit must be 1 to 1000"));
            }
            let from = query.from.unwrap_or(1).max(1);
            let (entries, next) = state
                .platform
                .audit_search(&tenant, from, &query.filter(), limit, AUDIT_SCAN_MAX)
                .map_err(Problem::from_platform)?;
            Ok(Json(serde_json::json!({ "entries": entries, "next": next })).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/audit/export?format=jsonl|csv`: the
/// (filtered) trail as JSON lines or CSV; `x-keel-next` says where to continue.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/audit/export", tag = "audit", params(("tenant" = String, Path), ("format" = Option<String>, Query)), responses((status = 200, description = "JSON lines or CSV")))]
pub(crate) async fn audit_export(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
    query: AuditParams,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &headers, path(tenant)?, AUDIT_READ).await?;
            let axum::extract::Query(query) =
                query.map_err(|err| Problem::bad_request(err.body_text()))?;
            let from = query.from.unwrap_or(1).max(1);
            let (entries, next) = state
                .platform
                .audit_search(&tenant, from, &query.filter(), AUDIT_EXPORT_MAX, AUDIT_SCAN_MAX)
                .map_err(Problem::from_platform)?;
            let (body, content_type) = match query.format.as_deref().unwrap_or("jsonl") {
                "jsonl" => {
                    let mut out = String::new();
                    for entry in &entries {
                        out.push_str(
                            &serde_json::to_string(entry).map_err(|err| Problem::internal(&err))?,
                        );
                        out.push('\n');
                    }
                    (out, "application/jsonl")
                }
                "csv" => (crate::csv::audit(&entries), "text/csv"),
                other => {
                    return Err(Problem::bad_request(format!(
                        "format {other:?} is not jsonl or csv"
                    )));
                }
            };
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static(content_type),
            );
            if let Some(next) =
                next.and_then(|n| axum::http::HeaderValue::from_str(&n.to_string()).ok())
            {
                headers.insert("x-keel-next", next);
            }
            Ok(response)
        }
        .await,
    )
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyQuery {
    /// An entry count recorded earlier, with its `head`.
    #[serde(default)]
    entries: Option<u64>,
    /// The hash of entry `entries`, recorded earlier.
    #[serde(default)]
    head: Option<String>,
}

/// `GET /admin/tenants/{tenant}/audit/verify?entries=&head=`: checks the whole chain.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/audit/verify", tag = "audit", params(("tenant" = String, Path)), responses((status = 200, description = "`ok` with the entry count and head hash, or the first broken entry")))]
pub(crate) async fn audit_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
    query: Result<axum::extract::Query<VerifyQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    respond(async {
        let tenant = in_tenant(&state, &headers, path(tenant)?, AUDIT_READ).await?;
        let axum::extract::Query(query) = query.map_err(|err| Problem::bad_request(err.body_text()))?;
        let expected = match (query.entries, query.head.as_deref()) {
            (Some(n), Some(head)) => Some((n, head)),
            (None, None) => None,
            _ => return Err(Problem::bad_request("give both entries and head, or neither")),
        };
        let outcome = state.platform.audit_verify(&tenant, expected).map_err(Problem::from_platform)?;
        let body = match outcome {
            Ok(summary) => serde_json::json!({ "ok": true, "entries": summary.entries, "head": summary.head }),
            Err(broken) => serde_json::json!({ "ok": false, "broken_at": broken.seq, "reason": broken.reason }),
        };
        Ok(Json(body).into_response())
    }
    .await)
}

/// `GET /admin/tenants/{tenant}/audit/head`: the chain's head, signed with
/// the kernel's ed25519 key; keep it elsewhere and pass `entries` and `head`
/// to verify later to detect truncation.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/audit/head", tag = "audit", params(("tenant" = String, Path)), responses((status = 200, description = "The signed head"), (status = 409, description = "The chain is broken")))]
pub(crate) async fn audit_head(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &headers, path(tenant)?, AUDIT_READ).await?;
            let signed = state.platform.audit_head(&tenant).map_err(Problem::from_platform)?;
            Ok(Json(signed).into_response())
        }
        .await,
    )
}
