//! `/admin/…`: tenants, users, memberships and plugin enablement. Each
//! route authenticates, then checks the kernel permission it declares.

mod audit;
mod audit_schema;
mod backups;
mod events;
mod jobs;
mod members;
mod packages;
mod schedules;
mod tenants;
mod timers;
mod users;
mod webhooks;

pub(crate) use audit::*;
pub(crate) use audit_schema::*;
pub(crate) use backups::*;
pub(crate) use events::*;
pub(crate) use jobs::*;
pub(crate) use members::*;
pub(crate) use packages::*;
pub(crate) use schedules::*;
pub(crate) use tenants::*;
pub(crate) use timers::*;
pub(crate) use users::*;
pub(crate) use webhooks::*;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keel_platform::{
    AUDIT_READ, Actor, BACKUPS_MANAGE, MEMBERS_MANAGE, MEMBERS_READ, PACKAGES_MANAGE,
    PACKAGES_READ, PLUGINS_MANAGE, Platform, Plugin, ROLES_MANAGE, Scope, TENANTS_MANAGE,
    TOKENS_MANAGE, USERS_MANAGE, WEBHOOKS_MANAGE,
};
use keel_types::{PluginId, TenantId, UserId};

use crate::body::{
    DeadLetterBody, EnableReportBody, JobBody, JobPage, MembershipBody, ProviderBody, RoleBody,
    ScheduleBody, SchedulePage, SodRuleBody, TimerBody, TimerPage, TokenBody, UserBody, bodies,
};
use crate::extract::{Caller, json};
use crate::page::{PageQuery, paged};
use crate::problem::Problem;
use crate::state::AppState;

/// The routes of this module.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/admin/tenants", get(tenants).post(create_tenant))
        .route("/admin/backups", get(backups).post(create_backup))
        .route("/admin/backups/progress", get(backup_progress))
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/{user}", get(user).patch(update_user).delete(delete_user))
        .route("/admin/tenants/{tenant}", get(tenant).patch(update_tenant).delete(delete_tenant))
        .route(
            "/admin/tenants/{tenant}/storage-quota",
            put(set_storage_quota).delete(reset_storage_quota),
        )
        .route("/admin/tenants/{tenant}/members", get(members))
        .route(
            "/admin/tenants/{tenant}/members/{user}",
            get(member).put(set_roles).delete(remove_member),
        )
        .route(
            "/admin/tenants/{tenant}/plugins/{plugin}",
            put(enable_plugin).delete(disable_plugin),
        )
        .route("/admin/tenants/{tenant}/providers", get(providers).put(choose_provider))
        .route("/admin/tenants/{tenant}/dead-letters", get(dead_letters))
        .route("/admin/tenants/{tenant}/dead-letters/{letter}", get(dead_letter))
        .route("/admin/tenants/{tenant}/dead-letters/{letter}/replay", post(replay_dead_letter))
        .route("/admin/tenants/{tenant}/timers", get(timers))
        .route("/admin/tenants/{tenant}/dead-timers", get(dead_timers))
        .route("/admin/tenants/{tenant}/dead-timers/{plugin}/{*key}", post(retry_dead_timer))
        .route("/admin/tenants/{tenant}/jobs", get(jobs))
        .route("/admin/tenants/{tenant}/jobs/{id}", get(job))
        .route("/admin/tenants/{tenant}/jobs/{id}/cancel", post(cancel_job))
        .route("/admin/tenants/{tenant}/schedules", get(schedules))
        .route("/admin/tenants/{tenant}/schedules/{plugin}/{id}/run", post(run_schedule))
        .route("/admin/tenants/{tenant}/webhooks", get(webhooks).post(create_webhook))
        .route(
            "/admin/tenants/{tenant}/webhooks/{id}",
            get(webhook).patch(update_webhook).delete(delete_webhook),
        )
        .route("/admin/tenants/{tenant}/webhooks/{id}/rotate-secret", post(rotate_webhook_secret))
        .route("/admin/audit", get(platform_audit))
        .route("/admin/audit/verify", get(platform_audit_verify))
        .route("/admin/tenants/{tenant}/audit", get(audit))
        .route("/admin/tenants/{tenant}/audit/verify", get(audit_verify))
        .route("/admin/tenants/{tenant}/audit/export", get(audit_export))
        .route("/admin/tenants/{tenant}/audit/head", get(audit_head))
        .route("/admin/tenants/{tenant}/audit/heads", get(kept_heads).post(keep_head))
        .route("/admin/audit/heads", get(platform_kept_heads))
        .route("/admin/tenants/{tenant}/roles", get(roles))
        .route(
            "/admin/tenants/{tenant}/roles/{role}",
            get(role).put(define_role).delete(delete_role),
        )
        .route("/admin/tenants/{tenant}/sod", get(sod_rules))
        .route("/admin/tenants/{tenant}/sod/{rule}", put(put_sod_rule).delete(delete_sod_rule))
        .route("/admin/tenants/{tenant}/tokens", get(tokens).post(create_token))
        .route("/admin/tenants/{tenant}/tokens/{id}", get(token).delete(revoke_token))
        .route("/admin/packages", get(packages).post(install_package))
        .route("/admin/packages/{plugin}/{version}", get(package))
}

type Reply = Result<Response, Problem>;
type PageParams = Result<axum::extract::Query<PageQuery>, axum::extract::rejection::QueryRejection>;

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
