//! The release lifecycle seen from outside: re-runs on a fresh runner, what
//! landed on the release is verified (not only compared).

use releasekit_sandbox::{Fault, Sandbox, Service};

use crate::util::{code, run, sign, stdout, Work};

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
/// comes back corrupted fails the run, naming the asset.
#[tokio::test(flavor = "multi_thread")]
async fn landed_asset_is_verified_not_trusted() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app-1.0.tar.gz", "tarball");
    let gh = sandbox.faults(Service::GitHub);
    gh.only_paths_containing("/releases/assets/");
    gh.fail_next(1, Fault::MalformedBody);
    let o = run(upload(&sandbox, &work, &[])).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains(
            "asset `app-1.0.tar.gz.sigstore.json` on release v1.0.0 does not verify after upload"
        ),
        "{out}"
    );
    assert_eq!(gh.pending(), 0);
}
