use std::time::Duration;

use releasekit_sandbox::{Sandbox, Service};

use crate::util::{code, run, sign, stderr, stdout, verify_bundle, Work};

/// Certificates valid 3 s, services answering in 600 ms, and a sign
/// `--json` of five artifacts one at a time: longer than a certificate lasts.
async fn outliving_a_certificate() -> (Sandbox, Work, assert_cmd::Command) {
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(3))
        .latency(Duration::from_millis(600), Duration::ZERO)
        .start()
        .await
        .unwrap();
    let work = Work::new();
    for i in 0..5 {
        work.file(&format!("a{i}.whl"), format!("{i}"));
    }
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args([
        "a0.whl", "a1.whl", "a2.whl", "a3.whl", "a4.whl", "--jobs", "1", "--json",
    ]);
    (sandbox, work, cmd)
}

/// A work directory holding `count` artifacts (`a0.whl`, `a1.whl`...,
/// each its name as content), and their names.
fn artifacts(count: usize) -> (Work, Vec<String>) {
    let names: Vec<String> = (0..count).map(|i| format!("a{i}.whl")).collect();
    (crate::util::each_its_own_content(&names), names)
}

/// Once `service` has been asked anything.
async fn once_asked(sandbox: &Sandbox, service: Service) {
    while sandbox.requests(service).is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Certificates valid 3 s and services slow enough that one artifact takes
/// about a second (its Rekor entry and timestamp are requested together): the run renews its key and certificate before one would
/// expire mid-artifact, and every bundle still verifies (each entry's time
/// lies inside its certificate's validity).
#[tokio::test(flavor = "multi_thread")]
async fn a_short_lived_certificate_is_renewed_transparently() {
    let (sandbox, work, cmd) = outliving_a_certificate().await;
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    let fulcio = sandbox.requests(Service::Fulcio).len();
    assert!(
        fulcio >= 2,
        "expected renewals, got {fulcio} certificate request(s)"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["certificates"], fulcio);
    let mut keys = std::collections::BTreeSet::new();
    for i in 0..5 {
        let b = verify_bundle(
            &sandbox,
            &work.path(&format!("a{i}.whl")),
            &work.path(&format!("a{i}.whl.sigstore.json")),
        );
        keys.insert(
            b["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        keys.len(),
        fulcio,
        "each certificate signed at least one artifact"
    );
}

/// In GitHub Actions the token lives minutes; a renewal near its expiry asks
/// the Actions endpoint for a fresh one instead of presenting a stale token.
#[tokio::test(flavor = "multi_thread")]
async fn renewal_fetches_a_fresh_actions_token_when_the_old_one_is_ending() {
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(3))
        .token_lifetime(Duration::from_secs(6))
        .latency(Duration::from_millis(400), Duration::ZERO)
        .start()
        .await
        .unwrap();
    let (work, names) = artifacts(8);
    let mut cmd = crate::util::bin(work.dir.path());
    cmd.envs(sandbox.env())
        .arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["--jobs", "1"])
        .args(&names);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert!(sandbox.requests(Service::Fulcio).len() >= 2);
    let token_requests = sandbox
        .requests(Service::Oidc)
        .iter()
        .filter(|r| r.uri.starts_with("/token"))
        .count();
    assert!(
        token_requests >= 2,
        "the token was not refreshed ({token_requests} request)"
    );
    for n in &names {
        verify_bundle(
            &sandbox,
            &work.path(n),
            &work.path(&format!("{n}.sigstore.json")),
        );
    }
}

/// A token that ends while Fulcio's answer is retried (a 503 asking to wait
/// past its end): Fulcio refuses it, and the run fetches a fresh one and
/// asks again. Fulcio answers a token it cannot use with 400 and one
/// message ("There was an error processing the identity token"), not 401.
/// Regression: the expired token was sent on every retry, and the run
/// failed; then only a 401, which Fulcio never sends, fetched a new one.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_ends_during_fulcio_retries_is_replaced() {
    let sandbox = Sandbox::builder()
        .token_lifetime(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    // Past the token's end (Fulcio allows no leeway for it).
    let wait = 3 + 1;
    sandbox
        .faults(Service::Fulcio)
        .fail_next(1, releasekit_sandbox::Fault::retry_after(503, wait));
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = crate::util::bin(work.dir.path());
    cmd.envs(sandbox.env())
        .arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", crate::util::stderr(&o));
    let fulcio: Vec<u16> = sandbox
        .requests(Service::Fulcio)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(fulcio, [503, 400, 200]);
    let token_requests = sandbox
        .requests(Service::Oidc)
        .iter()
        .filter(|r| r.uri.starts_with("/token"))
        .count();
    assert!(token_requests >= 2, "{token_requests}");
    verify_bundle(
        &sandbox,
        &work.path("a.whl"),
        &work.path("a.whl.sigstore.json"),
    );
}

/// The token fetched again mid-run names another workflow: its certificate
/// is refused, and every bundle written is the first signer's. Regression:
/// later bundles named the other workflow while the run reported one
/// identity and exited 0.
#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_for_another_identity_is_refused() {
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(3))
        .token_lifetime(Duration::from_secs(6))
        .latency(Duration::from_millis(400), Duration::ZERO)
        .start()
        .await
        .unwrap();
    let (work, names) = artifacts(8);
    let (identity, issuer) = (sandbox.identity(), sandbox.issuer());
    let mut cmd = crate::util::bin(work.dir.path());
    cmd.envs(sandbox.env())
        .arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["--jobs", "1", "--json"])
        .args(&names);
    let running = tokio::spawn(run(cmd));
    once_asked(&sandbox, Service::Fulcio).await;
    let mut other = sandbox.default_claims();
    other.job_workflow_ref = other.job_workflow_ref.replace("release.yml", "other.yml");
    assert_ne!(
        other.job_workflow_ref,
        sandbox.default_claims().job_workflow_ref
    );
    sandbox.set_actions_token(other, Duration::from_secs(6));
    let o = running.await.unwrap();
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("the certificate renewed mid-run from Fulcio at"),
        "{}",
        stdout(&o)
    );
    // Refused once, not asked for again by each later artifact (each one
    // more certificate naming the other workflow): the run stops there.
    // Regression: every later artifact asked Fulcio again.
    assert_eq!(
        sandbox.requests(Service::Fulcio).len(),
        2,
        "one renewal asked for"
    );
    stopped_after_the_first_failure(&o);
    let written: Vec<&String> = names
        .iter()
        .filter(|n| work.path(&format!("{n}.sigstore.json")).exists())
        .collect();
    assert!(!written.is_empty());
    let mut verify = crate::util::bin(work.dir.path());
    verify
        .arg("verify")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["--cert-identity", &identity, "--cert-oidc-issuer", &issuer])
        .args(written);
    let v = run(verify).await;
    assert_eq!(code(&v), 0, "{}", stdout(&v));
}

/// A renewed certificate without an SCT the instance's CT logs vouch for
/// stops the run, as the first one does: each later artifact would ask
/// Fulcio again (each certificate one more CT log entry naming the signer)
/// and be refused alike. Regression: it failed one artifact, and the next
/// asked Fulcio for another.
#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_without_a_trusted_sct_stops_the_run() {
    use releasekit_sandbox::lies::FulcioLie;
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(3))
        .latency(Duration::from_millis(400), Duration::ZERO)
        .start()
        .await
        .unwrap();
    let (work, names) = artifacts(8);
    let mut cmd = crate::util::sign(&sandbox, work.dir.path());
    cmd.args(["--jobs", "1", "--json"]).args(&names);
    let running = tokio::spawn(run(cmd));
    once_asked(&sandbox, Service::Fulcio).await;
    sandbox.lies().fulcio(8, FulcioLie::NoSct);
    let o = running.await.unwrap();
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert_eq!(
        sandbox.requests(Service::Fulcio).len(),
        2,
        "one renewal asked for"
    );
    let first = stopped_after_the_first_failure(&o);
    assert!(
        first.contains("without an SCT the instance's CT logs vouch for"),
        "{first}"
    );
}

/// The `--json` report of `o` fails one artifact, and every later one
/// failed says the run stopped after it: its error.
fn stopped_after_the_first_failure(o: &std::process::Output) -> String {
    let report: serde_json::Value = serde_json::from_str(&stdout(o)).unwrap();
    let errors: Vec<&str> = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["error"].as_str())
        .collect();
    assert!(errors.len() > 1, "{errors:?}");
    for e in &errors[1..] {
        assert!(e.starts_with("not signed: the run stopped after "), "{e}");
    }
    errors[0].to_owned()
}

/// A sandbox whose certificates last 6 s, and whose Rekor v1 asks the next
/// entry (with `only`, the next whose body holds it) to come back in 7 s.
async fn log_waits_past_the_certificate(only: Option<&str>) -> Sandbox {
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(6))
        .start()
        .await
        .unwrap();
    let rekor = sandbox.faults(Service::RekorV1);
    if let Some(text) = only {
        rekor.only_bodies_containing(text);
    }
    rekor.fail_next(1, releasekit_sandbox::Fault::retry_after(503, 7));
    sandbox
}

/// A certificate that expires while its artifact waits on the log (Rekor
/// asks to come back later, past the renewal margin): the entry's time is
/// after the certificate's end, so the artifact is signed once more with a
/// renewed certificate, and its bundle verifies. Regression: it failed its
/// self-verification, with a fix about the trust config.
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_that_expires_while_the_log_waits_is_renewed_and_the_artifact_signed_again() {
    let sandbox = log_waits_past_the_certificate(None).await;
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "--json"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["certificates"], 2, "{v:#}");
    assert_eq!(sandbox.requests(Service::Fulcio).len(), 2);
    verify_bundle(
        &sandbox,
        &work.path("a.whl"),
        &work.path("a.whl.sigstore.json"),
    );
}

/// A TSA whose clock runs ahead of ours puts a later artifact's timestamp
/// past its certificate's end while our clock still gives the certificate
/// more than the renewal margin: that artifact is signed again with a
/// renewed certificate, by the service's clock, and verifies. Regression:
/// signed again with the same certificate, timed past its end again, and
/// failed its self-verification.
#[tokio::test(flavor = "multi_thread")]
async fn a_tsa_clock_ahead_of_ours_gets_a_renewed_certificate() {
    use sha2::Digest as _;
    // Certificates of 30 s (renewed 10 s before their end), a TSA 25 s
    // ahead, and the first artifact's log entry answered 12 s later: the
    // second starts 12 s into the certificate, and its timestamp says 37 s.
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    sandbox.tsa().set_clock_ahead(Duration::from_secs(25));
    let work = Work::new();
    work.file("a0.whl", "first");
    work.file("a1.whl", "second");
    let rekor = sandbox.faults(Service::RekorV1);
    let first = hex::encode(sha2::Sha256::digest(b"first"));
    rekor.only_bodies_containing(first.into_bytes());
    rekor.fail_next(1, releasekit_sandbox::Fault::retry_after(503, 12));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a0.whl", "a1.whl", "--jobs", "1", "--json"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["certificates"], 2, "{v:#}");
    for a in ["a0.whl", "a1.whl"] {
        verify_bundle(
            &sandbox,
            &work.path(a),
            &work.path(&format!("{a}.sigstore.json")),
        );
    }
}

/// The same for the provenance: its log entry comes back timed after its
/// certificate's end, so it is signed once more with a renewed certificate,
/// and the file verifies.
#[tokio::test(flavor = "multi_thread")]
async fn a_provenance_whose_certificate_expires_while_the_log_waits_is_signed_again() {
    let sandbox = log_waits_past_the_certificate(Some(r#""kind":"dsse""#)).await;
    let work = Work::new();
    work.file("dist/a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env("GITHUB_SERVER_URL", "https://github.com")
        .args(["--json", "--provenance", "dist"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["provenance"]["status"], "signed", "{v:#}");
    assert_eq!(v["provenance"]["certificate"], 2, "{v:#}");
    assert_eq!(
        sandbox.faults(Service::RekorV1).pending(),
        0,
        "the dsse entry was the one delayed"
    );
}

/// A renewed certificate that ends before an artifact could be logged with
/// it is refused, and is not counted: the report's `certificates` are those
/// the run could sign with (here the first, which signed the first
/// artifacts; the renewals Fulcio answered with one valid for no time at all
/// are not).
#[tokio::test(flavor = "multi_thread")]
async fn a_renewed_certificate_too_short_to_use_is_not_counted() {
    let (sandbox, _work, cmd) = outliving_a_certificate().await;
    let running = tokio::spawn(run(cmd));
    // Once the first certificate signs (its first log entry is asked for),
    // Fulcio's later certificates end as they are issued.
    once_asked(&sandbox, Service::RekorV1).await;
    sandbox.set_cert_validity(Duration::ZERO);
    let o = running.await.unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // One renewal asked for: refused, it is not asked for again.
    assert_eq!(sandbox.requests(Service::Fulcio).len(), 2);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["certificates"], 1, "{v:#}");
    assert!(v.to_string().contains("too short to sign with"), "{v:#}");
}

/// A first certificate that ends before an artifact could be logged with it
/// stops the run, before anything is logged.
#[tokio::test(flavor = "multi_thread")]
async fn a_first_certificate_too_short_to_use_stops_the_run() {
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("b.whl", "b");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "b.whl", "--jobs", "1", "--json"]);
    let o = run(cmd).await;
    assert_ne!(code(&o), 0);
    assert!(!sandbox.requests(Service::Fulcio).is_empty());
    assert!(sandbox.requests(Service::RekorV1).is_empty());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("too short to sign with"),
        "{v:#}"
    );
}

/// A renewal refused while other artifacts wait for the certificate (four
/// in flight): they are told the renewal was refused, and Fulcio is asked
/// once. Regression: each waiting artifact asked Fulcio for another
/// certificate, each refused alike.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_renewal_is_not_asked_for_again_by_artifacts_in_flight() {
    let sandbox = Sandbox::builder()
        .cert_validity(Duration::from_secs(3))
        .latency(Duration::from_millis(600), Duration::ZERO)
        .start()
        .await
        .unwrap();
    let (work, names) = artifacts(24);
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["--jobs", "4", "--json"]).args(&names);
    let running = tokio::spawn(run(cmd));
    once_asked(&sandbox, Service::RekorV1).await;
    sandbox.set_cert_validity(Duration::ZERO);
    let o = running.await.unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        sandbox.requests(Service::Fulcio).len(),
        2,
        "the first certificate and one renewal"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v.to_string().contains("too short to sign with"), "{v:#}");
}
