//! Secrets never leak: runs with every log level turned on (`RELEASEKIT_LOG=trace`,
//! `-vvv`, the runner's debug flag), through retries and failures, and then no
//! token — the OIDC identity token (any of its three parts), the Actions
//! request token, the GitHub token — appears in stdout, stderr or any file
//! written. The one exception is the `::add-mask::<secret>` line whose purpose
//! is to tell the runner what to mask.

use std::path::Path;
use std::process::Output;

use releasekit_sandbox::{Fault, Sandbox, Service};

use crate::util::{bin, code, run, stderr, stdout, Work};

const REPO: &str = "octo-org/octo-repo";

/// Every identity token Fulcio was handed (header or body), as sent.
fn tokens_sent_to_fulcio(sandbox: &Sandbox) -> Vec<String> {
    let mut out = Vec::new();
    for r in sandbox.requests(Service::Fulcio) {
        if let Some(t) = r
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            out.push(t.to_owned());
        }
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&r.body) {
            if let Some(t) = v["credentials"]["oidcIdentityToken"].as_str() {
                out.push(t.to_owned());
            }
        }
    }
    out.retain(|t| !t.is_empty());
    out.sort();
    out.dedup();
    assert!(!out.is_empty(), "Fulcio saw a token");
    out
}

/// The strings that must not appear: each secret whole, and each part of a JWT.
fn needles(secrets: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for s in secrets {
        out.push(s.clone());
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() == 3 {
            // The header part is the same for every token of an issuer and says
            // nothing secret; the claims and the signature do.
            out.extend(parts[1..].iter().map(|p| p.to_string()));
        }
    }
    out
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn assert_no_leak(o: &Output, work: &Work, secrets: &[String]) {
    // Tracing was on: its lower levels wrote (how many lines depends on
    // connection reuse, so no count of all of them is asked).
    let err = stderr(o);
    let traced = err
        .lines()
        .filter(|l| l.contains(" TRACE ") || l.contains(" DEBUG "))
        .count();
    assert!(
        traced >= 5,
        "tracing was on (stderr has {traced} trace lines):\n{err}"
    );
    assert_not_shown(o, work, secrets);
}

/// No secret, nor a part of a JWT one, in the output or in any file written.
fn assert_not_shown(o: &Output, work: &Work, secrets: &[String]) {
    let out = String::from_utf8_lossy(&o.stdout);
    let err = stderr(o);
    for needle in needles(secrets) {
        for (name, text) in [("stdout", out.as_ref()), ("stderr", err.as_str())] {
            for line in text.lines() {
                let masked = line.strip_prefix("::add-mask::");
                if masked.is_some_and(|m| secrets.iter().any(|s| s == m)) {
                    continue;
                }
                assert!(
                    !line.contains(&needle),
                    "a secret appeared in {name}: {line}"
                );
            }
        }
        let mut files = Vec::new();
        files_under(work.dir.path(), &mut files);
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "a secret appeared in {}",
                f.display()
            );
        }
    }
}

/// `sign --upload` with an explicit identity token and a GitHub token, every
/// log level on, through a Fulcio retry, a GitHub retry and a refused Rekor entry.
#[tokio::test(flavor = "multi_thread")]
async fn sign_with_full_tracing_leaks_no_token() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    work.file("dist/b.whl", "b");
    work.file("dist/c.whl", "c");
    sandbox
        .faults(Service::Fulcio)
        .fail_next(1, Fault::status(503));
    sandbox
        .faults(Service::GitHub)
        .fail_next(1, Fault::status(502));
    sandbox
        .faults(Service::RekorV1)
        .fail_next(1, Fault::status(400));
    let token = sandbox.token();
    let mut cmd = bin(work.dir.path());
    cmd.args(["-vvv", "sign", "--trust-config"])
        .arg(sandbox.trust_config_path())
        .arg("--identity-token")
        .arg(&token)
        .args([
            "dist",
            "--jobs",
            "1",
            "--upload",
            "--release-tag",
            "v1.0.0",
            "--repo",
            REPO,
        ])
        .env("RELEASEKIT_LOG", "trace")
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .env("GITHUB_TOKEN", sandbox.github_token());
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "one artifact was refused by Rekor");
    assert!(work.path("dist/b.whl.sigstore.json").exists());
    assert!(!sandbox.github().assets(REPO, "v1.0.0").is_empty());
    let mut secrets = vec![token, sandbox.github_token().to_owned()];
    secrets.extend(tokens_sent_to_fulcio(&sandbox));
    assert_no_leak(&o, &work, &secrets);
    // Logs read by CI (stderr is not a terminal here) carry no escape codes.
    assert!(stderr(&o).contains("TRACE") && !stderr(&o).contains('\x1b'));
}

/// Action mode: the identity token comes from the Actions endpoint (the test
/// learns it from what Fulcio received), with the runner's debug flag and every
/// log level on, through retries of the token endpoint and of the upload.
#[tokio::test(flavor = "multi_thread")]
async fn action_with_full_tracing_leaks_no_token() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/app-1.0.tar.gz", "app");
    sandbox
        .faults(Service::Oidc)
        .fail_next(1, Fault::status(503));
    sandbox
        .faults(Service::GitHub)
        .fail_next(1, Fault::DropConnection);
    let mut cmd = bin(work.dir.path());
    cmd.arg("action")
        .envs(sandbox.env())
        .env("RELEASEKIT_LOG", "trace")
        .env("RUNNER_DEBUG", "1")
        .env("GITHUB_OUTPUT", work.path("gh/output"))
        .env("GITHUB_STEP_SUMMARY", work.path("gh/summary"))
        .env("INPUT_TRUST-CONFIG", sandbox.trust_config_path())
        .env("INPUT_GITHUB-TOKEN", sandbox.github_token())
        .env("INPUT_RELEASE-TAG", "")
        .env("INPUT_IDENTITY-TOKEN", "")
        .env("INPUT_INPUTS", "dist/*.tar.gz");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert!(work.path("dist/app-1.0.tar.gz.sigstore.json").exists());
    assert_eq!(sandbox.github().assets(REPO, "v1.0.0").len(), 1);
    let mut secrets = vec![
        sandbox.github_token().to_owned(),
        sandbox.actions_request_token().to_owned(),
    ];
    secrets.extend(tokens_sent_to_fulcio(&sandbox));
    assert_no_leak(&o, &work, &secrets);
}

/// Action mode: the identity token fetched from the Actions endpoint mid-run
/// is masked the moment it arrives, before anything else is printed, and
/// appears in no other line.
#[tokio::test(flavor = "multi_thread")]
async fn action_masks_the_fetched_identity_token_first() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/app-1.0.tar.gz", "app");
    let mut cmd = bin(work.dir.path());
    cmd.arg("action")
        .envs(sandbox.env())
        .env("GITHUB_OUTPUT", work.path("gh/output"))
        .env("GITHUB_STEP_SUMMARY", work.path("gh/summary"))
        .env("INPUT_TRUST-CONFIG", sandbox.trust_config_path())
        .env("INPUT_GITHUB-TOKEN", sandbox.github_token())
        .env("INPUT_RELEASE-TAG", "")
        .env("INPUT_IDENTITY-TOKEN", "")
        .env("INPUT_INPUTS", "dist/*.tar.gz");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    let tokens = tokens_sent_to_fulcio(&sandbox);
    assert_eq!(tokens.len(), 1, "one token for the run");
    let jwt = &tokens[0];
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    let mask = format!("::add-mask::{jwt}");
    let at = lines
        .iter()
        .position(|l| *l == mask)
        .unwrap_or_else(|| panic!("the fetched token was not masked:\n{out}"));
    // Before it: only the masks of the secrets known at start, and the group
    // the signing runs in.
    for l in &lines[..at] {
        assert!(
            l.starts_with("::add-mask::") || *l == "::group::Signing",
            "printed before the token's mask: {l}"
        );
    }
    assert!(lines[..at].contains(&"::group::Signing"), "{out}");
    for (i, l) in lines.iter().enumerate() {
        assert!(i == at || !l.contains(jwt.as_str()), "the token in {l}");
    }
    assert!(!stderr(&o).contains(jwt.as_str()));
}

/// The command line in a GitHub Actions job's `run:` step masks a token it
/// fetched too, on stderr (the runner reads workflow commands there, and
/// stdout may be `--json`); outside a job it prints no mask. Regression:
/// only the action masked the tokens it fetched.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_in_a_job_masks_the_fetched_token() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = bin(work.dir.path());
    cmd.arg("sign")
        .envs(sandbox.env())
        .env("GITHUB_ACTIONS", "true")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["--json", "a.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let tokens = tokens_sent_to_fulcio(&sandbox);
    let jwt = &tokens[0];
    let err = stderr(&o);
    assert!(
        err.lines().any(|l| l == format!("::add-mask::{jwt}")),
        "{err}"
    );
    for l in err.lines().filter(|l| !l.starts_with("::add-mask::")) {
        assert!(!l.contains(jwt.as_str()), "the token in {l}");
    }
    assert!(!stdout(&o).contains(jwt.as_str()));
}

/// GitHub redirects an asset's download to storage under a signed URL (a
/// short-lived credential for a private repository's asset, in its query):
/// with every log level on, no log line carries that query, only the URL
/// up to it. Regression: octocrab's request span printed it whole.
#[tokio::test(flavor = "multi_thread")]
async fn signed_download_urls_are_logged_without_their_query() {
    use crate::verify_release::{signed_release, verify_release, TAG};

    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let secret = "sig=s3cr3tSIGNATURE&jwt=eyJsecretJWT";
    let storage = format!(
        "{}/{REPO}/releases/download/{TAG}/app-1.0.whl?sp=r&{secret}",
        sandbox.urls().github_api
    );
    sandbox
        .github()
        .redirect_next_download("app-1.0.whl", storage);
    let consumer = Work::new();
    let mut cmd = verify_release(&sandbox, &consumer, &[]);
    cmd.env("RELEASEKIT_LOG", "trace");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    // The redirect was followed: the signed URL, query and all, was asked
    // for (else the checks below would hold without testing anything).
    assert!(
        sandbox
            .requests(Service::GitHub)
            .iter()
            .any(|r| r.uri.contains("s3cr3tSIGNATURE")),
        "the signed URL was never fetched"
    );
    assert!(err.contains("app-1.0.whl"), "the redirect was logged");
    for part in ["s3cr3tSIGNATURE", "eyJsecretJWT"] {
        assert!(
            !err.contains(part),
            "a signed URL's query was logged: {}",
            err.lines().find(|l| l.contains(part)).unwrap_or_default()
        );
    }
}

/// A Fulcio (one the trusted root trusts) that writes the token it was
/// sent into the certificate's issuer, or its SAN: the certificate is
/// refused, and the error shows `[token]` where the token was. Regression:
/// the issuer and SAN were printed as they came.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_written_into_a_certificate_is_never_printed() {
    use releasekit_sandbox::lies::FulcioLie;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    for lie in [FulcioLie::AnotherIssuer, FulcioLie::AnotherIdentity] {
        let token = sandbox.token();
        sandbox
            .lies()
            .fulcio(1, lie(format!("https://x.example/{token}")));
        let mut cmd = bin(work.dir.path());
        cmd.args(["-vvv", "sign", "--trust-config"])
            .arg(sandbox.trust_config_path())
            .arg("--identity-token")
            .arg(&token)
            .arg("a.whl")
            .env("RELEASEKIT_LOG", "trace");
        let o = run(cmd).await;
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert!(
            stderr(&o).contains("https://x.example/[token]"),
            "{}",
            stderr(&o)
        );
        // The run stops at the certificate: few log lines, none with it.
        assert!(stderr(&o).contains("TRACE"), "{}", stderr(&o));
        assert_not_shown(&o, &work, &[token]);
    }
}

/// A Fulcio (or a gateway in front of it) that echoes the request in its
/// error page names the identity token; the run's error, its retry
/// warnings and every log line show `[token]` instead. Regression: the
/// first 4 KiB of the error body were printed as they came.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_echoed_by_fulcio_is_never_printed() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let token = sandbox.token();
    let echo = format!(
        "<html>request was {{\"credentials\":{{\"oidcIdentityToken\":\"{token}\"}}}}</html>"
    );
    let fulcio = sandbox.faults(Service::Fulcio);
    fulcio.fail_next(1, Fault::status_body(503, echo.clone()));
    fulcio.fail_next(1, Fault::status_body(400, echo));
    let mut cmd = bin(work.dir.path());
    cmd.args(["-vvv", "sign", "--trust-config"])
        .arg(sandbox.trust_config_path())
        .arg("--identity-token")
        .arg(&token)
        .arg("a.whl")
        .env("RELEASEKIT_LOG", "trace");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("[token]"), "{}", stderr(&o));
    assert_no_leak(&o, &work, &[token]);
}

/// A sandbox, a work tree with `a.whl`, the GitHub token, and an error page
/// that echoes it as a request header.
async fn echoing_github() -> (Sandbox, Work, String, String) {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let github_token = sandbox.github_token().to_owned();
    let echo = format!("<html>request headers: Authorization: token {github_token}</html>");
    (sandbox, work, github_token, echo)
}

/// A GitHub (or a proxy in front of a GitHub Enterprise Server) whose error
/// page echoes the request's headers names the GitHub token; the run's
/// error, its retry warnings, the JSON report and every log line show
/// `[token]` instead. Regression: the error body was kept as it came.
#[tokio::test(flavor = "multi_thread")]
async fn a_github_token_echoed_by_the_api_is_never_printed() {
    let (sandbox, work, github_token, echo) = echoing_github().await;
    let github = sandbox.faults(Service::GitHub);
    github.fail_next(1, Fault::status_body(503, echo.clone()));
    github.fail_next(1, Fault::status_body(400, echo));
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["a.whl"]);
    cmd.arg("--json").env("RELEASEKIT_LOG", "trace");
    let o = run(cmd).await;
    assert_ne!(code(&o), 0, "{}", stderr(&o));
    let shown = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(shown.contains("[token]"), "{shown}");
    assert_not_shown(&o, &work, &[github_token]);
}

/// The same from the host that takes uploads: a bundle's upload answered
/// with an error page that echoes the request's headers. Regression: the
/// upload read its answer past the step that hides the token, so the
/// asset's error and each retry's warning showed it.
#[tokio::test(flavor = "multi_thread")]
async fn a_github_token_echoed_on_an_upload_is_never_printed() {
    let (sandbox, work, github_token, echo) = echoing_github().await;
    let github = sandbox.faults(Service::GitHub);
    // Only the bundle's upload carries a bundle.
    github.only_bodies_containing("application/vnd.dev.sigstore.bundle");
    github.fail_next(1, Fault::status_body(503, echo.clone()));
    github.fail_next(1, Fault::status_body(400, echo));
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["a.whl"]);
    cmd.arg("--json").env("RELEASEKIT_LOG", "trace");
    let o = run(cmd).await;
    assert_ne!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(github.pending(), 0, "both faults were met");
    let shown = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(shown.contains("[token]"), "{shown}");
    assert_not_shown(&o, &work, &[github_token]);
}

/// GitHub sends an asset's download to storage on another host under a
/// signed URL; storage refuses a request that also carries an
/// `Authorization` header, and must never see the GitHub token. Both the
/// upload's check (downloading each asset back) and `verify --release
/// --download` with a token fetch every asset there, with no token.
#[tokio::test(flavor = "multi_thread")]
async fn the_github_token_never_goes_to_asset_storage() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = crate::verify_release::signed_release(&sandbox).await;
    let uploaded_back = sandbox.requests(Service::Storage).len();
    assert!(
        uploaded_back >= 4,
        "the upload's check downloads from storage"
    );
    let consumer = Work::new();
    let mut cmd =
        crate::verify_release::verify_release(&sandbox, &consumer, &["--download", "got"]);
    cmd.env("GITHUB_TOKEN", sandbox.github_token());
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let storage = sandbox.requests(Service::Storage);
    assert!(storage.len() >= uploaded_back + 4, "{}", storage.len());
    for r in &storage {
        assert!(
            !r.headers.contains_key("authorization"),
            "storage saw an Authorization header: {}",
            r.uri
        );
        assert_eq!(r.status, 200, "{}", r.uri);
    }
}
