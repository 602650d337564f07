//! A tenant's schedules: the operations its plugins' manifests ask to run
//! on a timetable, when each runs next and how its last run went.

use super::*;

/// A schedule made due now.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct DueSchedule {
    due: ScheduleRef,
}

/// A schedule, by its plugin and id.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ScheduleRef {
    plugin: String,
    schedule: String,
}

/// `GET /admin/tenants/{tenant}/schedules?limit=&cursor=`: by plugin and id.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/schedules", tag = "schedules", params(("tenant" = String, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query, description = "`<plugin>/<id>` of the last schedule seen")), responses((status = 200, description = "A page of schedules and the cursor of the next", body = SchedulePage), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.plugins.manage in the tenant"), (status = 404, description = "No such tenant")))]
pub(crate) async fn schedules(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(id)?).map_err(unknown)?;
            allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            let (limit, cursor) = PageQuery::read(query)?;
            let found = state
                .platform
                .schedules(&tenant, cursor.as_deref(), limit + 1)
                .map_err(Problem::from_platform)?;
            let mut schedules: Vec<ScheduleBody> = bodies(&found);
            let more = schedules.len() > limit;
            schedules.truncate(limit);
            let cursor =
                more.then(|| schedules.last().map(|s| format!("{}/{}", s.plugin, s.id))).flatten();
            Ok(Json(SchedulePage { schedules, cursor }).into_response())
        }
        .await,
    )
}

/// `POST /admin/tenants/{tenant}/schedules/{plugin}/{id}/run`: runs a
/// schedule now, for its next slot; it then goes on from the slot after.
#[utoipa::path(post, path = "/admin/tenants/{tenant}/schedules/{plugin}/{id}/run", tag = "schedules", params(("tenant" = String, Path), ("plugin" = String, Path), ("id" = String, Path)), responses((status = 202, description = "Due now; the clock runs it within a second", body = DueSchedule), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.plugins.manage in the tenant"), (status = 404, description = "No such tenant or schedule")))]
pub(crate) async fn run_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, plugin, id) = path(ids)?;
            let tenant = TenantId::new(tenant).map_err(unknown)?;
            let actor =
                allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            state
                .platform
                .run_schedule_now(&actor, &tenant, &plugin, &id)
                .await
                .map_err(Problem::from_platform)?;
            let body = DueSchedule { due: ScheduleRef { plugin, schedule: id } };
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        }
        .await,
    )
}
