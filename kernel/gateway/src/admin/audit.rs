//! A tenant's audit trail: query, export, verify, and signed heads.
//!
//! Entries and signed heads are answered exactly as `keel-audit` writes
//! them (their bytes are what is hashed and signed); the schema-only
//! mirrors in `audit_schema` describe them in the document.

use super::*;

/// Matching entries of an audit trail, and where to continue.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct AuditPage {
    /// The entries, in order, each as its chain holds it.
    #[schema(value_type = Vec<AuditEntry>)]
    entries: Vec<keel_audit::Sealed>,
    /// Pass as `from` to continue; null when nothing is left to read.
    #[schema(required = true)]
    next: Option<u64>,
}

/// The signed heads kept for a chain, oldest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct KeptHeads {
    #[schema(value_type = Vec<SignedHeadBody>)]
    heads: Vec<keel_audit::SignedHead>,
}

/// What checking a chain found: `ok` is true with the entry count and
/// head hash, or false with the first broken entry.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum Verdict {
    /// The chain is whole.
    Sound {
        /// True.
        ok: bool,
        /// Its number of entries.
        entries: u64,
        /// The hash of its last entry.
        head: String,
    },
    /// The chain is broken.
    Broken {
        /// False.
        ok: bool,
        /// The first broken entry's position.
        broken_at: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// `?from=&limit=&actor=&plugin=&collection=&key=&action=&since=&until=&format=`
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    from: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    plugin: Option<String>,
    #[serde(default)]
    collection: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    since: Option<i64>,
    #[serde(default)]
    until: Option<i64>,
    /// For export: `jsonl` (default) or `csv`.
    #[serde(default)]
    format: Option<String>,
}

/// Entries read per request at most, however few match.
const AUDIT_SCAN_MAX: usize = 100_000;
/// Entries one export returns at most; continue from `x-keel-next`.
const AUDIT_EXPORT_MAX: usize = 50_000;

impl AuditQuery {
    /// The `from` position and the page size, validated.
    fn window(&self) -> Result<(u64, usize), Problem> {
        let limit = self.limit.map(|n| n as u64);
        let limit = keel_values::page::limit(limit).map_err(Problem::bad_request)?;
        Ok((self.from.unwrap_or(1).max(1), limit as usize))
    }

    fn filter(&self) -> keel_audit::Filter {
        keel_audit::Filter {
            actor: self.actor.clone(),
            plugin: self.plugin.clone(),
            collection: self.collection.clone(),
            key: self.key.clone(),
            action: self.action.clone(),
            since: self.since,
            until: self.until,
        }
    }
}

type AuditParams =
    Result<axum::extract::Query<AuditQuery>, axum::extract::rejection::QueryRejection>;

/// `GET /admin/tenants/{tenant}/audit`: the tenant's audit trail in order,
/// filtered by actor, plugin, collection, key, action and time.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/audit", tag = "audit", params(("tenant" = String, Path), ("from" = Option<u64>, Query), ("limit" = Option<usize>, Query), ("actor" = Option<String>, Query), ("plugin" = Option<String>, Query), ("collection" = Option<String>, Query), ("key" = Option<String>, Query), ("action" = Option<String>, Query), ("since" = Option<i64>, Query), ("until" = Option<i64>, Query)), responses((status = 200, description = "Matching entries and the position to continue from", body = AuditPage)))]
pub(crate) async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
    query: AuditParams,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, AUDIT_READ).await?;
            let axum::extract::Query(query) =
                query.map_err(|err| Problem::bad_request(err.body_text()))?;
            let (from, limit) = query.window()?;
            let (entries, next) = state
                .platform
                .audit_search(&tenant, from, &query.filter(), limit, AUDIT_SCAN_MAX)
                .map_err(Problem::from_platform)?;
            Ok(Json(AuditPage { entries, next }).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/audit/export?format=jsonl|csv`: the
/// (filtered) trail as JSON lines or CSV; `x-keel-next` says where to continue.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/audit/export", tag = "audit", params(("tenant" = String, Path), ("format" = Option<String>, Query)), responses((status = 200, description = "JSON lines (one entry a line, as `GET /admin/tenants/{tenant}/audit` answers each) or CSV", content((String = "application/jsonl"), (String = "text/csv")), headers(("x-keel-next" = u64, description = "Where to continue (as `from`), when more entries are left")))))]
pub(crate) async fn audit_export(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
    query: AuditParams,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, AUDIT_READ).await?;
            let axum::extract::Query(query) =
                query.map_err(|err| Problem::bad_request(err.body_text()))?;
            let from = query.from.unwrap_or(1).max(1);
            let (entries, next) = state
                .platform
                .audit_search(&tenant, from, &query.filter(), AUDIT_EXPORT_MAX, AUDIT_SCAN_MAX)
                .map_err(Problem::from_platform)?;
            let (body, content_type) = match query.format.as_deref().unwrap_or("jsonl") {
                "jsonl" => {
                    let mut out = String::new();
                    for entry in &entries {
                        out.push_str(
                            &serde_json::to_string(entry).map_err(|err| Problem::internal(&err))?,
                        );
                        out.push('\n');
                    }
                    (out, "application/jsonl")
                }
                "csv" => (crate::csv::audit(&entries), "text/csv"),
                other => {
                    return Err(Problem::bad_request(format!(
                        "format {other:?} is not jsonl or csv"
                    )));
                }
            };
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static(content_type),
            );
            if let Some(next) =
                next.and_then(|n| axum::http::HeaderValue::from_str(&n.to_string()).ok())
            {
                headers.insert("x-keel-next", next);
            }
            Ok(response)
        }
        .await,
    )
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyQuery {
    /// An entry count recorded earlier, with its `head`.
    #[serde(default)]
    entries: Option<u64>,
    /// The hash of entry `entries`, recorded earlier.
    #[serde(default)]
    head: Option<String>,
}

/// `GET /admin/tenants/{tenant}/audit/verify?entries=&head=`: checks the whole chain.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/audit/verify", tag = "audit", params(("tenant" = String, Path)), responses((status = 200, description = "`ok` with the entry count and head hash, or the first broken entry", body = Verdict)))]
pub(crate) async fn audit_verify(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
    query: Result<axum::extract::Query<VerifyQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, AUDIT_READ).await?;
            let axum::extract::Query(query) =
                query.map_err(|err| Problem::bad_request(err.body_text()))?;
            let expected = match (query.entries, query.head) {
                (Some(n), Some(head)) => Some((n, head)),
                (None, None) => None,
                _ => return Err(Problem::bad_request("give both entries and head, or neither")),
            };
            let platform = state.platform.clone();
            let outcome = off_worker(move || {
                let expected = expected.as_ref().map(|(n, head)| (*n, head.as_str()));
                platform.audit_verify(&tenant, expected)
            })
            .await?;
            let body = verdict(outcome);
            Ok(Json(body).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/audit/head`: the chain's head, signed with
/// the kernel's ed25519 key; keep it elsewhere and pass `entries` and `head`
/// to verify later to detect truncation.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/audit/head", tag = "audit", params(("tenant" = String, Path)), responses((status = 200, description = "The signed head", body = SignedHeadBody), (status = 409, description = "The chain is broken")))]
pub(crate) async fn audit_head(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, AUDIT_READ).await?;
            let platform = state.platform.clone();
            let signed = off_worker(move || platform.audit_head(&tenant)).await?;
            Ok(Json(signed).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/audit/heads`: every signed head the kernel
/// kept for the chain (at intervals and on demand), oldest first: export
/// them and keep them elsewhere.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/audit/heads", tag = "audit", params(("tenant" = String, Path)), responses((status = 200, description = "The kept signed heads", body = KeptHeads)))]
pub(crate) async fn kept_heads(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, AUDIT_READ).await?;
            let heads = state.platform.kept_heads(Some(&tenant)).map_err(Problem::from_platform)?;
            Ok(Json(KeptHeads { heads }).into_response())
        }
        .await,
    )
}

/// `POST /admin/tenants/{tenant}/audit/heads`: signs and keeps the chain's
/// head now, if it grew since the last kept one; answers the newest kept head.
#[utoipa::path(post, path = "/admin/tenants/{tenant}/audit/heads", tag = "audit", params(("tenant" = String, Path)), responses((status = 200, description = "The newest kept signed head", body = SignedHeadBody), (status = 409, description = "The chain is broken")))]
pub(crate) async fn keep_head(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, AUDIT_READ).await?;
            let platform = state.platform.clone();
            let kept = off_worker(move || platform.keep_head(&tenant)).await?;
            Ok(Json(kept).into_response())
        }
        .await,
    )
}

/// `GET /admin/audit/heads`: the signed heads kept for the platform's own chain.
#[utoipa::path(get, path = "/admin/audit/heads", tag = "audit", responses((status = 200, description = "The kept signed heads", body = KeptHeads)))]
pub(crate) async fn platform_kept_heads(State(state): State<AppState>, caller: Caller) -> Response {
    respond(
        async {
            allow(&state.platform, &caller, Scope::Platform, AUDIT_READ).await?;
            let heads = state.platform.kept_heads(None).map_err(Problem::from_platform)?;
            Ok(Json(KeptHeads { heads }).into_response())
        }
        .await,
    )
}

/// `GET /admin/audit`: the platform's own chain (logins and failed logins), with the same filters.
#[utoipa::path(get, path = "/admin/audit", tag = "audit", responses((status = 200, description = "Matching entries and the position to continue from", body = AuditPage)))]
pub(crate) async fn platform_audit(
    State(state): State<AppState>,
    caller: Caller,
    query: AuditParams,
) -> Response {
    respond(
        async {
            allow(&state.platform, &caller, Scope::Platform, AUDIT_READ).await?;
            let axum::extract::Query(query) =
                query.map_err(|err| Problem::bad_request(err.body_text()))?;
            let (from, limit) = query.window()?;
            let (entries, next) = state
                .platform
                .platform_audit_search(from, &query.filter(), limit, AUDIT_SCAN_MAX)
                .map_err(Problem::from_platform)?;
            Ok(Json(AuditPage { entries, next }).into_response())
        }
        .await,
    )
}

/// `GET /admin/audit/verify`: checks the platform's own chain.
#[utoipa::path(get, path = "/admin/audit/verify", tag = "audit", responses((status = 200, description = "`ok` with the entry count and head, or the first broken entry", body = Verdict)))]
pub(crate) async fn platform_audit_verify(
    State(state): State<AppState>,
    caller: Caller,
) -> Response {
    respond(
        async {
            allow(&state.platform, &caller, Scope::Platform, AUDIT_READ).await?;
            let platform = state.platform.clone();
            let outcome = off_worker(move || platform.platform_audit_verify()).await?;
            let body = verdict(outcome);
            Ok(Json(body).into_response())
        }
        .await,
    )
}

/// Runs work that reads a whole chain (and may write a kept head) on the
/// blocking pool, never on an async worker.
async fn off_worker<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, keel_platform::PlatformError> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Problem::internal(&err))?
        .map_err(Problem::from_platform)
}

/// A verification outcome as the API answers it.
fn verdict(outcome: Result<keel_audit::Summary, keel_audit::Broken>) -> Verdict {
    match outcome {
        Ok(summary) => Verdict::Sound { ok: true, entries: summary.entries, head: summary.head },
        Err(broken) => Verdict::Broken { ok: false, broken_at: broken.seq, reason: broken.reason },
    }
}
