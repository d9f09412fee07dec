//! Fuzz the JWS compact parser (length, alphabet, segments, strict base64url, duplicate-free
//! JSON, JOSE header rules) and the strict JSON/base64 helpers it is built on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nmp_authn::parsing::{decode_base64url, parse_compact, parse_unique_object, TokenAlgorithm};

const MAX: usize = 16 * 1024;

fuzz_target!(|data: &[u8]| {
    let _ = parse_unique_object(data);
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = decode_base64url(token);
    if let Ok(parsed) = parse_compact(token, MAX) {
        // Invariants of an accepted parse.
        assert!(token.len() <= MAX);
        assert_eq!(format!("{}.{}", parsed.signing_input, parsed.signature), token);
        assert_eq!(token.matches('.').count(), 2);
        match parsed.header.algorithm {
            TokenAlgorithm::Unsigned => assert!(parsed.signature.is_empty()),
            TokenAlgorithm::Signed(_) => assert!(decode_base64url(parsed.signature).is_some()),
        }
        if let Some(kid) = &parsed.header.key_id {
            assert!(!kid.is_empty());
        }
    }
});
