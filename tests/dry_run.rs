use releasekit_sandbox::{Sandbox, Service};

use crate::util::{bin, code, filters, run, stdout, Work};

/// Without a sandbox: the default instance's embedded trust material is used
/// offline, so a dry run needs no network at all.
#[test]
fn dry_run_prints_the_plan_for_the_default_instance() {
    let work = Work::new();
    work.file("dist/app-1.0.tar.gz", "tarball");
    work.file("dist/app-1.0-py3-none-any.whl", "wheel");
    work.file("dist/app-1.0.tar.gz.sigstore.json", "{}");
    work.file("dist/.DS_Store", "junk");
    let o = bin(work.dir.path())
        .args(["sign", "dist", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    insta::assert_snapshot!("dry_run_default", stdout(&o));
    assert_eq!(work.listing().len(), 4, "a dry run writes nothing");
}

#[test]
fn dry_run_json() {
    let work = Work::new();
    work.file("a.whl", "a");
    let o = bin(work.dir.path())
        .args(["--json", "sign", "a.whl", "--dry-run", "--staging"])
        .env("SIGSTORE_ID_TOKEN", "not-a-jwt")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["instance"]["name"], "staging");
    // Staging's signing config lists Rekor v2 and v1: the spec's rule takes
    // the highest API version, with v1 set aside and said so.
    assert_eq!(v["instance"]["rekor_version"], "2");
    assert_eq!(v["instance"]["rekor"], "https://global.rekor.sigstage.dev");
    assert_eq!(
        v["instance"]["selection"]["tlogs"]["setAside"][0]["reason"],
        "older-version"
    );
    assert_eq!(v["identity"]["planned"]["source"], "token");
    assert_eq!(v["identity"]["planned"]["origin"], "sigstore-id-token-env");
    assert_eq!(v["artifacts"][0]["status"], "planned");
    assert_eq!(v["artifacts"][0]["size"], 1);
    assert!(
        !stdout(&o).contains("not-a-jwt") && !crate::util::stderr(&o).contains("not-a-jwt"),
        "the token is never printed"
    );
}

/// `--rekor-version 2` on public-good, whose embedded signing config lists
/// only its v1 log: the dry run says the current listing (through TUF)
/// decides when signing, instead of refusing a choice that listing may
/// allow. Regression: it failed (exit 2), and so did every real run,
/// before any refresh.
#[test]
fn a_choice_the_embedded_snapshot_refuses_is_left_to_the_refreshed_listing() {
    let work = Work::new();
    work.file("a.whl", "a");
    let o = bin(work.dir.path())
        .args([
            "--json",
            "sign",
            "a.whl",
            "--dry-run",
            "--rekor-version",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", crate::util::stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["instance"]["name"], "public-good");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("lists no valid Rekor v2 log")
            && warnings.contains("refreshed through TUF, decides"),
        "{warnings}"
    );
    // A choice no listing changes is still refused before anything.
    let o = bin(work.dir.path())
        .args([
            "sign",
            "a.whl",
            "--dry-run",
            "--rekor-version",
            "2",
            "--instance",
            "github",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", crate::util::stderr(&o));
}

/// Against a sandbox in the Actions environment: no service sees a request.
#[tokio::test(flavor = "multi_thread")]
async fn dry_run_makes_no_request_and_needs_no_token() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    work.file("dist/b.whl", "b");
    let mut cmd = bin(work.dir.path());
    cmd.envs(sandbox.env())
        .args(["sign", "dist", "--dry-run", "--trust-config"])
        .arg(sandbox.trust_config_path());
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    for service in Service::ALL {
        assert!(
            sandbox.requests(service).is_empty(),
            "{service:?} was contacted"
        );
    }
    assert_eq!(work.listing(), ["dist/a.whl", "dist/b.whl"]);
    insta::with_settings!({ filters => filters(&work).iter().map(|(a, b)| (a.as_str(), b.as_str())).collect::<Vec<_>>() }, {
        insta::assert_snapshot!("dry_run_sandbox_actions", stdout(&o));
    });
}

/// With an upload configured, a dry run also says which release, what
/// happens to it, and which assets would go up, still without a request
/// (the GitHub API URL points at a closed port) and without a token printed.
#[test]
fn dry_run_shows_the_release_plan() {
    let work = Work::new();
    work.file("dist/app 1.0.tar.gz", "tarball");
    work.file("dist/app-1.0.whl", "wheel");
    let args = [
        "sign",
        "dist",
        "--dry-run",
        "--upload",
        "--release-tag",
        "v1.0.0",
        "--repo",
        "octo/app",
        "--release-mode",
        "draft",
        "--publish",
        "--upload-artifacts",
    ];
    let o = bin(work.dir.path())
        .args(args)
        .env("GITHUB_TOKEN", "ghs_dry_run_secret")
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", crate::util::stderr(&o));
    insta::assert_snapshot!("dry_run_release_plan", stdout(&o));

    let o = bin(work.dir.path())
        .arg("--json")
        .args(args)
        .env("GITHUB_TOKEN", "ghs_dry_run_secret")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let plan = &v["upload_plan"];
    assert_eq!(plan["repo"], "octo/app");
    assert_eq!(plan["tag"], "v1.0.0");
    assert_eq!(plan["mode"], "draft");
    assert_eq!(plan["publish"], true);
    assert_eq!(
        plan["assets"],
        serde_json::json!([
            "app.1.0.tar.gz",
            "app.1.0.tar.gz.sigstore.json",
            "app-1.0.whl",
            "app-1.0.whl.sigstore.json"
        ])
    );
    assert!(v.get("upload").is_none());
    for out in [stdout(&o), crate::util::stderr(&o)] {
        assert!(!out.contains("ghs_dry_run_secret"), "{out}");
    }
}

/// A dry run of a run that uploads says an existing bundle would be kept if
/// it verifies (as the run does), not that it would fail without
/// --overwrite. Regression: it said the latter, against its own plan.
#[test]
fn a_dry_run_that_uploads_says_existing_bundles_are_kept_if_they_verify() {
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("a.whl.sigstore.json", "{}");
    let upload = ["--upload", "--release-tag", "v1.0.0", "--repo", "octo/app"];
    let o = bin(work.dir.path())
        .args(["sign", "a.whl", "--dry-run"])
        .args(upload)
        .env("GITHUB_TOKEN", "ghs_x")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", crate::util::stderr(&o));
    assert!(
        stdout(&o).contains("[bundle exists: kept if it verifies for this run's signer]"),
        "{}",
        stdout(&o)
    );
    let o = bin(work.dir.path())
        .args(["sign", "a.whl", "--dry-run", "--json"])
        .args(upload)
        .env("GITHUB_TOKEN", "ghs_x")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["artifacts"][0]["kept_if_it_verifies"], true, "{v:#}");
    assert!(v["artifacts"][0]
        .get("blocked_by_existing_bundle")
        .is_none());
    // Without an upload, it would fail.
    let o = bin(work.dir.path())
        .args(["sign", "a.whl", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains(
            "[bundle exists: would fail without --overwrite (action input `overwrite: true`)]"
        ),
        "{}",
        stdout(&o)
    );
}
