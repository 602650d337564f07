//! HTTP handlers, one per manifest operation.

pub(crate) mod accounts;
pub(crate) mod bank;
pub(crate) mod currencies;
pub(crate) mod entries;
pub(crate) mod journals;
pub(crate) mod payables;
pub(crate) mod periods;
pub(crate) mod receivables;
pub(crate) mod reports;
pub(crate) mod tax;

use keel_sdk::{Error, Request, Result};

use keel_values::Date;

/// A date query parameter, validated.
fn date_param(request: &Request, name: &str) -> Result<Option<Date>> {
    request
        .query(name)
        .map(|text| {
            Date::parse(text)
                .map_err(|err| Error::bad_request(format!("query parameter {name}: {err}")))
        })
        .transpose()
}

/// The request's JSON body, or the default when it has none.
fn optional_json<T: serde::de::DeserializeOwned + Default>(request: &Request) -> Result<T> {
    if request.body().iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    request.json()
}
