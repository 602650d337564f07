//! What handlers read from a request before they act: who the caller says
//! it is, and its body, within the kernel's limits and deadlines.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use keel_platform::{Actor, Platform, Principal};
use keel_types::RequestId;
use serde::de::DeserializeOwned;

use crate::conn::ClientAddr;
use crate::problem::Problem;

/// The bearer token of a request, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// What a request says about its caller before anyone checks it: the
/// bearer token, the request id and the peer's address.
pub(crate) struct Caller {
    pub(crate) token: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) source: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

impl Caller {
    /// What `parts` say about the caller.
    pub(crate) fn of(parts: &Parts) -> Self {
        Self {
            token: bearer(&parts.headers).map(str::to_owned),
            request_id: parts.extensions.get::<RequestId>().map(ToString::to_string),
            source: parts
                .extensions
                .get::<ClientAddr>()
                .map(|ClientAddr(client)| client.to_string()),
        }
    }

    /// Authenticates the caller: who it is and where the request came from.
    pub(crate) fn authenticate(&self, platform: &Platform) -> Result<Actor, Problem> {
        let principal =
            platform.authenticate(self.token.as_deref()).map_err(Problem::from_platform)?;
        Ok(self.acting_as(principal))
    }

    /// The caller as `principal`.
    pub(crate) fn acting_as(&self, principal: Principal) -> Actor {
        Actor { principal, request_id: self.request_id.clone(), source: self.source.clone() }
    }
}

/// Reads a JSON body with the kernel's body limit; malformed JSON, unknown
/// fields and missing fields are a 400 that says where.
pub(crate) async fn json<T: DeserializeOwned>(
    request: Request,
    limit: usize,
) -> Result<T, Problem> {
    let bytes = read_body(request.into_body(), limit).await?;
    serde_json::from_slice(&bytes)
        .map_err(|err| Problem::bad_request(format!("request body: {err}")))
}

/// Whether the client waits for `100 Continue` before it sends its body,
/// which the server sends only once the body is read.
pub(crate) fn expects_continue(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads and drops a body nobody will use, up to `bytes_max` (and within
/// its deadline), holding one frame at a time.
pub(crate) async fn discard_body(body: Body, bytes_max: usize) {
    use http_body_util::BodyExt as _;
    let mut body = body;
    let mut n_bytes = 0usize;
    while n_bytes <= bytes_max {
        match body.frame().await {
            Some(Ok(frame)) => n_bytes += frame.data_ref().map_or(0, |data| data.len()),
            Some(Err(_)) | None => return,
        }
    }
}

pub(crate) async fn read_body(body: Body, bytes_max: usize) -> Result<Vec<u8>, Problem> {
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("request body exceeds the limit of {bytes_max} bytes"),
        )
    };
    match axum::body::to_bytes(body, bytes_max).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(err) => {
            let err = err.into_inner();
            if err.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                return Err(too_large());
            }
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err.as_ref());
            while let Some(inner) = cause.filter(|e| !e.is::<crate::conn::BodyTimeout>()) {
                cause = inner.source();
            }
            if cause.is_some() {
                return Err(Problem::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body-timeout",
                    format!("{err}; send it faster, or in smaller requests"),
                ));
            }
            Err(Problem::bad_request(format!("request body could not be read: {err}")))
        }
    }
}
