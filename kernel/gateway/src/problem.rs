//! RFC 9457 problem responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_host::{CallError, PluginErrorKind};
use keel_platform::PlatformError;

/// An error answered as `application/problem+json`.
#[derive(Debug)]
pub(crate) struct Problem {
    status: StatusCode,
    /// A stable machine-readable slug, also the tail of `type`.
    code: &'static str,
    detail: String,
    allow: Option<String>,
    /// Seconds until a retry may succeed, when known.
    retry_after_s: Option<u64>,
    /// Each value at fault in a request that does not fit its schema:
    /// the `errors` member, `[{"pointer": …, "detail": …}]`.
    errors: Vec<keel_manifest::Violation>,
}

impl Problem {
    /// What went wrong, in words.
    pub(crate) fn detail(&self) -> &str {
        &self.detail
    }

    /// The HTTP status it answers with.
    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            allow: None,
            retry_after_s: None,
            errors: Vec::new(),
        }
    }

    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub(crate) fn method_not_allowed(allowed: &[&str]) -> Self {
        let mut problem = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            format!("this path accepts {}", allowed.join(", ")),
        );
        problem.allow = Some(allowed.join(", "));
        problem
    }

    /// Maps a failed plugin call. Kernel faults are logged in full and
    /// answered without internals.
    pub(crate) fn from_call(err: CallError) -> Self {
        let detail = err.to_string();
        match err {
            CallError::Plugin { kind, .. } => {
                let (status, code) = match kind {
                    PluginErrorKind::BadRequest => (StatusCode::BAD_REQUEST, "bad-request"),
                    PluginErrorKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
                    PluginErrorKind::NotFound => (StatusCode::NOT_FOUND, "not-found"),
                    PluginErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
                    PluginErrorKind::Denied => (StatusCode::FORBIDDEN, "denied"),
                    PluginErrorKind::LimitExceeded => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "limit-exceeded")
                    }
                    PluginErrorKind::Internal => {
                        tracing::error!(error = %detail, "plugin reported an internal error");
                        (StatusCode::INTERNAL_SERVER_ERROR, "plugin-error")
                    }
                };
                Self::new(status, code, detail)
            }
            CallError::Trap { .. } => {
                tracing::error!(error = %detail, "plugin trapped");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "plugin-trapped", detail)
            }
            CallError::Deadline { .. } => {
                tracing::warn!(error = %detail, "plugin stopped at its deadline");
                Self::new(StatusCode::GATEWAY_TIMEOUT, "plugin-deadline", detail)
            }
            CallError::MemoryLimit { .. } => {
                tracing::warn!(error = %detail, "plugin hit its memory limit");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "plugin-memory-limit", detail)
            }
            CallError::BadResponse { .. } => {
                tracing::error!(error = %detail, "plugin answered an invalid response");
                Self::new(StatusCode::BAD_GATEWAY, "plugin-bad-response", detail)
            }
            CallError::NotByCreator { .. } | CallError::CreatorUnknown { .. } => {
                Self::new(StatusCode::FORBIDDEN, "segregation-of-duties", detail)
            }
            CallError::Contract { violations, .. } => Self {
                errors: violations,
                ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-request", detail)
            },
            CallError::Busy | CallError::Abandoned => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail)
            }
            CallError::IdempotencyKeyReused { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused", detail)
            }
            CallError::Limit(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "limit-exceeded", detail)
            }
            CallError::QuotaExceeded(_) => {
                tracing::warn!(error = %detail, "a tenant reached its storage quota");
                Self::new(StatusCode::INSUFFICIENT_STORAGE, "storage-quota-exceeded", detail)
            }
            CallError::TenantMemoryFull { .. } => {
                tracing::warn!(error = %detail, "a tenant's share of guest memory is full");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail)
            }
            CallError::GuestMemoryFull => {
                tracing::warn!(error = %detail, "guest memory of the kernel is full");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail)
            }
            other => Self::internal(&other),
        }
    }

    /// Maps a refused platform operation.
    pub(crate) fn from_platform(err: PlatformError) -> Self {
        let detail = err.to_string();
        if let PlatformError::Throttled { retry_after_s } = err {
            let problem = Self::new(StatusCode::TOO_MANY_REQUESTS, "throttled", detail);
            return Self { retry_after_s: Some(retry_after_s), ..problem };
        }
        let (status, code) = match err {
            PlatformError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            PlatformError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad-credentials"),
            PlatformError::TotpRequired => (StatusCode::UNAUTHORIZED, "totp-required"),
            PlatformError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            PlatformError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            PlatformError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
            PlatformError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            PlatformError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            other => return Self::internal(&other),
        };
        Self::new(status, code, detail)
    }

    /// A kernel fault: logged with its cause, answered generically.
    pub(crate) fn internal(err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the kernel log has the cause",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "type": format!("urn:keel:problem:{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if !self.errors.is_empty() {
            let errors: Vec<serde_json::Value> = self
                .errors
                .iter()
                .map(|v| serde_json::json!({ "pointer": v.pointer, "detail": v.detail }))
                .collect();
            body["errors"] = errors.into();
        }
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            headers
                .insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after_s.unwrap_or(60)));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was never read: the connection cannot be reused.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(allow) = self.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            headers.insert(header::ALLOW, allow);
        }
        response
    }
}
