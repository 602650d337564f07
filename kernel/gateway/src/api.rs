//! `/api/{tenant}/{plugin}/{path}`: manifest-routed plugin operations.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use keel_host::{CallGuard, IdempotencyKey, Invocation, Plugin, PluginRequest};
use keel_manifest::RouteError;
use keel_types::{PluginId, RequestId, TenantId};

use crate::extract::{Caller, read_body};
use crate::problem::Problem;
use crate::state::AppState;
use keel_platform::{Principal, Scope};

/// The routes of this module.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::any;
    axum::Router::new()
        .route("/api/{tenant}/{plugin}", any(plugin_root))
        .route("/api/{tenant}/{plugin}/{*path}", any(plugin))
}

/// Most query pairs accepted on one request.
const QUERY_PAIRS_MAX: usize = 64;

/// `/api/{tenant}/{plugin}`, with an empty path.
pub(crate) async fn plugin_root(state: State<AppState>, request: Request) -> Response {
    plugin(state, request).await
}

/// Routes one request to a plugin operation and runs it.
pub(crate) async fn plugin(State(state): State<AppState>, request: Request) -> Response {
    match serve(state, request).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn serve(state: AppState, request: Request) -> Result<Response, Problem> {
    let host = state.platform.host();
    let (parts, body) = request.into_parts();
    let actor = Caller::of(&parts).authenticate(&state.platform)?;
    let principal = &actor.principal;
    let (tenant, plugin_id, path) = split_path(parts.uri.path())?;
    let (roles, plugin) = enabled_for(&state, principal, &tenant, &plugin_id).await?;
    let route = plugin.manifest().route(parts.method.as_str(), path).map_err(|err| match err {
        RouteError::NotFound => {
            Problem::not_found(format!("plugin {plugin_id} has no operation at {path}"))
        }
        RouteError::MethodNotAllowed { allowed } => Problem::method_not_allowed(&allowed),
    })?;
    state
        .platform
        .authorize(principal, Scope::Tenant(&tenant), &route.operation.permission)
        .await
        .map_err(Problem::from_platform)?;
    let params = route
        .params
        .iter()
        .map(|(name, raw)| Ok((name.clone(), decode(raw)?)))
        .collect::<Result<Vec<_>, Problem>>()?;
    let mut query = parse_query(parts.uri.query().unwrap_or(""))?;
    let export = wanted_export(&parts.headers, &query, route.operation)?;
    // An export that follows pages asks for the largest a list gives,
    // unless the client chose: by the rule of every list if the operation
    // says it pages by it, else what plugins built before it took.
    if export.as_ref().is_some_and(|w| w.export.cursor.is_some())
        && !query.iter().any(|(name, _)| name == "limit")
    {
        let limit = if route.operation.paged { keel_values::page::LIMIT_MAX } else { 500 };
        query.push(("limit".to_owned(), limit.to_string()));
    }
    let body = read_body(body, host.limits().request_body_bytes_max).await?;
    let request_id = parts.extensions.get::<RequestId>().cloned();
    let idempotency = idempotency_key(&parts.headers, route.operation.method)?;
    // What a printed export says it shows.
    let tenant_name = tenant.to_string();
    let parameters: Vec<String> = query
        .iter()
        .filter(|(name, _)| name != "format")
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let parameters = parameters.join(", ");
    let invocation = Invocation {
        tenant,
        caller: Some(principal.to_string()),
        request_id: request_id.unwrap_or_else(|| RequestId::generated(String::new())),
        roles,
        source: actor.source.clone(),
        operation: route.operation.id.clone(),
        method: route.operation.method,
        request: PluginRequest {
            method: parts.method.as_str().to_owned(),
            path: path.to_owned(),
            params,
            query,
            body,
        },
        guard: CallGuard::default(),
        permissions: Some(state.platform.permissions_of(principal)),
        idempotency,
    };
    if route.operation.job {
        return start_job(&state, plugin, invocation).await;
    }
    let template = export.as_ref().map(|_| (Arc::clone(&plugin), invocation.clone()));
    let response = crate::calls::run(&state, plugin, invocation).await?;
    let status = StatusCode::from_u16(response.status).map_err(|err| Problem::internal(&err))?;
    let mut http = match (export, template) {
        (Some(wanted), Some((plugin, template))) if status == StatusCode::OK => {
            let said = crate::exports::Said { tenant: tenant_name, parameters };
            crate::exports::respond(&state, plugin, template, response.body, wanted, said).await?
        }
        _ => {
            let mut http = (status, response.body).into_response();
            if status != StatusCode::NO_CONTENT {
                http.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            http
        }
    };
    if response.replayed {
        http.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(http)
}

/// The format the client asks for (`?format=csv|xlsx|pdf`, or an `Accept`
/// header naming one) with the operation's export and its id; 406
/// if it asks for an export of an operation that declares none, or for a
/// format there is none of.
fn wanted_export(
    headers: &axum::http::HeaderMap,
    query: &[(String, String)],
    operation: &keel_manifest::Operation,
) -> Result<Option<crate::exports::Wanted>, Problem> {
    let Some(format) = wanted_format(headers, query)? else {
        return Ok(None);
    };
    match &operation.export {
        Some(export) => Ok(Some(crate::exports::Wanted {
            format,
            export: export.clone(),
            operation: operation.id.clone(),
        })),
        None => Err(not_acceptable(format!(
            "operation {} declares no export; ask for JSON",
            operation.id
        ))),
    }
}

/// The export format the client asks for (`?format=` first, then
/// `Accept`): none for JSON; 406 for a format there is none of.
pub(crate) fn wanted_format(
    headers: &axum::http::HeaderMap,
    query: &[(String, String)],
) -> Result<Option<keel_export::Format>, Problem> {
    let named = query.iter().find(|(name, _)| name == "format").map(|(_, v)| v.as_str());
    let accept: Vec<&str> =
        headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
    keel_export::Format::wanted(named, Some(&accept.join(","))).map_err(not_acceptable)
}

fn not_acceptable(detail: String) -> Problem {
    Problem::new(StatusCode::NOT_ACCEPTABLE, "not-acceptable", detail)
}

/// The request header that names a retry's idempotency key.
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The response header that says the answer is the one kept for the key.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The client's `Idempotency-Key`, for an operation that may write: a
/// malformed one is refused (400), and one on a read, which needs none, is
/// ignored.
fn idempotency_key(
    headers: &axum::http::HeaderMap,
    method: keel_manifest::Method,
) -> Result<Option<IdempotencyKey>, Problem> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    if method == keel_manifest::Method::Get {
        return Ok(None);
    }
    let bad = |why: String| Problem::bad_request(format!("Idempotency-Key: {why}"));
    let text = value.to_str().map_err(|_| bad("not visible ASCII".to_owned()))?;
    IdempotencyKey::new(text).map(Some).map_err(bad)
}

/// The roles `principal` holds in `tenant` and the plugin `id` enabled
/// there. Outsiders learn nothing about a tenant: no role there looks like
/// no tenant, and like a plugin that is not enabled.
pub(crate) async fn enabled_for(
    state: &AppState,
    principal: &Principal,
    tenant: &TenantId,
    id: &PluginId,
) -> Result<(Vec<String>, Arc<Plugin>), Problem> {
    let not_enabled =
        || Problem::not_found(format!("plugin {id} is not enabled for tenant {tenant}"));
    let roles =
        state.platform.authorize_member(principal, tenant).await.map_err(|_| not_enabled())?;
    let plugin = state.platform.host().enabled(tenant, id).ok_or_else(not_enabled)?;
    Ok((roles, plugin))
}

/// Starts a job on the blocking pool: 202 with the job, and its address in
/// `Location`.
async fn start_job(
    state: &AppState,
    plugin: Arc<Plugin>,
    invocation: Invocation,
) -> Result<Response, Problem> {
    let tenant = invocation.tenant.clone();
    let host = state.platform.host().clone();
    // Starting takes a turn of the tenant's lane, so it waits its turn
    // within the same bounds on calls in flight as any call that writes.
    let deadline =
        tokio::time::Instant::now() + host.limits().call_deadline + crate::calls::DEADLINE_GRACE;
    let busy = || {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the kernel is busy; no job was started, retry shortly",
        )
    };
    let permits = crate::calls::permits(state, &tenant, deadline, busy).await?;
    let span = tracing::Span::current();
    let started = tokio::task::spawn_blocking(move || {
        let _permits = permits;
        span.in_scope(|| host.start_job(&plugin, invocation))
    })
    .await
    .map_err(|join| Problem::internal(&join))?
    .map_err(Problem::from_call)?;
    let job: keel_platform::Job =
        serde_json::from_slice(&started.body).map_err(|err| Problem::internal(&err))?;
    let mut http = (StatusCode::ACCEPTED, started.body).into_response();
    let headers = http.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let location = format!("/api/{tenant}/jobs/{}", job.id);
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, value);
    }
    if started.replayed {
        headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(http)
}

/// Splits `/api/{tenant}/{plugin}{/path}`; ids that cannot exist are a 404.
fn split_path(full: &str) -> Result<(TenantId, PluginId, &str), Problem> {
    let rest = full.strip_prefix("/api/").unwrap_or_default();
    let (tenant, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let (plugin, _) = rest.split_once('/').unwrap_or((rest, ""));
    let path = &rest[plugin.len()..];
    let path = if path.is_empty() { "/" } else { path };
    let tenant =
        TenantId::new(tenant).map_err(|_| Problem::not_found(format!("no tenant {tenant:?}")))?;
    let plugin =
        PluginId::new(plugin).map_err(|_| Problem::not_found(format!("no plugin {plugin:?}")))?;
    Ok((tenant, plugin, path))
}

fn decode(raw: &str) -> Result<String, Problem> {
    percent_encoding::percent_decode_str(raw).decode_utf8().map(|text| text.into_owned()).map_err(
        |_| {
            Problem::bad_request(format!("path segment {raw:?} is not valid percent-encoded UTF-8"))
        },
    )
}

pub(crate) fn parse_query(query: &str) -> Result<Vec<(String, String)>, Problem> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .take(QUERY_PAIRS_MAX + 1)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.len() > QUERY_PAIRS_MAX {
        return Err(Problem::bad_request(format!(
            "at most {QUERY_PAIRS_MAX} query parameters are accepted"
        )));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]

        /// Any request line decodes or is refused with a 400, within bounds.
        #[test]
        fn any_path_and_query_decode_or_are_refused(path in "\\PC{0,200}", query in "\\PC{0,400}") {
            let _ = split_path(&path);
            if let Err(problem) = decode(&path) {
                prop_assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
            }
            match parse_query(&query) {
                Ok(pairs) => prop_assert!(pairs.len() <= QUERY_PAIRS_MAX),
                Err(problem) => prop_assert_eq!(problem.status(), StatusCode::BAD_REQUEST),
            }
        }

        /// Percent-encoded bytes decode to the text they encode, or are
        /// refused when they are not UTF-8.
        #[test]
        fn percent_encoding_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let encoded: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
            match (decode(&encoded), std::str::from_utf8(&bytes)) {
                (Ok(text), Ok(expected)) => prop_assert_eq!(text, expected),
                (Err(_), Err(_)) => {}
                (got, expected) => prop_assert!(false, "{:?} vs {:?}", got.is_ok(), expected.is_ok()),
            }
        }
    }

    #[test]
    fn api_paths_split_into_tenant_plugin_and_rest() {
        let (t, p, rest) = split_path("/api/demo/finance/entries/7").unwrap();
        assert_eq!((t.as_str(), p.as_str(), rest), ("demo", "finance", "/entries/7"));
        let (_, _, rest) = split_path("/api/demo/finance").unwrap();
        assert_eq!(rest, "/");
        assert!(split_path("/api/Demo/finance/x").is_err());
        assert!(split_path("/api/demo/fin%41nce/x").is_err());
    }

    #[test]
    fn query_pairs_are_decoded_and_bounded() {
        let pairs = parse_query("from=2026-01-01&account=1000&memo=a%20b+c").unwrap();
        assert_eq!(pairs[2], ("memo".to_owned(), "a b c".to_owned()));
        let many = vec!["a=1"; QUERY_PAIRS_MAX + 1].join("&");
        assert!(parse_query(&many).is_err());
    }

    #[test]
    fn params_must_be_utf8() {
        assert_eq!(decode("caf%C3%A9").unwrap(), "café");
        assert!(decode("%FF").is_err());
    }
}
