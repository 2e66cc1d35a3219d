use std::path::Path;

use releasekit_sandbox::{peers, Sandbox};

use crate::util::{code, run, sign, sigstore_python_verifies, Work};

/// Sign `a.whl` with the sandbox's Rekor v1 instance; sigstore-python verifies it.
async fn sigstore_python_verifies_a_v1_bundle(python: &Path, sandbox: &Sandbox) {
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let mut cmd = sign(sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    sigstore_python_verifies(python, sandbox, sandbox.trust_config_path(), None, &a);
}

/// sigstore-python 4.5.1, the strictest reader, accepts our v1 and v2 bundles.
#[tokio::test(flavor = "multi_thread")]
async fn sigstore_python_accepts_our_bundles() {
    let Some(python) = peers::sigstore_python().or_skip("sigstore_python_accepts_our_bundles")
    else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    sigstore_python_verifies_a_v1_bundle(&python, &sandbox).await;

    let work = Work::new();
    let v2 = work.file("v2/b.whl", "b");
    let mut cmd = crate::util::sign_v2(&sandbox, work.dir.path());
    cmd.arg("v2/b.whl");
    assert_eq!(code(&run(cmd).await), 0);
    sigstore_python_verifies(&python, &sandbox, sandbox.trust_config_v2_path(), None, &v2);
}

/// sigstore-python accepts our bundles from a Rekor v1 that stores each entry's
/// body as sent rather than re-encoding it: it rebuilds the body from the
/// bundle's certificate (a PEM with LF line endings) and compares, so the PEM
/// we send must already be the one it expects.
#[tokio::test(flavor = "multi_thread")]
async fn sigstore_python_accepts_bundles_from_a_log_storing_bodies_as_sent() {
    let Some(python) = peers::sigstore_python()
        .or_skip("sigstore_python_accepts_bundles_from_a_log_storing_bodies_as_sent")
    else {
        return;
    };
    let sandbox = Sandbox::builder()
        .rekor_store_as_sent(true)
        .start()
        .await
        .unwrap();
    sigstore_python_verifies_a_v1_bundle(&python, &sandbox).await;
}

/// cosign (Go) accepts our bundle with the sandbox's trusted root. (sigstore-go
/// rejects a `logIndex` of 0 as a nil value; the sandbox's Rekor, like a real
/// sharded one, hands out global indexes well above 0.)
#[tokio::test(flavor = "multi_thread")]
async fn cosign_accepts_our_bundles() {
    let Some(cosign) = peers::cosign().or_skip("cosign_accepts_our_bundles") else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    crate::util::cosign_verifies(&cosign, &sandbox, &work.path("a.whl.sigstore.json"), &a);
}
