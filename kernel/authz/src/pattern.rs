//! Permission names and the patterns roles may grant.

/// Checks a permission name: dotted segments of `a-z`, `0-9` and `-`.
pub fn check_permission(permission: &str) -> Result<(), String> {
    let valid = !permission.is_empty()
        && permission.len() <= 128
        && permission.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if valid {
        Ok(())
    } else {
        Err(format!("permission {permission:?} must be dotted segments of a-z, 0-9 and '-'"))
    }
}

/// Checks what a role may grant: a permission, `*`, `*.suffix` or `prefix.*`.
pub fn check_permission_pattern(pattern: &str) -> Result<(), String> {
    let inner = if pattern == "*" {
        return Ok(());
    } else if let Some(suffix) = pattern.strip_prefix("*.") {
        suffix
    } else if let Some(prefix) = pattern.strip_suffix(".*") {
        prefix
    } else {
        pattern
    };
    check_permission(inner).map_err(|_| {
        format!("permission {pattern:?} must be a dotted name, '*', '*.suffix' or 'prefix.*'")
    })
}

/// Whether a granted pattern covers a requested permission. Segments match
/// whole: `*.read` covers `finance.reports.read` but not `finance.unread`.
pub fn matches(requested: &str, granted: &str) -> bool {
    if granted == "*" {
        return true;
    }
    if let Some(suffix) = granted.strip_prefix('*') {
        return requested.ends_with(suffix) && requested.len() > suffix.len();
    }
    if let Some(prefix) = granted.strip_suffix('*') {
        return requested.starts_with(prefix) && requested.len() > prefix.len();
    }
    requested == granted
}
