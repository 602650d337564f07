//! `/admin/…`: tenants, users, memberships and plugin enablement. Each
//! route authenticates, then checks the kernel permission it declares.

mod audit;
mod events;
mod members;
mod packages;
mod tenants;
mod users;

pub(crate) use audit::*;
pub(crate) use events::*;
pub(crate) use members::*;
pub(crate) use packages::*;
pub(crate) use tenants::*;
pub(crate) use users::*;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keel_platform::{
    AUDIT_READ, Actor, MEMBERS_MANAGE, MEMBERS_READ, PACKAGES_MANAGE, PACKAGES_READ,
    PLUGINS_MANAGE, Platform, Plugin, ROLES_MANAGE, Scope, TENANTS_MANAGE, TOKENS_MANAGE,
    USERS_MANAGE,
};
use keel_types::{PluginId, TenantId, UserId};
use serde::de::DeserializeOwned;

use crate::auth::Caller;
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
    caller: &Caller,
    scope: Scope<'_>,
    permission: &str,
) -> Result<Actor, Problem> {
    let actor = caller.authenticate(platform)?;
    platform
        .authorize(&actor.principal, scope, permission)
        .await
        .map_err(Problem::from_platform)?;
    Ok(actor)
}

/// Parses a `{tenant}` path segment and checks `permission` in it.
async fn in_tenant(
    state: &AppState,
    caller: &Caller,
    raw: String,
    permission: &str,
) -> Result<TenantId, Problem> {
    Ok(in_tenant_as(state, caller, raw, permission).await?.0)
}

/// [`in_tenant`], also returning who is acting.
async fn in_tenant_as(
    state: &AppState,
    caller: &Caller,
    raw: String,
    permission: &str,
) -> Result<(TenantId, Actor), Problem> {
    let tenant = TenantId::new(raw).map_err(unknown)?;
    let actor = allow(&state.platform, caller, Scope::Tenant(&tenant), permission).await?;
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
