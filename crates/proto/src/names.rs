//! Names users choose (workspaces, projects): the one pattern, used by validation in the server
//! and by the OpenAPI schema the server publishes.

use std::sync::LazyLock;

/// The reference entity-name pattern (ADR 0021): lowercase letter first, then 1–62 of
/// `a-z0-9-@.+_`, no `--`, not ending in `-`.
pub const NAME_PATTERN: &str = r"^[a-z](?!.*--)[a-z0-9\-@.+_]{1,62}(?<!-)$";

/// The workspace that holds platform-level bindings (`PlatformAdmin`, `WorkspaceCreator`, ...);
/// the IAM role-bindings API's default when a binding names no workspace.
pub const SYSTEM_WORKSPACE: &str = "system";

/// The longest valid name.
pub const MAX_NAME_LEN: usize = 63;

static NAME_REGEX: LazyLock<fancy_regex::Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant pattern; a typo is caught by the tests below
    fancy_regex::Regex::new(NAME_PATTERN).expect("NAME_PATTERN compiles")
});

/// True when `name` is a valid workspace or entity name.
pub fn is_valid_name(name: &str) -> bool {
    // Length first: the regex bounds it too, but this keeps huge inputs cheap.
    name.len() <= MAX_NAME_LEN && NAME_REGEX.is_match(name).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_reference_examples() {
        for ok in ["ml-team", "research", "ws1", "a.b@c+d_e", "ab"] {
            assert!(is_valid_name(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_names() {
        let long = "a".repeat(64);
        for bad in ["", "a", "Bad Name!", "1abc", "a--b", "abc-", "ABC", long.as_str(), "a b", "a/b"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
