//! A tenant's background jobs: those queued and running, and those ended,
//! to follow and cancel.

use super::*;

/// `?open=&limit=&cursor=`
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobQuery {
    /// Only jobs queued or running.
    open: Option<bool>,
    limit: Option<usize>,
    /// The id of the last job seen.
    cursor: Option<String>,
}

/// `GET /admin/tenants/{tenant}/jobs?open=&limit=&cursor=`: oldest first.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/jobs", tag = "jobs", params(("tenant" = String, Path), JobQuery), responses((status = 200, description = "A page of jobs and the cursor of the next", body = JobPage), (status = 400, description = "A malformed query"), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.plugins.manage in the tenant"), (status = 404, description = "No such tenant")))]
pub(crate) async fn jobs(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    query: Result<axum::extract::Query<JobQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(id)?).map_err(unknown)?;
            allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            let axum::extract::Query(query) =
                query.map_err(|err| Problem::bad_request(err.body_text()))?;
            let (limit, cursor) = PageQuery::checked(query.limit, query.cursor)?;
            let open = query.open.unwrap_or(false);
            let found = state
                .platform
                .jobs(&tenant, open, cursor.as_deref(), limit + 1)
                .await
                .map_err(Problem::from_platform)?;
            let mut jobs: Vec<JobBody> = bodies(&found);
            let more = jobs.len() > limit;
            jobs.truncate(limit);
            let cursor = more.then(|| jobs.last().map(|j| j.id.clone())).flatten();
            Ok(Json(JobPage { jobs, cursor }).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/jobs/{id}`: one job, with its progress.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/jobs/{id}", tag = "jobs", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 200, description = "The job", body = JobBody), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.plugins.manage in the tenant"), (status = 404, description = "No such tenant or job")))]
pub(crate) async fn job(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, id) = path(ids)?;
            let tenant = in_tenant(&state, &caller, tenant, PLUGINS_MANAGE).await?;
            let job = state.platform.job(&tenant, &id).await.map_err(Problem::from_platform)?;
            Ok(Json(JobBody::from(&job)).into_response())
        }
        .await,
    )
}

/// `POST /admin/tenants/{tenant}/jobs/{id}/cancel`: no step runs after the
/// one running now, if any; 409 if the job has ended.
#[utoipa::path(post, path = "/admin/tenants/{tenant}/jobs/{id}/cancel", tag = "jobs", params(("tenant" = String, Path), ("id" = String, Path)), responses((status = 200, description = "Cancelled", body = JobBody), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.plugins.manage in the tenant"), (status = 404, description = "No such tenant or job"), (status = 409, description = "The job has already ended")))]
pub(crate) async fn cancel_job(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, id) = path(ids)?;
            let (tenant, actor) = in_tenant_as(&state, &caller, tenant, PLUGINS_MANAGE).await?;
            let job = state
                .platform
                .cancel_job(&actor, &tenant, &id)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(JobBody::from(&job)).into_response())
        }
        .await,
    )
}
