//! `/auth/login` and `/auth/logout`, and reading the bearer token.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::body::{SessionBody, TotpEnrolmentBody};
use crate::extract::Caller;
use crate::problem::Problem;
use crate::state::AppState;

/// The routes of this module.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::post;
    axum::Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/totp/enrol", post(totp_enrol))
        .route("/auth/totp/confirm", post(totp_confirm))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    user: String,
    password: String,
    /// The current code from the authenticator app, once enrolled.
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /auth/login` with `{"user", "password"}`: a session token.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Login, security(()), responses((status = 200, description = "A session token and its expiry", body = SessionBody), (status = 401, description = "Bad credentials"), (status = 429, description = "Throttled")))]
pub(crate) async fn login(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Response {
    let limit = state.platform.host().limits().request_body_bytes_max;
    let result = async {
        let body: Login = crate::extract::json(request, limit).await?;
        let source = caller.source.unwrap_or_default();
        let request_id = caller.request_id;
        let session =
            state.platform.login(body.user, body.password, body.totp, source, request_id).await;
        session.map_err(Problem::from_platform)
    }
    .await;
    match result {
        Ok(session) => Json(SessionBody::from(&session)).into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// `POST /auth/logout`: ends the session of the bearer token.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "Logged out"), (status = 401, description = "No such session")))]
pub(crate) async fn logout(State(state): State<AppState>, caller: Caller) -> Response {
    let Some(token) = caller.token.as_deref() else {
        return Problem::from_platform(keel_platform::PlatformError::Unauthenticated)
            .into_response();
    };
    let actor = match state.platform.authenticate(Some(token)) {
        Ok(principal) => caller.acting_as(principal),
        Err(err) => return Problem::from_platform(err).into_response(),
    };
    match state.platform.logout(token, &actor).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => {
            Problem::from_platform(keel_platform::PlatformError::Unauthenticated).into_response()
        }
        Err(err) => Problem::from_platform(err).into_response(),
    }
}

/// `POST /auth/totp/enrol`: a new second-factor secret for the caller.
#[utoipa::path(post, path = "/auth/totp/enrol", tag = "auth", responses((status = 200, description = "The secret and its otpauth URL", body = TotpEnrolmentBody), (status = 409, description = "Already enabled")))]
pub(crate) async fn totp_enrol(State(state): State<AppState>, caller: Caller) -> Response {
    let result = async {
        let actor = caller.authenticate(&state.platform)?;
        state.platform.totp_enrol(&actor).await.map_err(Problem::from_platform)
    }
    .await;
    match result {
        Ok(enrolment) => Json(TotpEnrolmentBody::from(&enrolment)).into_response(),
        Err(problem) => problem.into_response(),
    }
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Code {
    code: String,
}

/// `POST /auth/totp/confirm` with `{"code"}`: turns the second factor on.
#[utoipa::path(post, path = "/auth/totp/confirm", tag = "auth", request_body = Code, responses((status = 204, description = "Logins now need a code"), (status = 422, description = "Wrong code, or nothing to confirm")))]
pub(crate) async fn totp_confirm(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Response {
    let limit = state.platform.host().limits().request_body_bytes_max;
    let result = async {
        let actor = caller.authenticate(&state.platform)?;
        let body: Code = crate::extract::json(request, limit).await?;
        state.platform.totp_confirm(&actor, &body.code).await.map_err(Problem::from_platform)
    }
    .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(problem) => problem.into_response(),
    }
}
