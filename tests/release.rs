//! The release lifecycle seen from outside: re-runs on a fresh runner, what
//! landed on the release is verified (not only compared), drafts created,
//! filled and published in the order immutable releases require, matrix jobs.

use std::time::Duration;

use releasekit_sandbox::github::ReleaseSpec;
use releasekit_sandbox::{Fault, Sandbox, Service};

use crate::util::{code, run, sign, stderr, stdout, Work};

const REPO: &str = "octo-org/octo-repo";
const TAG: &str = "v1.0.0";

/// `sign dist --upload` for the sandbox's release, from `work`.
fn upload(sandbox: &Sandbox, work: &Work, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = sign(sandbox, work.dir.path());
    cmd.args(["dist", "--upload", "--release-tag", TAG, "--repo", REPO])
        .args(extra)
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .env("GITHUB_TOKEN", sandbox.github_token());
    cmd
}

fn asset_bytes(sandbox: &Sandbox) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = sandbox
        .github()
        .assets(REPO, TAG)
        .into_iter()
        .map(|a| (a.name, a.content.to_vec()))
        .collect();
    v.sort();
    v
}

/// A re-run of the job on a fresh runner signs again (no local bundle), so its
/// bundle differs byte-wise from the one already on the release. That asset is
/// a valid bundle for the same artifact and signer: it is kept, the run
/// succeeds, and the release is unchanged. Regression: the re-run failed with
/// "already exists with different content" unless `overwrite`.
#[tokio::test(flavor = "multi_thread")]
async fn rerun_on_a_fresh_runner_keeps_the_equivalent_bundle() {
    let sandbox = Sandbox::start().await.unwrap();
    let first = Work::new();
    first.file("dist/app-1.0.tar.gz", "the same tarball");
    let o = run(upload(&sandbox, &first, &[])).await;
    assert_eq!(code(&o), 0);
    let before = asset_bytes(&sandbox);
    assert_eq!(before.len(), 1);

    let fresh = Work::new();
    fresh.file("dist/app-1.0.tar.gz", "the same tarball");
    let o = run(upload(&sandbox, &fresh, &[])).await;
    assert_eq!(code(&o), 0);
    let local = std::fs::read(fresh.path("dist/app-1.0.tar.gz.sigstore.json")).unwrap();
    assert_ne!(local, before[0].1, "a re-sign makes new bytes");
    assert!(
        stdout(&o).contains(
            "app-1.0.tar.gz.sigstore.json: kept: an equivalent bundle is already on the release"
        ),
        "{}",
        stdout(&o)
    );
    assert_eq!(asset_bytes(&sandbox), before, "no asset added or changed");
    // Nothing was deleted or uploaded by the second run.
    let mutations = sandbox
        .requests(Service::GitHub)
        .iter()
        .filter(|r| r.method == "POST" || r.method == "DELETE")
        .count();
    assert_eq!(mutations, 1);
}

/// Other artifact content under the same name: the bundle on the release does
/// not verify for this artifact, so the run fails naming the asset.
#[tokio::test(flavor = "multi_thread")]
async fn rerun_with_other_content_fails_naming_the_asset() {
    let sandbox = Sandbox::start().await.unwrap();
    let first = Work::new();
    first.file("dist/app-1.0.tar.gz", "the first tarball");
    assert_eq!(code(&run(upload(&sandbox, &first, &[])).await), 0);
    let before = asset_bytes(&sandbox);

    let other = Work::new();
    other.file("dist/app-1.0.tar.gz", "a different tarball");
    let o = run(upload(&sandbox, &other, &[])).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains("app-1.0.tar.gz.sigstore.json")
            && out.contains("not an equivalent bundle")
            && out.contains("digest mismatch")
            && out.contains("--overwrite"),
        "{out}"
    );
    assert_eq!(asset_bytes(&sandbox), before);

    // With --overwrite the asset is replaced by this run's bundle.
    let o = run(upload(&sandbox, &other, &["--overwrite"])).await;
    assert_eq!(code(&o), 0);
    let after = asset_bytes(&sandbox);
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0].1,
        std::fs::read(other.path("dist/app-1.0.tar.gz.sigstore.json")).unwrap()
    );
}

/// The post-upload check verifies what a consumer downloads: a download that
/// comes back as something else (here a short malformed body) fails the
/// run, naming the asset. (`corrupt_next_upload` covers bytes of the right
/// length that do not verify.)
#[tokio::test(flavor = "multi_thread")]
async fn landed_asset_is_verified_not_trusted() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-1.0.tar.gz", "tarball");
    // The bytes come from the storage GitHub redirects downloads to.
    let gh = sandbox.faults(Service::Storage);
    gh.fail_next(1, Fault::MalformedBody);
    let o = run(upload(&sandbox, &work, &[])).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains(
            "downloading asset `app-1.0.tar.gz.sigstore.json` on release v1.0.0 failed: the server sent "
        ) && out.contains("bytes the release lists for it, so it was refused"),
        "{out}"
    );
    assert_eq!(gh.pending(), 0);
}

/// A file changed between its signing and its upload never reaches the
/// release: an artifact whose bytes are not the signed ones, and a bundle
/// that no longer verifies for its artifact, are refused before a byte of
/// them is sent. Regression: both were uploaded, failed the check after
/// upload, and stayed on the published release ("delete the asset").
#[tokio::test(flavor = "multi_thread")]
async fn files_changed_after_signing_are_never_uploaded() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-1.0.tar.gz", "the signed tarball");
    work.file("dist/app-1.0.whl", "the signed wheel");
    // GitHub answers slowly, so the files change after sign wrote both
    // bundles and before the upload stage reads them.
    sandbox
        .faults(Service::GitHub)
        .set_latency(Duration::from_millis(1500), Duration::ZERO);
    let running = tokio::spawn(run(upload(&sandbox, &work, &["--upload-artifacts"])));
    let (tgz, whl) = (
        work.path("dist/app-1.0.tar.gz.sigstore.json"),
        work.path("dist/app-1.0.whl.sigstore.json"),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !(tgz.exists() && whl.exists()) {
        assert!(
            std::time::Instant::now() < deadline,
            "no bundles were written"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    std::fs::write(work.path("dist/app-1.0.tar.gz"), "a tampered tarball").unwrap();
    // A genuine bundle, for another artifact.
    std::fs::copy(&tgz, &whl).unwrap();
    let o = running.await.unwrap();

    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let on_release = asset_bytes(&sandbox);
    let names: Vec<&str> = on_release.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["app-1.0.whl"],
        "only what still verifies went up, and no bundle without its artifact"
    );
    assert!(on_release
        .iter()
        .all(|(_, b)| !b.starts_with(b"a tampered")));
    let out = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        out.contains("app-1.0.tar.gz is not the file that was checked (its SHA-256 is"),
        "{out}"
    );
    assert!(
        out.contains("app-1.0.whl.sigstore.json does not verify as it is on disk now"),
        "{out}"
    );
    // Nothing was sent for either: no POST names them.
    let posted: Vec<String> = sandbox
        .requests(Service::GitHub)
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.uri)
        .collect();
    assert!(
        posted
            .iter()
            .all(|u| !u.ends_with("name=app-1.0.tar.gz") && !u.contains("whl.sigstore")),
        "{posted:?}"
    );
}

/// `sign --upload` for `tag` with the lifecycle flags, from `work`.
fn lifecycle(sandbox: &Sandbox, work: &Work, tag: &str, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = sign(sandbox, work.dir.path());
    cmd.args(["dist", "--upload", "--release-tag", tag, "--repo", REPO])
        .args(extra)
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .env("GITHUB_TOKEN", sandbox.github_token())
        .env("GITHUB_SHA", RUN_SHA);
    cmd
}

/// Another writer replaces an asset after the run checked it and before it
/// publishes: the draft is listed again just before publishing, and stays
/// a draft. Regression: it was published with an asset no one had checked.
#[tokio::test(flavor = "multi_thread")]
async fn a_draft_changed_after_its_check_is_not_published() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-8.1.tar.gz", "tarball 8.1");
    // The run lists the draft's assets once to upload; the second listing
    // is the one before publishing.
    let gh = sandbox.github();
    gh.replace_asset_at_listing("app-8.1.tar.gz.sigstore.json", 2);
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v8.1.0",
        &["--release-mode", "draft", "--publish", "--upload-artifacts"],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stderr(&o).contains(
            "asset `app-8.1.tar.gz.sigstore.json` of the draft for v8.1.0 was replaced or removed after this run checked it, so the draft was not published"
        ),
        "{}",
        stderr(&o)
    );
    assert!(gh.release(REPO, "v8.1.0").unwrap().draft);
    // A re-run checks it as it is now, and publishes.
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v8.1.0",
        &[
            "--release-mode",
            "draft",
            "--publish",
            "--upload-artifacts",
            "--overwrite",
        ],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(!gh.release(REPO, "v8.1.0").unwrap().draft);
}

/// Another writer renames a bundle of the draft just as a re-run asks for
/// it again by id: the run no longer takes it for the bundle under its
/// name, uploads that bundle again, and publishes the release with it.
/// Regression: the renamed asset was reported as this run's bundle,
/// "unchanged", and the release published without the bundle.
#[tokio::test(flavor = "multi_thread")]
async fn an_asset_renamed_meanwhile_is_not_taken_for_its_old_name() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.bin", "a");
    work.file("dist/b.bin", "b");
    let draft = ["--release-mode", "draft", "--upload-artifacts"];
    let o = run(lifecycle(&sandbox, &work, "v8.2.0", &draft)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let gh = sandbox.github();
    gh.rename_asset_at_next_get("b.bin.sigstore.json", "zzz.json");
    let publish = ["--release-mode", "draft", "--upload-artifacts", "--publish"];
    let o = run(lifecycle(&sandbox, &work, "v8.2.0", &publish)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(!stdout(&o).contains("zzz.json"), "{}", stdout(&o));
    let release = gh.release(REPO, "v8.2.0").unwrap();
    assert!(!release.draft);
    let names: Vec<String> = gh
        .assets(REPO, "v8.2.0")
        .into_iter()
        .map(|a| a.name)
        .collect();
    for name in [
        "a.bin",
        "a.bin.sigstore.json",
        "b.bin",
        "b.bin.sigstore.json",
    ] {
        assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
    }
}

/// A publish GitHub carried out but whose every answer was lost is said as
/// published (the release is asked for again). Regression: the run reported a draft that was not one, with
/// its dead draft links, and failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_publish_whose_answers_were_lost_is_said_as_published() {
    use releasekit_sandbox::{Fault, Service};
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-8.2.tar.gz", "tarball 8.2");
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v8.2.0",
        &["--release-mode", "draft"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let gh = sandbox.github();
    let id = gh.release(REPO, "v8.2.0").unwrap().id;
    let faults = sandbox.faults(Service::GitHub);
    faults.only_paths_ending_with(format!("/releases/{id}"));
    // Each PATCH is carried out, and its answer cut halfway.
    faults.fail_next(4, Fault::DropConnection);
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v8.2.0",
        &[
            "--release-mode",
            "draft",
            "--publish",
            "--upload-artifacts",
            "--json",
        ],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(faults.pending(), 0, "every publish answer was lost");
    assert!(!gh.release(REPO, "v8.2.0").unwrap().draft);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["upload"]["published"], true, "{report}");
    assert_eq!(report["upload"]["draft"], false, "{report}");
}

/// GitHub answers the publish with the release still a draft (200, the
/// draft as it was): the run fails saying so and reports no publish.
/// Regression: "published", exit 0, for a release still a draft.
#[tokio::test(flavor = "multi_thread")]
async fn a_publish_answered_with_a_draft_is_not_said_as_published() {
    use releasekit_sandbox::{Fault, Service};
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-8.3.tar.gz", "tarball 8.3");
    let draft = ["--release-mode", "draft", "--upload-artifacts"];
    let o = run(lifecycle(&sandbox, &work, "v8.3.0", &draft)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let gh = sandbox.github();
    let id = gh.release(REPO, "v8.3.0").unwrap().id;
    let url = format!("{}/repos/{REPO}/releases/{id}", sandbox.urls().github_api);
    let as_it_is = reqwest::Client::new()
        .get(&url)
        .bearer_auth(sandbox.github_token())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(as_it_is.contains("\"draft\":true"), "{as_it_is}");
    let faults = sandbox.faults(Service::GitHub);
    faults.only_paths_ending_with(format!("/releases/{id}"));
    faults.only_method(reqwest::Method::PATCH);
    faults.fail_next(1, Fault::status_body(200, as_it_is));
    let publish = [
        "--release-mode",
        "draft",
        "--upload-artifacts",
        "--publish",
        "--json",
    ];
    let o = run(lifecycle(&sandbox, &work, "v8.3.0", &publish)).await;
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(faults.pending(), 0);
    assert!(gh.release(REPO, "v8.3.0").unwrap().draft);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_ne!(report["upload"]["published"], true, "{report}");
    assert!(
        report
            .to_string()
            .contains("with the release still a draft, so it is not published"),
        "{report}"
    );
}

/// An asset already on the draft that cannot be downloaded back (here a
/// redirect to no URL to follow) is not judged by what was not seen: it
/// stays on the draft, unchecked, and the draft is not published; one that
/// comes back as other bytes is deleted as before. Regression: any failure
/// to download deleted the asset, though it may have been valid.
#[tokio::test(flavor = "multi_thread")]
async fn an_asset_that_cannot_be_read_back_is_left_on_the_draft() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-8.0.tar.gz", "tarball 8");
    let args = ["--release-mode", "draft"];
    let o = run(lifecycle(&sandbox, &work, "v8.0.0", &args)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let name = "app-8.0.tar.gz.sigstore.json";
    let gh = sandbox.github();
    gh.redirect_next_download(name, "ftp://storage.example/x");
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v8.0.0",
        &["--release-mode", "draft", "--publish", "--upload-artifacts"],
    ))
    .await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains("it was left on the release unchecked: re-run to check it"),
        "{out}"
    );
    let draft = gh.release(REPO, "v8.0.0").unwrap();
    assert!(draft.draft);
    assert!(draft.assets.iter().any(|a| a.name == name), "{out}");

    // The next run reads it back, and publishes.
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v8.0.0",
        &["--release-mode", "draft", "--publish", "--upload-artifacts"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(!gh.release(REPO, "v8.0.0").unwrap().draft);
}

/// Publishing fails once every asset landed and verified: the run fails,
/// and its report still says what is on the release. Regression: the whole
/// upload report was dropped (`--json` and the action's outputs lost every
/// asset's status).
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_publish_keeps_the_upload_report() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-7.0.tar.gz", "tarball 7");
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v7.0.0",
        &["--release-mode", "draft"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let id = sandbox.github().release(REPO, "v7.0.0").unwrap().id;
    let faults = sandbox.faults(Service::GitHub);
    faults.only_paths_ending_with(format!("/releases/{id}"));
    faults.fail_next(8, Fault::status(500));
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v7.0.0",
        &[
            "--release-mode",
            "draft",
            "--publish",
            "--upload-artifacts",
            "--json",
        ],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        r["upload_error"].as_str().unwrap().contains("publishing"),
        "{r:#}"
    );
    assert_eq!(r["upload"]["published"], false, "{r:#}");
    assert_eq!(r["upload"]["assets"][0]["checked"], true, "{r:#}");
    assert!(sandbox.github().release(REPO, "v7.0.0").unwrap().draft);
}

/// The commit `lifecycle` runs at, `GITHUB_SHA`: the sandbox's default token's `sha`, as in a real job.
const RUN_SHA: &str = "a3f1c5e9b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2";

/// A draft left by a run at another commit, for a tag that does not exist
/// yet, is refused before anything is uploaded: publishing it would create
/// the tag at that commit, under assets signed at this run's (which
/// `verify --release` then refuses). Regression: it was filled and published,
/// and the tag made at the stale draft's commit.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_draft_of_another_commit_is_not_published() {
    let sandbox = Sandbox::start().await.unwrap();
    let other = "fedcba9876543210fedcba9876543210fedcba98";
    sandbox.github().create_release(
        REPO,
        "v9.0.0",
        ReleaseSpec {
            target_commitish: Some(other.into()),
            ..ReleaseSpec::draft()
        },
    );
    let work = Work::new();
    work.file("dist/app-9.0.tar.gz", "tarball 9");
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v9.0.0",
        &["--release-mode", "draft", "--publish", "--upload-artifacts"],
    ))
    .await;
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "the draft release for tag `v9.0.0` was made for commit {other}, but this run is at commit {RUN_SHA}"
        )),
        "{}",
        stderr(&o)
    );
    let gh = sandbox.github();
    let draft = gh.release(REPO, "v9.0.0").unwrap();
    assert!(draft.draft && draft.assets.is_empty());
    assert!(gh.tag_ref(REPO, "v9.0.0").is_none());

    // Where the tag exists, it decides: the same draft is filled and published.
    gh.set_tag(REPO, "v9.0.0", RUN_SHA);
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v9.0.0",
        &[
            "--release-mode",
            "draft",
            "--publish",
            "--upload-artifacts",
            "--overwrite",
        ],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!gh.release(REPO, "v9.0.0").unwrap().draft);
}

/// Two matrix jobs whose listings both lagged each kept the draft it
/// created, and filled it: the job that publishes settles on the oldest,
/// and does not publish it while the other holds assets it lacks; an empty
/// other draft (a job's that lost, or a killed run's) does not hold it back.
/// Regression: the oldest was published, the other job's assets left behind
/// on a draft.
#[tokio::test(flavor = "multi_thread")]
async fn a_draft_is_not_published_while_another_of_its_tag_holds_assets() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    let oldest = gh.create_release(REPO, "v9.1.0", ReleaseSpec::draft());
    let other = gh.create_release(REPO, "v9.1.0", ReleaseSpec::draft());
    assert!(gh.push_asset_to_release(REPO, other, "tool-windows.exe", "a build"));
    let work = Work::new();
    work.file("dist/SHA256SUMS", "sums");
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v9.1.0",
        &["--release-mode", "draft", "--publish", "--upload-artifacts"],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stderr(&o).contains("tag `v9.1.0` has 1 other draft(s) holding assets (")
            && stderr(&o).contains(
                "), which jobs that did not see this draft in time filled instead, so this draft was not published"
            ),
        "{}",
        stderr(&o)
    );
    // Every asset verified: the refusal is not told as a failed upload
    // that a re-run finishes. Regression: "not every asset verified;
    // re-run to finish it".
    assert!(
        stdout(&o).contains("Release v9.1.0 stays a draft (not published): its assets verified, but publishing was refused (the error says why and what to fix before a re-run)")
            && !stdout(&o).contains("not every asset verified"),
        "{}",
        stdout(&o)
    );
    let kept = gh.release_by_id(REPO, oldest).unwrap();
    assert!(kept.draft);
    assert_eq!(
        crate::util::asset_names(&kept.assets),
        ["SHA256SUMS", "SHA256SUMS.sigstore.json"]
    );
    assert!(gh.release_by_id(REPO, other).unwrap().draft);

    let oldest = gh.create_release(REPO, "v9.2.0", ReleaseSpec::draft());
    let empty = gh.create_release(REPO, "v9.2.0", ReleaseSpec::draft());
    // Deleted (by the job that lost) between its listing and its assets'.
    let faults = sandbox.faults(Service::GitHub);
    faults.only_paths_ending_with(format!("/releases/{empty}/assets"));
    faults.fail_next(1, Fault::status(404));
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v9.2.0",
        &["--release-mode", "draft", "--publish", "--upload-artifacts"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(faults.pending(), 0);
    assert!(!gh.release_by_id(REPO, oldest).unwrap().draft);
    assert!(gh.release_by_id(REPO, empty).unwrap().draft);
}

/// A tag an immutable release used stays reserved once that release is
/// deleted: creating the draft again is refused, and the run says the tag
/// is reserved for good and to release under a new one (a usage error).
/// Regression: a generic API failure, exit 1, "re-run".
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_an_immutable_release_used_is_said_reserved() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.github().set_repo_immutable(REPO, true);
    let work = Work::new();
    work.file("dist/app-9.3.tar.gz", "tarball 9.3");
    let flags = ["--release-mode", "draft", "--publish", "--upload-artifacts"];
    let o = run(lifecycle(&sandbox, &work, "v9.3.0", &flags)).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let gh = sandbox.github();
    let released = gh.release(REPO, "v9.3.0").unwrap();
    assert!(!released.draft && released.immutable);
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/repos/{REPO}/releases/{}",
            sandbox.urls().github_api,
            released.id
        ))
        .bearer_auth(sandbox.github_token())
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{deleted:?}");
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v9.3.0",
        &[
            "--release-mode",
            "draft",
            "--publish",
            "--upload-artifacts",
            "--overwrite",
        ],
    ))
    .await;
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("tag_name was used by an immutable release")
            && stderr(&o).contains("fix: release under a new tag"),
        "{}",
        stderr(&o)
    );
    assert!(gh.releases_for_tag(REPO, "v9.3.0").is_empty());
}

/// Publishing makes the release the repository's latest, as GitHub does
/// by default; `--make-latest false` publishes a backport without taking
/// that from the newer release; `--make-latest` without `--publish` is a
/// usage error naming both.
#[tokio::test(flavor = "multi_thread")]
async fn a_backport_is_published_without_becoming_the_latest() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    let work = Work::new();
    work.file("dist/app-2.0.tar.gz", "tarball 2.0");
    let publish = ["--release-mode", "draft", "--publish", "--upload-artifacts"];
    let o = run(lifecycle(&sandbox, &work, "v2.0.0", &publish)).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(gh.latest(REPO).unwrap().tag, "v2.0.0");

    let backport = Work::new();
    backport.file("dist/app-1.9.tar.gz", "tarball 1.9.1");
    let o = run(lifecycle(
        &sandbox,
        &backport,
        "v1.9.1",
        &[
            "--release-mode",
            "draft",
            "--publish",
            "--upload-artifacts",
            "--make-latest",
            "false",
        ],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!gh.release(REPO, "v1.9.1").unwrap().draft);
    assert_eq!(gh.latest(REPO).unwrap().tag, "v2.0.0");
    let latest: serde_json::Value = reqwest::get(format!(
        "{}/repos/{REPO}/releases/latest",
        sandbox.urls().github_api
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(latest["tag_name"], "v2.0.0");

    // GitHub's default, as before: the newly published one is the latest.
    let another = Work::new();
    another.file("dist/app-1.8.tar.gz", "tarball 1.8.9");
    let o = run(lifecycle(&sandbox, &another, "v1.8.9", &publish)).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(gh.latest(REPO).unwrap().tag, "v1.8.9");

    let o = run(lifecycle(
        &sandbox,
        &another,
        "v1.8.9",
        &["--release-mode", "draft", "--make-latest", "true"],
    ))
    .await;
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--make-latest") && stderr(&o).contains("--publish"),
        "{}",
        stderr(&o)
    );
}

/// A draft marked a pre-release (another tool's, say) is never made the
/// latest by GitHub: `--make-latest true` is refused before anything is
/// signed into it or uploaded, naming the fix; without it, it publishes.
/// Regression: everything went up, then GitHub refused the publish.
#[tokio::test(flavor = "multi_thread")]
async fn a_prerelease_draft_is_not_made_the_latest() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    let id = gh.create_release(
        REPO,
        "v3.0.0-rc1",
        ReleaseSpec {
            prerelease: true,
            ..ReleaseSpec::draft()
        },
    );
    let work = Work::new();
    work.file("dist/app-3.0.tar.gz", "tarball 3.0 rc1");
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v3.0.0-rc1",
        &[
            "--release-mode",
            "draft",
            "--publish",
            "--upload-artifacts",
            "--make-latest",
            "true",
        ],
    ))
    .await;
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the draft for tag `v3.0.0-rc1` is marked a pre-release")
            && stderr(&o).contains("fix: unmark it as a pre-release"),
        "{}",
        stderr(&o)
    );
    let draft = gh.release_by_id(REPO, id).unwrap();
    assert!(draft.draft && draft.assets.is_empty());

    let o = run(lifecycle(
        &sandbox,
        &work,
        "v3.0.0-rc1",
        &[
            "--release-mode",
            "draft",
            "--publish",
            "--upload-artifacts",
            "--overwrite",
        ],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!gh.release_by_id(REPO, id).unwrap().draft);
    assert!(gh.latest(REPO).is_none_or(|r| r.id != id));
}

/// `sign --upload` for `tag` as a GitHub Actions job at commit `sha` (its
/// token's `sha` claim, which its certificates name, and `GITHUB_SHA`).
fn at_commit(
    sandbox: &Sandbox,
    work: &Work,
    tag: &str,
    sha: &str,
    extra: &[&str],
) -> assert_cmd::Command {
    let mut claims = sandbox.default_claims();
    claims.sha = sha.into();
    let token = sandbox.token_with(&claims, Duration::from_secs(600));
    with_token(sandbox, work, tag, sha, &token, extra)
}

/// [`at_commit`] with `token`.
fn with_token(
    sandbox: &Sandbox,
    work: &Work,
    tag: &str,
    sha: &str,
    token: &str,
    extra: &[&str],
) -> assert_cmd::Command {
    let mut cmd = crate::util::bin(work.dir.path());
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["--identity-token", token])
        .args(["dist", "--upload", "--release-tag", tag, "--repo", REPO])
        .args(extra)
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .env("GITHUB_TOKEN", sandbox.github_token())
        .env("GITHUB_SHA", sha);
    cmd
}

/// A re-run that only keeps the bundles it finds (every artifact has one)
/// asks Fulcio nothing, yet its token's claims decide what is kept and
/// uploaded: an expired token is refused there too, before GitHub is asked
/// anything. Regression: kept and uploaded, exit 0, under the claims of a
/// token anyone could copy from a log.
#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_keeping_its_bundles_refuses_an_expired_token() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-9.8.tar.gz", "tarball 9.8");
    let draft = ["--release-mode", "draft"];
    let o = run(at_commit(&sandbox, &work, "v9.8.0", RUN_SHA, &draft)).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(work.path("dist/app-9.8.tar.gz.sigstore.json").exists());

    let mut claims = sandbox.default_claims();
    claims.sha = RUN_SHA.into();
    let token = sandbox.token_with(&claims, Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let cmd = with_token(&sandbox, &work, "v9.8.0", RUN_SHA, &token, &draft);
    let asked = sandbox.requests(Service::GitHub).len();
    let o = run(cmd).await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(stderr(&o).contains("expired"), "{}", stderr(&o));
    assert_eq!(sandbox.requests(Service::GitHub).len(), asked);
}

/// A draft filled by a run at one commit, then the tag moved to another and
/// the job run there: the bundles on the draft, though the same workflow's
/// for the same bytes, were made at the old commit, which `verify
/// --release` refuses. They are not this run's: without --overwrite the
/// run fails and the draft stays one; with it they are replaced. Regression:
/// they were kept as equivalent and the release published, failing
/// `verify --release` for good.
#[tokio::test(flavor = "multi_thread")]
async fn bundles_made_before_the_tag_moved_are_not_kept() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    let (tag, old) = ("v9.3.0", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let work = Work::new();
    work.file("dist/app-9.3.tar.gz", "tarball 9.3");
    gh.set_tag(REPO, tag, old);
    let o = run(at_commit(
        &sandbox,
        &work,
        tag,
        old,
        &["--release-mode", "draft"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::remove_file(work.path("dist/app-9.3.tar.gz.sigstore.json")).unwrap();

    gh.set_tag(REPO, tag, RUN_SHA);
    let publish = ["--release-mode", "draft", "--publish", "--upload-artifacts"];
    let o = run(at_commit(&sandbox, &work, tag, RUN_SHA, &publish)).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        out.contains(&format!(
            "signed by this run's workflow at commit {old}, not at {RUN_SHA}, this run's commit"
        )),
        "{out}"
    );
    assert!(gh.release(REPO, tag).unwrap().draft);

    std::fs::remove_file(work.path("dist/app-9.3.tar.gz.sigstore.json")).unwrap();
    let o = run(at_commit(
        &sandbox,
        &work,
        tag,
        RUN_SHA,
        &[&publish[..], &["--overwrite"]].concat(),
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!gh.release(REPO, tag).unwrap().draft);
}

/// The same in a kept workspace: the bundle the old commit's run left on
/// disk is not kept for this run (its certificate names the old commit), so
/// it never reaches the release as this run's. Regression: it was reused,
/// was the bytes already on the draft, and the draft was published.
#[tokio::test(flavor = "multi_thread")]
async fn a_local_bundle_made_before_the_tag_moved_is_not_reused() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    let (tag, old) = ("v9.7.0", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let work = Work::new();
    work.file("dist/app-9.7.tar.gz", "tarball 9.7");
    gh.set_tag(REPO, tag, old);
    let draft = ["--release-mode", "draft"];
    let o = run(at_commit(&sandbox, &work, tag, old, &draft)).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    gh.set_tag(REPO, tag, RUN_SHA);
    let publish = ["--release-mode", "draft", "--publish"];
    let o = run(at_commit(&sandbox, &work, tag, RUN_SHA, &publish)).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!(
            "it was made at commit {old}, not at this run's commit {RUN_SHA}"
        )),
        "{}",
        stdout(&o)
    );
    assert!(gh.release(REPO, tag).unwrap().draft);
}

/// A job run again on a fresh runner, at a commit other than the published
/// release's tag (a manual run adding assets to an existing release): the
/// bundles its first run uploaded, made at its own commit, are its own, and
/// kept. So are bundles made at the tag's commit. Regression: they were
/// refused as made at another commit than the tag's.
#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_at_another_commit_than_the_tags_keeps_its_own_bundles() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    let (tag, tagged) = ("v9.6.0", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    gh.create_release(REPO, tag, ReleaseSpec::published());
    gh.set_tag(REPO, tag, tagged);
    let existing = ["--release-mode", "existing"];
    // A bundle made at the tag's commit, by the release's own run.
    let first = Work::new();
    first.file("dist/app-9.6.tar.gz", "tarball 9.6");
    let o = run(at_commit(&sandbox, &first, tag, tagged, &existing)).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // This job, at another commit: a new artifact, then a re-run.
    let work = Work::new();
    work.file("dist/app-9.6.tar.gz", "tarball 9.6");
    work.file("dist/extra-9.6.zip", "extra 9.6");
    for attempt in 0..2 {
        let o = run(at_commit(&sandbox, &work, tag, RUN_SHA, &existing)).await;
        assert_eq!(code(&o), 0, "attempt {attempt}: {}", stdout(&o));
        // What it uploads there, verify --release refuses: said.
        assert!(
            stderr(&o).contains(&format!(
                "warning: tag {tag} points at commit {tagged}, but this run is at commit {RUN_SHA}: `verify --release` refuses the bundles this run uploads there"
            )),
            "{}",
            stderr(&o)
        );
        std::fs::remove_file(work.path("dist/app-9.6.tar.gz.sigstore.json")).unwrap();
        std::fs::remove_file(work.path("dist/extra-9.6.zip.sigstore.json")).unwrap();
    }
}

/// The provenance the release's own run made at the tag's commit is not
/// replaced, without --overwrite, by a run at another commit about more
/// files: that one does not repeat its claim (built at the tag's commit).
/// Regression: judged superseded under the tag's policy, it was replaced,
/// and `verify --release` then refused every asset it vouched for.
#[tokio::test(flavor = "multi_thread")]
async fn a_provenance_made_at_the_tags_commit_is_not_replaced_from_another() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    let (tag, tagged) = ("v9.5.0", "cccccccccccccccccccccccccccccccccccccccc");
    gh.create_release(REPO, tag, ReleaseSpec::published());
    gh.set_tag(REPO, tag, tagged);
    let existing = ["--release-mode", "existing", "--provenance"];
    let provenance = || {
        gh.assets(REPO, tag)
            .into_iter()
            .find(|a| a.name.ends_with(".intoto.jsonl"))
            .map(|a| a.content)
    };
    let first = Work::new();
    first.file("dist/app-9.5.tar.gz", "tarball 9.5");
    let mut cmd = at_commit(&sandbox, &first, tag, tagged, &existing);
    cmd.env("GITHUB_SERVER_URL", "https://github.com");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let made_at_the_tag = provenance().expect("uploaded");

    let work = Work::new();
    work.file("dist/app-9.5.tar.gz", "tarball 9.5");
    work.file("dist/extra-9.5.zip", "extra 9.5");
    let mut cmd = at_commit(&sandbox, &work, tag, RUN_SHA, &existing);
    cmd.env("GITHUB_SERVER_URL", "https://github.com");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("--overwrite"), "{}", stdout(&o));
    assert_eq!(provenance(), Some(made_at_the_tag));
}

/// A draft holding an asset of an artifact's name that another step
/// uploaded, of other bytes, is not published by a run that uploads bundles
/// only: the release would pair it with a bundle that fails for it. The
/// same bytes pass, by the digest GitHub lists or, where it lists none, by
/// reading them. Regression: nothing looked, and the pair was published.
#[tokio::test(flavor = "multi_thread")]
async fn a_draft_holding_another_build_of_an_artifact_is_not_published() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    let work = Work::new();
    work.file("dist/app-9.4.tar.gz", "the signed tarball");
    gh.create_release(REPO, "v9.4.0", ReleaseSpec::draft());
    assert!(gh.insert_asset_unchecked(REPO, "v9.4.0", "app-9.4.tar.gz", "another build"));
    let publish = ["--release-mode", "draft", "--publish"];
    let o = run(lifecycle(&sandbox, &work, "v9.4.0", &publish)).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    // Its bundle is not put beside it, so the draft lacks it.
    let all = stdout(&o) + &stderr(&o);
    assert!(
        all.contains(
            "asset `app-9.4.tar.gz` of the release for v9.4.0 is not the artifact this run signed"
        ),
        "{all}"
    );
    assert!(gh.release(REPO, "v9.4.0").unwrap().draft);

    // The signed bytes, listed with no digest (as GitHub Enterprise Server).
    let other = Work::new();
    other.file("dist/app-9.5.tar.gz", "the signed tarball 9.5");
    gh.create_release(REPO, "v9.5.0", ReleaseSpec::draft());
    assert!(gh.insert_asset_unchecked(REPO, "v9.5.0", "app-9.5.tar.gz", "the signed tarball 9.5"));
    assert!(gh.list_digest_as(REPO, "v9.5.0", "app-9.5.tar.gz", None));
    let o = run(lifecycle(&sandbox, &other, "v9.5.0", &publish)).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!gh.release(REPO, "v9.5.0").unwrap().draft);
}

/// A run that uploads bundles only does not publish a draft that lacks one
/// of its artifacts: the release would hold a bundle for a file it does
/// not, and `verify --release` of it would fail for good. Once the
/// artifact is on the draft, a re-run publishes it. Regression: the
/// README's recipe of a last job signing SHA256SUMS published the draft
/// without SHA256SUMS, exit 0.
#[tokio::test(flavor = "multi_thread")]
async fn a_draft_lacking_an_artifact_whose_bundle_went_up_is_not_published() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    let work = Work::new();
    work.file("dist/SHA256SUMS", "abc  app.tar.gz\n");
    gh.create_release(REPO, "v9.6.0", ReleaseSpec::draft());
    let publish = ["--release-mode", "draft", "--publish", "--json"];
    let o = run(lifecycle(&sandbox, &work, "v9.6.0", &publish)).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["upload"]["publish_withheld"], true, "{report}");
    let error = report["upload_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("the draft for v9.6.0 has no asset `SHA256SUMS`, the artifact whose bundle this run uploaded"),
        "{report}"
    );
    let draft = gh.release(REPO, "v9.6.0").unwrap();
    assert!(draft.draft);
    assert!(draft
        .assets
        .iter()
        .any(|a| a.name == "SHA256SUMS.sigstore.json"));

    assert!(gh.insert_asset_unchecked(REPO, "v9.6.0", "SHA256SUMS", "abc  app.tar.gz\n"));
    let o = run(lifecycle(&sandbox, &work, "v9.6.0", &publish)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(!gh.release(REPO, "v9.6.0").unwrap().draft);
}

/// A tag that exists at another commit than the run's is refused before
/// anything is uploaded: GitHub ignores the release's commit once its tag
/// exists, so the release would hold assets signed at the run's commit
/// under a tag at another (which `verify --release` refuses, every asset).
/// Regression: the draft was made, filled and published under the old tag.
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_at_another_commit_gets_no_release() {
    let sandbox = Sandbox::start().await.unwrap();
    let other = "fedcba9876543210fedcba9876543210fedcba98";
    let gh = sandbox.github();
    gh.set_tag(REPO, "v9.2.0", other);
    let work = Work::new();
    work.file("dist/app-9.2.tar.gz", "tarball 9.2");
    for mode in ["draft", "auto"] {
        let o = run(lifecycle(
            &sandbox,
            &work,
            "v9.2.0",
            &["--release-mode", mode, "--publish"],
        ))
        .await;
        assert_eq!(code(&o), 2, "{mode}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "tag `v9.2.0` points at commit {other}, but this run is at commit {RUN_SHA}"
            )),
            "{mode}: {}",
            stderr(&o)
        );
        assert!(gh.release(REPO, "v9.2.0").is_none(), "{mode}");
    }
    // A draft someone left for it is not filled either.
    gh.create_release(REPO, "v9.2.0", ReleaseSpec::draft());
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v9.2.0",
        &["--release-mode", "draft", "--publish"],
    ))
    .await;
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let draft = gh.release(REPO, "v9.2.0").unwrap();
    assert!(draft.draft && draft.assets.is_empty());
}

/// A tag pushed at another commit while the run uploads (it did not exist
/// when the run chose the draft) withholds publishing: published, the
/// release would sit under a tag at a commit its certificates do not name,
/// for good where releases are immutable. Regression: the tag was read
/// only when the release was chosen, and the draft was published.
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_pushed_elsewhere_during_the_run_withholds_publishing() {
    let sandbox = std::sync::Arc::new(
        Sandbox::builder()
            .latency(Duration::from_millis(30), Duration::ZERO)
            .start()
            .await
            .unwrap(),
    );
    let other = "fedcba9876543210fedcba9876543210fedcba98";
    let work = Work::new();
    work.file("dist/app-9.3.tar.gz", "tarball 9.3");
    let pushed = {
        let sandbox = sandbox.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            while !sandbox
                .requests(Service::GitHub)
                .iter()
                .any(|r| r.method == "POST" && r.uri.contains("/assets"))
            {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "nothing uploaded"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            sandbox.github().set_tag(REPO, "v9.3.0", other);
        })
    };
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v9.3.0",
        &["--release-mode", "draft", "--publish"],
    ))
    .await;
    pushed.await.unwrap();
    assert_ne!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stderr(&o).contains(&format!("points at commit {other}")),
        "{}",
        stderr(&o)
    );
    assert!(sandbox.github().release(REPO, "v9.3.0").unwrap().draft);
}

/// Filling (not publishing) a draft made for another commit, whose tag
/// does not exist yet: whoever publishes it creates the tag there, so the
/// run warns that `verify --release` will refuse what it uploads.
/// Regression: the run's own commit was taken for the tag's, and nothing
/// was said.
#[tokio::test(flavor = "multi_thread")]
async fn filling_a_draft_made_for_another_commit_warns() {
    let sandbox = Sandbox::start().await.unwrap();
    let other = "0123456789abcdef0123456789abcdef01234567";
    sandbox.github().create_release(
        REPO,
        "v9.4.0",
        ReleaseSpec {
            target_commitish: Some(other.into()),
            ..ReleaseSpec::draft()
        },
    );
    let work = Work::new();
    work.file("dist/app-9.4.tar.gz", "tarball 9.4");
    let o = run(lifecycle(&sandbox, &work, "v9.4.0", &[])).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "points at commit {other}, but this run is at commit {RUN_SHA}"
        )) && stderr(&o).contains("`verify --release` refuses"),
        "{}",
        stderr(&o)
    );
}

/// A draft aimed at a branch (as one made by hand in the web UI is) gets its
/// tag at the commit this run signed, not at wherever the branch has moved
/// by the time it is published.
#[tokio::test(flavor = "multi_thread")]
async fn a_draft_aimed_at_a_branch_is_tagged_at_the_runs_commit() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    gh.set_branch(REPO, "main", "1111111111111111111111111111111111111111");
    gh.create_release(
        REPO,
        "v9.1.0",
        ReleaseSpec {
            target_commitish: Some("main".into()),
            ..ReleaseSpec::draft()
        },
    );
    let work = Work::new();
    work.file("dist/app-9.1.tar.gz", "tarball 9.1");
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v9.1.0",
        &["--release-mode", "draft", "--publish", "--upload-artifacts"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!gh.release(REPO, "v9.1.0").unwrap().draft);
    assert_eq!(gh.tag_ref(REPO, "v9.1.0").unwrap().sha, RUN_SHA);
}

/// The immutable-release order: a draft is created, artifacts and bundles
/// land on it, each is downloaded back and verified, and only then is it
/// published (and, with immutability on, locked).
#[tokio::test(flavor = "multi_thread")]
async fn draft_is_created_filled_verified_then_published() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.github().set_repo_immutable(REPO, true);
    let work = Work::new();
    work.file("dist/app-3.0.tar.gz", "tarball 3");
    work.file("dist/app-3.0.whl", "wheel 3");
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v3.0.0",
        &["--release-mode", "draft", "--publish", "--upload-artifacts"],
    ))
    .await;
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.contains("📝 Created draft release v3.0.0"), "{out}");
    assert!(out.contains("🚀 Published release v3.0.0"), "{out}");
    // The links are the published release's: a draft's name `untagged-...`
    // and go dead once it is published. Regression: the draft's were shown.
    assert!(
        !out.contains("untagged-")
            && out.contains(
                "/octo-org/octo-repo/releases/download/v3.0.0/app-3.0.tar.gz.sigstore.json)"
            ),
        "{out}"
    );
    let releases = sandbox.github().releases_for_tag(REPO, "v3.0.0");
    assert_eq!(releases.len(), 1);
    let r = &releases[0];
    assert!(!r.draft && r.immutable);
    assert_eq!(
        crate::util::asset_names(&r.assets),
        [
            "app-3.0.tar.gz",
            "app-3.0.tar.gz.sigstore.json",
            "app-3.0.whl",
            "app-3.0.whl.sigstore.json"
        ]
    );
    for a in &r.assets {
        assert_eq!(
            a.content.as_ref(),
            std::fs::read(work.path(&format!("dist/{}", a.name))).unwrap()
        );
    }
    // The draft was made at GITHUB_SHA, and published after the last check.
    let requests = sandbox.requests(Service::GitHub);
    let create = requests
        .iter()
        .find(|r| r.method == "POST" && r.uri.ends_with("/releases"))
        .unwrap();
    assert!(
        String::from_utf8_lossy(&create.body).contains(RUN_SHA),
        "{:?}",
        String::from_utf8_lossy(&create.body)
    );
    let publish = requests.iter().position(|r| r.method == "PATCH").unwrap();
    let last_download = requests
        .iter()
        .rposition(|r| r.method == "GET" && r.uri.contains("/releases/assets/"))
        .unwrap();
    assert!(publish > last_download);
    assert_eq!(requests.iter().filter(|r| r.method == "PATCH").count(), 1);
}

/// A published immutable release takes no asset: the run fails with one
/// error naming every asset it lacks and the fix, asking GitHub once; the
/// bundles stay written and reported. `draft` mode refuses to touch a
/// published release at all.
#[tokio::test(flavor = "multi_thread")]
async fn published_immutable_release_refuses_uploads_clearly() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .github()
        .create_release(REPO, "v4.0.0", ReleaseSpec::published().immutable());
    let work = Work::new();
    work.file("dist/app-4.0.tar.gz", "tarball 4");
    work.file("dist/app-4.0.whl", "wheel 4");
    work.file("dist/app-4.0.zip", "zip 4");
    let o = run(lifecycle(&sandbox, &work, "v4.0.0", &[])).await;
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert_eq!(
        err.matches("is published and immutable").count(),
        1,
        "one error for the run: {err}"
    );
    assert!(
        err.contains("release v4.0.0 is published and immutable")
            && err.contains("Cannot upload assets to an immutable release.")
            && err.contains("the 2 other asset(s) it lacks: app-4.0.whl.sigstore.json, app-4.0.zip.sigstore.json")
            && err.contains("release-mode: draft"),
        "{err}"
    );
    assert!(
        stdout(&o).contains("Signed 3 of 3 artifact(s)"),
        "{}",
        stdout(&o)
    );
    let uploads = sandbox
        .requests(Service::GitHub)
        .iter()
        .filter(|r| r.method == "POST" && r.uri.contains("/assets"))
        .count();
    assert_eq!(uploads, 1, "GitHub was asked once, not once per asset");
    assert_eq!(work.listing().len(), 6, "the bundles are written");

    // The JSON report keeps the sign report and carries the error.
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v4.0.0",
        &["--overwrite", "--json"],
    ))
    .await;
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["artifacts"].as_array().unwrap().len(), 3);
    assert!(v["upload_error"]
        .as_str()
        .unwrap()
        .contains("is published and immutable"));
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v4.0.0",
        &["--release-mode", "draft", "--overwrite"],
    ))
    .await;
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("release v4.0.0 is already published, and release-mode `draft` never touches a published release"),
        "{}",
        stderr(&o)
    );
    assert!(sandbox.github().assets(REPO, "v4.0.0").is_empty());
}

/// An asset that lands corrupted is caught by the post-upload verification,
/// deleted from the draft, and the draft is not published.
#[tokio::test(flavor = "multi_thread")]
async fn bad_upload_is_deleted_and_the_draft_stays_unpublished() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .github()
        .corrupt_next_upload("app-5.0.tar.gz.sigstore.json");
    let work = Work::new();
    work.file("dist/app-5.0.tar.gz", "tarball 5");
    work.file("dist/app-5.0.zip", "zip 5");
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v5.0.0",
        &["--release-mode", "auto", "--publish", "--upload-artifacts"],
    ))
    .await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains(
            "asset `app-5.0.tar.gz.sigstore.json` on release v5.0.0 does not verify after upload"
        ) && out.contains("deleted from the draft"),
        "{out}"
    );
    // A bundle that parses and fails only its verification (a signature
    // changed in place): the check verifies, it does not only read.
    assert!(out.contains("mismatch"), "{out}");
    assert!(out.contains("Release v5.0.0 stays a draft"), "{out}");
    let releases = sandbox.github().releases_for_tag(REPO, "v5.0.0");
    assert_eq!(releases.len(), 1);
    assert!(releases[0].draft);
    assert_eq!(
        crate::util::asset_names(&releases[0].assets),
        ["app-5.0.tar.gz", "app-5.0.zip", "app-5.0.zip.sigstore.json"]
    );
    assert!(!sandbox
        .requests(Service::GitHub)
        .iter()
        .any(|r| r.method == "PATCH"));

    // A re-run uploads it again, verifies everything and publishes.
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v5.0.0",
        &[
            "--release-mode",
            "auto",
            "--publish",
            "--upload-artifacts",
            "--overwrite",
        ],
    ))
    .await;
    assert_eq!(code(&o), 0);
    let releases = sandbox.github().releases_for_tag(REPO, "v5.0.0");
    assert!(!releases[0].draft);
    assert_eq!(
        crate::util::asset_names(&releases[0].assets),
        [
            "app-5.0.tar.gz",
            "app-5.0.tar.gz.sigstore.json",
            "app-5.0.zip",
            "app-5.0.zip.sigstore.json"
        ]
    );
}

/// Matrix jobs: four runs at once, each with its own artifact, against a tag
/// without a release. They may each create a draft; they settle on one, and it
/// holds exactly the four bundles.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_jobs_fill_one_draft() {
    let sandbox = Sandbox::start().await.unwrap();
    // Slow answers widen the window in which every job finds no draft.
    sandbox
        .faults(Service::GitHub)
        .set_latency(Duration::from_millis(40), Duration::from_millis(40));
    let works: Vec<Work> = (0..4)
        .map(|i| {
            let w = Work::new();
            w.file(&format!("dist/app-{i}.bin"), format!("binary {i}"));
            w
        })
        .collect();
    let runs = works.iter().map(|w| {
        run(lifecycle(
            &sandbox,
            w,
            "v6.0.0",
            &["--release-mode", "draft"],
        ))
    });
    for o in futures::future::join_all(runs).await {
        assert_eq!(code(&o), 0);
    }
    let requests = sandbox.requests(Service::GitHub);
    let created = requests
        .iter()
        .filter(|r| r.method == "POST" && r.uri.ends_with("/releases"))
        .count();
    let deleted = requests
        .iter()
        .filter(|r| r.method == "DELETE" && !r.uri.contains("/assets/"))
        .count();
    // Every draft but one was deleted by the job that created it.
    assert_eq!(deleted, created - 1);
    eprintln!("drafts created concurrently: {created}");
    let releases = sandbox.github().releases_for_tag(REPO, "v6.0.0");
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert!(releases[0].draft);
    assert_eq!(
        crate::util::asset_names(&releases[0].assets),
        (0..4)
            .map(|i| format!("app-{i}.bin.sigstore.json"))
            .collect::<Vec<_>>()
    );
}

/// The action runs the same lifecycle from its inputs; a bad `release-mode`
/// fails before any request, naming the input.
#[tokio::test(flavor = "multi_thread")]
async fn action_inputs_drive_the_lifecycle() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.github().set_repo_immutable(REPO, true);
    let work = Work::new();
    work.file("dist/app-7.0.tar.gz", "tarball 7");
    let action = |mode: &str| {
        let mut cmd = crate::util::bin(work.dir.path());
        cmd.arg("action")
            .envs(sandbox.env())
            .env("INPUT_INPUTS", "dist/*")
            .env("INPUT_TRUST-CONFIG", sandbox.trust_config_path())
            .env("INPUT_GITHUB-TOKEN", sandbox.github_token())
            .env("INPUT_RELEASE-TAG", "v7.0.0")
            .env("INPUT_RELEASE-MODE", mode)
            .env("INPUT_PUBLISH", "true")
            .env("INPUT_UPLOAD-ARTIFACTS", "true");
        cmd
    };
    let o = run(action("later")).await;
    assert_eq!(code(&o), 2);
    assert!(
        stdout(&o).contains("input `release-mode` is `later`: use existing, draft or auto")
            || stderr(&o).contains("input `release-mode` is `later`: use existing, draft or auto"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(sandbox.github().releases_for_tag(REPO, "v7.0.0").is_empty());

    let o = run(action("auto")).await;
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(
        out.contains("✅ app-7.0.tar.gz: uploaded (verified on the release)")
            && out.contains("✅ app-7.0.tar.gz.sigstore.json: uploaded (verified on the release)")
            && out.contains("🚀 Published release v7.0.0"),
        "{out}"
    );
    let releases = sandbox.github().releases_for_tag(REPO, "v7.0.0");
    assert_eq!(releases.len(), 1);
    assert!(!releases[0].draft && releases[0].immutable);
    assert_eq!(
        crate::util::asset_names(&releases[0].assets),
        ["app-7.0.tar.gz", "app-7.0.tar.gz.sigstore.json"]
    );

    // Re-running the job (a fresh runner) against the published, immutable
    // release changes nothing and succeeds: everything is already there.
    let fresh = Work::new();
    fresh.file("dist/app-7.0.tar.gz", "tarball 7");
    let mut cmd = crate::util::bin(fresh.dir.path());
    cmd.arg("action")
        .envs(sandbox.env())
        .env("INPUT_INPUTS", "dist/*")
        .env("INPUT_TRUST-CONFIG", sandbox.trust_config_path())
        .env("INPUT_GITHUB-TOKEN", sandbox.github_token())
        .env("INPUT_RELEASE-TAG", "v7.0.0")
        .env("INPUT_RELEASE-MODE", "auto")
        .env("INPUT_UPLOAD-ARTIFACTS", "true");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("kept: an equivalent bundle is already on the release"),
        "{}",
        stdout(&o)
    );
}

/// A published immutable release that already has the asset, with other
/// content: replacing it (`--overwrite`) needs an upload (and a deletion)
/// GitHub refuses; the message says so and names the fix, and the asset
/// stays as it was.
#[tokio::test(flavor = "multi_thread")]
async fn immutable_release_with_a_stale_asset_explains_the_fix() {
    use releasekit_sign::github::{identical_only, Releases};
    use releasekit_sign::net::RetryPolicy;
    use releasekit_sign::oidc::Secret;
    let sandbox = Sandbox::start().await.unwrap();
    let id = sandbox
        .github()
        .create_release(REPO, "v8.0.0", ReleaseSpec::draft().immutable());
    let work = Work::new();
    let stale = work.file("stale.json", "{\"not\":\"a bundle\"}");
    let releases = Releases::new(
        &sandbox.urls().github_api,
        REPO.parse().unwrap(),
        &Secret::new(sandbox.github_token()),
        RetryPolicy::default(),
    )
    .unwrap();
    let draft = releases.find("v8.0.0").await.unwrap();
    releases
        .upload(
            &draft,
            "app-8.0.tar.gz.sigstore.json",
            &stale,
            crate::util::as_checked(&crate::util::file_digest(&stale)),
            false,
            &identical_only,
        )
        .await
        .unwrap();
    assert!(sandbox.github().publish(REPO, id));

    work.file("dist/app-8.0.tar.gz", "tarball 8");
    let o = run(lifecycle(&sandbox, &work, "v8.0.0", &["--overwrite"])).await;
    assert_eq!(code(&o), 1);
    let out = stderr(&o);
    assert!(
        out.contains("release v8.0.0 is published and immutable")
            && out.contains("Cannot upload assets to an immutable release.")
            && out.contains("release-mode: draft"),
        "{out}"
    );
    let assets = sandbox.github().assets(REPO, "v8.0.0");
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0].content.as_ref(), b"{\"not\":\"a bundle\"}");
}

/// One of three artifacts fails to sign (Rekor refuses its entry once): the
/// other two and their bundles land on the draft and verify, but the draft
/// is not published, since it lacks the failed artifact and its bundle; the
/// run says which assets are missing and that a re-run finishes it, and one
/// does. Regression: the draft was published with 4 of 6 assets.
#[tokio::test(flavor = "multi_thread")]
async fn draft_lacking_a_failed_artifact_is_not_published() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.github().set_repo_immutable(REPO, true);
    let work = Work::new();
    for n in ["a", "b", "c"] {
        work.file(&format!("dist/app-9.0.{n}"), format!("artifact {n}"));
    }
    let flags = [
        "--release-mode",
        "draft",
        "--publish",
        "--upload-artifacts",
        "--jobs",
        "1",
    ];
    let rekor = sandbox.faults(Service::RekorV1);
    rekor.fail_next(1, Fault::status(400));
    let o = run(lifecycle(&sandbox, &work, "v9.0.0", &flags)).await;
    assert_eq!(code(&o), 1);
    let releases = sandbox.github().releases_for_tag(REPO, "v9.0.0");
    assert_eq!(releases.len(), 1);
    assert!(releases[0].draft, "the draft lacking assets stays a draft");
    assert_eq!(
        crate::util::asset_names(&releases[0].assets),
        [
            "app-9.0.b",
            "app-9.0.b.sigstore.json",
            "app-9.0.c",
            "app-9.0.c.sigstore.json"
        ]
    );
    assert!(!sandbox
        .requests(Service::GitHub)
        .iter()
        .any(|r| r.method == "PATCH"));
    let filters = vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"log index \d+", "log index [N]"),
    ];
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("draft_lacking_assets", stdout(&o));
    });

    // The JSON report says the same: not published, and what is lacking.
    rekor.fail_next(1, Fault::status(400));
    let mut json_flags = flags.to_vec();
    json_flags.push("--json");
    let o = run(lifecycle(&sandbox, &work, "v9.0.0", &json_flags)).await;
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["upload"]["published"], false);
    assert_eq!(v["upload"]["draft"], true);
    assert_eq!(
        v["upload"]["lacking"],
        serde_json::json!(["app-9.0.a", "app-9.0.a.sigstore.json"])
    );
    assert!(sandbox.github().releases_for_tag(REPO, "v9.0.0")[0].draft);

    // A re-run signs what failed, keeps the rest, and publishes.
    let o = run(lifecycle(&sandbox, &work, "v9.0.0", &flags)).await;
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("🚀 Published release v9.0.0"),
        "{}",
        stdout(&o)
    );
    let releases = sandbox.github().releases_for_tag(REPO, "v9.0.0");
    assert!(!releases[0].draft && releases[0].immutable);
    assert_eq!(releases[0].assets.len(), 6);
}

/// Nothing signed, so nothing uploaded: the draft is never published (an
/// empty set of assets does not "all verify"). In the action, the log, the
/// annotations and the step summary say the release stays a draft and what
/// it lacks.
#[tokio::test(flavor = "multi_thread")]
async fn draft_with_nothing_uploaded_is_never_published() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-10.0.tar.gz", "tarball 10");
    work.file("gh/summary", "");
    sandbox
        .faults(Service::RekorV1)
        .fail_next(1, Fault::status(400));
    let mut cmd = crate::util::bin(work.dir.path());
    cmd.arg("action")
        .envs(sandbox.env())
        .env("GITHUB_STEP_SUMMARY", work.path("gh/summary"))
        .env("INPUT_INPUTS", "dist/*")
        .env("INPUT_TRUST-CONFIG", sandbox.trust_config_path())
        .env("INPUT_GITHUB-TOKEN", sandbox.github_token())
        .env("INPUT_RELEASE-TAG", "v10.0.0")
        .env("INPUT_RELEASE-MODE", "draft")
        .env("INPUT_PUBLISH", "true");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    let releases = sandbox.github().releases_for_tag(REPO, "v10.0.0");
    assert_eq!(releases.len(), 1);
    assert!(releases[0].draft, "{releases:?}");
    assert!(releases[0].assets.is_empty());
    assert!(!sandbox
        .requests(Service::GitHub)
        .iter()
        .any(|r| r.method == "PATCH"));
    let out = stdout(&o);
    let stays = "Release v10.0.0 stays a draft (not published): it lacks 1 asset(s): app-10.0.tar.gz.sigstore.json; re-run to finish it (assets already there are kept)";
    assert!(out.contains(stays), "{out}");
    assert!(
        out.contains(&format!("::error::{stays}")),
        "an annotation: {out}"
    );
    let summary = std::fs::read_to_string(work.path("gh/summary")).unwrap();
    assert!(
        summary.contains("(draft, not published: it lacks app-10.0.tar.gz.sigstore.json)"),
        "{summary}"
    );
}

/// An artifact its build left as a link to nothing is skipped (it cannot be
/// signed), and the release it belongs to must not be published without
/// it: the draft keeps what did verify, stays a draft, names the assets it
/// lacks, and the run fails. Regression: only a warning was printed, the
/// draft was published with one artifact of two, and the run passed.
#[tokio::test(flavor = "multi_thread")]
async fn a_dangling_artifact_withholds_publishing() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-10.0.a", "artifact a");
    std::os::unix::fs::symlink("../build/missing.zip", work.path("dist/app-10.0.b")).unwrap();
    let flags = [
        "--release-mode",
        "draft",
        "--publish",
        "--upload-artifacts",
        "--json",
    ];
    let o = run(lifecycle(&sandbox, &work, "v10.0.0", &flags)).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let releases = sandbox.github().releases_for_tag(REPO, "v10.0.0");
    assert_eq!(releases.len(), 1);
    assert!(
        releases[0].draft,
        "a release lacking an artifact stays a draft"
    );
    assert_eq!(
        crate::util::asset_names(&releases[0].assets),
        ["app-10.0.a", "app-10.0.a.sigstore.json"]
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["upload"]["published"], false);
    assert_eq!(
        v["upload"]["lacking"],
        serde_json::json!(["app-10.0.b", "app-10.0.b.sigstore.json"])
    );
    // Said with the fix: a re-run alone would fail the same way.
    let o = run(lifecycle(&sandbox, &work, "v10.0.0", &flags[..4])).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("not a regular file (a link to nothing?): dist/app-10.0.b; fix the step that made it, then re-run"),
        "{}",
        stdout(&o)
    );
}

/// GitHub lists a repository's newest 1,000 releases only (a page past
/// them is a 422). A repository with more still gets its draft made,
/// filled and published; and a published release of the tag older than
/// the window is found by its tag, not taken for none. Regression: every
/// draft-mode run failed after signing, "Only the first 1000 results are
/// available".
#[tokio::test(flavor = "multi_thread")]
async fn a_repository_with_more_releases_than_github_lists() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.github();
    gh.create_release(REPO, "v0.9.0", ReleaseSpec::published());
    for n in 0..1005 {
        gh.create_release(REPO, &format!("old-{n}"), ReleaseSpec::published());
    }
    let work = Work::new();
    work.file("dist/app-11.0.tar.gz", "tarball 11");
    let flags = ["--release-mode", "draft", "--publish", "--upload-artifacts"];
    let o = run(lifecycle(&sandbox, &work, "v11.0.0", &flags)).await;
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let releases = gh.releases_for_tag(REPO, "v11.0.0");
    assert_eq!(releases.len(), 1);
    assert!(!releases[0].draft);
    // The oldest release's tag: draft mode refuses it as published.
    let o = run(lifecycle(
        &sandbox,
        &work,
        "v0.9.0",
        &["--release-mode", "draft"],
    ))
    .await;
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("release v0.9.0 is already published"),
        "{}",
        stderr(&o)
    );
    assert_eq!(gh.releases_for_tag(REPO, "v0.9.0").len(), 1);
}
