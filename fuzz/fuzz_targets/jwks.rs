//! Fuzz JWKS parsing (per-key vetting: RSA size/exponent, EC point on curve, Ed25519 point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nmp_authn::parsing::{parse_jwks, select_key, ACCEPTED_ALGORITHMS};

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = parse_jwks(data) {
        for algorithm in ACCEPTED_ALGORITHMS {
            let _ = select_key(&set.keys, None, algorithm);
            let _ = select_key(&set.keys, Some("k"), algorithm);
        }
    }
});
