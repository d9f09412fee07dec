//! Names users choose (workspaces, projects) and the reference rule they must follow.

use std::sync::LazyLock;

/// The reference entity-name pattern (decision 21).
pub const NAME_PATTERN: &str = r"^[a-z](?!.*--)[a-z0-9\-@.+_]{1,62}(?<!-)$";

static NAME_REGEX: LazyLock<fancy_regex::Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant pattern; a typo is caught by the tests below
    fancy_regex::Regex::new(NAME_PATTERN).expect("NAME_PATTERN compiles")
});

/// True when `name` is a valid workspace or entity name.
pub fn is_valid_name(name: &str) -> bool {
    // Length first: the regex bounds it too, but this keeps huge inputs cheap.
    name.len() <= 63 && NAME_REGEX.is_match(name).unwrap_or(false)
}

/// Names the platform creates itself; users cannot create or delete them.
pub fn is_reserved_workspace(name: &str) -> bool {
    name == crate::SYSTEM_WORKSPACE || name == crate::DEFAULT_WORKSPACE
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
