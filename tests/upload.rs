//! Release upload: `sign --upload` against the sandbox's GitHub, and the
//! idempotence and retry rules of `releasekit_sign::github` under faults.

use std::path::Path;
use std::time::{Duration, Instant};

use releasekit_sandbox::github::ReleaseSpec;
use releasekit_sandbox::{Fault, Sandbox, Service};
use releasekit_sign::github::{
    identical_only, AssetAction, Release, ReleaseError, Releases, UploadedAsset,
};
use releasekit_sign::net::RetryPolicy;
use releasekit_sign::oidc::Secret;

use crate::util::{as_checked, code, file_digest, run, sign, stderr, stdout, verify_bundle, Work};

/// A test's upload: the file as it is now, never over other content.
trait Put {
    async fn put(
        &self,
        release: &Release,
        name: &str,
        path: &Path,
    ) -> Result<UploadedAsset, ReleaseError>;
}

impl Put for Releases {
    async fn put(
        &self,
        release: &Release,
        name: &str,
        path: &Path,
    ) -> Result<UploadedAsset, ReleaseError> {
        let checked = file_digest(path);
        self.upload(
            release,
            name,
            path,
            as_checked(&checked),
            false,
            &identical_only,
        )
        .await
    }
}

const REPO: &str = "octo-org/octo-repo";

fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
    }
}

fn client(sandbox: &Sandbox) -> Releases {
    Releases::new(
        &sandbox.urls().github_api,
        REPO.parse().unwrap(),
        &Secret::new(sandbox.github_token()),
        fast(),
    )
    .unwrap()
}

/// `sign --upload`: every bundle becomes `<artifact>.sigstore.json` with
/// content type application/json, byte-identical to the local bundle; names
/// with spaces and non-ASCII survive (GitHub renames them, we find them again).
#[tokio::test(flavor = "multi_thread")]
async fn cli_upload_then_rerun_adds_nothing() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/pkg-1.0.tar.gz", "tarball");
    work.file("dist/my pkg é+1.whl", "wheel");
    let upload = |extra: &[&str]| {
        let mut cmd = sign(&sandbox, work.dir.path());
        cmd.args([
            "dist",
            "--upload",
            "--release-tag",
            "v1.0.0",
            "--repo",
            REPO,
        ])
        .args(extra)
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .env("GITHUB_TOKEN", sandbox.github_token());
        cmd
    };
    let o = run(upload(&[])).await;
    assert_eq!(code(&o), 0);
    assert!(!stdout(&o).contains(sandbox.github_token()));
    let assets = sandbox.github().assets(REPO, "v1.0.0");
    let mut names: Vec<_> = assets.iter().map(|a| a.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "my.pkg.e+1.whl.sigstore.json",
            "pkg-1.0.tar.gz.sigstore.json"
        ]
    );
    for (artifact, asset) in [
        ("dist/pkg-1.0.tar.gz", "pkg-1.0.tar.gz.sigstore.json"),
        ("dist/my pkg é+1.whl", "my.pkg.e+1.whl.sigstore.json"),
    ] {
        let bundle = work.path(&format!("{artifact}.sigstore.json"));
        verify_bundle(&sandbox, &work.path(artifact), &bundle);
        let a = assets.iter().find(|a| a.name == asset).unwrap();
        assert_eq!(a.content.as_ref(), std::fs::read(&bundle).unwrap());
        assert_eq!(a.content_type, "application/json");
    }
    // The upload query carried the name percent-encoded.
    assert!(sandbox
        .requests(Service::GitHub)
        .iter()
        .any(|r| r.method == "POST"
            && r.uri
                .contains("name=my%20pkg%20%C3%A9%2B1.whl.sigstore.json")));

    // The same bundles again (a re-run after a partial failure): nothing new.
    let releases = client(&sandbox);
    let release = releases.find("v1.0.0").await.unwrap();
    let up = releases
        .put(
            &release,
            "my pkg é+1.whl.sigstore.json",
            &work.path("dist/my pkg é+1.whl.sigstore.json"),
        )
        .await
        .unwrap();
    assert_eq!(up.action, AssetAction::Unchanged);
    assert_eq!(sandbox.github().assets(REPO, "v1.0.0").len(), 2);
}

/// A 422's reason, which GitHub gives in `errors` under the message
/// "Validation Failed", is part of the error; an immutable release named
/// only there is still told apart. Regression: "Validation Failed" alone.
#[tokio::test(flavor = "multi_thread")]
async fn a_validation_failures_reasons_are_shown() {
    let sandbox = Sandbox::start().await.unwrap();
    let releases = client(&sandbox);
    let gh = sandbox.faults(Service::GitHub);
    gh.fail_next(
        1,
        Fault::status_body(
            422,
            r#"{"message":"Validation Failed","errors":[{"resource":"Release","code":"custom","field":"tag_name","message":"tag_name was used by an immutable release"},{"resource":"Release","code":"invalid","field":"target_commitish"}],"status":"422"}"#,
        ),
    );
    let e = releases.find("v1.0.0").await.unwrap_err().to_string();
    assert!(
        e.contains("Validation Failed: tag_name was used by an immutable release; Release target_commitish invalid"),
        "{e}"
    );
    // Publishing under a tag an immutable release used: the tag is
    // reserved for good, a usage error naming the fix, not a published
    // release refusing an upload.
    let release = releases.find("v1.0.0").await.unwrap();
    gh.fail_next(
        1,
        Fault::status_body(
            422,
            r#"{"message":"Validation Failed","errors":[{"resource":"Release","code":"custom","field":"tag_name","message":"tag_name was used by an immutable release"}]}"#,
        ),
    );
    let e = releases.publish(&release, None, None).await.unwrap_err();
    assert!(matches!(e, ReleaseError::TagReserved { .. }), "{e}");
    assert!(
        e.to_string().contains("fix: release under a new tag"),
        "{e}"
    );
}

/// A 502 (then a dropped connection) during an upload is retried, and the
/// retry lists the assets first: exactly one asset in the end.
#[tokio::test(flavor = "multi_thread")]
async fn transient_failures_do_not_duplicate_assets() {
    let sandbox = Sandbox::start().await.unwrap();
    let action = put_while(&sandbox, |gh| {
        gh.only_paths_containing("/assets");
        gh.fail_next(1, Fault::status(502));
        gh.fail_next(1, Fault::DropConnection);
    })
    .await;
    assert_eq!(action, AssetAction::Uploaded);
    assert_eq!(sandbox.github().assets(REPO, "v1.0.0").len(), 1);
}

/// What the upload of a bundle to release v1.0.0 did while GitHub suffered
/// the faults `set` queues, each of which it met.
async fn put_while(
    sandbox: &Sandbox,
    set: impl FnOnce(&releasekit_sandbox::Faults),
) -> AssetAction {
    let work = Work::new();
    let bundle = work.file("a.tgz.sigstore.json", "{\"bundle\":1}");
    let releases = client(sandbox);
    let release = releases.find("v1.0.0").await.unwrap();
    let gh = sandbox.faults(Service::GitHub);
    set(gh);
    let up = releases
        .put(&release, "a.tgz.sigstore.json", &bundle)
        .await
        .unwrap();
    assert_eq!(gh.pending(), 0);
    up.action
}

/// An upload GitHub carried out but whose answer was lost is found by the
/// retry and reported as uploaded, by this run. Regression: "unchanged: an
/// identical asset is already on the release".
#[tokio::test(flavor = "multi_thread")]
async fn an_upload_whose_answer_was_lost_is_reported_uploaded() {
    let sandbox = Sandbox::start().await.unwrap();
    let action = put_while(&sandbox, |gh| {
        gh.only_method(http::Method::POST);
        gh.fail_next(1, Fault::ActedThen(502));
    })
    .await;
    assert_eq!(action, AssetAction::Uploaded);
    assert_eq!(sandbox.github().assets(REPO, "v1.0.0").len(), 1);
}

/// A GitHub failure the retry recovers from leaves no error in the log, not
/// even under -q (which keeps only errors). Regression: octocrab logged
/// "ERROR failed with status 502 Bad Gateway" before the retry succeeded.
#[tokio::test(flavor = "multi_thread")]
async fn a_failure_the_retry_recovers_from_logs_no_error() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.tgz", "a");
    let gh = sandbox.faults(Service::GitHub);
    gh.only_paths_containing("/assets");
    for quiet in [true, false] {
        gh.fail_next(1, Fault::status(502));
        gh.fail_next(1, Fault::DropConnection);
        let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["a.tgz"]);
        cmd.arg("--overwrite");
        if quiet {
            cmd.arg("-q");
        }
        let o = run(cmd).await;
        assert_eq!(code(&o), 0, "{}", crate::util::stderr(&o));
        let err = crate::util::stderr(&o);
        assert!(!err.contains("ERROR"), "{err}");
        assert!(!err.contains("failed with"), "{err}");
        assert_eq!(gh.pending(), 0);
    }
}

/// Every asset goes up (one at a time, as GitHub asks of content-creating
/// requests) before any is downloaded back to be checked, so the checks,
/// which are reads, run several at once instead of one after each upload.
#[tokio::test(flavor = "multi_thread")]
async fn assets_are_checked_after_all_uploads() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for name in ["a.tgz", "b.tgz", "c.tgz"] {
        work.file(&format!("dist/{name}"), name);
    }
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args([
        "dist",
        "--upload",
        "--upload-artifacts",
        "--release-tag",
        "v1.0.0",
        "--repo",
        REPO,
    ])
    .env("GITHUB_API_URL", &sandbox.urls().github_api)
    .env("GITHUB_TOKEN", sandbox.github_token());
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let requests = sandbox.requests(Service::GitHub);
    let uploads: Vec<usize> = (0..requests.len())
        .filter(|&i| requests[i].method == "POST" && requests[i].uri.contains("/assets?name="))
        .collect();
    let downloads: Vec<usize> = (0..requests.len())
        .filter(|&i| requests[i].method == "GET" && requests[i].uri.contains("/releases/assets/"))
        .collect();
    assert_eq!((uploads.len(), downloads.len()), (6, 6));
    assert!(
        uploads.last() < downloads.first(),
        "{uploads:?} {downloads:?}"
    );
}

/// The release's assets are listed once for a run's uploads, not before each
/// one: 150 uploads read one page of listing (listing before each upload
/// read 150 pages, and N uploads N²/100 pages: 5,000 requests for a
/// 500-artifact release, past an Actions token's hourly rate limit).
#[tokio::test(flavor = "multi_thread")]
async fn uploads_list_the_release_once() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let releases = client(&sandbox);
    let release = releases.find("v1.0.0").await.unwrap();
    for i in 0..150 {
        let name = format!("a{i}.sigstore.json");
        let bundle = work.file(&name, format!("{{\"bundle\":{i}}}"));
        let up = releases.put(&release, &name, &bundle).await.unwrap();
        assert_eq!(up.action, AssetAction::Uploaded);
    }
    assert_eq!(sandbox.github().assets(REPO, "v1.0.0").len(), 150);
    let listings = sandbox
        .requests(Service::GitHub)
        .iter()
        .filter(|r| r.method == "GET" && r.uri.contains("/assets?"))
        .count();
    assert_eq!(listings, 1);
    // The same again (a re-run's client): one listing of two pages, which
    // answers for the first asset, then one request for each other asset
    // (what it holds now), which says it is already there.
    let again = client(&sandbox);
    let before = sandbox.requests(Service::GitHub).len();
    for i in 0..150 {
        let name = format!("a{i}.sigstore.json");
        let up = again.put(&release, &name, &work.path(&name)).await.unwrap();
        assert_eq!(up.action, AssetAction::Unchanged);
    }
    assert_eq!(sandbox.requests(Service::GitHub).len() - before, 2 + 149);
}

/// A listing of several pages reads every page once (pages 2 to the last
/// one GitHub names, several at once) and keeps GitHub's order.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_listing_is_read_whole_and_in_order() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    for i in 0..450 {
        assert!(gh.insert_asset_unchecked(REPO, "v1.0.0", &format!("a{i:03}.bin"), "x"));
    }
    let releases = client(&sandbox);
    let release = releases.find("v1.0.0").await.unwrap();
    let before = sandbox.requests(Service::GitHub).len();
    let names: Vec<String> = releases
        .assets(&release)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    let expected: Vec<String> = (0..450).map(|i| format!("a{i:03}.bin")).collect();
    assert_eq!(names, expected);
    let requests = sandbox.requests(Service::GitHub);
    let mut pages: Vec<&str> = requests[before..].iter().map(|r| r.uri.as_str()).collect();
    pages.sort();
    assert_eq!(pages.len(), 5, "{pages:?}");
    pages.dedup();
    assert_eq!(pages.len(), 5, "{pages:?}");
    // Pages 2 to 5 where GitHub's `Link` names them: by the repository's
    // number, not its name.
    let by_id = pages.iter().filter(|p| p.starts_with("/repositories/"));
    assert_eq!(by_id.count(), 4, "{pages:?}");
}

/// Another writer creates the name after the listing: GitHub's 422
/// `already_exists` makes the upload look again, and it finds the asset
/// (identical: left alone; different: refused without --overwrite).
#[tokio::test(flavor = "multi_thread")]
async fn a_name_taken_after_the_listing_is_found_again() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let releases = client(&sandbox);
    let release = releases.find("v1.0.0").await.unwrap();
    let first = work.file("first.sigstore.json", "1");
    releases
        .put(&release, "first.sigstore.json", &first)
        .await
        .unwrap();
    let same = work.file("same.sigstore.json", "same");
    let other = work.file("other.sigstore.json", "mine");
    let gh = sandbox.github();
    assert!(gh.insert_asset_unchecked(REPO, "v1.0.0", "same.sigstore.json", "same"));
    assert!(gh.insert_asset_unchecked(REPO, "v1.0.0", "other.sigstore.json", "theirs"));
    let up = releases
        .put(&release, "same.sigstore.json", &same)
        .await
        .unwrap();
    assert_eq!(up.action, AssetAction::Unchanged);
    let e = releases
        .put(&release, "other.sigstore.json", &other)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ReleaseError::AssetDiffers { ref name, .. } if name == "other.sigstore.json"),
        "{e}"
    );
    let assets = gh.assets(REPO, "v1.0.0");
    assert_eq!(assets.len(), 3);
    let other = assets
        .iter()
        .find(|a| a.name == "other.sigstore.json")
        .unwrap();
    assert_eq!(other.content.as_ref(), b"theirs");
}

/// A secondary rate limit (403 + Retry-After) is waited out, not reported.
#[tokio::test(flavor = "multi_thread")]
async fn secondary_rate_limit_honours_retry_after() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let bundle = work.file("a.sigstore.json", "{}");
    // The policy caps a server's wait at 4 × max_delay: room for one second.
    let releases = Releases::new(
        &sandbox.urls().github_api,
        REPO.parse().unwrap(),
        &Secret::new(sandbox.github_token()),
        RetryPolicy {
            max_delay: Duration::from_secs(1),
            ..fast()
        },
    )
    .unwrap();
    let release = releases.find("v1.0.0").await.unwrap();
    sandbox
        .faults(Service::GitHub)
        .fail_next(1, Fault::retry_after(403, 1));
    let start = Instant::now();
    releases
        .put(&release, "a.sigstore.json", &bundle)
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_secs(1));
}

/// A rate limit that asks for a longer wait than a run takes (Retry-After:
/// 60, or a secondary limit naming no wait, for which GitHub asks at least
/// a minute) is said at once, not retried sooner than GitHub allows.
/// Regression: retried after at most 32 s (or at once), which GitHub
/// refuses again and may answer by banning the integration.
#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_asking_for_a_long_wait_is_not_retried_sooner() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let bundle = work.file("a.sigstore.json", "{}");
    let releases = client(&sandbox);
    let release = releases.find("v1.0.0").await.unwrap();
    let gh = sandbox.faults(Service::GitHub);
    let secondary = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#;
    for (fault, minutes) in [
        (Fault::retry_after(403, 60), "1 more minute"),
        (Fault::retry_after(429, 600), "10 more minute"),
        (Fault::status_body(403, secondary), "1 more minute"),
    ] {
        gh.fail_next(1, fault);
        let before = sandbox.requests(Service::GitHub).len();
        let start = Instant::now();
        let e = releases
            .put(&release, "a.sigstore.json", &bundle)
            .await
            .unwrap_err()
            .to_string();
        assert!(start.elapsed() < Duration::from_secs(20), "{e}");
        assert!(e.contains("rate limit"), "{e}");
        assert!(e.contains(minutes), "{e}");
        assert_eq!(gh.pending(), 0);
        assert_eq!(sandbox.requests(Service::GitHub).len(), before + 1, "{e}");
    }
}

/// A work tree of four artifacts, `dist/a0.tgz` to `dist/a3.tgz`.
fn four_artifacts() -> Work {
    let work = Work::new();
    for n in 0..4 {
        work.file(&format!("dist/a{n}.tgz"), format!("artifact {n}"));
    }
    work
}

/// A rate limit that comes back later than a retry waits stops the run's
/// requests to GitHub: each later one would be refused too, and GitHub may
/// block an integration that keeps asking. Every asset left says why, and
/// the draft is not published. Regression: every later asset was still
/// uploaded or asked for, each refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_spent_rate_limit_stops_the_requests() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = four_artifacts();
    let gh = sandbox.faults(Service::GitHub);
    gh.only_paths_containing("/assets");
    gh.only_method(http::Method::POST);
    gh.fail_next(1, Fault::retry_after(429, 3600));
    let o = run(crate::util::sign_upload(
        &sandbox,
        work.dir.path(),
        &["dist"],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let after = crate::util::asked_after_the_limit(&sandbox);
    assert!(after.is_empty(), "{after:?}");
    let shown = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        shown
            .matches("not attempted: GitHub's API rate limit ran out")
            .count(),
        3,
        "{shown}"
    );

    // The same when the limit is met reading the release's assets, before
    // any upload (bundles only: each artifact's asset is looked at).
    let sandbox = Sandbox::start().await.unwrap();
    let work = four_artifacts();
    let gh = sandbox.faults(Service::GitHub);
    gh.only_paths_containing("/assets");
    gh.only_method(http::Method::GET);
    gh.fail_next(1, Fault::retry_after(429, 3600));
    let o = run(crate::util::sign_upload(
        &sandbox,
        work.dir.path(),
        &["dist"],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let after = crate::util::asked_after_the_limit(&sandbox);
    assert!(after.is_empty(), "{after:?}");
    assert!(
        stdout(&o).contains(
            "not attempted: GitHub's API rate limit ran out at reading the release's assets"
        ),
        "{}",
        stdout(&o)
    );
}

/// Retries are bounded; the final error names the asset, the attempts and why.
#[tokio::test(flavor = "multi_thread")]
async fn retries_are_bounded_and_the_error_names_the_asset() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let bundle = work.file("a.sigstore.json", "{}");
    let releases = client(&sandbox);
    let release = releases.find("v1.0.0").await.unwrap();
    sandbox
        .faults(Service::GitHub)
        .fail_next(4, Fault::status(503));
    let e = releases
        .put(&release, "a.sigstore.json", &bundle)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`a.sigstore.json`") && e.contains("after 4 attempts") && e.contains("503"),
        "{e}"
    );
    assert!(sandbox.github().assets(REPO, "v1.0.0").is_empty());
}

/// The published release v1.0.0 holding `a.sigstore.json` with "old",
/// and a local bundle of that name with "new" in `work`: a client, the
/// release, and that file.
async fn an_old_bundle_on_the_release(
    sandbox: &Sandbox,
    work: &Work,
) -> (
    Releases,
    releasekit_sign::github::Release,
    std::path::PathBuf,
) {
    let bundle = work.file("a.sigstore.json", "new");
    let releases = client(sandbox);
    let release = releases.find("v1.0.0").await.unwrap();
    releases
        .put(&release, "a.sigstore.json", &bundle)
        .await
        .unwrap();
    assert!(sandbox
        .github()
        .replace_asset_content(REPO, "v1.0.0", "a.sigstore.json", "old"));
    (releases, release, bundle)
}

/// The names and bytes of release v1.0.0's assets.
fn contents_of(gh: &releasekit_sandbox::github::GitHub) -> Vec<(String, Vec<u8>)> {
    gh.assets(REPO, "v1.0.0")
        .into_iter()
        .map(|a| (a.name, a.content.to_vec()))
        .collect()
}

/// Different content under the same name: an error naming the asset, unless
/// overwrite, which replaces it (still one asset).
#[tokio::test(flavor = "multi_thread")]
async fn different_content_needs_overwrite() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let (releases, release, bundle) = an_old_bundle_on_the_release(&sandbox, &work).await;
    let e = releases
        .put(&release, "a.sigstore.json", &bundle)
        .await
        .unwrap_err();
    assert!(matches!(e, ReleaseError::AssetDiffers { ref name, .. } if name == "a.sigstore.json"));
    assert!(e.to_string().contains("--overwrite"), "{e}");
    let up = releases
        .upload(
            &release,
            "a.sigstore.json",
            &bundle,
            as_checked(&file_digest(&bundle)),
            true,
            &identical_only,
        )
        .await
        .unwrap();
    assert_eq!(up.action, AssetAction::Replaced);
    let assets = sandbox.github().assets(REPO, "v1.0.0");
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0].content.as_ref(), b"new");
}

/// Replacing an asset of a published release never leaves it without
/// one: the new bytes go up beside it first. Their upload failing leaves
/// the old asset; their rename failing (after the old one was deleted)
/// leaves them under the name beside, which the next upload takes as they
/// are. Regression: the asset was deleted first, and a failed upload left
/// the release without it.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_replacement_leaves_the_old_asset_or_the_new_one() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let (releases, release, bundle) = an_old_bundle_on_the_release(&sandbox, &work).await;
    assert!(!release.draft);
    let gh = sandbox.github();
    let digest = file_digest(&bundle);
    let replace = || {
        releases.upload(
            &release,
            "a.sigstore.json",
            &bundle,
            as_checked(&digest),
            true,
            &identical_only,
        )
    };
    let contents = || contents_of(gh);
    // Every upload of the new bytes fails.
    let faults = sandbox.faults(Service::GitHub);
    faults.only_bodies_containing(b"new".to_vec());
    faults.fail_next(100, Fault::status(503));
    assert!(replace().await.is_err());
    assert_eq!(contents(), [("a.sigstore.json".into(), b"old".to_vec())]);

    // Every rename fails: the old asset is gone, the new bytes are there.
    faults.clear();
    faults.only_bodies_containing(b"\"name\"".to_vec());
    faults.fail_next(100, Fault::status(503));
    assert!(replace().await.is_err());
    assert_eq!(
        contents(),
        [(
            "a.sigstore.json.releasekit-replacement".into(),
            b"new".to_vec()
        )]
    );

    // The next upload takes them up, as they are: one upload in all.
    faults.clear();
    let posts = || {
        sandbox
            .requests(Service::GitHub)
            .iter()
            .filter(|r| r.method == "POST")
            .count()
    };
    let before = posts();
    let up = replace().await.unwrap();
    assert_eq!(up.name, "a.sigstore.json");
    assert_eq!(posts(), before);
    assert_eq!(contents(), [("a.sigstore.json".into(), b"new".to_vec())]);
}

/// Where only a replacement's bytes are left (the old asset deleted, the
/// rename failed), an upload of other bytes under the name (a re-run on a
/// fresh runner signs anew) removes them only once its own are up: with
/// every such upload failing, they stay. Regression: they were deleted
/// first, and the release held neither.
#[tokio::test(flavor = "multi_thread")]
async fn a_leftover_replacement_stays_until_other_bytes_are_up() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let (releases, release, bundle) = an_old_bundle_on_the_release(&sandbox, &work).await;
    let gh = sandbox.github();
    let upload = |file: &std::path::Path, overwrite: bool| {
        let digest = file_digest(file);
        let releases = &releases;
        let release = &release;
        let file = file.to_owned();
        async move {
            releases
                .upload(
                    release,
                    "a.sigstore.json",
                    &file,
                    as_checked(&digest),
                    overwrite,
                    &identical_only,
                )
                .await
        }
    };
    let contents = || contents_of(gh);
    let faults = sandbox.faults(Service::GitHub);
    faults.only_bodies_containing(b"\"name\"".to_vec());
    faults.fail_next(100, Fault::status(503));
    assert!(upload(&bundle, true).await.is_err());
    let left = [(
        "a.sigstore.json.releasekit-replacement".to_owned(),
        b"new".to_vec(),
    )];
    assert_eq!(contents(), left);

    let newer = work.file("newer.sigstore.json", "newer");
    faults.clear();
    faults.only_bodies_containing(b"newer".to_vec());
    faults.fail_next(100, Fault::status(503));
    assert!(upload(&newer, false).await.is_err());
    assert_eq!(contents(), left);

    faults.clear();
    upload(&newer, false).await.unwrap();
    assert_eq!(contents(), [("a.sigstore.json".into(), b"newer".to_vec())]);
}

/// A delete of the replaced asset that GitHub carried out but whose
/// answer was lost leaves the new bytes beside it (they are then all there
/// is), and the next upload gives them the name. Regression: the new bytes
/// were deleted too, and the release held neither.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_to_the_delete_keeps_the_replacement() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let (_, release, bundle) = an_old_bundle_on_the_release(&sandbox, &work).await;
    let gh = sandbox.github();
    let once = Releases::new(
        &sandbox.urls().github_api,
        REPO.parse().unwrap(),
        &Secret::new(sandbox.github_token()),
        RetryPolicy {
            attempts: 1,
            ..fast()
        },
    )
    .unwrap();
    let digest = file_digest(&bundle);
    let faults = sandbox.faults(Service::GitHub);
    faults.only_method(http::Method::DELETE);
    faults.fail_next(1, Fault::ActedThen(502));
    let again = client(&sandbox);
    let replace = |r| {
        Releases::upload(
            r,
            &release,
            "a.sigstore.json",
            &bundle,
            as_checked(&digest),
            true,
            &identical_only,
        )
    };
    assert!(replace(&once).await.is_err());
    let contents = || contents_of(gh);
    assert_eq!(
        contents(),
        [(
            "a.sigstore.json.releasekit-replacement".into(),
            b"new".to_vec()
        )]
    );
    faults.clear();
    replace(&again).await.unwrap();
    assert_eq!(contents(), [("a.sigstore.json".into(), b"new".to_vec())]);
}

/// A replacement left beside an asset that stays as it is (same bytes, or
/// an equivalent bundle) is removed by the next upload: nothing verified
/// it. Regression: it stayed, and a published release listed it as an
/// unsigned artifact.
#[tokio::test(flavor = "multi_thread")]
async fn a_stray_replacement_is_removed_when_the_asset_stays() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let bundle = work.file("a.sigstore.json", "same");
    let releases = client(&sandbox);
    let release = releases.find("v1.0.0").await.unwrap();
    releases
        .put(&release, "a.sigstore.json", &bundle)
        .await
        .unwrap();
    let gh = sandbox.github();
    assert!(gh.insert_asset_unchecked(
        REPO,
        "v1.0.0",
        "a.sigstore.json.releasekit-replacement",
        "x"
    ));
    let fresh = client(&sandbox);
    let up = fresh
        .put(&release, "a.sigstore.json", &bundle)
        .await
        .unwrap();
    assert_eq!(up.action, AssetAction::Unchanged);
    let names: Vec<String> = gh
        .assets(REPO, "v1.0.0")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["a.sigstore.json"]);
}

/// Drafts are found by listing (GitHub never resolves them by tag); a tag
/// without a release is one clear error.
#[tokio::test(flavor = "multi_thread")]
async fn drafts_are_found_and_missing_releases_explained() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .github()
        .create_release(REPO, "v2.0.0-rc1", ReleaseSpec::draft());
    let releases = client(&sandbox);
    let draft = releases.find("v2.0.0-rc1").await.unwrap();
    assert!(draft.draft);
    let e = releases.find("v9.9.9").await.unwrap_err().to_string();
    assert!(
        e.contains("no release for tag `v9.9.9`") && e.contains("gh release create v9.9.9"),
        "{e}"
    );
}

/// GitHub lists each release with all its assets, so in a repository whose
/// releases hold many, a page of 100 releases passes the 32 MiB an answer
/// may be; the listing is then read 10 a page. Regression: a draft there
/// was never found ("larger than 33554432 bytes, more than GitHub sends").
/// Other repositories are still listed 100 a page.
#[tokio::test(flavor = "multi_thread")]
async fn a_draft_is_found_among_releases_of_many_assets() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    gh.create_release(REPO, "v2.0.0-rc1", ReleaseSpec::draft());
    for r in 0..100 {
        let tag = format!("v0.{r}.0");
        gh.create_release(REPO, &tag, ReleaseSpec::published());
        for a in 0..200 {
            gh.insert_asset_unchecked(
                REPO,
                &tag,
                &format!("asset-{a}-of-a-release-of-many-platforms.tar.gz"),
                "x",
            );
        }
    }
    let draft = client(&sandbox).find("v2.0.0-rc1").await.unwrap();
    assert!(draft.draft);
    let listings = |per_page: &str| {
        let asked = format!("per_page={per_page}");
        sandbox
            .requests(Service::GitHub)
            .iter()
            .filter(|r| r.uri.contains("/releases?") && r.uri.split(['?', '&']).any(|q| q == asked))
            .count()
    };
    assert_eq!(listings("100"), 1);
    assert_eq!(listings("10"), 11);

    let small = Sandbox::start().await.unwrap();
    small
        .github()
        .create_release(REPO, "v2.0.0-rc1", ReleaseSpec::draft());
    assert!(client(&small).find("v2.0.0-rc1").await.unwrap().draft);
    assert!(small
        .requests(Service::GitHub)
        .iter()
        .filter(|r| r.uri.contains("/releases?"))
        .all(|r| r.uri.contains("per_page=100")));
}

/// An upload that breaks off leaves an asset in state `starter` on the
/// release, with no bytes and its name taken; the retry deletes it and
/// uploads again. Regression: the retry found it, could not download it to
/// compare, and failed, as did every re-run, until it was deleted by hand.
#[tokio::test(flavor = "multi_thread")]
async fn an_upload_that_broke_off_is_replaced() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let gh = sandbox.github();
    gh.break_next_upload("a.whl");
    gh.break_next_upload("a.whl.sigstore.json");
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["a.whl"]);
    cmd.arg("--upload-artifacts");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), crate::util::stderr(&o));
    let assets = gh.assets(REPO, "v1.0.0");
    assert_eq!(assets.len(), 2, "{assets:?}");
    let requests = sandbox.requests(Service::GitHub);
    let deleted = requests.iter().filter(|r| r.method == "DELETE").count();
    assert_eq!(deleted, 2);
    let consumer = Work::new();
    let o = run(crate::verify_release::verify_release(
        &sandbox,
        &consumer,
        &["--download", "got"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

/// An artifact whose upload fails (here: the release holds another file of
/// its name) keeps its bundle off the release too. Regression: the bundle
/// was uploaded beside the other file, a pair that fails verification.
#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_is_not_uploaded_when_its_artifact_was_not() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("b.whl", "b");
    let gh = sandbox.github();
    assert!(gh.insert_asset_unchecked(REPO, "v1.0.0", "a.whl", "another build"));
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["a.whl", "b.whl"]);
    cmd.arg("--upload-artifacts");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("not uploaded: its artifact's upload failed"),
        "{}",
        stdout(&o)
    );
    let names = crate::util::asset_names(&gh.assets(REPO, "v1.0.0"));
    assert_eq!(names, ["a.whl", "b.whl", "b.whl.sigstore.json"]);
}

/// A name whose first character GitHub renames (`é.bin`) is found again on
/// a re-run whichever way GitHub orders its renaming rules (the period
/// that replaces `é`, and the `default` a leading period gets): the
/// re-run adds nothing. Regression: the predicted name matched neither
/// the listed one nor the name sent, so each re-run uploaded again, was
/// refused as a taken name, and failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_first_character_is_found_again_on_a_rerun() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("é.bin", "e");
    for _ in 0..2 {
        let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["é.bin"]);
        cmd.arg("--upload-artifacts");
        let o = run(cmd).await;
        assert_eq!(code(&o), 0, "{}", stdout(&o));
    }
    assert_eq!(sandbox.github().assets(REPO, "v1.0.0").len(), 2);
}

/// GitHub lists a run of renamed characters as one period, drops trailing
/// ones and transliterates letters: a re-run finds `App (1).zip` as
/// `App.1.zip` and `Café-ð.zip` as `Cafe-d.zip`, and adds nothing.
/// Regression: it looked for `App..1..zip` (then `Caf.-..zip`), uploaded
/// again, met "already_exists" on every attempt, and the draft was never
/// published.
#[tokio::test(flavor = "multi_thread")]
async fn a_name_github_collapses_is_found_again_on_a_rerun() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("App (1).zip", "app");
    work.file("tool~linux!!.tgz", "tool");
    work.file("pkg@1.0.tgz", "pkg");
    work.file("Café-ð.zip", "cafe");
    for _ in 0..2 {
        let mut cmd = crate::util::sign_upload(
            &sandbox,
            work.dir.path(),
            &[
                "App (1).zip",
                "tool~linux!!.tgz",
                "pkg@1.0.tgz",
                "Café-ð.zip",
            ],
        );
        cmd.arg("--upload-artifacts");
        let o = run(cmd).await;
        assert_eq!(code(&o), 0, "{}", stdout(&o));
    }
    let names = crate::util::asset_names(&sandbox.github().assets(REPO, "v1.0.0"));
    assert_eq!(
        names,
        [
            "App.1.zip",
            "App.1.zip.sigstore.json",
            "Cafe-d.zip",
            "Cafe-d.zip.sigstore.json",
            "pkg.1.0.tgz",
            "pkg.1.0.tgz.sigstore.json",
            "tool.linux.tgz",
            "tool.linux.tgz.sigstore.json"
        ]
    );
}

/// Uploading bundles only, to a release that holds an artifact's name with
/// other bytes (another build of it): that artifact's bundle is not put
/// beside it, whatever the release mode; the others are. Regression: only
/// publishing a draft checked it, so in `existing` mode the release was
/// left with a pair that fails verification.
#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_is_not_put_beside_another_build_of_its_artifact() {
    let o = a_bundle_held_back(|gh| {
        gh.insert_asset_unchecked(REPO, "v1.0.0", "a.whl", "another build")
    })
    .await;
    assert!(
        o.contains("asset `a.whl` of the release for v1.0.0 is not the artifact this run signed"),
        "{o}"
    );
}

/// Signs and uploads the bundles of `a.whl` and `b.whl` to a release that
/// `prepare` gave an asset named `a.whl` of other bytes: the run fails, and
/// only `b.whl`'s bundle goes up beside it. Its stdout.
async fn a_bundle_held_back(
    prepare: impl FnOnce(&releasekit_sandbox::github::GitHub) -> bool,
) -> String {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("b.whl", "b");
    let gh = sandbox.github();
    assert!(prepare(gh));
    let cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["a.whl", "b.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let names = crate::util::asset_names(&gh.assets(REPO, "v1.0.0"));
    assert_eq!(names, ["a.whl", "b.whl.sigstore.json"]);
    stdout(&o)
}

/// Uploading bundles only, to a release holding an artifact's name as an
/// asset that cannot be read (another step's upload, broken off or still
/// going on: no digest listed, its download not found): that artifact's
/// bundle stays off, saying why; the others go up. Regression: every
/// bundle was refused, as if the release could not be listed.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_asset_holds_back_its_own_bundle_only() {
    let o = a_bundle_held_back(|gh| gh.begin_upload_elsewhere(REPO, "v1.0.0", "a.whl")).await;
    assert!(
        o.contains("the release's asset `a.whl`, of its artifact's name, could not be read"),
        "{o}"
    );
    assert!(!o.contains("could not be listed"), "{o}");
}

/// An upload of the same name still going on elsewhere (GitHub lists the
/// asset as `open`) is neither read nor replaced, even with --overwrite:
/// the asset fails saying so, after looking again a few times. Regression:
/// it was downloaded to be compared, and with --overwrite deleted.
#[tokio::test(flavor = "multi_thread")]
async fn an_upload_in_progress_elsewhere_is_left_alone() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let gh = sandbox.github();
    assert!(gh.begin_upload_elsewhere(REPO, "v1.0.0", "a.whl.sigstore.json"));
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["a.whl"]);
    cmd.arg("--overwrite");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("another upload of `a.whl.sigstore.json` is in progress on the release (GitHub lists it as `open`)"),
        "{}",
        stdout(&o)
    );
    let requests = sandbox.requests(Service::GitHub);
    assert!(!requests.iter().any(|r| r.method == "DELETE"), "deleted");
    assert_eq!(gh.assets(REPO, "v1.0.0").len(), 1);
}

/// Two artifacts that would be one release asset (a release names an asset
/// by its file name alone, renamed as GitHub renames it) are refused before
/// anything is signed, whether the artifacts or only their bundles go up.
/// Regression: both were signed; the second's bundle failed as different
/// from the first's, or with --overwrite replaced it, on every re-run.
#[tokio::test(flavor = "multi_thread")]
async fn two_files_that_are_one_asset_are_refused_before_signing() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/linux/tool", "linux");
    work.file("dist/mac/tool", "mac");
    work.file("a b.tgz", "1");
    work.file("a.b.tgz", "2");
    for (args, first, second, asset) in [
        (
            &["dist/linux/tool", "dist/mac/tool"][..],
            "dist/linux/tool",
            "dist/mac/tool",
            "tool",
        ),
        (
            &["a b.tgz", "a.b.tgz", "--overwrite"],
            "a b.tgz",
            "a.b.tgz",
            "a.b.tgz",
        ),
    ] {
        for artifacts in [false, true] {
            let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), args);
            if artifacts {
                cmd.arg("--upload-artifacts");
            }
            let o = run(cmd).await;
            assert_refused_before_signing(
                &sandbox,
                &o,
                &format!("{first} and {second} would both be the release asset `{asset}`"),
            );
        }
    }
    // Without an upload, each is signed where it is.
    let mut cmd = crate::util::sign(&sandbox, work.dir.path());
    cmd.args(["dist/linux/tool", "dist/mac/tool"]);
    assert_eq!(code(&run(cmd).await), 0);
}

/// A run whose every path is skipped (a bundle named outright, a FIFO)
/// signs nothing: refused as a usage error, as a glob that matches nothing
/// is, before any request. Regression: it printed "Signed 0 of 0", exited
/// 0, and with an upload in draft mode created an empty draft release.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_with_nothing_to_sign_is_refused_and_makes_no_release() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl.sigstore.json", "{}");
    let o = run(crate::util::sign_upload(
        &sandbox,
        work.dir.path(),
        &["dist/a.whl.sigstore.json"],
    ))
    .await;
    assert_refused_before_signing(
        &sandbox,
        &o,
        "nothing to sign: every path given was skipped (dist/a.whl.sigstore.json: a bundle)",
    );
    assert!(sandbox.requests(Service::GitHub).is_empty());
    let mut dry = crate::util::sign(&sandbox, work.dir.path());
    dry.args(["--dry-run", "dist/a.whl.sigstore.json"]);
    assert_eq!(code(&run(dry).await), 2);
}

/// An artifact of 2 GiB or more with --upload-artifacts is refused before
/// anything is signed: GitHub keeps no asset that large. Regression: it was
/// signed and logged for good, and then its upload failed.
#[tokio::test(flavor = "multi_thread")]
async fn an_artifact_too_large_for_a_release_is_refused_before_signing() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    let big = work.file("dist/huge.iso", "");
    // Sparse: the size is what counts, and nothing is read.
    std::fs::File::options()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["dist"]);
    cmd.arg("--upload-artifacts");
    let o = run(cmd).await;
    assert_refused_before_signing(
        &sandbox,
        &o,
        "dist/huge.iso is 2147483648 bytes, and GitHub refuses a release asset of 2 GiB or more",
    );
    assert!(sandbox.requests(Service::GitHub).is_empty());
}

/// More assets than GitHub keeps on a release (1,000) are refused before
/// anything is signed. Regression: every artifact was signed and logged,
/// and the upload failed at the 1,001st asset, leaving a release no re-run
/// could complete.
#[tokio::test(flavor = "multi_thread")]
async fn more_assets_than_a_release_keeps_are_refused_before_signing() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for n in 0..501 {
        work.file(&format!("dist/f{n}.bin"), "x");
    }
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["dist"]);
    cmd.arg("--upload-artifacts");
    let o = run(cmd).await;
    assert_refused_before_signing(
        &sandbox,
        &o,
        "the upload would put 1002 assets on the release, and GitHub keeps at most 1000",
    );
    // Bundles only, the same files fit (a dry run checks it as a run does).
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["dist"]);
    cmd.arg("--dry-run");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", crate::util::stderr(&o));
}

/// Behind a proxy the environment names (HTTP_PROXY, ALL_PROXY, no
/// NO_PROXY), services on this machine (here all of them) are reached
/// directly, as Go's clients (cosign's) reach them. Regression: the identity
/// token for a Fulcio on this machine, allowed plain http because it does
/// not cross the network, was sent through the proxy in the clear.
#[tokio::test(flavor = "multi_thread")]
async fn a_service_on_this_machine_is_never_reached_through_a_proxy() {
    let sandbox = Sandbox::start().await.unwrap();
    let proxy = releasekit_sandbox::proxy::Proxy::start().await.unwrap();
    let work = Work::new();
    work.file("a.tgz", "a");
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["a.tgz"]);
    cmd.env("HTTP_PROXY", proxy.url())
        .env("http_proxy", proxy.url())
        .env("ALL_PROXY", proxy.url())
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", crate::util::stderr(&o));
    let sent = proxy.sent();
    assert!(
        sent.is_empty(),
        "sent through the proxy: {}",
        &sent[..sent.len().min(300)]
    );
    assert_eq!(
        sandbox.requests(releasekit_sandbox::Service::Fulcio).len(),
        1
    );
    assert_eq!(sandbox.github().assets(REPO, "v1.0.0").len(), 1);
}

/// An empty artifact with --upload-artifacts is refused before anything is
/// signed: GitHub keeps no empty asset (422, size must be at least 1).
/// Regression: it was signed and logged, its bundle uploaded, and then its
/// upload failed, leaving the release without it.
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_artifact_is_refused_before_signing_when_uploaded() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    work.file("dist/empty.txt", "");
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["dist"]);
    cmd.arg("--upload-artifacts");
    let o = run(cmd).await;
    assert_refused_before_signing(
        &sandbox,
        &o,
        "dist/empty.txt is empty, and GitHub refuses an empty release asset",
    );
    assert_eq!(work.listing(), ["dist/a.whl", "dist/empty.txt"]);
    // Its bundle alone is fine.
    let o = run(crate::util::sign_upload(
        &sandbox,
        work.dir.path(),
        &["dist"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

/// An artifact whose asset would be named as a replacement is named while
/// it goes up (`<asset>.releasekit-replacement`) is refused before anything
/// is signed: the next upload of the asset it would stand beside removes
/// such a name as a replacement left behind. Regression: uploaded, and
/// deleted by the next run, from a published release too.
#[tokio::test(flavor = "multi_thread")]
async fn an_artifact_named_as_a_replacement_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("tool", "tool");
    work.file("tool.releasekit-replacement", "another tool");
    let cmd = crate::util::sign_upload(
        &sandbox,
        work.dir.path(),
        &["tool", "tool.releasekit-replacement"],
    );
    let o = run(cmd).await;
    assert_refused_before_signing(
        &sandbox,
        &o,
        "tool.releasekit-replacement would be the release asset `tool.releasekit-replacement`, a name ending as the replacement of an asset is named while it goes up (the next upload of `tool` would remove it as one left behind); fix: rename it",
    );
}

/// `o` refused as a usage error (exit 2) saying `said`, before Fulcio was
/// asked for a certificate: nothing was signed or logged.
fn assert_refused_before_signing(sandbox: &Sandbox, o: &std::process::Output, said: &str) {
    assert_eq!(code(o), 2, "{}", stdout(o));
    let err = stderr(o);
    assert!(err.contains(said), "{err}");
    assert!(
        sandbox.requests(Service::Fulcio).is_empty(),
        "signed before refusing: {err}"
    );
}
