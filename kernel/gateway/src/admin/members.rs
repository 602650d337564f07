//! A tenant's members and their roles, its own roles and segregation-of-duties
//! rules, and its API tokens.

use super::*;

/// A page of a tenant's members, and the roles grantable there.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct MemberPage {
    members: Vec<MembershipBody>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    cursor: Option<String>,
    /// The role ids grantable in the tenant.
    grantable_roles: Vec<String>,
}

/// A page of a tenant's API tokens.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct TokenPage {
    tokens: Vec<TokenBody>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    cursor: Option<String>,
}

/// A new API token and its secret: the only answer that shows the secret.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct TokenSecret {
    token: TokenBody,
    /// The bearer secret; it is not shown again.
    secret: String,
}

/// The roles grantable in a tenant.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct RolesBody {
    roles: Vec<RoleBody>,
}

/// A tenant's own role as defined.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct RoleDefined {
    tenant: String,
    role: String,
    /// The permission patterns it grants.
    permissions: Vec<String>,
}

/// A tenant's segregation-of-duties rules.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SodRulesBody {
    rules: Vec<SodRuleBody>,
}

/// A segregation-of-duties rule as defined.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SodRuleDefined {
    tenant: String,
    rule: String,
    /// The permissions no one may hold together.
    permissions: Vec<String>,
}

/// `GET /admin/tenants/{tenant}/members`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/members", tag = "members", params(("tenant" = String, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "Members, their roles, and the grantable roles", body = MemberPage)))]
pub(crate) async fn members(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, MEMBERS_READ).await?;
            let members = state.platform.members(&tenant).map_err(Problem::from_platform)?;
            let members = members.iter().map(|m| MembershipBody::of(&tenant, m)).collect();
            let (members, cursor) = paged(members, |m| m.user.clone(), query)?;
            let grantable_roles = state.platform.grantable_roles(&tenant);
            Ok(Json(MemberPage { members, cursor, grantable_roles }).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/members/{user}`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/members/{user}", tag = "members", params(("tenant" = String, Path), ("user" = String, Path)), responses((status = 200, description = "The member's roles", body = MembershipBody), (status = 404, description = "Not a member")))]
pub(crate) async fn member(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, user) = path(ids)?;
            let (tenant, user) =
                (TenantId::new(tenant).map_err(unknown)?, UserId::new(user).map_err(unknown)?);
            allow(&state.platform, &caller, Scope::Tenant(&tenant), MEMBERS_READ).await?;
            let members = state.platform.members(&tenant).map_err(Problem::from_platform)?;
            let member = members.into_iter().find(|m| m.user == user);
            let member = member
                .ok_or_else(|| Problem::not_found(format!("{user} is not a member of {tenant}")))?;
            Ok(Json(MembershipBody::of(&tenant, &member)).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/members/{user}`: takes every role away.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/members/{user}", tag = "members", params(("tenant" = String, Path), ("user" = String, Path)), responses((status = 204, description = "No longer a member")))]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, user) = path(ids)?;
            let (tenant, user) =
                (TenantId::new(tenant).map_err(unknown)?, UserId::new(user).map_err(unknown)?);
            let actor =
                allow(&state.platform, &caller, Scope::Tenant(&tenant), MEMBERS_MANAGE).await?;
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
#[utoipa::path(put, path = "/admin/tenants/{tenant}/members/{user}", tag = "members", params(("tenant" = String, Path), ("user" = String, Path)), request_body = Roles, responses((status = 200, description = "The user's roles now", body = MembershipBody), (status = 403, description = "A role given or taken away grants more than the caller holds"), (status = 404, description = "No such tenant"), (status = 422, description = "A role is not grantable")))]
pub(crate) async fn set_roles(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let (tenant, user) = path(ids)?;
            let (tenant, user) =
                (TenantId::new(tenant).map_err(unknown)?, UserId::new(user).map_err(unknown)?);
            let actor =
                allow(&state.platform, &caller, Scope::Tenant(&tenant), MEMBERS_MANAGE).await?;
            let body: Roles = json(request, body_limit(&state)).await?;
            let roles = state
                .platform
                .set_roles(&actor, &tenant, &user, &body.roles)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(MembershipBody::new(&tenant, &user, roles)).into_response())
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
#[utoipa::path(post, path = "/admin/tenants/{tenant}/tokens", tag = "tokens", params(("tenant" = String, Path)), request_body = NewToken, responses((status = 201, description = "The token and its secret, shown only now", body = TokenSecret)))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let (tenant, actor) =
                in_tenant_as(&state, &caller, path(tenant)?, TOKENS_MANAGE).await?;
            let body: NewToken = json(request, body_limit(&state)).await?;
            let (token, secret) = state
                .platform
                .create_token(&actor, &tenant, &body.name, &body.roles, body.expires_in_days)
                .await
                .map_err(Problem::from_platform)?;
            Ok((StatusCode::CREATED, Json(TokenSecret { token: TokenBody::from(&token), secret }))
                .into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/tokens`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/tokens", tag = "tokens", params(("tenant" = String, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "The tenant's tokens, without secrets", body = TokenPage)))]
pub(crate) async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, TOKENS_MANAGE).await?;
            let tokens = state.platform.tokens(&tenant).map_err(Problem::from_platform)?;
            let tokens: Vec<TokenBody> = bodies(&tokens);
            let (tokens, cursor) = paged(tokens, |t| t.id.clone(), query)?;
            Ok(Json(TokenPage { tokens, cursor }).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/tokens/{id}`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/tokens/{id}", tag = "tokens", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 200, description = "The token, without its secret", body = TokenBody), (status = 404, description = "No such token")))]
pub(crate) async fn token(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, id) = path(ids)?;
            let tenant = in_tenant(&state, &caller, tenant, TOKENS_MANAGE).await?;
            let tokens = state.platform.tokens(&tenant).map_err(Problem::from_platform)?;
            let token = tokens
                .into_iter()
                .find(|t| t.id == id)
                .ok_or_else(|| Problem::not_found(format!("token {id} does not exist")))?;
            Ok(Json(TokenBody::from(&token)).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/tokens/{id}`: revokes at once.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/tokens/{id}", tag = "tokens", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 204, description = "Revoked"), (status = 404, description = "No such token")))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, id) = path(ids)?;
            let (tenant, actor) = in_tenant_as(&state, &caller, tenant, TOKENS_MANAGE).await?;
            state
                .platform
                .revoke_token(&actor, &tenant, &id)
                .await
                .map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Permissions {
    permissions: Vec<String>,
}

/// `GET /admin/tenants/{tenant}/roles`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/roles", tag = "roles", params(("tenant" = String, Path)), responses((status = 200, description = "Grantable roles and what each grants", body = RolesBody)))]
pub(crate) async fn roles(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, MEMBERS_READ).await?;
            let roles =
                state.platform.tenant_roles(&tenant).await.map_err(Problem::from_platform)?;
            let roles: Vec<RoleBody> = bodies(&roles);
            Ok(Json(RolesBody { roles }).into_response())
        }
        .await,
    )
}

/// `PUT /admin/tenants/{tenant}/roles/{role}` with `{"permissions": [...]}`
#[utoipa::path(put, path = "/admin/tenants/{tenant}/roles/{role}", tag = "roles", params(("tenant" = String, Path), ("role" = String, Path)), request_body = Permissions, responses((status = 200, description = "Defined", body = RoleDefined), (status = 409, description = "A built-in or plugin role, or a member would break a segregation-of-duties rule"), (status = 422, description = "A malformed permission")))]
pub(crate) async fn define_role(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let (tenant, role) = path(ids)?;
            let (tenant, actor) = in_tenant_as(&state, &caller, tenant, ROLES_MANAGE).await?;
            let body: Permissions = json(request, body_limit(&state)).await?;
            state
                .platform
                .define_tenant_role(&actor, &tenant, &role, &body.permissions)
                .await
                .map_err(Problem::from_platform)?;
            let tenant = tenant.to_string();
            Ok(Json(RoleDefined { tenant, role, permissions: body.permissions }).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/sod`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/sod", tag = "roles", params(("tenant" = String, Path)), responses((status = 200, description = "Segregation-of-duties rules", body = SodRulesBody)))]
pub(crate) async fn sod_rules(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, MEMBERS_READ).await?;
            let rules = state.platform.sod_rules(&tenant).map_err(Problem::from_platform)?;
            let rules: Vec<SodRuleBody> = bodies(&rules);
            Ok(Json(SodRulesBody { rules }).into_response())
        }
        .await,
    )
}

/// `PUT /admin/tenants/{tenant}/sod/{rule}` with `{"permissions": [a, b]}`
#[utoipa::path(put, path = "/admin/tenants/{tenant}/sod/{rule}", tag = "roles", params(("tenant" = String, Path), ("rule" = String, Path)), request_body = Permissions, responses((status = 200, description = "Defined", body = SodRuleDefined), (status = 409, description = "Someone already holds all the permissions"), (status = 422, description = "Malformed")))]
pub(crate) async fn put_sod_rule(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let (tenant, rule) = path(ids)?;
            let (tenant, actor) = in_tenant_as(&state, &caller, tenant, ROLES_MANAGE).await?;
            let body: Permissions = json(request, body_limit(&state)).await?;
            state
                .platform
                .put_sod_rule(&actor, &tenant, &rule, &body.permissions)
                .await
                .map_err(Problem::from_platform)?;
            let tenant = tenant.to_string();
            Ok(Json(SodRuleDefined { tenant, rule, permissions: body.permissions }).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/roles/{role}`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/roles/{role}", tag = "roles", params(("tenant" = String, Path), ("role" = String, Path)), responses((status = 200, description = "The role and what it grants", body = RoleBody), (status = 404, description = "Not grantable here")))]
pub(crate) async fn role(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, role) = path(ids)?;
            let tenant = in_tenant(&state, &caller, tenant, MEMBERS_READ).await?;
            let roles =
                state.platform.tenant_roles(&tenant).await.map_err(Problem::from_platform)?;
            let found = roles.into_iter().find(|r| r.id == role);
            let found = found.ok_or_else(|| {
                Problem::not_found(format!("role {role:?} is not grantable in {tenant}"))
            })?;
            Ok(Json(RoleBody::from(&found)).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/roles/{role}`: only the tenant's own roles, and only when no one holds them.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/roles/{role}", tag = "roles", params(("tenant" = String, Path), ("role" = String, Path)), responses((status = 204, description = "Deleted"), (status = 409, description = "Someone holds it")))]
pub(crate) async fn delete_role(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, role) = path(ids)?;
            let (tenant, actor) = in_tenant_as(&state, &caller, tenant, ROLES_MANAGE).await?;
            state
                .platform
                .delete_tenant_role(&actor, &tenant, &role)
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
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, rule) = path(ids)?;
            let (tenant, actor) = in_tenant_as(&state, &caller, tenant, ROLES_MANAGE).await?;
            state
                .platform
                .delete_sod_rule(&actor, &tenant, &rule)
                .await
                .map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}
