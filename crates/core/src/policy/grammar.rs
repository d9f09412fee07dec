//! The small grammars of the policy data: permission ids, scopes, role names and HTTP methods.
//!
//! Hand-written rather than regex-based: each rule is a few lines, and the policy data is
//! validated once at start, so clarity wins over brevity.

/// Methods an endpoint may be declared for.
pub const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Methods that only read (rules 6 and 7 of the decision).
pub fn is_read_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD")
}

/// Methods that change state (rule 4 of the decision).
pub fn is_write_method(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// One lowercase segment: `[a-z0-9]+(-[a-z0-9]+)*`.
fn is_segment(segment: &str) -> bool {
    !segment.is_empty()
        && !segment.starts_with('-')
        && !segment.ends_with('-')
        && !segment.contains("--")
        && segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `<service>.<resource>.<action>`: at least two lowercase segments joined by `.`.
/// The wildcard `*` is not a permission id (only roles may grant it).
pub fn is_permission(permission: &str) -> bool {
    let mut count = 0;
    for segment in permission.split('.') {
        if !is_segment(segment) {
            return false;
        }
        count += 1;
    }
    count >= 2
}

/// `<area>:<verb>`, both lowercase segments (`platform:read`, `data-designer:write`).
pub fn is_scope(scope: &str) -> bool {
    match scope.split_once(':') {
        Some((area, verb)) => is_segment(area) && is_segment(verb),
        None => false,
    }
}

/// Role names are identifiers: an ASCII letter, then letters, digits, `-` or `_`.
pub fn is_role_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Placeholder names inside `{...}`: `[a-z_][a-z0-9_]*`.
pub fn is_placeholder_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions() {
        for good in ["jobs.list", "inference.gateway.model.exec", "safe-synthesizer.jobs.read"] {
            assert!(is_permission(good), "{good}");
        }
        for bad in ["jobs", "Jobs.list", "jobs..list", "jobs.-list", "jobs:read", "*", "a.b-"] {
            assert!(!is_permission(bad), "{bad}");
        }
    }

    #[test]
    fn scopes() {
        assert!(is_scope("platform:read"));
        assert!(is_scope("data-designer:write"));
        for bad in ["platform", "platform:", ":read", "a:b:c", "Platform:read", "jobs.read"] {
            assert!(!is_scope(bad), "{bad}");
        }
    }

    #[test]
    fn role_names() {
        assert!(is_role_name("PlatformAdmin"));
        assert!(is_role_name("team_reader-2"));
        assert!(!is_role_name(""));
        assert!(!is_role_name("1Admin"));
        assert!(!is_role_name("Admin role"));
    }
}
