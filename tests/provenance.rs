use std::path::Path;
use std::process::Command;
use std::time::Duration;

use releasekit_sandbox::{peers, Sandbox, Service};
use sigstore_trust_root::TrustedRoot;
use sigstore_types::Bundle;
use sigstore_verify::{VerificationPolicy, Verifier};

use crate::util::{
    accepted, code, run, sign, sign_v2, sigstore_python_verifies, stderr, stdout, Work,
};

const SERVER: (&str, &str) = ("GITHUB_SERVER_URL", "https://github.com");

/// The one bundle in a `.intoto.jsonl` file, which must be exactly one line.
fn bundle_line(path: &Path) -> (String, serde_json::Value) {
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(text.matches('\n').count(), 1, "one line: {text}");
    assert!(text.ends_with('\n'));
    let value = serde_json::from_str(text.trim_end()).unwrap();
    (text, value)
}

/// The statement inside a DSSE bundle.
fn statement(bundle: &serde_json::Value) -> serde_json::Value {
    use base64::Engine as _;
    let payload = bundle["dsseEnvelope"]["payload"].as_str().unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// sigstore-verify, independently of the product: the provenance verifies
/// for `artifact` (a subject) under the sandbox's root and identity.
fn verifies_for(sandbox: &Sandbox, text: &str, artifact: &Path) -> Result<(), String> {
    let root = TrustedRoot::from_file(sandbox.trusted_root_path()).unwrap();
    let verifier = Verifier::new(&root).unwrap();
    let bundle = Bundle::from_json(text.trim_end()).unwrap();
    let policy = VerificationPolicy::new(sandbox.identity(), sandbox.issuer());
    let data = std::fs::read(artifact).unwrap();
    verifier
        .verify(data.as_slice(), &bundle, &policy)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// One run: a bundle per artifact and one provenance about all of them,
/// signed with the run's one certificate, logged as a Rekor v1 `dsse` entry,
/// with the predicate GitHub's attest action writes for the token's job.
#[tokio::test(flavor = "multi_thread")]
async fn one_statement_about_every_artifact_with_the_runs_certificate() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("dist/a.whl", "a");
    let b = work.file("dist/b.tar.gz", "b");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1)
        .args(["--json", "--provenance", "dist"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["certificates"], 1, "no second Fulcio request");
    assert_eq!(sandbox.requests(Service::Fulcio).len(), 1);
    let p = &report["provenance"];
    assert_eq!(p["status"], "signed");
    assert_eq!(p["path"], "provenance.intoto.jsonl");
    assert_eq!(p["subjects"].as_array().unwrap().len(), 2);

    let (text, bundle) = bundle_line(&work.path("provenance.intoto.jsonl"));
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        bundle["dsseEnvelope"]["payloadType"],
        "application/vnd.in-toto+json"
    );
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["kind"], "dsse");
    assert_eq!(entry["kindVersion"]["version"], "0.0.1");
    assert!(entry["inclusionPromise"]["signedEntryTimestamp"].is_string());
    // The same certificate as the artifacts' bundles.
    let a_bundle: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.path("dist/a.whl.sigstore.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        bundle["verificationMaterial"]["certificate"],
        a_bundle["verificationMaterial"]["certificate"]
    );
    for artifact in [&a, &b] {
        verifies_for(&sandbox, &text, artifact).unwrap();
    }
    let other = work.file("other.bin", "not a subject");
    assert!(verifies_for(&sandbox, &text, &other).is_err());

    let s = statement(&bundle);
    assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(s["predicateType"], "https://slsa.dev/provenance/v1");
    let names: Vec<&str> = s["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a.whl", "b.tar.gz"]);
    let claims = sandbox.default_claims();
    let predicate = &s["predicate"];
    assert_eq!(
        predicate["buildDefinition"]["buildType"],
        "https://actions.github.io/buildtypes/workflow/v1"
    );
    assert_eq!(
        predicate["runDetails"]["builder"]["id"],
        format!("https://github.com/{}", claims.job_workflow_ref)
    );
    assert_eq!(
        predicate["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"],
        claims.sha
    );
    assert_eq!(
        predicate["runDetails"]["metadata"]["invocationId"],
        format!(
            "https://github.com/{}/actions/runs/{}/attempts/{}",
            claims.repository, claims.run_id, claims.run_attempt
        )
    );
}

/// Rekor v1's `dsse` entry requests, and when each arrived.
fn dsse_requests(sandbox: &Sandbox) -> Vec<std::time::Instant> {
    sandbox
        .requests(Service::RekorV1)
        .iter()
        .filter(|r| r.method == "POST" && String::from_utf8_lossy(&r.body).contains("\"dsse\""))
        .map(|r| r.at)
        .collect()
}

/// The provenance needs the artifacts' digests, not their bundles: it is
/// signed as soon as they are hashed, and logged as soon as one artifact's
/// entry has shown the log is one the trusted root lists, while the other
/// artifacts' entries are still being answered; so it adds at most that
/// first round trip, and goes to no log the run would stop at.
#[tokio::test(flavor = "multi_thread")]
async fn provenance_is_logged_while_the_artifacts_entries_are_answered() {
    use sha2::Digest as _;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    work.file("dist/b.tar.gz", "b");
    // b's entry is asked for again after 2 s: a's comes back at once.
    let rekor = sandbox.faults(Service::RekorV1);
    rekor.only_bodies_containing(hex::encode(sha2::Sha256::digest(b"b")));
    rekor.fail_next(1, releasekit_sandbox::faults::Fault::retry_after(503, 2));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1)
        .args(["--json", "--provenance", "dist"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let b_logged = sandbox
        .requests(Service::RekorV1)
        .iter()
        .filter(|r| {
            r.status == 201 && String::from_utf8_lossy(&r.body).contains("\"hashedrekord\"")
        })
        .map(|r| r.at)
        .max()
        .expect("the artifacts were logged");
    let dsse = dsse_requests(&sandbox);
    assert_eq!(dsse.len(), 1, "one provenance entry");
    assert!(
        dsse[0] < b_logged,
        "the provenance waited for every artifact's entry ({:?} after the last)",
        dsse[0] - b_logged
    );
    let (text, _) = bundle_line(&work.path("provenance.intoto.jsonl"));
    for artifact in ["dist/a.whl", "dist/b.tar.gz"] {
        verifies_for(&sandbox, &text, &work.path(artifact)).unwrap();
    }
}

/// An artifact that fails before any provenance went to the log (the log
/// opens at the first bundle that verifies) is left out of the draft that
/// waits for it: one provenance entry, about the files signed.
#[tokio::test(flavor = "multi_thread")]
async fn an_artifact_that_fails_before_the_log_opens_is_never_in_a_logged_provenance() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    work.file("dist/b.tar.gz", "b");
    work.file("dist/c.zip", "c");
    let rekor = sandbox.faults(Service::RekorV1);
    // All three hashed (and the provenance drafted from them) before any
    // answer: the first entry asked for is refused at once, the second
    // comes a second later, the third at once, which opens the log while
    // the second still waits.
    rekor.only_bodies_containing("\"hashedrekord\"");
    rekor.fail_next(1, releasekit_sandbox::faults::Fault::status(400));
    rekor.fail_next(1, releasekit_sandbox::faults::Fault::retry_after(503, 1));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1)
        .args(["--json", "--provenance", "dist"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(rekor.pending(), 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["provenance"]["status"], "signed", "{report}");
    assert_eq!(
        report["provenance"]["subjects"].as_array().unwrap().len(),
        2,
        "{report}"
    );
    // Regression: the draft about all three was logged once the log opened,
    // then the provenance signed again without the failed one.
    assert_eq!(dsse_requests(&sandbox).len(), 1, "one provenance entry");
}

/// An artifact whose log entry fails after it was hashed is not a subject:
/// the provenance signed before its failure named it, so it is signed again
/// without it, and only that one is written.
#[tokio::test(flavor = "multi_thread")]
async fn an_artifact_that_fails_after_its_hash_is_left_out_of_the_provenance() {
    use sha2::Digest as _;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("dist/a.whl", "a");
    let b = work.file("dist/b.tar.gz", "b");
    let rekor = sandbox.faults(Service::RekorV1);
    // b's entry is refused only when asked for again a second later: long
    // after both artifacts are hashed, the provenance signed from them, and
    // logged once a's entry came back.
    rekor.only_bodies_containing(hex::encode(sha2::Sha256::digest(b"b")));
    rekor.fail_next(1, releasekit_sandbox::faults::Fault::retry_after(503, 1));
    rekor.fail_next(1, releasekit_sandbox::faults::Fault::status(400));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1)
        .args(["--json", "--provenance", "dist"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(rekor.pending(), 0, "b's entry was refused");
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let p = &report["provenance"];
    assert_eq!(p["status"], "signed", "{p}");
    let names: Vec<&str> = p["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a.whl"]);
    assert_eq!(
        dsse_requests(&sandbox).len(),
        2,
        "signed early with both artifacts, then again without b"
    );
    let (text, bundle) = bundle_line(&work.path("provenance.intoto.jsonl"));
    let subjects = statement(&bundle)["subject"].as_array().unwrap().len();
    assert_eq!(subjects, 1, "the file holds the provenance without b");
    verifies_for(&sandbox, &text, &a).unwrap();
    assert!(verifies_for(&sandbox, &text, &b).is_err());
}

/// On Rekor v2 the envelope is logged as the client specification says: a
/// hashedrekord 0.0.2 entry over the envelope's PAE, with a timestamp.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v2_logs_the_envelope_as_a_hashedrekord_over_its_pae() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let mut cmd = sign_v2(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1).args([
        "--provenance",
        "--provenance-name",
        "tool.intoto.jsonl",
        "a.whl",
    ]);
    assert_eq!(code(&run(cmd).await), 0);
    let (text, bundle) = bundle_line(&work.path("tool.intoto.jsonl"));
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["kind"], "hashedrekord");
    assert_eq!(entry["kindVersion"]["version"], "0.0.2");
    assert!(
        bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
            .is_object()
    );
    verifies_for(&sandbox, &text, &a).unwrap();
}

/// A token without GitHub's claims (another CI provider) is one clear error
/// naming the missing claims, before Fulcio is asked for anything.
#[tokio::test(flavor = "multi_thread")]
async fn other_ci_providers_get_the_missing_claims_named() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut claims = sandbox.default_claims();
    claims.iss = "https://gitlab.com".into();
    claims.job_workflow_ref = String::new();
    claims.run_attempt = String::new();
    let token = sandbox.token_with(&claims, Duration::from_secs(600));
    let mut cmd = crate::util::bin(work.dir.path());
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["--identity-token", &token, "--provenance", "a.whl"])
        .env(SERVER.0, SERVER.1);
    let o = run(cmd).await;
    assert_eq!(code(&o), 2, "a configuration error");
    let err = stderr(&o);
    assert!(
        err.contains("lacks the claims job_workflow_ref, run_attempt"),
        "{err}"
    );
    assert!(sandbox.requests(Service::Fulcio).is_empty());
    assert!(!work.path("provenance.intoto.jsonl").exists());

    // A GitHub Actions token without GITHUB_SERVER_URL: its issuer names
    // the server. Regression: refused, "GITHUB_SERVER_URL is not set ...
    // set it", where its own error said to unset it.
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["--provenance", "a.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (_, bundle) = bundle_line(&work.path("provenance.intoto.jsonl"));
    let workflow =
        &statement(&bundle)["predicate"]["buildDefinition"]["externalParameters"]["workflow"];
    assert_eq!(
        workflow["repository"], "https://github.com/octo-org/octo-repo",
        "{workflow}"
    );
}

/// An existing provenance file is refused before any work, unless --overwrite.
#[tokio::test(flavor = "multi_thread")]
async fn an_existing_provenance_file_is_not_replaced_silently() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("provenance.intoto.jsonl", "old");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1).args(["--provenance", "a.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("pass --overwrite"), "{}", stderr(&o));
    assert!(sandbox.requests(Service::Fulcio).is_empty());

    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1)
        .args(["--provenance", "--overwrite", "a.whl"]);
    assert_eq!(code(&run(cmd).await), 0);
    bundle_line(&work.path("provenance.intoto.jsonl"));
}

/// A directory where the provenance would be written is refused before
/// any work, `--overwrite` or not. Regression: with it, the statement was
/// logged, then its write failed ("Is a directory").
#[tokio::test(flavor = "multi_thread")]
async fn a_directory_in_the_provenances_place_is_refused_before_any_work() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("provenance.intoto.jsonl/x", "a directory's file");
    for extra in [&[][..], &["--overwrite"]] {
        let mut cmd = sign(&sandbox, work.dir.path());
        cmd.env(SERVER.0, SERVER.1)
            .args(["--provenance", "a.whl"])
            .args(extra);
        let o = run(cmd).await;
        assert_eq!(code(&o), 2, "{extra:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("provenance.intoto.jsonl is a directory, where the provenance would be written; fix: move it away, or choose another --provenance-name"),
            "{extra:?}: {}",
            stderr(&o)
        );
        assert!(sandbox.requests(Service::Fulcio).is_empty());
        assert!(sandbox.requests(Service::RekorV1).is_empty());
    }
}

/// A provenance file that is also one of the artifacts is refused before
/// any work (it would replace the artifact after it was signed), named in
/// any case where the file system folds case.
#[tokio::test(flavor = "multi_thread")]
async fn a_provenance_file_that_is_an_artifact_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    work.file("dist/build.intoto.jsonl", "old");
    let mut names = vec!["build.intoto.jsonl"];
    if cfg!(any(target_os = "macos", windows)) {
        // Regression: compared as spelled, so it passed and replaced it.
        names.push("Build.intoto.jsonl");
    }
    for name in names {
        let mut cmd = sign(&sandbox, work.dir.path());
        cmd.env(SERVER.0, SERVER.1).args([
            "--provenance",
            "--provenance-name",
            name,
            "--output-dir",
            "dist",
            "--overwrite",
            // Named outright: found in `dist` it would be the file the
            // run replaces (`an_earlier_provenance_in_the_signed_directory_...`).
            "dist/a.whl",
            "dist/build.intoto.jsonl",
        ]);
        let o = run(cmd).await;
        assert_eq!(code(&o), 2, "{name}");
        assert!(
            stderr(&o).contains("is also an artifact to sign"),
            "{name}: {}",
            stderr(&o)
        );
    }
    assert!(sandbox.requests(Service::Fulcio).is_empty());
    assert_eq!(
        std::fs::read_to_string(work.path("dist/build.intoto.jsonl")).unwrap(),
        "old"
    );
}

/// `--dry-run` shows the statement it would sign, with placeholders for what
/// only signing knows (the token's claims, the digests).
#[tokio::test(flavor = "multi_thread")]
async fn dry_run_shows_the_statement() {
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = crate::util::bin(work.dir.path());
    cmd.env(SERVER.0, SERVER.1)
        .args(["sign", "--dry-run", "--provenance", "a.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    insta::assert_snapshot!(stdout(&o));
}

/// sigstore-python accepts our provenance for every subject, on Rekor v1 and v2.
#[tokio::test(flavor = "multi_thread")]
async fn sigstore_python_accepts_our_provenance() {
    let Some(python) = peers::sigstore_python().or_skip("sigstore_python_accepts_our_provenance")
    else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let b = work.file("b.tgz", "b");
    for (v2, name) in [(false, "v1.intoto.jsonl"), (true, "v2.intoto.jsonl")] {
        let mut cmd = if v2 {
            sign_v2(&sandbox, work.dir.path())
        } else {
            sign(&sandbox, work.dir.path())
        };
        cmd.env(SERVER.0, SERVER.1).args([
            "--overwrite",
            "--provenance",
            "--provenance-name",
            name,
            "a.whl",
            "b.tgz",
        ]);
        assert_eq!(code(&run(cmd).await), 0);
        let trust = if v2 {
            sandbox.trust_config_v2_path()
        } else {
            sandbox.trust_config_path()
        };
        for artifact in [&a, &b] {
            sigstore_python_verifies(&python, &sandbox, trust, Some(&work.path(name)), artifact);
        }
    }
}

/// The sandbox's Rekor v1 takes sigstore-python's own `dsse` entries (it
/// refused them before it knew the kind), and the result verifies.
#[tokio::test(flavor = "multi_thread")]
async fn sigstore_python_attests_against_the_sandbox() {
    let Some(python) =
        peers::sigstore_python().or_skip("sigstore_python_attests_against_the_sandbox")
    else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    crate::verify_provenance::sigstore_attest(
        &python,
        &sandbox,
        &work,
        sandbox.trust_config_path(),
        "py.sigstore.json",
        &a,
    );
    let bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path("py.sigstore.json")).unwrap())
            .unwrap();
    assert_eq!(
        bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "dsse"
    );
    sigstore_python_verifies(
        &python,
        &sandbox,
        sandbox.trust_config_path(),
        Some(&work.path("py.sigstore.json")),
        &a,
    );
}

/// cosign (sigstore-go) accepts our Rekor v1 provenance as SLSA v1 for every subject.
#[tokio::test(flavor = "multi_thread")]
async fn cosign_accepts_our_provenance() {
    let Some(cosign) = peers::cosign().or_skip("cosign_accepts_our_provenance") else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let b = work.file("b.tgz", "b");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1)
        .args(["--provenance", "a.whl", "b.tgz"]);
    assert_eq!(code(&run(cmd).await), 0);
    for artifact in [&a, &b] {
        let o = Command::new(&cosign)
            .args(["verify-blob-attestation", "--new-bundle-format", "--bundle"])
            .arg(work.path("provenance.intoto.jsonl"))
            .arg("--trusted-root")
            .arg(sandbox.trusted_root_path())
            .args(["--type", "slsaprovenance1", "--certificate-identity"])
            .arg(sandbox.identity())
            .arg("--certificate-oidc-issuer")
            .arg(sandbox.issuer())
            .arg(artifact)
            .output()
            .unwrap();
        accepted(o, "cosign");
    }
}

/// A provenance file an earlier run left in `dist/`, signed as a directory
/// and written into, is replaced by the re-run (`--overwrite`), not signed
/// as an artifact, and the plan says it was skipped. Regression: the
/// re-run was refused, "the provenance file is also an artifact to sign".
#[tokio::test(flavor = "multi_thread")]
async fn an_earlier_provenance_in_the_signed_directory_is_replaced_not_signed() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    let again = |extra: &'static [&'static str]| {
        let mut cmd = sign(&sandbox, work.dir.path());
        cmd.env(SERVER.0, SERVER.1)
            .args([
                "dist",
                "--provenance",
                "--provenance-name",
                "build.intoto.jsonl",
            ])
            .args(["--output-dir", "dist", "--json"])
            .args(extra);
        cmd
    };
    let o = run(again(&[])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let first = std::fs::read(work.path("dist/build.intoto.jsonl")).unwrap();
    let o = run(again(&["--overwrite"])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let signed: Vec<_> = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(signed, ["dist/a.whl"], "{report:#}");
    assert!(
        report["skipped"].to_string().contains("build.intoto.jsonl"),
        "{report:#}"
    );
    let second = std::fs::read(work.path("dist/build.intoto.jsonl")).unwrap();
    assert_ne!(first, second, "signed again and replaced");
    assert!(!work.path("dist/build.intoto.jsonl.sigstore.json").exists());
}

/// With `--overwrite`, an existing provenance file that is a link out of
/// the working tree is replaced, never followed: nothing outside changes.
#[tokio::test(flavor = "multi_thread")]
async fn an_overwritten_provenance_link_is_replaced_not_followed() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let outside = Work::new();
    work.file("a.whl", "a");
    outside.file("secret.json", "{}");
    std::os::unix::fs::symlink(
        outside.path("secret.json"),
        work.path("provenance.intoto.jsonl"),
    )
    .unwrap();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1)
        .args(["a.whl", "--provenance", "--overwrite"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!work
        .path("provenance.intoto.jsonl")
        .symlink_metadata()
        .unwrap()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(outside.path("secret.json")).unwrap(),
        "{}"
    );
}
