//! Identifiers of stored rows: `<kind>-<base58 of 16 random bytes>`, like the reference's.

use rand::RngCore;

pub fn new_id(kind: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{kind}-{}", bs58::encode(bytes).into_string())
}
