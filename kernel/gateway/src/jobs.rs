//! `/api/{tenant}/jobs/{id}`: a background job, for whoever may call the
//! operation it runs; the job's id comes back from the 202 that started it.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use keel_types::TenantId;

use crate::body::JobBody;
use crate::extract::Caller;
use crate::problem::Problem;
use crate::state::AppState;

/// The routes of this module.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/{tenant}/jobs/{id}", get(job))
        .route("/api/{tenant}/jobs/{id}/cancel", post(cancel))
}

/// `GET /api/{tenant}/jobs/{id}`: its state, progress, times and error.
pub(crate) async fn job(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (tenant, id) = ids.map_err(|err| Problem::bad_request(err.body_text()))?.0;
        let tenant = TenantId::new(tenant).map_err(|err| Problem::not_found(err.to_string()))?;
        let actor = caller.authenticate(&state.platform)?;
        let job = state
            .platform
            .job_for(&actor.principal, &tenant, &id)
            .await
            .map_err(Problem::from_platform)?;
        Ok::<_, Problem>(Json(JobBody::from(&job)).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/{tenant}/jobs/{id}/cancel`: no step runs after the one
/// running now, if any; 409 if the job has ended.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (tenant, id) = ids.map_err(|err| Problem::bad_request(err.body_text()))?.0;
        let tenant = TenantId::new(tenant).map_err(|err| Problem::not_found(err.to_string()))?;
        let actor = caller.authenticate(&state.platform)?;
        let job = state
            .platform
            .cancel_job_for(&actor, &tenant, &id)
            .await
            .map_err(Problem::from_platform)?;
        Ok::<_, Problem>(Json(JobBody::from(&job)).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
