//! `/admin/users`: create, list, get, update and delete users.

use super::*;

/// A page of users.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct UserPage {
    users: Vec<UserBody>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    cursor: Option<String>,
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    id: String,
    name: String,
    password: String,
}

/// `POST /admin/users`
#[utoipa::path(post, path = "/admin/users", tag = "users", request_body = NewUser, responses((status = 201, description = "Created", body = UserBody), (status = 409, description = "Exists"), (status = 422, description = "Invalid, such as a password under 12 characters")))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Response {
    respond(
        async {
            let actor = allow(&state.platform, &caller, Scope::Platform, USERS_MANAGE).await?;
            let body: NewUser = json(request, body_limit(&state)).await?;
            let user = UserId::new(&body.id).map_err(|err| {
                Problem::from_platform(keel_platform::PlatformError::Invalid(err.to_string()))
            })?;
            let created = state
                .platform
                .create_user(&actor, user, body.name, body.password)
                .await
                .map_err(Problem::from_platform)?;
            Ok((StatusCode::CREATED, Json(UserBody::from(&created))).into_response())
        }
        .await,
    )
}

/// `GET /admin/users`
#[utoipa::path(get, path = "/admin/users", tag = "users", params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "A page of users and the cursor of the next", body = UserPage)))]
pub(crate) async fn users(
    State(state): State<AppState>,
    caller: Caller,
    query: PageParams,
) -> Response {
    respond(
        async {
            allow(&state.platform, &caller, Scope::Platform, USERS_MANAGE).await?;
            let users = state.platform.users().map_err(Problem::from_platform)?;
            let users: Vec<UserBody> = bodies(&users);
            let (users, cursor) = paged(users, |u| u.id.clone(), query)?;
            Ok(Json(UserPage { users, cursor }).into_response())
        }
        .await,
    )
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserUpdate {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// `GET /admin/users/{user}`
#[utoipa::path(get, path = "/admin/users/{user}", tag = "users", params(("user" = String, Path)), responses((status = 200, description = "The user", body = UserBody), (status = 404, description = "No such user")))]
pub(crate) async fn user(
    State(state): State<AppState>,
    caller: Caller,
    user: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let user = UserId::new(path(user)?).map_err(unknown)?;
            allow(&state.platform, &caller, Scope::Platform, USERS_MANAGE).await?;
            let found = state.platform.user(&user).map_err(Problem::from_platform)?;
            Ok(Json(UserBody::from(&found)).into_response())
        }
        .await,
    )
}

/// `PATCH /admin/users/{user}` with `{"name"?, "password"?}`: a new password ends the user's sessions.
#[utoipa::path(patch, path = "/admin/users/{user}", tag = "users", params(("user" = String, Path)), request_body = UserUpdate, responses((status = 200, description = "Updated", body = UserBody), (status = 422, description = "Invalid")))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    user: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    respond(
        async {
            let user = UserId::new(path(user)?).map_err(unknown)?;
            let actor = allow(&state.platform, &caller, Scope::Platform, USERS_MANAGE).await?;
            let body: UserUpdate = json(request, body_limit(&state)).await?;
            let updated = state
                .platform
                .update_user(&actor, user, body.name, body.password)
                .await
                .map_err(Problem::from_platform)?;
            Ok(Json(UserBody::from(&updated)).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/users/{user}`
#[utoipa::path(delete, path = "/admin/users/{user}", tag = "users", params(("user" = String, Path)), responses((status = 204, description = "Deleted with their memberships"), (status = 409, description = "The last platform administrator")))]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    user: Result<Path<String>, PathRejection>,
) -> Response {
    respond(
        async {
            let user = UserId::new(path(user)?).map_err(unknown)?;
            let actor = allow(&state.platform, &caller, Scope::Platform, USERS_MANAGE).await?;
            state.platform.delete_user(&actor, &user).await.map_err(Problem::from_platform)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}
