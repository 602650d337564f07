//! The listener and the router.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{any, get, post, put};
use keel_platform::Platform;
use keel_types::TenantId;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::problem::Problem;

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

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) platform: Platform,
    /// Plugin calls in flight, bounded by the host's instance slots, so a
    /// burst queues here with a deadline instead of on the blocking pool.
    pub(crate) calls: Arc<Semaphore>,
    /// Each tenant's calls in flight, bounded below the instance slots, so
    /// that one tenant's burst (or its calls queued behind a slow one)
    /// never takes every slot.
    pub(crate) tenant_calls: Arc<Mutex<HashMap<TenantId, Arc<Semaphore>>>>,
}

impl AppState {
    /// The semaphore bounding `tenant`'s calls in flight.
    pub(crate) fn tenant_calls(&self, tenant: &TenantId) -> Arc<Semaphore> {
        let n_calls = usize::try_from(self.platform.host().limits().calls_per_tenant_max)
            .unwrap_or(usize::MAX);
        let mut calls = self.tenant_calls.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(calls.entry(tenant.clone()).or_insert_with(|| Arc::new(Semaphore::new(n_calls))))
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

fn router(platform: Platform, options: Options) -> Router {
    let n_slots = usize::try_from(platform.host().limits().instances_max).unwrap_or(usize::MAX);
    let state = AppState {
        calls: Arc::new(Semaphore::new(n_slots)),
        tenant_calls: Arc::default(),
        platform,
    };
    let mut router = Router::new();
    if options.bench_routes {
        router = router
            .route("/bench/native/{tenant}/finance/entries/{number}", get(crate::bench::entry));
    }
    router
        .route("/admin/openapi.json", get(crate::openapi::admin))
        .route("/api/{tenant}/openapi.json", get(crate::openapi::tenant))
        .route("/auth/login", post(crate::auth::login))
        .route("/auth/logout", post(crate::auth::logout))
        .route("/auth/totp/enrol", post(crate::auth::totp_enrol))
        .route("/auth/totp/confirm", post(crate::auth::totp_confirm))
        .route("/admin/tenants", get(crate::admin::tenants).post(crate::admin::create_tenant))
        .route("/admin/users", get(crate::admin::users).post(crate::admin::create_user))
        .route(
            "/admin/users/{user}",
            get(crate::admin::user)
                .patch(crate::admin::update_user)
                .delete(crate::admin::delete_user),
        )
        .route(
            "/admin/tenants/{tenant}",
            get(crate::admin::tenant)
                .patch(crate::admin::update_tenant)
                .delete(crate::admin::delete_tenant),
        )
        .route(
            "/admin/tenants/{tenant}/storage-quota",
            put(crate::admin::set_storage_quota).delete(crate::admin::reset_storage_quota),
        )
        .route("/admin/tenants/{tenant}/members", get(crate::admin::members))
        .route(
            "/admin/tenants/{tenant}/members/{user}",
            get(crate::admin::member)
                .put(crate::admin::set_roles)
                .delete(crate::admin::remove_member),
        )
        .route(
            "/admin/tenants/{tenant}/plugins/{plugin}",
            put(crate::admin::enable_plugin).delete(crate::admin::disable_plugin),
        )
        .route(
            "/admin/tenants/{tenant}/providers",
            get(crate::admin::providers).put(crate::admin::choose_provider),
        )
        .route("/admin/tenants/{tenant}/dead-letters", get(crate::admin::dead_letters))
        .route("/admin/tenants/{tenant}/dead-letters/{letter}", get(crate::admin::dead_letter))
        .route(
            "/admin/tenants/{tenant}/dead-letters/{letter}/replay",
            post(crate::admin::replay_dead_letter),
        )
        .route("/admin/audit", get(crate::admin::platform_audit))
        .route("/admin/audit/verify", get(crate::admin::platform_audit_verify))
        .route("/admin/tenants/{tenant}/audit", get(crate::admin::audit))
        .route("/admin/tenants/{tenant}/audit/verify", get(crate::admin::audit_verify))
        .route("/admin/tenants/{tenant}/audit/export", get(crate::admin::audit_export))
        .route("/admin/tenants/{tenant}/audit/head", get(crate::admin::audit_head))
        .route(
            "/admin/tenants/{tenant}/audit/heads",
            get(crate::admin::kept_heads).post(crate::admin::keep_head),
        )
        .route("/admin/audit/heads", get(crate::admin::platform_kept_heads))
        .route("/admin/tenants/{tenant}/roles", get(crate::admin::roles))
        .route(
            "/admin/tenants/{tenant}/roles/{role}",
            get(crate::admin::role)
                .put(crate::admin::define_role)
                .delete(crate::admin::delete_role),
        )
        .route("/admin/tenants/{tenant}/sod", get(crate::admin::sod_rules))
        .route(
            "/admin/tenants/{tenant}/sod/{rule}",
            put(crate::admin::put_sod_rule).delete(crate::admin::delete_sod_rule),
        )
        .route(
            "/admin/tenants/{tenant}/tokens",
            get(crate::admin::tokens).post(crate::admin::create_token),
        )
        .route(
            "/admin/tenants/{tenant}/tokens/{id}",
            get(crate::admin::token).delete(crate::admin::revoke_token),
        )
        .route("/admin/packages", get(crate::admin::packages).post(crate::admin::install_package))
        .route("/admin/packages/{plugin}/{version}", get(crate::admin::package))
        .route("/healthz", get(health))
        .route("/api/{tenant}/{plugin}", any(crate::api::plugin_root))
        .route("/api/{tenant}/{plugin}/{*path}", any(crate::api::plugin))
        .fallback(|| async {
            Problem::not_found(
                "no such route; plugin operations live under /api/{tenant}/{plugin}/",
            )
        })
        .layer(axum::middleware::from_fn(crate::request_id::layer))
        .with_state(state)
}
