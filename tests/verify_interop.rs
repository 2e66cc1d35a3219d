//! `verify` meets other clients: bundles sigstore-python made against the
//! sandbox (Rekor v1 and v2) verify with ours,
//! and a sigstore-python bundle whose certificate expired before its log
//! entry was made is refused. (The other direction, our bundles verified by
//! sigstore-python and cosign, is `interop.rs`.)

use std::path::Path;

use base64::Engine as _;
use std::process::Command;
use std::time::Duration;

use releasekit_sandbox::{peers, Sandbox, Service};

use crate::util::{bin, code, run, stdout, Work};

/// `sigstore --trust-config T <verb> --identity-token <token> [args] FILE`.
async fn python(sigstore: &Path, trust_config: &Path, token: String, verb: &[&str], file: &Path) {
    let mut cmd = Command::new(sigstore);
    cmd.arg("--trust-config")
        .arg(trust_config)
        .args(verb)
        .arg("--identity-token")
        .arg(token)
        .arg(file);
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        o.status.success(),
        "sigstore-python {verb:?} failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

async fn ours(
    sandbox: &Sandbox,
    cwd: &Path,
    trust_config: &Path,
    file: &str,
) -> std::process::Output {
    let mut cmd = bin(cwd);
    cmd.arg("verify")
        .arg("--trust-config")
        .arg(trust_config)
        .arg("--cert-identity")
        .arg(sandbox.identity())
        .arg("--cert-oidc-issuer")
        .arg(sandbox.issuer())
        .arg(file);
    run(cmd).await
}

/// Message-signature bundles from sigstore-python, Rekor v1 (SET + proof)
/// and Rekor v2 (proof + RFC 3161 timestamp), verify with ours.
#[tokio::test(flavor = "multi_thread")]
async fn sigstore_python_bundles_verify() {
    let Some(sigstore) = peers::sigstore_python().or_skip("sigstore_python_bundles_verify") else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for (name, config) in [
        ("v1.whl", sandbox.trust_config_path()),
        ("v2.whl", sandbox.trust_config_v2_path()),
    ] {
        let a = work.file(name, name);
        python(&sigstore, config, sandbox.token(), &["sign"], &a).await;
        let o = ours(&sandbox, work.dir.path(), config, name).await;
        assert_eq!(code(&o), 0, "{name}");
        assert_eq!(
            stdout(&o).lines().next(),
            Some(format!("✅ Verified: {name}").as_str())
        );
    }
    let v2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path("v2.whl.sigstore.json")).unwrap()).unwrap();
    assert_eq!(
        v2["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"],
        "0.0.2"
    );
}

/// Signing time outside the certificate's validity: a three-second certificate
/// and a Rekor that takes six seconds to answer, so the log's signed
/// integrated time is after notAfter. Our signer refuses to write such a
/// bundle (it self-verifies); sigstore-python does not check, which makes it
/// the way to produce one. The SET covers the time, so it cannot be forged.
#[tokio::test(flavor = "multi_thread")]
async fn certificate_expired_before_log_entry() {
    let Some(sigstore) = peers::sigstore_python().or_skip("certificate_expired_before_log_entry")
    else {
        return;
    };
    // Margins wide enough for a loaded CI machine: sigstore-python must get
    // through its own steps before the certificate expires (a 1 s certificate
    // once expired before it reached Rekor), and the log must answer well after.
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    sandbox
        .faults(Service::RekorV1)
        .set_latency(Duration::from_millis(6000), Duration::ZERO);
    let work = Work::new();
    let a = work.file("late.whl", "late");
    python(
        &sigstore,
        sandbox.trust_config_path(),
        sandbox.token(),
        &["sign"],
        &a,
    )
    .await;
    let o = ours(
        &sandbox,
        work.dir.path(),
        sandbox.trust_config_path(),
        "late.whl",
    )
    .await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).starts_with(
            "❌ late.whl: Signing time outside the certificate's validity: logged at "
        ),
        "{}",
        stdout(&o)
    );
}

/// Differential check on our own bundles (Rekor v1 and v2): sigstore-python
/// and, for v1, cosign agree with ours on a good bundle and on each broken
/// one (artifact changed, signature bit flipped, wrong identity).
#[tokio::test(flavor = "multi_thread")]
async fn peers_agree_with_our_verdicts() {
    let Some(sigstore) = peers::sigstore_python().or_skip("peers_agree_with_our_verdicts") else {
        return;
    };
    let cosign = peers::cosign().or_skip("peers_agree_with_our_verdicts (cosign)");
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for (dir, config) in [
        ("v1", sandbox.trust_config_path()),
        ("v2", sandbox.trust_config_v2_path()),
    ] {
        // `first` takes log index 0, which cosign refuses to read (see interop.rs).
        for name in ["first", "good", "changed", "flipped"] {
            work.file(&format!("{dir}/{name}.whl"), format!("{dir} {name}"));
        }
        let mut cmd = bin(work.dir.path());
        cmd.arg("sign")
            .arg("--trust-config")
            .arg(config)
            .arg("--identity-token")
            .arg(sandbox.token())
            .args(["--jobs", "1", dir]);
        assert_eq!(code(&run(cmd).await), 0);
        std::fs::write(work.path(&format!("{dir}/changed.whl")), "changed").unwrap();
        let flipped = work.path(&format!("{dir}/flipped.whl.sigstore.json"));
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&flipped).unwrap()).unwrap();
        let sig = v["messageSignature"]["signature"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .unwrap();
        let n = bytes.len() - 3;
        bytes[n] ^= 1;
        v["messageSignature"]["signature"] = base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into();
        std::fs::write(&flipped, serde_json::to_vec(&v).unwrap()).unwrap();

        for (name, identity, expect_ok) in [
            ("good", sandbox.identity(), true),
            ("changed", sandbox.identity(), false),
            ("flipped", sandbox.identity(), false),
            (
                "good",
                "https://github.com/evil/x/.github/workflows/r.yml@refs/heads/main".to_owned(),
                false,
            ),
        ] {
            let rel = format!("{dir}/{name}.whl");
            let artifact = work.path(&rel);
            let mut cmd = bin(work.dir.path());
            cmd.arg("verify").arg("--trust-config").arg(config).args([
                "--cert-identity",
                &identity,
                "--cert-oidc-issuer",
                &sandbox.issuer(),
                &rel,
            ]);
            let ours = run(cmd).await.status.success();
            let python = Command::new(&sigstore)
                .arg("--trust-config")
                .arg(config)
                .args([
                    "verify",
                    "identity",
                    "--cert-identity",
                    &identity,
                    "--cert-oidc-issuer",
                    &sandbox.issuer(),
                ])
                .arg(&artifact)
                .output()
                .unwrap()
                .status
                .success();
            assert_eq!(
                (ours, python),
                (expect_ok, expect_ok),
                "{rel} as {identity}: ours, sigstore-python"
            );
            if let (Some(cosign), "v1") = (&cosign, dir) {
                let verdict = Command::new(cosign)
                    .args([
                        "verify-blob",
                        "--new-bundle-format",
                        "--use-signed-timestamps",
                        "--bundle",
                    ])
                    .arg(work.path(&format!("{rel}.sigstore.json")))
                    .arg("--trusted-root")
                    .arg(sandbox.trusted_root_path())
                    .args([
                        "--certificate-identity",
                        &identity,
                        "--certificate-oidc-issuer",
                        &sandbox.issuer(),
                    ])
                    .arg(&artifact)
                    .output()
                    .unwrap()
                    .status
                    .success();
                assert_eq!(verdict, expect_ok, "{rel} as {identity}: cosign");
            }
        }
    }
}

/// The same with Rekor v2, where the only signed time is the RFC 3161
/// timestamp: a TSA that answers after the two-second certificate expired.
#[tokio::test(flavor = "multi_thread")]
async fn certificate_expired_before_timestamp_rekor_v2() {
    let Some(sigstore) =
        peers::sigstore_python().or_skip("certificate_expired_before_timestamp_rekor_v2")
    else {
        return;
    };
    // Wider margins than a 1 s certificate, for a loaded CI machine, while the
    // TSA still answers inside sigstore-python's 5 s read timeout: 3.5 s
    // after the request is at least 1.5 s past the certificate's end (a
    // whole second more than X.509's one-second times can round), and 1.5 s
    // inside the timeout, which load on this machine eats into.
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    sandbox
        .faults(Service::Tsa)
        .set_latency(Duration::from_millis(3500), Duration::ZERO);
    let work = Work::new();
    let a = work.file("late.whl", "late");
    let config = sandbox.trust_config_v2_path();
    python(&sigstore, config, sandbox.token(), &["sign"], &a).await;
    let o = ours(&sandbox, work.dir.path(), config, "late.whl").await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).starts_with(
            "❌ late.whl: Signing time outside the certificate's validity: signed at "
        ),
        "{}",
        stdout(&o)
    );
}
