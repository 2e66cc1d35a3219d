//! One fault story per service (OIDC Actions endpoint, Fulcio, Rekor v1, Rekor v2,
//! TSA): a transient failure is retried and the run succeeds; a permanent one ends
//! with an error naming the service and the artifact, and leaves no file behind; a
//! re-run completes what is missing without logging anything twice.
//! Each service's `Retry-After` is honoured (the retry comes no sooner), and a
//! body that does not decode is retried like a 502.
//! `failures.rs` already covers a 503 to Fulcio, a 429 to Rekor v1, a 502 to the TSA,
//! a dropped Rekor v1 POST (409 path) and a 400 from Rekor v1: not repeated here.

use releasekit_sandbox::{Fault, Sandbox, Service};

use crate::util::{
    assert_printable, bin, code, run, sign, sign_upload, sign_v2, stderr, stdout, verify_bundle,
    Work,
};

/// Attempts the product makes per request (net::RetryPolicy::default()).
const ATTEMPTS: usize = 4;

fn statuses(sandbox: &Sandbox, service: Service) -> Vec<u16> {
    sandbox.requests(service).iter().map(|r| r.status).collect()
}

/// The environment of a GitHub Actions job with `id-token: write`, no explicit token.
fn actions_sign(sandbox: &Sandbox, cwd: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = bin(cwd);
    for (k, v) in sandbox.env() {
        cmd.env(k, v);
    }
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path());
    cmd
}

/// OIDC: the Actions token endpoint answers 503, then 429 with `Retry-After: 3`,
/// then drops the connection mid-answer; the fourth request gets the token.
#[tokio::test(flavor = "multi_thread")]
async fn oidc_actions_endpoint_transient_faults_are_retried() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let oidc = sandbox.faults(Service::Oidc);
    oidc.only_paths_containing("/token");
    oidc.fail_next(1, Fault::status(503));
    oidc.fail_next(1, Fault::retry_after(429, RETRY_AFTER_SECS));
    oidc.fail_next(1, Fault::DropConnection);
    let mut cmd = actions_sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    let token_requests: Vec<_> = sandbox
        .requests(Service::Oidc)
        .into_iter()
        .filter(|r| r.uri.starts_with("/token"))
        .collect();
    let statuses: Vec<u16> = token_requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 429, 200, 200]);
    // The request after the 429 came no sooner than its Retry-After (the
    // backoff alone is a fraction of it). Regression: the whole run's
    // time was compared, which the backoffs alone could fill.
    let waited = token_requests[2].at.duration_since(token_requests[1].at);
    assert!(
        waited >= std::time::Duration::from_secs(RETRY_AFTER_SECS),
        "asked again after {waited:?}, before its Retry-After: {RETRY_AFTER_SECS}"
    );
}

/// OIDC, permanently down: one run-level error naming the token endpoint; no
/// certificate requested, nothing written, and the request count is bounded.
/// It is a failure while running (exit 1: a re-run may pass), not the job's
/// setup (exit 2, which a 403 gets). Regression: exit 2, with a fix about
/// the workflow's permissions.
#[tokio::test(flavor = "multi_thread")]
async fn oidc_actions_endpoint_down_is_one_clear_error() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    sandbox
        .faults(Service::Oidc)
        .fail_next(100, Fault::status(503));
    let mut cmd = actions_sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("OIDC token request failed"), "{err}");
    assert!(err.contains("503"), "{err}");
    assert!(err.contains("fix: re-run the job"), "{err}");
    assert!(!err.contains("id-token: write"), "{err}");
    assert_eq!(sandbox.requests(Service::Oidc).len(), ATTEMPTS);
    assert!(sandbox.requests(Service::Fulcio).is_empty());
    assert_eq!(work.listing(), ["a.whl"]);
}

/// An answer from the Actions token endpoint's URL that is no token (a
/// proxy's page) is said as that, not blamed on the workflow's
/// permissions: the runner names the endpoint only to a job that may ask.
/// Regression: "fix: add id-token: write", which the job had.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_that_is_no_token_is_not_blamed_on_permissions() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    sandbox.faults(Service::Oidc).fail_next(
        100,
        Fault::status_body(200, "<html>sign in to the proxy</html>"),
    );
    let mut cmd = actions_sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("what answered is not GitHub's token endpoint"),
        "{err}"
    );
    assert!(!err.contains("id-token: write"), "{err}");
    assert!(sandbox.requests(Service::Fulcio).is_empty());
}

/// An Actions token endpoint that TLS refuses (here: an https URL to a
/// server that speaks plain http) is the setup's to fix: a usage error
/// saying TLS refused it, neither "the endpoint is failing" nor blamed on
/// `id-token: write`, which the job has (the runner named the endpoint).
#[tokio::test(flavor = "multi_thread")]
async fn oidc_actions_endpoint_refused_by_tls_is_the_setups() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = actions_sign(&sandbox, work.dir.path());
    let url = sandbox
        .env()
        .into_iter()
        .find(|(k, _)| k == "ACTIONS_ID_TOKEN_REQUEST_URL")
        .map(|(_, v)| v)
        .unwrap();
    cmd.env(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        url.replacen("http://", "https://", 1),
    )
    .arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("OIDC token request failed"), "{err}");
    assert!(
        err.contains("the request to it was refused by TLS"),
        "{err}"
    );
    assert!(!err.contains("add `id-token: write`"), "{err}");
    assert!(sandbox.requests(Service::Fulcio).is_empty());
}

/// Fulcio: a dropped connection and a body that is not JSON, then a good answer.
#[tokio::test(flavor = "multi_thread")]
async fn fulcio_dropped_connection_and_malformed_body_are_retried() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let fulcio = sandbox.faults(Service::Fulcio);
    fulcio.fail_next(1, Fault::DropConnection);
    fulcio.fail_next(1, Fault::MalformedBody);
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    assert_eq!(sandbox.requests(Service::Fulcio).len(), 3);
}

/// Fulcio, permanently failing: one run-level error naming Fulcio and its URL,
/// after a bounded number of attempts; nothing logged, nothing written.
#[tokio::test(flavor = "multi_thread")]
async fn fulcio_down_is_one_clear_error() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("b.whl", "b");
    sandbox
        .faults(Service::Fulcio)
        .fail_next(100, Fault::status(500));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "b.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("Fulcio at {}", sandbox.urls().fulcio)),
        "{err}"
    );
    assert!(err.contains("500"), "{err}");
    assert_eq!(sandbox.requests(Service::Fulcio).len(), ATTEMPTS);
    assert!(sandbox.requests(Service::RekorV1).is_empty());
    assert_eq!(work.listing(), ["a.whl", "b.whl"]);
}

/// Rekor v1 answers 201 with a body that is not JSON after logging the entry:
/// the retried POST gets 409 and the existing entry is fetched, not logged twice.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v1_malformed_answer_after_logging_does_not_log_twice() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let rekor = sandbox.faults(Service::RekorV1);
    rekor.only_paths_containing("/api/v1/log/entries");
    rekor.fail_next(1, Fault::MalformedBody);
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    assert_eq!(statuses(&sandbox, Service::RekorV1), [201, 409, 200]);
    assert_eq!(
        sandbox.shared().rekor_v1.tree_size(),
        1,
        "one entry in the log"
    );
}

/// Rekor v2: 503, a 429 with `Retry-After`, then success.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v2_transient_faults_are_retried() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let rekor = sandbox.faults(Service::RekorV2);
    rekor.fail_next(1, Fault::status(503));
    rekor.fail_next(1, Fault::retry_after(429, 1));
    let mut cmd = sign_v2(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    let b = verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    assert_eq!(
        b["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"],
        "0.0.2"
    );
    assert_eq!(statuses(&sandbox, Service::RekorV2), [503, 429, 201]);
    assert_eq!(sandbox.shared().rekor_v2.tree_size(), 1);
}

/// Rekor v2 logs the entry, then the answer is lost (the connection cut
/// mid-body): the retried POST gets 409, as rekor-tiles answers a duplicate,
/// with no entry to take back, so the artifact is signed again (a new
/// signature is a new entry, timestamped anew) and its bundle verifies.
/// Regression: the 409 failed the artifact.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v2_answer_lost_after_logging_signs_again() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let rekor = sandbox.faults(Service::RekorV2);
    rekor.fail_next(1, Fault::DropConnection);
    let mut cmd = sign_v2(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", crate::util::stdout(&o));
    let b = verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    assert_eq!(
        b["verificationMaterial"]["tlogEntries"][0]["logIndex"], "1",
        "{b}"
    );
    assert_eq!(statuses(&sandbox, Service::RekorV2), [201, 409, 201]);
    assert_eq!(sandbox.shared().rekor_v2.tree_size(), 2);
}

/// Rekor v2, permanently failing for one artifact of three: that artifact fails
/// naming Rekor and itself, the others are signed; a re-run of the same command
/// signs the missing one and sends nothing to Rekor for the others.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v2_permanent_failure_then_rerun_completes_without_duplicates() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for n in ["a", "b", "c"] {
        work.file(&format!("{n}.whl"), n);
    }
    sandbox
        .faults(Service::RekorV2)
        .fail_next(ATTEMPTS, Fault::status(500));
    let cmd = |sandbox: &Sandbox| {
        let mut cmd = sign_v2(sandbox, work.dir.path());
        cmd.args(["a.whl", "b.whl", "c.whl", "--jobs", "1"]);
        cmd
    };
    let o = run(cmd(&sandbox)).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "❌ Failed: a.whl: Rekor at {} did not log the signature",
            sandbox.urls().rekor_v2
        )),
        "{out}"
    );
    assert!(out.contains("500"), "{out}");
    assert_eq!(
        work.listing(),
        [
            "a.whl",
            "b.whl",
            "b.whl.sigstore.json",
            "c.whl",
            "c.whl.sigstore.json"
        ]
    );
    assert_eq!(sandbox.shared().rekor_v2.tree_size(), 2);
    let b_before = std::fs::read(work.path("b.whl.sigstore.json")).unwrap();

    // The re-run: the existing bundles are reported (and left alone), the
    // missing one is signed, and exactly one new entry is logged.
    let posts_before = sandbox.requests(Service::RekorV2).len();
    let o = run(cmd(&sandbox)).await;
    assert_eq!(code(&o), 1, "existing bundles are still reported");
    let out = stdout(&o);
    assert!(out.contains("✅ Signed: a.whl"), "{out}");
    assert!(out.contains("b.whl.sigstore.json already exists"), "{out}");
    assert_eq!(sandbox.requests(Service::RekorV2).len(), posts_before + 1);
    assert_eq!(
        sandbox.shared().rekor_v2.tree_size(),
        3,
        "no entry logged twice"
    );
    assert_eq!(
        std::fs::read(work.path("b.whl.sigstore.json")).unwrap(),
        b_before
    );
    for n in ["a", "b", "c"] {
        verify_bundle(
            &sandbox,
            &work.path(&format!("{n}.whl")),
            &work.path(&format!("{n}.whl.sigstore.json")),
        );
    }
}

/// TSA: a dropped connection, a body that is not a timestamp response, a 503
/// with `Retry-After`, then success.
#[tokio::test(flavor = "multi_thread")]
async fn tsa_dropped_connection_and_malformed_body_are_retried() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let tsa = sandbox.faults(Service::Tsa);
    tsa.fail_next(1, Fault::DropConnection);
    tsa.fail_next(1, Fault::MalformedBody);
    tsa.fail_next(1, Fault::retry_after(503, 1));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    let b = verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(statuses(&sandbox, Service::Tsa).len(), 4);
}

/// TSA, permanently failing: the artifact fails naming the TSA and itself, no
/// bundle is written (a bundle without the timestamp the instance promises is
/// not written either).
#[tokio::test(flavor = "multi_thread")]
async fn tsa_down_fails_the_artifact_with_the_tsa_named() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    sandbox
        .faults(Service::Tsa)
        .fail_next(100, Fault::status(502));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "❌ Failed: a.whl: the timestamp authority at {}",
            sandbox.urls().tsa
        )),
        "{out}"
    );
    assert_eq!(sandbox.requests(Service::Tsa).len(), ATTEMPTS);
    assert_eq!(work.listing(), ["a.whl"]);
}

/// What a rate-limited or overloaded service asks for in these tests: long
/// enough that the default backoff (a quarter second, with jitter) cannot
/// reach it by chance, so a retry this late shows the header was read.
const RETRY_AFTER_SECS: u64 = 3;

/// `service` saw exactly `statuses`, and the second request came no sooner
/// than the first answer's `Retry-After` allowed.
fn came_back_after_retry_after(sandbox: &Sandbox, service: Service, statuses: [u16; 2]) {
    let requests = sandbox.requests(service);
    let seen: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(seen, statuses, "{service:?}");
    let waited = requests[1].at.duration_since(requests[0].at);
    assert!(
        waited >= std::time::Duration::from_secs(RETRY_AFTER_SECS),
        "{service:?} was asked again after {waited:?}, before its Retry-After: {RETRY_AFTER_SECS}"
    );
}

/// Sign `a.whl` (against the Rekor v2 instance when `v2`) while `service`
/// first answers `status` with `Retry-After: 3`: the run succeeds, the
/// bundle verifies, and the service was asked again only after the wait,
/// answering `statuses`.
async fn honours_retry_after(
    service: Service,
    status: u16,
    v2: bool,
    statuses: [u16; 2],
) -> (Sandbox, serde_json::Value) {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    sandbox
        .faults(service)
        .fail_next(1, Fault::retry_after(status, RETRY_AFTER_SECS));
    let mut cmd = if v2 {
        sign_v2(&sandbox, work.dir.path())
    } else {
        sign(&sandbox, work.dir.path())
    };
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    let bundle = verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    came_back_after_retry_after(&sandbox, service, statuses);
    (sandbox, bundle)
}

/// Fulcio rate-limits the certificate request (429, `Retry-After: 3`): the
/// signer waits that long, then gets its certificate.
#[tokio::test(flavor = "multi_thread")]
async fn fulcio_rate_limit_retry_after_is_honoured() {
    honours_retry_after(Service::Fulcio, 429, false, [429, 200]).await;
}

/// Rekor v1 is overloaded (503, `Retry-After: 3`): the entry is logged once,
/// after the wait.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v1_unavailable_retry_after_is_honoured() {
    let (sandbox, _) = honours_retry_after(Service::RekorV1, 503, false, [503, 201]).await;
    assert_eq!(sandbox.shared().rekor_v1.tree_size(), 1);
}

/// Rekor v2 rate-limits the entry (429, `Retry-After: 3`).
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v2_rate_limit_retry_after_is_honoured() {
    let (sandbox, _) = honours_retry_after(Service::RekorV2, 429, true, [429, 201]).await;
    assert_eq!(sandbox.shared().rekor_v2.tree_size(), 1);
}

/// The TSA rate-limits the timestamp request (429, `Retry-After: 3`).
#[tokio::test(flavor = "multi_thread")]
async fn tsa_rate_limit_retry_after_is_honoured() {
    let (_, b) = honours_retry_after(Service::Tsa, 429, false, [429, 200]).await;
    assert_eq!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Rekor v2 answers 201 with a body that is not JSON after logging the entry:
/// the POST is repeated, the log refuses the duplicate (409) without giving
/// the entry back, and the artifact is signed again: two entries, the
/// bundle names the second.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v2_malformed_answer_is_retried_and_signed_again() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    sandbox
        .faults(Service::RekorV2)
        .fail_next(1, Fault::MalformedBody);
    let mut cmd = sign_v2(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    assert_eq!(statuses(&sandbox, Service::RekorV2), [201, 409, 201]);
    assert_eq!(sandbox.shared().rekor_v2.tree_size(), 2);
}

/// GitHub rate-limits an upload with `Retry-After` as an HTTP-date (RFC 9110's
/// other form): the upload is retried no sooner than that date, as every
/// other service's is (the GitHub path once read seconds only, and retried
/// at once).
#[tokio::test(flavor = "multi_thread")]
async fn github_retry_after_as_an_http_date_is_honoured() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    let github = sandbox.faults(Service::GitHub);
    github.only_paths_containing("/assets");
    github.fail_next(1, Fault::retry_at(429, RETRY_AFTER_SECS));
    let o = run(sign_upload(&sandbox, work.dir.path(), &["dist"])).await;
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let requests = sandbox.requests(Service::GitHub);
    let seen: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.uri, r.status))
        .collect();
    // The request the fault answered, and the same request asked again.
    let limited = requests
        .iter()
        .position(|r| r.status == 429)
        .expect("the fault was met");
    let again = requests[limited + 1..]
        .iter()
        .find(|r| r.method == requests[limited].method && r.uri == requests[limited].uri)
        .unwrap_or_else(|| panic!("not asked again: {seen:#?}"));
    let waited = again.at.duration_since(requests[limited].at);
    assert!(
        waited >= std::time::Duration::from_secs(RETRY_AFTER_SECS),
        "asked again after {waited:?}, before the Retry-After date"
    );
}

/// GitHub, permanently failing uploads (the release itself is found): the
/// bundles are written whole and verify, and the run fails naming GitHub and
/// each asset. (A re-run does not yet upload bundles that already exist: see
/// the reliability report.)
#[tokio::test(flavor = "multi_thread")]
async fn github_upload_down_keeps_the_bundles_and_names_each_asset() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    work.file("dist/b.whl", "b");
    let github = sandbox.faults(Service::GitHub);
    github.only_paths_containing("/assets");
    github.fail_next(100, Fault::status(502));
    let upload = || sign_upload(&sandbox, work.dir.path(), &["dist"]);
    let o = run(upload()).await;
    assert_eq!(code(&o), 1);
    let all = stdout(&o) + &stderr(&o);
    for n in ["a", "b"] {
        assert!(all.contains(&format!("{n}.whl.sigstore.json")), "{all}");
        verify_bundle(
            &sandbox,
            &work.path(&format!("dist/{n}.whl")),
            &work.path(&format!("dist/{n}.whl.sigstore.json")),
        );
    }
    // Each bundle's line says why it is not on the release: the assets
    // could not even be listed (to check what its artifact's name holds).
    let refused = "not uploaded: the release's assets could not be listed to check the one of its artifact's name";
    assert!(all.matches(refused).count() >= 2, "{all}");
    assert!(all.contains("GitHub answered 502"), "{all}");
    assert!(sandbox
        .github()
        .assets("octo-org/octo-repo", "v1.0.0")
        .is_empty());
}

/// What a hostile proxy or service may put in an error answer: line breaks,
/// a workflow command, ESC sequences, a bidi override.
const HOSTILE_BODY: &str =
    "bad request\n::warning::injected\r\n##[error]legacy\x1b]0;title\x07\x1b[2J\u{202e}";

/// Error bodies reach the user's terminal and the CI log as one printable
/// line: a retried 503 from Fulcio (in the retry log line), a 400 from Rekor
/// (in the artifact's failure), a 403 from GitHub (in the run's error).
#[tokio::test(flavor = "multi_thread")]
async fn error_bodies_are_printed_on_one_line() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    work.file("dist/b.whl", "b");
    sandbox
        .faults(Service::Fulcio)
        .fail_next(1, Fault::status_body(503, HOSTILE_BODY));
    sandbox
        .faults(Service::RekorV1)
        .fail_next(1, Fault::status_body(400, HOSTILE_BODY));
    let github = sandbox.faults(Service::GitHub);
    github.fail_next(
        1,
        Fault::status_body(
            403,
            serde_json::json!({ "message": HOSTILE_BODY }).to_string(),
        ),
    );
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args([
        "dist",
        "--jobs",
        "1",
        "--upload",
        "--release-tag",
        "v1.0.0",
        "--repo",
        "octo-org/octo-repo",
    ])
    .env("GITHUB_API_URL", &sandbox.urls().github_api)
    .env("GITHUB_TOKEN", sandbox.github_token());
    let o = run(cmd).await;
    assert_ne!(code(&o), 0);
    assert_eq!(sandbox.faults(Service::Fulcio).pending(), 0);
    assert_eq!(sandbox.faults(Service::RekorV1).pending(), 0);
    assert_eq!(github.pending(), 0);
    assert_printable("stdout", &stdout(&o));
    assert_printable("stderr", &stderr(&o));
    let all = stdout(&o) + &stderr(&o);
    let shown = "bad request\\n::warning::injected\\r\\n##\\u{5b}error]legacy";
    // Once per place it reached: the retry log, the artifact's line and the
    // summary, the run's error.
    assert!(all.matches(shown).count() >= 4, "{all}");
}

/// OIDC: the Actions token endpoint (named by the environment) answers with
/// megabytes: refused at 64 KiB, one clear error, nothing requested of
/// Fulcio. Regression: the answer was read whole into memory.
#[tokio::test(flavor = "multi_thread")]
async fn oidc_actions_endpoint_answer_of_megabytes_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let huge = format!("{{\"value\":\"{}\"}}", "x".repeat(4 << 20));
    let oidc = sandbox.faults(Service::Oidc);
    oidc.only_paths_containing("/token");
    oidc.fail_next(1, Fault::status_body(200, huge));
    let mut cmd = actions_sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("the token endpoint's answer is larger than 65536 bytes"),
        "{err}"
    );
    assert!(sandbox.requests(Service::Fulcio).is_empty());
    assert_eq!(work.listing(), ["a.whl"]);
}
