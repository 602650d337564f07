//! `/api/{tenant}/imports/…`: files from other systems brought in through
//! the imports plugins declare. The file is read and planned here
//! (`keel-import`, on a blocking thread), and its calls run in one turn of
//! the tenant's lane (`keel-host`): a dry run reports every row and
//! changes nothing; a real run keeps everything or nothing. Whoever holds
//! the permission of an import's operation may run it and keep the
//! mappings of their source systems' files.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_host::{CallError, CallGuard, ImportRun, Invocation, Plugin, PluginRequest};
use keel_import::{Mapping, Plan, Problem as RowProblem};
use keel_manifest::{Import, Operation};
use keel_platform::{Actor, MappingOf, Scope};
use keel_types::{PluginId, RequestId, TenantId};
use serde_json::{Value, json};
use sha2::Digest;

mod background;

use background::Planned;

use crate::body::json_response;
use crate::calls::GiveUpOnDrop;
use crate::extract::{Caller, read_body};
use crate::problem::Problem;
use crate::state::AppState;

/// Largest file an import reads.
pub(crate) const FILE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Most bytes an import's query parameters take together.
const PARAM_BYTES_MAX: usize = 4 * 1024;

/// How long an import may take, its calls together, before it is given
/// up and changes nothing.
const IMPORT_DEADLINE: Duration = Duration::from_secs(120);

/// The routes of this module.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/api/{tenant}/imports", get(list))
        .route("/api/{tenant}/imports/{plugin}/{import}", get(describe).post(run))
        .route("/api/{tenant}/imports/{plugin}/{import}/mappings", get(mappings))
        .route(
            "/api/{tenant}/imports/{plugin}/{import}/mappings/{source}",
            get(mapping).put(put_mapping).delete(delete_mapping),
        )
}

/// An import the caller may run, as its description shows it.
fn described(plugin: &Plugin, import: &Import) -> Value {
    let field = |f: &keel_manifest::Field| {
        let mut shown = json!({ "name": f.name, "type": f.kind.as_str(), "required": f.required });
        if !f.description.is_empty() {
            shown["description"] = json!(f.description);
        }
        shown
    };
    let manifest = plugin.manifest();
    json!({
        "plugin": manifest.id.as_str(),
        "id": import.id,
        "title": import.title,
        "operation": import.operation,
        "one_call_for_the_file": import.into.is_some(),
        "params": import.params.iter().map(field).collect::<Vec<_>>(),
        "fields": import.fields.iter().map(field).collect::<Vec<_>>(),
        "template": import.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(","),
    })
}

/// `GET /api/{tenant}/imports`: the imports of the tenant's plugins the
/// caller may run.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    let result = async {
        let tenant = tenant.map_err(|err| Problem::bad_request(err.body_text()))?.0;
        let tenant = TenantId::new(tenant).map_err(|err| Problem::not_found(err.to_string()))?;
        let actor = caller.authenticate(&state.platform)?;
        state
            .platform
            .authorize_member(&actor.principal, &tenant)
            .await
            .map_err(|_| Problem::not_found(format!("no tenant {tenant}")))?;
        let mut imports = Vec::new();
        for plugin in state.platform.host().enabled_plugins(&tenant) {
            for import in &plugin.manifest().imports {
                let Some(op) = plugin.manifest().operation(&import.operation) else { continue };
                let scope = Scope::Tenant(&tenant);
                if state.platform.authorize(&actor.principal, scope, &op.permission).await.is_ok() {
                    imports.push(described(&plugin, import));
                }
            }
        }
        Ok::<_, Problem>(json_response(StatusCode::OK, &json!({ "imports": imports })))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The import a path names, once the caller is known to hold its
/// operation's permission.
struct Target {
    actor: Actor,
    roles: Vec<String>,
    tenant: TenantId,
    plugin: Arc<Plugin>,
    import: Import,
    /// The operation the import calls.
    operation: Operation,
}

impl Target {
    async fn find(
        state: &AppState,
        caller: &Caller,
        tenant: &str,
        plugin: &str,
        import: &str,
    ) -> Result<Self, Problem> {
        let tenant = TenantId::new(tenant).map_err(|err| Problem::not_found(err.to_string()))?;
        let plugin_id = PluginId::new(plugin)
            .map_err(|_| Problem::not_found(format!("no plugin {plugin:?}")))?;
        let actor = caller.authenticate(&state.platform)?;
        let (roles, plugin) =
            crate::api::enabled_for(state, &actor.principal, &tenant, &plugin_id).await?;
        let import = plugin.manifest().import(import).cloned().ok_or_else(|| {
            Problem::not_found(format!("plugin {plugin_id} declares no import {import:?}"))
        })?;
        // The manifest checked that the operation exists when it was loaded.
        let operation = plugin
            .manifest()
            .operation(&import.operation)
            .cloned()
            .ok_or_else(|| Problem::internal(&"an import names no operation"))?;
        state
            .platform
            .authorize(&actor.principal, Scope::Tenant(&tenant), &operation.permission)
            .await
            .map_err(Problem::from_platform)?;
        Ok(Self { actor, roles, tenant, plugin, import, operation })
    }

    /// The import and the source system a mapping's path names.
    async fn with_source(
        state: &AppState,
        caller: &Caller,
        ids: Result<Path<(String, String, String, String)>, PathRejection>,
    ) -> Result<(Self, String), Problem> {
        let (tenant, plugin, import, source) =
            ids.map_err(|err| Problem::bad_request(err.body_text()))?.0;
        check_source(&source)?;
        let target = Self::find(state, caller, &tenant, &plugin, &import).await?;
        Ok((target, source))
    }

    fn mapping_of<'a>(&'a self, source: &'a str) -> MappingOf<'a> {
        MappingOf { plugin: self.plugin.manifest().id.as_str(), import: &self.import.id, source }
    }
}

/// `GET /api/{tenant}/imports/{plugin}/{import}`: its fields and
/// parameters, and the sources it keeps mappings for.
async fn describe(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (tenant, plugin, import) = ids.map_err(|err| Problem::bad_request(err.body_text()))?.0;
        let target = Target::find(&state, &caller, &tenant, &plugin, &import).await?;
        let mut body = described(&target.plugin, &target.import);
        let kept = state
            .platform
            .import_mappings(
                &target.tenant,
                target.plugin.manifest().id.as_str(),
                &target.import.id,
            )
            .await
            .map_err(Problem::from_platform)?;
        body["mappings"] = kept.into_iter().map(|(source, _)| Value::String(source)).collect();
        Ok::<_, Problem>(json_response(StatusCode::OK, &body))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET …/mappings`: every source's mapping.
async fn mappings(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (tenant, plugin, import) = ids.map_err(|err| Problem::bad_request(err.body_text()))?.0;
        let target = Target::find(&state, &caller, &tenant, &plugin, &import).await?;
        let kept = state
            .platform
            .import_mappings(
                &target.tenant,
                target.plugin.manifest().id.as_str(),
                &target.import.id,
            )
            .await
            .map_err(Problem::from_platform)?;
        let list: Vec<Value> = kept
            .into_iter()
            .map(|(source, mapping)| {
                let mut entry = mapping;
                entry["source"] = Value::String(source);
                entry
            })
            .collect();
        Ok::<_, Problem>(json_response(StatusCode::OK, &json!({ "mappings": list })))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

fn check_source(source: &str) -> Result<(), Problem> {
    keel_types::schema::check_name("source system", source)
        .map_err(|err| Problem::bad_request(format!("{err}; name the source like legacy-erp")))
}

/// `GET …/mappings/{source}`.
async fn mapping(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String, String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (target, source) = Target::with_source(&state, &caller, ids).await?;
        let mut mapping = state
            .platform
            .import_mapping(&target.tenant, target.mapping_of(&source))
            .await
            .map_err(Problem::from_platform)?;
        mapping["source"] = Value::String(source);
        Ok::<_, Problem>(json_response(StatusCode::OK, &mapping))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT …/mappings/{source}`: saves how `source`'s files read, checked
/// against the import's fields.
async fn put_mapping(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String, String, String)>, PathRejection>,
    body: Body,
) -> Response {
    let result = async {
        let (target, source) = Target::with_source(&state, &caller, ids).await?;
        let bytes = read_body(body, state.platform.host().limits().request_body_bytes_max).await?;
        // JSON that does not parse is a bad request; JSON that is not a
        // mapping, as any body that breaks its rules, is invalid.
        let mapping: Mapping =
            serde_json::from_slice(&bytes).map_err(|err| match err.is_data() {
                true => Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    format!("the mapping does not read: {err}"),
                ),
                false => Problem::bad_request(format!("the body is not JSON: {err}")),
            })?;
        mapping
            .validate(&target.import)
            .map_err(|reason| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", reason))?;
        let stored = serde_json::to_value(&mapping).map_err(|err| Problem::internal(&err))?;
        state
            .platform
            .put_import_mapping(
                &target.actor,
                &target.tenant,
                target.mapping_of(&source),
                stored.clone(),
            )
            .await
            .map_err(Problem::from_platform)?;
        let mut body = stored;
        body["source"] = Value::String(source);
        Ok::<_, Problem>(json_response(StatusCode::OK, &body))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE …/mappings/{source}`.
async fn delete_mapping(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String, String, String)>, PathRejection>,
) -> Response {
    let result = async {
        let (target, source) = Target::with_source(&state, &caller, ids).await?;
        state
            .platform
            .delete_import_mapping(&target.actor, &target.tenant, target.mapping_of(&source))
            .await
            .map_err(Problem::from_platform)?;
        Ok::<_, Problem>(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// What the client asked for besides the file.
struct Asked {
    dry_run: bool,
    /// Run in the background however small the file.
    background: bool,
    /// The first row of the file to import; those above it are left out.
    from_row: Option<usize>,
    mapping: Option<String>,
    sheet: Option<String>,
    /// The rest: the import's parameters.
    params: Vec<(String, String)>,
}

fn asked(query: Option<&str>) -> Result<Asked, Problem> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .take(65)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.len() > 64 {
        return Err(Problem::bad_request("at most 64 query parameters are accepted"));
    }
    let mut asked = Asked {
        dry_run: false,
        background: false,
        from_row: None,
        mapping: None,
        sheet: None,
        params: Vec::new(),
    };
    let yes = |name: &str, value: &str| match value {
        "" | "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(Problem::bad_request(format!("{name} is true or false, not {other:?}"))),
    };
    for (name, value) in pairs {
        match name.as_str() {
            "dry_run" => asked.dry_run = yes(&name, &value)?,
            "background" => asked.background = yes(&name, &value)?,
            "from_row" => {
                let row = value.parse::<usize>().ok().filter(|row| *row >= 2);
                asked.from_row = Some(row.ok_or_else(|| {
                    Problem::bad_request(format!(
                        "from_row is the number of the file's first row to import, 2 or more (the heading is row 1), not {value:?}"
                    ))
                })?);
            }
            "mapping" => asked.mapping = Some(value),
            "sheet" => asked.sheet = Some(value),
            _ => asked.params.push((name, value)),
        }
    }
    // Each row's request carries the parameters: bounded, as the file is.
    let param_bytes: usize = asked.params.iter().map(|(n, v)| n.len() + v.len()).sum();
    if param_bytes > PARAM_BYTES_MAX {
        return Err(Problem::bad_request(format!(
            "an import's parameters take at most {PARAM_BYTES_MAX} bytes together, not {param_bytes}"
        )));
    }
    Ok(asked)
}

/// `POST /api/{tenant}/imports/{plugin}/{import}`: the file is the body
/// (`text/csv`, or an XLSX workbook); `?dry_run=true` checks it and
/// changes nothing; `?mapping=` names a saved mapping, `?sheet=` a
/// workbook's sheet, `?from_row=` the first row to import, and the
/// import's parameters come as query parameters. A file of more rows than
/// run while the caller waits, or any with `?background=true`, runs as a
/// background job (202).
async fn run(
    State(state): State<AppState>,
    ids: Result<Path<(String, String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let result = async {
        let (tenant, plugin, import) = ids.map_err(|err| Problem::bad_request(err.body_text()))?.0;
        let (parts, body) = request.into_parts();
        let caller = Caller::of(&parts);
        let target = Target::find(&state, &caller, &tenant, &plugin, &import).await?;
        let asked = asked(parts.uri.query())?;
        // One import a tenant at a time, holding a call's permits from
        // before its file is read until its answer: what reading and
        // planning cost is bounded as any call's is.
        let running = Running::start(&state, &target.tenant)?;
        let deadline = tokio::time::Instant::now() + IMPORT_DEADLINE;
        let permits = crate::calls::permits(&state, &target.tenant, deadline, busy).await?;
        let mapping = match &asked.mapping {
            None => Mapping::default(),
            Some(source) => {
                check_source(source)?;
                let stored = state
                    .platform
                    .import_mapping(&target.tenant, target.mapping_of(source))
                    .await
                    .map_err(Problem::from_platform)?;
                serde_json::from_value(stored).map_err(|err| Problem::internal(&err))?
            }
        };
        let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let file = read_body(body, FILE_BYTES_MAX).await?;
        let format = keel_import::Format::of(content_type, &file).map_err(|err| {
            Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                err.to_string(),
            )
        })?;
        let digest = sha2::Sha256::digest(&file);
        let digest: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let import = target.import.clone();
        let (sheet, params) = (asked.sheet.clone(), asked.params.clone());
        let (from_row, background) = (asked.from_row, asked.background);
        let sizes = background::Sizes::of(state.platform.host().limits());
        let planned = tokio::task::spawn_blocking(move || {
            let unreadable = |err: keel_import::ReadError| {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unreadable-file", err.to_string())
            };
            let mut table =
                keel_import::read(&file, format, sheet.as_deref()).map_err(unreadable)?;
            if let Some(from) = from_row {
                table.rows.retain(|row| row.number >= from);
            }
            let rows = table.rows.len();
            let planned = if background || rows > sizes.inline_rows_max {
                background::plan(&table, &import, &mapping, &params, &sizes)?
            } else {
                Planned::Now(keel_import::plan(&table, &import, &mapping, &params))
            };
            Ok::<_, Problem>((file.len(), rows, planned))
        })
        .await
        .map_err(|err| {
            // A reader that panics on a malformed file: the file's fault,
            // and the kernel goes on.
            tracing::warn!(error = %err, "reading an import's file failed");
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unreadable-file",
                "the file could not be read; check that it is a CSV file or an XLSX workbook",
            )
        })?;
        let (size, rows, planned) = planned?;
        let request_id = parts.extensions.get::<RequestId>().cloned();
        let detail = format!(
            "{} file of {size} bytes, sha256 {digest}, {rows} rows{}{}",
            if format == keel_import::Format::Csv { "a CSV" } else { "an XLSX" },
            asked.from_row.map(|row| format!(" from row {row}")).unwrap_or_default(),
            asked.mapping.as_deref().map(|m| format!(", mapping {m}")).unwrap_or_default()
        );
        let invocation = target.invocation(&state, request_id);
        let mut plan = match planned {
            Planned::Now(plan) => plan,
            Planned::Later { plan, parts } => {
                let report = Report { target: &target, asked: &asked, rows, plan: &plan };
                if parts.is_empty() || (!plan.errors.is_empty() && !asked.dry_run) {
                    return Ok(report.answer(Vec::new(), false));
                }
                let later = background::Later { invocation, detail, plan: &plan, parts };
                return background::start(&state, &target, &asked, later).await;
            }
        };
        let bodies = bodies(&mut plan, state.platform.host().limits().request_body_bytes_max);
        let report = Report { target: &target, asked: &asked, rows, plan: &plan };
        if plan.calls.is_empty() {
            return Ok(report.answer(Vec::new(), false));
        }
        let run = ImportRun {
            invocation,
            import: target.import.id.clone(),
            detail,
            bodies,
            dry_run: asked.dry_run || !plan.errors.is_empty(),
        };
        let outcome = submit(&state, &target, run, deadline, (permits, running)).await?;
        Ok::<_, Problem>(report.answer(outcome.calls, outcome.kept))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

impl Target {
    /// A call of the import's operation as its caller, with the request
    /// every row's call shares (each adds its body).
    fn invocation(&self, state: &AppState, request_id: Option<RequestId>) -> Invocation {
        let operation = &self.operation;
        Invocation {
            tenant: self.tenant.clone(),
            caller: Some(self.actor.principal.to_string()),
            request_id: request_id.unwrap_or_else(|| RequestId::generated(String::new())),
            roles: self.roles.clone(),
            source: self.actor.source.clone(),
            operation: operation.id.clone(),
            method: operation.method,
            request: PluginRequest {
                method: operation.method.as_str().to_owned(),
                path: operation.path.to_string(),
                params: Vec::new(),
                query: Vec::new(),
                body: Vec::new(),
            },
            guard: CallGuard::default(),
            permissions: Some(state.platform.permissions_of(&self.actor.principal)),
            idempotency: None,
        }
    }
}

/// The bodies of `plan`'s calls, as they are sent; a call whose body is
/// larger than a request may be becomes a problem on its rows, and is
/// not sent.
fn bodies(plan: &mut Plan, max: usize) -> Vec<Vec<u8>> {
    let mut bodies = Vec::with_capacity(plan.calls.len());
    let mut too_large = Vec::new();
    plan.calls.retain(|call| {
        let body = call.body.to_string().into_bytes();
        if body.len() <= max {
            bodies.push(body);
            return true;
        }
        too_large.push(too_large_a_call(&call.rows, body.len(), max));
        false
    });
    plan.errors.extend(too_large);
    bodies
}

/// The problem of a call of `rows` whose body of `len` bytes is larger
/// than the `max` a request may be.
fn too_large_a_call(rows: &[usize], len: usize, max: usize) -> RowProblem {
    let (row, what) = match rows {
        [row] => (Some(*row), "the row makes"),
        _ => (None, "the file makes"),
    };
    RowProblem {
        row,
        column: None,
        field: None,
        value: None,
        message: format!(
            "{what} a request of {len} bytes, more than the {max} a call takes; shorten it or split the file"
        ),
    }
}

fn busy() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the kernel is busy; nothing was imported, retry shortly",
    )
}

/// A tenant's import running: the mark that keeps a second one out,
/// taken away when dropped.
struct Running {
    importing: Arc<std::sync::Mutex<std::collections::HashSet<TenantId>>>,
    tenant: TenantId,
}

impl Running {
    fn start(state: &AppState, tenant: &TenantId) -> Result<Self, Problem> {
        let mut importing = state.importing.lock().unwrap_or_else(|p| p.into_inner());
        if !importing.insert(tenant.clone()) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "import-running",
                format!(
                    "an import is running in tenant {tenant}; send the file again once it has ended"
                ),
            ));
        }
        Ok(Self { importing: Arc::clone(&state.importing), tenant: tenant.clone() })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.importing.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.tenant);
    }
}

/// Runs the import on its tenant's executor to `deadline`, holding its
/// permits and its tenant's mark until the host is done with it, even if
/// its client has gone.
async fn submit(
    state: &AppState,
    target: &Target,
    run: ImportRun,
    deadline: tokio::time::Instant,
    held: ((tokio::sync::OwnedSemaphorePermit, tokio::sync::OwnedSemaphorePermit), Running),
) -> Result<keel_host::ImportOutcome, Problem> {
    let guard = run.invocation.guard.clone();
    let answered =
        state.platform.host().submit_import(&target.plugin, run).map_err(Problem::from_call)?;
    // A client that goes away gives the import up: it stops at the next
    // call, changing nothing.
    let gone = GiveUpOnDrop(guard.clone());
    let mut ended = tokio::spawn(async move {
        let outcome = answered.await;
        drop(held);
        outcome
    });
    let joined = match tokio::time::timeout_at(deadline, &mut ended).await {
        Ok(joined) => joined,
        // Past the deadline, but already committing: its answer is what
        // it kept.
        Err(_elapsed) if !guard.abandon() => ended.await,
        Err(_elapsed) => {
            return Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "import-too-long",
                format!(
                    "the import took longer than {} s and changed nothing; import the file in parts",
                    IMPORT_DEADLINE.as_secs()
                ),
            ));
        }
    };
    drop(gone);
    let outcome = joined.map_err(|join| Problem::internal(&join))?;
    let outcome = outcome.map_err(|_| Problem::internal(&"the import ended without an answer"))?;
    outcome.map_err(|err| match err {
        CallError::Abandoned => busy(),
        err => Problem::from_call(err),
    })
}

/// What an import tells its client.
struct Report<'a> {
    target: &'a Target,
    asked: &'a Asked,
    rows: usize,
    plan: &'a Plan,
}

impl Report<'_> {
    /// 200 with the report for a dry run, 201 for a kept import, 422
    /// (problem JSON carrying the same report) for one that changed nothing.
    fn answer(
        &self,
        calls: Vec<Result<keel_host::PluginResponse, CallError>>,
        kept: bool,
    ) -> Response {
        let mut errors: Vec<Value> = self.plan.errors.iter().map(problem_json).collect();
        let mut results = Vec::new();
        let (ran, succeeded) = (calls.len(), calls.iter().filter(|c| c.is_ok()).count());
        let stopped = calls.last().is_some_and(Result::is_err);
        for (call, outcome) in self.plan.calls.iter().zip(calls) {
            let rows = call.rows.clone();
            match outcome {
                Ok(response) => {
                    let answer: Value =
                        serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                    results
                        .push(json!({ "rows": rows, "status": response.status, "answer": answer }));
                }
                Err(err) => {
                    let problem = Problem::from_call(err);
                    // A row's call names its row; an entry of many rows, them all.
                    let mut error = json!({ "message": problem.detail() });
                    match rows.as_slice() {
                        [row] => error["row"] = json!(row),
                        rows => error["rows"] = json!(rows),
                    }
                    errors.push(error);
                }
            }
        }
        let not_run = self.plan.calls.len().saturating_sub(ran);
        if not_run > 0 && stopped {
            errors.push(json!({
                "message": format!("the import stopped there; {not_run} calls after it did not run"),
            }));
        }
        let rows_of = |e: &Value| -> Vec<u64> {
            let many = e["rows"].as_array().map(|rows| rows.iter().filter_map(Value::as_u64));
            e["row"].as_u64().into_iter().chain(many.into_iter().flatten()).collect()
        };
        errors.sort_by_key(|e| rows_of(e).first().copied().unwrap_or(0));
        let rows_failed =
            errors.iter().flat_map(rows_of).collect::<std::collections::BTreeSet<_>>().len();
        let mut body = json!({
            "plugin": self.target.plugin.manifest().id.as_str(),
            "import": self.target.import.id,
            "dry_run": self.asked.dry_run,
            "kept": kept,
            "rows": self.rows,
            "calls": self.plan.calls.len(),
            "succeeded": succeeded,
            "rows_with_errors": rows_failed,
            "columns": self.plan.columns,
            "errors": errors,
            "errors_not_listed": self.plan.errors_not_listed,
            "results": results,
        });
        if kept {
            return json_response(StatusCode::CREATED, &body);
        }
        if self.asked.dry_run {
            return json_response(StatusCode::OK, &body);
        }
        let n_problems =
            body["errors"].as_array().map_or(0, Vec::len) + self.plan.errors_not_listed;
        let detail = match n_problems {
            0 => "the file has no rows to import; nothing was imported".to_owned(),
            1 => {
                "the file has a problem; nothing was imported. Fix the row named and send it again"
                    .to_owned()
            }
            n => format!(
                "the file has {n} problems; nothing was imported. Check it with ?dry_run=true, fix the rows named, and send it again"
            ),
        };
        body["type"] = json!("urn:keel:problem:import-refused");
        body["title"] = json!("Unprocessable Entity");
        body["status"] = json!(422);
        body["detail"] = json!(detail);
        let mut http = json_response(StatusCode::UNPROCESSABLE_ENTITY, &body);
        http.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        http
    }
}

fn problem_json(problem: &RowProblem) -> Value {
    serde_json::to_value(problem).unwrap_or(Value::Null)
}
