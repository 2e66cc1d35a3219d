//! `verify` meets other clients: bundles sigstore-python made against the
//! sandbox (Rekor v1 and v2) verify with ours,
//! and a sigstore-python bundle whose certificate expired before its log
//! entry was made is refused. (The other direction, our bundles verified by
//! sigstore-python and cosign, is `interop.rs`.)

use std::path::Path;
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

/// Signing time outside the certificate's validity: a one-second certificate
/// and a Rekor that takes two seconds to answer, so the log's signed
/// integrated time is after notAfter. Our signer refuses to write such a
/// bundle (it self-verifies); sigstore-python does not check, which makes it
/// the way to produce one. The SET covers the time, so it cannot be forged.
#[tokio::test(flavor = "multi_thread")]
async fn certificate_expired_before_log_entry() {
    let Some(sigstore) = peers::sigstore_python().or_skip("certificate_expired_before_log_entry")
    else {
        return;
    };
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    sandbox
        .faults(Service::RekorV1)
        .set_latency(Duration::from_millis(2500), Duration::ZERO);
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
