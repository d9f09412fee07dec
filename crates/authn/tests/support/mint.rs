//! Minting test tokens with the committed test keys: any header, any claims, any signature.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};

const PUBLIC_KEYS: &str = include_str!("../keys/public_jwks.json");

/// A private key plus its public JWK.
pub struct TestKey {
    pub algorithm: Algorithm,
    pub kid: String,
    encoding: EncodingKey,
    public: Value,
}

impl TestKey {
    /// `name` is a file stem under `tests/keys/` (rsa1, rsa2, attacker_rsa, rsa_weak1024,
    /// ec256, ec384, ed25519).
    pub fn load(name: &str, kid: &str, algorithm: Algorithm) -> TestKey {
        let pem =
            std::fs::read(format!("{}/tests/keys/{name}.pem", env!("CARGO_MANIFEST_DIR"))).expect("test key");
        let encoding = match name {
            n if n.contains("rsa") => EncodingKey::from_rsa_pem(&pem),
            n if n.starts_with("ec") => EncodingKey::from_ec_pem(&pem),
            _ => EncodingKey::from_ed_pem(&pem),
        }
        .expect("encoding key");
        let all: Value = serde_json::from_str(PUBLIC_KEYS).expect("public keys");
        let mut public = all[name].clone();
        public["kid"] = json!(kid);
        TestKey { algorithm, kid: kid.to_owned(), encoding, public }
    }

    /// The public JWK (with `kid`), as the IdP publishes it.
    pub fn jwk(&self) -> Value {
        self.public.clone()
    }

    /// The public JWK with extra members.
    pub fn jwk_with(&self, extra: Value) -> Value {
        let mut jwk = self.jwk();
        for (name, value) in extra.as_object().expect("object") {
            jwk[name] = value.clone();
        }
        jwk
    }

    /// Standard header: `alg` of this key and its `kid`.
    pub fn header(&self) -> Value {
        json!({"alg": alg_name(self.algorithm), "kid": self.kid, "typ": "JWT"})
    }

    /// Sign `claims` with the standard header.
    pub fn mint(&self, claims: &Value) -> String {
        self.mint_with_header(&self.header(), claims)
    }

    /// Sign arbitrary header JSON and claims with this key (using this key's algorithm).
    pub fn mint_with_header(&self, header: &Value, claims: &Value) -> String {
        self.mint_raw(&encode_json(header), &encode_json(claims), self.algorithm)
    }

    /// Sign pre-encoded segments with `algorithm`.
    pub fn mint_raw(&self, header_b64: &str, payload_b64: &str, algorithm: Algorithm) -> String {
        let signing_input = format!("{header_b64}.{payload_b64}");
        let signature =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.encoding, algorithm).expect("sign");
        format!("{signing_input}.{signature}")
    }
}

pub fn alg_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn encode_json(value: &Value) -> String {
    b64(&serde_json::to_vec(value).expect("json"))
}

/// An `alg: none` token with an empty signature.
pub fn unsigned(claims: &Value) -> String {
    unsigned_with_header(&json!({"alg": "none", "typ": "JWT"}), claims)
}

pub fn unsigned_with_header(header: &Value, claims: &Value) -> String {
    format!("{}.{}.", encode_json(header), encode_json(claims))
}

/// An HMAC token signed with `secret` (attacks only: we never accept these).
pub fn hmac(secret: &[u8], header: &Value, claims: &Value) -> String {
    let key = EncodingKey::from_secret(secret);
    let signing_input = format!("{}.{}", encode_json(header), encode_json(claims));
    let algorithm = match header["alg"].as_str() {
        Some("HS384") => Algorithm::HS384,
        Some("HS512") => Algorithm::HS512,
        _ => Algorithm::HS256,
    };
    let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, algorithm).expect("sign");
    format!("{signing_input}.{signature}")
}
