//! The HTTP gateway: the only crate that knows about axum and HTTP.
//!
//! Every route but `/healthz`, `/readyz` and `/auth/login` needs a session token
//! (`Authorization: Bearer …`) and the permission the route declares:
//! plugin operations their manifest's, admin routes the kernel's.
//!
//! `/api/{tenant}/{plugin}/{path}` is routed by the plugin's manifest to one
//! of its operations and run by the host; every failure is an RFC 9457
//! problem document. Each request gets an id (from `x-request-id` or
//! generated), a tracing span, and a body size limit.
//! `/api/{tenant}/imports/{plugin}/{import}` brings a CSV or XLSX file in
//! through an import the plugin declares, row by row through its own
//! operation; `/api/{tenant}/reports/…` keeps a tenant's custom reports
//! and runs them as the caller. `/metrics` serves what the kernel counts,
//! in the Prometheus text format, to the operator's metrics token.

mod admin;
mod api;
mod auth;
mod bench;
mod body;
mod calls;
mod conn;
mod csv;
mod exports;
mod extract;
mod health;
mod imports;
mod jobs;
mod metrics;
mod openapi;
mod page;
mod problem;
mod reports;
mod request_id;
mod server;
mod state;
mod tls;

pub use conn::HttpLimits;
pub use metrics::start as install_metrics;
pub use server::{Options, Server};
pub use tls::{TlsFiles, install_crypto};
