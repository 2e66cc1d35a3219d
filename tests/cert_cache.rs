//! The per-certificate verification cache (`verify::cache`): after a
//! certificate verified in full, bundles with the same certificate take a
//! shorter path, and that path must accept and refuse exactly what the full
//! verification does. Each check the short path redoes by hand has a bundle
//! here that only that check refuses, made with genuine service evidence.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use releasekit_sandbox::tsa::TimestampAuthority;
use releasekit_sandbox::Sandbox;
use releasekit_sign::verify::cache::CachingVerifier;
use serde_json::Value;
use sigstore_trust_root::TrustedRoot;
use sigstore_types::bundle::Rfc3161Timestamp;
use sigstore_types::{Bundle, Sha256Hash, SignatureContent, TimestampToken};
use sigstore_verify::VerificationPolicy;

use crate::util::{signed, Work};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A change to a bundle's JSON.
type Edit = Box<dyn Fn(&mut Value)>;

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn bundle(v: &Value) -> Bundle {
    Bundle::from_json(&v.to_string()).unwrap()
}

fn bundle_of(work: &Work, name: &str) -> Value {
    json(&work.path(&format!("{name}.sigstore.json")))
}

fn digest_of(work: &Work, name: &str) -> Sha256Hash {
    use sha2::Digest as _;
    let bytes = std::fs::read(work.path(name)).unwrap();
    Sha256Hash::try_from(&sha2::Sha256::digest(&bytes)[..]).unwrap()
}

fn strict(sandbox: &Sandbox) -> VerificationPolicy {
    VerificationPolicy::new(sandbox.identity(), sandbox.issuer())
}

/// The cached verifier's verdict must be the uncached one's, error text included.
fn same_verdict(
    v: &CachingVerifier,
    digest: Sha256Hash,
    b: &Bundle,
    policy: &VerificationPolicy,
) -> Result<(), String> {
    let cached = v
        .verify(digest, b, policy)
        .map(|_| ())
        .map_err(|e| e.to_string());
    let full = v
        .uncached()
        .verify(digest, b, policy)
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(cached, full, "the cache changed a verdict");
    cached
}

/// Flip one bit of the base64 field at `pointer`.
fn flip_b64(v: &mut Value, pointer: &str) {
    let field = v
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}"));
    let mut bytes = B64.decode(field.as_str().unwrap()).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    *field = Value::String(B64.encode(bytes));
}

/// Add one to the number (JSON string or number) at `pointer`.
fn bump(v: &mut Value, pointer: &str) {
    let field = v
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}"));
    let n = match &*field {
        Value::String(s) => s.parse::<u64>().unwrap(),
        other => other.as_u64().unwrap(),
    };
    *field = Value::String((n + 1).to_string());
}

/// Change the lines of the first entry's checkpoint (a signed note).
fn edit_checkpoint(v: &mut Value, edit: impl Fn(&mut Vec<String>)) {
    let field = v
        .pointer_mut("/verificationMaterial/tlogEntries/0/inclusionProof/checkpoint/envelope")
        .unwrap();
    let text = field.as_str().unwrap();
    let mut lines: Vec<String> = text
        .trim_end_matches('\n')
        .lines()
        .map(str::to_owned)
        .collect();
    edit(&mut lines);
    *field = Value::String(lines.join("\n") + "\n");
}

/// `b` with its RFC 3161 timestamp replaced by a fresh, genuine one over the
/// same signature, from `sandbox`'s TSA.
async fn retimestamped(sandbox: &Sandbox, b: &Bundle) -> Bundle {
    let SignatureContent::MessageSignature(m) = &b.content else {
        panic!("a message signature bundle");
    };
    let client = sigstore_tsa::TimestampClient::new(sandbox.urls().tsa.clone()).unwrap();
    let token = client.timestamp_signature(&m.signature).await.unwrap();
    let mut b = b.clone();
    b.verification_material
        .timestamp_verification_data
        .rfc3161_timestamps = vec![Rfc3161Timestamp::new(token)];
    b
}

/// Every tampered variant of a bundle whose certificate is already cached is
/// refused with the full verification's error; good bundles still pass, and
/// only one certificate is checked in full.
#[tokio::test(flavor = "multi_thread")]
async fn tampered_bundles_with_a_cached_certificate_get_the_full_verdict() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.bin", "b.bin", "c.bin"]).await;
    let root = TrustedRoot::from_file(sandbox.trusted_root_path()).unwrap();
    let v = CachingVerifier::new(&root).unwrap();
    let policy = strict(&sandbox);

    for name in ["a.bin", "b.bin"] {
        let b = bundle(&bundle_of(&work, name));
        same_verdict(&v, digest_of(&work, name), &b, &policy).unwrap();
        // The short path (b.bin) establishes the log's integrated time itself.
        let full = v.uncached().verify(digest_of(&work, name), &b, &policy);
        let cached = v.verify(digest_of(&work, name), &b, &policy).unwrap();
        assert!(cached.integrated_time().is_some());
        assert_eq!(cached.integrated_time(), full.unwrap().integrated_time());
    }
    assert_eq!(v.cached_certificates(), 1);
    // a.bin's second verification and both of b.bin's took the short path,
    // and none of them needed sigstore-verify there (`verify::message`).
    assert_eq!(v.short_path_accepts(), 3);
    assert_eq!(v.message_path_accepts(), 3);

    let c = bundle_of(&work, "c.bin");
    let digest = digest_of(&work, "c.bin");
    // b.bin's log entry: genuine evidence, for another artifact and signature.
    let b_entry = bundle_of(&work, "b.bin")["verificationMaterial"]["tlogEntries"][0].clone();
    let mutations: Vec<(&str, Edit)> = vec![
        (
            "signature",
            Box::new(|v| flip_b64(v, "/messageSignature/signature")),
        ),
        (
            "message digest",
            Box::new(|v| flip_b64(v, "/messageSignature/messageDigest/digest")),
        ),
        (
            "SET",
            Box::new(|v| {
                flip_b64(
                    v,
                    "/verificationMaterial/tlogEntries/0/inclusionPromise/signedEntryTimestamp",
                )
            }),
        ),
        (
            "inclusion proof hash",
            Box::new(|v| {
                flip_b64(
                    v,
                    "/verificationMaterial/tlogEntries/0/inclusionProof/hashes/0",
                )
            }),
        ),
        (
            "integrated time",
            Box::new(|v| {
                let t = v
                    .pointer("/verificationMaterial/tlogEntries/0/integratedTime")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap();
                *v.pointer_mut("/verificationMaterial/tlogEntries/0/integratedTime")
                    .unwrap() = Value::String((t - 1).to_string());
            }),
        ),
        (
            // A bit of what the authority signed (the imprint of the
            // signature), not of the token at large: the certificate a
            // token embeds is not what a verifier trusts, and a flip there
            // is rightly accepted by both verifiers.
            "RFC 3161 timestamp",
            Box::new(|v| {
                use sha2::Digest as _;
                let signature = B64
                    .decode(v["messageSignature"]["signature"].as_str().unwrap())
                    .unwrap();
                let imprint = sha2::Sha256::digest(&signature);
                let pointer =
                    "/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0/signedTimestamp";
                let token = B64
                    .decode(v.pointer(pointer).unwrap().as_str().unwrap())
                    .unwrap();
                *v.pointer_mut(pointer).unwrap() =
                    Value::String(B64.encode(flip_within(&token, &imprint)));
            }),
        ),
        (
            "canonicalized body",
            Box::new(|v| flip_b64(v, "/verificationMaterial/tlogEntries/0/canonicalizedBody")),
        ),
        // What `verify::message` checks in place of sigstore-verify.
        (
            "log ID",
            Box::new(|v| flip_b64(v, "/verificationMaterial/tlogEntries/0/logId/keyId")),
        ),
        (
            "entry log index",
            Box::new(|v| bump(v, "/verificationMaterial/tlogEntries/0/logIndex")),
        ),
        (
            "another artifact's log entry",
            Box::new(move |v| {
                *v.pointer_mut("/verificationMaterial/tlogEntries/0")
                    .unwrap() = b_entry.clone();
            }),
        ),
        (
            "message digest algorithm",
            Box::new(|v| {
                *v.pointer_mut("/messageSignature/messageDigest/algorithm")
                    .unwrap() = Value::String("SHA2_384".into());
            }),
        ),
        // The log evidence the short path checks itself (`log_evidence`).
        (
            "inclusion proof root",
            Box::new(|v| {
                flip_b64(
                    v,
                    "/verificationMaterial/tlogEntries/0/inclusionProof/rootHash",
                )
            }),
        ),
        (
            "inclusion proof tree size",
            Box::new(|v| {
                bump(
                    v,
                    "/verificationMaterial/tlogEntries/0/inclusionProof/treeSize",
                )
            }),
        ),
        (
            "inclusion proof log index",
            Box::new(|v| {
                bump(
                    v,
                    "/verificationMaterial/tlogEntries/0/inclusionProof/logIndex",
                )
            }),
        ),
        (
            "checkpoint signature",
            Box::new(|v| {
                edit_checkpoint(v, |lines| {
                    let last = lines.last_mut().unwrap();
                    let (name, sig) = last.rsplit_once(' ').unwrap();
                    let mut bytes = B64.decode(sig).unwrap();
                    let at = bytes.len() - 3;
                    bytes[at] ^= 0x01;
                    *last = format!("{name} {}", B64.encode(bytes));
                })
            }),
        ),
        (
            "checkpoint tree size",
            Box::new(|v| {
                edit_checkpoint(v, |lines| {
                    lines[1] = (lines[1].parse::<u64>().unwrap() + 1).to_string();
                })
            }),
        ),
        (
            "no inclusion proof",
            Box::new(|v| {
                v.pointer_mut("/verificationMaterial/tlogEntries/0")
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove("inclusionProof");
            }),
        ),
    ];
    for (what, edit) in mutations {
        let mut tampered = c.clone();
        edit(&mut tampered);
        let Ok(b) = Bundle::from_json(&tampered.to_string()) else {
            // Refused before any verifier sees it; not so the log evidence
            // the short path checks itself, which must reach it.
            let reaches = [
                "inclusion proof",
                "checkpoint",
                "log ID",
                "log index",
                "another",
            ];
            assert!(!reaches.iter().any(|r| what.contains(r)), "{what}");
            continue;
        };
        let verdict = same_verdict(&v, digest, &b, &policy);
        assert!(verdict.is_err(), "tampered {what} accepted");
    }

    // Another artifact's digest, and other signers, with the certificate cached.
    let good = bundle(&c);
    assert!(same_verdict(&v, digest_of(&work, "a.bin"), &good, &policy).is_err());
    let other_identity = VerificationPolicy::new("https://example.com/other", sandbox.issuer());
    let e = same_verdict(&v, digest, &good, &other_identity).unwrap_err();
    assert!(e.contains("identity"), "{e}");
    let other_issuer = VerificationPolicy::new(sandbox.identity(), "https://issuer.example");
    assert!(same_verdict(&v, digest, &good, &other_issuer).is_err());
    same_verdict(&v, digest, &good, &policy).unwrap();
    // A message signature without its digest verifies, on the same path.
    let mut undigested = c.clone();
    undigested["messageSignature"]
        .as_object_mut()
        .unwrap()
        .remove("messageDigest");
    same_verdict(&v, digest, &bundle(&undigested), &policy).unwrap();
    assert_eq!(v.cached_certificates(), 1);
    assert_eq!(v.short_path_accepts(), 5);
    assert_eq!(v.message_path_accepts(), 5);
}

/// A second run's certificate is not the cached one: it is checked in full
/// (and cached too). A bundle pairing the cached certificate with the other
/// key's signature is refused.
#[tokio::test(flavor = "multi_thread")]
async fn another_certificate_gets_the_full_check() {
    let sandbox = Sandbox::start().await.unwrap();
    let (one, two) = (Work::new(), Work::new());
    signed(&sandbox, &one, &["a.bin"]).await;
    signed(&sandbox, &two, &["a.bin"]).await;
    let root = TrustedRoot::from_file(sandbox.trusted_root_path()).unwrap();
    let v = CachingVerifier::new(&root).unwrap();
    let policy = strict(&sandbox);
    let first = bundle_of(&one, "a.bin");
    let second = bundle_of(&two, "a.bin");
    assert_ne!(
        first["verificationMaterial"]["certificate"],
        second["verificationMaterial"]["certificate"]
    );
    let digest = digest_of(&one, "a.bin");
    same_verdict(&v, digest, &bundle(&first), &policy).unwrap();
    same_verdict(&v, digest, &bundle(&second), &policy).unwrap();
    assert_eq!(v.cached_certificates(), 2);

    let mut swapped = second.clone();
    swapped["verificationMaterial"]["certificate"] =
        first["verificationMaterial"]["certificate"].clone();
    assert!(same_verdict(&v, digest, &bundle(&swapped), &policy).is_err());

    // A certificate from a CA this root does not trust is never cached.
    let other = Sandbox::start().await.unwrap();
    let three = Work::new();
    signed(&other, &three, &["a.bin"]).await;
    let foreign = bundle(&bundle_of(&three, "a.bin"));
    let other_policy = VerificationPolicy::new(other.identity(), other.issuer());
    assert!(same_verdict(&v, digest, &foreign, &other_policy).is_err());
    assert_eq!(v.cached_certificates(), 2);
}

/// Same certificate, genuine timestamp after it expired: the chain check the
/// short path skips would refuse it, so the cache must too.
#[tokio::test(flavor = "multi_thread")]
async fn a_timestamp_after_the_cached_certificate_expired_is_refused() {
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(4))
        .start()
        .await
        .unwrap();
    // One artifact, whose bundle is cached and then timestamped again:
    // the same certificate by construction. (Two artifacts shared one only
    // if the run beat the 4 s certificate's renewal margin.)
    let work = Work::new();
    signed(&sandbox, &work, &["a.bin"]).await;
    let root = TrustedRoot::from_file(sandbox.trusted_root_path()).unwrap();
    let v = CachingVerifier::new(&root).unwrap();
    let policy = strict(&sandbox);
    let a = bundle(&bundle_of(&work, "a.bin"));
    let b = a.clone();
    same_verdict(&v, digest_of(&work, "a.bin"), &a, &policy).unwrap();
    assert_eq!(v.cached_certificates(), 1);

    let info = sigstore_crypto::parse_certificate_info(b.signing_certificate().unwrap()).unwrap();
    let wait =
        info.not_after.duration_since(jiff::Timestamp::now()) + jiff::SignedDuration::from_secs(2);
    if wait.is_positive() {
        tokio::time::sleep(Duration::try_from(wait).unwrap()).await;
    }
    let late = retimestamped(&sandbox, &b).await;
    let digest = digest_of(&work, "a.bin");
    // Only the chain's time checks stand between this bundle and an accept.
    v.uncached()
        .verify(digest, &late, &policy.clone().skip_certificate_chain())
        .expect("everything but the certificate's validity checks out");
    let e = same_verdict(&v, digest, &late, &policy).unwrap_err();
    assert!(e.contains("Expired") || e.contains("expired"), "{e}");
}

/// Same certificate, but the trusted root's Fulcio authority stops being
/// valid between the first bundle's time and a later genuine timestamp: the
/// chain is not valid at that time, with or without the cache.
#[tokio::test(flavor = "multi_thread")]
async fn a_timestamp_after_the_authoritys_window_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.bin", "b.bin"]).await;
    let a = bundle(&bundle_of(&work, "a.bin"));
    let b = bundle(&bundle_of(&work, "b.bin"));

    // The authority's window ends one second after everything signed so far.
    let end = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
    let mut root = json(sandbox.trusted_root_path());
    for ca in root["certificateAuthorities"].as_array_mut().unwrap() {
        ca["validFor"]["end"] = Value::String(end.to_string());
    }
    let root = TrustedRoot::from_json(&root.to_string()).unwrap();
    let v = CachingVerifier::new(&root).unwrap();
    let policy = strict(&sandbox);
    same_verdict(&v, digest_of(&work, "a.bin"), &a, &policy).unwrap();
    assert_eq!(v.cached_certificates(), 1);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let late = retimestamped(&sandbox, &b).await;
    let digest = digest_of(&work, "b.bin");
    v.uncached()
        .verify(digest, &late, &policy.clone().skip_certificate_chain())
        .expect("everything but the authority's window checks out");
    let e = same_verdict(&v, digest, &late, &policy).unwrap_err();
    assert!(
        e.contains("no trusted certificate authority is valid at"),
        "{e}"
    );
}

/// The v0.1/v0.2 shape with the leaf alone is the same chain as v0.3's
/// certificate and shares its cache entry; with an intermediate shipped
/// alongside, the chain webpki builds can differ, so it is always verified
/// in full and never cached.
#[tokio::test(flavor = "multi_thread")]
async fn certificate_chains_with_intermediates_are_not_cached() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.bin"]).await;
    let root_json = json(sandbox.trusted_root_path());
    let root = TrustedRoot::from_json(&root_json.to_string()).unwrap();
    let policy = strict(&sandbox);
    let digest = digest_of(&work, "a.bin");
    let v03 = bundle_of(&work, "a.bin");
    let leaf = v03["verificationMaterial"]["certificate"].clone();
    let intermediate =
        root_json["certificateAuthorities"][0]["certChain"]["certificates"][0].clone();
    let shaped = |certificates: Vec<Value>| {
        let mut v = v03.clone();
        let m = v["verificationMaterial"].as_object_mut().unwrap();
        m.remove("certificate");
        m.insert(
            "x509CertificateChain".into(),
            serde_json::json!({ "certificates": certificates }),
        );
        v["mediaType"] =
            Value::String("application/vnd.dev.sigstore.bundle+json;version=0.2".into());
        bundle(&v)
    };

    let v = CachingVerifier::new(&root).unwrap();
    same_verdict(
        &v,
        digest,
        &shaped(vec![leaf.clone(), intermediate]),
        &policy,
    )
    .unwrap();
    assert_eq!(
        v.cached_certificates(),
        0,
        "a chain with an intermediate was cached"
    );
    same_verdict(&v, digest, &shaped(vec![leaf]), &policy).unwrap();
    assert_eq!(v.cached_certificates(), 1);
    same_verdict(&v, digest, &bundle(&v03), &policy).unwrap();
    assert_eq!(
        v.cached_certificates(),
        1,
        "v0.2 leaf and v0.3 certificate share an entry"
    );
}

/// A sandbox, and a directory where `names` were signed in one run.
async fn signed_run(names: &[&str]) -> (Sandbox, Work) {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, names).await;
    (sandbox, work)
}

/// The signature a bundle's timestamps are over.
fn signature_of(b: &Bundle) -> Vec<u8> {
    match &b.content {
        SignatureContent::MessageSignature(m) => m.signature.as_bytes().to_vec(),
        other => panic!("a message signature bundle, not {other:?}"),
    }
}

/// A DER `TimeStampResp` from `tsa` over SHA-256(`signature`), as a client asks.
fn token_from(tsa: &TimestampAuthority, signature: &[u8]) -> Vec<u8> {
    use der::Encode as _;
    use sha2::Digest as _;
    let request = x509_tsp::TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: x509_tsp::MessageImprint {
            hash_algorithm: x509_cert::spki::AlgorithmIdentifier {
                oid: const_oid::db::rfc5912::ID_SHA_256,
                parameters: None,
            },
            hashed_message: der::asn1::OctetString::new(sha2::Sha256::digest(signature).to_vec())
                .unwrap(),
        },
        req_policy: None,
        nonce: None,
        cert_req: true,
        extensions: None,
    };
    tsa.timestamp(&request.to_der().unwrap()).unwrap()
}

/// `b` with `token` as its one RFC 3161 timestamp (none when `None`).
fn with_token(b: &Bundle, token: Option<Vec<u8>>) -> Bundle {
    let mut b = b.clone();
    b.verification_material
        .timestamp_verification_data
        .rfc3161_timestamps = token
        .map(|t| vec![Rfc3161Timestamp::new(TimestampToken::new(t))])
        .unwrap_or_default();
    b
}

/// The bundle's token as DER.
fn token_of(b: &Bundle) -> Vec<u8> {
    b.verification_material
        .timestamp_verification_data
        .rfc3161_timestamps[0]
        .signed_timestamp
        .as_bytes()
        .to_vec()
}

/// `der` with one bit of the first occurrence of `part` flipped.
fn flip_within(der: &[u8], part: &[u8]) -> Vec<u8> {
    let at = der
        .windows(part.len())
        .position(|w| w == part)
        .expect("the part is in the token");
    let mut out = der.to_vec();
    out[at + part.len() / 2] ^= 0x01;
    out
}

/// The sandbox's trusted root with its timestamp authority's chain replaced
/// by `chain` (leaf first) and its window by `valid_for`, if given.
fn root_with_tsa(
    sandbox: &Sandbox,
    chain: &[Vec<u8>],
    end: Option<jiff::Timestamp>,
) -> TrustedRoot {
    let mut root = json(sandbox.trusted_root_path());
    let tsa = &mut root["timestampAuthorities"][0];
    tsa["certChain"]["certificates"] = chain
        .iter()
        .map(|der| serde_json::json!({ "rawBytes": B64.encode(der) }))
        .collect();
    if let Some(end) = end {
        tsa["validFor"]["end"] = Value::String(end.to_string());
    }
    TrustedRoot::from_json(&root.to_string()).unwrap()
}

/// With the certificate cached, RFC 3161 timestamps are checked by the
/// short path (the authority's chain once): genuine tokens, in either form a
/// bundle may carry, pass there; every token one check refuses gets the full
/// verification's verdict.
#[tokio::test(flavor = "multi_thread")]
async fn timestamps_on_the_short_path_get_the_full_verdict() {
    use der::{Decode as _, Encode as _};
    let (sandbox, work) = signed_run(&["a.bin", "b.bin", "c.bin"]).await;
    let root = TrustedRoot::from_file(sandbox.trusted_root_path()).unwrap();
    let v = CachingVerifier::new(&root).unwrap();
    let policy = strict(&sandbox);
    same_verdict(
        &v,
        digest_of(&work, "a.bin"),
        &bundle(&bundle_of(&work, "a.bin")),
        &policy,
    )
    .unwrap();

    let b = bundle(&bundle_of(&work, "b.bin"));
    let digest = digest_of(&work, "b.bin");
    let accepts = v.short_path_accepts();
    let verdict = v.verify(digest, &b, &policy).unwrap();
    assert_eq!(v.short_path_accepts(), accepts + 1, "not on the short path");
    let full = v.uncached().verify(digest, &b, &policy).unwrap();
    assert_eq!(verdict.verified_timestamps(), full.verified_timestamps());
    assert_eq!(
        verdict.verified_timestamps().len(),
        2,
        "the token's time and the log's"
    );

    // The token as a bare ContentInfo (a TimeStampToken with no
    // TimeStampResp around it): protobuf-specs want the response, and
    // sigstore-python and sigstore-go refuse it, so both paths do.
    let token = token_of(&b);
    let response = x509_tsp::TimeStampResp::from_der(&token).unwrap();
    let bare = response
        .time_stamp_token
        .as_ref()
        .unwrap()
        .to_der()
        .unwrap();
    let signed_data = response
        .time_stamp_token
        .unwrap()
        .content
        .decode_as::<cms::signed_data::SignedData>()
        .unwrap();
    let signer = signed_data.signer_infos.0.get(0).unwrap();
    let tst_info = x509_tsp::TstInfo::from_der(
        signed_data
            .encap_content_info
            .econtent
            .as_ref()
            .unwrap()
            .value(),
    )
    .unwrap();
    let message_digest = signer
        .signed_attrs
        .as_ref()
        .unwrap()
        .iter()
        .find(|a| a.oid == const_oid::db::rfc6268::ID_MESSAGE_DIGEST)
        .unwrap()
        .values
        .get(0)
        .unwrap()
        .value()
        .to_vec();

    // (sigstore-verify alone, which `same_verdict` compares with, reads
    // it, or refuses it in its own words: the refusal is ours, on both of
    // our paths; so is that of bytes that are no DER at all.)
    for bare in [
        bare.clone(),
        flip_within(&bare, signer.signature.as_bytes()),
        b"not DER".to_vec(),
    ] {
        let b = with_token(&b, Some(bare));
        for result in [
            v.verify(digest, &b, &policy).map(|_| ()),
            v.verify_in_full(digest, &b, &policy).map(|_| ()),
        ] {
            let e = result.unwrap_err().to_string();
            assert!(e.contains("not a TimeStampResp"), "{e}");
        }
    }

    let other_tsa =
        TimestampAuthority::generate(std::time::SystemTime::now() - Duration::from_secs(3600));
    let a_signature = signature_of(&bundle(&bundle_of(&work, "a.bin")));
    let mut rejected = token.clone();
    let status = [0x30, 0x03, 0x02, 0x01, 0x00];
    let at = rejected.windows(5).position(|w| w == status).unwrap();
    rejected[at + 4] = 2;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "from a TSA the root does not list",
            token_from(&other_tsa, &signature_of(&b)),
        ),
        (
            "over another signature",
            token_from(sandbox_tsa(&sandbox), &a_signature),
        ),
        (
            "its CMS signature",
            flip_within(&token, signer.signature.as_bytes()),
        ),
        (
            "its serial number (TSTInfo)",
            flip_within(&token, tst_info.serial_number.as_bytes()),
        ),
        (
            "its message-digest attribute",
            flip_within(&token, &message_digest),
        ),
        ("status rejection", rejected),
    ];
    let accepts = v.short_path_accepts();
    for (what, token) in cases {
        let verdict = same_verdict(&v, digest, &with_token(&b, Some(token)), &policy);
        assert!(verdict.is_err(), "a token with {what} accepted");
    }
    assert_eq!(v.short_path_accepts(), accepts);
    same_verdict(&v, digest, &b, &policy).unwrap();
}

/// The sandbox's own TSA.
fn sandbox_tsa(sandbox: &Sandbox) -> &TimestampAuthority {
    &sandbox.shared().tsa
}

/// The TSA's certificate is checked once and then known for its validity:
/// a genuine token signed after the TSA's certificate expired is refused,
/// with or without the cache.
#[tokio::test(flavor = "multi_thread")]
async fn a_timestamp_after_the_tsa_certificate_expired_is_refused() {
    use der::Decode as _;
    let (sandbox, work) = signed_run(&["a.bin", "b.bin", "c.bin"]).await;
    // A TSA whose certificates expire a few seconds from now.
    let ten_years = Duration::from_secs(10 * 365 * 24 * 3600);
    let tsa = TimestampAuthority::generate(
        std::time::SystemTime::now() + Duration::from_secs(6) - ten_years,
    );
    let leaf = x509_cert::Certificate::from_der(&tsa.chain_der()[0]).unwrap();
    let not_after = leaf.tbs_certificate.validity.not_after.to_system_time();
    let wait = not_after
        .duration_since(std::time::SystemTime::now())
        .expect("the TSA certificate is still valid");
    assert!(wait < Duration::from_secs(30), "{wait:?}");
    let root = root_with_tsa(&sandbox, &tsa.chain_der(), None);
    let v = CachingVerifier::new(&root).unwrap();
    let policy = strict(&sandbox);
    let timestamped = |name: &str| {
        let b = bundle(&bundle_of(&work, name));
        with_token(&b, Some(token_from(&tsa, &signature_of(&b))))
    };
    same_verdict(
        &v,
        digest_of(&work, "a.bin"),
        &timestamped("a.bin"),
        &policy,
    )
    .unwrap();
    same_verdict(
        &v,
        digest_of(&work, "b.bin"),
        &timestamped("b.bin"),
        &policy,
    )
    .unwrap();
    assert_eq!(v.short_path_accepts(), 1);

    tokio::time::sleep(wait + Duration::from_secs(2)).await;
    let late = timestamped("c.bin");
    let e = same_verdict(&v, digest_of(&work, "c.bin"), &late, &policy).unwrap_err();
    assert!(e.contains("xpired"), "{e}");
    assert_eq!(v.short_path_accepts(), 1);
}

/// A token signed after the TSA authority's `validFor` ends is refused,
/// with or without the cache.
#[tokio::test(flavor = "multi_thread")]
async fn a_timestamp_after_the_tsa_authoritys_window_is_refused() {
    let (sandbox, work) = signed_run(&["a.bin", "b.bin"]).await;
    let end = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
    let root = root_with_tsa(&sandbox, &sandbox_tsa(&sandbox).chain_der(), Some(end));
    let v = CachingVerifier::new(&root).unwrap();
    let policy = strict(&sandbox);
    let a = bundle(&bundle_of(&work, "a.bin"));
    same_verdict(&v, digest_of(&work, "a.bin"), &a, &policy).unwrap();
    same_verdict(&v, digest_of(&work, "a.bin"), &a, &policy).unwrap();
    assert_eq!(v.short_path_accepts(), 1);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let b = bundle(&bundle_of(&work, "b.bin"));
    let late = with_token(
        &b,
        Some(token_from(sandbox_tsa(&sandbox), &signature_of(&b))),
    );
    let e = same_verdict(&v, digest_of(&work, "b.bin"), &late, &policy).unwrap_err();
    assert!(
        e.contains("is outside the validity period of the authority that signed it"),
        "{e}"
    );
    assert_eq!(v.short_path_accepts(), 1);
}

/// A trusted root whose TSA chain ends at another root: the token's signer
/// is the listed leaf, but the chain does not verify. With the signing
/// certificate cached (from a bundle without a timestamp), the short path
/// refuses it as the full verification does.
#[tokio::test(flavor = "multi_thread")]
async fn a_tsa_chain_to_another_root_is_refused() {
    let (sandbox, work) = signed_run(&["a.bin", "b.bin"]).await;
    let other =
        TimestampAuthority::generate(std::time::SystemTime::now() - Duration::from_secs(3600));
    let chain = vec![
        sandbox_tsa(&sandbox).chain_der()[0].clone(),
        other.chain_der()[1].clone(),
    ];
    let root = root_with_tsa(&sandbox, &chain, None);
    let v = CachingVerifier::new(&root).unwrap();
    let policy = strict(&sandbox);
    let a = bundle(&bundle_of(&work, "a.bin"));
    same_verdict(
        &v,
        digest_of(&work, "a.bin"),
        &with_token(&a, None),
        &policy,
    )
    .unwrap();
    assert_eq!(v.cached_certificates(), 1);
    let b = bundle(&bundle_of(&work, "b.bin"));
    let e = same_verdict(&v, digest_of(&work, "b.bin"), &b, &policy).unwrap_err();
    assert!(e.contains("chain") || e.contains("TSA"), "{e}");
    assert_eq!(v.short_path_accepts(), 0);
}

/// A bundle carrying more evidence than any verifier reads (33 copies of
/// its log entry, 33 timestamps, a checkpoint with 101 signature lines) is
/// refused before any signature is checked, by both the cached and the
/// full verification; 32 of each still verify. Regression: each copy was
/// checked, a few seconds of CPU for one 4 MiB bundle.
#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_with_more_evidence_than_is_read_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.bin"]).await;
    let root = TrustedRoot::from_file(sandbox.trusted_root_path()).unwrap();
    let v = CachingVerifier::new(&root).unwrap();
    let digest = digest_of(&work, "a.bin");
    let good = bundle_of(&work, "a.bin");
    let repeat = |pointer: &str, n: usize| {
        let mut b = good.clone();
        let one = b.pointer(pointer).unwrap()[0].clone();
        *b.pointer_mut(pointer).unwrap() = Value::Array(vec![one; n]);
        b
    };
    let entries = "/verificationMaterial/tlogEntries";
    let timestamps = "/verificationMaterial/timestampVerificationData/rfc3161Timestamps";
    for (pointer, what) in [
        (entries, "33 transparency log entries"),
        (timestamps, "33 RFC 3161 timestamps"),
    ] {
        let b = bundle(&repeat(pointer, 33));
        for result in [
            v.verify(digest, &b, &strict(&sandbox)).map(|_| ()),
            v.verify_in_full(digest, &b, &strict(&sandbox)).map(|_| ()),
        ] {
            let e = result.unwrap_err().to_string();
            assert!(e.contains(what), "{e}");
        }
    }
    let mut many = good.clone();
    edit_checkpoint(&mut many, |lines| {
        let last = lines.last().unwrap().clone();
        while lines.iter().filter(|l| l.starts_with('\u{2014}')).count() < 101 {
            lines.push(last.clone());
        }
    });
    let e = v
        .verify(digest, &bundle(&many), &strict(&sandbox))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("a checkpoint carries 101 signatures"), "{e}");
    // Indented, each is still a signature sigstore-types reads (it trims
    // the line) and the keys are tried on, and a line Go's note refuses:
    // refused, before any is tried. Regressions: only lines starting with
    // the dash counted; then the indented lines were read.
    let mut indented = good.clone();
    edit_checkpoint(&mut indented, |lines| {
        let last = lines.last().unwrap().clone();
        for _ in 0..101 {
            lines.push(format!(" {last}"));
        }
    });
    for result in [
        v.verify(digest, &bundle(&indented), &strict(&sandbox))
            .map(|_| ()),
        v.verify_in_full(digest, &bundle(&indented), &strict(&sandbox))
            .map(|_| ()),
    ] {
        let e = result.unwrap_err().to_string();
        assert!(
            e.contains("a log entry's checkpoint is not a signed note as sigstore-go and sigstore-python read one: a signature line is not `— NAME BASE64`"),
            "{e}"
        );
    }
    // A certificate or a timestamp larger than any service makes is not
    // parsed (its DER decoder sorts each SET OF in quadratic time).
    // Regression: only their number was capped.
    let padded = |pointer: &str| {
        let mut b = good.clone();
        let field = b.pointer_mut(pointer).unwrap();
        let mut der = B64.decode(field.as_str().unwrap()).unwrap();
        der.resize(16 * 1024 + 1, 0);
        *field = Value::String(B64.encode(der));
        bundle(&b)
    };
    for (pointer, what) in [
        (
            "/verificationMaterial/certificate/rawBytes",
            "a certificate of 16385 bytes",
        ),
        (
            "/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0/signedTimestamp",
            "an RFC 3161 timestamp of 16385 bytes",
        ),
    ] {
        let b = padded(pointer);
        for result in [
            v.verify(digest, &b, &strict(&sandbox)).map(|_| ()),
            v.verify_in_full(digest, &b, &strict(&sandbox)).map(|_| ()),
        ] {
            let e = result.unwrap_err().to_string();
            assert!(e.contains(what), "{e}");
        }
    }
    // Up to the limit, copies are refused as copies, as sigstore-go
    // refuses them ("duplicate timestamps found").
    let e = v
        .verify(digest, &bundle(&repeat(timestamps, 32)), &strict(&sandbox))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("one RFC 3161 timestamp twice"), "{e}");
}

/// The SCT check a new certificate gets before anything is logged with it
/// (`verify::sct`, a re-implementation of sigstore-verify's) has the full
/// verification's verdict on a bundle with that certificate: it accepts the
/// sandbox's SCT, and refuses it under a trusted root whose CT log has
/// another key, or a key whose window ends before the SCT or starts after it.
#[tokio::test(flavor = "multi_thread")]
async fn the_sct_check_before_signing_has_the_full_verdict() {
    use sigstore_verify::{CertificateError, Error as SigError};
    let (sandbox, work) = signed_run(&["a.bin"]).await;
    let other = Sandbox::start().await.unwrap();
    let b = bundle(&bundle_of(&work, "a.bin"));
    let digest = digest_of(&work, "a.bin");
    let leaf = b.signing_certificate().unwrap().clone();
    let at = sigstore_verify::crypto::parse_certificate_info(&leaf)
        .unwrap()
        .not_before;
    let policy = strict(&sandbox);

    let genuine = json(sandbox.trusted_root_path());
    let mut another_key = genuine.clone();
    another_key["ctlogs"] = json(other.trusted_root_path())["ctlogs"].clone();
    let window = |start: &str, end: &str| {
        let mut root = genuine.clone();
        root["ctlogs"][0]["publicKey"]["validFor"] =
            serde_json::json!({ "start": start, "end": end });
        root
    };
    let cases = [
        ("genuine", genuine.clone(), true),
        ("another key", another_key, false),
        (
            "ended",
            window("2000-01-01T00:00:00Z", "2001-01-01T00:00:00Z"),
            false,
        ),
        (
            "not yet",
            window("2100-01-01T00:00:00Z", "2101-01-01T00:00:00Z"),
            false,
        ),
    ];
    for (case, root, accepts) in cases {
        let root = TrustedRoot::from_json(&root.to_string()).unwrap();
        let v = CachingVerifier::new(&root).unwrap();
        let ours = v.sct_trusted(leaf.as_bytes(), at);
        assert_eq!(ours.is_ok(), accepts, "{case}: {ours:?}");
        match v.uncached().verify(digest, &b, &policy) {
            Ok(_) => assert!(accepts, "{case}: the full verification accepts"),
            Err(e) => assert!(
                !accepts && matches!(e, SigError::Certificate(CertificateError::Sct(_))),
                "{case}: {e}"
            ),
        }
    }
}
