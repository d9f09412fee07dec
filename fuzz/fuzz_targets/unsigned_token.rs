//! Fuzz the whole `authenticate` path in quickstart mode (unsigned tokens accepted, no OIDC, no
//! network): parsing, claim checks and principal mapping on attacker-controlled input. Inputs
//! are also wrapped as `alg: none` tokens so the claim code sees arbitrary payload bytes.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use nmp_authn::{Authenticator, AuthnSettings, ManualClock};

fn authenticator() -> &'static (Authenticator, tokio::runtime::Runtime) {
    static STATE: OnceLock<(Authenticator, tokio::runtime::Runtime)> = OnceLock::new();
    STATE.get_or_init(|| {
        let settings = AuthnSettings {
            allow_unsigned_jwt: true,
            token_cache_capacity: 0,
            ..AuthnSettings::default()
        };
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        let auth = Authenticator::new(settings, clock).expect("settings");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        (auth, runtime)
    })
}

const NONE_HEADER: &str = "eyJhbGciOiJub25lIn0"; // {"alg":"none"}

fuzz_target!(|data: &[u8]| {
    let (auth, runtime) = authenticator();
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = runtime.block_on(auth.authenticate(token));
    }
    let payload = base64url(data);
    let token = format!("{NONE_HEADER}.{payload}.");
    if let Ok(verified) = runtime.block_on(auth.authenticate(&token)) {
        assert!(verified.unsigned);
        assert!(!verified.principal.id.is_empty());
        assert!(!verified.principal.id.chars().any(char::is_control));
        assert!(verified.expires_at > 1_700_000_000 - 60);
    }
});

fn base64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len() * 4 / 3 + 3);
    for chunk in data.chunks(3) {
        let bytes = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let value = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for index in 0..=chunk.len() {
            out.push(ALPHABET[((value >> (18 - 6 * index)) & 63) as usize] as char);
        }
    }
    out
}
