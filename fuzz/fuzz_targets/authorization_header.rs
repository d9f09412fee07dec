//! Fuzz the `Authorization` header parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nmp_authn::{parse_authorization, DEFAULT_MAX_TOKEN_BYTES};

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = parse_authorization(data) {
        let token = token.as_str();
        assert!(!token.is_empty() && token.len() <= DEFAULT_MAX_TOKEN_BYTES);
        assert!(token.bytes().all(|b| b.is_ascii_graphic()));
        assert!(data.len() == token.len() + 7);
        assert!(data[..7].eq_ignore_ascii_case(b"bearer "));
        assert_eq!(&data[7..], token.as_bytes());
    }
});
