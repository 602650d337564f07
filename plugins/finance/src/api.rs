//! HTTP handlers, one per manifest operation.

pub(crate) mod accounts;
pub(crate) mod entries;
pub(crate) mod payables;
pub(crate) mod reports;

use keel_sdk::{Error, Request, Result};

use crate::ledger::RuleError;
use crate::ledger::date::Date;

/// Default and largest page sizes for list operations.
const PAGE_DEFAULT: u32 = 50;
const PAGE_MAX: u32 = 500;

impl From<RuleError> for Error {
    fn from(err: RuleError) -> Self {
        Error::invalid(err.0)
    }
}

/// The `limit` query parameter, bounded.
fn page_limit(request: &Request) -> Result<u32> {
    let limit = request.query_as::<u32>("limit")?.unwrap_or(PAGE_DEFAULT);
    if limit == 0 || limit > PAGE_MAX {
        return Err(Error::bad_request(format!("limit must be 1 to {PAGE_MAX}")));
    }
    Ok(limit)
}

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
