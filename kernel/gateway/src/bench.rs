//! The benchmark's native baseline: `GET /bench/native/{tenant}/finance/entries/{number}`
//! serves the same read as the finance plugin's `entries.get`, with the same
//! authentication, authorization and blocking-pool hop, but in native code.
//! `cargo xtask bench` compares the two to price the sandbox. Off unless
//! the server is built with [`Options::bench_routes`](crate::Options).

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_platform::Scope;
use keel_types::{PluginId, TenantId};

use crate::extract::Caller;
use crate::problem::Problem;
use crate::state::AppState;

/// The benchmark's native baseline route.
pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/bench/native/{tenant}/finance/entries/{number}", axum::routing::get(entry))
}

/// The permission the plugin's `entries.get` declares.
const PERMISSION: &str = "finance.reports.read";

pub(crate) async fn entry(
    State(state): State<AppState>,
    Path((tenant, number)): Path<(String, String)>,
    request: Request,
) -> Response {
    match serve(state, &tenant, &number, request).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn serve(
    state: AppState,
    tenant: &str,
    number: &str,
    request: Request,
) -> Result<Response, Problem> {
    let (parts, _body) = request.into_parts();
    let actor = Caller::of(&parts).authenticate(&state.platform)?;
    let tenant =
        TenantId::new(tenant).map_err(|_| Problem::not_found(format!("no tenant {tenant:?}")))?;
    let finance = PluginId::new("finance").map_err(|err| Problem::internal(&err))?;
    crate::api::enabled_for(&state, &actor.principal, &tenant, &finance).await?;
    state
        .platform
        .authorize(&actor.principal, Scope::Tenant(&tenant), PERMISSION)
        .await
        .map_err(Problem::from_platform)?;
    let number: u64 = number.parse().map_err(|_| {
        Problem::bad_request(format!("entry number {number:?} is not a positive integer"))
    })?;
    let host = state.platform.host().clone();
    let key = format!("{number:020}");
    let tenant_id = tenant.clone();
    let found = tokio::task::spawn_blocking(move || {
        host.read_document(&tenant_id, &finance, "entries", &key)
    })
    .await
    .map_err(|join| Problem::internal(&join))?
    .map_err(Problem::from_call)?;
    let Some(text) = found else {
        return Err(Problem::not_found(format!("entry {number} does not exist")));
    };
    // Decoded and encoded again, as the plugin does with its entry type.
    let entry: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| Problem::internal(&err))?;
    let body = serde_json::to_vec(&entry).map_err(|err| Problem::internal(&err))?;
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
