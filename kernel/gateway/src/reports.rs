//! `/api/{tenant}/reports/…`: custom reports over the sources plugins
//! declare reportable. Whoever holds `keel.reports.manage` saves and
//! deletes definitions, over sources they may read themselves; anyone may
//! run a report whose source they may read, as themselves, so a report
//! never shows more than its reader could see. Answers are JSON, or CSV,
//! XLSX or PDF by `keel-export`; a report that reads more documents than
//! a request waits for goes on in the background, and is fetched when done.
//! A report may be mailed or posted on a timetable (`reports/schedules.rs`).

mod schedules;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_export::Format;
use keel_host::{ReportRun, ReportSource, SavedReport, Started};
use keel_platform::{Actor, REPORTS_MANAGE, Scope};
use keel_report::{Definition, Table};
use keel_types::TenantId;
use serde_json::{Value, json};
use tokio::sync::OwnedSemaphorePermit;

use crate::body::json_response;
use crate::extract::{Caller, read_body};
use crate::problem::Problem;
use crate::state::AppState;

/// Largest report definition, in bytes.
const DEFINITION_BYTES_MAX: usize = 64 * 1024;
/// Path segments under `/reports/` that are routes, not report ids.
const RESERVED_IDS: [&str; 3] = ["sources", "runs", "preview"];

/// The routes of this module.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/{tenant}/reports", get(list))
        .route("/api/{tenant}/reports/sources", get(sources))
        .route("/api/{tenant}/reports/preview", post(preview))
        .route("/api/{tenant}/reports/runs/{run}", get(run_state).delete(cancel_run))
        .route("/api/{tenant}/reports/runs/{run}/result", get(run_result))
        .route("/api/{tenant}/reports/{id}", get(show).put(save).delete(delete))
        .route("/api/{tenant}/reports/{id}/versions", get(versions))
        .route("/api/{tenant}/reports/{id}/run", get(run_saved))
        .merge(schedules::routes())
}

/// A caller known to be a member of the tenant.
struct Member {
    actor: Actor,
    tenant: TenantId,
}

impl Member {
    /// 404 for a tenant the caller is no member of, as for one that does
    /// not exist.
    async fn of(state: &AppState, caller: &Caller, tenant: String) -> Result<Self, Problem> {
        let tenant = TenantId::new(tenant).map_err(|err| Problem::not_found(err.to_string()))?;
        let actor = caller.authenticate(&state.platform)?;
        state
            .platform
            .authorize_member(&actor.principal, &tenant)
            .await
            .map_err(|_| Problem::not_found(format!("no tenant {tenant}")))?;
        Ok(Self { actor, tenant })
    }

    async fn may(&self, state: &AppState, permission: &str) -> Result<(), Problem> {
        let scope = Scope::Tenant(&self.tenant);
        state
            .platform
            .authorize(&self.actor.principal, scope, permission)
            .await
            .map_err(Problem::from_platform)
    }

    /// Whether the caller may read the source `definition` names: 403 if
    /// not, and for a source the tenant no longer has (its permission
    /// cannot be known).
    async fn reads(&self, state: &AppState, definition: &Definition) -> Result<(), Problem> {
        let source = definition
            .source_parts()
            .and_then(|(plugin, id)| state.platform.host().reportable(&self.tenant, plugin, id));
        match source {
            Some((_, source)) => self.may(state, &source.permission).await,
            None => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "report source {:?} is not one tenant {} has now, so who may read it cannot be told",
                    definition.source, self.tenant
                ),
            )),
        }
    }

    /// Whether the caller may replace or delete report `id`, if it exists:
    /// only if they may read its source, unless that source is gone.
    async fn may_replace(&self, state: &AppState, id: &str) -> Result<(), Problem> {
        let existing = match state.platform.report(&self.tenant, id).await {
            Ok(existing) => existing,
            Err(keel_platform::PlatformError::NotFound(_)) => return Ok(()),
            Err(err) => return Err(Problem::from_platform(err)),
        };
        let (plugin, source) = existing.definition.source_parts().unwrap_or_default();
        match state.platform.host().reportable(&self.tenant, plugin, source) {
            Some((_, source)) => self.may(state, &source.permission).await,
            None => Ok(()),
        }
    }

    /// The source `definition` reads and its plan: 422 for a source the
    /// tenant has not, or a definition that does not fit it; 403 if the
    /// caller may not read the source.
    async fn source(
        &self,
        state: &AppState,
        definition: &Definition,
    ) -> Result<ReportSource, Problem> {
        let missing = || {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!(
                    "source {:?} is not a reportable source of a plugin tenant {} has enabled; list them with GET /api/{}/reports/sources",
                    definition.source, self.tenant, self.tenant
                ),
            )
        };
        let (plugin, id) = definition.source_parts().ok_or_else(missing)?;
        let (plugin, source) =
            state.platform.host().reportable(&self.tenant, plugin, id).ok_or_else(missing)?;
        self.may(state, &source.permission).await?;
        let plan = definition.plan(&source).map_err(refused)?;
        Ok(ReportSource {
            tenant: self.tenant.clone(),
            plugin,
            collection: source.collection,
            plan,
            as_of: state.platform.host().now().seconds,
            time_zone: "UTC".to_owned(),
        })
    }
}

/// A definition that does not fit its source: 422 listing every problem.
fn refused(problems: Vec<String>) -> Problem {
    let detail = format!(
        "the report definition has {} problem{}: {}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.join("; ")
    );
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-report", detail)
}

fn path_of<T>(ids: Result<Path<T>, PathRejection>) -> Result<T, Problem> {
    Ok(ids.map_err(|err| Problem::bad_request(err.body_text()))?.0)
}

fn check_id(id: &str) -> Result<(), Problem> {
    let checked = keel_types::schema::check_name("report id", id);
    if checked.is_err() || RESERVED_IDS.contains(&id) {
        return Err(Problem::bad_request(format!(
            "report id {id:?} must be 1 to 64 of a-z, 0-9 and '-', and not one of {}",
            RESERVED_IDS.join(", ")
        )));
    }
    Ok(())
}

fn shown(saved: &SavedReport) -> Value {
    json!({
        "id": saved.id,
        "version": saved.version,
        "saved_by": saved.saved_by,
        "saved_at": saved.saved_at,
        "definition": saved.definition,
    })
}

/// `GET /api/{tenant}/reports/sources`: the reportable sources of the
/// tenant's plugins the caller may read, with their fields.
async fn sources(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    let result = async {
        let member = Member::of(&state, &caller, path_of(tenant)?).await?;
        let mut listed = Vec::new();
        for plugin in state.platform.host().enabled_plugins(&member.tenant) {
            for source in &plugin.manifest().reportable {
                if member.may(&state, &source.permission).await.is_err() {
                    continue;
                }
                let fields: Vec<Value> = source
                    .fields
                    .iter()
                    .map(|f| {
                        json!({ "name": f.name, "type": f.kind.as_str(), "description": f.description })
                    })
                    .collect();
                listed.push(json!({
                    "source": format!("{}/{}", plugin.manifest().id, source.id),
                    "title": source.title,
                    "permission": source.permission,
                    "fields": fields,
                }));
            }
        }
        Ok::<_, Problem>(json_response(StatusCode::OK, &json!({ "sources": listed })))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/{tenant}/reports`: the reports over sources the caller may
/// read, each saying whether it still fits its source (a plugin upgraded
/// since may have changed the fields it offers).
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    let result = async {
        let member = Member::of(&state, &caller, path_of(tenant)?).await?;
        let saved = state.platform.reports(&member.tenant).await.map_err(Problem::from_platform)?;
        let mut listed = Vec::new();
        for report in saved {
            if member.reads(&state, &report.definition).await.is_err() {
                continue;
            }
            let runnable = member.source(&state, &report.definition).await.is_ok();
            listed.push(json!({
                "id": report.id,
                "title": report.definition.title,
                "source": report.definition.source,
                "version": report.version,
                "saved_by": report.saved_by,
                "saved_at": report.saved_at,
                "runnable": runnable,
            }));
        }
        Ok::<_, Problem>(json_response(StatusCode::OK, &json!({ "reports": listed })))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A saved report, for a caller who may read its source (whatever else
/// they may do: a definition's filters say something of its data).
async fn readable(
    state: &AppState,
    caller: &Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Result<(Member, SavedReport), Problem> {
    let (tenant, id) = path_of(ids)?;
    check_id(&id)?;
    let member = Member::of(state, caller, tenant).await?;
    let saved = state.platform.report(&member.tenant, &id).await.map_err(Problem::from_platform)?;
    member.reads(state, &saved.definition).await?;
    Ok((member, saved))
}

/// `GET /api/{tenant}/reports/{id}`: its definition as last saved.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (_, saved) = readable(&state, &caller, ids).await?;
        Ok::<_, Problem>(json_response(StatusCode::OK, &shown(&saved)))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/{tenant}/reports/{id}/versions`: every version kept.
async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (member, saved) = readable(&state, &caller, ids).await?;
        let kept = state
            .platform
            .report_versions(&member.tenant, &saved.id)
            .await
            .map_err(Problem::from_platform)?;
        // Each version as its own source allows: an earlier one may read
        // another source than the last.
        let mut shown_versions = Vec::new();
        for version in &kept {
            if member.reads(&state, &version.definition).await.is_ok() {
                shown_versions.push(shown(version));
            }
        }
        let body = json!({ "versions": shown_versions });
        Ok::<_, Problem>(json_response(StatusCode::OK, &body))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A definition from a request body.
async fn definition_of(body: Body) -> Result<Definition, Problem> {
    let bytes = read_body(body, DEFINITION_BYTES_MAX).await?;
    serde_json::from_slice(&bytes).map_err(|err| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-report",
            format!("the report definition is not one the kernel reads: {err}"),
        )
    })
}

/// `PUT /api/{tenant}/reports/{id}`: saves a definition as the report's
/// next version (201 for its first), checked against its source, which
/// the caller must be allowed to read.
async fn save(
    State(state): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let result = async {
        let (tenant, id) = path_of(ids)?;
        check_id(&id)?;
        let (parts, body) = request.into_parts();
        let member = Member::of(&state, &Caller::of(&parts), tenant).await?;
        member.may(&state, REPORTS_MANAGE).await?;
        member.may_replace(&state, &id).await?;
        let definition = definition_of(body).await?;
        member.source(&state, &definition).await?;
        let saved = state
            .platform
            .put_report(&member.actor, &member.tenant, &id, definition)
            .await
            .map_err(Problem::from_platform)?;
        let status = if saved.version == 1 { StatusCode::CREATED } else { StatusCode::OK };
        Ok::<_, Problem>(json_response(status, &shown(&saved)))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /api/{tenant}/reports/{id}`: the report and its versions.
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (tenant, id) = path_of(ids)?;
        check_id(&id)?;
        let member = Member::of(&state, &caller, tenant).await?;
        member.may(&state, REPORTS_MANAGE).await?;
        member.may_replace(&state, &id).await?;
        state
            .platform
            .delete_report(&member.actor, &member.tenant, &id)
            .await
            .map_err(Problem::from_platform)?;
        Ok::<_, Problem>(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/{tenant}/reports/{id}/run`: the report run as the caller,
/// as JSON or the format asked for; 202 with the run's address if it
/// reads more than a request waits for.
async fn run_saved(
    State(state): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let result = async {
        let (tenant, id) = path_of(ids)?;
        check_id(&id)?;
        let (parts, _) = request.into_parts();
        let member = Member::of(&state, &Caller::of(&parts), tenant).await?;
        let format = format_of(&parts)?;
        let saved =
            state.platform.report(&member.tenant, &id).await.map_err(Problem::from_platform)?;
        let said = format!("report {id}, version {}", saved.version);
        run(&state, &member, &id, &saved.definition, format, &said).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/{tenant}/reports/preview`: a definition run without saving
/// it, as the caller (who needs only to be allowed to read its source).
async fn preview(
    State(state): State<AppState>,
    tenant: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let result = async {
        let (parts, body) = request.into_parts();
        let member = Member::of(&state, &Caller::of(&parts), path_of(tenant)?).await?;
        let format = format_of(&parts)?;
        let definition = definition_of(body).await?;
        run(&state, &member, "preview", &definition, format, "preview").await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

fn format_of(parts: &axum::http::request::Parts) -> Result<Option<Format>, Problem> {
    let query = crate::api::parse_query(parts.uri.query().unwrap_or(""))?;
    crate::api::wanted_format(&parts.headers, &query)
}

/// Runs `definition` as the member, within the bounds of a call.
async fn run(
    state: &AppState,
    member: &Member,
    report: &str,
    definition: &Definition,
    format: Option<Format>,
    said: &str,
) -> Result<Response, Problem> {
    let source = member.source(state, definition).await?;
    // Reading while the caller waits (and rendering what was read) takes
    // a call's places, as any call; a caller who goes stops the read.
    let permits = permits(state, &member.tenant).await?;
    let gone = Arc::new(AtomicBool::new(false));
    let _stop_when_gone = SetOnDrop(Arc::clone(&gone));
    let ask = keel_platform::ReportAsk {
        report: report.to_owned(),
        title: definition.title.clone(),
        source: definition.source.clone(),
        inline_max: state.platform.host().limits().report_inline_documents_max,
        gone,
    };
    let started = state
        .platform
        .run_report(&member.actor, ask, source)
        .await
        .map_err(Problem::from_platform)?;
    match started {
        Started::Answered(table) => {
            let answered = answer(&member.tenant, Arc::new(table), format, report, said).await;
            drop(permits);
            answered
        }
        Started::Background(run) => {
            let mut http = json_response(StatusCode::ACCEPTED, &run_shown(&member.tenant, &run));
            let location = format!("/api/{}/reports/runs/{}", member.tenant, run.id);
            if let Ok(value) = HeaderValue::from_str(&location) {
                http.headers_mut().insert(header::LOCATION, value);
            }
            Ok(http)
        }
    }
}

/// A place among the tenant's calls in flight and the kernel's.
async fn permits(
    state: &AppState,
    tenant: &TenantId,
) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), Problem> {
    let deadline = tokio::time::Instant::now() + state.platform.host().limits().call_deadline;
    let busy = || {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the kernel is busy; retry shortly")
    };
    crate::calls::permits(state, tenant, deadline, busy).await
}

/// Sets its flag when dropped: the request it lives in has ended.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A report's answer in `format` (JSON when none), written from the table
/// without copying its rows, on a blocking thread.
async fn answer(
    tenant: &TenantId,
    table: Arc<Table>,
    format: Option<Format>,
    name: &str,
    said: &str,
) -> Result<Response, Problem> {
    let (tenant, said) = (tenant.to_string(), said.to_owned());
    let rendered = tokio::task::spawn_blocking(move || match format {
        None => Ok(table.to_json_bytes()),
        Some(format) => {
            let export = table.export();
            let heading = keel_export::Heading {
                operation: &table.title,
                tenant: &tenant,
                parameters: &said,
            };
            keel_export::render_rows(format, &table.rows, &export, &heading)
        }
    })
    .await
    .map_err(|err| Problem::internal(&err))?;
    // What the answer holds is the report's doing (too many pages for a
    // PDF, say), not the kernel's.
    let bytes = rendered.map_err(|err| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unrenderable",
            format!("the report's answer cannot be written so: {err}; ask for CSV, or fewer rows"),
        )
    })?;
    Ok(match format {
        None => crate::body::json_bytes(StatusCode::OK, bytes),
        Some(format) => crate::exports::download(format, name, Body::from(bytes)),
    })
}

fn run_shown(tenant: &TenantId, run: &ReportRun) -> Value {
    let mut shown = json!({
        "id": run.id,
        "report": run.report,
        "title": run.title,
        "source": run.source,
        "state": run.state().as_str(),
        "scanned": run.scanned(),
        "started": run.started,
        "ended": run.ended(),
    });
    match run.result() {
        Some(Ok(_)) => {
            shown["result"] = json!(format!("/api/{tenant}/reports/runs/{}/result", run.id));
        }
        Some(Err(error)) => shown["error"] = json!(error),
        None => {}
    }
    shown
}

/// The background run a path names, for the caller who started it, who
/// must still be allowed to read its source; 404 to anyone else.
async fn own_run(
    state: &AppState,
    caller: &Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Result<(Member, Arc<ReportRun>), Problem> {
    let (tenant, id) = path_of(ids)?;
    let member = Member::of(state, caller, tenant).await?;
    let not_found =
        || Problem::not_found(format!("no report run {id:?} of yours in tenant {}", member.tenant));
    let run = state.platform.host().report_run(&member.tenant, &id).ok_or_else(not_found)?;
    if run.caller != member.actor.principal.as_str() {
        return Err(not_found());
    }
    let (plugin, source) = run.source.split_once('/').ok_or_else(not_found)?;
    let (_, source) =
        state.platform.host().reportable(&member.tenant, plugin, source).ok_or_else(not_found)?;
    member.may(state, &source.permission).await?;
    Ok((member, run))
}

/// `GET /api/{tenant}/reports/runs/{run}`: how far it is.
async fn run_state(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (member, run) = own_run(&state, &caller, ids).await?;
        Ok::<_, Problem>(json_response(StatusCode::OK, &run_shown(&member.tenant, &run)))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /api/{tenant}/reports/runs/{run}`: stops it at its next page.
async fn cancel_run(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (member, run) = own_run(&state, &caller, ids).await?;
        run.cancel();
        Ok::<_, Problem>(json_response(StatusCode::ACCEPTED, &run_shown(&member.tenant, &run)))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/{tenant}/reports/runs/{run}/result`: its answer, as JSON or
/// the format asked for; 409 while it runs or if it failed.
async fn run_result(
    State(state): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let result = async {
        let (parts, _) = request.into_parts();
        let (member, run) = own_run(&state, &Caller::of(&parts), ids).await?;
        let format = format_of(&parts)?;
        let table = match run.result() {
            Some(Ok(table)) => table,
            Some(Err(error)) => {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "report-failed",
                    format!("report run {} failed: {error}", run.id),
                ));
            }
            None => {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "report-running",
                    format!(
                        "report run {} is still running ({} documents read); follow it at /api/{}/reports/runs/{}",
                        run.id,
                        run.scanned(),
                        member.tenant,
                        run.id
                    ),
                ));
            }
        };
        let said = format!("report {}, run {}", run.report, run.id);
        let permits = permits(&state, &member.tenant).await?;
        let answered = answer(&member.tenant, table, format, &run.report, &said).await;
        drop(permits);
        answered
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
