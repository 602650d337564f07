//! Who makes a request: a user or an API token, and where the request
//! came from.

/// Who is making a request: a user (`alice`) or an API token (`token:<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(pub(crate) String);

/// What a token's principal starts with: `token:<id>`.
pub(crate) const TOKEN_PREFIX: &str = "token:";

impl Principal {
    /// The principal's name, as authorization and plugins see it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn token(id: &str) -> Self {
        Self(format!("{TOKEN_PREFIX}{id}"))
    }
}

/// An authenticated principal and where its request came from: what the
/// audit trail records of each change it makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Who.
    pub principal: Principal,
    /// The request's id.
    pub request_id: Option<String>,
    /// The client's address.
    pub source: Option<String>,
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
