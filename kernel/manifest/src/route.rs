//! Routing a request to a manifest's operation by method and path.

use crate::manifest::{Manifest, Method, Operation};
use crate::path::SEGMENTS_MAX;

/// An operation matched by method and path, with its raw parameter values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'m> {
    /// The matched operation.
    pub operation: &'m Operation,
    /// `(name, raw value)` for each parameter segment, still percent-encoded.
    pub params: Vec<(String, String)>,
}

/// Why no operation matched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No operation's path matches.
    #[error("no operation matches this path")]
    NotFound,
    /// Some operation's path matches, but not with this method.
    #[error("method not allowed; allowed: {}", allowed.join(", "))]
    MethodNotAllowed {
        /// The methods that the path does accept.
        allowed: Vec<&'static str>,
    },
}

impl Manifest {
    /// Finds the operation for `method` and a raw `path` (below the plugin's
    /// prefix, starting with '/'). The most specific pattern wins: at the first
    /// segment where two matching patterns differ, a literal beats a parameter.
    pub fn route(&self, method: &str, path: &str) -> Result<Route<'_>, RouteError> {
        let path = path.strip_prefix('/').ok_or(RouteError::NotFound)?;
        let parts: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('/').collect() };
        if parts.len() > SEGMENTS_MAX {
            return Err(RouteError::NotFound);
        }
        let method = Method::parse(method);
        let mut best: Option<(Vec<bool>, Route<'_>)> = None;
        let mut allowed = Vec::new();
        for operation in &self.operations {
            let Some((params, rank)) = operation.path.matches(&parts) else { continue };
            if Some(operation.method) != method {
                allowed.push(operation.method.as_str());
                continue;
            }
            if best.as_ref().is_none_or(|(best_rank, _)| rank < *best_rank) {
                best = Some((rank, Route { operation, params }));
            }
        }
        match best {
            Some((_, route)) => Ok(route),
            None if allowed.is_empty() => Err(RouteError::NotFound),
            None => {
                allowed.sort_unstable();
                allowed.dedup();
                Err(RouteError::MethodNotAllowed { allowed })
            }
        }
    }
}
