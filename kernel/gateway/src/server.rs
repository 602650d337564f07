//! The listener and the router.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use keel_platform::Platform;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::problem::Problem;
use crate::state::AppState;

/// A bound, not yet serving, HTTP server.
pub struct Server {
    listener: TcpListener,
    router: Router,
    listening: crate::conn::Listening,
}

/// Optional parts of the gateway.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Serve `/bench/native/…`, the benchmark's native baseline routes.
    pub bench_routes: bool,
    /// Timeouts and the connection cap.
    pub http: crate::HttpLimits,
    /// Reverse proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve HTTPS with this certificate and key (reloaded on `SIGHUP`).
    pub tls: Option<crate::TlsFiles>,
    /// Serve `/metrics` to a scraper that sends this bearer token; with
    /// none, `/metrics` is served only on a listener of its own
    /// ([`Server::bind_metrics`]).
    pub metrics_token: Option<String>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) and builds the routes.
    pub async fn bind(
        addr: SocketAddr,
        platform: Platform,
        options: Options,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let tls = match options.tls.clone() {
            Some(files) => Some(Arc::new(
                crate::tls::Tls::load(files)
                    .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))?,
            )),
            None => None,
        };
        let listening = crate::conn::Listening {
            limits: options.http,
            trusted_proxies: options.trusted_proxies.clone().into(),
            tls,
        };
        Ok(Self { listener, router: router(platform, options), listening })
    }

    /// Binds `addr` for `/metrics` alone, served to anyone who reaches
    /// it: for an address on a private network, apart from the API.
    pub async fn bind_metrics(addr: SocketAddr, http: crate::HttpLimits) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        crate::metrics::start();
        let listening =
            crate::conn::Listening { limits: http, trusted_proxies: Vec::new().into(), tls: None };
        Ok(Self { listener, router: crate::metrics::open_routes(), listening })
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
        crate::conn::serve(self.listener, self.router, self.listening, shutdown).await
    }
}

fn router(platform: Platform, options: Options) -> Router {
    crate::metrics::start();
    let n_slots = usize::try_from(platform.host().limits().instances_max).unwrap_or(usize::MAX);
    let state = AppState {
        calls: Arc::new(Semaphore::new(n_slots)),
        tenant_calls: Arc::default(),
        importing: Arc::default(),
        // An empty token would let in any caller who sends none.
        metrics_token: options
            .metrics_token
            .as_deref()
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .map(Arc::from),
        platform,
    };
    let mut router = Router::new();
    if options.bench_routes {
        router = router.merge(crate::bench::routes());
    }
    router
        .merge(crate::health::routes())
        .merge(crate::metrics::routes())
        .merge(crate::auth::routes())
        .merge(crate::openapi::routes())
        .merge(crate::admin::routes())
        .merge(crate::jobs::routes())
        .merge(crate::imports::routes())
        .merge(crate::reports::routes())
        .merge(crate::api::routes())
        .fallback(|| async {
            Problem::not_found(
                "no such route; plugin operations live under /api/{tenant}/{plugin}/",
            )
        })
        .layer(axum::middleware::from_fn(crate::metrics::layer))
        .layer(axum::middleware::from_fn(crate::request_id::layer))
        .with_state(state)
}
