//! `/api/{tenant}/reports/{id}/schedules/…`: a report mailed (or posted
//! to a signed webhook) on a timetable. Whoever manages reports and may
//! read the report's source schedules it; each run is theirs, with the
//! permissions they hold when it runs.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keel_host::{NewReportSchedule, schedule_shown};
use keel_platform::{REPORTS_MANAGE, ScheduleOf, WEBHOOKS_MANAGE};
use serde_json::json;

use super::{Member, check_id, path_of, readable};
use crate::body::json_response;
use crate::extract::{Caller, read_body};
use crate::problem::Problem;
use crate::state::AppState;

/// Largest schedule, in bytes.
const SCHEDULE_BYTES_MAX: usize = 16 * 1024;

pub(super) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/api/{tenant}/reports/{id}/schedules", get(list))
        .route("/api/{tenant}/reports/{id}/schedules/{name}", put(save).delete(delete))
        .route("/api/{tenant}/reports/{id}/schedules/{name}/send-now", post(send_now))
}

/// The report and schedule a path names, for a caller who manages reports
/// and may read the report's source.
async fn managed(
    state: &AppState,
    caller: &Caller,
    ids: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<(Member, String, String), Problem> {
    let (tenant, id, name) = path_of(ids)?;
    check_id(&id)?;
    keel_types::schema::check_name("schedule name", &name)
        .map_err(|err| Problem::bad_request(format!("{err}; name a schedule like monday-cfo")))?;
    let member = Member::of(state, caller, tenant).await?;
    member.may(state, REPORTS_MANAGE).await?;
    let saved = state.platform.report(&member.tenant, &id).await.map_err(Problem::from_platform)?;
    member.source(state, &saved.definition).await?;
    Ok((member, id, name))
}

/// `GET …/schedules`: each with its next slot and last run, for whoever
/// manages reports and may read the report's source.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = async {
        // Recipients and endpoints are for those who manage reports.
        let (member, saved) = readable(&state, &caller, ids).await?;
        member.may(&state, REPORTS_MANAGE).await?;
        let kept = state
            .platform
            .report_schedules(&member.tenant, &saved.id)
            .await
            .map_err(Problem::from_platform)?;
        let kept: Vec<_> = kept.iter().map(schedule_shown).collect();
        Ok::<_, Problem>(json_response(StatusCode::OK, &json!({ "schedules": kept })))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT …/schedules/{name}`: saves it (201 the first time), to run as the
/// caller; a webhook's secret is in this answer only.
async fn save(
    State(state): State<AppState>,
    ids: Result<Path<(String, String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let result = async {
        let (parts, body) = request.into_parts();
        let (member, report, name) = managed(&state, &Caller::of(&parts), ids).await?;
        let bytes = read_body(body, SCHEDULE_BYTES_MAX).await?;
        let new: NewReportSchedule = serde_json::from_slice(&bytes).map_err(|err| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("the schedule is not one the kernel reads: {err}"),
            )
        })?;
        // Sending a tenant's data to an outside endpoint is what webhooks
        // are, whoever asks for it.
        if new.webhook.is_some() {
            member.may(&state, WEBHOOKS_MANAGE).await?;
        }
        let existed = state
            .platform
            .report_schedules(&member.tenant, &report)
            .await
            .map_err(Problem::from_platform)?
            .iter()
            .any(|s| s.name == name);
        let of = ScheduleOf { report: &report, name: &name };
        let (saved, secret) = state
            .platform
            .put_report_schedule(&member.actor, &member.tenant, of, new)
            .await
            .map_err(Problem::from_platform)?;
        let mut body = schedule_shown(&saved);
        if let Some(secret) = secret {
            body["secret"] = json!(secret);
        }
        let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
        Ok::<_, Problem>(json_response(status, &body))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE …/schedules/{name}`.
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (member, report, name) = managed(&state, &caller, ids).await?;
        let of = ScheduleOf { report: &report, name: &name };
        state
            .platform
            .delete_report_schedule(&member.actor, &member.tenant, of)
            .await
            .map_err(Problem::from_platform)?;
        Ok::<_, Problem>(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST …/schedules/{name}/send-now`: its next slot is sent at once
/// (202; follow it with `GET …/schedules`).
async fn send_now(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (member, report, name) = managed(&state, &caller, ids).await?;
        let of = ScheduleOf { report: &report, name: &name };
        state
            .platform
            .send_report_now(&member.actor, &member.tenant, of)
            .await
            .map_err(Problem::from_platform)?;
        let body = json!({ "report": report, "schedule": name, "sending": true });
        Ok::<_, Problem>(json_response(StatusCode::ACCEPTED, &body))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
