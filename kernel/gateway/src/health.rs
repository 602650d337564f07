//! `/healthz` and `/readyz`: whether the kernel is alive, and whether it
//! is ready for work, for orchestrators and load balancers.

use axum::Router;
use axum::routing::get;

use crate::problem::Problem;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(health)).route("/readyz", get(ready))
}

/// `GET /readyz`: ready when storage takes writes and the event dispatcher
/// and the timer clock run (plugins are loaded before the kernel listens).
/// 503 `not-ready` while the kernel starts them, once it is stopping (they
/// stop first, so a load balancer drains it while in-flight calls finish),
/// or when storage refuses writes; the detail says which, never why.
async fn ready(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let host = state.platform.host();
    let not = if host.storage().failure().is_some() {
        Some("storage refuses writes")
    } else if !host.dispatching() {
        Some("the event dispatcher is not running: the kernel is starting or stopping")
    } else if !host.clock_running() {
        Some("the timer clock is not running: the kernel is starting or stopping")
    } else {
        None
    };
    match not {
        Some(why) => Problem::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "not-ready", why)
            .into_response(),
        None => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
    }
}

/// `GET /healthz`: ok, unless storage refuses writes, which only a restart
/// cures: then 503, so that an orchestrator restarts the kernel. The reason
/// goes to the log, not to this unauthenticated route.
async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if state.platform.host().storage().failure().is_some() {
        return Problem::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "storage-failed",
            "the kernel cannot make writes durable and refuses them; restart it (the log is replayed)",
        )
        .into_response();
    }
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}
