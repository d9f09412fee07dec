//! The `Authorization` header: pull one bearer token out of its value (RFC 6750 §2.1), with the
//! length cap checked before anything else, and [`BearerToken`], a token whose `Debug` is redacted.

use std::fmt;

/// Default longest token accepted, in bytes. Real access tokens are 1–4 KiB.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A raw bearer token, borrowed from the header value it was parsed from (no copy per request).
/// Its `Debug` never shows the value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BearerToken<'a>(&'a str);

impl<'a> BearerToken<'a> {
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for BearerToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

/// Why an `Authorization` value gave no usable bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    /// Another scheme (`Basic`, `Token`, ...) or an empty value: no bearer credentials at all.
    /// The server treats the request as unauthenticated (401 without `error=`).
    #[error("no bearer credentials")]
    NotBearer,
    /// `Bearer` with broken syntax: nothing after it, two tokens, extra spaces, non-ASCII or a
    /// character outside the b64token alphabet. The server answers 400 `invalid_request`.
    #[error("malformed bearer credentials")]
    Malformed,
    /// Longer than the cap; rejected before any splitting or decoding (server: 431 or 400).
    #[error("bearer credentials too long")]
    TooLong,
}

/// Parse an `Authorization` header value with the default length cap.
pub fn parse_authorization(value: &[u8]) -> Result<BearerToken<'_>, AuthorizationError> {
    parse_authorization_with_limit(value, DEFAULT_MAX_TOKEN_BYTES)
}

/// Parse an `Authorization` header value: scheme `Bearer` (any case), exactly one space, one
/// token of RFC 6750 b64token characters (`A-Z a-z 0-9 - . _ ~ + /` then `=` padding only).
pub fn parse_authorization_with_limit(
    value: &[u8],
    max_token_bytes: usize,
) -> Result<BearerToken<'_>, AuthorizationError> {
    const SCHEME: &[u8] = b"bearer";
    // Cap first: the longest acceptable value is "Bearer " plus the longest token.
    if value.len() > max_token_bytes.saturating_add(SCHEME.len() + 1) {
        return Err(AuthorizationError::TooLong);
    }
    let scheme_end = value.iter().position(|&b| b == b' ').unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Err(AuthorizationError::NotBearer);
    }
    // `rest` is empty ("Bearer") or starts with the single separating space.
    let token = rest.get(1..).unwrap_or_default();
    if token.is_empty() || !is_b64token(token) {
        return Err(AuthorizationError::Malformed);
    }
    // is_b64token admits ASCII only, so this cannot fail; map it anyway rather than panic.
    let token = std::str::from_utf8(token).map_err(|_| AuthorizationError::Malformed)?;
    Ok(BearerToken(token))
}

/// Whether `byte` is in the b64token alphabet (RFC 6750 §2.1, padding aside). Comparisons only,
/// no table: folded over a token, the compiler checks 16 or 32 bytes per instruction.
fn in_b64token_alphabet(byte: u8) -> bool {
    // `| 0x20` folds upper-case ASCII letters onto lower case and sends no other byte into a..z.
    ((byte | 0x20).wrapping_sub(b'a') < 26)
        | (byte.wrapping_sub(b'0') < 10)
        | (byte == b'-')
        | (byte == b'.')
        | (byte == b'_')
        | (byte == b'~')
        | (byte == b'+')
        | (byte == b'/')
}

/// Alphabet characters, then only `=` padding: without its trailing `=`s, the token must be a
/// non-empty run of alphabet characters (`=` is not one of them). Every authenticated request
/// checks its whole token, so the run is checked without a branch per byte: most of a token is
/// its signature, and an early exit would buy nothing for the tokens that matter, the valid ones.
fn is_b64token(token: &[u8]) -> bool {
    let body_end = token.iter().rposition(|&b| b != b'=').map_or(0, |last| last + 1);
    let body = &token[..body_end];
    !body.is_empty() && body.iter().fold(true, |valid, &b| valid & in_b64token_alphabet(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_02_scheme_is_case_insensitive() {
        for value in ["Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER abc.def.ghi"] {
            let token = parse_authorization(value.as_bytes()).expect(value);
            assert_eq!(token.as_str(), "abc.def.ghi");
        }
    }

    #[test]
    fn http_02_other_schemes_are_not_bearer_credentials() {
        for value in ["Basic dXNlcjpwYXNz", "Token abc", "", "Bearerabc", "Bear abc"] {
            assert_eq!(
                parse_authorization(value.as_bytes()),
                Err(AuthorizationError::NotBearer),
                "{value:?}"
            );
        }
    }

    #[test]
    fn http_02_broken_bearer_syntax_is_malformed() {
        for value in [
            "Bearer",
            "Bearer ",
            "Bearer  abc",
            "Bearer abc def",
            "Bearer abc ",
            "Bearer a\tb",
            "Bearer ab=c",
            "Bearer =",
            "Bearer a,b",
        ] {
            assert_eq!(
                parse_authorization(value.as_bytes()),
                Err(AuthorizationError::Malformed),
                "{value:?}"
            );
        }
        assert_eq!(parse_authorization("Bearer ab\u{e9}c".as_bytes()), Err(AuthorizationError::Malformed));
        assert_eq!(parse_authorization(b"Bearer ab\xffc"), Err(AuthorizationError::Malformed));
    }

    #[test]
    fn b64token_alphabet_and_trailing_padding_are_accepted() {
        let token = parse_authorization(b"Bearer aZ09-._~+/==").expect("b64token");
        assert_eq!(token.as_str(), "aZ09-._~+/==");
    }

    #[test]
    fn the_alphabet_holds_exactly_the_b64token_characters() {
        for byte in 0..=u8::MAX {
            let expected = byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte);
            assert_eq!(in_b64token_alphabet(byte), expected, "{byte:#04x}");
            // And so does the whole-token check, wherever in a token the byte stands.
            for at in [0, 7, 31, 40] {
                let mut token = vec![b'a'; 41];
                token[at] = byte;
                let whole = expected || (byte == b'=' && at == 40);
                assert_eq!(is_b64token(&token), whole, "{byte:#04x} at {at}");
            }
        }
    }

    #[test]
    fn jwt_f07_oversized_value_is_rejected_before_parsing() {
        let mut value = b"Bearer ".to_vec();
        value.extend(std::iter::repeat_n(b'.', 100_000));
        assert_eq!(parse_authorization(&value), Err(AuthorizationError::TooLong));
        let exact = format!("Bearer {}", "a".repeat(DEFAULT_MAX_TOKEN_BYTES));
        assert!(parse_authorization(exact.as_bytes()).is_ok());
        let over = format!("Bearer {}", "a".repeat(DEFAULT_MAX_TOKEN_BYTES + 1));
        assert_eq!(parse_authorization(over.as_bytes()), Err(AuthorizationError::TooLong));
    }

    #[test]
    fn bearer_token_debug_is_redacted() {
        let token = parse_authorization(b"Bearer secret.token.value").expect("token");
        let printed = format!("{token:?}");
        assert!(printed.contains("[redacted]"));
        assert!(!printed.contains("secret"));
    }
}
