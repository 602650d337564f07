//! Request ids and the per-request tracing span.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use keel_types::RequestId;
use tracing::Instrument;

/// The header carrying the request id, in both directions.
pub(crate) const HEADER: &str = "x-request-id";

/// Assigns the request id (the client's, if well-formed, else a new UUIDv7),
/// runs the request inside a span that carries it, and echoes it back.
pub(crate) async fn layer(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(RequestId::from_client)
        .unwrap_or_else(|| RequestId::generated(uuid::Uuid::now_v7().to_string()));
    request.extensions_mut().insert(id.clone());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_us = started.elapsed().as_micros(),
            "served"
        );
    });
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
