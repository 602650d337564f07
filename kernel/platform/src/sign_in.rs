//! Signing in and out, second factors, and telling who a session or
//! token is.

use std::sync::Arc;

use keel_audit::Origin;
use keel_identity::Session;
use keel_types::UserId;

use crate::{Actor, Platform, PlatformError, Principal, TotpEnrolment, blocking, identity_error};

impl Platform {
    /// Checks a password (and a one-time code, once enrolled) and opens a session.
    pub async fn login(
        &self,
        user: String,
        password: String,
        totp: Option<String>,
        source: String,
        request_id: Option<String>,
    ) -> Result<Session, PlatformError> {
        let identity = Arc::clone(&self.inner.identity);
        blocking(move || {
            identity.login(&user, &password, totp.as_deref(), &source, request_id.as_deref())
        })
        .await
    }

    /// Starts enrolling the actor's user in TOTP (API tokens cannot).
    pub async fn totp_enrol(&self, actor: &Actor) -> Result<TotpEnrolment, PlatformError> {
        let user = self.user_of(&actor.principal)?;
        let origin = self.origin(actor, None).await;
        self.identity_write(move |identity| identity.totp_enrol(&origin, &user)).await
    }

    /// Confirms enrolment with a first code.
    pub async fn totp_confirm(&self, actor: &Actor, code: &str) -> Result<(), PlatformError> {
        let user = self.user_of(&actor.principal)?;
        let origin = self.origin(actor, None).await;
        let code = code.to_owned();
        self.identity_write(move |identity| identity.totp_confirm(&origin, &user, &code)).await
    }

    fn user_of(&self, principal: &Principal) -> Result<UserId, PlatformError> {
        UserId::new(principal.as_str()).map_err(|_| {
            PlatformError::Invalid("only users, not API tokens, have a second factor".to_owned())
        })
    }

    /// Closes a session; `request` carries the request id and address
    /// for the audit record (the actor is the session's user).
    pub async fn logout(&self, token: &str, request: &Actor) -> Result<bool, PlatformError> {
        let origin = Origin {
            at: self.inner.host.now().seconds,
            actor: request.principal.to_string(),
            roles: Vec::new(),
            request_id: request.request_id.clone(),
            source: request.source.clone(),
        };
        let token = token.to_owned();
        let closed = self.identity_write(move |identity| identity.logout(&origin, &token)).await?;
        Ok(closed.is_some())
    }

    /// The principal behind a bearer token: a login session or an API token.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Principal, PlatformError> {
        let Some(token) = token else { return Err(PlatformError::Unauthenticated) };
        if let Some(user) = self.identity().authenticate(token).map_err(identity_error)? {
            return Ok(Principal(user.to_string()));
        }
        match self.identity().authenticate_token(token).map_err(identity_error)? {
            Some(api_token) => Ok(Principal::token(&api_token.id)),
            None => Err(PlatformError::Unauthenticated),
        }
    }
}
