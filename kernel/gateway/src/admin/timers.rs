//! A tenant's timers: those its plugins set and are still to fire, and
//! the dead ones whose attempts ran out, to inspect and set going again.

use super::*;

/// A dead timer set going again.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct RetriedTimer {
    retried: TimerRef,
}

/// A timer, by its plugin and key.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct TimerRef {
    plugin: String,
    key: String,
}

/// `GET /admin/tenants/{tenant}/timers?limit=&cursor=`: by plugin and key.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/timers", tag = "timers", params(("tenant" = String, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query, description = "`<plugin>/<key>` of the last timer seen")), responses((status = 200, description = "A page of timers and the cursor of the next", body = TimerPage), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.plugins.manage in the tenant"), (status = 404, description = "No such tenant")))]
pub(crate) async fn timers(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> Response {
    timer_page(state, caller, id, query, false).await
}

/// `GET /admin/tenants/{tenant}/dead-timers?limit=&cursor=`: timers whose
/// handler kept failing, with the last error.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/dead-timers", tag = "timers", params(("tenant" = String, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query, description = "`<plugin>/<key>` of the last timer seen")), responses((status = 200, description = "A page of dead timers and the cursor of the next", body = TimerPage), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.plugins.manage in the tenant"), (status = 404, description = "No such tenant")))]
pub(crate) async fn dead_timers(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> Response {
    timer_page(state, caller, id, query, true).await
}

async fn timer_page(
    state: AppState,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    query: PageParams,
    dead: bool,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(id)?).map_err(unknown)?;
            allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            let (limit, cursor) = PageQuery::read(query)?;
            let found = if dead {
                state.platform.dead_timers(&tenant, cursor.as_deref(), limit + 1)
            } else {
                state.platform.timers(&tenant, cursor.as_deref(), limit + 1)
            }
            .map_err(Problem::from_platform)?;
            let mut timers: Vec<TimerBody> = bodies(&found);
            let more = timers.len() > limit;
            timers.truncate(limit);
            let cursor =
                more.then(|| timers.last().map(|t| format!("{}/{}", t.plugin, t.key))).flatten();
            Ok(Json(TimerPage { timers, cursor }).into_response())
        }
        .await,
    )
}

/// `POST /admin/tenants/{tenant}/dead-timers/{plugin}/{key}`: sets a dead
/// timer going again, due now, with its attempts counted afresh. A timer
/// the plugin set again under the key since stands instead.
#[utoipa::path(post, path = "/admin/tenants/{tenant}/dead-timers/{plugin}/{key}", tag = "timers", params(("tenant" = String, Path), ("plugin" = String, Path), ("key" = String, Path, description = "The timer's key; it may hold slashes")), responses((status = 200, description = "Set going again", body = RetriedTimer), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.plugins.manage in the tenant"), (status = 404, description = "No such tenant or dead timer")))]
pub(crate) async fn retry_dead_timer(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, plugin, key) = path(ids)?;
            let tenant = TenantId::new(tenant).map_err(unknown)?;
            let actor =
                allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            state
                .platform
                .retry_dead_timer(&actor, &tenant, &plugin, &key)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(RetriedTimer { retried: TimerRef { plugin, key } }).into_response())
        }
        .await,
    )
}
