//! `verify` against bundles the product made with a sandbox: what passes, and
//! for each check in the seed's "What verification checks" table a bundle
//! broken in exactly that way, named for its defect, failing with its message.

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use releasekit_sandbox::Sandbox;
use serde_json::Value;

use crate::util::{
    assert_printable, bin, code, filters, run, sign, sign_v2, signed, stderr, stdout, Work,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `releasekit-sign verify --trust-config <sandbox>`, then `args`.
fn verify_cmd(sandbox: &Sandbox, cwd: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = bin(cwd);
    cmd.arg("verify")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(args);
    cmd
}

/// Verify with the sandbox's exact identity and issuer, then `args`.
async fn verify_strict(sandbox: &Sandbox, cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = verify_cmd(sandbox, cwd, args);
    cmd.arg("--cert-identity")
        .arg(sandbox.identity())
        .arg("--cert-oidc-issuer")
        .arg(sandbox.issuer());
    run(cmd).await
}

fn bundle_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// Edit the bundle of `artifact` in place.
fn mutate(work: &Work, artifact: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let p = work.path(&format!("{artifact}.sigstore.json"));
    let mut v = bundle_json(&p);
    edit(&mut v);
    write_json(&p, &v);
    p
}

/// Flip one bit of the base64 field at `pointer`, byte `at` (from the end if negative).
fn flip_b64(v: &mut Value, pointer: &str, at: isize) {
    let field = v
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}"));
    let mut bytes = B64.decode(field.as_str().unwrap()).unwrap();
    let i = if at < 0 {
        bytes.len() - at.unsigned_abs()
    } else {
        at as usize
    };
    bytes[i] ^= 0x01;
    *field = Value::String(B64.encode(bytes));
}

/// The one output line about `artifact`.
fn line_for(o: &Output, artifact: &str) -> String {
    let out = stdout(o);
    out.lines()
        .find(|l| l.contains(&format!(" {artifact}")))
        .unwrap_or_else(|| panic!("no line for {artifact} in:\n{out}"))
        .to_owned()
}

fn assert_fails_with(o: &Output, artifact: &str, message: &str) {
    assert_eq!(code(o), 1);
    let line = line_for(o, artifact);
    assert!(
        line.starts_with(&format!("❌ {artifact}: {message}")),
        "expected `{message}`, got:\n{line}"
    );
}

/// Bundles made by `sign` verify, one line per artifact as in the seed, and a
/// A glob of bundles (`'dist/*.sigstore.json'`) verifies each bundle's
/// artifact, as the same bundles named one by one do, and one whose
/// artifact is gone fails. Regression: it was a usage error ("matched no
/// file to verify").
#[tokio::test(flavor = "multi_thread")]
async fn a_glob_of_bundles_verifies_their_artifacts() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    crate::util::signed(&sandbox, &work, &["d/a.whl", "d/b.whl"]).await;
    let o = verify_strict(&sandbox, work.dir.path(), &["d/*.sigstore.json"]).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("Verified 2 of 2"), "{}", stdout(&o));
    std::fs::remove_file(work.path("d/b.whl")).unwrap();
    let o = verify_strict(&sandbox, work.dir.path(), &["d/*.sigstore.json"]).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("❌ d/b.whl"), "{}", stdout(&o));
}

/// An artifact named outright that is a FIFO (or a device) fails, saying so,
/// with or without --provenance: the run never passes without checking it.
/// Regression: it was dropped as "not a regular file" and the run exited 0
/// on the other artifacts.
#[tokio::test(flavor = "multi_thread")]
async fn a_named_artifact_that_is_no_regular_file_fails() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    crate::util::signed(&sandbox, &work, &["good.whl"]).await;
    let fifo = std::process::Command::new("mkfifo")
        .arg(work.path("ff.whl"))
        .status()
        .unwrap();
    assert!(fifo.success());
    std::fs::copy(
        work.path("good.whl.sigstore.json"),
        work.path("ff.whl.sigstore.json"),
    )
    .unwrap();
    let o = verify_strict(&sandbox, work.dir.path(), &["good.whl", "ff.whl"]).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("❌ ff.whl"), "{}", stdout(&o));
    // Found in a directory, even one named through a link, such a thing is
    // not named: skipped, as a broken link there is.
    std::fs::create_dir(work.path("d")).unwrap();
    for f in ["good.whl", "good.whl.sigstore.json"] {
        std::fs::copy(work.path(f), work.path(&format!("d/{f}"))).unwrap();
    }
    std::os::unix::fs::symlink("missing", work.path("d/latest")).unwrap();
    std::os::unix::fs::symlink("d", work.path("out")).unwrap();
    for dir in ["d", "out"] {
        let o = verify_strict(&sandbox, work.dir.path(), &[dir]).await;
        assert_eq!(code(&o), 0, "{dir}: {}", stdout(&o));
    }
}

/// directory means its signed artifacts; no warning with an identity policy.
/// A file in it without a bundle is said unsigned, and with --require-all
/// fails. Regression: passed over in silence (a file whose bundle was
/// deleted, then the file replaced, left no trace but under -v), with no
/// way to fail it outside --release.
#[tokio::test(flavor = "multi_thread")]
async fn signed_artifacts_verify() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["dist/a.whl", "dist/b.tar.gz"]).await;
    work.file("dist/notes.txt", "unsigned");
    let o = verify_strict(&sandbox, work.dir.path(), &["dist"]).await;
    assert_eq!(code(&o), 0);
    assert_eq!(
        stdout(&o),
        "✅ Verified: dist/a.whl\n✅ Verified: dist/b.tar.gz\n⚠ Unsigned: dist/notes.txt (no dist/notes.txt.sigstore.json)\nVerified 2 of 2 artifact(s).\n"
    );
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    // A provenance file there is no artifact, and is not read here: said
    // so, never passed over. Regression: left out without a word.
    work.file("dist/build.intoto.jsonl", "anything");
    let o = verify_strict(&sandbox, work.dir.path(), &["dist"]).await;
    assert_eq!(code(&o), 0);
    assert!(
        stderr(&o).contains("dist/build.intoto.jsonl is a provenance file, not checked by this run: check the artifacts against it with `--provenance dist/build.intoto.jsonl`"),
        "{}",
        stderr(&o)
    );
    let o = verify_strict(&sandbox, work.dir.path(), &["dist", "--require-all"]).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stderr(&o).contains("dist/build.intoto.jsonl is a provenance file"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("❌ dist/notes.txt: Bundle not found"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("✅ Verified: dist/a.whl"),
        "{}",
        stdout(&o)
    );
}

/// A file found by another's name (a bundle's artifact, an artifact's
/// bundle) is held to the working tree as a named one is: a link out of it
/// is refused, before anything is read. Regression: `verify
/// dist/y.whl.sigstore.json` read and hashed `dist/y.whl`, a link to a file
/// outside (`verify dist/y.whl` refused it), and `verify dist` read a
/// bundle that was a link out.
#[tokio::test(flavor = "multi_thread")]
async fn files_found_by_another_name_never_lead_out_of_the_tree() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let outside = Work::new();
    signed(&sandbox, &work, &["dist/y.whl"]).await;
    let refused = |o: &Output, link: &str, arg: &str| {
        assert_eq!(code(o), 2, "{arg}: {}{}", stdout(o), stderr(o));
        assert!(
            stderr(o).contains(&format!("{link} is a symbolic link to "))
                && stderr(o).contains("outside the working directory"),
            "{arg}: {}",
            stderr(o)
        );
        assert!(!stdout(o).contains("Verified:"), "{arg}: {}", stdout(o));
    };

    std::fs::rename(work.path("dist/y.whl"), outside.path("y.whl")).unwrap();
    std::os::unix::fs::symlink(outside.path("y.whl"), work.path("dist/y.whl")).unwrap();
    for arg in ["dist/y.whl.sigstore.json", "dist"] {
        let o = verify_strict(&sandbox, work.dir.path(), &[arg]).await;
        refused(&o, "dist/y.whl", arg);
    }

    std::fs::remove_file(work.path("dist/y.whl")).unwrap();
    std::fs::rename(outside.path("y.whl"), work.path("dist/y.whl")).unwrap();
    let o = verify_strict(&sandbox, work.dir.path(), &["dist"]).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    std::fs::rename(
        work.path("dist/y.whl.sigstore.json"),
        outside.path("y.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path("y.json"),
        work.path("dist/y.whl.sigstore.json"),
    )
    .unwrap();
    for arg in ["dist", "dist/y.whl", "dist/y.whl.sigstore.json"] {
        let o = verify_strict(&sandbox, work.dir.path(), &[arg]).await;
        refused(&o, "dist/y.whl.sigstore.json", arg);
    }
    // Nor does sign read it, to reuse it for an upload.
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["dist/y.whl", "--dry-run"]);
    let o = run(cmd).await;
    refused(&o, "dist/y.whl.sigstore.json", "sign");
}

/// Two names for one file (`b.whl`, a link to `a.whl`) are two artifacts,
/// each with its own bundle: a consumer gets `b.whl` with
/// `b.whl.sigstore.json`. Regression: targets were told apart by the file
/// they resolve to, so `b.whl` and its bundle were never checked (exit 0,
/// "Verified 1 of 1"), and sign left `b.whl` without a bundle.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_name_for_a_file_is_its_own_artifact() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    std::os::unix::fs::symlink("a.whl", work.path("b.whl")).unwrap();

    let o = verify_strict(&sandbox, work.dir.path(), &["a.whl", "b.whl"]).await;
    assert_fails_with(&o, "b.whl", "Bundle not found");
    assert!(
        stdout(&o).contains("✅ Verified: a.whl\n"),
        "{}",
        stdout(&o)
    );

    work.file("b.whl.sigstore.json", "{}");
    let o = verify_strict(&sandbox, work.dir.path(), &["."]).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        line_for(&o, "./b.whl").starts_with("❌ ./b.whl: Bundle invalid"),
        "{}",
        stdout(&o)
    );

    // Sign writes a bundle for each name, and each verifies.
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "b.whl", "--overwrite"]);
    assert_eq!(code(&run(cmd).await), 0);
    let o = verify_strict(&sandbox, work.dir.path(), &["."]).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(
        stdout(&o),
        "✅ Verified: ./a.whl\n✅ Verified: ./b.whl\nVerified 2 of 2 artifact(s).\n"
    );
    // The link named, and its bundle named: one pair, checked once.
    let o = verify_strict(&sandbox, work.dir.path(), &["b.whl", "b.whl.sigstore.json"]).await;
    assert_eq!(
        stdout(&o),
        "✅ Verified: b.whl\nVerified 1 of 1 artifact(s).\n"
    );
}

/// A file whose bundle name would be too long for a file system has no
/// bundle: verify reads bundles, so it is not signed, and the rest of the
/// directory, or the file named alone, is verified as usual (sign refuses
/// such a name, since it could not write the bundle).
#[tokio::test(flavor = "multi_thread")]
async fn a_file_too_long_to_have_a_bundle_is_unsigned() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["dist/a.whl"]).await;
    let long = format!("dist/{}", "n".repeat(250));
    work.file(&long, "unsigned");
    let o = verify_strict(&sandbox, work.dir.path(), &["dist"]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("✅ Verified: dist/a.whl\n⚠ Unsigned: {long} (no {long}.sigstore.json)\nVerified 1 of 1 artifact(s).\n")
    );
    let o = verify_strict(&sandbox, work.dir.path(), &["dist/a.whl", &long]).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("✅ Verified: dist/a.whl\n"),
        "{}",
        stdout(&o)
    );
    assert!(!stderr(&o).contains("shorter name"), "{}", stderr(&o));
}

/// Without an identity constraint the signature is still checked, with a warning.
#[tokio::test(flavor = "multi_thread")]
async fn no_identity_policy_warns() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    let o = run(verify_cmd(&sandbox, work.dir.path(), &["a.whl"])).await;
    assert_eq!(code(&o), 0);
    assert!(
        stderr(&o).contains("warning: no --cert-identity or --cert-identity-regexp: any Sigstore identity is accepted"),
        "{}",
        stderr(&o)
    );
}

/// An identity pinned without its issuer still verifies, with a warning
/// (cosign and sigstore-python refuse to verify so): the same identity on
/// any issuer's word the CA takes passes. Pinned both, or with a GitHub
/// claim (which implies GitHub's issuer), no such warning. Regression:
/// silent.
#[tokio::test(flavor = "multi_thread")]
async fn an_identity_without_its_issuer_warns() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    let identity = sandbox.identity();
    let warning = "warning: no --cert-oidc-issuer or --cert-oidc-issuer-regexp: that identity is accepted from any OIDC issuer";
    let o = run(verify_cmd(
        &sandbox,
        work.dir.path(),
        &["--cert-identity", &identity, "a.whl"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stderr(&o).contains(warning), "{}", stderr(&o));
    let o = verify_strict(&sandbox, work.dir.path(), &["a.whl"]).await;
    assert_eq!(code(&o), 0);
    assert!(!stderr(&o).contains(warning), "{}", stderr(&o));
    let o = run(verify_cmd(
        &sandbox,
        work.dir.path(),
        &[
            "--cert-identity",
            &identity,
            "--cert-github-workflow-trigger",
            "push",
            "a.whl",
        ],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(!stderr(&o).contains(warning), "{}", stderr(&o));
}

/// Rekor v2 entries (no SET; the signing time comes from the RFC 3161 timestamp).
#[tokio::test(flavor = "multi_thread")]
async fn rekor_v2_bundles_verify() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = sign_v2(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    let kind = &bundle_json(&work.path("a.whl.sigstore.json"))["verificationMaterial"]
        ["tlogEntries"][0]["kindVersion"]["version"];
    assert_eq!(kind, "0.0.2");
    let o = verify_strict(&sandbox, work.dir.path(), &["a.whl"]).await;
    assert_eq!(code(&o), 0);

    // Broken the same ways as v1 bundles, with the same messages.
    for n in ["b.whl", "c.whl", "d.whl"] {
        work.file(n, n);
    }
    let mut cmd = sign_v2(&sandbox, work.dir.path());
    cmd.args(["--jobs", "1", "b.whl", "c.whl", "d.whl"]);
    assert_eq!(code(&run(cmd).await), 0);
    mutate(&work, "c.whl", |v| {
        flip_b64(
            v,
            "/verificationMaterial/tlogEntries/0/inclusionProof/hashes/0",
            0,
        )
    });
    let b = bundle_json(&work.path("b.whl.sigstore.json"));
    mutate(&work, "d.whl", |v| {
        v["verificationMaterial"]["tlogEntries"] = b["verificationMaterial"]["tlogEntries"].clone();
    });
    std::fs::write(work.path("b.whl"), "changed").unwrap();
    let o = verify_strict(&sandbox, work.dir.path(), &["b.whl", "c.whl", "d.whl"]).await;
    assert_eq!(code(&o), 1);
    for (n, message) in [
        (
            "b.whl",
            "Verification failed: artifact modified after signing",
        ),
        ("c.whl", "Transparency log proof invalid:"),
        (
            "d.whl",
            "Transparency log entry does not match this artifact:",
        ),
    ] {
        let line = line_for(&o, n);
        assert!(line.starts_with(&format!("❌ {n}: {message}")), "{line}");
    }
}

/// `--json`: every artifact with its status; the signer of a verified one.
#[tokio::test(flavor = "multi_thread")]
async fn json_report() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl", "b.whl"]).await;
    std::fs::write(work.path("b.whl"), "changed").unwrap();
    let o = verify_strict(&sandbox, work.dir.path(), &["--json", "a.whl", "b.whl"]).await;
    assert_eq!(code(&o), 1);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let a = &v["artifacts"][0];
    assert_eq!(a["status"], "verified");
    assert_eq!(a["identity"], sandbox.identity());
    assert_eq!(a["issuer"], sandbox.issuer());
    assert_eq!(a["sha256"].as_str().unwrap().len(), 64);
    assert!(a["log_index"].as_u64().is_some());
    assert_eq!(v["artifacts"][1]["status"], "failed");
    assert_eq!(v["policy"]["identity"]["exact"], sandbox.identity());
}

/// Seed troubleshooting: "Verification failed" — the artifact changed after signing.
#[tokio::test(flavor = "multi_thread")]
async fn tampered_artifact() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["app.tar.gz"]).await;
    std::fs::write(work.path("app.tar.gz"), "trojaned").unwrap();
    let o = verify_strict(&sandbox, work.dir.path(), &["app.tar.gz"]).await;
    assert_fails_with(
        &o,
        "app.tar.gz",
        "Verification failed: artifact modified after signing (digest mismatch) — re-download it from the release",
    );
}

/// Signature validity: one bit of the signature flipped. With an RFC 3161
/// timestamp in the bundle, the timestamp (which covers the signature) is the
/// first check to notice; without one, the signature check itself.
#[tokio::test(flavor = "multi_thread")]
async fn tampered_signature() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl", "b.whl"]).await;
    mutate(&work, "a.whl", |v| {
        assert!(v
            .pointer("/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0")
            .is_some());
        flip_b64(v, "/messageSignature/signature", -3)
    });
    let o = verify_strict(&sandbox, work.dir.path(), &["a.whl"]).await;
    assert_fails_with(&o, "a.whl", "Timestamp invalid: invalid RFC 3161 timestamp");

    mutate(&work, "b.whl", |v| {
        v["verificationMaterial"]
            .as_object_mut()
            .unwrap()
            .remove("timestampVerificationData");
        flip_b64(v, "/messageSignature/signature", -3)
    });
    let o = verify_strict(&sandbox, work.dir.path(), &["b.whl"]).await;
    assert_fails_with(&o, "b.whl", "Verification failed: signature invalid");
}

/// Certificate chain: a leaf from another CA. The trusted root keeps the
/// other sandbox's logs and TSA (so the log evidence checks out) but trusts
/// only our CA, so the chain is the one thing that fails.
#[tokio::test(flavor = "multi_thread")]
async fn certificate_from_another_ca() {
    let ours = Sandbox::start().await.unwrap();
    let other = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&other, &work, &["a.whl"]).await;
    let mut root = bundle_json(other.trusted_root_path());
    root["certificateAuthorities"] =
        bundle_json(ours.trusted_root_path())["certificateAuthorities"].clone();
    let root_path = work.path("mixed_trusted_root.json");
    write_json(&root_path, &root);
    let mut cmd = bin(work.dir.path());
    cmd.arg("verify")
        .arg("--trusted-root")
        .arg(&root_path)
        .args(["--cert-identity", &other.identity(), "a.whl"]);
    let o = run(cmd).await;
    assert_fails_with(&o, "a.whl", "Certificate chain not trusted:");
}

/// A trusted root that lists no transparency log (or no CT log) is
/// verified with as its instance is meant to be, holding bundles to no log
/// entry (or SCT), and a warning says so: a ✅ does not then mean the
/// signature was made public. GitHub's own instance, meant to be so, is
/// not warned of. Regression: nothing said it.
#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_root_without_logs_is_said_to_check_none() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    for (list, told) in [
        (
            "tlogs",
            "lists no transparency log, so no bundle is held to a log entry",
        ),
        (
            "ctlogs",
            "lists no CT log, so no certificate is held to an SCT",
        ),
    ] {
        let mut root = bundle_json(sandbox.trusted_root_path());
        root[list] = serde_json::json!([]);
        let root_path = work.path("root.json");
        write_json(&root_path, &root);
        let mut cmd = bin(work.dir.path());
        cmd.arg("verify")
            .arg("--trusted-root")
            .arg(&root_path)
            .args(["--cert-identity", &sandbox.identity()])
            .args(["--cert-oidc-issuer", &sandbox.issuer(), "a.whl"]);
        let o = run(cmd).await;
        // A Rekor v1 entry's SET is still checked, by a key the root no
        // longer lists: without logs, only a bundle with none passes.
        assert_eq!(
            code(&o),
            i32::from(list == "tlogs"),
            "{list}: {}",
            stderr(&o)
        );
        assert!(stderr(&o).contains(told), "{list}: {}", stderr(&o));
    }
    let o = verify_strict(&sandbox, work.dir.path(), &["a.whl"]).await;
    assert!(!stderr(&o).contains("lists no"), "{}", stderr(&o));
}

/// Identity and issuer: exact values that differ, with expected vs found.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_identity_and_issuer() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    let wrong = "https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main";
    let o = run(verify_cmd(
        &sandbox,
        work.dir.path(),
        &["--cert-identity", wrong, "a.whl"],
    ))
    .await;
    assert_fails_with(
        &o,
        "a.whl",
        &format!(
            "Certificate identity mismatch: expected {wrong:?}, found {:?} (check --cert-identity)",
            sandbox.identity()
        ),
    );
    let o = run(verify_cmd(
        &sandbox,
        work.dir.path(),
        &[
            "--cert-identity",
            &sandbox.identity(),
            "--cert-oidc-issuer",
            "https://accounts.google.com",
            "a.whl",
        ],
    ))
    .await;
    assert_fails_with(
        &o,
        "a.whl",
        &format!(
            "Certificate issuer mismatch: expected \"https://accounts.google.com\", found {:?} (check --cert-oidc-issuer)",
            sandbox.issuer()
        ),
    );
}

/// Regexp policies are anchored: a prefix without `.*` does not match,
/// unlike cosign; the full pattern does.
#[tokio::test(flavor = "multi_thread")]
async fn regexp_policies() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    let identity = sandbox.identity();
    let repo_prefix = identity.split("/.github/").next().unwrap().to_owned();
    let ok = run(verify_cmd(
        &sandbox,
        work.dir.path(),
        &[
            "--cert-identity-regexp",
            &format!("{}/.*", regex::escape(&repo_prefix)),
            "--cert-oidc-issuer-regexp",
            r"https://token\.actions\.githubusercontent\.com",
            "a.whl",
        ],
    ))
    .await;
    assert_eq!(code(&ok), 0);
    let unanchored = regex::escape(&repo_prefix);
    let o = run(verify_cmd(
        &sandbox,
        work.dir.path(),
        &["--cert-identity-regexp", &unanchored, "a.whl"],
    ))
    .await;
    assert_fails_with(
        &o,
        "a.whl",
        &format!("Certificate identity mismatch: expected a match for /{unanchored}/"),
    );
    assert!(line_for(&o, "a.whl").ends_with("(check --cert-identity-regexp)"));
    let o = run(verify_cmd(
        &sandbox,
        work.dir.path(),
        &["--cert-oidc-issuer-regexp", "https://token", "a.whl"],
    ))
    .await;
    assert_fails_with(
        &o,
        "a.whl",
        "Certificate issuer mismatch: expected a match for /https://token/",
    );
    // A pattern that closes the anchoring group itself (it read as
    // `^(?:x)|(.*)$`, and accepted any signer) is not a pattern.
    let o = run(verify_cmd(
        &sandbox,
        work.dir.path(),
        &["--cert-identity-regexp", "x)|(.*", "a.whl"],
    ))
    .await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(
        stderr(&o).contains("--cert-identity-regexp is not a valid regular expression"),
        "{}",
        stderr(&o)
    );
}

/// Each GitHub claim: the sandbox's values pass together; each one wrong fails
/// naming its flag.
#[tokio::test(flavor = "multi_thread")]
async fn github_claims() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    let c = sandbox.default_claims();
    let right = [
        ("--cert-github-workflow-repository", c.repository.clone()),
        ("--cert-github-workflow-ref", c.git_ref.clone()),
        ("--cert-github-workflow-sha", c.sha.clone()),
        ("--cert-github-workflow-trigger", c.event_name.clone()),
        ("--cert-github-workflow-name", c.workflow.clone()),
    ];
    let mut args: Vec<String> = Vec::new();
    for (flag, value) in &right {
        args.push((*flag).to_owned());
        args.push(value.clone());
    }
    args.push("a.whl".into());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = verify_strict(&sandbox, work.dir.path(), &argv).await;
    assert_eq!(code(&o), 0);

    for (flag, value) in &right {
        let label = flag.trim_start_matches("--cert-github-workflow-");
        let label = if label == "sha" { "SHA" } else { label };
        // The repository's flag takes OWNER/NAME only.
        let wrong = if label == "repository" {
            "wrong/value"
        } else {
            "wrong-value"
        };
        let o = verify_strict(&sandbox, work.dir.path(), &[flag, wrong, "a.whl"]).await;
        assert_fails_with(
            &o,
            "a.whl",
            &format!(
                "Certificate GitHub workflow {label} mismatch: expected {wrong:?}, found {value:?} (check {flag})"
            ),
        );
    }
}

/// Transparency log: the SET (inclusion promise) altered.
#[tokio::test(flavor = "multi_thread")]
async fn altered_set() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    mutate(&work, "a.whl", |v| {
        flip_b64(
            v,
            "/verificationMaterial/tlogEntries/0/inclusionPromise/signedEntryTimestamp",
            -3,
        )
    });
    let o = verify_strict(&sandbox, work.dir.path(), &["a.whl"]).await;
    assert_fails_with(&o, "a.whl", "Transparency log proof invalid:");
}

/// Transparency log: one hash of the inclusion proof altered, and separately
/// the checkpoint's signature.
#[tokio::test(flavor = "multi_thread")]
async fn altered_inclusion_proof_and_checkpoint() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    // Several entries, so the last one's proof has hashes.
    signed(&sandbox, &work, &["a.whl", "b.whl", "c.whl"]).await;
    let bundle = bundle_json(&work.path("c.whl.sigstore.json"));
    let proof = &bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
    assert!(!proof["hashes"].as_array().unwrap().is_empty(), "{proof}");

    mutate(&work, "c.whl", |v| {
        flip_b64(
            v,
            "/verificationMaterial/tlogEntries/0/inclusionProof/hashes/0",
            0,
        )
    });
    let o = verify_strict(&sandbox, work.dir.path(), &["c.whl"]).await;
    assert_fails_with(&o, "c.whl", "Transparency log proof invalid:");

    mutate(&work, "b.whl", |v| {
        let p = "/verificationMaterial/tlogEntries/0/inclusionProof/checkpoint/envelope";
        let note = v.pointer(p).unwrap().as_str().unwrap().to_owned();
        // The last line is `— <origin> <base64(key hint || signature)>`.
        let mut lines: Vec<String> = note.split('\n').map(str::to_owned).collect();
        let sig_line = lines.iter().rposition(|l| l.starts_with('—')).unwrap();
        let (head, sig) = lines[sig_line].rsplit_once(' ').unwrap();
        let mut sig = B64.decode(sig).unwrap();
        let last = sig.len() - 3;
        sig[last] ^= 1;
        lines[sig_line] = format!("{head} {}", B64.encode(sig));
        *v.pointer_mut(p).unwrap() = Value::String(lines.join("\n"));
    });
    let o = verify_strict(&sandbox, work.dir.path(), &["b.whl"]).await;
    assert_fails_with(&o, "b.whl", "Transparency log proof invalid:");
}

/// Transparency log: a genuine entry, but for another artifact signed with the
/// same certificate in the same run (CVE-2022-36056's shape).
#[tokio::test(flavor = "multi_thread")]
async fn entry_for_another_artifact() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl", "b.whl"]).await;
    let b = bundle_json(&work.path("b.whl.sigstore.json"));
    mutate(&work, "a.whl", |v| {
        v["verificationMaterial"]["tlogEntries"] = b["verificationMaterial"]["tlogEntries"].clone();
    });
    let o = verify_strict(&sandbox, work.dir.path(), &["a.whl"]).await;
    assert_fails_with(
        &o,
        "a.whl",
        "Transparency log entry does not match this artifact:",
    );
}

/// Missing files: an artifact named without a bundle, and a bundle whose
/// artifact is gone; the good artifact still verifies, the run exits 1.
#[tokio::test(flavor = "multi_thread")]
async fn missing_bundle_and_missing_artifact() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["dist/a.whl", "dist/gone.whl"]).await;
    std::fs::remove_file(work.path("dist/gone.whl")).unwrap();
    work.file("unsigned.whl", "u");
    let o = verify_strict(&sandbox, work.dir.path(), &["dist", "unsigned.whl"]).await;
    assert_eq!(code(&o), 1);
    let mut settings = insta::Settings::clone_current();
    for (re, with) in filters(&work) {
        settings.add_filter(&re, with);
    }
    settings.bind(|| insta::assert_snapshot!("verify_missing_files", stdout(&o)));
}

/// A directory with no bundle at all is a usage error, not a silent success.
#[tokio::test(flavor = "multi_thread")]
async fn directory_without_bundles() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    let o = verify_strict(&sandbox, work.dir.path(), &["dist"]).await;
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("dist holds no bundle"),
        "{}",
        stderr(&o)
    );
}

/// `--bundle FILE` for one artifact whose bundle lives elsewhere.
/// A peer's file that is no bundle is named for what it is, with its fix:
/// cosign's legacy `--bundle` JSON, and a file of one bundle a line (what
/// `gh attestation download` writes) given to `--bundle`. Regression: "is
/// not a Sigstore bundle (missing field `verificationMaterial`)" and
/// "(trailing characters at line 2 column 1)".
#[tokio::test(flavor = "multi_thread")]
async fn a_peers_other_formats_are_named_with_their_fix() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    let bundle = bundle_json(&work.path("a.whl.sigstore.json"));
    // cosign v2's `sign-blob --bundle` without --new-bundle-format.
    work.file(
        "legacy.json",
        serde_json::json!({
            "base64Signature": "MEUCIQ==",
            "cert": "LS0tLS1CRUdJTg==",
            "rekorBundle": {
                "SignedEntryTimestamp": "MEUCIQ==",
                "Payload": { "body": "e30=", "integratedTime": 1, "logIndex": 1, "logID": "00" }
            }
        })
        .to_string(),
    );
    let o = verify_strict(
        &sandbox,
        work.dir.path(),
        &["a.whl", "--bundle", "legacy.json"],
    )
    .await;
    assert_fails_with(
        &o,
        "a.whl",
        "Bundle invalid: legacy.json is in cosign's legacy `--bundle` format",
    );
    assert!(stdout(&o).contains("--new-bundle-format"), "{}", stdout(&o));

    let line = serde_json::to_string(&bundle).unwrap();
    work.file("sha256-a.jsonl", format!("{line}\n{line}\n"));
    let o = verify_strict(
        &sandbox,
        work.dir.path(),
        &["a.whl", "--bundle", "sha256-a.jsonl"],
    )
    .await;
    assert_fails_with(
        &o,
        "a.whl",
        "Bundle invalid: sha256-a.jsonl holds 2 bundles, one a line",
    );
    assert!(
        stdout(&o).contains("fix: pass it with --provenance sha256-a.jsonl"),
        "{}",
        stdout(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn explicit_bundle_path() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    std::fs::rename(
        work.path("a.whl.sigstore.json"),
        work.path("elsewhere.json"),
    )
    .unwrap();
    let o = verify_strict(
        &sandbox,
        work.dir.path(),
        &["a.whl", "--bundle", "elsewhere.json"],
    )
    .await;
    assert_eq!(code(&o), 0);

    // A file named like a bundle is the artifact `--bundle` is for: checked
    // against that bundle, not against itself. Regression: `--bundle` was
    // ignored, and the file's own artifact and bundle were verified (exit 0).
    std::fs::rename(
        work.path("elsewhere.json"),
        work.path("a.whl.sigstore.json"),
    )
    .unwrap();
    work.file("other.json", "{}");
    let o = verify_strict(
        &sandbox,
        work.dir.path(),
        &["a.whl.sigstore.json", "--bundle", "other.json"],
    )
    .await;
    assert_fails_with(&o, "a.whl.sigstore.json", "Bundle invalid: other.json");
    std::fs::copy(work.path("a.whl"), work.path("x.sigstore.json")).unwrap();
    let o = verify_strict(
        &sandbox,
        work.dir.path(),
        &["x.sigstore.json", "--bundle", "a.whl.sigstore.json"],
    )
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).starts_with("✅ Verified: x.sigstore.json\n"),
        "{}",
        stdout(&o)
    );
}

/// Real bundles (tests/data, see ATTRIBUTION.md) against the embedded
/// trusted roots, offline: a DSSE attestation from GitHub Actions with its
/// real Fulcio claims, a cosign v3 message signature, and a staging Rekor v2
/// entry.
#[tokio::test(flavor = "multi_thread")]
async fn real_public_good_and_staging_bundles() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let conda = "signed-package-2.1.0-hb0f4dca_0.conda";
    let gha = "https://github.com/prefix-dev/sigstore-example/.github/workflows/action.yaml@refs/heads/main";
    let mut cmd = bin(&data);
    cmd.args([
        "verify",
        "--offline",
        "--cert-identity",
        gha,
        "--cert-oidc-issuer",
        "https://token.actions.githubusercontent.com",
        "--cert-github-workflow-repository",
        "prefix-dev/sigstore-example",
        "--cert-github-workflow-ref",
        "refs/heads/main",
        conda,
    ]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert_eq!(
        stdout(&o).lines().next().unwrap(),
        format!("✅ Verified: {conda}")
    );

    let mut cmd = bin(&data);
    cmd.args([
        "verify",
        "--offline",
        "--cert-identity",
        "w.vollprecht@gmail.com",
        "--cert-oidc-issuer",
        "https://github.com/login/oauth",
        "cosign-v3-blob.txt",
    ]);
    assert_eq!(code(&run(cmd).await), 0);

    let mut cmd = bin(&data);
    cmd.args([
        "verify",
        "--offline",
        "--staging",
        "--cert-identity",
        "jku@goto.fi",
        "staging-rekor-v2.txt",
    ]);
    assert_eq!(code(&run(cmd).await), 0);

    // The same staging bundle is not trusted by public-good.
    let mut cmd = bin(&data);
    cmd.args(["verify", "--offline", "staging-rekor-v2.txt"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).starts_with("❌ staging-rekor-v2.txt: "),
        "{}",
        stdout(&o)
    );
}

/// Bundle v0.1 and v0.2 shapes (certificate chain instead of a single
/// certificate) of a bundle the product wrote verify too.
#[tokio::test(flavor = "multi_thread")]
async fn bundle_v01_and_v02_shapes() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    for version in ["0.1", "0.2"] {
        mutate(&work, "a.whl", |v| {
            let cert = v["verificationMaterial"]
                .as_object_mut()
                .unwrap()
                .remove("certificate");
            if let Some(cert) = cert {
                v["verificationMaterial"]["x509CertificateChain"] =
                    serde_json::json!({ "certificates": [cert] });
            }
            v["mediaType"] = Value::String(format!(
                "application/vnd.dev.sigstore.bundle+json;version={version}"
            ));
        });
        let o = verify_strict(&sandbox, work.dir.path(), &["a.whl"]).await;
        assert_eq!(code(&o), 0, "v{version}");
    }
}

/// The help text, including the anchoring rule for regexps.
#[test]
fn verify_help() {
    let work = Work::new();
    let o = bin(work.dir.path())
        .args(["verify", "--help"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    insta::assert_snapshot!("verify_help", stdout(&o));
}

/// Policies that contradict themselves are usage errors (exit 2), before any work.
#[test]
fn contradictory_policies_exit_2() {
    let work = Work::new();
    // The files exist: a missing one (exit 2 too) cannot stand in for
    // the refusal under test.
    for f in ["a", "b", "r.json", "x.json"] {
        work.file(f, "{}");
    }
    for (args, says) in [
        (
            &[
                "verify",
                "a",
                "--cert-identity",
                "x",
                "--cert-identity-regexp",
                "y",
            ][..],
            "'--cert-identity <ID>' cannot be used with '--cert-identity-regexp",
        ),
        (
            &[
                "verify",
                "a",
                "--cert-oidc-issuer",
                "x",
                "--cert-oidc-issuer-regexp",
                "y",
            ],
            "'--cert-oidc-issuer <URL>' cannot be used with '--cert-oidc-issuer-regexp",
        ),
        (
            &["verify", "a", "--staging", "--trusted-root", "r.json"],
            "'--staging' cannot be used with '--trusted-root",
        ),
        (
            &["verify", "a", "b", "--bundle", "x.json"],
            "--bundle names the bundle of one artifact, but several were given",
        ),
        (
            &["verify", "a", "--cert-identity-regexp", "("],
            "--cert-identity-regexp is not a valid regular expression",
        ),
        (&["verify"], "required arguments were not provided"),
    ] {
        let o = bin(work.dir.path()).args(args).output().unwrap();
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
}

/// Every failure wording in one place, as users read it (volatile details
/// such as digests, times and ports filtered).
#[tokio::test(flavor = "multi_thread")]
async fn failure_wording_snapshot() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let names = [
        "good.whl",
        "modified.whl",
        "flipped-signature.whl",
        "altered-set.whl",
        "altered-proof.whl",
        "entry-of-another.whl",
    ];
    signed(&sandbox, &work, &names).await;
    std::fs::write(work.path("modified.whl"), "trojaned").unwrap();
    mutate(&work, "flipped-signature.whl", |v| {
        v["verificationMaterial"]
            .as_object_mut()
            .unwrap()
            .remove("timestampVerificationData");
        flip_b64(v, "/messageSignature/signature", -3)
    });
    mutate(&work, "altered-set.whl", |v| {
        flip_b64(
            v,
            "/verificationMaterial/tlogEntries/0/inclusionPromise/signedEntryTimestamp",
            -3,
        )
    });
    mutate(&work, "altered-proof.whl", |v| {
        flip_b64(
            v,
            "/verificationMaterial/tlogEntries/0/inclusionProof/hashes/0",
            0,
        )
    });
    let good = bundle_json(&work.path("good.whl.sigstore.json"));
    mutate(&work, "entry-of-another.whl", |v| {
        v["verificationMaterial"]["tlogEntries"] =
            good["verificationMaterial"]["tlogEntries"].clone();
    });
    work.file("unsigned.whl", "never signed");
    let mut args: Vec<&str> = names.to_vec();
    args.push("unsigned.whl");
    let o = verify_strict(&sandbox, work.dir.path(), &args).await;
    assert_eq!(code(&o), 1);
    let wrong = run(verify_cmd(
        &sandbox,
        work.dir.path(),
        &[
            "--cert-identity",
            "https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main",
            "--cert-github-workflow-trigger",
            "release",
            "good.whl",
        ],
    ))
    .await;
    let mut settings = insta::Settings::clone_current();
    for (re, with) in filters(&work) {
        settings.add_filter(&re, with);
    }
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[SHA256]");
    settings.add_filter(r"\d{4}-\d\d-\d\dT[0-9:.]+Z", "[TIME]");
    settings.bind(|| {
        insta::assert_snapshot!(
            "verify_failure_wording",
            format!("{}---\n{}", stdout(&o), stdout(&wrong))
        )
    });
}

/// What came from a file name or a bundle reaches the terminal as one
/// printable line: line breaks, ESC sequences, bidi overrides and workflow
/// commands (`::warning::` at a line's start, `##[` anywhere) are shown
/// escaped, in `sign`'s lines, its dry run, and `verify`'s lines.
#[tokio::test(flavor = "multi_thread")]
async fn untrusted_text_stays_on_one_line() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let names = [
        "nl\n::warning::injected.whl",
        "::warning::lead.whl",
        "esc\x1b]0;title\x07\x1b[2J.whl",
        "bidi\u{202e}lhw.exe",
        "legacy ##[warning]injected.whl",
        "media.whl",
        "kind.whl",
        "algorithm.whl",
    ];
    for n in names {
        work.file(n, n);
    }
    let mut dry = sign(&sandbox, work.dir.path());
    dry.arg("--dry-run").args(names);
    let o = run(dry).await;
    assert_eq!(code(&o), 0);
    assert_printable("sign --dry-run stdout", &stdout(&o));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["--jobs", "1"]).args(names);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert_printable("sign stdout", &stdout(&o));
    assert!(
        stdout(&o).contains("✅ Signed: nl\\n::warning::injected.whl -> "),
        "{}",
        stdout(&o)
    );

    let hostile = "\n::warning::injected\x1b[2J\u{2028}##[error]x";
    mutate(&work, "media.whl", |v| {
        v["mediaType"] = Value::String(format!(
            "application/vnd.dev.sigstore.bundle.v0.3+json{hostile}"
        ));
    });
    mutate(&work, "kind.whl", |v| {
        v["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"] =
            Value::String(format!("hashedrekord{hostile}"));
    });
    mutate(&work, "algorithm.whl", |v| {
        v["messageSignature"]["messageDigest"]["algorithm"] =
            Value::String(format!("SHA2_256{hostile}"));
    });
    let mut args: Vec<&str> = names.to_vec();
    args.push("-v");
    let o = verify_strict(&sandbox, work.dir.path(), &args).await;
    assert_eq!(code(&o), 1);
    assert_printable("verify stdout", &stdout(&o));
    assert_printable("verify stderr", &stderr(&o));
    let media = line_for(&o, "media.whl");
    assert!(
        media.contains("\\n::warning::injected\\u{1b}[2J\\u{2028}"),
        "{media}"
    );
}

/// A DSSE bundle over a statement of another type than in-toto's is
/// refused as a bundle of the artifact, as given as provenance and as
/// sigstore-python refuses it; the same signer's in-toto v1 statement
/// verifies. Regression: sigstore-verify matched the subject without
/// reading `_type`, and it verified.
#[tokio::test(flavor = "multi_thread")]
async fn a_dsse_bundle_of_another_statement_type_is_refused() {
    use sha2::Digest as _;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.txt", "attested");
    let digest = hex::encode(sha2::Sha256::digest(b"attested"));
    let urls = sandbox.urls();
    let services =
        sigstore_sign::SigningServices::new(&urls.fulcio, &urls.rekor_v1).with_tsa_url(&urls.tsa);
    let signer = sigstore_sign::SigningContext::new(services)
        .signer(sigstore_oidc::IdentityToken::from_jwt(&sandbox.token()).unwrap());
    for (kind, expected) in [
        ("https://in-toto.io/Statement/v1", 0),
        ("https://example.com/NotAStatement/v9", 1),
    ] {
        let statement = format!(
            r#"{{"_type":"{kind}","subject":[{{"name":"a.txt","digest":{{"sha256":"{digest}"}}}}],"predicateType":"https://example.com/p","predicate":{{}}}}"#
        );
        let bundle = signer
            .sign_raw_statement(statement.as_bytes())
            .await
            .unwrap();
        std::fs::write(work.path("a.txt.sigstore.json"), bundle.to_json().unwrap()).unwrap();
        let o = verify_strict(&sandbox, work.dir.path(), &["a.txt"]).await;
        assert_eq!(code(&o), expected, "{kind}: {}{}", stdout(&o), stderr(&o));
        if expected == 1 {
            assert!(
                stdout(&o).contains(&format!(
                    "its statement type is `{kind}`, not https://in-toto.io/Statement/v1"
                )),
                "{}",
                stdout(&o)
            );
        }
    }
}

/// `-q` keeps warnings, as `--help` and the README say: the one that any
/// signer was accepted is what tells a pass is worth less than it seems.
/// The per-artifact lines go.
#[tokio::test(flavor = "multi_thread")]
async fn quiet_keeps_warnings() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    let o = run({
        let mut cmd = verify_cmd(&sandbox, work.dir.path(), &["-q", "a.whl"]);
        cmd.env("NO_COLOR", "1");
        cmd
    })
    .await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: no --cert-identity or --cert-identity-regexp: any Sigstore identity is accepted"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("✅"), "{}", stdout(&o));
}

/// `line` put before the first signature line of the checkpoint in `v`.
fn checkpoint_line_added(v: &mut Value, line: impl Fn(&str, &[u8]) -> String) {
    let envelope = v
        .pointer_mut("/verificationMaterial/tlogEntries/0/inclusionProof/checkpoint/envelope")
        .unwrap();
    let text = envelope.as_str().unwrap().to_owned();
    let (body, sigs) = text.split_once("\n\n").unwrap();
    let first = sigs.lines().next().unwrap();
    let mut parts = first.trim_start_matches("— ").splitn(2, ' ');
    let (name, sig) = (parts.next().unwrap(), parts.next().unwrap());
    let hint = B64.decode(sig).unwrap()[..4].to_vec();
    *envelope = Value::String(format!("{body}\n\n{}\n{sigs}", line(name, &hint)));
}

/// A checkpoint signature line that verifies nothing, beside the log's
/// real one, is refused (Rekor v1 and v2), as is, for a Rekor v1 entry, a
/// line of another key (a witness's): cosign and sigstore-go refuse both,
/// sigstore-python the first. Signature lines are signed by nothing, so
/// anyone may add one. Regression: each verified, exit 0.
#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_line_that_verifies_nothing_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl", "b.whl"]).await;
    for n in ["c.whl", "d.whl"] {
        work.file(n, n);
    }
    let mut cmd = sign_v2(&sandbox, work.dir.path());
    cmd.args(["c.whl", "d.whl"]);
    assert_eq!(code(&run(cmd).await), 0);
    let o = verify_strict(
        &sandbox,
        work.dir.path(),
        &["a.whl", "b.whl", "c.whl", "d.whl"],
    )
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));

    let forged = |name: &str, hint: &[u8]| {
        let mut sig = hint.to_vec();
        sig.extend([0u8; 70]);
        format!("— {name} {}", B64.encode(sig))
    };
    mutate(&work, "a.whl", |v| checkpoint_line_added(v, forged));
    mutate(&work, "b.whl", |v| {
        checkpoint_line_added(v, |_, _| {
            format!("— witness.example {}", B64.encode([7u8; 72]))
        })
    });
    mutate(&work, "c.whl", |v| checkpoint_line_added(v, forged));
    let o = verify_strict(
        &sandbox,
        work.dir.path(),
        &["a.whl", "b.whl", "c.whl", "d.whl"],
    )
    .await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    for (n, message) in [
        ("a.whl", "does not verify with the log's key"),
        ("b.whl", "is not the log's (another key hint)"),
        ("c.whl", "does not verify with the log's key"),
    ] {
        assert!(line_for(&o, n).contains(message), "{n}: {out}");
    }
    assert!(line_for(&o, "d.whl").starts_with("✅"), "{out}");
}
