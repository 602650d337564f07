//! The one paging rule of every list, the kernel's and the plugins':
//! `?limit=` from 1 to [`LIMIT_MAX`], [`LIMIT_DEFAULT`] when absent, and
//! `?cursor=` from the previous page.

/// Items a page holds when the client does not say.
pub const LIMIT_DEFAULT: u32 = 100;
/// The most items one page may hold.
pub const LIMIT_MAX: u32 = 1000;

/// The page size a client asked for (`None`: it did not), or why it may
/// not have it.
pub fn limit(asked: Option<u64>) -> Result<u32, String> {
    match asked {
        None => Ok(LIMIT_DEFAULT),
        Some(n) if (1..=u64::from(LIMIT_MAX)).contains(&n) => {
            u32::try_from(n).map_err(|_| format!("limit must be 1 to {LIMIT_MAX}, not {n}"))
        }
        Some(n) => Err(format!("limit must be 1 to {LIMIT_MAX}, not {n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_one_to_the_most_with_a_default() {
        assert_eq!(limit(None), Ok(LIMIT_DEFAULT));
        assert_eq!(limit(Some(1)), Ok(1));
        assert_eq!(limit(Some(u64::from(LIMIT_MAX))), Ok(LIMIT_MAX));
        for refused in [0, u64::from(LIMIT_MAX) + 1, u64::MAX] {
            let err = limit(Some(refused)).unwrap_err();
            assert!(err.contains("limit must be 1 to 1000"), "{err}");
        }
    }
}
