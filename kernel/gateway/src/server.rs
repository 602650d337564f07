//! The listener and the router.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::routing::{any, get};
use keel_host::Host;
use tokio::net::TcpListener;

use crate::problem::Problem;

/// A bound, not yet serving, HTTP server.
pub struct Server {
    listener: TcpListener,
    router: Router,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) and builds the routes.
    pub async fn bind(addr: SocketAddr, host: Host) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self { listener, router: router(host) })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await
    }
}

fn router(host: Host) -> Router {
    Router::new()
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }))
        .route("/api/{tenant}/{plugin}", any(crate::api::plugin_root))
        .route("/api/{tenant}/{plugin}/{*path}", any(crate::api::plugin))
        .fallback(|| async {
            Problem::not_found(
                "no such route; plugin operations live under /api/{tenant}/{plugin}/",
            )
        })
        .layer(axum::middleware::from_fn(crate::request_id::layer))
        .with_state(host)
}
