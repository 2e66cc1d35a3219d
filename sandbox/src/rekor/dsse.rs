//! Rekor v1's `dsse` 0.0.1 entries, as rekor's `pkg/types/dsse/v0.0.1`
//! makes them: a proposed entry carries the envelope as a JSON string and its
//! verifiers (base64 PEM); every envelope signature must verify over the DSSE
//! pre-authentication encoding (PAE) with one of them; the stored body keeps
//! only the SHA-256 of the envelope string as sent, the SHA-256 of the decoded
//! payload, and each signature (as written in the envelope) with its
//! verifier's canonical PEM, sorted by signature. The envelope itself is not
//! stored, as on rekor.sigstore.dev.
//!
//! Owns that canonical body and the "another body" lie for it. The request
//! shape is sigstore-rekor 0.15.1 `DsseEntry` and sigstore-python 4.5.1's
//! `_build_dsse_request`; the body is what sigstore-verify's `verify_dsse_v001`
//! and sigstore-python's `_validate_dsse_v001_entry_body` read. HTTP, SETs and
//! proofs are `v1`'s, as for hashedrekord.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::{b64, canonical_json, unb64, verify_prehashed, EntryError};

/// The DSSE pre-authentication encoding: what an envelope signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Base64 as Go's DSSE library reads it: standard, else URL-safe.
fn decode_b64(field: &str, s: &str) -> Result<Vec<u8>, EntryError> {
    STANDARD
        .decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .map_err(|e| EntryError::Malformed(format!("{field} is not base64: {e}")))
}

/// The canonical `dsse` 0.0.1 body for a proposed entry, after checking that
/// every envelope signature verifies with one of its verifiers.
pub fn canonicalize(proposed: &Value) -> Result<Vec<u8>, EntryError> {
    let api_version = proposed["apiVersion"].as_str().unwrap_or_default();
    if api_version != "0.0.1" {
        return Err(EntryError::Unsupported(format!(
            "dsse version '{api_version}' is not supported"
        )));
    }
    let spec = &proposed["spec"];
    let content = &spec["proposedContent"];
    if !content.is_object() {
        return Err(EntryError::Malformed(
            "either proposedContent or envelopeHash, payloadHash, and signatures must be present"
                .into(),
        ));
    }
    if !spec["envelopeHash"].is_null()
        || !spec["payloadHash"].is_null()
        || !spec["signatures"].is_null()
    {
        return Err(EntryError::Malformed(
            "either proposedContent or envelopeHash, payloadHash, and signatures must be present but not both".into(),
        ));
    }
    let envelope_text = content["envelope"]
        .as_str()
        .ok_or_else(|| EntryError::Malformed("missing spec.proposedContent.envelope".into()))?;
    let envelope: Value = serde_json::from_str(envelope_text)
        .map_err(|e| EntryError::Malformed(format!("envelope is not JSON: {e}")))?;
    let payload_type = envelope["payloadType"]
        .as_str()
        .ok_or_else(|| EntryError::Malformed("envelope has no payloadType".into()))?;
    let payload = decode_b64(
        "envelope.payload",
        envelope["payload"]
            .as_str()
            .ok_or_else(|| EntryError::Malformed("envelope has no payload".into()))?,
    )?;
    let signatures: Vec<&str> = envelope["signatures"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["sig"].as_str()).collect())
        .unwrap_or_default();
    if signatures.is_empty() {
        return Err(EntryError::Malformed("envelope has no signatures".into()));
    }
    let verifiers = content["verifiers"]
        .as_array()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| EntryError::Malformed("missing spec.proposedContent.verifiers".into()))?
        .iter()
        .map(|v| {
            let pem = unb64(
                "spec.proposedContent.verifiers",
                v.as_str().unwrap_or_default(),
            )?;
            super::v1::parse_verifier(&pem)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let digest = Sha256::digest(pae(payload_type, &payload));
    let mut logged: Vec<(String, String)> = Vec::new();
    for sig in signatures {
        let bytes = decode_b64("envelope.signatures.sig", sig)?;
        let verifier = verifiers
            .iter()
            .find(|(spki, _)| verify_prehashed(spki, &digest, &bytes).is_ok())
            .ok_or_else(|| {
                EntryError::BadSignature("all signatures must have a key that verifies it".into())
            })?;
        logged.push((sig.to_owned(), b64(verifier.1.as_bytes())));
    }
    logged.sort();
    logged.dedup_by(|a, b| a.0 == b.0);

    Ok(canonical_json(&json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": { "algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope_text.as_bytes())) },
            "payloadHash": { "algorithm": "sha256", "value": hex::encode(Sha256::digest(&payload)) },
            "signatures": logged
                .into_iter()
                .map(|(signature, verifier)| json!({ "signature": signature, "verifier": verifier }))
                .collect::<Vec<_>>(),
        }
    })))
}

/// The canonical body of the same entry for another payload.
pub fn another_body(canonical: &[u8]) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(canonical).expect("canonical JSON");
    let hash = &mut v["spec"]["payloadHash"]["value"];
    let digest = hex::decode(hash.as_str().unwrap_or_default()).unwrap_or_default();
    *hash = Value::String(hex::encode(crate::lies::another_digest(&digest)));
    canonical_json(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::LogKey;

    fn pem(key: &LogKey) -> String {
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, key.spki_der()).unwrap()
    }

    const TYPE: &str = "application/vnd.in-toto+json";

    fn proposed(key: &LogKey, payload: &[u8], envelope_extra: Option<&str>) -> Value {
        let sig = key.sign(&pae(TYPE, payload));
        let envelope = json!({
            "payloadType": TYPE,
            "payload": STANDARD.encode(payload),
            "signatures": [{ "sig": STANDARD.encode(&sig), "keyid": envelope_extra.unwrap_or("") }],
        });
        json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": { "proposedContent": {
                "envelope": envelope.to_string(),
                "verifiers": [STANDARD.encode(pem(key))],
            }}
        })
    }

    #[test]
    fn pae_is_the_dsse_v1_encoding() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn the_stored_body_keeps_hashes_and_signatures_only() {
        let key = LogKey::generate();
        let request = proposed(&key, br#"{"_type":"x"}"#, None);
        let body: Value = serde_json::from_slice(&canonicalize(&request).unwrap()).unwrap();
        let envelope = request["spec"]["proposedContent"]["envelope"]
            .as_str()
            .unwrap();
        assert_eq!(body["kind"], "dsse");
        assert_eq!(body["apiVersion"], "0.0.1");
        assert_eq!(
            body["spec"]["envelopeHash"]["value"],
            hex::encode(Sha256::digest(envelope.as_bytes()))
        );
        assert_eq!(
            body["spec"]["payloadHash"]["value"],
            hex::encode(Sha256::digest(br#"{"_type":"x"}"#))
        );
        let sig = &body["spec"]["signatures"][0];
        let sent: Value = serde_json::from_str(envelope).unwrap();
        assert_eq!(sig["signature"], sent["signatures"][0]["sig"]);
        let pem =
            String::from_utf8(unb64("v", sig["verifier"].as_str().unwrap()).unwrap()).unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        assert!(body["spec"]["proposedContent"].is_null());
        // Another envelope string for the same payload is another entry.
        let other = proposed(&key, br#"{"_type":"x"}"#, Some("k"));
        assert_ne!(
            canonicalize(&other).unwrap(),
            canonicalize(&request).unwrap()
        );
    }

    #[test]
    fn a_signature_no_verifier_made_is_refused() {
        let key = LogKey::generate();
        let mut request = proposed(&key, b"{}", None);
        let stranger = LogKey::generate();
        request["spec"]["proposedContent"]["verifiers"] = json!([STANDARD.encode(pem(&stranger))]);
        assert!(matches!(
            canonicalize(&request),
            Err(EntryError::BadSignature(_))
        ));
        let mut both = proposed(&key, b"{}", None);
        both["spec"]["payloadHash"] = json!({ "algorithm": "sha256", "value": "00" });
        assert!(matches!(canonicalize(&both), Err(EntryError::Malformed(_))));
    }
}
