//! Pagination of admin lists: `?limit=&cursor=` by the rule of every list
//! (`keel_values::page`), where the cursor is the last id of the previous
//! page.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;

use crate::problem::Problem;

/// `?limit=&cursor=`
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

impl PageQuery {
    /// The query's page size (checked) and cursor, for lists paged by
    /// their owner rather than by [`paged`].
    pub(crate) fn read(
        query: Result<Query<PageQuery>, QueryRejection>,
    ) -> Result<(usize, Option<String>), Problem> {
        let Query(query) = query.map_err(|err| Problem::bad_request(err.body_text()))?;
        Self::checked(query.limit, query.cursor)
    }

    /// A page size (checked; the default if none) and cursor read from a
    /// query that also holds other pairs.
    pub(crate) fn checked(
        limit: Option<usize>,
        cursor: Option<String>,
    ) -> Result<(usize, Option<String>), Problem> {
        let limit =
            keel_values::page::limit(limit.map(|n| n as u64)).map_err(Problem::bad_request)?;
        Ok((limit as usize, cursor))
    }
}

/// One page of `items` (sorted by `key`): the page's items, and the
/// `cursor` of the next page (none on the last). Each typed page answer
/// (`UserPage`, `TenantPage`, …) is `{"<items>": [...], "cursor": ...}`
/// from these, with `cursor` always written, as null on the last page.
pub(crate) fn paged<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<(Vec<T>, Option<String>), Problem> {
    let (limit, cursor) = PageQuery::read(query)?;
    let mut rest =
        items.into_iter().filter(|item| cursor.as_ref().is_none_or(|c| key(item) > *c)).peekable();
    let mut taken = Vec::new();
    while taken.len() < limit {
        let Some(item) = rest.next() else { break };
        taken.push(item);
    }
    let cursor = (rest.peek().is_some()).then(|| taken.last().map(&key)).flatten();
    Ok((taken, cursor))
}
