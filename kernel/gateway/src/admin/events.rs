//! A tenant's dead letters: events that could not be delivered to a
//! subscriber after every retry, to inspect and replay.

use super::*;

/// A page of dead letters.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct DeadLetterPage {
    dead_letters: Vec<DeadLetterBody>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    cursor: Option<String>,
}

/// A dead letter delivered on replay, and gone.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Replayed {
    /// The dead letter's id, `<event id>-<subscriber>`.
    replayed: String,
}

/// `GET /admin/tenants/{tenant}/dead-letters?limit=&cursor=`: oldest event first.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/dead-letters", tag = "events", params(("tenant" = String, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "A page of dead letters and the cursor of the next", body = DeadLetterPage)))]
pub(crate) async fn dead_letters(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    query: PageParams,
) -> Response {
    respond(
        async {
            let tenant = TenantId::new(path(id)?).map_err(unknown)?;
            allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            let (limit, cursor) = PageQuery::read(query)?;
            let letters = state
                .platform
                .dead_letters(&tenant, cursor.as_deref(), limit + 1)
                .map_err(Problem::from_platform)?;
            let mut letters: Vec<DeadLetterBody> = bodies(&letters);
            let more = letters.len() > limit;
            letters.truncate(limit);
            let cursor = more.then(|| letters.last().map(|l| l.id.clone())).flatten();
            Ok(Json(DeadLetterPage { dead_letters: letters, cursor }).into_response())
        }
        .await,
    )
}

/// `GET /admin/tenants/{tenant}/dead-letters/{letter}`: one dead letter,
/// with the event's payload and the last error.
#[utoipa::path(get, path = "/admin/tenants/{tenant}/dead-letters/{letter}", tag = "events", params(("tenant" = String, Path), ("letter" = String, Path, description = "`<event id>-<subscriber>`")), responses((status = 200, description = "The dead letter", body = DeadLetterBody), (status = 404, description = "No such dead letter")))]
pub(crate) async fn dead_letter(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, letter) = path(ids)?;
            let tenant = TenantId::new(tenant).map_err(unknown)?;
            allow(&state.platform, &caller, Scope::Tenant(&tenant), PLUGINS_MANAGE).await?;
            let letter =
                state.platform.dead_letter(&tenant, &letter).map_err(Problem::from_platform)?;
            Ok(Json(DeadLetterBody::from(&letter)).into_response())
        }
        .await,
    )
}

/// `POST /admin/tenants/{tenant}/dead-letters/{letter}/replay`: delivers
/// the event to its subscriber once more, now. On success the dead letter
/// is gone; on failure (422) it stays, with the new error.
#[utoipa::path(post, path = "/admin/tenants/{tenant}/dead-letters/{letter}/replay", tag = "events", params(("tenant" = String, Path), ("letter" = String, Path, description = "`<event id>-<subscriber>`")), responses((status = 200, description = "Delivered; the dead letter is gone", body = Replayed), (status = 403, description = "Lacks keel.plugins.manage (keel.webhooks.manage for a webhook's letter) in the tenant"), (status = 404, description = "No such dead letter"), (status = 409, description = "The subscriber is not enabled, or the webhook was deleted"), (status = 422, description = "The delivery failed again")))]
pub(crate) async fn replay_dead_letter(
    State(state): State<AppState>,
    caller: Caller,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    respond(
        async {
            let (tenant, letter) = path(ids)?;
            let tenant = TenantId::new(tenant).map_err(unknown)?;
            // A webhook's letter is posted outside: webhook managers replay it.
            let to_webhook = letter.split_once('-').is_some_and(|(_, s)| s.starts_with("webhook."));
            let permission = if to_webhook { WEBHOOKS_MANAGE } else { PLUGINS_MANAGE };
            let actor = allow(&state.platform, &caller, Scope::Tenant(&tenant), permission).await?;
            state
                .platform
                .replay(&actor, &tenant, &letter)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(Replayed { replayed: letter }).into_response())
        }
        .await,
    )
}
