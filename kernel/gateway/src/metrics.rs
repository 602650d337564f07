//! `/metrics`: what the kernel counts, in the Prometheus text format.
//!
//! The kernel's crates record through the `metrics` facade (storage its
//! log syncs, authorization its cache, the host its plugin calls and
//! event deliveries); this module installs the process's one recorder,
//! counts every request by route template, method and status, and serves
//! the text. `/metrics` answers only to the operator's metrics token, or
//! on a listener of its own (`Server::bind_metrics`), for a private network.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest as _, Sha256};

use crate::problem::Problem;
use crate::state::AppState;

/// Buckets of the durations, in seconds: from a cached read to a call at
/// its deadline.
const SECONDS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets of the commits one log sync carries.
const COMMITS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
/// How often histograms' samples are folded into their buckets, whether
/// or not anyone scrapes, so that they never pile up.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use: every kernel a process
/// runs (tests run several) counts into it. None if another recorder was
/// installed first.
fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let built = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("keel_storage_commit_batch_commits".to_owned()),
                COMMITS,
            )
        });
    let recorder = match built {
        Ok(builder) => builder.build_recorder(),
        Err(err) => {
            tracing::error!(error = %err, "cannot build the metrics recorder; /metrics stays empty");
            return None;
        }
    };
    let handle = recorder.handle();
    if let Err(err) = metrics::set_global_recorder(recorder) {
        tracing::warn!(error = %err, "another metrics recorder is installed; /metrics stays empty");
        return None;
    }
    describe();
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new().name("keel-metrics".to_owned()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP_EVERY);
            upkeep.run_upkeep();
        }
    });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "cannot start the metrics upkeep thread; histograms fold their samples only when scraped");
    }
    Some(handle)
}

/// What each metric the kernel records means, for `# HELP`.
fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_histogram!(
        "keel_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP requests by route template, method and status, until the answer's head"
    );
    describe_histogram!(
        "keel_plugin_call_duration_seconds",
        Unit::Seconds,
        "Plugin calls by plugin, tenant (the first 100, then other) and outcome: ok, error, \
         trap, deadline, memory, busy, refused"
    );
    describe_histogram!(
        "keel_storage_log_sync_seconds",
        Unit::Seconds,
        "Syncs (fdatasync) of the write-ahead log"
    );
    describe_histogram!(
        "keel_storage_commit_batch_commits",
        Unit::Count,
        "Commits made durable by one log sync (group commit)"
    );
    describe_histogram!(
        "keel_event_delivery_lag_seconds",
        Unit::Seconds,
        "Time from an event's publication to its delivery, by subscriber kind (plugin, webhook)"
    );
    describe_counter!(
        "keel_event_dead_letters_total",
        Unit::Count,
        "Deliveries that ran out of attempts and became dead letters, by subscriber kind"
    );
    describe_counter!(
        "keel_authz_decisions_total",
        Unit::Count,
        "Permission checks, answered from the decision cache (hit) or by the policy (miss)"
    );
}

/// Installs the recorder, so that what the kernel counts from its start
/// is kept (the kernel calls it first thing; serving calls it again).
pub fn start() {
    let _installed = recorder();
}

/// Counts each request, under its route template (never its path, which
/// names tenants and records), method and status, with its duration until
/// its answer's head.
pub(crate) async fn layer(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method: &'static str = match request.method().as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::histogram!(
        "keel_http_request_duration_seconds",
        "route" => route,
        "method" => method,
        "status" => response.status().as_str().to_owned(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// `/metrics` on the main listener, for a scraper holding the metrics
/// token; 404 when the operator set none.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(guarded))
}

/// `/metrics` alone, open, for a listener of its own.
pub(crate) fn open_routes() -> Router {
    Router::new()
        .route("/metrics", get(|| async { render() }))
        .fallback(|| async { Problem::not_found("this listener serves /metrics only") })
}

async fn guarded(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = &state.metrics_token else {
        return Problem::not_found(
            "metrics are not served here: start keel with KEEL_METRICS_TOKEN, or with \
             --metrics-addr for a listener of their own",
        )
        .into_response();
    };
    let given = crate::extract::bearer(&headers).unwrap_or_default();
    // Compared as digests, so that the time taken tells nothing of the token.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.as_bytes()) {
        return Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "/metrics needs the metrics token (KEEL_METRICS_TOKEN) as a bearer token",
        )
        .into_response();
    }
    render()
}

fn render() -> Response {
    let Some(handle) = recorder() else {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics-unavailable",
            "the kernel's metrics recorder could not be installed; the log says why",
        )
        .into_response();
    };
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
