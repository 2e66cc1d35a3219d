//! `--tuf-url` + `--tuf-root`: the sandbox's TUF repository as a private
//! instance's. Fresh metadata, a rotated root, expired timestamp metadata,
//! a mirror that is down, and the per-URL cache reused across runs.

use releasekit_sandbox::Sandbox;

use crate::util::{bin, code, run, stderr, stdout, Work};

/// `releasekit-sign <cmd> --tuf-url <sandbox> --tuf-root <root.json>`, with
/// its cache under `home` (so runs with the same `home` share it).
fn tuf(sandbox: &Sandbox, work: &Work, home: &str, cmd: &str) -> assert_cmd::Command {
    tuf_at(sandbox, work, home, cmd, &sandbox.urls().tuf)
}

/// [`tuf`] with the repository at `url`.
fn tuf_at(sandbox: &Sandbox, work: &Work, home: &str, cmd: &str, url: &str) -> assert_cmd::Command {
    let home = work.path(home);
    let mut c = bin(work.dir.path());
    c.env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .arg(cmd)
        .arg("--tuf-url")
        .arg(url)
        .arg("--tuf-root")
        .arg(sandbox.tuf_root_path());
    c
}

fn sign(sandbox: &Sandbox, work: &Work, home: &str) -> assert_cmd::Command {
    signed_with(tuf(sandbox, work, home, "sign"), sandbox)
}

/// `c` signing `a.whl` with the sandbox's token.
fn signed_with(mut c: assert_cmd::Command, sandbox: &Sandbox) -> assert_cmd::Command {
    c.arg("--identity-token")
        .arg(sandbox.token())
        .arg("--overwrite")
        .arg("a.whl");
    c
}

fn verify(sandbox: &Sandbox, work: &Work, home: &str) -> assert_cmd::Command {
    verified_with(tuf(sandbox, work, home, "verify"), sandbox)
}

/// `c` verifying `a.whl` as the sandbox's identity signed it.
fn verified_with(mut c: assert_cmd::Command, sandbox: &Sandbox) -> assert_cmd::Command {
    c.arg("--cert-identity")
        .arg(sandbox.identity())
        .arg("--cert-oidc-issuer")
        .arg(sandbox.issuer())
        .arg("a.whl");
    c
}

/// The sandbox's TUF repository as a mirror that wants a user and password.
fn with_password(sandbox: &Sandbox) -> String {
    sandbox
        .urls()
        .tuf
        .replacen("http://", "http://bob:s3cret@", 1)
}

async fn started() -> (Sandbox, Work) {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "wheel");
    (sandbox, work)
}

/// The refusal names the repository and the fixes. A repository that
/// cannot be refreshed failed the run while it ran: exit 1, not a usage
/// error (2). Regression: 2.
fn assert_refresh_refused(o: &std::process::Output, sandbox: &Sandbox) {
    assert_eq!(code(o), 1);
    let err = stderr(o);
    assert!(
        err.contains(&format!(
            "cannot refresh the trust material of the TUF repository {}",
            sandbox.urls().tuf
        )),
        "{err}"
    );
    assert!(err.contains("check the network"), "{err}");
    assert!(err.contains("--offline"), "{err}");
}

/// A cache directory that cannot be made (here a file is in its path, as
/// `HOME=/` is for a container run as another user) does not stop an
/// online run: the refresh needs none, and a warning names the fix.
/// Regression: every run failed, "check the network".
#[tokio::test]
async fn a_cache_that_cannot_be_made_does_not_stop_a_refresh() {
    let (sandbox, work) = started().await;
    work.file("blocker", "x");
    let unusable = |mut c: assert_cmd::Command| {
        c.env("XDG_CACHE_HOME", work.path("blocker/cache"));
        c
    };
    let o = run(unusable(sign(&sandbox, &work, "home"))).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(unusable(verify(&sandbox, &work, "home"))).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        said.contains("the TUF cache could not be made")
            && said.contains("fix: set XDG_CACHE_HOME"),
        "{said}"
    );
}

/// The action keeps no TUF cache: it runs as root in a container, and on a
/// self-hosted runner what it left in the job's home would be root's,
/// which the runner cannot remove. Its dry run writes none either. The
/// command line keeps one (the other tests here reuse it).
#[tokio::test]
async fn the_action_keeps_no_tuf_cache() {
    let (sandbox, work) = started().await;
    let home = work.path("home");
    for dry in ["true", "false"] {
        let mut c = bin(work.dir.path());
        c.arg("action")
            .envs(sandbox.env())
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("INPUT_INPUTS", "a.whl")
            .env("INPUT_TUF-URL", &sandbox.urls().tuf)
            .env("INPUT_TUF-ROOT", sandbox.tuf_root_path())
            .env("INPUT_UPLOAD", "false")
            .env("INPUT_OVERWRITE", "true")
            .env("INPUT_DRY-RUN", dry);
        let o = run(c).await;
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        assert!(!home.join(".cache").exists(), "dry run {dry}");
    }
    assert!(work.path("a.whl.sigstore.json").exists());
    assert_eq!(code(&run(sign(&sandbox, &work, "home")).await), 0);
    assert!(home.join(".cache").exists());
}

#[tokio::test]
async fn sign_and_verify_through_fresh_metadata() {
    let (sandbox, work) = started().await;
    assert_eq!(code(&run(sign(&sandbox, &work, "home")).await), 0);
    let o = run(verify(&sandbox, &work, "home")).await;
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).starts_with("✅ Verified: a.whl"),
        "{}",
        stdout(&o)
    );
    let paths: Vec<String> = sandbox
        .requests(releasekit_sandbox::Service::Tuf)
        .iter()
        .map(|r| r.uri.clone())
        .collect();
    assert!(paths.iter().any(|p| p == "/timestamp.json"), "{paths:?}");
    assert!(
        paths.iter().any(|p| p.ends_with(".trusted_root.json")),
        "{paths:?}"
    );
}

#[tokio::test]
async fn a_rotated_root_is_followed() {
    let (sandbox, work) = started().await;
    assert_eq!(code(&run(sign(&sandbox, &work, "home")).await), 0);
    sandbox.tuf().rotate_root();
    // From the cached root 1, and from the initial root with no cache.
    assert_eq!(code(&run(verify(&sandbox, &work, "home")).await), 0);
    assert_eq!(code(&run(sign(&sandbox, &work, "fresh")).await), 0);
    assert_eq!(code(&run(verify(&sandbox, &work, "fresh")).await), 0);
}

#[tokio::test]
async fn expired_timestamp_metadata_is_refused() {
    let (sandbox, work) = started().await;
    sandbox.tuf().set_timestamp_expired(true);
    let o = run(sign(&sandbox, &work, "home")).await;
    assert_refresh_refused(&o, &sandbox);
    assert!(!work.path("a.whl.sigstore.json").exists());
    sandbox.tuf().set_timestamp_expired(false);
    assert_eq!(code(&run(sign(&sandbox, &work, "home")).await), 0);
    sandbox.tuf().set_timestamp_expired(true);
    let o = run(verify(&sandbox, &work, "home")).await;
    assert_refresh_refused(&o, &sandbox);
}

/// A slow mirror (a refresh of several seconds in all, each answer well
/// within the client's timeout) is waited for where nothing could be used
/// instead. Regression: the 5 s meant for falling back to a well-known
/// instance's embedded snapshot failed every such run, "timed out after 5s".
#[tokio::test]
async fn a_slow_mirror_is_waited_for() {
    let (sandbox, work) = started().await;
    sandbox
        .faults(releasekit_sandbox::Service::Tuf)
        .set_latency(std::time::Duration::from_millis(1200), Default::default());
    let o = run(sign(&sandbox, &work, "home")).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let requests = sandbox.requests(releasekit_sandbox::Service::Tuf).len();
    assert!(
        requests >= 5,
        "{requests} requests, not a refresh of over 5 s"
    );
}

#[tokio::test]
async fn an_unreachable_mirror_fails_clearly_and_offline_uses_the_cache() {
    let (sandbox, work) = started().await;
    assert_eq!(code(&run(sign(&sandbox, &work, "home")).await), 0);
    sandbox.tuf().set_unreachable(true);
    // The cache of the run before is no fresh metadata: refused online...
    let o = run(verify(&sandbox, &work, "home")).await;
    assert_refresh_refused(&o, &sandbox);
    let o = run(sign(&sandbox, &work, "home")).await;
    assert_refresh_refused(&o, &sandbox);
    // ...and used, verified, with --offline.
    let mut cmd = verify(&sandbox, &work, "home");
    cmd.arg("--offline");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    // No cache: --offline says how to fill it.
    let mut cmd = verify(&sandbox, &work, "fresh");
    cmd.arg("--offline");
    let o = run(cmd).await;
    assert_ne!(code(&o), 0);
    assert!(!work.path("fresh/.cache").exists(), "nothing is written");
    let err = stderr(&o);
    assert!(
        err.contains("no usable cached trust material of the TUF repository"),
        "{err}"
    );
    assert!(err.contains("run once without --offline"), "{err}");
}

/// Every path under `dir`, as text.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            found.push(e.path().display().to_string());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(e.path());
            }
        }
    }
    found
}

/// A mirror's URL may carry a user and password: the cache is named after
/// the URL without them, and found again by a run given them. Regression:
/// the directory was named after the whole URL, password included, and
/// left readable in the cache.
#[tokio::test]
async fn a_mirrors_password_is_not_written_into_the_cache() {
    let (sandbox, work) = started().await;
    let with_password = with_password(&sandbox);
    let at = |cmd| tuf_at(&sandbox, &work, "home", cmd, &with_password);
    let o = run(signed_with(at("sign"), &sandbox)).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let cached = files_under(&work.path("home/.cache"));
    assert!(
        cached.iter().any(|p| p.ends_with("timestamp.json")),
        "{cached:?}"
    );
    assert!(
        !cached
            .iter()
            .any(|p| p.contains("s3cret") || p.contains("bob")),
        "{cached:?}"
    );
    sandbox.tuf().set_unreachable(true);
    let mut cmd = verified_with(at("verify"), &sandbox);
    cmd.arg("--offline");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("s3cret"), "{}", stderr(&o));
}

/// The cache an earlier run made under the URL's whole name, password
/// included (sigstore-trust-root names it so), is removed once the
/// repository is refreshed into the one named without it, and not by a
/// dry run, which writes nothing. Regression: it stayed there for good.
#[tokio::test]
async fn a_cache_named_with_a_password_is_removed() {
    let (sandbox, work) = started().await;
    let with_password = with_password(&sandbox);
    // sigstore-trust-root 0.15.1's name: the URL, every byte but
    // `[A-Za-z0-9._-]` as `%XX`.
    let escaped: String = with_password
        .trim_end_matches('/')
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let stale = work.path("home/.cache/sigstore-rust/tuf").join(&escaped);
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("timestamp.json"), "{}").unwrap();
    let at = |cmd| tuf_at(&sandbox, &work, "home", cmd, &with_password);

    let mut dry = at("sign");
    dry.args(["--dry-run", "a.whl"]);
    let o = run(dry).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stale.join("timestamp.json").exists());

    let o = run(signed_with(at("sign"), &sandbox)).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stale.exists(), "{:?}", files_under(&work.path("home")));
    assert!(!stderr(&o).contains("s3cret") && !stdout(&o).contains("s3cret"));
    let cached = files_under(&work.path("home/.cache"));
    assert!(
        cached.iter().any(|p| p.ends_with("timestamp.json")),
        "{cached:?}"
    );
}

/// `sign --dry-run` on a fresh runner (nothing cached yet) makes no request
/// and does not fail: it names the repository and says its services are
/// read when signing; once a run has cached them, the dry run shows them.
/// Regression: it failed asking for a cache, with a fix naming `--offline`,
/// which `sign` does not have.
#[tokio::test]
async fn a_dry_run_on_a_fresh_runner_names_the_repository() {
    let (sandbox, work) = started().await;
    let dry = || {
        let mut c = tuf(&sandbox, &work, "home", "sign");
        c.args(["--dry-run", "a.whl"]);
        c
    };
    let o = run(dry()).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A dry run writes nothing, a cache directory included. Regression:
    // the bootstrap root was stored in a cache made for it.
    assert!(
        !work.path("home/.cache").exists(),
        "{:?}",
        files_under(&work.path("home"))
    );
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "Instance: {} (services read from it when signing)",
            sandbox.urls().tuf
        )),
        "{out}"
    );
    assert!(
        stderr(&o).contains("no usable copy of them is cached here ("),
        "{}",
        stderr(&o)
    );
    assert!(sandbox
        .requests(releasekit_sandbox::Service::Tuf)
        .is_empty());

    assert_eq!(code(&run(sign(&sandbox, &work, "home")).await), 0);
    let o = run(dry()).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("(Fulcio http://"), "{}", stdout(&o));
}

/// A repository that distributes only `trusted_root.json` (as GitHub's
/// does) is enough to verify, online and from its cache: a verifier has no
/// use for a signing config. Signing needs one, and the refusal names it.
/// Regression: verify fetched the signing config too, and failed for its
/// lack with a fix about the network.
#[tokio::test]
async fn a_repository_without_a_signing_config_verifies() {
    let (sandbox, work) = started().await;
    assert_eq!(code(&run(sign(&sandbox, &work, "home")).await), 0);
    sandbox
        .tuf()
        .withdraw(releasekit_sandbox::tuf::SIGNING_CONFIG_TARGET);
    let o = run(verify(&sandbox, &work, "fresh")).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut cmd = verify(&sandbox, &work, "fresh");
    cmd.arg("--offline");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A usage error (no re-run changes it), naming what to pass instead.
    let o = run(sign(&sandbox, &work, "fresh")).await;
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("distributes a trusted root but no signing config (signing_config.v0.2.json)"),
        "{err}"
    );
    assert!(err.contains("--signing-config"), "{err}");
}

/// A mirror's metadata that the TUF client quotes in its refusal (a
/// `_type` of half a megabyte in the next root) makes an error of bounded
/// length, online and offline. Regression: it was printed whole.
#[tokio::test]
async fn a_refusal_quoting_the_mirrors_metadata_is_cut() {
    let (sandbox, work) = started().await;
    let huge = format!(
        "{{\"signed\":{{\"_type\":\"{}\"}},\"signatures\":[]}}",
        "x".repeat(400_000)
    );
    sandbox
        .tuf()
        .serve_instead("2.root.json", huge.into_bytes());
    let o = run(verify(&sandbox, &work, "home")).await;
    assert_refresh_refused(&o, &sandbox);
    let err = stderr(&o);
    assert!(err.contains("xxxx"), "{}", &err[..err.len().min(2000)]);
    assert!(err.len() < 8_000, "{} bytes", err.len());
}

/// A mirror cannot make the client drop its cache, and with it the
/// versions a rollback is refused against, by answering with the words of
/// a cache that cannot be made: a next root whose `_type` is them. Here the
/// mirror then serves the metadata of the version before the one the cache
/// holds, and the run refuses it. Regression: the words were looked for
/// anywhere in the refusal, which quotes the metadata; the refresh was
/// tried again without the cache, the old version taken, and the run passed
/// ("the TUF cache could not be made").
#[tokio::test]
async fn a_mirrors_answer_cannot_drop_the_cache() {
    let (sandbox, work) = started().await;
    let o = run(sign(&sandbox, &work, "home")).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let get = |path: String| {
        let url = format!("{}/{path}", sandbox.urls().tuf);
        async move {
            let r = reqwest::get(&url).await.unwrap();
            assert!(r.status().is_success(), "{url}: {}", r.status());
            (path, r.bytes().await.unwrap().to_vec())
        }
    };
    let timestamp = get("timestamp.json".into()).await;
    let version = serde_json::from_slice::<serde_json::Value>(&timestamp.1).unwrap()["signed"]
        ["version"]
        .as_u64()
        .unwrap();
    let older = [
        timestamp,
        get(format!("{version}.snapshot.json")).await,
        get(format!("{version}.targets.json")).await,
    ];
    // A new version, which the cache then holds.
    sandbox.tuf().withdraw("signing_config.v0.2.json");
    let o = run(verify(&sandbox, &work, "home")).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    for (path, bytes) in older {
        sandbox.tuf().serve_instead(&path, bytes);
    }
    sandbox.faults(releasekit_sandbox::Service::Tuf).fail_next(
        1,
        releasekit_sandbox::Fault::status_body(
            200,
            r#"{"signed":{"_type":"Failed to create cache directory"},"signatures":[]}"#,
        ),
    );
    let o = run(verify(&sandbox, &work, "home")).await;
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!said.contains("the TUF cache could not be made"), "{said}");
    assert_refresh_refused(&o, &sandbox);
}
