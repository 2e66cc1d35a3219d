//! sigstore-verify's per-bundle checks of a message signature logged as a
//! Rekor v1 `hashedrekord` v0.0.1 entry, made against a signing certificate
//! that already verified in full: the short path of [`super::cache`] for the
//! bundles `sign` writes and that sigstore-python and cosign write.
//!
//! Why they are made here: on that path, sigstore-verify's whole-bundle API
//! was still called once per bundle, for the signature, the SET and the
//! entry's consistency with the bundle. It parses the same certificate twice
//! per bundle there (its `CertificateInfo`, then again for the logged
//! integrated time), re-validates the bundle's structure, and builds the SET's
//! payload with a general JSON canonicalizer. A profile of `verify` on 1,000
//! bundles put that call at 42 % of the CPU, of which 19 points were not the
//! two signature verifications it makes. Here the certificate's fields and
//! key come from the first full verification, and the rest is what
//! sigstore-verify 0.15.1 checks, step by step:
//!
//! - the policy's identity and issuer against the certificate
//!   (`verify_certificate`, step 3);
//! - the bundle's message digest, when present, is the artifact's SHA-256
//!   (`verify_message_digest_binding`);
//! - the signature over that digest with the certificate's P-256 key
//!   (`verify_message_signature_crypto`);
//! - for each entry, its SET, under the log key whose ID is the entry's log
//!   ID and whose window covers the integrated time, over the canonical JSON
//!   of the body, integrated time, log ID and index (`verify_set`);
//! - for each entry, its body (parsed by sigstore-rekor, as sigstore-verify
//!   parses it, unless it is byte for byte the text Rekor writes for them)
//!   records the artifact's digest, the bundle's signature and the bundle's
//!   certificate (`verify_hashedrekord_entry`).
//!
//! The caller checks the rest as it does for every short-path bundle: the
//! bundle's structure, each entry's inclusion proof and checkpoint, and its
//! integrated time neither in the future nor outside the certificate's
//! window, the RFC 3161 timestamps, and the certificate's chain at each
//! verified time. It calls [`check`] only where it makes those checks: a
//! policy that verifies the chain, the SCT and the log, a lone leaf
//! certificate that verified in full, and every entry a Rekor v1 entry with a
//! SET, an integrated time and an inclusion proof.
//!
//! Only a narrower shape is taken than sigstore-verify accepts (a P-256
//! key, a SHA-256 or absent message digest, at least one entry, every entry
//! `hashedrekord` v0.0.1, integrated times and log indexes up to 2^53), and
//! every check here can only refuse: a refusal sends the bundle back to
//! sigstore-verify, which decides and words the verdict. `tests/cert_cache.rs`
//! holds the path to the crate's verdict on good bundles and on tampered
//! ones that these checks refuse (some by more than one check: a logged
//! certificate that differs from the bundle's cannot be made with genuine log
//! evidence, since the log verifies the signature with it).
//!
//! Owns these checks; must not print, hold state, or know about files.

use sigstore_crypto::{CertificateInfo, Keyring, VerificationKey};
use sigstore_rekor::body::RekorEntryBody;
use sigstore_types::bundle::MessageSignature;
use sigstore_types::{
    Bundle, HashAlgorithm, KindVersion, Sha256Hash, SignatureBytes, SignatureContent,
    TransparencyLogEntry,
};
use sigstore_verify::VerificationPolicy;

/// RFC 8785 writes every number as an IEEE double: integers up to 2^53 come
/// out as their exact digits, larger ones rounded. Larger log indexes or
/// times are left to sigstore-verify.
const EXACT_JSON_INTEGER: i64 = 1 << 53;

/// What the checks need of a certificate that verified in full.
pub(super) struct Signer<'a> {
    /// The certificate as sigstore-verify parsed it.
    pub info: &'a CertificateInfo,
    /// Its key, parsed once, for ECDSA P-256 with SHA-256.
    pub key: &'a VerificationKey,
    /// Its DER, as the bundle carries it.
    pub der: &'a [u8],
    /// Its PEM as Rekor v1 logs a certificate (64-column lines, LF): a
    /// logged body that holds exactly this text holds this certificate.
    pub pem: &'a str,
    /// That PEM in standard base64, as a logged body holds it.
    pub pem_base64: &'a str,
}

/// `der`'s PEM in the form [`Signer::pem`] describes.
pub(super) fn logged_pem(der: &[u8]) -> String {
    sigstore_types::DerCertificate::new(der.to_vec())
        .to_pem()
        .replace("\r\n", "\n")
}

/// The checks above, for the artifact with SHA-256 `digest`: the integrated
/// times the entries' SETs authenticate, in the bundle's order, or `None` if
/// anything is refused or the bundle is not of the shape taken here.
pub(super) fn check(
    digest: &Sha256Hash,
    bundle: &Bundle,
    policy: &VerificationPolicy,
    signer: &Signer<'_>,
    rekor_keys: &Keyring,
) -> Option<Vec<jiff::Timestamp>> {
    let SignatureContent::MessageSignature(message) = &bundle.content else {
        return None;
    };
    let entries = &bundle.verification_material.tlog_entries;
    if entries.is_empty() || !policy_holds(policy, signer.info) {
        return None;
    }
    if !digest_bound(message, digest) {
        return None;
    }
    signer
        .key
        .verify_prehashed(digest.as_bytes(), &message.signature)
        .ok()?;
    entries
        .iter()
        .map(|entry| {
            let time = set_time(entry, rekor_keys)?;
            logs_this(entry, digest, message, signer).then_some(time)
        })
        .collect()
}

/// The policy's identity and issuer, as sigstore-verify matches them.
fn policy_holds(policy: &VerificationPolicy, info: &CertificateInfo) -> bool {
    let identity = policy
        .identity()
        .is_none_or(|expected| info.identity.as_ref().is_some_and(|i| expected.matches(i)));
    let issuer = policy
        .issuer()
        .is_none_or(|expected| info.issuer.as_deref() == Some(expected));
    identity && issuer
}

/// An absent message digest, or a SHA-256 one equal to the artifact's.
fn digest_bound(message: &MessageSignature, digest: &Sha256Hash) -> bool {
    message.message_digest.as_ref().is_none_or(|d| {
        d.algorithm == HashAlgorithm::Sha2256 && d.digest.as_bytes() == digest.as_bytes()
    })
}

/// The entry's integrated time, if its SET verifies.
fn set_time(entry: &TransparencyLogEntry, rekor_keys: &Keyring) -> Option<jiff::Timestamp> {
    if entry.kind_version != KindVersion::HashedRekordV001 {
        return None;
    }
    let promise = entry.inclusion_promise.as_ref()?;
    let time = entry.integrated_time?;
    let key_id = Sha256Hash::try_from(entry.log_id.key_id.as_bytes()).ok()?;
    let key = rekor_keys.key_at(&key_id, time)?;
    let payload = set_payload(entry, time)?;
    let signature = SignatureBytes::from_bytes(promise.signed_entry_timestamp.as_bytes());
    key.verify(payload, &signature).ok()?;
    Some(time)
}

/// What a Rekor v1 log signs in a SET: the RFC 8785 canonical JSON of the
/// entry's base64 body, integrated time, hex log ID and index. Written out
/// directly: the keys are in canonical order, and base64, hex and integers up
/// to 2^53 need no escaping or other form.
fn set_payload(entry: &TransparencyLogEntry, time: jiff::Timestamp) -> Option<Vec<u8>> {
    let seconds = time.as_second();
    let index = entry.log_index.as_i64();
    if !(0..=EXACT_JSON_INTEGER).contains(&seconds) || index > EXACT_JSON_INTEGER {
        return None;
    }
    let text = format!(
        r#"{{"body":"{}","integratedTime":{seconds},"logID":"{}","logIndex":{index}}}"#,
        entry.canonicalized_body.to_base64(),
        hex::encode(entry.log_id.key_id.as_bytes()),
    );
    Some(text.into_bytes())
}

/// Whether the entry's body records this artifact's digest, this signature
/// and this certificate.
fn logs_this(
    entry: &TransparencyLogEntry,
    digest: &Sha256Hash,
    message: &MessageSignature,
    signer: &Signer<'_>,
) -> bool {
    let body = entry.canonicalized_body.as_bytes();
    if body == as_rekor_writes(digest, &message.signature, signer.pem_base64).as_bytes() {
        return true;
    }
    let Ok(RekorEntryBody::HashedRekordV001(body)) =
        RekorEntryBody::parse(&entry.canonicalized_body, entry.kind_version)
    else {
        return false;
    };
    let logged_digest = Sha256Hash::from_hex(body.spec.data.hash.value.as_str());
    let logged_key = &body.spec.signature.public_key;
    logged_digest.is_ok_and(|d| &d == digest)
        && body.spec.signature.content == message.signature
        && (logged_key.content.as_bytes() == signer.pem.as_bytes()
            || logged_key
                .parse_certificate()
                .is_ok_and(|c| c.as_bytes() == signer.der))
}

/// `pem` ([`logged_pem`]) as a logged body holds it: standard base64.
pub(super) fn logged_pem_base64(pem: &str) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pem)
}

/// The body Rekor v1 writes for a `hashedrekord` v0.0.1 entry of this
/// digest, signature and certificate: its RFC 8785 canonical JSON, as
/// public-good's Rekor writes it. A logged body that is exactly this text
/// records them without being parsed (parsing it, with the two base64 fields
/// inside, was 2 % of verify's instructions besides hashing the artifacts);
/// any other text is parsed as sigstore-verify parses it, so only an accept
/// is taken here early.
fn as_rekor_writes(digest: &Sha256Hash, signature: &SignatureBytes, pem_base64: &str) -> String {
    format!(
        concat!(
            r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":"#,
            r#"{{"algorithm":"sha256","value":"{}"}}}},"signature":{{"content":"{}","#,
            r#""publicKey":{{"content":"{}"}}}}}}}}"#,
        ),
        hex::encode(digest.as_bytes()),
        signature.to_base64(),
        pem_base64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The certificate's PEM as Rekor logs it: LF line ends, and it decodes
    /// to the certificate, as sigstore-rekor reads a logged one.
    #[test]
    fn the_logged_pem_is_the_certificate() {
        let der: Vec<u8> = (0..=255_u8).cycle().take(700).collect();
        let pem = logged_pem(&der);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
        assert!(!pem.contains('\r'));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let decoded = sigstore_types::DerCertificate::from_pem(&pem).unwrap();
        assert_eq!(decoded.as_bytes(), &der[..]);
    }

    /// A real public-good bundle (cosign, tests/data): its entry's body, and
    /// the certificate, digest and signature it records.
    fn real_entry() -> (TransparencyLogEntry, Sha256Hash, SignatureBytes, String) {
        let json = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/cosign-v3-blob.txt.sigstore.json"
        ))
        .unwrap();
        let bundle = Bundle::from_json(&json).unwrap();
        let pem = logged_pem(bundle.signing_certificate().unwrap().as_bytes());
        let SignatureContent::MessageSignature(message) = &bundle.content else {
            panic!("a message signature");
        };
        let digest = message.message_digest.as_ref().unwrap().digest.as_bytes();
        let entry = bundle.verification_material.tlog_entries[0].clone();
        let digest = Sha256Hash::try_from(digest).unwrap();
        (entry, digest, message.signature.clone(), pem)
    }

    /// Public-good Rekor's body for a hashedrekord entry is the text
    /// [`as_rekor_writes`] expects, so real bundles take the early accept.
    #[test]
    fn a_real_logged_body_is_the_text_rekor_writes() {
        let (entry, digest, signature, pem) = real_entry();
        let expected = as_rekor_writes(&digest, &signature, &logged_pem_base64(&pem));
        assert_eq!(
            std::str::from_utf8(entry.canonicalized_body.as_bytes()).unwrap(),
            expected
        );
    }

    /// The text accepted early is one sigstore-rekor parses to the same
    /// digest, signature and certificate, so the early accept and the parse
    /// agree; and it depends on each of the three (another digest, signature
    /// or certificate gives another text, which the early accept, a
    /// comparison of whole bodies, does not take for this one).
    #[test]
    fn the_text_accepted_early_parses_to_what_it_records() {
        let (_, digest, signature, pem) = real_entry();
        let text = as_rekor_writes(&digest, &signature, &logged_pem_base64(&pem));
        let body = sigstore_types::CanonicalizedBody::new(text.clone().into_bytes());
        let Ok(RekorEntryBody::HashedRekordV001(parsed)) =
            RekorEntryBody::parse(&body, KindVersion::HashedRekordV001)
        else {
            panic!("a hashedrekord v0.0.1 body");
        };
        assert_eq!(
            Sha256Hash::from_hex(parsed.spec.data.hash.value.as_str()).unwrap(),
            digest
        );
        assert_eq!(parsed.spec.signature.content, signature);
        assert_eq!(
            parsed.spec.signature.public_key.content.as_bytes(),
            pem.as_bytes()
        );

        let other_digest = Sha256Hash::try_from(&[7_u8; 32][..]).unwrap();
        let other_signature = SignatureBytes::from_bytes(b"another signature");
        for different in [
            as_rekor_writes(&other_digest, &signature, &logged_pem_base64(&pem)),
            as_rekor_writes(&digest, &other_signature, &logged_pem_base64(&pem)),
            as_rekor_writes(&digest, &signature, &logged_pem_base64("another PEM")),
        ] {
            assert_ne!(different, text);
        }
    }

    /// The SET payload written out is the canonicalizer's, byte for byte.
    #[test]
    fn the_set_payload_is_canonical_json() {
        #[derive(serde::Serialize)]
        struct Payload<'a> {
            body: &'a str,
            #[serde(rename = "integratedTime")]
            integrated_time: i64,
            #[serde(rename = "logIndex")]
            log_index: i64,
            #[serde(rename = "logID")]
            log_id: &'a str,
        }
        let json = r#"{"logIndex":"LOGINDEX","logId":{"keyId":"wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="},"kindVersion":{"kind":"hashedrekord","version":"0.0.1"},"integratedTime":"TIME","inclusionPromise":{"signedEntryTimestamp":"AAAA"},"canonicalizedBody":"eyJhcGlWZXJzaW9uIjoiMC4wLjEiLCJraW5kIjoiaGFzaGVkcmVrb3JkIn0+/w=="}"#;
        for (index, seconds) in [
            (0_i64, 1_i64),
            (7, 1_700_000_000),
            (1 << 53, 253_402_207_200),
        ] {
            let entry: TransparencyLogEntry = serde_json::from_str(
                &json
                    .replace("LOGINDEX", &index.to_string())
                    .replace("TIME", &seconds.to_string()),
            )
            .unwrap();
            let time = entry.integrated_time.unwrap();
            let ours = set_payload(&entry, time).unwrap();
            let canonical = serde_json_canonicalizer::to_vec(&Payload {
                body: &entry.canonicalized_body.to_base64(),
                integrated_time: seconds,
                log_index: index,
                log_id: &hex::encode(entry.log_id.key_id.as_bytes()),
            })
            .unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(canonical).unwrap()
            );
        }
    }

    /// Past 2^53 a canonicalizer writes a double; those are left to sigstore-verify.
    #[test]
    fn integers_a_canonicalizer_would_round_are_not_written() {
        let json = r#"{"logIndex":"9007199254740993","logId":{"keyId":"wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="},"kindVersion":{"kind":"hashedrekord","version":"0.0.1"},"integratedTime":"1700000000","inclusionPromise":{"signedEntryTimestamp":"AAAA"},"canonicalizedBody":"e30="}"#;
        let entry: TransparencyLogEntry = serde_json::from_str(json).unwrap();
        assert!(set_payload(&entry, entry.integrated_time.unwrap()).is_none());
    }
}
