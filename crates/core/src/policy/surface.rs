//! The HTTP surface as the policy sees it: which paths are served to anyone, which are gateway
//! callouts that authenticate and authorize inside their handler, and which are the PDP
//! endpoints themselves. Everything else goes through [`super::decide`].

/// Paths served to anyone, with auth on or off; no identity is established and no PDP asked.
/// `/metrics` holds no request data (its labels are bounded names), like the health endpoints.
pub const PUBLIC_PATHS: &[&str] = &[
    "/health/live",
    "/health/ready",
    "/status",
    "/cluster-info",
    "/apis/auth/discovery",
    "/apis/auth/jwks",
    "/openapi.json",
    "/metrics",
];

/// Prefixes (and exact paths) of the gateway callouts: token inspection and forward auth.
pub const CALLOUT_PATHS: &[&str] = &["/apis/auth/authenticate", "/apis/auth/ext-authz"];

/// Prefix of the PDP endpoints (`allow`, `has_permissions`, `has_role`): service principals only.
pub const PDP_PREFIX: &str = "/apis/auth/v2/authz/";

/// How the server treats a request path before any decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathClass {
    /// Served to anyone.
    Public,
    /// A gateway callout: the handler authenticates and decides for the forwarded request.
    Callout,
    /// Everything else: identify the caller, then [`super::decide`].
    Decided,
}

/// The class of a request path (without its query string).
pub fn classify(path: &str) -> PathClass {
    if PUBLIC_PATHS.contains(&path) {
        return PathClass::Public;
    }
    let is_callout = CALLOUT_PATHS
        .iter()
        .any(|prefix| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')));
    if is_callout {
        PathClass::Callout
    } else {
        PathClass::Decided
    }
}

/// True for the PDP endpoints, which [`super::decide`] opens to service principals only.
pub fn is_pdp_path(path: &str) -> bool {
    path.starts_with(PDP_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callouts_match_whole_segments_only() {
        assert_eq!(classify("/apis/auth/authenticate"), PathClass::Callout);
        assert_eq!(classify("/apis/auth/authenticate/apis/x"), PathClass::Callout);
        assert_eq!(classify("/apis/auth/ext-authz/"), PathClass::Callout);
        assert_eq!(classify("/apis/auth/authenticated"), PathClass::Decided);
        assert_eq!(classify("/apis/auth/ext-authzz"), PathClass::Decided);
    }
}
