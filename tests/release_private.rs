//! Private repositories: a token whose `repository_visibility` is private or
//! internal is refused before any Sigstore service hears of it, unless the
//! user opts in or signs with their own instance.

use std::time::Duration;

use releasekit_sandbox::{Sandbox, Service};

use crate::util::{bin, code, run, stderr, Work};

fn private_token(sandbox: &Sandbox, visibility: &str) -> String {
    let mut claims = sandbox.default_claims();
    claims.repository_visibility = visibility.into();
    sandbox.token_with(&claims, Duration::from_secs(600))
}

/// `sign` with the public-good instance but the sandbox's Fulcio, so that a
/// request reaching Fulcio is visible.
fn public_good_sign(sandbox: &Sandbox, work: &Work, token: &str) -> assert_cmd::Command {
    let mut cmd = bin(work.dir.path());
    cmd.args(["sign", "a.txt", "--identity-token", token])
        .args(["--fulcio-url", &sandbox.urls().fulcio])
        .args(["--rekor-url", &sandbox.urls().rekor_v1]);
    offline_public_good(&mut cmd, work);
    cmd
}

/// Public-good's trust material from the embedded snapshot, at once: its
/// TUF repository is reached through a proxy that refuses every connection
/// (this machine's services are exempt), and the TUF cache is the work
/// directory's. Without this a run reached sigstore.dev, or waited out
/// the refresh's timeout offline, and filled the user's own cache.
fn offline_public_good(cmd: &mut assert_cmd::Command, work: &Work) {
    cmd.env("XDG_CACHE_HOME", work.path("cache"))
        .env("HOME", work.path("home"))
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost");
}

fn fulcio_requests(sandbox: &Sandbox) -> usize {
    sandbox
        .requests(Service::Fulcio)
        .iter()
        .filter(|r| r.uri.contains("signingCert"))
        .count()
}

/// Private and internal repositories are refused with the explanation, exit 2,
/// and Fulcio never sees the token.
#[tokio::test(flavor = "multi_thread")]
async fn private_repository_is_refused_before_fulcio() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.txt", "x");
    for visibility in ["private", "internal"] {
        let token = private_token(&sandbox, visibility);
        let o = run(public_good_sign(&sandbox, &work, &token)).await;
        assert_eq!(code(&o), 2);
        let err = stderr(&o);
        assert!(
            err.contains(&format!("repository `octo-org/octo-repo` is {visibility}"))
                && err.contains("public transparency log")
                && err.contains("Nothing was sent to Fulcio")
                && err.contains("--allow-private-repository")
                && err.contains("--trust-config")
                && err.contains("--instance github"),
            "{err}"
        );
        assert!(!err.contains(&token));
    }
    assert_eq!(fulcio_requests(&sandbox), 0);
    assert!(!work.path("a.txt.sigstore.json").exists());
}

/// A GitLab job's token says its project's visibility too (GitLab added
/// the claim for Sigstore): a private project is refused alike, and the fix
/// does not offer GitHub's instance, which certifies GitHub's jobs alone.
/// Regression: only GitHub's claim was read.
#[tokio::test(flavor = "multi_thread")]
async fn a_private_gitlab_project_is_refused_before_fulcio() {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.txt", "x");
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = serde_json::json!({
        "iss": "https://gitlab.com", "sub": "project_path:g/secret:ref_type:tag:ref:v1",
        "aud": "sigstore", "exp": exp, "iat": exp - 600,
        "project_path": "g/secret", "project_visibility": "private",
        "ci_config_ref_uri": "gitlab.com/g/secret//.gitlab-ci.yml@refs/tags/v1",
    });
    let enc = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
    let token = format!(
        "{}.{}.{}",
        enc(br#"{"alg":"RS256","typ":"JWT"}"#),
        enc(claims.to_string().as_bytes()),
        enc(b"sig")
    );
    let o = run(public_good_sign(&sandbox, &work, &token)).await;
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("repository `g/secret` is private")
            && err.contains("Nothing was sent to Fulcio")
            && err.contains("--allow-private-repository")
            && !err.contains("--instance github"),
        "{err}"
    );
    assert_eq!(fulcio_requests(&sandbox), 0);
}

/// The same refusal for any configuration whose Fulcio or Rekor is a
/// public deployment's (here the user's own trust config, with a service
/// flag naming public-good's or staging's host): what is published depends
/// on where it goes, not on how the instance was named. Regression: only
/// `--instance public-good` and `staging` were refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_private_repository_is_refused_by_any_public_service() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.txt", "x");
    let token = private_token(&sandbox, "private");
    for (flag, url, instance) in [
        ("--rekor-url", "https://rekor.sigstore.dev", "public-good"),
        ("--fulcio-url", "https://fulcio.sigstage.dev", "staging"),
    ] {
        let mut cmd = bin(work.dir.path());
        cmd.args(["sign", "a.txt", "--identity-token", &token])
            .arg("--trust-config")
            .arg(sandbox.trust_config_path())
            .args([flag, url]);
        let o = run(cmd).await;
        assert_eq!(code(&o), 2, "{flag}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("repository `octo-org/octo-repo` is private")
                && err.contains(&format!("the {instance} Sigstore instance"))
                && err.contains("Nothing was sent to Fulcio"),
            "{err}"
        );
    }
    assert_eq!(fulcio_requests(&sandbox), 0);
    assert!(!work.path("a.txt.sigstore.json").exists());
}

/// `--allow-private-repository` opens the gate: the token reaches Fulcio.
/// (The bundle cannot verify here, since the sandbox's Fulcio is not chained to
/// public-good's root; that the request was made is the point.)
#[tokio::test(flavor = "multi_thread")]
async fn opt_in_reaches_fulcio() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.txt", "x");
    let token = private_token(&sandbox, "private");
    let mut cmd = public_good_sign(&sandbox, &work, &token);
    cmd.arg("--allow-private-repository");
    let o = run(cmd).await;
    assert!(!stderr(&o).contains("is private"), "{}", stderr(&o));
    assert_eq!(fulcio_requests(&sandbox), 1);
}

/// In action mode the refusal names the input that opts in.
#[tokio::test(flavor = "multi_thread")]
async fn action_refusal_names_the_input() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.txt", "x");
    let token = private_token(&sandbox, "private");
    let action = |allow: &str| {
        let mut cmd = bin(work.dir.path());
        cmd.arg("action")
            .env("INPUT_INPUTS", "a.txt")
            .env("INPUT_IDENTITY-TOKEN", &token)
            .env("INPUT_UPLOAD", "false")
            .env("INPUT_ALLOW-PRIVATE-REPOSITORY", allow);
        offline_public_good(&mut cmd, &work);
        cmd
    };
    let o = run(action("false")).await;
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("allow-private-repository: true"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // (No Fulcio here is the sandbox's: that the refusal comes before
    // Fulcio is `private_repository_is_refused_before_fulcio`'s to show.)
}

/// A private instance (a ClientTrustConfig) publishes nothing publicly: a
/// private repository signs without opting in.
#[tokio::test(flavor = "multi_thread")]
async fn private_instance_needs_no_opt_in() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.txt", "x");
    let mut cmd = bin(work.dir.path());
    cmd.args(["sign", "a.txt", "--identity-token"])
        .arg(private_token(&sandbox, "private"))
        .arg("--trust-config")
        .arg(sandbox.trust_config_path());
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert!(work.path("a.txt.sigstore.json").exists());
}
