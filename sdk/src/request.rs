//! Requests routed to an operation, and the responses returned.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::{WitRequest, WitResponse};
use crate::{Error, Result};

/// An HTTP request routed to one of the plugin's operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// Builds a request, as the kernel would; useful in tests.
    pub fn new(method: &str, path: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            params: Vec::new(),
            query: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a path parameter (builder style, for tests).
    pub fn with_param(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a query pair (builder style, for tests).
    pub fn with_query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn from_wit(request: WitRequest) -> Self {
        Self {
            method: request.method,
            path: request.path,
            params: request.params,
            query: request.query,
            body: request.body,
        }
    }

    /// The HTTP method, upper case.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path below the plugin's prefix.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The value of the path parameter `name` from the operation's pattern.
    pub fn param(&self, name: &str) -> Result<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str()).ok_or_else(
            || Error::internal(format!("the operation's path has no parameter {name:?}")),
        )
    }

    /// The first query value named `name`, if present.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The first query value named `name`, parsed; a value that does not
    /// parse is a 400 naming the parameter.
    pub fn query_as<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>> {
        match self.query(name) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                Error::bad_request(format!("query parameter {name}={text:?} is not valid"))
            }),
        }
    }

    /// The `limit` query parameter of a list operation, by the rule of
    /// every list ([`keel_values::page`]): 100 when absent, and a 400
    /// outside 1 to 1000. Declare the operation `paged = true` in the
    /// manifest, so that the API's documentation shows the rule.
    pub fn page_limit(&self) -> Result<u32> {
        let asked = self.query_as::<u64>("limit")?;
        keel_values::page::limit(asked).map_err(Error::bad_request)
    }

    /// The body parsed as JSON; malformed JSON or a shape mismatch is a 400
    /// that says where.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        if self.body.is_empty() {
            return Err(Error::bad_request("request body is empty; a JSON document is required"));
        }
        serde_json::from_slice(&self.body)
            .map_err(|err| Error::bad_request(format!("request body: {err}")))
    }
}

/// An operation's answer, sent as `application/json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    body: Vec<u8>,
}

impl Response {
    /// A response with `status` (200 to 299) and `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Result<Self> {
        let body = serde_json::to_vec(value)
            .map_err(|err| Error::internal(format!("response does not serialize: {err}")))?;
        Ok(Self { status, body })
    }

    /// 200 OK with `value` as JSON.
    pub fn ok<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        Self::json(200, value)
    }

    /// 201 Created with `value` as JSON.
    pub fn created<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        Self::json(201, value)
    }

    /// 204 No Content.
    pub fn no_content() -> Result<Self> {
        Ok(Self { status: 204, body: Vec::new() })
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The JSON body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub(crate) fn into_wit(self) -> WitResponse {
        WitResponse { status: self.status, body: self.body }
    }
}
