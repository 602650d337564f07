//! `/healthz`: whether the kernel can serve, for orchestrators.

use axum::Router;
use axum::routing::get;

use crate::problem::Problem;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(health))
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
