//! Running one plugin call for a request: within the tenant's and the
//! kernel's bounds on calls in flight, on the blocking pool (reads) or the
//! tenant's executor (writes), to a deadline, and given up on when the
//! client goes away. The API and the exports that follow pages use it.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use keel_host::{CallGuard, Invocation, Plugin, PluginResponse};
use keel_types::TenantId;
use tokio::sync::OwnedSemaphorePermit;

use crate::problem::Problem;
use crate::state::AppState;

/// How long past a call's deadline the gateway waits before giving up on it.
pub(crate) const DEADLINE_GRACE: Duration = Duration::from_secs(2);

/// Runs a call on the blocking pool, within a bound on calls in flight and
/// a deadline. A call given up on is abandoned, so it can never commit
/// after the client was told it failed.
pub(crate) async fn run(
    state: &AppState,
    plugin: Arc<Plugin>,
    invocation: Invocation,
) -> Result<PluginResponse, Problem> {
    let limits = state.platform.host().limits();
    let deadline = tokio::time::Instant::now() + limits.call_deadline + DEADLINE_GRACE;
    let busy = || {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the kernel is busy; nothing was changed, retry shortly",
        )
    };
    let permit = permits(state, &invocation.tenant, deadline, busy).await?;
    let guard = invocation.guard.clone();
    // A client that goes away (the connection closes, dropping this
    // future) gives the call up too: it stops rather than run for nobody.
    let _gone = GiveUpOnDrop(guard.clone());
    if invocation.method != keel_manifest::Method::Get {
        // Writes queue on their tenant's executor; nothing blocks here.
        let answered =
            state.platform.host().submit(&plugin, invocation).map_err(Problem::from_call)?;
        // The permits go when the call ends, not when this request does: a
        // client that goes away leaves its call queued (given up, it ends
        // as soon as its turn comes), and the permits bound how many wait.
        let mut ended = tokio::spawn(async move {
            let outcome = answered.await;
            drop(permit);
            outcome
        });
        let joined = match tokio::time::timeout_at(deadline, &mut ended).await {
            Ok(joined) => joined,
            // Too late to abandon: it is committing, which is quick; wait for it.
            Err(_elapsed) if !guard.abandon() => ended.await,
            Err(_elapsed) => return Err(busy()),
        };
        return joined.map_err(|join| Problem::internal(&join))?.map_err(Problem::from_call);
    }
    let span = tracing::Span::current();
    let worker = state.platform.host().clone();
    let mut task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        span.in_scope(|| worker.call(&plugin, invocation))
    });
    let joined = match tokio::time::timeout_at(deadline, &mut task).await {
        Ok(joined) => joined,
        // Too late to abandon: it is committing, which is quick; wait for it.
        Err(_elapsed) if !guard.abandon() => task.await,
        Err(_elapsed) => return Err(busy()),
    };
    joined.map_err(|join| Problem::internal(&join))?.map_err(Problem::from_call)
}

/// A place among `tenant`'s calls in flight and among the kernel's, waited
/// for until `deadline`; `busy` if none comes by then.
pub(crate) async fn permits(
    state: &AppState,
    tenant: &TenantId,
    deadline: tokio::time::Instant,
    busy: impl Fn() -> Problem,
) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), Problem> {
    let tenant_calls = state.tenant_calls(tenant);
    let tenant_permit = tokio::time::timeout_at(deadline, tenant_calls.acquire_owned())
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
    let permit = tokio::time::timeout_at(deadline, Arc::clone(&state.calls).acquire_owned())
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
    Ok((tenant_permit, permit))
}

/// Abandons a call when dropped: harmless once the call committed or ended.
pub(crate) struct GiveUpOnDrop(pub(crate) CallGuard);

impl Drop for GiveUpOnDrop {
    fn drop(&mut self) {
        self.0.abandon();
    }
}
