use std::time::Duration;

use releasekit_sandbox::{Fault, Sandbox, Service};

use crate::util::{bin, code, run, stderr, stdout, verify_bundle, Work};

/// ACTIONS_ID_TOKEN_REQUEST_URL or _TOKEN that no request can be made with
/// (set by a step or a runner emulator): said at once, as the job's setup
/// (exit 2), naming both. Regression: retried four times, then blamed on
/// the endpoint, with "re-run the job", which never helps.
#[test]
fn a_malformed_actions_token_request_is_the_jobs_setup() {
    let work = Work::new();
    work.file("a.whl", "a");
    for (url, bearer) in [("not a url", "b"), ("https://127.0.0.1:9/t", "one\ntwo")] {
        let o = bin(work.dir.path())
            .args(["sign", "a.whl", "--staging"])
            .env("GITHUB_ACTIONS", "true")
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", url)
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", bearer)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(code(&o), 2, "{url}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("ACTIONS_ID_TOKEN_REQUEST_URL or ACTIONS_ID_TOKEN_REQUEST_TOKEN is not one a request can be made with"),
            "{url}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("two"), "{}", stderr(&o));
    }
}

/// An Actions token endpoint of plain http to another machine is refused
/// before anything is sent: the bearer asks for tokens of the job's
/// identity. Regression: it was sent, in the clear, to whatever answered
/// (here a proxy that records what reaches it).
#[test]
fn a_cleartext_actions_token_endpoint_is_refused() {
    use std::io::Read as _;
    let work = Work::new();
    work.file("a.whl", "a");
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    proxy.set_nonblocking(true).unwrap();
    let o = bin(work.dir.path())
        .args(["sign", "a.whl", "--staging"])
        .env("GITHUB_ACTIONS", "true")
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "http://token.example.invalid/t?x=1",
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "bearer-secret")
        .env("HTTP_PROXY", format!("http://127.0.0.1:{port}"))
        .env("http_proxy", format!("http://127.0.0.1:{port}"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ACTIONS_ID_TOKEN_REQUEST_URL `http://token.example.invalid/t?…` is plain http to another machine"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("bearer-secret"), "{}", stderr(&o));
    let mut seen = Vec::new();
    while let Ok((mut socket, _)) = proxy.accept() {
        socket.set_nonblocking(false).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let _ = socket.read_to_end(&mut seen);
    }
    assert!(seen.is_empty(), "{}", String::from_utf8_lossy(&seen));
}

/// A GitHub Actions job without `id-token: write` has GITHUB_ACTIONS=true but no
/// ACTIONS_ID_TOKEN_REQUEST_* variables: the message names the fix. Exit 2
/// (configuration), and nothing else happens first.
#[test]
fn missing_id_token_permission_says_how_to_fix_it() {
    let work = Work::new();
    work.file("a.whl", "a");
    let o = bin(work.dir.path())
        .args(["sign", "a.whl"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    insta::assert_snapshot!(stderr(&o), @"error: OIDC token request failed: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set in this GitHub Actions job; fix: add `id-token: write` to the workflow's `permissions:`");
    assert_eq!(work.listing(), ["a.whl"]);
}

/// With `--json`, a run-level error is JSON on stdout too.
#[test]
fn run_level_errors_are_json_with_json() {
    let work = Work::new();
    work.file("a.whl", "a");
    let o = bin(work.dir.path())
        .args(["--json", "sign", "a.whl"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["exit_code"], 2);
    assert!(v["error"]
        .as_str()
        .unwrap()
        .starts_with("OIDC token request failed"));
}

#[test]
fn no_token_anywhere_is_a_usage_error() {
    let work = Work::new();
    work.file("a.whl", "a");
    let o = bin(work.dir.path())
        .args(["sign", "a.whl"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("no identity token found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_malformed_token_is_refused_without_echoing_it() {
    let work = Work::new();
    work.file("a.whl", "a");
    let o = bin(work.dir.path())
        .args(["sign", "a.whl", "--identity-token", "secret-garbage-value"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--identity-token is not a valid JWT"));
    assert!(!stderr(&o).contains("secret-garbage-value"));
}

/// The Actions endpoint is asked once, with the bearer and `audience=sigstore`,
/// and the certificate names the workflow.
#[tokio::test(flavor = "multi_thread")]
async fn github_actions_token_is_requested_and_used() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let mut cmd = bin(work.dir.path());
    cmd.envs(sandbox.env())
        .arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    let token_requests: Vec<_> = sandbox
        .requests(Service::Oidc)
        .into_iter()
        .filter(|r| r.uri.starts_with("/token"))
        .collect();
    assert_eq!(token_requests.len(), 1);
    assert!(
        token_requests[0].uri.ends_with("&audience=sigstore"),
        "{}",
        token_requests[0].uri
    );
    let auth = token_requests[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(auth, format!("Bearer {}", sandbox.actions_request_token()));
    verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    assert!(!String::from_utf8_lossy(&o.stdout).contains(sandbox.actions_request_token()));
}

/// `SIGSTORE_ID_TOKEN` is used when no flag is given.
#[tokio::test(flavor = "multi_thread")]
async fn sigstore_id_token_env_is_used() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let mut cmd = bin(work.dir.path());
    cmd.env("SIGSTORE_ID_TOKEN", sandbox.token())
        .arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
}

/// A Buildkite job's token: Fulcio names its pipeline in the certificate
/// (not the token's subject), the run accepts that, and `verify` pins it.
/// Regression: the run refused the certificate as naming another identity.
#[tokio::test(flavor = "multi_thread")]
async fn a_buildkite_token_signs_as_its_pipeline() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    // A Buildkite agent's token: no GitHub claim.
    let claims: releasekit_sandbox::TokenClaims = serde_json::from_value(serde_json::json!({
        "iss": releasekit_sandbox::oidc::BUILDKITE_ISSUER,
        "sub": "organization:acme:pipeline:app:ref:refs/heads/main:commit:abc:step:build",
        "aud": "sigstore",
        "organization_slug": "acme",
        "pipeline_slug": "app",
    }))
    .unwrap();
    let token = sandbox.token_with(&claims, Duration::from_secs(600));
    let mut cmd = bin(work.dir.path());
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["--identity-token", &token, "a.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut cmd = bin(work.dir.path());
    cmd.arg("verify")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["a.whl", "--cert-identity", "https://buildkite.com/acme/app"])
        .args(["--cert-oidc-issuer", "https://agent.buildkite.com"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(a.exists());
}

/// The token endpoint refusing is "OIDC token request failed" with the fix,
/// which is not `id-token: write`: the runner names the endpoint only to a
/// job that has it (actions/runner sets ACTIONS_ID_TOKEN_REQUEST_URL only
/// where the job's connection carries `GenerateIdTokenUrl`).
#[tokio::test(flavor = "multi_thread")]
async fn token_endpoint_refusal_says_how_to_fix_it() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .faults(Service::Oidc)
        .only_paths_containing("/token");
    sandbox
        .faults(Service::Oidc)
        .fail_next(10, Fault::status(403));
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = bin(work.dir.path());
    cmd.envs(sandbox.env())
        .arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("OIDC token request failed: the token endpoint answered HTTP 403"));
    assert!(
        stderr(&o)
            .contains("the request to it was refused; fix: check ACTIONS_ID_TOKEN_REQUEST_URL"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("add `id-token: write`"));
    assert!(sandbox.requests(Service::Fulcio).is_empty());
}

/// An expired token is refused before Fulcio sees it.
#[tokio::test(flavor = "multi_thread")]
async fn expired_token_is_refused_before_any_request() {
    let sandbox = Sandbox::start().await.unwrap();
    let token = sandbox.token_with(&sandbox.default_claims(), Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = bin(work.dir.path());
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .arg("--identity-token")
        .arg(token)
        .arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("expired"), "{}", stderr(&o));
    assert!(sandbox.requests(Service::Fulcio).is_empty());
}

/// The binary, run in `work` with a CI agent command `program` first on
/// its PATH, which runs `script`.
fn with_agent(work: &Work, program: &str, script: &str) -> assert_cmd::Command {
    use std::os::unix::fs::PermissionsExt as _;
    let agent = work.file(&format!("bin/{program}"), script);
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        work.path("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = bin(work.dir.path());
    cmd.env("PATH", path);
    cmd
}

/// On a CI provider whose agent command hangs (here a `buildkite-agent` that
/// never answers), the search for an ambient token gives up after its bound,
/// exit 1 (a service failing, as the Actions endpoint down is), naming the
/// fix, and the agent's command is killed with what it started.
/// Regressions: the run hung with it; then the command outlived the run
/// (one left on the agent per run); then what it started did.
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_ci_agent_is_given_up_on() {
    let work = Work::new();
    work.file("a.whl", "a");
    let script = format!(
        "#!/bin/sh\nsleep 600 &\necho $! > {}\necho $$ > {}\nexec sleep 600\n",
        work.path("started.pid").display(),
        work.path("agent.pid").display()
    );
    let mut cmd = with_agent(&work, "buildkite-agent", &script);
    cmd.args(["sign", "a.whl"])
        .env("BUILDKITE", "true")
        // A hang is killed (and fails below) instead of stalling the suite.
        .timeout(Duration::from_secs(120));
    let o = run(cmd).await;
    for (file, what) in [
        ("agent.pid", "the agent's command"),
        ("started.pid", "what it started"),
    ] {
        let pid = std::fs::read_to_string(work.path(file)).expect("the agent ran");
        assert!(!outlived(&pid), "{what} outlived the run");
    }
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did not answer within 30s; fix: pass --identity-token"),
        "{}",
        stderr(&o)
    );
    assert!(!work.path("a.whl.sigstore.json").exists());
}

/// Whether the process `pid` (as a pid file holds it) still runs a few
/// seconds after the run ended; if so, it is killed, so a failing test
/// leaves nothing behind. Killed, a process may stay a zombie where PID 1
/// reaps no orphans (a container's): gone as a process all the same. The
/// grace is the kernel's: a process the run killed (not its child, so not
/// waited for) may not have been torn down yet on a loaded machine; one
/// left running sleeps for minutes.
fn outlived(pid: &str) -> bool {
    let running = || {
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while running() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let alive = running();
    if alive {
        let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    }
    alive
}

/// A CI agent's token command that fails is quoted, capped to a line, with
/// the fix (exit 2: the job's setup). Regression: "failed to detect ambient
/// credentials", without the agent's words; a CircleCI job was the same.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_ci_agent_is_quoted() {
    for (program, env) in [("buildkite-agent", "BUILDKITE"), ("circleci", "CIRCLECI")] {
        let work = Work::new();
        work.file("a.whl", "a");
        let mut cmd = with_agent(
            &work,
            program,
            "#!/bin/sh\necho \"args: $*\" >&2\necho 'OIDC is not enabled for this pipeline\n::warning::x' >&2\nexit 3\n",
        );
        cmd.args(["sign", "a.whl"]).env(env, "true");
        let o = run(cmd).await;
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("the CI agent's token command `{program} "))
                && err.contains("OIDC is not enabled for this pipeline")
                && err.contains("fix: enable OIDC for the job"),
            "{err}"
        );
        let args = if program == "circleci" {
            r#"run oidc get --root-issuer --claims {"aud":"sigstore"}"#
        } else {
            "oidc request-token --audience sigstore"
        };
        assert!(err.contains(&format!("args: {args}")), "{err}");
        crate::util::assert_printable("stderr", &err);
    }
}

/// A CI agent that prints much more than a token on failure is still
/// quoted, at once; one that prints a token and exits, leaving a process
/// of its own holding its output open, is not waited for beyond a moment,
/// and that process is stopped. Regressions: past the cap the pipe was no
/// longer read, the agent blocked writing, and the run ended 30 s later,
/// "did not answer", the agent's words lost; the token was read only once
/// the pipe closed; the process left outlived the run.
#[tokio::test(flavor = "multi_thread")]
async fn a_ci_agent_is_read_whatever_it_prints_and_leaves() {
    let sandbox = Sandbox::start().await.unwrap();
    for (script, expected) in [
        (
            "#!/bin/sh\nhead -c 200000 /dev/zero | tr '\\0' x >&2\necho ' OIDC is off' >&2\nexit 3\n".to_owned(),
            2,
        ),
        (
            format!(
                "#!/bin/sh\nsleep 600 &\necho $! > {}\necho {}\nexit 0\n",
                "left.pid",
                sandbox.token()
            ),
            0,
        ),
    ] {
        let work = Work::new();
        work.file("a.whl", "a");
        let mut cmd = with_agent(&work, "buildkite-agent", &script);
        cmd.arg("sign")
            .arg("--trust-config")
            .arg(sandbox.trust_config_path())
            .arg("a.whl")
            .env("BUILDKITE", "true")
            .timeout(Duration::from_secs(120));
        let started = std::time::Instant::now();
        let o = run(cmd).await;
        if expected == 0 {
            let pid = std::fs::read_to_string(work.path("left.pid")).expect("the agent ran");
            assert!(!outlived(&pid), "what the agent left outlived the run");
        }
        assert_eq!(code(&o), expected, "{}", stderr(&o));
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}: waited for the agent's output to close",
            started.elapsed()
        );
        if expected == 2 {
            assert!(stderr(&o).contains("OIDC is off") || stderr(&o).contains("xxxx"), "{}", stderr(&o));
            assert!(stderr(&o).contains("the CI agent's token command"), "{}", stderr(&o));
        } else {
            assert!(work.path("a.whl.sigstore.json").exists());
        }
    }
}

/// A GitLab CI job that asked for no identity token is told how to ask
/// (`id_tokens:` naming SIGSTORE_ID_TOKEN), in the dry run and when
/// signing, before any request. Regression: "failed to detect ambient
/// credentials: GitLab CI detection error", with no word of `id_tokens`.
#[tokio::test(flavor = "multi_thread")]
async fn a_gitlab_job_without_a_token_is_told_how_to_get_one() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = bin(work.dir.path());
    cmd.env("GITLAB_CI", "true")
        .arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("no identity token in this GitLab CI job"),
        "{err}"
    );
    assert!(
        err.contains("id_tokens: { SIGSTORE_ID_TOKEN: { aud: sigstore } }"),
        "{err}"
    );
    assert!(sandbox.requests(Service::Fulcio).is_empty());
    let mut dry = bin(work.dir.path());
    dry.env("GITLAB_CI", "true")
        .args(["sign", "--dry-run", "a.whl"]);
    let o = run(dry).await;
    assert!(
        stdout(&o).contains("GitLab CI, but the job asked for no identity token"),
        "{}",
        stdout(&o)
    );
}
