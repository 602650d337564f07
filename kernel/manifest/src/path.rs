//! Path patterns such as `/entries/{number}`, and matching a path's
//! segments against one.

use std::fmt;

/// Most segments a path pattern, or a path routed, may have.
pub(crate) const SEGMENTS_MAX: usize = 16;

/// `(name, raw value)` pairs of a matched path.
pub(crate) type Params = Vec<(String, String)>;

/// A path pattern: literal segments and `{name}` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

impl PathPattern {
    /// Parses `/a/{b}/c`: a leading slash, non-empty segments of
    /// `a-z 0-9 - _ .` or `{param}`, distinct parameter names.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("path {text:?} must start with '/'"));
        };
        let mut segments = Vec::new();
        if !rest.is_empty() {
            for part in rest.split('/') {
                segments.push(parse_segment(text, part)?);
            }
        }
        if segments.len() > SEGMENTS_MAX {
            return Err(format!("path {text:?} has more than {SEGMENTS_MAX} segments"));
        }
        let mut names: Vec<&str> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Param(name) => Some(name.as_str()),
                Segment::Literal(_) => None,
            })
            .collect();
        let n_params = names.len();
        names.sort_unstable();
        names.dedup();
        if names.len() != n_params {
            return Err(format!("path {text:?} repeats a parameter name"));
        }
        Ok(Self { text: text.to_owned(), segments })
    }

    /// The pattern with parameter names erased: two operations with the same
    /// method and shape would be ambiguous.
    pub(crate) fn shape(&self) -> String {
        let parts: Vec<&str> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(text) => text.as_str(),
                Segment::Param(_) => "{}",
            })
            .collect();
        parts.join("/")
    }

    /// Names of the parameters, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Matches raw path segments; returns the parameters and a specificity
    /// key (literal segments rank before parameters, left to right).
    pub(crate) fn matches(&self, parts: &[&str]) -> Option<(Params, Vec<bool>)> {
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        let mut rank = Vec::with_capacity(parts.len());
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(text) if text == part => rank.push(false),
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => {
                    params.push((name.clone(), (*part).to_owned()));
                    rank.push(true);
                }
            }
        }
        Some((params, rank))
    }
}

fn parse_segment(text: &str, part: &str) -> Result<Segment, String> {
    if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(format!("parameter {part:?} in path {text:?} must be {{a-z, 0-9, _}}"));
        }
        return Ok(Segment::Param(name.to_owned()));
    }
    let valid = !part.is_empty()
        && part.len() <= 64
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if !valid {
        return Err(format!(
            "segment {part:?} in path {text:?} must be non-empty a-z, 0-9, '-', '_', '.'"
        ));
    }
    Ok(Segment::Literal(part.to_owned()))
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for PathPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}
