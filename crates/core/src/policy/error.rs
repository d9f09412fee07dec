//! Why policy data (shipped or operator-supplied) was rejected. Each message names the bad entry.

/// A policy data problem found while loading; the server refuses to start on any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{file} line {line}: {message}")]
    Malformed { file: &'static str, line: usize, message: String },
    #[error("permission `{permission}` in {context} is not `<service>.<resource>.<action>` (lowercase segments joined by `.`)")]
    BadPermission { permission: String, context: String },
    #[error("unknown permission `{permission}` in {context}")]
    UnknownPermission { permission: String, context: String },
    #[error("scope `{scope}` in {context} is not `<area>:<verb>` (lowercase)")]
    BadScope { scope: String, context: String },
    #[error("unsupported method `{method}` for endpoint `{path}`; expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")]
    BadMethod { method: String, path: String },
    #[error("malformed path pattern `{pattern}`: {problem}")]
    BadPattern { pattern: String, problem: String },
    #[error("endpoint `{method} {path}` is declared twice")]
    DuplicateEndpoint { method: String, path: String },
    #[error("role name `{role}` is not an identifier (a letter, then letters, digits, `-` or `_`)")]
    BadRoleName { role: String },
    #[error("role `{role}` is declared twice")]
    DuplicateRole { role: String },
    #[error("role `{role}` includes unknown role `{included}`")]
    UnknownIncludedRole { role: String, included: String },
    #[error("role `{role}` includes itself: `{chain}`")]
    RoleCycle { role: String, chain: String },
    #[error("role `{role}` nests includes deeper than {max} levels: `{chain}`")]
    RoleTooDeep { role: String, chain: String, max: usize },
}
