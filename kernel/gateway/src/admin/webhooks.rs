//! A tenant's webhooks: outside endpoints subscribed to its event topics,
//! each delivery signed with the webhook's secret (shown once).

use super::*;

/// A webhook as the admin API shows it: never its secret.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct WebhookBody {
    /// Its id in the tenant.
    id: u64,
    /// The endpoint deliveries are posted to.
    url: String,
    /// The event topics it receives.
    topics: Vec<String>,
    /// What it is for.
    description: String,
    /// Whether deliveries run; a paused webhook's events wait for it.
    active: bool,
    /// Who created it.
    created_by: String,
    /// When, Unix seconds.
    created_at: i64,
    /// When it last changed (its secret included), Unix seconds.
    updated_at: i64,
    /// How far each topic is delivered (one webhook only).
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<Vec<TopicBody>>,
}

/// How far a webhook has one topic.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct TopicBody {
    /// The topic.
    topic: String,
    /// The last event id it has, or that became a dead letter.
    delivered_through: u64,
    /// The event that keeps failing, if one does: its id, attempts so
    /// far, when the next is due (Unix milliseconds) and the last error.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    failing: Option<FailingBody>,
}

/// A delivery that keeps failing.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct FailingBody {
    /// The event's id.
    event: u64,
    /// Attempts so far.
    attempts: u32,
    /// When the next is due, Unix milliseconds.
    next_at_ms: i64,
    /// Why the last failed.
    error: String,
}

impl From<keel_platform::Failing> for FailingBody {
    fn from(failing: keel_platform::Failing) -> Self {
        let keel_platform::Failing { event, attempts, next_at_ms, error } = failing;
        Self { event, attempts, next_at_ms, error }
    }
}

/// A page of webhooks.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct WebhookPage {
    webhooks: Vec<WebhookBody>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    cursor: Option<String>,
}

impl WebhookBody {
    fn of(webhook: &keel_platform::Webhook, delivery: Option<Vec<TopicBody>>) -> Self {
        Self {
            id: webhook.id,
            url: webhook.url.clone(),
            topics: webhook.topics.clone(),
            description: webhook.description.clone(),
            active: webhook.active,
            created_by: webhook.created_by.clone(),
            created_at: webhook.created_at,
            updated_at: webhook.updated_at,
            delivery,
        }
    }
}

/// A webhook and its secret: the only answer that shows the secret.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct WebhookSecret {
    webhook: WebhookBody,
    /// Keys the HMAC-SHA256 of each delivery's `Keel-Signature`; keep it
    /// in the receiver. It is not shown again.
    secret: String,
}

/// A new webhook.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewWebhookBody {
    /// An http or https endpoint on a host that resolves to public
    /// addresses (or one the operator allows).
    url: String,
    /// The event topics to receive, each `<plugin>.<name>`.
    topics: Vec<String>,
    /// What it is for.
    #[serde(default)]
    description: String,
}

/// A change to a webhook: the fields given change.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookUpdate {
    url: Option<String>,
    /// The whole new set; a topic added receives the events published from now.
    topics: Option<Vec<String>>,
    description: Option<String>,
    /// False pauses deliveries (events wait); true resumes them.
    active: Option<bool>,
}

/// `GET /admin/tenants/{tenant}/webhooks`
#[utoipa::path(get, path = "/admin/tenants/{tenant}/webhooks", tag = "webhooks", params(("tenant" = String, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "The tenant's webhooks, without secrets", body = WebhookPage), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.webhooks.manage in the tenant"), (status = 404, description = "No such tenant")))]
pub(crate) async fn webhooks(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> Response {
    respond(
        async {
            let tenant = in_tenant(&state, &caller, path(tenant)?, WEBHOOKS_MANAGE).await?;
            let webhooks =
                state.platform.webhooks(&tenant).await.map_err(Problem::from_platform)?;
            let webhooks: Vec<WebhookBody> =
                webhooks.iter().map(|w| WebhookBody::of(w, None)).collect();
            let (webhooks, cursor) = paged(webhooks, |w| format!("{:020}", w.id), query)?;
            Ok(Json(WebhookPage { webhooks, cursor }).into_response())
        }
        .await,
    )
}

/// `POST /admin/tenants/{tenant}/webhooks`: the secret is in this answer only.
#[utoipa::path(post, path = "/admin/tenants/{tenant}/webhooks", tag = "webhooks", params(("tenant" = String, Path)), request_body = NewWebhookBody, responses((status = 201, description = "The webhook and its secret, shown only now", body = WebhookSecret), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.webhooks.manage in the tenant"), (status = 404, description = "No such tenant"), (status = 409, description = "The tenant has as many webhooks as it may"), (status = 422, description = "A field breaks a rule, or the endpoint is refused (a private address, say)")))]
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    tenant: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let (tenant, actor) =
                in_tenant_as(&state, &caller, path(tenant)?, WEBHOOKS_MANAGE).await?;
            let body: NewWebhookBody = json(request, body_limit(&state)).await?;
            let new = keel_platform::NewWebhook {
                url: body.url,
                topics: body.topics,
                description: body.description,
            };
            let (webhook, secret) = state
                .platform
                .create_webhook(&actor, &tenant, new)
                .await
                .map_err(Problem::from_platform)?;
            let location = format!("/admin/tenants/{tenant}/webhooks/{}", webhook.id);
            let body = WebhookSecret { webhook: WebhookBody::of(&webhook, None), secret };
            Ok((StatusCode::CREATED, [(axum::http::header::LOCATION, location)], Json(body))
                .into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/webhooks/{id}`: with how far each topic is
/// delivered, and the delivery that keeps failing, if one does.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/webhooks/{id}", tag = "webhooks", params(("tenant" = String, Path), ("id" = u64, Path)), responses((status = 200, description = "The webhook, without its secret", body = WebhookBody), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.webhooks.manage in the tenant"), (status = 404, description = "No such tenant or webhook")))]
pub(crate) async fn webhook(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, id) = path(ids)?;
            let tenant = in_tenant(&state, &caller, tenant, WEBHOOKS_MANAGE).await?;
            let (webhook, topics) = state
                .platform
                .webhook(&tenant, webhook_id(&id)?)
                .await
                .map_err(Problem::from_platform)?;
            let delivery = topics
                .into_iter()
                .map(|t| TopicBody {
                    topic: t.topic,
                    delivered_through: t.delivered_through,
                    failing: t.failing.map(FailingBody::from),
                })
                .collect();
            Ok(Json(WebhookBody::of(&webhook, Some(delivery))).into_response())
        }
        .await,
    )
}

/// `PATCH /admin/tenants/{tenant}/webhooks/{id}`: change its endpoint,
/// topics or description, or pause and resume it.
#[utoipa::path(patch, path = "/admin/tenants/{tenant}/webhooks/{id}", tag = "webhooks", params(("tenant" = String, Path), ("id" = u64, Path)), request_body = WebhookUpdate, responses((status = 200, description = "The webhook as changed", body = WebhookBody), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.webhooks.manage in the tenant"), (status = 404, description = "No such tenant or webhook"), (status = 422, description = "A field breaks a rule, or the endpoint is refused")))]
pub(crate) async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let (tenant, id) = path(ids)?;
            let (tenant, actor) = in_tenant_as(&state, &caller, tenant, WEBHOOKS_MANAGE).await?;
            let id = webhook_id(&id)?;
            let body: WebhookUpdate = json(request, body_limit(&state)).await?;
            let change = keel_platform::WebhookChange {
                url: body.url,
                topics: body.topics,
                description: body.description,
                active: body.active,
            };
            let webhook = state
                .platform
                .update_webhook(&actor, &tenant, id, change)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(WebhookBody::of(&webhook, None)).into_response())
        }
        .await,
    )
}

/// `POST /admin/tenants/{tenant}/webhooks/{id}/rotate-secret`: a new
/// secret, in this answer only; the old one signs nothing from now.
#[utoipa::path(post, path = "/admin/tenants/{tenant}/webhooks/{id}/rotate-secret", tag = "webhooks", params(("tenant" = String, Path), ("id" = u64, Path)), responses((status = 200, description = "The webhook and its new secret, shown only now", body = WebhookSecret), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.webhooks.manage in the tenant"), (status = 404, description = "No such tenant or webhook")))]
pub(crate) async fn rotate_webhook_secret(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, id) = path(ids)?;
            let (tenant, actor) = in_tenant_as(&state, &caller, tenant, WEBHOOKS_MANAGE).await?;
            let (webhook, secret) = state
                .platform
                .rotate_webhook_secret(&actor, &tenant, webhook_id(&id)?)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(WebhookSecret { webhook: WebhookBody::of(&webhook, None), secret })
                .into_response())
        }
        .await,
    )
}

/// `DELETE /admin/tenants/{tenant}/webhooks/{id}`: deliveries stop at
/// once; its dead letters stay, to read.
#[utoipa::path(delete, path = "/admin/tenants/{tenant}/webhooks/{id}", tag = "webhooks", params(("tenant" = String, Path), ("id" = u64, Path)), responses((status = 204, description = "Deleted"), (status = 401, description = "Not signed in"), (status = 403, description = "Lacks keel.webhooks.manage in the tenant"), (status = 404, description = "No such tenant or webhook")))]
pub(crate) async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, id) = path(ids)?;
            let (tenant, actor) = in_tenant_as(&state, &caller, tenant, WEBHOOKS_MANAGE).await?;
            state
                .platform
                .delete_webhook(&actor, &tenant, webhook_id(&id)?)
                .await
                .map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

/// A webhook id from a path: a malformed one names nothing.
fn webhook_id(id: &str) -> Result<u64, Problem> {
    id.parse().map_err(|_| Problem::not_found(format!("webhook {id:?} does not exist")))
}
