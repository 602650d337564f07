//! HTTP handlers, one per manifest operation.

pub(crate) mod accounts;
pub(crate) mod entries;
pub(crate) mod payables;
pub(crate) mod reports;

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
