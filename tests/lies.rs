//! A lying log or CA: Rekor (v1 and v2) or Fulcio answers with well-formed,
//! genuinely signed material that is wrong. The signer must refuse to write the
//! bundle, say why, and still sign the artifacts it was not lied to about.
//! (A certificate for another key is in `failures.rs`.)

use releasekit_sandbox::lies::{FulcioLie, RekorLie};
use releasekit_sandbox::{Sandbox, Service};

use crate::util::{code, run, sign, sign_v2, stderr, stdout, verify_bundle, Work};

/// Sign `a.whl` and `b.whl` (`--jobs 1`, so `a.whl` meets the first lie) with
/// Rekor v1 or v2; returns stdout after checking that `a.whl` failed and
/// `b.whl` was signed.
async fn sign_two(sandbox: &Sandbox, work: &Work, v2: bool) -> String {
    work.file("a.whl", "a");
    let b = work.file("b.whl", "b");
    let log = if v2 {
        Service::RekorV2
    } else {
        Service::RekorV1
    };
    let before = sandbox.requests(log).len();
    let mut cmd = if v2 {
        sign_v2(sandbox, work.dir.path())
    } else {
        sign(sandbox, work.dir.path())
    };
    cmd.args(["a.whl", "b.whl", "--jobs", "1"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    assert!(
        !work.path("a.whl.sigstore.json").exists(),
        "no bundle for the artifact the log lied about"
    );
    verify_bundle(sandbox, &b, &work.path("b.whl.sigstore.json"));
    assert_eq!(sandbox.lies().pending(), 0, "the lie was told");
    assert_eq!(
        sandbox.requests(log).len() - before,
        2,
        "one request per artifact: a lie is refused, never asked again"
    );
    stdout(&o)
}

fn failure_line(out: &str) -> &str {
    out.lines()
        .find(|l| l.starts_with("❌ Failed: a.whl: "))
        .unwrap_or_else(|| panic!("no failure line for a.whl in:\n{out}"))
}

/// Rekor v1 logs and returns a genuine entry (valid SET, proof, checkpoint) for
/// another artifact's digest instead of ours.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v1_entry_for_another_body_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    sandbox.lies().rekor_v1(1, RekorLie::EntryForAnotherBody);
    let out = sign_two(&sandbox, &work, false).await;
    let line = failure_line(&out);
    assert!(
        line.contains(&format!(
            "Rekor at {} returned a log entry for another signature or artifact",
            sandbox.urls().rekor_v1
        )),
        "{line}"
    );
}

/// Rekor v1 returns our entry with a signed entry timestamp that does not verify.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v1_bad_set_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    sandbox.lies().rekor_v1(1, RekorLie::BadSet);
    let out = sign_two(&sandbox, &work, false).await;
    let line = failure_line(&out);
    assert!(line.contains("does not verify"), "{line}");
    assert!(line.contains("SET verification failed"), "{line}");
    assert!(
        line.contains("report it to the instance's operator"),
        "{line}"
    );
}

/// Rekor v1 returns our entry with an audit path that does not lead to the
/// signed root (the log already holds entries, so the path is not empty).
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v1_wrong_inclusion_proof_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("x.whl", "x");
    work.file("y.whl", "y");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["x.whl", "y.whl"]);
    assert_eq!(code(&run(cmd).await), 0);
    sandbox.lies().rekor_v1(1, RekorLie::WrongInclusionProof);
    let out = sign_two(&sandbox, &work, false).await;
    let line = failure_line(&out);
    assert!(line.contains("does not verify"), "{line}");
    assert!(line.contains("inclusion proof"), "{line}");
}

/// Rekor v2 logs and returns an entry for another artifact's digest.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v2_entry_for_another_body_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    sandbox.lies().rekor_v2(1, RekorLie::EntryForAnotherBody);
    let out = sign_two(&sandbox, &work, true).await;
    let line = failure_line(&out);
    assert!(
        line.contains(&format!(
            "Rekor at {} returned a log entry for another signature or artifact",
            sandbox.urls().rekor_v2
        )),
        "{line}"
    );
}

/// Rekor v2 returns our entry with a proof root hash other than its signed
/// checkpoint's (the first entry of the log: an empty audit path, so the root
/// is the lie). sigstore-verify reads v2 roots from the checkpoint alone and
/// would accept the bundle; stricter verifiers would not, so it is refused.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v2_proof_root_other_than_its_checkpoint_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    sandbox.lies().rekor_v2(1, RekorLie::WrongInclusionProof);
    let out = sign_two(&sandbox, &work, true).await;
    let line = failure_line(&out);
    assert!(
        line.contains(&format!(
            "Rekor at {} returned an inclusion proof that disagrees with its own checkpoint",
            sandbox.urls().rekor_v2
        )),
        "{line}"
    );
}

/// Rekor v2 returns our entry with an audit path hash flipped (the log already
/// holds entries, so the path is not empty).
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v2_wrong_audit_path_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("x.whl", "x");
    work.file("y.whl", "y");
    let mut cmd = sign_v2(&sandbox, work.dir.path());
    cmd.args(["x.whl", "y.whl"]);
    assert_eq!(code(&run(cmd).await), 0);
    sandbox.lies().rekor_v2(1, RekorLie::WrongInclusionProof);
    let out = sign_two(&sandbox, &work, true).await;
    let line = failure_line(&out);
    assert!(line.contains("does not verify"), "{line}");
    assert!(line.contains("inclusion proof"), "{line}");
}

/// Fulcio issues a genuine certificate for our key, but for someone else's
/// identity: refused before anything is logged.
#[tokio::test(flavor = "multi_thread")]
async fn fulcio_certificate_for_another_identity_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mallory = "https://github.com/mallory/evil/.github/workflows/release.yml@refs/heads/main";
    sandbox
        .lies()
        .fulcio(10, FulcioLie::AnotherIdentity(mallory.into()));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "Fulcio at {} returned a certificate for `{mallory}`, but the token is for `{}`; refusing to sign with it",
            sandbox.urls().fulcio,
            sandbox.identity()
        )),
        "{err}"
    );
    assert_eq!(
        sandbox.requests(Service::Fulcio).len(),
        1,
        "a lie is refused, never asked again"
    );
    assert!(sandbox.requests(Service::RekorV1).is_empty());
    assert_eq!(work.listing(), ["a.whl"]);
}

/// Fulcio issues a certificate naming another OIDC issuer than the token's.
#[tokio::test(flavor = "multi_thread")]
async fn fulcio_certificate_from_another_issuer_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    sandbox
        .lies()
        .fulcio(10, FulcioLie::AnotherIssuer("https://evil.example".into()));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains("returned a certificate from issuer `https://evil.example`"),
        "{err}"
    );
    assert_eq!(
        sandbox.requests(Service::Fulcio).len(),
        1,
        "a lie is refused, never asked again"
    );
    assert!(sandbox.requests(Service::RekorV1).is_empty());
    assert_eq!(work.listing(), ["a.whl"]);
}

/// A github.com Actions token's certificate must name exactly
/// `https://github.com/` + its `job_workflow_ref`. Fulcio issues one for the
/// same workflow ref under another host, under a path prefix on github.com,
/// or under a look-alike host: each is refused before anything is logged.
#[tokio::test(flavor = "multi_thread")]
async fn fulcio_certificate_for_the_workflow_elsewhere_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let identity = sandbox.identity();
    let workflow_ref = identity
        .strip_prefix("https://github.com/")
        .expect("a github.com workflow identity");
    // Also the token's own `sub` (`repo:o/r:ref:...`), which pins no
    // workflow (regression: accepted, and the bundle written).
    let sub = sandbox.default_claims().sub;
    assert!(sub.starts_with("repo:"), "{sub}");
    for lie in [
        format!("https://evil.example/{workflow_ref}"),
        format!("https://github.com/evil/{workflow_ref}"),
        format!("https://github.com.evil.example/{workflow_ref}"),
        format!("http://github.com/{workflow_ref}"),
        sub,
    ] {
        let before = sandbox.requests(Service::Fulcio).len();
        sandbox
            .lies()
            .fulcio(1, FulcioLie::AnotherIdentity(lie.clone()));
        let mut cmd = sign(&sandbox, work.dir.path());
        cmd.arg("a.whl");
        let o = run(cmd).await;
        assert_eq!(code(&o), 1, "{lie}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "Fulcio at {} returned a certificate for `{lie}`, but the token is for `{identity}`; refusing to sign with it",
                sandbox.urls().fulcio,
            )),
            "{lie}: {err}"
        );
        assert_eq!(sandbox.lies().pending(), 0, "the lie was told");
        assert_eq!(sandbox.requests(Service::Fulcio).len(), before + 1);
    }
    assert!(sandbox.requests(Service::RekorV1).is_empty());
    assert_eq!(work.listing(), ["a.whl"]);
}
