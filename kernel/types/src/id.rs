//! Identifier newtypes. Tenant and plugin ids become part of storage keys, so
//! they are restricted to a small alphabet with no separators.

use std::fmt;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {reason}")]
pub struct IdError {
    /// What kind of identifier was expected.
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
    /// What rule it breaks.
    pub reason: &'static str,
}

/// The longest identifier accepted, in bytes.
pub(crate) const ID_BYTES_MAX: usize = 63;

/// Checks the shared identifier rule: 1 to 63 bytes of `a-z`, `0-9` and `-`,
/// starting with a letter.
pub(crate) fn check_id(kind: &'static str, value: &str) -> Result<(), IdError> {
    let reason = if value.is_empty() {
        Some("must not be empty")
    } else if value.len() > ID_BYTES_MAX {
        Some("must be at most 63 bytes")
    } else if !value.as_bytes()[0].is_ascii_lowercase() {
        Some("must start with a lower-case letter")
    } else if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        Some("may contain only a-z, 0-9 and '-'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(IdError { kind, value: value.to_owned(), reason }),
        None => Ok(()),
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates `value` as an identifier.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check_id($kind, &value)?;
                Ok(Self(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = String::deserialize(d)?;
                Self::new(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// An organisation using Keel; every business record belongs to exactly one.
    TenantId,
    "tenant id"
);
id_type!(
    /// A plugin's id from its manifest, such as `finance`.
    PluginId,
    "plugin id"
);

id_type!(
    /// A user's login name, such as `alice`.
    UserId,
    "user id"
);

/// The id of one HTTP request, carried through logs and into plugin calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// The longest request id accepted from a client header, in bytes.
    pub const BYTES_MAX: usize = 64;

    /// Accepts a client-supplied id if it is short printable ASCII.
    pub fn from_client(value: &str) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= Self::BYTES_MAX
            && value.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(value.to_owned()))
    }

    /// Wraps an id the kernel generated itself.
    pub fn generated(value: String) -> Self {
        Self(value)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_alphabet() {
        for ok in ["a", "demo", "tenant-1", "finance", &"a".repeat(63)] {
            assert!(TenantId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1abc", "Demo", "a_b", "a/b", "a\0b", "-a", &"a".repeat(64), "é"] {
            assert!(PluginId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn client_request_ids_are_bounded() {
        assert!(RequestId::from_client("abc-123").is_some());
        assert!(RequestId::from_client("").is_none());
        assert!(RequestId::from_client("has space").is_none());
        assert!(RequestId::from_client(&"x".repeat(65)).is_none());
    }
}
