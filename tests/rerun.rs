//! A re-run of `sign --upload` in the same workspace after the first run's
//! upload failed: the bundles the first run wrote are kept when they verify
//! for the artifact and the run's identity (no new certificate or log entry),
//! uploaded once, and any that do not verify fail their artifact, saying why.

use releasekit_sandbox::{Fault, Sandbox, Service};

use crate::util::{code, run, sign, stdout, Work};

const REPO: &str = "octo-org/octo-repo";
const TAG: &str = "v1.0.0";

fn upload(sandbox: &Sandbox, work: &Work) -> assert_cmd::Command {
    let mut cmd = sign(sandbox, work.dir.path());
    cmd.args(["dist", "--upload", "--release-tag", TAG, "--repo", REPO])
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .env("GITHUB_TOKEN", sandbox.github_token());
    cmd
}

/// POSTs so far to Fulcio and to either Rekor: certificates and log entries.
fn signing_posts(sandbox: &Sandbox) -> usize {
    [Service::Fulcio, Service::RekorV1, Service::RekorV2]
        .into_iter()
        .flat_map(|s| sandbox.requests(s))
        .filter(|r| r.method == "POST")
        .count()
}

fn assets(sandbox: &Sandbox) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = sandbox
        .github()
        .assets(REPO, TAG)
        .into_iter()
        .map(|a| (a.name, a.content.to_vec()))
        .collect();
    v.sort();
    v
}

/// The first run signs and writes both bundles, then GitHub is down: exit 1.
async fn first_run_with_github_down(sandbox: &Sandbox, work: &Work) {
    work.file("dist/app-1.0.tar.gz", "the tarball");
    work.file("dist/app-1.0.zip", "the zip");
    let gh = sandbox.faults(Service::GitHub);
    gh.fail_next(1000, Fault::status(503));
    let o = run(upload(sandbox, work)).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    gh.clear();
    assert!(work.path("dist/app-1.0.tar.gz.sigstore.json").exists());
    assert!(work.path("dist/app-1.0.zip.sigstore.json").exists());
    assert!(assets(sandbox).is_empty());
    assert!(signing_posts(sandbox) > 0);
}

/// The second, identical run keeps both bundles (verified, not re-signed),
/// uploads exactly them, and succeeds; a third run changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn rerun_after_a_failed_upload_keeps_and_uploads_the_bundles() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    first_run_with_github_down(&sandbox, &work).await;
    let posts = signing_posts(&sandbox);
    let local = |name: &str| std::fs::read(work.path(&format!("dist/{name}"))).unwrap();
    let bundles_before = (
        local("app-1.0.tar.gz.sigstore.json"),
        local("app-1.0.zip.sigstore.json"),
    );

    let o = run(upload(&sandbox, &work)).await;
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("✅ Kept: dist/app-1.0.tar.gz (existing bundle verified)")
            && out.contains("✅ Kept: dist/app-1.0.zip (existing bundle verified)"),
        "{out}"
    );
    assert_eq!(
        signing_posts(&sandbox),
        posts,
        "no new certificate or entry"
    );
    let expected = vec![
        (
            "app-1.0.tar.gz.sigstore.json".to_owned(),
            bundles_before.0.clone(),
        ),
        (
            "app-1.0.zip.sigstore.json".to_owned(),
            bundles_before.1.clone(),
        ),
    ];
    assert_eq!(assets(&sandbox), expected);
    assert_eq!(
        (
            local("app-1.0.tar.gz.sigstore.json"),
            local("app-1.0.zip.sigstore.json")
        ),
        bundles_before,
        "kept bundles are not rewritten"
    );

    // Once more: still nothing signed, nothing duplicated.
    let o = run(upload(&sandbox, &work)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(signing_posts(&sandbox), posts);
    assert_eq!(assets(&sandbox), expected);
}

/// A bundle that no longer verifies for its artifact (the artifact changed,
/// or the bundle was tampered with) is not kept: that artifact fails naming
/// why and the fix, nothing is uploaded for it, and the valid one still is.
#[tokio::test(flavor = "multi_thread")]
async fn an_existing_bundle_that_does_not_verify_is_not_kept() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    first_run_with_github_down(&sandbox, &work).await;
    let posts = signing_posts(&sandbox);
    // Other content under the tarball's name.
    work.file("dist/app-1.0.tar.gz", "another tarball");
    let good = std::fs::read(work.path("dist/app-1.0.zip.sigstore.json")).unwrap();

    let o = run(upload(&sandbox, &work)).await;
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("❌ Failed: dist/app-1.0.tar.gz: bundle dist/app-1.0.tar.gz.sigstore.json already exists and was not kept for upload")
            && out.contains("digest mismatch")
            && out.contains("fix: pass --overwrite")
            // One fix only: not also verify's "re-download it from the release".
            && !out.contains("re-download"),
        "{out}"
    );
    assert!(out.contains("✅ Kept: dist/app-1.0.zip"), "{out}");
    assert_eq!(signing_posts(&sandbox), posts);
    assert_eq!(
        assets(&sandbox),
        vec![("app-1.0.zip.sigstore.json".to_owned(), good)]
    );

    // A tampered bundle: its signature no longer checks out.
    let path = work.path("dist/app-1.0.zip.sigstore.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let sig = json["messageSignature"]["signature"].as_str().unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    json["messageSignature"]["signature"] = format!("{flipped}{}", &sig[1..]).into();
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let o = run(upload(&sandbox, &work)).await;
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("❌ Failed: dist/app-1.0.zip: bundle dist/app-1.0.zip.sigstore.json already exists and was not kept for upload")
            && out.contains("fix: pass --overwrite"),
        "{out}"
    );

    // --overwrite signs both again and replaces what is on the release.
    let o = run({
        let mut c = upload(&sandbox, &work);
        c.arg("--overwrite");
        c
    })
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(signing_posts(&sandbox) > posts);
}
