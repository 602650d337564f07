//! Imports that run in the background: a file of more rows than run while
//! its caller waits (`Limits::import_inline_rows_max`), or any asked for
//! with `?background=true`. It is planned here a part at a time, and the
//! host keeps its parts as a job that runs one part a write turn; the
//! client follows it at `/api/{tenant}/jobs/{id}`.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use keel_host::{ImportJob, ImportPart, Invocation};
use keel_import::{Mapping, Plan};
use keel_manifest::Import;
use keel_types::Limits;
use serde_json::json;

use super::{Asked, Target, problem_json, too_large_a_call};
use crate::body::json_response;
use crate::problem::Problem;
use crate::state::AppState;

/// Most bytes of requests a file run in the background makes, its parts
/// together: what the kernel keeps of it until its parts have run.
const PARTS_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Most bytes of requests one part holds, whatever its rows.
const PART_BYTES_MAX: usize = 1024 * 1024;

/// How imports are cut, from the kernel's limits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sizes {
    /// Most rows run while the caller waits.
    pub(super) inline_rows_max: usize,
    /// Most rows of a part.
    pub(super) part_rows: usize,
    /// Most bytes of one call's body.
    pub(super) body_bytes_max: usize,
}

impl Sizes {
    pub(super) fn of(limits: &Limits) -> Self {
        Self {
            inline_rows_max: limits.import_inline_rows_max,
            part_rows: limits.import_part_rows.max(1),
            body_bytes_max: limits.request_body_bytes_max,
        }
    }
}

/// How a file is to be imported.
pub(super) enum Planned {
    /// While its caller waits, all or nothing.
    Now(Plan),
    /// In the background, part after part; `plan` has the file's problems
    /// and columns, and no calls.
    Later { plan: Plan, parts: Vec<ImportPart> },
}

/// Plans `table` a part at a time for the background. An import that
/// makes one call of the whole file (`into`) is one part, and so no larger
/// than runs while its caller waits.
pub(super) fn plan(
    table: &keel_import::Table,
    import: &Import,
    mapping: &Mapping,
    params: &[(String, String)],
    sizes: &Sizes,
) -> Result<Planned, Problem> {
    let rows = table.rows.len();
    let part_rows = match &import.into {
        Some(_) if rows > sizes.inline_rows_max => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "import-too-large",
                format!(
                    "import {} makes one call of the whole file, which is all or nothing, so it takes at most {} rows; this file has {rows}. Split it into files that each stand on their own",
                    import.id, sizes.inline_rows_max
                ),
            ));
        }
        Some(_) => rows.max(1),
        None => sizes.part_rows,
    };
    let (mut parts, mut too_large, mut bytes) = (Vec::new(), Vec::new(), 0usize);
    let mut plan = keel_import::plan_parts(table, import, mapping, params, part_rows, |calls| {
        let mut part = ImportPart { rows: Vec::new(), bodies: Vec::new() };
        let mut part_bytes = 0;
        for call in calls {
            // What the body takes as it is sent, and as its part keeps it.
            let len = call.body.to_string().len();
            if len > sizes.body_bytes_max {
                too_large.push(too_large_a_call(&call.rows, len, sizes.body_bytes_max));
                continue;
            }
            bytes = bytes.saturating_add(len);
            if bytes > PARTS_BYTES_MAX {
                // Refused below; nothing more is worth keeping.
                continue;
            }
            if part_bytes + len > PART_BYTES_MAX && !part.bodies.is_empty() {
                parts.push(std::mem::replace(
                    &mut part,
                    ImportPart { rows: Vec::new(), bodies: Vec::new() },
                ));
                part_bytes = 0;
            }
            part_bytes += len;
            part.rows.push(call.rows);
            part.bodies.push(call.body);
        }
        if !part.bodies.is_empty() {
            parts.push(part);
        }
    });
    if bytes > PARTS_BYTES_MAX {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "import-too-large",
            format!(
                "the file makes {} MiB of requests, more than the {} MiB an import keeps while it runs; split it into smaller files",
                bytes.div_ceil(1024 * 1024),
                PARTS_BYTES_MAX / (1024 * 1024)
            ),
        ));
    }
    plan.errors.extend(too_large);
    Ok(Planned::Later { plan, parts })
}

/// A file planned for the background, to keep as a job.
pub(super) struct Later<'a> {
    pub(super) invocation: Invocation,
    pub(super) detail: String,
    pub(super) plan: &'a Plan,
    pub(super) parts: Vec<ImportPart>,
}

/// Keeps the import as a job, and answers 202 with it: its `Location` is
/// where to follow it.
pub(super) async fn start(
    state: &AppState,
    target: &Target,
    asked: &Asked,
    later: Later<'_>,
) -> Result<Response, Problem> {
    let Later { invocation, detail, plan, parts } = later;
    let run = ImportJob {
        invocation,
        import: target.import.id.clone(),
        detail,
        parts,
        dry_run: asked.dry_run,
        from_row: asked.from_row,
        errors: plan.errors.iter().map(problem_json).collect(),
        errors_not_listed: plan.errors_not_listed as u64,
    };
    let (host, plugin) = (state.platform.host().clone(), Arc::clone(&target.plugin));
    let span = tracing::Span::current();
    let job =
        tokio::task::spawn_blocking(move || span.in_scope(|| host.start_import_job(&plugin, run)))
            .await
            .map_err(|join| Problem::internal(&join))?
            .map_err(Problem::from_call)?;
    let mut body = serde_json::to_value(&job).map_err(|err| Problem::internal(&err))?;
    body["columns"] = json!(plan.columns);
    let mut http = json_response(StatusCode::ACCEPTED, &body);
    let location = format!("/api/{}/jobs/{}", target.tenant, job.id);
    if let Ok(value) = HeaderValue::from_str(&location) {
        http.headers_mut().insert(header::LOCATION, value);
    }
    Ok(http)
}
