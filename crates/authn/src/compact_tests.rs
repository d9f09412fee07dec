//! Unit tests of the compact-serialization parser.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;

const MAX: usize = 16 * 1024;

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

fn token(header: serde_json::Value, signature: &str) -> String {
    format!("{}.{}.{}", b64(&header), b64(&json!({"sub": "a"})), signature)
}

#[test]
fn jwt_f01_segment_counts_other_than_three_are_rejected() {
    let header = b64(&json!({"alg": "RS256"}));
    let payload = b64(&json!({"sub": "a"}));
    for bad in [
        format!("{header}.{payload}"),
        format!("{header}.{payload}.c2ln.extra"),
        format!("{header}.{payload}.a.b.c"),
        format!(".{payload}.c2ln"),
        format!("{header}..c2ln"),
        format!("{header}.{payload}.c2ln."),
        String::new(),
        "..".to_owned(),
    ] {
        assert!(parse_compact(&bad, MAX).is_err(), "{bad}");
    }
    let ok = format!("{header}.{payload}.c2ln");
    assert!(parse_compact(&ok, MAX).is_ok());
    for padded in [format!(" {ok}"), format!("{ok} "), format!("{ok}\n")] {
        assert_eq!(parse_compact(&padded, MAX).unwrap_err(), RejectReason::BadCharacters);
    }
}

#[test]
fn jwt_f02_json_serialization_and_foreign_characters_are_rejected() {
    assert_eq!(
        parse_compact(r#"{"payload":"x","signatures":[]}"#, MAX).unwrap_err(),
        RejectReason::BadCharacters
    );
    let ok = token(json!({"alg": "RS256"}), "c2ln");
    for bad_char in ['+', '/', '=', '~', '%', '\u{e9}'] {
        let bad = format!("{ok}{bad_char}");
        assert_eq!(parse_compact(&bad, MAX).unwrap_err(), RejectReason::BadCharacters);
    }
}

#[test]
fn jwt_f07_length_is_checked_first() {
    let dots = ".".repeat(100_000);
    assert_eq!(parse_compact(&dots, MAX).unwrap_err(), RejectReason::TooLong);
    // Under the cap, many dots are still refused without allocating per segment.
    let dots = ".".repeat(MAX);
    assert_eq!(parse_compact(&dots, MAX).unwrap_err(), RejectReason::BadSegments);
}

#[test]
fn jwt_s01_alg_values_are_vetted() {
    for none in ["none", "None", "NONE", "nOnE"] {
        let unsigned = token(json!({"alg": none}), "");
        let parsed = parse_compact(&unsigned, MAX).expect(none);
        assert_eq!(parsed.header.algorithm, TokenAlgorithm::Unsigned);
        assert_eq!(
            parse_compact(&token(json!({"alg": none}), "c2ln"), MAX).unwrap_err(),
            RejectReason::UnsignedWithSignature
        );
    }
    for bad in [
        json!({"alg": ""}),
        json!({}),
        json!({"alg": null}),
        json!({"alg": 0}),
        json!({"alg": ["RS256"]}),
        json!({"alg": "rs256"}),
        json!({"alg": "RSA-OAEP"}),
        json!({"alg": "ES512"}),
    ] {
        for signature in ["", "c2ln"] {
            assert_eq!(
                parse_compact(&token(bad.clone(), signature), MAX).unwrap_err(),
                RejectReason::BadAlgorithm,
                "{bad} {signature}"
            );
        }
    }
}

#[test]
fn jwt_s02_hmac_algorithms_are_refused() {
    for hs in ["HS256", "HS384", "HS512"] {
        assert_eq!(
            parse_compact(&token(json!({"alg": hs}), "c2ln"), MAX).unwrap_err(),
            RejectReason::SymmetricAlgorithm
        );
    }
}

#[test]
fn every_accepted_algorithm_parses() {
    for name in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"] {
        let signed = token(json!({"alg": name, "kid": "k"}), "c2ln");
        let parsed = parse_compact(&signed, MAX).expect(name);
        assert!(matches!(parsed.header.algorithm, TokenAlgorithm::Signed(_)));
        assert_eq!(parsed.header.key_id.as_deref(), Some("k"));
    }
}

#[test]
fn signed_token_needs_a_strict_signature_segment() {
    assert_eq!(
        parse_compact(&token(json!({"alg": "RS256"}), ""), MAX).unwrap_err(),
        RejectReason::MissingSignature
    );
    assert_eq!(
        parse_compact(&token(json!({"alg": "RS256"}), "QR"), MAX).unwrap_err(),
        RejectReason::BadBase64(TokenPart::Signature)
    );
}

#[test]
fn jwt_f09_f10_k01_k02_refused_header_members() {
    for member in ["crit", "zip", "enc", "epk", "p2c", "p2s", "jku", "x5u", "jwk", "cty"] {
        let mut header = json!({"alg": "RS256"});
        header[member] = json!("x");
        assert_eq!(
            parse_compact(&token(header, "c2ln"), MAX).unwrap_err(),
            RejectReason::UnsupportedHeader,
            "{member}"
        );
    }
}

#[test]
fn jwt_p02_typ_must_be_an_access_token_type() {
    for ok in ["JWT", "jwt", "at+jwt", "at+JWT", "application/at+jwt", "application/jwt"] {
        assert!(parse_compact(&token(json!({"alg": "RS256", "typ": ok}), "c2ln"), MAX).is_ok(), "{ok}");
    }
    for bad in [json!("logout+jwt"), json!("secevent+jwt"), json!("JOSE"), json!(1)] {
        assert_eq!(
            parse_compact(&token(json!({"alg": "RS256", "typ": bad}), "c2ln"), MAX).unwrap_err(),
            RejectReason::WrongTokenType
        );
    }
}

#[test]
fn kid_must_be_a_non_empty_string() {
    for bad in [json!(""), json!(1), json!(null), json!(["k"])] {
        assert_eq!(
            parse_compact(&token(json!({"alg": "RS256", "kid": bad}), "c2ln"), MAX).unwrap_err(),
            RejectReason::BadKeyId
        );
    }
}

#[test]
fn duplicate_alg_in_header_is_rejected() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","alg":"none"}"#);
    let bad = format!("{header}.{}.c2ln", b64(&json!({"sub": "a"})));
    assert_eq!(parse_compact(&bad, MAX).unwrap_err(), RejectReason::BadJson(TokenPart::Header));
}

#[test]
fn compact_token_debug_is_redacted() {
    let raw = token(json!({"alg": "RS256", "kid": "k"}), "c2lnbmF0dXJl");
    let parsed = parse_compact(&raw, MAX).expect("parses");
    let printed = format!("{parsed:?}");
    assert!(printed.contains("[redacted]"));
    assert!(!printed.contains("c2lnbmF0dXJl"));
    assert!(!printed.contains(&raw[..10]));
}
