use releasekit_sandbox::{Sandbox, Service};

use crate::util::{code, run, sign, sign_v2, verify_bundle, Work};

/// Rekor v1 by default: hashedrekord 0.0.1 with a promise, a proof and a
/// checkpoint, and the JSON fields sigstore-python insists on.
#[tokio::test(flavor = "multi_thread")]
async fn v1_is_the_default_and_the_bundle_has_what_strict_readers_need() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    assert!(sandbox.requests(Service::RekorV2).is_empty());
    let b = verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    assert_eq!(
        b["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert!(b["verificationMaterial"]["certificate"]["rawBytes"].is_string());
    assert_eq!(
        b["messageSignature"]["messageDigest"]["algorithm"],
        "SHA2_256"
    );
    let e = &b["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(e["kindVersion"]["kind"], "hashedrekord");
    assert_eq!(e["kindVersion"]["version"], "0.0.1");
    assert!(e["logIndex"].is_string() && e["integratedTime"].is_string());
    assert!(e["inclusionPromise"]["signedEntryTimestamp"].is_string());
    let proof = &e["inclusionProof"];
    assert!(proof["logIndex"].is_string() && proof["treeSize"].is_string());
    assert!(proof["hashes"].is_array(), "hashes present even when empty");
    assert!(proof["checkpoint"]["envelope"].is_string());
    // The sandbox instance has a TSA: the signature is timestamped too.
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// The PEM in the hashedrekord request (Rekor v1) and in Fulcio's certificate
/// request has LF line endings, as cosign and sigstore-python send them: a log
/// that stores the body as sent would otherwise hold a CRLF PEM that strict
/// verifiers find inconsistent with the bundle's certificate.
#[tokio::test(flavor = "multi_thread")]
async fn request_pems_have_lf_line_endings() {
    use base64::Engine as _;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    let json = |body: &[u8]| serde_json::from_slice::<serde_json::Value>(body).unwrap();

    let posts = sandbox.requests(Service::RekorV1);
    assert_eq!(posts.len(), 1);
    let entry = json(&posts[0].body);
    let pem = base64::engine::general_purpose::STANDARD
        .decode(
            entry["spec"]["signature"]["publicKey"]["content"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let pem = String::from_utf8(pem).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem:?}");
    assert!(!pem.contains('\r'), "{pem:?}");

    let fulcio = sandbox.requests(Service::Fulcio);
    let request = json(&fulcio[0].body);
    let pem = request["publicKeyRequest"]["publicKey"]["content"]
        .as_str()
        .unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem:?}");
    assert!(!pem.contains('\r'), "{pem:?}");
}

/// Rekor v2 (0.0.2) from a trust config that offers only v2, with the
/// RFC 3161 timestamp v2 requires.
#[tokio::test(flavor = "multi_thread")]
async fn v2_with_a_timestamp_from_a_v2_trust_config() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let mut cmd = sign_v2(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    assert!(sandbox.requests(Service::RekorV1).is_empty());
    assert_eq!(sandbox.requests(Service::Tsa).len(), 1);
    let b = verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    let e = &b["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(e["kindVersion"]["version"], "0.0.2");
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Explicit flags choose v2 over the config's v1.
#[tokio::test(flavor = "multi_thread")]
async fn flags_choose_rekor_v2_and_the_tsa() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("--rekor-url")
        .arg(&sandbox.urls().rekor_v2)
        .args(["--rekor-version", "2", "--tsa-url"])
        .arg(&sandbox.urls().tsa)
        .arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    assert!(sandbox.requests(Service::RekorV1).is_empty());
    let b = verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    assert_eq!(
        b["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"],
        "0.0.2"
    );
}
