//! `--provenance` with `--upload`: the provenance is a release asset under
//! the bundles' rules (verified after upload, idempotent on re-runs, part of
//! what `--publish` waits for) and, where GitHub has the API, stored in the
//! repository's attestations; a token without `attestations: write` is one
//! warning, and GitHub Enterprise Server is skipped with a note.

use releasekit_sandbox::{Sandbox, Service};
use serde_json::Value;

use crate::util::{code, run, sign, stdout, Work};

const REPO: &str = "octo-org/octo-repo";
const PROVENANCE: &str = "octo-repo-v1.0.0.intoto.jsonl";

/// `sign dist --provenance --upload --json` to `tag` of the sandbox's
/// repository, through `api` (the sandbox's API unless given), plus `extra`.
fn upload(
    sandbox: &Sandbox,
    work: &Work,
    tag: &str,
    api: Option<&str>,
    extra: &[&str],
) -> assert_cmd::Command {
    let mut cmd = sign(sandbox, work.dir.path());
    cmd.args(["dist", "--json", "--provenance", "--upload"])
        .args(["--release-tag", tag, "--repo", REPO])
        .args(extra)
        .env("GITHUB_API_URL", api.unwrap_or(&sandbox.urls().github_api))
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_TOKEN", sandbox.github_token())
        .env("GITHUB_SHA", sandbox.default_claims().sha);
    cmd
}

fn report(o: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// The upload report's entry for the provenance asset.
fn provenance_asset(report: &Value) -> &Value {
    report["upload"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "provenance")
        .unwrap_or_else(|| panic!("no provenance asset: {report:#}"))
}

/// The provenance asset's error in `report`, empty when it has none.
fn provenance_error(report: &Value) -> &str {
    provenance_asset(report)["error"]
        .as_str()
        .unwrap_or_default()
}

/// The provenance asset of the release `v1.0.0`.
fn provenance_on_release(sandbox: &Sandbox) -> releasekit_sandbox::github::AssetSnapshot {
    sandbox
        .github()
        .assets(REPO, "v1.0.0")
        .into_iter()
        .find(|a| a.name == PROVENANCE)
        .unwrap()
}

/// Requests to the attestations API the sandbox received.
fn attestation_requests(sandbox: &Sandbox) -> usize {
    sandbox
        .requests(Service::GitHub)
        .iter()
        .filter(|r| r.uri.contains("/attestations"))
        .count()
}

/// Uploaded after the bundles, downloaded back and verified, stored in the
/// attestations (listed there by each artifact's digest) and linked; a
/// re-run keeps the equivalent asset and gets the same attestation id.
#[tokio::test(flavor = "multi_thread")]
async fn provenance_is_uploaded_verified_and_attested_once() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    work.file("dist/b.zip", "b");
    let o = run(upload(&sandbox, &work, "v1.0.0", None, &[])).await;
    assert_eq!(code(&o), 0);
    let first = report(&o);
    let asset = provenance_asset(&first);
    assert_eq!(asset["asset"], PROVENANCE);
    assert_eq!(asset["action"], "uploaded");
    assert_eq!(asset["checked"], true);
    let names: Vec<_> = first["upload"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["asset"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names.last().map(String::as_str),
        Some(PROVENANCE),
        "after the bundles"
    );
    let attestation = &first["upload"]["attestation"];
    assert_eq!(attestation["status"], "stored", "{first:#}");
    let id = attestation["id"].as_u64().unwrap();
    assert_eq!(
        attestation["url"],
        format!("https://github.com/{REPO}/attestations/{id}")
    );

    // The attestation is the asset on the release, found by either subject.
    let on_release = provenance_on_release(&sandbox);
    let stored: Value = serde_json::from_slice(on_release.content.trim_ascii_end()).unwrap();
    assert_eq!(sandbox.github().attestations(REPO), [(id, stored.clone())]);
    for subject in first["provenance"]["subjects"].as_array().unwrap() {
        let url = format!(
            "{}/repos/{REPO}/attestations/sha256:{}",
            sandbox.urls().github_api,
            subject["sha256"].as_str().unwrap()
        );
        let listed: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        assert_eq!(listed["attestations"][0]["bundle"], stored);
    }

    // A re-run signs the provenance again: the release's equivalent one is
    // kept, and it is what is attested again (the same bundle, stored again
    // as GitHub's attest action's re-run does: GitHub keeps each).
    let assets = sandbox.github().assets(REPO, "v1.0.0").len();
    let o = run(upload(&sandbox, &work, "v1.0.0", None, &[])).await;
    assert_eq!(code(&o), 0);
    let again = report(&o);
    assert_eq!(provenance_asset(&again)["action"], "equivalent");
    let id_again = again["upload"]["attestation"]["id"].as_u64().unwrap();
    assert_eq!(sandbox.github().assets(REPO, "v1.0.0").len(), assets);
    assert_eq!(
        sandbox.github().attestations(REPO),
        [(id, stored.clone()), (id_again, stored)]
    );
}

/// A provenance asset altered on the release to give its bundle a second
/// `dsseEnvelope` (another statement, about another digest): a re-run never
/// stores that envelope in the attestations. Regression: the check read
/// the first envelope, which verified, and the store sent the whole JSON,
/// whose reader takes the last.
#[tokio::test(flavor = "multi_thread")]
async fn a_provenance_with_a_second_envelope_is_never_stored() {
    use base64::Engine as _;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    let o = run(upload(&sandbox, &work, "v1.0.0", None, &[])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let on_release = provenance_on_release(&sandbox);
    let text = String::from_utf8(on_release.content.to_vec()).unwrap();
    let text = text.trim_end();
    let original: Value = serde_json::from_str(text).unwrap();
    let evil = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "evil", "digest": {"sha256": "ee".repeat(32)}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {}
    });
    let evil = base64::engine::general_purpose::STANDARD.encode(evil.to_string());
    let tampered = format!(
        "{},\"dsseEnvelope\":{{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"{evil}\",\"signatures\":[{{\"sig\":\"AAAA\",\"keyid\":\"\"}}]}}}}\n",
        &text[..text.len() - 1]
    );
    assert!(sandbox
        .github()
        .replace_asset_content(REPO, "v1.0.0", PROVENANCE, tampered));
    let before = sandbox.github().attestations(REPO).len();
    let o = run(upload(&sandbox, &work, "v1.0.0", None, &[])).await;
    // Refused for the second envelope, not stopped earlier for another reason.
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let r = report(&o);
    let error = provenance_error(&r);
    assert!(error.contains("`dsseEnvelope` is given twice"), "{r:#}");
    let stored = sandbox.github().attestations(REPO);
    assert_eq!(stored.len(), before, "nothing new is stored");
    for (id, bundle) in stored {
        assert_eq!(
            bundle["dsseEnvelope"]["payload"], original["dsseEnvelope"]["payload"],
            "attestation {id}"
        );
    }
}

/// A re-run that uploads reads the provenance file already there (to keep
/// or replace it by what it attests): one a link leads out of the working
/// tree is refused before anything is read or signed, as a bundle is.
/// Regression: the file outside was opened and parsed.
#[tokio::test(flavor = "multi_thread")]
async fn a_provenance_linked_out_of_the_tree_is_not_read() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let outside = Work::new();
    work.file("dist/a.tgz", "a");
    outside.file("secret.json", "{}");
    std::os::unix::fs::symlink(outside.path("secret.json"), work.path(PROVENANCE)).unwrap();
    let o = run(upload(&sandbox, &work, "v1.0.0", None, &[])).await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("outside the working directory"),
        "{}",
        stdout(&o)
    );
    assert!(sandbox.requests(Service::Fulcio).is_empty());
}

/// A token without `attestations: write`: one warning naming the
/// permission, and the draft is still published (the release is complete).
#[tokio::test(flavor = "multi_thread")]
async fn forbidden_attestation_is_a_warning_and_the_release_is_published() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.github().deny_attestations(true);
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    let o = run(upload(
        &sandbox,
        &work,
        "v2.0.0",
        None,
        &["--release-mode", "draft", "--publish", "--upload-artifacts"],
    ))
    .await;
    assert_eq!(code(&o), 0);
    let r = report(&o);
    let warning = r["upload"]["attestation"]["warning"].as_str().unwrap();
    assert_eq!(r["upload"]["attestation"]["status"], "forbidden");
    assert!(
        warning.contains("`permissions: attestations: write`")
            && warning.contains("Resource not accessible by integration")
            && warning.contains("octo-repo-v2.0.0.intoto.jsonl"),
        "{warning}"
    );
    assert_eq!(r["upload"]["published"], true);
    let release = &sandbox.github().releases_for_tag(REPO, "v2.0.0")[0];
    assert!(!release.draft);
    assert!(release
        .assets
        .iter()
        .any(|a| a.name == "octo-repo-v2.0.0.intoto.jsonl"));

    // Without --json: exactly one warning line.
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["dist", "--provenance", "--upload"])
        .args(["--release-tag", "v2.0.0", "--repo", REPO])
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_TOKEN", sandbox.github_token());
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert_eq!(
        out.matches("attestations: write").count(),
        1,
        "one warning: {out}"
    );
    assert!(out.contains("⚠ warning: GitHub refused to store"), "{out}");
}

/// The attestation store refuses the provenance for good (a 422: a plan
/// without the feature, here a user's private repository): one warning,
/// and the release is published, as without the permission. Regression:
/// the draft was withheld, and every re-run was refused alike.
#[tokio::test(flavor = "multi_thread")]
async fn an_attestation_refused_for_good_is_a_warning() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.faults(Service::GitHub);
    gh.only_paths_ending_with("/attestations");
    let refusal = r#"{"message":"Feature not available for user-owned private repositories. To enable this feature, please make this repository public.","documentation_url":"https://docs.github.com/rest/repos/repos#create-an-attestation","status":"422"}"#;
    gh.fail_next(1, releasekit_sandbox::Fault::status_body(422, refusal));
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    let args = ["--release-mode", "draft", "--publish", "--upload-artifacts"];
    let o = run(upload(&sandbox, &work, "v4.1.0", None, &args)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let r = report(&o);
    assert_eq!(r["upload"]["attestation"]["status"], "forbidden", "{r:#}");
    let warning = r["upload"]["attestation"]["warning"].as_str().unwrap();
    assert!(
        warning.contains("(422: Feature not available for user-owned private repositories")
            && warning.contains("would refuse it again")
            && warning.contains("octo-repo-v4.1.0.intoto.jsonl"),
        "{warning}"
    );
    assert_eq!(r["upload"]["published"], true);
    assert!(!sandbox.github().releases_for_tag(REPO, "v4.1.0")[0].draft);
}

/// The attestation store fails (GitHub answering 503 past every retry):
/// the draft is not published, so that a re-run, as the error says, stores
/// it and publishes. Regression: the draft was published anyway, and the
/// re-run in draft mode stopped at "already published" (exit 2) with the
/// store still empty.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_attestation_store_is_finished_by_a_rerun() {
    let sandbox = Sandbox::start().await.unwrap();
    let gh = sandbox.faults(Service::GitHub);
    gh.only_paths_ending_with("/attestations");
    let attempts = releasekit_sign::net::RetryPolicy::default().attempts as usize;
    gh.fail_next(attempts, releasekit_sandbox::Fault::status(503));
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    let args = ["--release-mode", "draft", "--publish", "--upload-artifacts"];
    let o = run(upload(&sandbox, &work, "v4.0.0", None, &args)).await;
    assert_eq!(code(&o), 1);
    let r = report(&o);
    assert_eq!(r["upload"]["attestation"]["status"], "failed", "{r:#}");
    assert_eq!(r["upload"]["published"], false);
    assert_eq!(r["upload"]["publish_withheld"], true);
    assert!(sandbox.github().releases_for_tag(REPO, "v4.0.0")[0].draft);
    assert!(sandbox.github().attestations(REPO).is_empty());

    let o = run(upload(&sandbox, &work, "v4.0.0", None, &args)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let r = report(&o);
    assert_eq!(r["upload"]["attestation"]["status"], "stored", "{r:#}");
    assert_eq!(r["upload"]["published"], true);
    assert_eq!(sandbox.github().attestations(REPO).len(), 1);

    // Without --json, the draft's line says why it waits.
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    gh.fail_next(attempts, releasekit_sandbox::Fault::status(503));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["dist", "--provenance", "--upload"])
        .args(["--release-tag", "v5.0.0", "--repo", REPO])
        .args(args)
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_SHA", sandbox.default_claims().sha)
        .env("GITHUB_TOKEN", sandbox.github_token());
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("Release v5.0.0 stays a draft (not published): the build provenance is not in the repository's attestations yet"),
        "{}",
        stdout(&o)
    );
}

/// A provenance asset that does not verify once on the draft is deleted
/// from it, and the draft is not published: the report names the asset.
#[tokio::test(flavor = "multi_thread")]
async fn draft_whose_provenance_failed_is_not_published() {
    let sandbox = Sandbox::start().await.unwrap();
    let name = "octo-repo-v3.0.0.intoto.jsonl";
    sandbox.github().corrupt_next_upload(name);
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    let o = run(upload(
        &sandbox,
        &work,
        "v3.0.0",
        None,
        &["--release-mode", "draft", "--publish"],
    ))
    .await;
    assert_eq!(code(&o), 1);
    let r = report(&o);
    let asset = provenance_asset(&r);
    let error = asset["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "asset `{name}` on release v3.0.0 does not verify after upload"
        )) && error.contains("deleted from the draft"),
        "{error}"
    );
    assert_eq!(r["upload"]["published"], false);
    assert_eq!(r["upload"]["publish_withheld"], true);
    assert_eq!(r["upload"]["lacking"], serde_json::json!([name]));
    assert!(r["upload"].get("attestation").is_none(), "{r:#}");
    assert_eq!(attestation_requests(&sandbox), 0);
    let release = &sandbox.github().releases_for_tag(REPO, "v3.0.0")[0];
    assert!(release.draft);
    assert!(!release.assets.iter().any(|a| a.name == name));

    // The dry run's plan lists it after the bundles.
    let o = run(upload(&sandbox, &work, "v3.0.0", None, &["--dry-run"])).await;
    assert_eq!(code(&o), 0);
    let plan = report(&o);
    assert_eq!(
        plan["upload_plan"]["assets"],
        serde_json::json!(["a.tgz.sigstore.json", name])
    );
}

/// A re-run after an artifact failed to sign finishes the draft: the
/// provenance on it, about the artifacts that did sign, by the same signer,
/// gives way to the re-run's about all of them (it drops no claim), without
/// --overwrite, as the local file does. One that would drop a claim (here,
/// a run of the same workflow about other bytes) still needs --overwrite,
/// and is told as another job's or an earlier run's. Regression: the draft's provenance was "different content",
/// an error on every re-run, so the draft was never published.
#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_after_a_failed_artifact_replaces_the_drafts_provenance() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    work.file("dist/b.zip", "b");
    let args = [
        "--release-mode",
        "draft",
        "--publish",
        "--upload-artifacts",
        "--jobs",
        "1",
    ];
    sandbox
        .faults(Service::RekorV1)
        .fail_next(1, releasekit_sandbox::Fault::status(400));
    let o = run(upload(&sandbox, &work, "v6.0.0", None, &args)).await;
    assert_eq!(code(&o), 1);
    let r = report(&o);
    assert_eq!(r["upload"]["publish_withheld"], true, "{r:#}");
    assert_eq!(r["provenance"]["subjects"].as_array().unwrap().len(), 1);

    let o = run(upload(&sandbox, &work, "v6.0.0", None, &args)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let r = report(&o);
    let name = "octo-repo-v6.0.0.intoto.jsonl";
    let asset = r["upload"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "provenance")
        .unwrap();
    assert_eq!(asset["action"], "replaced", "{r:#}");
    assert_eq!(r["upload"]["published"], true);
    let release = &sandbox.github().releases_for_tag(REPO, "v6.0.0")[0];
    let on_release = release.assets.iter().find(|a| a.name == name).unwrap();
    let text = String::from_utf8(on_release.content.to_vec()).unwrap();
    let bundle: Value = serde_json::from_str(text.trim_end()).unwrap();
    let payload = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        bundle["dsseEnvelope"]["payload"].as_str().unwrap(),
    )
    .unwrap();
    let statement: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(statement["subject"].as_array().unwrap().len(), 2);

    // A provenance about a file the run does not sign stays without --overwrite.
    let other = Work::new();
    other.file("dist/c.tgz", "c");
    let o = run(upload(&sandbox, &other, "v6.0.0", None, &[])).await;
    assert_eq!(code(&o), 1);
    let r = report(&o);
    let asset = r["upload"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "provenance")
        .unwrap();
    assert!(
        asset["error"]
            .as_str()
            .is_some_and(|e| e.contains("is a provenance this run's workflow signed that attests files this run does not (a.tgz, b.zip)")),
        "{r:#}"
    );
}

/// A re-run that uploads may replace the provenance file it found, but not
/// one that appeared after it looked: there was none, so the write takes
/// no file's place, and the one that appeared meanwhile stays. Regression:
/// the write replaced whatever was there by then.
#[tokio::test(flavor = "multi_thread")]
async fn a_provenance_that_appears_during_the_run_is_not_replaced() {
    let sandbox = Sandbox::builder()
        .latency(
            std::time::Duration::from_millis(1500),
            std::time::Duration::ZERO,
        )
        .start()
        .await
        .unwrap();
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    let running = tokio::spawn(run(upload(&sandbox, &work, "v1.0.0", None, &[])));
    // Fulcio answered: the check is right behind it (the artifact is
    // hashed, no file is there), the write a log round trip (1.5 s) later.
    while sandbox.requests(Service::Fulcio).is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(sandbox.requests(Service::RekorV1).is_empty(), "too late");
    work.file(PROVENANCE, "not this run's");
    let o = running.await.unwrap();
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert_eq!(
        std::fs::read_to_string(work.path(PROVENANCE)).unwrap(),
        "not this run's"
    );
    let r = report(&o);
    assert_eq!(r["provenance"]["status"], "failed", "{r:#}");
    // Refused by the write, which took no file's place (the race under
    // test), not by the check before it, which would say it was not
    // replaced: that path passes on the code before the fix too.
    let error = r["provenance"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("already exists;") && !error.contains("was not replaced"),
        "{r:#}"
    );
}

/// GitHub Enterprise Server (`/api/v3`) has no attestations API: the
/// provenance is uploaded and verified, the API is not asked, and the
/// report says so.
#[tokio::test(flavor = "multi_thread")]
async fn enterprise_server_skips_the_attestations_api_with_a_note() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    let api = format!("{}/api/v3", sandbox.urls().github_api);
    let o = run(upload(&sandbox, &work, "v1.0.0", Some(&api), &[])).await;
    assert_eq!(code(&o), 0);
    let r = report(&o);
    assert_eq!(provenance_asset(&r)["checked"], true);
    let attestation = &r["upload"]["attestation"];
    assert_eq!(attestation["status"], "skipped");
    assert!(
        attestation["note"]
            .as_str()
            .unwrap()
            .contains("GitHub Enterprise Server"),
        "{attestation}"
    );
    assert_eq!(attestation_requests(&sandbox), 0);
    assert!(sandbox.github().attestations(REPO).is_empty());
    // Every request went where GitHub Enterprise Server serves it: the API
    // under /api/v3, uploads under /api/uploads (the release's upload_url),
    // none to api.github.com's paths.
    let requests = sandbox.requests(Service::GitHub);
    assert!(requests
        .iter()
        .any(|r| r.method == "POST" && r.uri.starts_with("/api/uploads/repos/")));
    for r in &requests {
        assert!(
            r.uri.starts_with("/api/v3/") || r.uri.starts_with("/api/uploads/"),
            "{} {}",
            r.method,
            r.uri
        );
    }
}

/// A re-run after a failed upload signs the provenance again and replaces
/// the one the first run wrote when it repeats all of its claims; one that
/// would drop a claim (an artifact that no longer signs) leaves the first
/// file as it is, and says to pass --overwrite. Regression: it was replaced
/// whatever it said, so a claim already written was lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_replaces_the_provenance_only_when_it_drops_no_claim() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    work.file("dist/b.zip", "b");
    let down = Some("http://127.0.0.1:9");
    let o = run(upload(&sandbox, &work, "v1.0.0", down, &[])).await;
    assert_eq!(code(&o), 1, "the upload failed");
    let first = std::fs::read(work.path(PROVENANCE)).unwrap();

    // Everything still verifies: the new provenance repeats every claim.
    let o = run(upload(&sandbox, &work, "v1.0.0", down, &[])).await;
    assert_eq!(
        report(&o)["provenance"]["status"],
        "signed",
        "{}",
        stdout(&o)
    );
    let second = std::fs::read(work.path(PROVENANCE)).unwrap();
    assert_ne!(second, first, "signed again and replaced");

    // b's bundle no longer verifies, so b is not kept: a provenance about a
    // alone would drop the claim about b.
    std::fs::write(work.path("dist/b.zip.sigstore.json"), "{}").unwrap();
    let logged = sandbox.requests(Service::RekorV1).len();
    let o = run(upload(&sandbox, &work, "v1.0.0", None, &[])).await;
    assert_eq!(code(&o), 1);
    assert_eq!(
        sandbox.requests(Service::RekorV1).len(),
        logged,
        "refused before it was signed: nothing logged for it"
    );
    let r = report(&o);
    assert_eq!(r["provenance"]["status"], "failed", "{r:#}");
    let error = r["provenance"]["error"].as_str().unwrap();
    assert!(
        error.contains("was not replaced: it attests b.zip (")
            && error.contains("fix: pass --overwrite"),
        "{error}"
    );
    assert_eq!(std::fs::read(work.path(PROVENANCE)).unwrap(), second);
}

/// A re-run does not replace a provenance file holding another kind of
/// claim by the same signer (here an SLSA v0.2 statement, from
/// sigstore-python) even when its subjects are among the run's: ours does
/// not repeat that claim. Regression: only the subjects were compared, so
/// it was replaced and its claim lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_keeps_a_provenance_of_another_kind() {
    let Some(python) = releasekit_sandbox::peers::sigstore_python()
        .or_skip("a_rerun_keeps_a_provenance_of_another_kind")
    else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    let down = Some("http://127.0.0.1:9");
    let o = run(upload(&sandbox, &work, "v1.0.0", down, &[])).await;
    assert_eq!(code(&o), 1, "the upload failed");
    std::fs::remove_file(work.path(PROVENANCE)).unwrap();
    crate::verify_provenance::sigstore_attest_as(
        &python,
        &sandbox,
        &work,
        sandbox.trust_config_path(),
        (PROVENANCE, &work.path("dist/a.tgz")),
        (
            "https://slsa.dev/provenance/v0.2",
            r#"{"builder":{"id":"https://example.com/builder"},"buildType":"https://example.com/b"}"#,
        ),
    );
    let other = std::fs::read(work.path(PROVENANCE)).unwrap();

    let o = run(upload(&sandbox, &work, "v1.0.0", down, &[])).await;
    let r = report(&o);
    assert_eq!(r["provenance"]["status"], "failed", "{r:#}");
    let error = r["provenance"]["error"].as_str().unwrap();
    assert!(
        error.contains(
            "was not replaced: its predicate type is `https://slsa.dev/provenance/v0.2`, not `https://slsa.dev/provenance/v1`"
        ) && error.contains("fix: pass --overwrite"),
        "{error}"
    );
    assert_eq!(std::fs::read(work.path(PROVENANCE)).unwrap(), other);
}

/// Two jobs of one workflow each attest their own files to one release, and
/// by default under one name: the second finds the first's provenance, by
/// the same signer, about other files, and says to name them apart (not to
/// overwrite it, which would drop the first job's claims). Named apart, both
/// land.
#[tokio::test(flavor = "multi_thread")]
async fn two_jobs_attesting_under_one_name_are_told_to_name_them_apart() {
    let sandbox = Sandbox::start().await.unwrap();
    let draft = ["--release-mode", "draft"];
    let linux = Work::new();
    linux.file("dist/a.tgz", "a");
    let o = run(upload(&sandbox, &linux, "v4.0.0", None, &draft)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));

    let mac = Work::new();
    mac.file("dist/b.zip", "b");
    let o = run(upload(&sandbox, &mac, "v4.0.0", None, &draft)).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = format!("{}{}", stdout(&o), crate::util::stderr(&o));
    assert!(
        out.contains("is a provenance this run's workflow signed that attests files this run does not (a.tgz)")
            && out.contains("--provenance-name (action input `provenance-name`)")
            && !out.contains("pass --overwrite"),
        "{out}"
    );

    let named = [&draft[..], &["--provenance-name", "mac.intoto.jsonl"]].concat();
    std::fs::remove_file(mac.path("dist/b.zip.sigstore.json")).unwrap();
    let o = run(upload(&sandbox, &mac, "v4.0.0", None, &named)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let names: Vec<String> = sandbox.github().releases_for_tag(REPO, "v4.0.0")[0]
        .assets
        .iter()
        .map(|a| a.name.clone())
        .collect();
    assert!(
        names.iter().any(|n| n == "mac.intoto.jsonl")
            && names.iter().any(|n| n == PROVENANCE_ASSET_V4),
        "{names:?}"
    );
}

const PROVENANCE_ASSET_V4: &str = "octo-repo-v4.0.0.intoto.jsonl";

/// The provenance is held to the bundles' rules: it does not go up to a
/// release holding another build of an artifact it names (uploading bundles
/// only), nor where an artifact's own upload failed (the release holds
/// other bytes of its name), and no attestation is stored. Regression: the
/// bundle stayed off but the provenance went up, so `verify --release`
/// failed an asset that was merely unsigned before, on a published release
/// for good, with an attestation of bytes the release does not ship.
#[tokio::test(flavor = "multi_thread")]
async fn the_provenance_is_not_put_beside_another_build() {
    for extra in [&[][..], &["--upload-artifacts"][..]] {
        let sandbox = Sandbox::start().await.unwrap();
        let work = Work::new();
        work.file("dist/a.tgz", "a, as built now");
        work.file("dist/b.tgz", "b");
        let gh = sandbox.github();
        assert!(gh.insert_asset_unchecked(REPO, "v1.0.0", "a.tgz", "a, another build"));
        let o = run(upload(&sandbox, &work, "v1.0.0", None, extra)).await;
        assert_eq!(code(&o), 1, "{extra:?}: {}", stdout(&o));
        let r = report(&o);
        let error = provenance_error(&r);
        assert!(
            error.starts_with("not uploaded: ") && error.contains("`a.tgz`, an artifact it names"),
            "{extra:?}: {error}"
        );
        let names = crate::util::asset_names(&gh.assets(REPO, "v1.0.0"));
        assert!(
            !names.iter().any(|n| n.ends_with(".intoto.jsonl")),
            "{extra:?}: {names:?}"
        );
        assert!(
            names.iter().any(|n| n == "b.tgz.sigstore.json"),
            "{extra:?}: {names:?}"
        );
        assert_eq!(attestation_requests(&sandbox), 0, "{extra:?}");
    }
}

/// A re-run with `--overwrite` one of whose artifacts fails (a log's
/// refusal) does not replace the provenance, on disk or on the release,
/// with one about fewer files, whether the workspace still holds the first
/// run's provenance or not (a fresh runner). Regression: `--overwrite`
/// let the partial one replace both, and `verify --release` then failed an
/// artifact that was still on the release, unchanged.
#[tokio::test(flavor = "multi_thread")]
async fn an_overwrite_with_a_failed_artifact_keeps_the_whole_provenance() {
    use releasekit_sandbox::Fault;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    work.file("dist/b.zip", "b");
    let first = ["--upload-artifacts"];
    let o = run(upload(&sandbox, &work, "v1.0.0", None, &first)).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let name = "octo-repo-v1.0.0.intoto.jsonl";
    let on_release = || {
        sandbox
            .github()
            .assets(REPO, "v1.0.0")
            .into_iter()
            .find(|a| a.name == name)
            .map(|a| a.content)
    };
    let released = on_release().expect("uploaded");
    let local = std::fs::read(work.path(name)).unwrap();
    for fresh in [false, true] {
        if fresh {
            std::fs::remove_file(work.path(name)).unwrap();
        }
        sandbox
            .faults(Service::RekorV1)
            .fail_next(1, Fault::status(400));
        let again = ["--upload-artifacts", "--overwrite", "--jobs", "1"];
        let o = run(upload(&sandbox, &work, "v1.0.0", None, &again)).await;
        assert_eq!(code(&o), 1, "fresh {fresh}: {}", stdout(&o));
        assert!(
            on_release() == Some(released.clone()),
            "fresh {fresh}: {}",
            stdout(&o)
        );
        let said = stdout(&o);
        if fresh {
            assert!(said.contains("was not replaced, though --overwrite was given: an artifact of this run failed, so this run's provenance names fewer files, and the one there is not one it supersedes (a.tgz); fix: re-run once every artifact signs (if it is another job's provenance under the same name, give each job its own, --provenance-name)"), "{said}");
            // Not the refusal's own fix, which names what was done.
            for wrong in ["pass --overwrite", "--overwrite replaces it"] {
                assert!(!said.contains(wrong), "{wrong}: {said}");
            }
        } else {
            assert!(std::fs::read(work.path(name)).unwrap() == local, "{said}");
            assert!(said.contains("already exists and was not replaced, though --overwrite was given: an artifact of this run failed"), "{said}");
        }
    }
}

/// Uploading bundles only where an artifact's asset cannot be read (GitHub
/// Enterprise Server lists no digest, and storage fails), the provenance
/// stays off saying so, not that the asset is another build to delete.
#[tokio::test(flavor = "multi_thread")]
async fn the_provenance_held_for_an_unread_asset_says_why() {
    use releasekit_sandbox::Fault;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    let gh = sandbox.github();
    assert!(gh.insert_asset_unchecked(REPO, "v1.0.0", "a.tgz", "a"));
    sandbox
        .faults(Service::Storage)
        .fail_next(50, Fault::status(500));
    let api = format!("{}/api/v3", sandbox.urls().github_api);
    let o = run(upload(&sandbox, &work, "v1.0.0", Some(&api), &[])).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let r = report(&o);
    let error = provenance_error(&r);
    assert!(
        error.contains("`a.tgz`, an artifact it names, could not be read to tell whether it is the artifact signed"),
        "{error}"
    );
    assert!(!error.contains("other bytes"), "{error}");
}
