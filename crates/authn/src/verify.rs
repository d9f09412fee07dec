//! Signature verification through the `jsonwebtoken` library, with its `Validation` set field by
//! field (never trusting its defaults: `validate_nbf` is off and only `exp` is required there by
//! default). Time claims are checked only by `claims.rs`, with the injected clock.

use std::collections::HashSet;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};

use crate::error::RejectReason;
use crate::keys::VerificationKey;

/// What the production `Validation` is built from.
#[derive(Debug, Clone, Copy)]
pub struct LibraryPolicy<'a> {
    pub issuers: &'a [String],
    pub audience: &'a str,
    pub leeway_seconds: u64,
}

/// The `Validation` used for a token signed with `algorithm`: exactly that one asymmetric
/// algorithm (already matched to the key), issuer and audience set, `exp`/`iss`/`aud`/`sub`
/// required. DEP-02 pins these fields in a test.
///
/// The library's own `exp`/`nbf` checks stay off: it reads the system time itself, and time
/// checks have one source, the injected clock (`claims.rs`), so tests run the very path
/// production runs.
pub fn production_validation(algorithm: Algorithm, policy: &LibraryPolicy<'_>) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.required_spec_claims =
        ["exp", "iss", "aud", "sub"].into_iter().map(str::to_owned).collect::<HashSet<_>>();
    validation.leeway = policy.leeway_seconds;
    validation.reject_tokens_expiring_in_less_than = 0;
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = true;
    validation.set_audience(&[policy.audience]);
    validation.set_issuer(policy.issuers);
    validation.sub = None;
    validation
}

/// Verify the signature (and the library's claim checks) of `token` with `key`.
pub fn verify_with_library(
    token: &str,
    key: &VerificationKey,
    algorithm: Algorithm,
    policy: &LibraryPolicy<'_>,
) -> Result<(), RejectReason> {
    if !key.fits(algorithm) {
        return Err(RejectReason::KeyMismatch);
    }
    let validation = production_validation(algorithm, policy);
    jsonwebtoken::decode::<serde::de::IgnoredAny>(token, &key.decoding_key, &validation).map(|_| ()).map_err(
        |error| match error.kind() {
            ErrorKind::InvalidSignature => RejectReason::BadSignature,
            ErrorKind::ExpiredSignature => RejectReason::Expired,
            ErrorKind::ImmatureSignature => RejectReason::NotYetValid,
            ErrorKind::InvalidIssuer => RejectReason::WrongIssuer,
            ErrorKind::InvalidAudience => RejectReason::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
                "exp" => RejectReason::MissingClaim("exp"),
                "iss" => RejectReason::MissingClaim("iss"),
                "aud" => RejectReason::MissingClaim("aud"),
                _ => RejectReason::MissingSubject,
            },
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidKeyFormat => RejectReason::KeyMismatch,
            _ => RejectReason::LibraryRejected,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::ACCEPTED_ALGORITHMS;
    use jsonwebtoken::AlgorithmFamily;

    #[test]
    fn dep_02_production_validation_fields_are_pinned() {
        let issuers = vec!["https://idp".to_owned(), "https://idp-v1/".to_owned()];
        let policy = LibraryPolicy { issuers: &issuers, audience: "api", leeway_seconds: 60 };
        for algorithm in ACCEPTED_ALGORITHMS {
            let validation = production_validation(algorithm, &policy);
            assert_eq!(validation.algorithms, vec![algorithm]);
            assert_ne!(algorithm.family(), AlgorithmFamily::Hmac);
            // Time claims are checked by `claims.rs` with the injected clock, nowhere else.
            assert!(!validation.validate_exp);
            assert!(!validation.validate_nbf);
            assert!(validation.validate_aud);
            assert!(validation.leeway <= 60);
            assert_eq!(validation.reject_tokens_expiring_in_less_than, 0);
            for claim in ["exp", "iss", "aud", "sub"] {
                assert!(validation.required_spec_claims.contains(claim), "{claim}");
            }
            let expected_aud: HashSet<String> = ["api".to_owned()].into();
            assert_eq!(validation.aud, Some(expected_aud));
            let expected_iss: HashSet<String> = issuers.iter().cloned().collect();
            assert_eq!(validation.iss, Some(expected_iss));
        }
    }
}
