//! Typed documents in the plugin's own namespace.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::bindings::keel::kernel::records as wit;
use crate::{Error, Result};

/// A collection declared in the manifest, holding documents of type `T`
/// (serialised as JSON objects).
#[derive(Debug)]
pub struct Collection<T> {
    name: &'static str,
    _documents: PhantomData<fn() -> T>,
}

/// Which keys (for [`Collection::scan`]) or index values (for
/// [`Collection::lookup`]) to visit; bounds are inclusive and compare as bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Range {
    /// Only keys or values starting with this.
    pub prefix: Option<String>,
    /// Only keys or values `>=` this.
    pub start: Option<String>,
    /// Only keys or values `<=` this.
    pub end: Option<String>,
}

/// One page of documents and where to continue.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// `(key, document)` pairs in order.
    pub items: Vec<(String, T)>,
    /// Pass to the next call to continue; none when there is nothing more.
    pub cursor: Option<String>,
}

impl Range {
    /// Everything.
    pub fn all() -> Self {
        Self::default()
    }

    /// Keys or values starting with `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self { prefix: Some(prefix.into()), ..Self::default() }
    }

    /// Keys or values from `start` to `end`, both inclusive; either may be open.
    pub fn between(start: Option<String>, end: Option<String>) -> Self {
        Self { prefix: None, start, end }
    }

    /// Exactly the value `value`.
    pub fn exactly(value: impl Into<String>) -> Self {
        let value = value.into();
        Self { prefix: None, start: Some(value.clone()), end: Some(value) }
    }

    fn to_wit(&self) -> wit::KeyRange {
        wit::KeyRange {
            prefix: self.prefix.clone(),
            start: self.start.clone(),
            end: self.end.clone(),
        }
    }
}

impl<T: Serialize + DeserializeOwned> Collection<T> {
    /// The collection named `name` in the manifest.
    pub const fn new(name: &'static str) -> Self {
        Self { name, _documents: PhantomData }
    }

    /// The collection's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Reads the document under `key`.
    pub fn get(&self, key: &str) -> Result<Option<T>> {
        let found = wit::get(self.name, key).map_err(Error::from_wit)?;
        found.map(|text| self.decode(key, &text)).transpose()
    }

    /// Stores a new document; [`Error::Conflict`] if `key` is taken.
    pub fn insert(&self, key: &str, document: &T) -> Result<()> {
        wit::insert(self.name, key, &self.encode(key, document)?).map_err(Error::from_wit)
    }

    /// Stores a document, replacing any previous one under `key`.
    pub fn put(&self, key: &str, document: &T) -> Result<()> {
        wit::put(self.name, key, &self.encode(key, document)?).map_err(Error::from_wit)
    }

    /// Removes the document under `key`; returns whether there was one.
    pub fn delete(&self, key: &str) -> Result<bool> {
        wit::delete(self.name, key).map_err(Error::from_wit)
    }

    /// Lists documents by key within `range`, at most `limit` (capped by the kernel).
    pub fn scan(&self, range: &Range, cursor: Option<&str>, limit: u32) -> Result<Page<T>> {
        let page = wit::scan(self.name, &range.to_wit(), cursor, limit).map_err(Error::from_wit)?;
        self.decode_page(page)
    }

    /// Lists documents whose `index` value falls within `range`.
    pub fn lookup(
        &self,
        index: &str,
        range: &Range,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<T>> {
        let page = wit::lookup(self.name, index, &range.to_wit(), cursor, limit)
            .map_err(Error::from_wit)?;
        self.decode_page(page)
    }

    /// Visits every document within `range` in key order, a page at a time,
    /// so that memory stays bounded however many there are.
    pub fn for_each(
        &self,
        range: &Range,
        visit: impl FnMut(String, T) -> Result<()>,
    ) -> Result<()> {
        self.walk(|cursor| self.scan(range, cursor, WALK_PAGE), visit)
    }

    /// Every document within `range`, in key order.
    pub fn scan_all(&self, range: &Range) -> Result<Vec<(String, T)>> {
        let mut all = Vec::new();
        self.for_each(range, |key, document| {
            all.push((key, document));
            Ok(())
        })?;
        Ok(all)
    }

    /// Every document whose `index` value falls within `range`, in index
    /// order.
    pub fn lookup_all(&self, index: &str, range: &Range) -> Result<Vec<(String, T)>> {
        let mut all = Vec::new();
        self.walk(
            |cursor| self.lookup(index, range, cursor, WALK_PAGE),
            |key, document| {
                all.push((key, document));
                Ok(())
            },
        )?;
        Ok(all)
    }

    fn walk(
        &self,
        next: impl Fn(Option<&str>) -> Result<Page<T>>,
        mut visit: impl FnMut(String, T) -> Result<()>,
    ) -> Result<()> {
        let mut cursor: Option<String> = None;
        loop {
            let page = next(cursor.as_deref())?;
            for (key, document) in page.items {
                visit(key, document)?;
            }
            match page.cursor {
                Some(more) => cursor = Some(more),
                None => return Ok(()),
            }
        }
    }

    fn decode_page(&self, page: wit::Page) -> Result<Page<T>> {
        let items = page
            .entries
            .into_iter()
            .map(|entry| Ok((entry.key.clone(), self.decode(&entry.key, &entry.value)?)))
            .collect::<Result<_>>()?;
        Ok(Page { items, cursor: page.cursor })
    }

    fn encode(&self, key: &str, document: &T) -> Result<String> {
        serde_json::to_string(document).map_err(|err| {
            Error::internal(format!("{}/{key} does not serialise: {err}", self.name))
        })
    }

    fn decode(&self, key: &str, text: &str) -> Result<T> {
        serde_json::from_str(text).map_err(|err| {
            Error::internal(format!(
                "stored document {}/{key} does not match its type: {err}",
                self.name
            ))
        })
    }
}

/// Documents per page when walking a whole range.
const WALK_PAGE: u32 = 1000;

/// The next number of the gapless sequence `name`, starting at 1; only used
/// up if the call commits.
pub fn next_sequence(name: &str) -> Result<u64> {
    wit::next_sequence(name).map_err(Error::from_wit)
}
