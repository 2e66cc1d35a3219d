//! Both Rekor APIs driven over HTTP by the sigstore-rekor 0.15.1 clients, with every
//! answer checked the way sigstore-verify 0.15.1 checks bundle entries.

use std::str::FromStr;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use der::Encode;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sigstore_crypto::{CheckpointVerifyExt as _, VerificationKey};
use sigstore_rekor::entry::{HashedRekord, HashedRekordV2, RekorV2KeyDetails};
use sigstore_rekor::{RekorClient, RekorV2Client};
use sigstore_types::{
    Checkpoint, DerCertificate, DerPublicKey, KindVersion, Sha256Hash, SignatureBytes,
    TransparencyLogEntry,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;
use x509_cert::TbsCertificate;

use std::sync::Arc;

use super::{v1, v2, Log, LogRef, LogVersion};

/// A self-signed P-256 certificate standing in for a Fulcio leaf, assembled by
/// hand so the test needs no extra digest features.
fn signer() -> (SigningKey, DerCertificate) {
    use p256::ecdsa::signature::Signer as _;
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap();
    let alg = x509_cert::spki::AlgorithmIdentifierOwned {
        oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
        parameters: None,
    };
    let name = Name::from_str("CN=rekor-test").unwrap();
    let tbs = TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: SerialNumber::from(7u32),
        signature: alg.clone(),
        issuer: name.clone(),
        validity: Validity::from_now(Duration::from_secs(600)).unwrap(),
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    let sig: DerSignature = key.sign(&tbs.to_der().unwrap());
    let cert = x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg,
        signature: der::asn1::BitString::from_bytes(sig.as_bytes()).unwrap(),
    };
    (key, DerCertificate::new(cert.to_der().unwrap()))
}

fn sign(key: &SigningKey, digest: &[u8; 32]) -> SignatureBytes {
    let sig: DerSignature = key.sign_prehash(digest).unwrap();
    SignatureBytes::new(sig.as_bytes().to_vec())
}

fn log_key(log: &Log) -> DerPublicKey {
    DerPublicKey::new(log.key().spki_der().to_vec())
}

/// Serve a fresh log on a loopback port, as the sandbox does.
async fn serve(version: LogVersion) -> (String, Arc<Log>) {
    serve_with(version, false).await
}

/// [`serve`], storing v1 bodies as sent when `as_sent`.
async fn serve_with(version: LogVersion, as_sent: bool) -> (String, Arc<Log>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Log::new(version, &url).store_as_sent(as_sent));
    let handle = LogRef::Standalone(log.clone());
    let router = match version {
        LogVersion::V1 => v1::router(handle),
        LogVersion::V2 => v2::router(handle),
    };
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, log)
}

/// sigstore-verify's `verify_merkle_inclusion` + `verify_checkpoint`.
fn check_inclusion(entry: &TransparencyLogEntry, key: &DerPublicKey, v2: bool) {
    let proof = entry.inclusion_proof.as_ref().expect("inclusion proof");
    let checkpoint = Checkpoint::from_text(proof.checkpoint.envelope()).unwrap();
    checkpoint.verify_signature(key).unwrap();
    let (index, size, root) = if v2 {
        (
            entry.log_index.get(),
            checkpoint.tree_size(),
            *checkpoint.root_hash(),
        )
    } else {
        assert_eq!(checkpoint.root_hash(), &proof.root_hash);
        (proof.log_index.get(), proof.tree_size, proof.root_hash)
    };
    let leaf = sigstore_merkle::hash_leaf(entry.canonicalized_body.as_bytes());
    sigstore_merkle::verify_inclusion_proof(&leaf, index, size, &proof.hashes, &root).unwrap();
}

/// sigstore-verify's `verify_set`, payload rebuilt from the bundle entry.
fn check_set(entry: &TransparencyLogEntry, key: &DerPublicKey) {
    let promise = entry.inclusion_promise.as_ref().expect("SET");
    let payload = json!({
        "body": entry.canonicalized_body.to_base64(),
        "integratedTime": entry.integrated_time.unwrap().as_second(),
        "logIndex": entry.log_index.as_i64(),
        "logID": hex::encode(entry.log_id.key_id.as_bytes()),
    });
    let msg = serde_json_canonicalizer::to_vec(&payload).unwrap();
    let sig = SignatureBytes::new(promise.signed_entry_timestamp.as_bytes().to_vec());
    VerificationKey::from_spki(key)
        .unwrap()
        .verify(&msg, &sig)
        .unwrap();
}

#[tokio::test]
async fn v1_entries_verify_and_duplicates_conflict() {
    let (url, log) = serve(LogVersion::V1).await;
    let client = RekorClient::new(&url).unwrap();
    let key = log_key(&log);
    let (signing, cert) = signer();

    let mut first = None;
    for n in 0..5u8 {
        let digest: [u8; 32] = Sha256::digest([n]).into();
        let request = HashedRekord::new(&Sha256Hash::new(digest), &sign(&signing, &digest), &cert);
        let logged = client.create_entry(request).await.unwrap();
        // Global index (sharded log) vs the index in the active tree.
        assert_eq!(
            logged.log_index.get(),
            super::v1::INACTIVE_SHARDS_SIZE + u64::from(n)
        );
        let proof = logged
            .verification
            .as_ref()
            .and_then(|v| v.inclusion_proof.as_ref())
            .expect("proof");
        assert_eq!(proof.log_index.get(), u64::from(n));
        assert_eq!(logged.uuid.to_string().len(), 80);
        let entry = logged
            .to_bundle_entry(KindVersion::HashedRekordV001)
            .unwrap();
        assert_eq!(entry.log_id.key_id.as_bytes(), log.log_id());
        check_inclusion(&entry, &key, false);
        check_set(&entry, &key);
        // The body is what sigstore-verify's hashedrekord check parses.
        let body: Value = serde_json::from_slice(entry.canonicalized_body.as_bytes()).unwrap();
        assert_eq!(body["spec"]["data"]["hash"]["value"], hex::encode(digest));
        let pem = logged_pem(&body);
        assert_eq!(
            DerCertificate::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap(),
            cert
        );
        first.get_or_insert((logged, request_json(&signing, &cert, &digest)));
    }

    // Fetching by UUID gives a proof at the current size, still valid.
    let (logged, request) = first.unwrap();
    let again = client.get_entry_by_uuid(&logged.uuid).await.unwrap();
    let entry = again
        .to_bundle_entry(KindVersion::HashedRekordV001)
        .unwrap();
    assert_eq!(entry.inclusion_proof.as_ref().unwrap().tree_size, 5);
    check_inclusion(&entry, &key, false);
    check_set(&entry, &key);

    let http = reqwest::Client::new();
    // A duplicate is a 409 pointing at the existing entry.
    let resp = http
        .post(format!("{url}/api/v1/log/entries"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        format!("/api/v1/log/entries/{}", logged.uuid)
    );
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["code"], 409);

    // A signature over another digest is a 400 with Rekor's error model.
    let resp = post_v1(&url, &signed_over_another_digest(&request, &signing)).await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["code"], 400);
    assert!(err["message"].as_str().unwrap().contains("signature"));

    // Unknown kinds are refused.
    let mut kind = request.clone();
    kind["kind"] = json!("rekord");
    let resp = http
        .post(format!("{url}/api/v1/log/entries"))
        .json(&kind)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // Log info and public key.
    let info: Value = http
        .get(format!("{url}/api/v1/log"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["treeSize"], 5);
    let sth = Checkpoint::from_text(info["signedTreeHead"].as_str().unwrap()).unwrap();
    sth.verify_signature(&key).unwrap();
    assert_eq!(sth.root_hash().to_hex(), info["rootHash"].as_str().unwrap());
    let pem = http
        .get(format!("{url}/api/v1/log/publicKey"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(DerPublicKey::from_pem(&pem).unwrap(), key);
    let missing = http
        .get(format!("{url}/api/v1/log/entries/{}", "ab".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

fn request_json(key: &SigningKey, cert: &DerCertificate, digest: &[u8; 32]) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": B64.encode(sign(key, digest).as_bytes()),
                "publicKey": { "content": B64.encode(cert.to_pem()) }
            },
            "data": { "hash": { "algorithm": "sha256", "value": hex::encode(digest) } }
        }
    })
}

/// `request` with a signature (by `key`) over another digest than its own.
fn signed_over_another_digest(request: &Value, key: &SigningKey) -> Value {
    let mut bad = request.clone();
    let other: [u8; 32] = Sha256::digest(b"other").into();
    bad["spec"]["signature"]["content"] = json!(B64.encode(sign(key, &other).as_bytes()));
    bad
}

/// `POST /api/v1/log/entries` with `body`.
async fn post_v1(url: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/api/v1/log/entries"))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The PEM a hashedrekord 0.0.1 body carries, decoded.
fn logged_pem(body: &Value) -> Vec<u8> {
    B64.decode(
        body["spec"]["signature"]["publicKey"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

/// The body a v1 log answers with, decoded.
async fn logged_body(url: &str, request: &Value) -> Vec<u8> {
    let resp = post_v1(url, request).await;
    assert_eq!(resp.status(), 201);
    let answer: Value = resp.json().await.unwrap();
    let (_, entry) = answer.as_object().unwrap().iter().next().unwrap();
    B64.decode(entry["body"].as_str().unwrap()).unwrap()
}

/// A log that stores bodies as sent logs the client's exact bytes (a CRLF
/// PEM stays CRLF) after the same checks; a canonical one re-encodes the
/// body, its PEM with LF line endings.
#[tokio::test]
async fn v1_logs_store_bodies_canonically_or_as_sent() {
    let (signing, cert) = signer();
    let digest: [u8; 32] = Sha256::digest(b"as sent").into();
    let mut request = request_json(&signing, &cert, &digest);
    let crlf = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::CRLF, cert.as_bytes())
        .unwrap();
    request["spec"]["signature"]["publicKey"]["content"] = json!(B64.encode(&crlf));
    let sent = serde_json::to_vec(&request).unwrap();

    let (url, _) = serve_with(LogVersion::V1, true).await;
    assert_eq!(logged_body(&url, &request).await, sent);

    let (url, _) = serve_with(LogVersion::V1, false).await;
    let canonical: Value = serde_json::from_slice(&logged_body(&url, &request).await).unwrap();
    let pem = logged_pem(&canonical);
    assert!(!pem.contains(&b'\r'));
    assert_eq!(
        DerCertificate::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap(),
        cert
    );

    // Checked first either way: a bad signature is refused, not stored.
    let (url, log) = serve_with(LogVersion::V1, true).await;
    let resp = post_v1(&url, &signed_over_another_digest(&request, &signing)).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(log.tree_size(), 0);
}

#[tokio::test]
async fn v2_entries_verify() {
    let (url, log) = serve(LogVersion::V2).await;
    let client = RekorV2Client::new(&url).unwrap();
    let key = log_key(&log);
    let (signing, cert) = signer();
    for n in 0..4u8 {
        let digest: [u8; 32] = Sha256::digest([n]).into();
        let request = HashedRekordV2::new_with_certificate(
            &Sha256Hash::new(digest),
            &sign(&signing, &digest),
            &cert,
            RekorV2KeyDetails::PkixEcdsaP256Sha256,
        );
        // create_entry also runs the client's own response checks.
        let entry = client.create_entry(request).await.unwrap();
        assert_eq!(entry.log_index.get(), u64::from(n));
        assert!(entry.integrated_time.is_none() && entry.inclusion_promise.is_none());
        assert_eq!(entry.log_id.key_id.as_bytes(), log.log_id());
        check_inclusion(&entry, &key, true);
    }
    let checkpoint = client.get_checkpoint().await.unwrap();
    assert_eq!(checkpoint.tree_size(), 4);
    checkpoint.verify_signature(&key).unwrap();

    // A bad signature is INVALID_ARGUMENT.
    let digest: [u8; 32] = Sha256::digest(b"x").into();
    let other: [u8; 32] = Sha256::digest(b"y").into();
    let bad = HashedRekordV2::new_with_certificate(
        &Sha256Hash::new(digest),
        &sign(&signing, &other),
        &cert,
        RekorV2KeyDetails::PkixEcdsaP256Sha256,
    );
    match client.create_entry(bad).await {
        Err(sigstore_rekor::Error::Status { status, .. }) => assert_eq!(status, 400),
        other => panic!("expected 400, got {other:?}"),
    }
}
