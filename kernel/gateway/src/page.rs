//! Pagination of admin lists: `?limit=&cursor=` by the rule of every list
//! (`keel_values::page`), where the cursor is the last id of the previous
//! page.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use serde::Serialize;
use serde_json::Value;

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
    /// their owner rather than by [`page`].
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

/// One page of `items` (sorted by `key`), as `{name: [...], "cursor": ...}`.
pub(crate) fn page<T: Serialize>(
    name: &str,
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Value, Problem> {
    let (limit, cursor) = PageQuery::read(query)?;
    let query = PageQuery { limit: Some(limit), cursor };
    let mut rest = items
        .into_iter()
        .filter(|item| query.cursor.as_ref().is_none_or(|c| key(item) > *c))
        .peekable();
    let mut taken = Vec::new();
    while taken.len() < limit {
        let Some(item) = rest.next() else { break };
        taken.push(item);
    }
    let cursor = (rest.peek().is_some()).then(|| taken.last().map(&key)).flatten();
    let taken = serde_json::to_value(taken).map_err(|err| Problem::internal(&err))?;
    let mut out = serde_json::Map::new();
    out.insert(name.to_owned(), taken);
    out.insert("cursor".to_owned(), cursor.map_or(Value::Null, Value::String));
    Ok(Value::Object(out))
}
