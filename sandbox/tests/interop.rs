//! The proof that the sandbox speaks real Sigstore: sigstore-python (an independent
//! client) signs against it and verifies, for Rekor v1 and for Rekor v2 + TSA, and the
//! `sigstore-verify` crate accepts the same bundles with the sandbox trusted root.

use std::path::Path;
use std::process::Command;

use releasekit_sandbox::{peers, Sandbox, Service};
use sigstore_trust_root::TrustedRoot;
use sigstore_types::Bundle;
use sigstore_verify::{VerificationPolicy, Verifier};

fn sign_with_python(sigstore: &Path, trust_config: &Path, token: &str, file: &Path, bundle: &Path) {
    let out = Command::new(sigstore)
        .arg("--trust-config")
        .arg(trust_config)
        .args(["sign", "--identity-token", token, "--bundle"])
        .arg(bundle)
        .arg(file)
        .output()
        .expect("running sigstore-python");
    assert!(
        out.status.success(),
        "sigstore-python sign failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn verify_with_python(
    sigstore: &Path,
    trust_config: &Path,
    bundle: &Path,
    identity: &str,
    issuer: &str,
    file: &Path,
) -> std::process::Output {
    Command::new(sigstore)
        .arg("--trust-config")
        .arg(trust_config)
        .args(["verify", "identity", "--bundle"])
        .arg(bundle)
        .args(["--cert-identity", identity, "--cert-oidc-issuer", issuer])
        .arg(file)
        .output()
        .expect("running sigstore-python")
}

async fn round_trip(rekor_major: u32) {
    let Some(sigstore) = peers::sigstore_python().or_skip("sigstore-python interop") else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let trust_config = if rekor_major == 2 {
        sandbox.trust_config_v2_path().to_path_buf()
    } else {
        sandbox.trust_config_path().to_path_buf()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("artifact.tar.gz");
    std::fs::write(&file, b"release artifact contents\n").unwrap();
    let bundle_path = dir.path().join("artifact.tar.gz.sigstore.json");

    // sigstore-python blocks; keep it off the runtime that serves the sandbox.
    let (s, t, f, b, tok) = (
        sigstore.clone(),
        trust_config.clone(),
        file.clone(),
        bundle_path.clone(),
        sandbox.token(),
    );
    tokio::task::spawn_blocking(move || sign_with_python(&s, &t, &tok, &f, &b))
        .await
        .unwrap();

    let json = std::fs::read_to_string(&bundle_path).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let entry = &value["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(
        entry["kindVersion"]["version"],
        if rekor_major == 2 { "0.0.2" } else { "0.0.1" }
    );
    assert!(
        !value["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .map(Vec::is_empty)
            .unwrap_or(true),
        "sigstore-python only warns when the TSA answers badly: the bundle must carry a timestamp"
    );
    let rekor = if rekor_major == 2 {
        Service::RekorV2
    } else {
        Service::RekorV1
    };
    assert_eq!(
        sandbox.requests(rekor).len(),
        1,
        "exactly one log entry created"
    );

    // The independent client accepts the right identity and rejects another.
    let (identity, issuer) = (sandbox.identity(), sandbox.issuer());
    let (s, t, b, f) = (
        sigstore.clone(),
        trust_config.clone(),
        bundle_path.clone(),
        file.clone(),
    );
    let (good, bad) = tokio::task::spawn_blocking(move || {
        (
            verify_with_python(&s, &t, &b, &identity, &issuer, &f),
            verify_with_python(
                &s,
                &t,
                &b,
                "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main",
                &issuer,
                &f,
            ),
        )
    })
    .await
    .unwrap();
    assert!(
        good.status.success(),
        "sigstore-python verify rejected the sandbox bundle:\n{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        !bad.status.success(),
        "sigstore-python accepted a wrong identity"
    );

    // The sigstore-verify crate accepts it too, with the plain trusted_root.json.
    let root = TrustedRoot::from_file(sandbox.trusted_root_path()).unwrap();
    let verifier = Verifier::new(&root).unwrap();
    let bundle = Bundle::from_json(&json).unwrap();
    let policy = VerificationPolicy::any_identity()
        .require_identity(sandbox.identity())
        .require_issuer(sandbox.issuer());
    let artifact = std::fs::read(&file).unwrap();
    verifier
        .verify(artifact.as_slice(), &bundle, &policy)
        .unwrap();
    let wrong = VerificationPolicy::any_identity().require_identity("someone@example.com");
    assert!(verifier
        .verify(artifact.as_slice(), &bundle, &wrong)
        .is_err());
    assert!(verifier
        .verify(b"tampered".as_slice(), &bundle, &policy)
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigstore_python_signs_and_verifies_with_rekor_v1() {
    round_trip(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigstore_python_signs_and_verifies_with_rekor_v2_and_tsa() {
    round_trip(2).await;
}
