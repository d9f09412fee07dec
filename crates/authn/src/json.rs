//! Strict decoding of JWT parts: unpadded canonical base64url, then a JSON object whose top-level
//! member names are unique (RFC 7515 §5.2 lets us reject duplicates; we do, so no two parsers can
//! disagree about which `alg` or `sub` counts).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A JSON object as found in a JWT header or payload.
pub type JsonObject = Map<String, Value>;

/// Strict base64url: no padding, no whitespace, no `+`/`/`, no non-zero trailing bits.
pub fn decode_base64url(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment).ok()
}

/// Parse bytes as one JSON object with unique top-level member names. serde_json keeps its
/// default recursion limit (128), so nesting bombs fail instead of overflowing the stack.
pub fn parse_unique_object(bytes: &[u8]) -> Option<JsonObject> {
    serde_json::from_slice::<UniqueKeyObject>(bytes).ok().map(|object| object.0)
}

struct UniqueKeyObject(JsonObject);

impl<'de> Deserialize<'de> for UniqueKeyObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(UniqueKeyVisitor)
    }
}

struct UniqueKeyVisitor;

impl<'de> Visitor<'de> for UniqueKeyVisitor {
    type Value = UniqueKeyObject;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with unique member names")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut object = JsonObject::new();
        while let Some(name) = access.next_key::<String>()? {
            let value: Value = access.next_value()?;
            if object.contains_key(&name) {
                return Err(de::Error::custom("duplicate member name"));
            }
            object.insert(name, value);
        }
        Ok(UniqueKeyObject(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_f03_base64url_is_strict() {
        assert_eq!(decode_base64url("eyJ9").as_deref(), Some(&b"{\"}"[..]));
        assert!(decode_base64url("eyJ9=").is_none(), "padding");
        assert!(decode_base64url("ey+9").is_none(), "standard alphabet");
        assert!(decode_base64url("ey J9").is_none(), "whitespace");
        // "QQ" is the canonical spelling of "A"; "QR" has non-zero trailing bits.
        assert_eq!(decode_base64url("QQ").as_deref(), Some(&b"A"[..]));
        assert!(decode_base64url("QR").is_none(), "non-canonical trailing bits");
        assert!(decode_base64url("Q").is_none(), "impossible length");
    }

    #[test]
    fn jwt_f04_only_json_objects_are_accepted() {
        assert!(parse_unique_object(br#"{"a":1}"#).is_some());
        for bad in [&b"[]"[..], b"\"x\"", b"null", b"123", b"{\"a\":", b"{} {}", b""] {
            assert!(parse_unique_object(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn duplicate_member_names_are_rejected() {
        assert!(parse_unique_object(br#"{"alg":"RS256","alg":"none"}"#).is_none());
        assert!(parse_unique_object(br#"{"sub":"a","x":{"y":1},"sub":"b"}"#).is_none());
    }

    #[test]
    fn jwt_f05_utf16_and_invalid_utf8_are_rejected() {
        let utf16: Vec<u8> = "{\"a\":1}".encode_utf16().flat_map(|unit| unit.to_le_bytes()).collect();
        assert!(parse_unique_object(&utf16).is_none());
        assert!(parse_unique_object(b"{\"a\":\"\xff\"}").is_none());
        assert!(parse_unique_object(b"\xef\xbb\xbf{\"a\":1}").is_none(), "BOM");
    }

    #[test]
    fn jwt_f08_nesting_bomb_fails_without_overflow() {
        let depth = 100_000;
        let mut bomb = String::from("{\"a\":");
        bomb.push_str(&"[".repeat(depth));
        bomb.push_str(&"]".repeat(depth));
        bomb.push('}');
        assert!(parse_unique_object(bomb.as_bytes()).is_none());
    }
}
