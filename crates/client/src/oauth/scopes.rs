//! Which scopes to request: the cluster's `default_scopes`, the user's `--scope`, and `scope_prefix`.

/// `api://nmp` → `api://nmp/`.
pub fn normalize_scope_prefix(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    }
}

/// The scopes to ask for: without `--scope`, the cluster defaults; with it, the defaults minus
/// every API scope (those containing `:`) plus the user's, in order and without duplicates.
pub fn requested_scopes(default_scopes: &str, user_scopes: Option<&str>) -> Vec<String> {
    let defaults = default_scopes.split_whitespace();
    let mut chosen: Vec<String> = Vec::new();
    let mut push = |scope: &str| {
        if !chosen.iter().any(|existing| existing == scope) {
            chosen.push(scope.to_string());
        }
    };
    match user_scopes {
        None => defaults.for_each(&mut push),
        Some(user) => {
            defaults.filter(|scope| !scope.contains(':')).for_each(&mut push);
            user.split_whitespace().for_each(&mut push);
        }
    }
    chosen
}

/// Prepend the (normalised) prefix to API scopes: those containing `:` or ending in `.default`.
/// Scopes that already carry the prefix, or are full URIs, are left alone.
pub fn apply_scope_prefix(scopes: &[String], prefix: Option<&str>) -> Vec<String> {
    let prefix = match prefix.map(normalize_scope_prefix) {
        Some(prefix) if !prefix.is_empty() => prefix,
        _ => return scopes.to_vec(),
    };
    scopes
        .iter()
        .map(|scope| {
            let is_api_scope = scope.contains(':') || scope.ends_with(".default");
            if is_api_scope && !scope.starts_with(&prefix) && !scope.contains("://") {
                format!("{prefix}{scope}")
            } else {
                scope.clone()
            }
        })
        .collect()
}

/// Requested API scopes (`x:y`) that the granted token lacks, compared without the prefix.
pub fn missing_scopes(requested: &[String], granted: &[String], prefix: Option<&str>) -> Vec<String> {
    let prefix = prefix.map(normalize_scope_prefix).unwrap_or_default();
    let strip = |scope: &str| -> String {
        if !prefix.is_empty() {
            if let Some(rest) = scope.strip_prefix(prefix.as_str()) {
                return rest.to_string();
            }
        }
        scope.to_string()
    };
    let granted: Vec<String> = granted.iter().map(|scope| strip(scope)).collect();
    requested
        .iter()
        .map(|scope| strip(scope))
        .filter(|scope| scope.contains(':') && !scope.contains("://"))
        .filter(|scope| !granted.contains(scope))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn prefix_is_normalised_and_applied_only_to_api_scopes() {
        let scopes = strings(&["openid", "platform:read", ".default", "offline_access"]);
        assert_eq!(
            apply_scope_prefix(&scopes, Some("api://nmp")),
            strings(&["openid", "api://nmp/platform:read", "api://nmp/.default", "offline_access"])
        );
        assert_eq!(apply_scope_prefix(&scopes, None), scopes);
        assert_eq!(apply_scope_prefix(&scopes, Some("")), scopes);
    }

    #[test]
    fn prefix_is_not_applied_twice() {
        let scopes = strings(&["api://nmp/platform:read", "api://other/x:y"]);
        assert_eq!(apply_scope_prefix(&scopes, Some("api://nmp/")), scopes);
    }

    #[test]
    fn user_scopes_replace_default_api_scopes() {
        let defaults = "platform:read platform:write openid profile email offline_access";
        assert_eq!(
            requested_scopes(defaults, None),
            strings(&["platform:read", "platform:write", "openid", "profile", "email", "offline_access"])
        );
        assert_eq!(
            requested_scopes(defaults, Some("entities:read openid")),
            strings(&["openid", "profile", "email", "offline_access", "entities:read"])
        );
    }

    #[test]
    fn missing_scopes_compare_without_prefix() {
        let requested = strings(&["openid", "api://nmp/platform:read", "api://nmp/platform:write"]);
        let granted = strings(&["platform:read"]);
        assert_eq!(missing_scopes(&requested, &granted, Some("api://nmp")), strings(&["platform:write"]));
        let granted_prefixed = strings(&["api://nmp/platform:read", "platform:write"]);
        assert!(missing_scopes(&requested, &granted_prefixed, Some("api://nmp/")).is_empty());
    }
}
