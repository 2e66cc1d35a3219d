//! `verify --release OWNER/REPO@TAG`: a release's assets verified in place,
//! anonymously, against the sandbox's GitHub and trusted root.

use releasekit_sandbox::github::{GitObject, GitObjectKind, ReleaseSpec};
use releasekit_sandbox::Sandbox;
use releasekit_sign::github::{identical_only, Releases};
use releasekit_sign::net::RetryPolicy;
use releasekit_sign::oidc::Secret;

use crate::util::{bin, code, run, sign, stderr, stdout, Work};

pub(crate) const REPO: &str = "octo-org/octo-repo";
pub(crate) const TAG: &str = "v1.0.0";

pub(crate) fn client(sandbox: &Sandbox) -> Releases {
    Releases::new(
        &sandbox.urls().github_api,
        REPO.parse().unwrap(),
        &Secret::new(sandbox.github_token()),
        RetryPolicy::default(),
    )
    .unwrap()
}

/// `path` uploaded as asset `name` of `release` as it is, whatever it
/// holds (the upload checks only that the file did not change meanwhile).
pub(crate) async fn put_asset(
    releases: &Releases,
    release: &releasekit_sign::github::Release,
    name: &str,
    path: &std::path::Path,
    content_type: &'static str,
) {
    releases
        .upload_as(
            release,
            name,
            path,
            content_type,
            crate::util::as_checked(&crate::util::file_digest(path)),
            false,
            &identical_only,
        )
        .await
        .unwrap();
}

/// A release with two signed artifacts (artifacts and bundles uploaded) and
/// one unsigned asset.
pub(crate) async fn signed_release(sandbox: &Sandbox) -> Work {
    let work = Work::new();
    work.file("dist/app-1.0.tar.gz", "tarball");
    work.file("dist/app-1.0.whl", "wheel");
    assert_eq!(code(&run(sign_upload(sandbox, &work, "dist")).await), 0);
    let notes = work.file("NOTES.txt", "release notes");
    let releases = client(sandbox);
    let release = releases.find(TAG).await.unwrap();
    put_asset(&releases, &release, "NOTES.txt", &notes, "text/plain").await;
    work
}

/// Far longer than any `verify --release` here takes: a run still going
/// then is killed, so a hang fails its test instead of stalling the suite.
pub(crate) const BOUND: std::time::Duration = std::time::Duration::from_secs(120);

/// `sign PATH --upload --upload-artifacts` to the release for [`TAG`].
pub(crate) fn sign_upload(sandbox: &Sandbox, work: &Work, path: &str) -> assert_cmd::Command {
    let mut cmd = crate::util::sign_upload(sandbox, work.dir.path(), &[path]);
    cmd.arg("--upload-artifacts");
    cmd
}

/// `verify --release`, anonymous (no GITHUB_TOKEN), from an empty directory.
pub(crate) fn verify_release(sandbox: &Sandbox, cwd: &Work, extra: &[&str]) -> assert_cmd::Command {
    verify_tag(sandbox, cwd, TAG, extra)
}

/// Behind a proxy (HTTP_PROXY, as a runner behind a corporate one is set
/// up), GitHub's API elsewhere is reached through it (here by a name only
/// the proxy knows, this machine to it). Regression: the release calls
/// ignored the proxy (octocrab's own client knows none) and went direct,
/// which behind a real proxy fails every one.
#[tokio::test(flavor = "multi_thread")]
async fn github_is_reached_through_the_proxy_the_environment_names() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let proxy = releasekit_sandbox::proxy::Proxy::start().await.unwrap();
    let api = sandbox
        .urls()
        .github_api
        .replace("127.0.0.1", "api.github.invalid");
    let consumer = Work::new();
    let mut cmd = verify_release(&sandbox, &consumer, &[]);
    cmd.env("GITHUB_API_URL", &api)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("HTTP_PROXY", proxy.url())
        .env("http_proxy", proxy.url())
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        proxy.sent().contains("GET http://api.github.invalid:"),
        "GitHub's API went around the proxy: {}",
        proxy.sent()
    );
}

/// A token GitHub refuses is told apart for a run that only reads: the
/// fix asks for reading, or for no token at all. Regression: it told a
/// consumer to get a token that can write releases.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_is_told_to_read_not_to_write() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let consumer = Work::new();
    let mut cmd = verify_release(&sandbox, &consumer, &[]);
    cmd.env("GITHUB_TOKEN", "ghs_wrong");
    let o = run(cmd).await;
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(err.contains("GitHub refused the token"), "{err}");
    assert!(err.contains("contents: read"), "{err}");
    assert!(!err.contains("write"), "{err}");
}

/// A rate limit that comes back later than a retry waits stops the run's
/// requests: every asset left says why, not each refused in turn.
/// Regression: every later asset was still asked for.
#[tokio::test(flavor = "multi_thread")]
async fn a_spent_rate_limit_stops_the_downloads() {
    use releasekit_sandbox::{Fault, Service};
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let faults = sandbox.faults(Service::GitHub);
    faults.only_paths_containing("/releases/download/");
    faults.fail_next(1, Fault::retry_after(429, 3600));
    let stored = sandbox.requests(Service::Storage).len();
    let o = run(verify_release(&sandbox, &Work::new(), &["--jobs", "1"])).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let after = crate::util::asked_after_the_limit(&sandbox);
    assert!(after.is_empty(), "{after:?}: {}", stdout(&o));
    assert_eq!(sandbox.requests(Service::Storage).len(), stored);
    assert!(
        stdout(&o).contains("not checked: GitHub's API rate limit ran out at `app-1.0.tar.gz`"),
        "{}",
        stdout(&o)
    );
}

/// Every signed asset verifies, the unsigned one is listed, the signer is
/// shown with the command that pins it, and nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn all_assets_verify_anonymously() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.contains("✅ Verified: app-1.0.tar.gz\n"), "{out}");
    assert!(out.contains("✅ Verified: app-1.0.whl\n"), "{out}");
    assert!(
        out.contains("⚠ Unsigned: NOTES.txt (no NOTES.txt.sigstore.json on the release)"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "releasekit-sign verify --release {REPO}@{TAG} --cert-identity '{}' --cert-oidc-issuer '{}'",
            sandbox.identity(),
            sandbox.issuer()
        )),
        "{out}"
    );
    assert!(out.contains("Verified 2 of 2 artifact(s)."), "{out}");
    assert!(consumer.listing().is_empty(), "nothing is written");

    // --require-all makes the unsigned asset a failure.
    let o = run(verify_release(&sandbox, &consumer, &["--require-all"])).await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("❌ NOTES.txt: Unsigned: the release has no NOTES.txt.sigstore.json"),
        "{}",
        stdout(&o)
    );
    // --pattern narrows, and --download keeps what was verified.
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--pattern", "*.whl", "--download", "got"],
    ))
    .await;
    assert_eq!(code(&o), 0);
    assert!(!stdout(&o).contains("tar.gz"), "{}", stdout(&o));
    assert_eq!(
        consumer.listing(),
        ["got/app-1.0.whl", "got/app-1.0.whl.sigstore.json"]
    );
}

/// Nothing to verify is said as such: a `--pattern` matching no asset is
/// a usage error naming it, and so, before any request, a `--download`
/// that is a file; a release holding no asset, or unsigned ones only,
/// fails saying so.
/// Regression: "Verified 0 of 0 artifact(s)." and exit 1 with no reason;
/// the file found only after the listing, exit 1.
#[tokio::test(flavor = "multi_thread")]
async fn nothing_to_verify_is_said_as_such() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &["--pattern", "*.tgz"])).await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let err = crate::util::stderr(&o);
    assert!(
        err.contains(&format!(
            "--pattern `*.tgz` matches none of the 5 asset(s) of release {REPO}@{TAG}"
        )),
        "{err}"
    );

    consumer.file("README.md", "readme");
    let before = sandbox.requests(releasekit_sandbox::Service::GitHub).len();
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--download", "README.md"],
    ))
    .await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let err = crate::util::stderr(&o);
    assert!(
        err.contains("--download README.md is not a directory; fix: pass a directory"),
        "{err}"
    );
    assert_eq!(
        sandbox.requests(releasekit_sandbox::Service::GitHub).len(),
        before,
        "no request before the directory is checked"
    );
    assert_eq!(consumer.listing(), ["README.md"]);

    sandbox
        .github()
        .create_release(REPO, "v0.0.1", ReleaseSpec::published());
    // With --pattern too: no asset for it to miss.
    for extra in [&[][..], &["--pattern", "*"]] {
        let o = run(verify_tag(&sandbox, &consumer, "v0.0.1", extra)).await;
        assert_eq!(code(&o), 1, "{extra:?}: {}", stdout(&o));
        let err = crate::util::stderr(&o);
        assert!(
            err.contains(&format!("release {REPO}@v0.0.1 has no asset to verify")),
            "{err}"
        );
    }
    // Unsigned assets only: named, with the fix. Regression: "Verified 0
    // of 0 artifact(s)." and exit 1 with no reason.
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--pattern", "NOTES*"],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let err = crate::util::stderr(&o);
    assert!(
        err.contains(&format!("release {REPO}@{TAG} has no signed asset to verify: no bundle and no provenance statement is about any of its 1 asset(s) (NOTES.txt); fix:")),
        "{err}"
    );
    assert!(!stdout(&o).contains("Verified 0 of 0"), "{}", stdout(&o));
}

/// `--download DIR` where DIR is a link out of the working directory (or
/// under one) is refused before anything is written; nothing lands outside.
#[tokio::test(flavor = "multi_thread")]
async fn download_is_not_written_through_a_link_out_of_the_working_tree() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let consumer = Work::new();
    let outside = Work::new();
    std::os::unix::fs::symlink(outside.dir.path(), consumer.path("got")).unwrap();
    let target = std::fs::canonicalize(outside.dir.path()).unwrap();
    for dir in ["got", "got/sub"] {
        let o = run(verify_release(&sandbox, &consumer, &["--download", dir])).await;
        assert_eq!(code(&o), 2, "{dir}");
        let err = crate::util::stderr(&o);
        assert!(
            err.contains(&format!(
                "--download {dir}: got is a symbolic link to {}, outside the working directory",
                target.display()
            )),
            "{dir}: {err}"
        );
    }
    assert!(outside.listing().is_empty(), "{:?}", outside.listing());
    assert!(!outside.path("sub").exists());
}

/// A `.intoto.jsonl` signed as an artifact (here a bare DSSE envelope, as
/// slsa-github-generator writes, uploaded with its own bundle) is verified
/// by its bundle, as it is locally: replaced, it fails. Regression: it was
/// taken for the release's provenance, set aside as "not a Sigstore
/// bundle" with a warning, and the release verified (exit 0).
#[tokio::test(flavor = "multi_thread")]
async fn a_signed_intoto_file_is_verified_as_an_artifact() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.bin", "a");
    work.file(
        "dist/app.intoto.jsonl",
        r#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}"#,
    );
    assert_eq!(code(&run(sign_upload(&sandbox, &work, "dist")).await), 0);
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✅ Verified: app.intoto.jsonl"),
        "{}",
        stdout(&o)
    );
    // It is no provenance of the release: one asked for is lacking, and
    // the error says what the file is instead.
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--predicate-type", "https://slsa.dev/provenance/v1"],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        crate::util::stderr(&o).contains("(`app.intoto.jsonl` signed as artifacts (with bundles of their own), so verified as such)"),
        "{}",
        crate::util::stderr(&o)
    );
    let gh = sandbox.github();
    assert!(gh.replace_asset_content(REPO, TAG, "app.intoto.jsonl", "{}"));
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("❌ app.intoto.jsonl: Verification failed: artifact modified after signing (digest mismatch)"),
        "{}",
        stdout(&o)
    );
}

/// A replaced asset, a replaced bundle, and a missing bundle each fail
/// with their own line (exit 1).
#[tokio::test(flavor = "multi_thread")]
async fn tampering_gives_the_right_line() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = signed_release(&sandbox).await;
    let consumer = Work::new();
    let gh = sandbox.github();

    assert!(gh.replace_asset_content(REPO, TAG, "app-1.0.tar.gz", "evil tarball"));
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("❌ app-1.0.tar.gz: Verification failed: artifact modified after signing (digest mismatch)"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("✅ Verified: app-1.0.whl"));
    assert!(gh.replace_asset_content(REPO, TAG, "app-1.0.tar.gz", "tarball"));

    // The wheel's bundle swapped for a bundle that was altered.
    let mut bundle: serde_json::Value = serde_json::from_slice(
        &std::fs::read(work.path("dist/app-1.0.whl.sigstore.json")).unwrap(),
    )
    .unwrap();
    bundle["messageSignature"]["signature"] =
        "MEUCIQDx4yfR6Mz5v3Kq1bRZ6w0eNqv0R0Yx2fJc8rQfZKqZPAIgHs0rVqkq2nq0F8rjGkO0H4x3oYVbWqj1xvJ9Q0o7W2E=".into();
    assert!(gh.replace_asset_content(REPO, TAG, "app-1.0.whl.sigstore.json", bundle.to_string()));
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    // The timestamp (when there is one) covers the signature, so it is the
    // first check to notice; without one, the signature check would.
    assert!(
        out.contains("❌ app-1.0.whl: Timestamp invalid")
            || out.contains("❌ app-1.0.whl: Verification failed: signature invalid"),
        "{out}"
    );
    assert!(out.contains("✅ Verified: app-1.0.tar.gz"), "{out}");

    // The tarball's bundle deleted: unsigned, an error with --require-all.
    let releases = client(&sandbox);
    let release = releases.find(TAG).await.unwrap();
    let assets = releases.assets(&release).await.unwrap();
    let b = assets
        .iter()
        .find(|a| a.name == "app-1.0.tar.gz.sigstore.json")
        .unwrap();
    releases.delete_asset(&release, b).await.unwrap();
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--require-all", "--pattern", "app-*"],
    ))
    .await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("❌ app-1.0.tar.gz: Unsigned: the release has no app-1.0.tar.gz.sigstore.json (--require-all)"),
        "{}",
        stdout(&o)
    );
}

/// `--release` implies the repository: bundles another repository's
/// workflow made, uploaded to this release, fail with no flag given; and a
/// repository claim given explicitly is held to as well.
#[tokio::test(flavor = "multi_thread")]
async fn release_implies_the_repository_claim() {
    let sandbox = Sandbox::start().await.unwrap();
    let mut claims = sandbox.default_claims();
    let other = "someone/else";
    claims.job_workflow_ref = claims.job_workflow_ref.replace(&claims.repository, other);
    claims.workflow_ref = claims.workflow_ref.replace(&claims.repository, other);
    claims.repository = other.into();
    sandbox.set_actions_token(claims, std::time::Duration::from_secs(300));
    let work = Work::new();
    work.file("dist/app-1.0.whl", "wheel");
    let o = run(sign_upload(&sandbox, &work, "dist")).await;
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), crate::util::stderr(&o));
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("❌ app-1.0.whl: "), "{}", stdout(&o));
    assert!(!stdout(&o).contains("✅"), "{}", stdout(&o));

    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--cert-github-workflow-repository", "octo-org/octo-repo"],
    ))
    .await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("Certificate GitHub workflow repository mismatch"),
        "{}",
        stdout(&o)
    );
}

/// GitHub names a repository without regard to case: `--release` with the
/// name cased otherwise finds the release (the sandbox, like GitHub, finds
/// it), and its assets, signed by a workflow of `octo-org/octo-repo`, verify
/// as that repository's.
#[tokio::test(flavor = "multi_thread")]
async fn the_repository_is_named_in_any_case() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let consumer = Work::new();
    let release = format!("OCTO-ORG/Octo-Repo@{TAG}");
    let o = run(verify_release_of(&sandbox, &consumer, &release, &[])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✅ Verified: app-1.0.whl\n"),
        "{}",
        stdout(&o)
    );
}

/// `verify sha256:<hex> --bundle FILE`: an artifact known only by its digest
/// (as sigstore-python and cosign accept).
#[tokio::test(flavor = "multi_thread")]
async fn artifact_known_by_digest() {
    use sha2::Digest as _;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("app.bin", "the binary");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("app.bin");
    assert_eq!(code(&run(cmd).await), 0);
    let verify = |digest: String, bundle: bool| {
        let mut cmd = bin(work.dir.path());
        cmd.args(["verify", &digest, "--trusted-root"])
            .arg(sandbox.trusted_root_path())
            .args(["--cert-identity", &sandbox.identity()])
            .args(["--cert-oidc-issuer", &sandbox.issuer()]);
        if bundle {
            cmd.args(["--bundle", "app.bin.sigstore.json"]);
        }
        cmd
    };
    let good = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(b"the binary"))
    );
    let o = run(verify(good.clone(), true)).await;
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains(&format!("✅ Verified: {good}")),
        "{}",
        stdout(&o)
    );

    let other = format!("sha256:{}", hex::encode(sha2::Sha256::digest(b"another")));
    let o = run(verify(other.clone(), true)).await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains(&format!(
            "❌ {other}: Verification failed: artifact modified after signing (digest mismatch)"
        )),
        "{}",
        stdout(&o)
    );
    // Usage errors: no bundle to pair with, or not a digest.
    let o = run(verify(good, false)).await;
    assert_eq!(code(&o), 2);
    assert!(crate::util::stderr(&o).contains("--bundle FILE"));
    let o = run(verify("sha256:abc".into(), true)).await;
    assert_eq!(code(&o), 2);
    assert!(
        crate::util::stderr(&o).contains("`sha256:abc` is not sha256:<64 hex digits>"),
        "{}",
        crate::util::stderr(&o)
    );
}

/// A 500 MiB asset is verified with flat memory: it is streamed through
/// SHA-256, never held whole (the process's peak RSS stays far below its size).
#[tokio::test(flavor = "multi_thread")]
async fn large_asset_verifies_with_flat_memory() {
    const SIZE: u64 = 500 * 1024 * 1024;
    let time = std::path::Path::new("/usr/bin/time");
    if !time.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "/usr/bin/time is needed to measure peak memory"
        );
        eprintln!("SKIPPED: /usr/bin/time not found");
        return;
    }
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let big = work.path("dist/big.img");
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    {
        use std::io::Write as _;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let block: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
        for _ in 0..SIZE / block.len() as u64 {
            f.write_all(&block).unwrap();
        }
    }
    assert_eq!(code(&run(sign_upload(&sandbox, &work, "dist")).await), 0);
    std::fs::remove_file(&big).unwrap();

    let consumer = Work::new();
    let mut cmd = assert_cmd::Command::new(time);
    cmd.current_dir(consumer.dir.path())
        .env_clear()
        .args(["-f", "peak-rss-kib=%M"])
        .arg(assert_cmd::cargo::cargo_bin("releasekit-sign"))
        .args([
            "verify",
            "--release",
            &format!("{REPO}@{TAG}"),
            "--trusted-root",
        ])
        .arg(sandbox.trusted_root_path())
        .env("GITHUB_API_URL", &sandbox.urls().github_api);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("✅ Verified: big.img"),
        "{}",
        stdout(&o)
    );
    let err = crate::util::stderr(&o);
    let peak_kib: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in {err}"));
    assert!(
        peak_kib < 100 * 1024,
        "peak RSS {peak_kib} KiB for a {SIZE}-byte asset"
    );
    assert!(consumer.listing().is_empty());
}

/// A tag without a (visible) release is a usage error that says why: a
/// consumer without a token cannot see drafts.
#[tokio::test(flavor = "multi_thread")]
async fn missing_release_is_explained() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .github()
        .create_release(REPO, "v2.0.0-rc1", ReleaseSpec::draft());
    let consumer = Work::new();
    let mut cmd = bin(consumer.dir.path());
    cmd.args([
        "verify",
        "--release",
        &format!("{REPO}@v2.0.0-rc1"),
        "--trusted-root",
    ])
    .arg(sandbox.trusted_root_path())
    .env("GITHUB_API_URL", &sandbox.urls().github_api);
    let o = run(cmd).await;
    assert_eq!(code(&o), 2);
    assert!(
        crate::util::stderr(&o).contains("octo-org/octo-repo has no release for tag `v2.0.0-rc1` visible without a token (drafts and private repositories need GITHUB_TOKEN)"),
        "{}",
        crate::util::stderr(&o)
    );
}

/// Another commit than the one the sandbox's default token signs at.
const OTHER_COMMIT: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

/// `verify --release REPO@tag`, anonymous, from `cwd`, killed at [`BOUND`].
fn verify_tag(sandbox: &Sandbox, cwd: &Work, tag: &str, extra: &[&str]) -> assert_cmd::Command {
    verify_release_of(sandbox, cwd, &format!("{REPO}@{tag}"), extra)
}

/// `verify --release RELEASE` (`OWNER/REPO@TAG`), as [`verify_tag`].
fn verify_release_of(
    sandbox: &Sandbox,
    cwd: &Work,
    release: &str,
    extra: &[&str],
) -> assert_cmd::Command {
    let mut cmd = bin(cwd.dir.path());
    cmd.args(["verify", "--release", release, "--trusted-root"])
        .arg(sandbox.trusted_root_path())
        .args(extra)
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .timeout(BOUND);
    cmd
}

/// Assets are checked against the commit of the release's tag (here the
/// commit the release workflow ran at, so they verify), and the output says
/// so, the JSON report too.
#[tokio::test(flavor = "multi_thread")]
async fn assets_are_checked_against_the_tag_commit() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let commit = sandbox.config().sha.clone();
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "Tag {TAG} is at commit {}: only assets signed at that commit verify",
            &commit[..12]
        )),
        "{out}"
    );
    let o = run(verify_release(&sandbox, &consumer, &["--json"])).await;
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["policy"]["source_commit"],
        serde_json::json!({ "tag": TAG, "sha": commit })
    );
}

/// Replay: a validly signed asset of an older release, re-uploaded with its
/// bundle into a newer release, was signed at the older release's commit,
/// not the newer tag's: refused, naming both commits and the flag that
/// relaxes it; with that flag it verifies, with a warning. Regression: it
/// verified.
#[tokio::test(flavor = "multi_thread")]
async fn asset_replayed_into_a_newer_release_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let _old = signed_release(&sandbox).await;
    let signed_at = sandbox.config().sha.clone();
    let newer = "v1.1.0";
    sandbox.github().create_release(
        REPO,
        newer,
        ReleaseSpec {
            target_commitish: Some(OTHER_COMMIT.into()),
            ..ReleaseSpec::published()
        },
    );
    let copy = Work::new();
    let releases = client(&sandbox);
    let target = releases.find(newer).await.unwrap();
    for a in sandbox.github().assets(REPO, TAG) {
        if a.name.starts_with("app-1.0.tar.gz") {
            let f = copy.file(&a.name, &a.content);
            put_asset(&releases, &target, &a.name, &f, "application/octet-stream").await;
        }
    }
    let consumer = Work::new();
    let o = run(verify_tag(&sandbox, &consumer, newer, &[])).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "❌ app-1.0.tar.gz: Signed at another commit: the certificate names commit {signed_at}, but tag {newer} is at commit {OTHER_COMMIT}"
        )) && out.contains("--allow-other-commits"),
        "{out}"
    );
    assert!(
        out.contains("Verified 0 of 1 artifact(s); 1 failed."),
        "{out}"
    );

    let o = run(verify_tag(
        &sandbox,
        &consumer,
        newer,
        &["--allow-other-commits"],
    ))
    .await;
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("✅ Verified: app-1.0.tar.gz"),
        "{}",
        stdout(&o)
    );
    // The command shown to pin the signer judges as this run did: with
    // its trust and --allow-other-commits (without, it refuses the asset).
    let hint = stdout(&o)
        .lines()
        .find(|l| l.starts_with("  releasekit-sign verify --release"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{}", stdout(&o)));
    assert!(
        hint.contains("--allow-other-commits")
            && hint.contains("--trusted-root")
            && hint.contains("--cert-github-workflow-repository"),
        "{hint}"
    );
    assert!(
        crate::util::stderr(&o).contains(&format!(
            "warning: --allow-other-commits: assets signed at any commit of {REPO} are accepted, not only at tag {newer}'s"
        )),
        "{}",
        crate::util::stderr(&o)
    );
}

/// An annotated tag (and a tag of a tag) is peeled to its commit; a tag
/// moved to another commit refuses the assets; a chain that loops, is too
/// deep, or ends at something other than a commit is an error naming the tag.
#[tokio::test(flavor = "multi_thread")]
async fn annotated_tags_are_peeled() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let commit = sandbox.config().sha.clone();
    let gh = sandbox.github();
    let consumer = Work::new();
    let verified = |o: &std::process::Output| {
        code(o) == 0 && stdout(o).contains("Verified 2 of 2 artifact(s).")
    };

    gh.set_annotated_tag(REPO, TAG, GitObject::commit(&commit));
    assert_eq!(gh.tag_ref(REPO, TAG).unwrap().kind, GitObjectKind::Tag);
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert!(verified(&o), "{}", stdout(&o));
    assert!(stdout(&o).contains(&format!("Tag {TAG} is at commit {}", &commit[..12])));

    let inner = gh.set_annotated_tag(REPO, "v1.0.0-inner", GitObject::commit(&commit));
    gh.set_annotated_tag(REPO, TAG, GitObject::tag(&inner));
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert!(verified(&o), "{}", stdout(&o));

    // Moved: an annotated tag now at another commit.
    gh.set_annotated_tag(REPO, TAG, GitObject::commit(OTHER_COMMIT));
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains(&format!("but tag {TAG} is at commit {OTHER_COMMIT}")),
        "{}",
        stdout(&o)
    );

    let stderr_of = |o: &std::process::Output| crate::util::stderr(o);
    // A loop (only a lying server can make one).
    let looping = "1001001001001001001001001001001001001001";
    gh.insert_tag_object(REPO, looping, TAG, GitObject::tag(looping));
    gh.set_tag_ref(REPO, TAG, GitObject::tag(looping));
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 1);
    assert!(
        stderr_of(&o).contains(&format!(
            "tag `{TAG}` of {REPO} loops: tag object {looping} points back into its own chain"
        )),
        "{}",
        stderr_of(&o)
    );
    // Deeper than a release tag ever is.
    let mut object = GitObject::commit(&commit);
    for i in 0..6 {
        object = GitObject::tag(gh.set_annotated_tag(REPO, &format!("deep{i}"), object));
    }
    gh.set_tag_ref(REPO, TAG, object);
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 1);
    assert!(
        stderr_of(&o).contains(&format!(
            "tag `{TAG}` of {REPO} is a chain of more than 4 annotated tags"
        )),
        "{}",
        stderr_of(&o)
    );
    // Not a commit at the end.
    let tree = "7777777777777777777777777777777777777777";
    gh.set_tag_ref(
        REPO,
        TAG,
        GitObject {
            kind: GitObjectKind::Tree,
            sha: tree.into(),
        },
    );
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 1);
    assert!(
        stderr_of(&o).contains(&format!(
            "tag `{TAG}` of {REPO} points at a \"tree\" ({tree}), not a commit"
        )),
        "{}",
        stderr_of(&o)
    );
}

/// A release whose tag does not exist (deleted after publishing; or a draft,
/// whose tag GitHub creates only when it is published) cannot say which
/// commit its assets must come from: a clear error naming the tag and the
/// flag; with that flag the assets are verified without it.
#[tokio::test(flavor = "multi_thread")]
async fn missing_tag_ref_is_a_clear_error() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    assert!(sandbox.github().delete_tag(REPO, TAG));
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 1);
    let err = crate::util::stderr(&o);
    assert!(
        err.contains(&format!("{REPO} has no tag `{TAG}`, so the commit its release's assets must be signed at is unknown"))
            && err.contains("--allow-other-commits"),
        "{err}"
    );
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--allow-other-commits"],
    ))
    .await;
    assert_eq!(code(&o), 0);
}

/// A private repository's release, looked at with a token and no trust
/// chosen, is verified under GitHub's Sigstore instance (where such releases
/// are signed) and the output says so; a trust named on the command line is
/// kept. The sandbox's bundles chain to the sandbox, not to GitHub's Fulcio,
/// so under GitHub's instance they fail: what is shown is the choice.
#[tokio::test(flavor = "multi_thread")]
async fn a_private_repository_is_verified_with_githubs_instance() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    sandbox.github().set_repo_private(REPO, true);
    let consumer = Work::new();
    let note =
        format!("{REPO} is private, so its releases are verified with GitHub's Sigstore instance");
    let default_trust = || {
        let mut cmd = bin(consumer.dir.path());
        cmd.args(["verify", "--release", &format!("{REPO}@{TAG}"), "--offline"])
            .env("GITHUB_API_URL", &sandbox.urls().github_api)
            .timeout(BOUND);
        cmd
    };

    let mut cmd = default_trust();
    cmd.env("GITHUB_TOKEN", sandbox.github_token());
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&note)
            || String::from_utf8_lossy(&o.stderr).contains(&note),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("✅ Verified"), "{}", stdout(&o));

    // Anonymously the repository is invisible, as on GitHub.
    let o = run(default_trust()).await;
    assert_eq!(
        code(&o),
        2,
        "{}\n{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("private repositories need GITHUB_TOKEN"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A trust given explicitly is the one used.
    let mut cmd = verify_release(&sandbox, &consumer, &[]);
    cmd.env("GITHUB_TOKEN", sandbox.github_token());
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    // The note is a warning: on stderr, where it would be.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains(&note), "{err}");
}

/// Without a token, GitHub allows 60 API requests an hour: a release of 40
/// artifacts (80 assets) verifies anonymously, each asset fetched from the
/// release's public download URL, which the API's budget does not count.
/// Regression: each download was an API request, so the budget ran out
/// halfway, and each refused request was retried in vain.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_release_verifies_within_the_anonymous_rate_limit() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for i in 0..40 {
        work.file(&format!("dist/a{i:02}.bin"), format!("artifact {i}"));
    }
    let o = run(sign_upload(&sandbox, &work, "dist")).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let o = run(verify_release(
        &sandbox,
        &Work::new(),
        &["--download", "got"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("Verified 40 of 40"), "{}", stdout(&o));
}

/// With a token too, a published release of a public repository is
/// downloaded from its public links, not through the API, whose hourly
/// budget (1,000 requests for a job's GITHUB_TOKEN) a release of 500
/// assets and their bundles spent: here not one download goes through the
/// API. Regression: every asset and bundle was an API request.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_spends_no_api_request_on_a_public_releases_downloads() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for i in 0..10 {
        work.file(&format!("dist/a{i:02}.bin"), format!("artifact {i}"));
    }
    let o = run(sign_upload(&sandbox, &work, "dist")).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let gh = releasekit_sandbox::Service::GitHub;
    let before = sandbox.requests(gh).len();
    let consumer = Work::new();
    let mut cmd = verify_release(&sandbox, &consumer, &["--download", "got"]);
    cmd.env("GITHUB_TOKEN", sandbox.github_token());
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("Verified 10 of 10"), "{}", stdout(&o));
    let through_api = sandbox.requests(gh)[before..]
        .iter()
        .filter(|r| r.uri.contains("/releases/assets/"))
        .count();
    assert_eq!(through_api, 0);

    // An Enterprise Server's links may want a signed-in session (private
    // mode): there, with a token, the API it takes the token on. (The
    // verdicts are not the point: these bundles name github.com.)
    let before = sandbox.requests(gh).len();
    let mut cmd = verify_release(&sandbox, &consumer, &[]);
    cmd.env("GITHUB_TOKEN", sandbox.github_token()).env(
        "GITHUB_API_URL",
        format!("{}/api/v3", sandbox.urls().github_api),
    );
    run(cmd).await;
    let through_api = sandbox.requests(gh)[before..]
        .iter()
        .filter(|r| r.uri.starts_with("/api/v3/") && r.uri.contains("/releases/assets/"))
        .count();
    assert_eq!(through_api, 20);
}

/// A repository's old name (renamed or transferred) answers with GitHub's
/// redirect: the run says so and names the fix, with a token or without,
/// a usage error. Regression: "GitHub answered 301: Moved Permanently".
#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_repository_is_said_renamed() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    sandbox.github().rename_repo("octo-org/old-name", REPO);
    let consumer = Work::new();
    for token in [false, true] {
        let mut cmd = verify_release_of(&sandbox, &consumer, "octo-org/old-name@v1.0.0", &[]);
        if token {
            cmd.env("GITHUB_TOKEN", sandbox.github_token());
        }
        let o = run(cmd).await;
        assert_eq!(code(&o), 2, "{}", stdout(&o));
        let err = crate::util::stderr(&o);
        assert!(
            err.contains("octo-org/old-name was renamed or transferred: GitHub answered 301")
                && err.contains("fix: use its current OWNER/REPO"),
            "{err}"
        );
    }
}

/// An anonymous caller whose hourly budget is spent is told so at once,
/// with when it comes back and that a token lifts it, not retried for an
/// hour.
#[tokio::test(flavor = "multi_thread")]
async fn a_spent_anonymous_rate_limit_says_to_pass_a_token() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let http = reqwest::Client::new();
    let url = format!("{}/repos/{REPO}", sandbox.urls().github_api);
    for _ in 0..60 {
        http.get(&url).send().await.unwrap();
    }
    let before = sandbox.requests(releasekit_sandbox::Service::GitHub).len();
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let err = crate::util::stderr(&o);
    assert!(
        err.contains("GitHub's API rate limit for this caller is used up for ")
            && err.contains(" more minute(s)")
            && err.contains("fix: set GITHUB_TOKEN"),
        "{err}"
    );
    // Said at the first refusal: no request after it (a retry would wait
    // out the hour). Counted, not timed.
    let asked: Vec<u16> = sandbox.requests(releasekit_sandbox::Service::GitHub)[before..]
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(asked, [403], "{asked:?}");
}

/// A release built in another repository (its certificates name the
/// builder's repository and a commit of it) verifies when that repository
/// is the one asked for: the tag's commit, a commit of the release's own
/// repository, is not held against it, and a warning says so. Regression:
/// every asset failed as "signed at another commit", pointing to
/// --allow-other-commits, for the combination the README documents.
#[tokio::test(flavor = "multi_thread")]
async fn a_release_built_in_another_repository_verifies_for_it() {
    let sandbox = Sandbox::start().await.unwrap();
    let mut claims = sandbox.default_claims();
    let builder = "octo-org/builder";
    claims.job_workflow_ref = claims.job_workflow_ref.replace(&claims.repository, builder);
    claims.workflow_ref = claims.workflow_ref.replace(&claims.repository, builder);
    claims.repository = builder.into();
    claims.sha = "c".repeat(40);
    sandbox.set_actions_token(claims, std::time::Duration::from_secs(300));
    let work = Work::new();
    work.file("dist/app-1.0.whl", "wheel");
    let o = run(sign_upload(&sandbox, &work, "dist")).await;
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), crate::util::stderr(&o));
    let consumer = Work::new();
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--cert-github-workflow-repository", builder],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✅ Verified: app-1.0.whl"),
        "{}",
        stdout(&o)
    );
    assert!(
        crate::util::stderr(&o).contains(&format!(
            "the signer's repository is {builder}, not {REPO}: its assets are not held to tag {TAG}'s commit"
        )),
        "{}",
        crate::util::stderr(&o)
    );
}

/// A `*.intoto.jsonl` asset of another format (slsa-github-generator's bare
/// DSSE envelope, an SBOM) is not the release's Sigstore provenance: the
/// assets still verify by their bundles, and a warning says it was not
/// checked. Regression: every asset failed as "not in the provenance".
#[tokio::test(flavor = "multi_thread")]
async fn an_intoto_file_of_another_format_is_not_held_against_the_assets() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = signed_release(&sandbox).await;
    let envelope = work.file(
        "multiple.intoto.jsonl",
        r#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}"#,
    );
    let releases = client(&sandbox);
    let release = releases.find(TAG).await.unwrap();
    put_asset(
        &releases,
        &release,
        "multiple.intoto.jsonl",
        &envelope,
        "application/jsonl",
    )
    .await;
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✅ Verified: app-1.0.whl"),
        "{}",
        stdout(&o)
    );
    assert!(
        crate::util::stderr(&o)
            .contains("multiple.intoto.jsonl: no line is a Sigstore bundle (a bare DSSE envelope"),
        "{}",
        crate::util::stderr(&o)
    );
}
