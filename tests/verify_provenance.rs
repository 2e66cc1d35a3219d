//! `verify ARTIFACTS --provenance FILE`: provenance made by our `sign
//! --provenance` (Rekor v1 `dsse`, Rekor v2) and by sigstore-python's
//! `sigstore attest` verifies; a modified artifact, another source ref,
//! another predicate type, a self-hosted runner (when denied) and a
//! reusable workflow's caller taken for its signer are refused, each saying
//! why.

use std::process::{Command, Output};
use std::time::Duration;

use releasekit_sandbox::{peers, Sandbox, TokenClaims};
use serde_json::Value;

use crate::util::{assert_printable, bin, code, run, sign, sign_v2, stderr, stdout, Work};

const SERVER: (&str, &str) = ("GITHUB_SERVER_URL", "https://github.com");
const PROVENANCE: &str = "provenance.intoto.jsonl";

/// `releasekit-sign verify --trust-config <sandbox> --provenance FILE`, then `args`.
async fn verify(sandbox: &Sandbox, work: &Work, file: &str, args: &[&str]) -> Output {
    let mut cmd = bin(work.dir.path());
    cmd.arg("verify")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["--provenance", file])
        .args(args);
    run(cmd).await
}

/// Arguments that name nothing to check against the provenance (a
/// directory of bundles and the provenance file alone, the artifacts not
/// downloaded yet) are a usage error, said before any trust is loaded, in
/// `--json` too. Regression: "Verified 0 of 0 artifact(s).", exit 1, and no
/// reason.
#[tokio::test(flavor = "multi_thread")]
async fn nothing_to_check_against_the_provenance_is_said() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app.intoto.jsonl", "{}\n");
    work.file("dist/a.whl.sigstore.json", "{}");
    let o = verify(&sandbox, &work, "dist/app.intoto.jsonl", &["dist"]).await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(
        stderr(&o).contains("dist names no artifact to check against dist/app.intoto.jsonl"),
        "{}",
        stderr(&o)
    );
    let o = verify(
        &sandbox,
        &work,
        "dist/app.intoto.jsonl",
        &["dist", "--json"],
    )
    .await;
    assert_eq!(code(&o), 2);
    let report = json(&o);
    assert_eq!(report["exit_code"], 2, "{report:#}");
    assert!(report["error"].as_str().is_some(), "{report:#}");
}

/// A release's `*.intoto.jsonl` whose statements are all Sigstore
/// attestations of another kind (here SLSA v0.2's, as an SBOM's would be)
/// is not its provenance: the assets verify by their bundles, and a warning
/// names the file. Asked for that kind by name, it is the provenance.
/// Regression: every asset failed, "Not in the provenance … Predicate type
/// mismatch", though each bundle verified.
#[tokio::test(flavor = "multi_thread")]
async fn attestations_of_another_kind_are_not_the_releases_provenance() {
    use crate::verify_release::{client, put_asset, signed_release, verify_release};
    let Some(python) = releasekit_sandbox::peers::sigstore_python()
        .or_skip("attestations_of_another_kind_are_not_the_releases_provenance")
    else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let work = signed_release(&sandbox).await;
    sigstore_attest_as(
        &python,
        &sandbox,
        &work,
        sandbox.trust_config_path(),
        ("other.sigstore.json", &work.path("dist/app-1.0.whl")),
        (
            "https://slsa.dev/provenance/v0.2",
            r#"{"builder":{"id":"https://example.com/builder"},"buildType":"https://example.com/b"}"#,
        ),
    );
    let bundle: Value =
        serde_json::from_str(&std::fs::read_to_string(work.path("other.sigstore.json")).unwrap())
            .unwrap();
    let file = work.file("app-1.0.sbom.intoto.jsonl", format!("{bundle}\n"));
    let releases = client(&sandbox);
    let release = releases.find(crate::verify_release::TAG).await.unwrap();
    put_asset(
        &releases,
        &release,
        "app-1.0.sbom.intoto.jsonl",
        &file,
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
        stderr(&o)
            .contains("app-1.0.sbom.intoto.jsonl: its statements are of another predicate type"),
        "{}",
        stderr(&o)
    );
    let o = run(verify_release(
        &sandbox,
        &Work::new(),
        &["--predicate-type", "https://slsa.dev/provenance/v0.2"],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains(
            "✅ Verified: app-1.0.whl (subject `app-1.0.whl` of app-1.0.sbom.intoto.jsonl line 1"
        ),
        "{}",
        stdout(&o)
    );
}

/// `verify ARTIFACT --provenance FILE FLAGS`: it exits `expected`, and its
/// report says each of `says`.
async fn expect(
    sandbox: &Sandbox,
    work: &Work,
    (file, artifact): (&str, &str),
    flags: &[&str],
    expected: i32,
    says: &[&str],
) {
    let o = verify(sandbox, work, file, &[&[artifact][..], flags].concat()).await;
    assert_eq!(code(&o), expected, "{flags:?}");
    let out = stdout(&o);
    for s in says {
        assert!(out.contains(s), "{flags:?}: {s}: {out}");
    }
}

/// Sign `paths` with provenance, as a GitHub Actions job with `claims`.
async fn sign_with_claims(sandbox: &Sandbox, work: &Work, claims: &TokenClaims, paths: &[&str]) {
    let token = sandbox.token_with(claims, Duration::from_secs(600));
    let mut cmd = bin(work.dir.path());
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["--identity-token", &token, "--provenance"])
        .args(paths)
        .env(SERVER.0, SERVER.1);
    assert_eq!(code(&run(cmd).await), 0);
}

async fn signed_with_provenance(sandbox: &Sandbox, work: &Work) {
    work.file("dist/a.whl", "a");
    work.file("dist/b.tar.gz", "b");
    let mut cmd = sign(sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1).args(["--provenance", "dist"]);
    assert_eq!(code(&run(cmd).await), 0);
}

fn json(o: &Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// Our provenance verifies every artifact it names, by digest (a renamed
/// copy too), says which subject and digest matched, and takes GitHub's
/// CLI policy flags.
#[tokio::test(flavor = "multi_thread")]
async fn our_provenance_verifies_each_subject_with_github_cli_policy_flags() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed_with_provenance(&sandbox, &work).await;
    let claims = sandbox.default_claims();
    let (workflow, _) = claims.job_workflow_ref.split_once('@').unwrap();
    // The same bytes under another name: the digest is what matters.
    std::fs::copy(work.path("dist/a.whl"), work.path("renamed.whl")).unwrap();

    let o = verify(
        &sandbox,
        &work,
        PROVENANCE,
        &[
            "dist",
            "renamed.whl",
            "--json",
            "--cert-identity",
            &sandbox.identity(),
            "--cert-oidc-issuer",
            &sandbox.issuer(),
            "--repo",
            &claims.repository,
            "--source-ref",
            &claims.git_ref,
            "--source-digest",
            &claims.sha,
            "--deny-self-hosted-runners",
        ],
    )
    .await;
    assert_eq!(code(&o), 0);
    let r = json(&o);
    let artifacts = r["artifacts"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> = artifacts
        .iter()
        .map(|a| {
            assert_eq!(a["status"], "verified", "{a}");
            let p = &a["provenance"];
            assert_eq!(p["line"], 1);
            assert_eq!(p["predicateType"], "https://slsa.dev/provenance/v1");
            (
                a["path"].as_str().unwrap(),
                p["subject"].as_str().unwrap(),
                p["algorithm"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("dist/a.whl", "a.whl", "sha256"),
            ("dist/b.tar.gz", "b.tar.gz", "sha256"),
            ("renamed.whl", "a.whl", "sha256"),
        ]
    );
    assert_eq!(r["policy"]["denySelfHostedRunners"], true);
    // The provenance file in the directory is not taken for an artifact.
    assert_eq!(artifacts.len(), 3);

    // Human lines name the statement, the subject and the digest.
    let a = (PROVENANCE, "dist/a.whl");
    let line =
        "✅ Verified: dist/a.whl (subject `a.whl` of provenance.intoto.jsonl line 1, by sha256)";
    expect(
        &sandbox,
        &work,
        a,
        &["--signer-workflow", workflow],
        0,
        &[line],
    )
    .await;
    let signer_repo = workflow
        .splitn(3, '/')
        .take(2)
        .collect::<Vec<_>>()
        .join("/");
    expect(
        &sandbox,
        &work,
        a,
        &["--signer-repo", &signer_repo],
        0,
        &[line],
    )
    .await;
}

/// `verify --provenance --json`, snapshotted whole; and the human report's
/// pin hint keeps the provenance file.
#[tokio::test(flavor = "multi_thread")]
async fn json_report_of_a_provenance_run() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed_with_provenance(&sandbox, &work).await;
    let o = verify(&sandbox, &work, PROVENANCE, &["dist", "--json"]).await;
    assert_eq!(code(&o), 0);
    let pretty = serde_json::to_string_pretty(&json(&o)).unwrap();
    crate::snapshot!(&work, "verify_provenance_json", pretty);
    let o = verify(&sandbox, &work, PROVENANCE, &["dist"]).await;
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("  releasekit-sign verify <artifacts> --provenance provenance.intoto.jsonl --cert-identity "),
        "{}",
        stdout(&o)
    );
}

/// Each refusal says what is wrong: a modified artifact, another source
/// ref, another predicate type, another signer workflow.
#[tokio::test(flavor = "multi_thread")]
async fn refusals_say_why() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed_with_provenance(&sandbox, &work).await;
    let identity = sandbox.identity();
    let strict = ["--cert-identity", identity.as_str()];

    work.file("dist/a.whl", "a, modified");
    expect(
        &sandbox,
        &work,
        (PROVENANCE, "dist/a.whl"),
        &strict,
        1,
        &[
            "❌ dist/a.whl: Not in the provenance: a verified statement of provenance.intoto.jsonl names `a.whl` with other digests than this file's",
            "modified after the build",
        ],
    )
    .await;
    // A file no subject is named as: not one of the build's outputs.
    work.file("dist/other.whl", "other");
    expect(
        &sandbox,
        &work,
        (PROVENANCE, "dist/other.whl"),
        &strict,
        1,
        &["❌ dist/other.whl: Not in the provenance: none of the 1 verified statement(s) of provenance.intoto.jsonl has a subject with this file's digest"],
    )
    .await;

    let cases: [(&[&str], &str); 4] = [
        (
            &["--source-ref", "refs/tags/v9.9.9"],
            "Certificate GitHub workflow ref mismatch: expected \"refs/tags/v9.9.9\"",
        ),
        (
            &["--predicate-type", "https://in-toto.io/attestation/vulns/v0.1"],
            "Predicate type mismatch: expected \"https://in-toto.io/attestation/vulns/v0.1\", found \"https://slsa.dev/provenance/v1\" (check --predicate-type)",
        ),
        (
            &["--source-digest", &"0".repeat(40)],
            "Certificate GitHub workflow SHA mismatch",
        ),
        (
            &["--signer-repo", "octo-org/other"],
            "Signer workflow mismatch: expected a workflow of \"octo-org/other\"",
        ),
    ];
    // A statement refused names the file: it is said to, and why it did
    // not verify; one of another predicate type claims nothing about it.
    let named = "❌ dist/b.tar.gz: Not in the provenance: a statement of provenance.intoto.jsonl names this file (sha256 ";
    let other_type = "❌ dist/b.tar.gz: Not in the provenance: no statement of provenance.intoto.jsonl verified: line 1: ";
    for (flags, message) in cases {
        let b = (PROVENANCE, "dist/b.tar.gz");
        let says = if flags.contains(&"--predicate-type") {
            [other_type, "", message]
        } else {
            [named, ") but did not verify: line 1: ", message]
        };
        expect(&sandbox, &work, b, flags, 1, &says).await;
    }
}

/// `--deny-self-hosted-runners` reads the certificate's Runner Environment.
#[tokio::test(flavor = "multi_thread")]
async fn a_self_hosted_runner_is_refused_when_denied() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut claims = sandbox.default_claims();
    claims.runner_environment = "self-hosted".into();
    sign_with_claims(&sandbox, &work, &claims, &["a.whl"]).await;

    let a = (PROVENANCE, "a.whl");
    expect(&sandbox, &work, a, &[], 0, &[]).await;
    let denied =
        "Built on a self-hosted runner: the certificate's runner environment is \"self-hosted\"";
    expect(
        &sandbox,
        &work,
        a,
        &["--deny-self-hosted-runners"],
        1,
        &[denied],
    )
    .await;
}

/// A reusable workflow signs as itself (SAN, Build Signer URI) while the
/// source repository is its caller's: `--signer-workflow`/`--signer-repo`
/// match the former, `--repo`/`--source-ref` the latter, as GitHub's CLI does.
#[tokio::test(flavor = "multi_thread")]
async fn a_reusable_workflow_is_the_signer_and_its_caller_the_source() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut claims = sandbox.default_claims();
    let shared = "octo-org/shared-workflows/.github/workflows/release.yml";
    claims.job_workflow_ref = format!("{shared}@refs/heads/main");
    sign_with_claims(&sandbox, &work, &claims, &["a.whl"]).await;
    let caller = claims.repository.as_str();

    let ok: [&[&str]; 3] = [
        &[
            "--signer-workflow",
            shared,
            "--repo",
            caller,
            "--source-ref",
            &claims.git_ref,
        ],
        &[
            "--signer-repo",
            "octo-org/shared-workflows",
            "--repo",
            caller,
        ],
        &["--signer-workflow", &format!("{shared}@refs/heads/main")],
    ];
    let a = (PROVENANCE, "a.whl");
    for flags in ok {
        expect(&sandbox, &work, a, flags, 0, &[]).await;
    }
    let caller_workflow = sandbox.default_claims().job_workflow_ref;
    let (caller_workflow, _) = caller_workflow.split_once('@').unwrap();
    let refused: [(&[&str], &str); 4] = [
        (
            &["--signer-workflow", caller_workflow],
            "Signer workflow mismatch",
        ),
        (&["--signer-repo", caller], "Signer workflow mismatch"),
        // `--repo` alone: a workflow of the repository signed, as with
        // `gh attestation verify --repo`; the claims alone name the caller.
        (&["--repo", caller], "Signer workflow mismatch"),
        (
            &["--repo", "octo-org/shared-workflows"],
            "repository mismatch",
        ),
    ];
    for (flags, message) in refused {
        expect(&sandbox, &work, a, flags, 1, &[message]).await;
    }
    // The artifact's own bundle, by the same rule.
    let mut cmd = bin(work.dir.path());
    cmd.arg("verify")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["a.whl", "--repo", caller]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("Signer workflow mismatch"),
        "{}",
        stdout(&o)
    );
    // The rule is `--repo`'s: the fix is not a flag that was not given.
    // Regression: "(check --signer-repo)".
    assert!(
        !stdout(&o).contains("check --signer-repo"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("accept it with --signer-workflow or --signer-repo"),
        "{}",
        stdout(&o)
    );
}

/// Several statements in one file (as `gh attestation download` writes),
/// from Rekor v1 and v2, and a line that is no bundle: each verified line
/// vouches for its subjects; the broken one is a warning, shown escaped.
#[tokio::test(flavor = "multi_thread")]
async fn several_statements_in_one_file_and_a_hostile_line() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("b.tgz", "b");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1).args([
        "--provenance",
        "--provenance-name",
        "v1.intoto.jsonl",
        "a.whl",
    ]);
    assert_eq!(code(&run(cmd).await), 0);
    let mut cmd = sign_v2(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1).args([
        "--overwrite",
        "--provenance",
        "--provenance-name",
        "v2.intoto.jsonl",
        "b.tgz",
    ]);
    assert_eq!(code(&run(cmd).await), 0);
    let v1 = std::fs::read_to_string(work.path("v1.intoto.jsonl")).unwrap();
    let v2 = std::fs::read_to_string(work.path("v2.intoto.jsonl")).unwrap();
    // A DSSE envelope whose payload type carries terminal escapes and a
    // workflow command.
    let mut hostile: Value = serde_json::from_str(v1.trim_end()).unwrap();
    hostile["dsseEnvelope"]["payloadType"] = "x\u{1b}[2J\n::warning::pwned".into();
    let file = format!(
        "{v1}{{not json\r\n{}\n\n{v2}",
        serde_json::to_string(&hostile).unwrap()
    );
    work.file("all.intoto.jsonl", file);

    let o = verify(
        &sandbox,
        &work,
        "all.intoto.jsonl",
        &["a.whl", "b.tgz", "--json"],
    )
    .await;
    assert_eq!(code(&o), 0);
    let r = json(&o);
    assert_eq!(r["artifacts"][0]["provenance"]["line"], 1);
    assert_eq!(r["artifacts"][1]["provenance"]["line"], 5);
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains("all.intoto.jsonl line 2 did not verify: Bundle invalid"),
        "{warnings}"
    );
    assert!(
        warnings.contains(
            "all.intoto.jsonl line 3 did not verify: Not an attestation: its DSSE payload type is"
        ),
        "{warnings}"
    );

    // Only the hostile lines: the artifact fails, every line printable.
    let bad = format!("{{not json\n{}\n", serde_json::to_string(&hostile).unwrap());
    work.file("bad.intoto.jsonl", bad);
    let o = verify(&sandbox, &work, "bad.intoto.jsonl", &["a.whl"]).await;
    assert_eq!(code(&o), 1);
    assert_printable("stdout", &stdout(&o));
    assert_printable("stderr", &stderr(&o));
    assert!(
        stdout(&o).contains("no statement of bad.intoto.jsonl verified"),
        "{}",
        stdout(&o)
    );
}

/// Lines that quote themselves at length in their errors (a payload type of
/// 512 KiB of DEL, which each escape makes six bytes) cost each artifact's
/// error a bounded few lines, not a copy of every line: the error names
/// three and counts the rest, and the warnings, once per run, name each line,
/// cut short.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_lines_are_quoted_short_in_each_artifacts_error() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1).args(["--provenance", "a.whl"]);
    assert_eq!(code(&run(cmd).await), 0);
    let good = std::fs::read_to_string(work.path("provenance.intoto.jsonl")).unwrap();
    let mut hostile: Value = serde_json::from_str(good.trim_end()).unwrap();
    hostile["dsseEnvelope"]["payloadType"] = "\u{7f}".repeat(512 * 1024).into();
    let line = serde_json::to_string(&hostile).unwrap();
    work.file("bad.intoto.jsonl", format!("{line}\n").repeat(8));
    for name in ["b.whl", "c.whl", "d.whl"] {
        work.file(name, name);
    }
    let o = verify(
        &sandbox,
        &work,
        "bad.intoto.jsonl",
        &["a.whl", "b.whl", "c.whl", "d.whl", "--json"],
    )
    .await;
    assert_eq!(code(&o), 1);
    let r = json(&o);
    for artifact in r["artifacts"].as_array().unwrap() {
        let error = artifact["error"].as_str().unwrap();
        assert!(error.len() < 8 * 1024, "{} bytes", error.len());
        assert!(error.contains("line 3: Not an attestation"), "{error}");
        assert!(error.contains("5 more, named in the warnings"), "{error}");
    }
    let lines: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .filter(|w| w.contains("did not verify"))
        .collect();
    assert_eq!(lines.len(), 8);
    assert!(lines.iter().all(|w| w.len() < 2 * 1024));
}

/// A file that cannot be provenance is a usage error naming it and the fix.
#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_provenance_file_is_a_usage_error() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("empty.intoto.jsonl", "\n \n");
    let o = verify(&sandbox, &work, "empty.intoto.jsonl", &["a.whl"]).await;
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("empty.intoto.jsonl holds no statement"),
        "{}",
        stderr(&o)
    );
    let o = verify(&sandbox, &work, "missing.intoto.jsonl", &["a.whl"]).await;
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("missing.intoto.jsonl"),
        "{}",
        stderr(&o)
    );
}

/// `sigstore attest` (sigstore-python) a SLSA v1 predicate about `artifact`
/// as the sandbox's identity, into the bundle `name` in `work`; the test
/// fails with its output if it refuses.
pub(crate) fn sigstore_attest(
    python: &std::path::Path,
    sandbox: &Sandbox,
    work: &Work,
    trust: &std::path::Path,
    name: &str,
    artifact: &std::path::Path,
) {
    sigstore_attest_as(
        python,
        sandbox,
        work,
        trust,
        (name, artifact),
        (
            "https://slsa.dev/provenance/v1",
            r#"{"buildDefinition":{"buildType":"https://example.com/b","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#,
        ),
    );
}

/// [`sigstore_attest`] with another `(predicate type, predicate)`.
pub(crate) fn sigstore_attest_as(
    python: &std::path::Path,
    sandbox: &Sandbox,
    work: &Work,
    trust: &std::path::Path,
    (name, artifact): (&str, &std::path::Path),
    (predicate_type, predicate): (&str, &str),
) {
    let predicate = work.file("predicate.json", predicate);
    let o = Command::new(python)
        .arg("--trust-config")
        .arg(trust)
        .args(["attest", "--identity-token", &sandbox.token()])
        .args(["--predicate-type", predicate_type, "--predicate"])
        .arg(&predicate)
        .arg("--bundle")
        .arg(work.path(name))
        .arg(artifact)
        .output()
        .unwrap();
    crate::util::accepted(o, "sigstore attest");
}

/// sigstore-python's `sigstore attest` output verifies with our verify, on
/// Rekor v1 (a `dsse` entry) and v2.
#[tokio::test(flavor = "multi_thread")]
async fn sigstore_python_attestations_verify() {
    let Some(python) = peers::sigstore_python().or_skip("sigstore_python_attestations_verify")
    else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    for (trust, name) in [
        (sandbox.trust_config_path(), "py-v1.sigstore.json"),
        (sandbox.trust_config_v2_path(), "py-v2.sigstore.json"),
    ] {
        sigstore_attest(&python, &sandbox, &work, trust, name, &a);
        let mut cmd = bin(work.dir.path());
        cmd.arg("verify")
            .arg("--trust-config")
            .arg(trust)
            .args(["--provenance", name, "a.whl", "--cert-identity"])
            .arg(sandbox.identity())
            .arg("--cert-oidc-issuer")
            .arg(sandbox.issuer());
        let o = run(cmd).await;
        assert_eq!(code(&o), 0, "{name}");
        assert!(stdout(&o).contains("by sha256"), "{}", stdout(&o));
    }
}

/// A GitHub workflow's provenance must say what its certificate says about
/// the run (builder, repository, ref, commit, run, trigger, runner, ids), as
/// slsa-verifier holds it: one that sigstore-python signs with the sandbox's
/// job and the job's own facts verifies; the same with another builder or
/// commit (what any workflow of the repository could sign) does not.
/// Regression: the predicate was never read, and both verified.
#[tokio::test(flavor = "multi_thread")]
async fn a_statement_that_contradicts_its_certificate_is_refused() {
    let Some(python) = peers::sigstore_python().or_skip("a_statement_that_contradicts") else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let c = sandbox.default_claims();
    let gh = |path: &str| format!("https://github.com/{path}");
    let predicate = |builder: &str, commit: &str| {
        serde_json::json!({
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": { "workflow": {
                    "ref": c.git_ref,
                    "repository": gh(&c.repository),
                    "path": ".github/workflows/release.yml",
                } },
                "internalParameters": { "github": {
                    "event_name": c.event_name,
                    "repository_id": c.repository_id,
                    "repository_owner_id": c.repository_owner_id,
                    "runner_environment": c.runner_environment,
                } },
                "resolvedDependencies": [{
                    "uri": format!("git+{}@{}", gh(&c.repository), c.git_ref),
                    "digest": { "gitCommit": commit },
                }],
            },
            "runDetails": {
                "builder": { "id": builder },
                "metadata": { "invocationId": gh(&format!(
                    "{}/actions/runs/{}/attempts/{}", c.repository, c.run_id, c.run_attempt
                )) },
            },
        })
        .to_string()
    };
    let own_builder = gh(&c.job_workflow_ref);
    let other_builder = gh("octo-org/octo-repo/.github/workflows/other.yml@refs/heads/main");
    let other_commit = "0".repeat(40);
    for (name, builder, commit, expected, says) in [
        (
            "own.sigstore.json",
            own_builder.as_str(),
            c.sha.as_str(),
            0,
            "✅",
        ),
        (
            "builder.sigstore.json",
            other_builder.as_str(),
            c.sha.as_str(),
            1,
            "Provenance contradicts its certificate: the statement says the builder is",
        ),
        (
            "commit.sigstore.json",
            own_builder.as_str(),
            other_commit.as_str(),
            1,
            "the statement says the commit is \"0000000000000000000000000000000000000000\"",
        ),
    ] {
        sigstore_attest_as(
            &python,
            &sandbox,
            &work,
            sandbox.trust_config_path(),
            (name, &a),
            (
                "https://slsa.dev/provenance/v1",
                &predicate(builder, commit),
            ),
        );
        expect(
            &sandbox,
            &work,
            (name, "a.whl"),
            &[
                "--cert-identity",
                &sandbox.identity(),
                "--cert-oidc-issuer",
                &sandbox.issuer(),
            ],
            expected,
            &[says],
        )
        .await;
    }
}

/// The release of `signed_release` (bundles for the tarball and the
/// wheel, an unsigned NOTES.txt) with `app-1.0.intoto.jsonl`, a provenance
/// about those two and `extra.bin`, and `extra.bin` without a bundle.
async fn release_with_provenance(sandbox: &Sandbox) -> Work {
    use crate::verify_release::{client, put_asset, signed_release};
    let work = signed_release(sandbox).await;
    work.file("extra.bin", "only in the provenance");
    let mut cmd = sign(sandbox, work.dir.path());
    cmd.env(SERVER.0, SERVER.1).args([
        "--overwrite",
        "--provenance",
        "--provenance-name",
        "app-1.0.intoto.jsonl",
        "dist",
        "extra.bin",
    ]);
    assert_eq!(code(&run(cmd).await), 0);
    let releases = client(sandbox);
    let release = releases.find(crate::verify_release::TAG).await.unwrap();
    for (name, path) in [
        ("app-1.0.intoto.jsonl", work.path("app-1.0.intoto.jsonl")),
        ("extra.bin", work.path("extra.bin")),
    ] {
        put_asset(&releases, &release, name, &path, "application/octet-stream").await;
    }
    work
}

/// An asset with no bundle, on a release whose provenance could not be
/// read, fails as not checked: it may be one the provenance vouches for.
/// Regression: it was listed as unsigned, and a run of only such assets
/// (`--pattern`) passed (exit 0).
#[tokio::test(flavor = "multi_thread")]
async fn an_asset_whose_provenance_could_not_be_read_is_not_called_unsigned() {
    use crate::verify_release::verify_release;
    use releasekit_sandbox::{Fault, Service};

    let sandbox = Sandbox::start().await.unwrap();
    let _release = release_with_provenance(&sandbox).await;
    let faults = sandbox.faults(Service::GitHub);
    faults.only_paths_ending_with(".intoto.jsonl");
    faults.fail_next(100, Fault::status(500));
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    // Which of the two the provenance names is not known: neither is
    // called unsigned.
    for asset in ["extra.bin", "NOTES.txt"] {
        assert!(!out.contains(&format!("Unsigned: {asset}")), "{out}");
        assert!(
            out.contains(&format!("❌ {asset}: not checked: the release has no {asset}.sigstore.json, and its provenance could not all be read")),
            "{out}"
        );
    }
    // Once it is read, each is what it is.
    faults.clear();
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(out.contains("✅ Verified: extra.bin"), "{out}");
    assert!(out.contains("⚠ Unsigned: NOTES.txt"), "{out}");
}

/// `--predicate-type` with `--release` asks for a provenance of that type:
/// a release without one fails, naming what it has. Regression: every
/// asset passed by its bundle, and nothing said no statement was checked.
#[tokio::test(flavor = "multi_thread")]
async fn a_release_without_the_provenance_asked_for_fails() {
    use crate::verify_release::{signed_release, verify_release, REPO, TAG};

    let sandbox = Sandbox::start().await.unwrap();
    let _work = signed_release(&sandbox).await;
    for asked in [
        "https://slsa.dev/provenance/v1",
        "https://spdx.dev/Document",
    ] {
        let o = run(verify_release(
            &sandbox,
            &Work::new(),
            &["--predicate-type", asked],
        ))
        .await;
        assert_eq!(code(&o), 1, "{}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("release {REPO}@{TAG} has no provenance statement of predicate type {asked}, which --predicate-type asks for (it has no `*.intoto.jsonl` asset); fix:")),
            "{err}"
        );
        assert!(!stdout(&o).contains("Verified"), "{}", stdout(&o));
    }
    // Without the flag, the bundles alone verify the release.
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

/// `verify --release` uses the release's `*.intoto.jsonl` assets: each
/// signed asset must also be a subject of a verified statement (its line
/// says which), an asset with no bundle is verified by the provenance alone,
/// and an unsigned asset no statement names stays unsigned.
#[tokio::test(flavor = "multi_thread")]
async fn verify_release_uses_the_releases_provenance() {
    use crate::verify_release::verify_release;

    let sandbox = Sandbox::start().await.unwrap();
    let work = release_with_provenance(&sandbox).await;

    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    for asset in ["app-1.0.tar.gz", "app-1.0.whl", "extra.bin"] {
        assert!(
            out.contains(&format!(
                "✅ Verified: {asset} (subject `{asset}` of app-1.0.intoto.jsonl line 1, by sha256)"
            )),
            "{out}"
        );
    }
    assert!(out.contains("⚠ Unsigned: NOTES.txt"), "{out}");
    assert!(!out.contains("Unsigned: app-1.0.intoto.jsonl"), "{out}");
    assert!(
        stderr(&o).contains(
            "app-1.0.intoto.jsonl: 1 statement(s) verified; every asset must be a subject of one"
        ),
        "{}",
        stderr(&o)
    );
    // Only what verified landed; an asset with no bundle lands with the
    // provenance that vouches for it, so the directory verifies again
    // offline. Regression: it landed alone, unsigned there.
    assert_eq!(
        consumer.listing(),
        [
            "got/app-1.0.intoto.jsonl",
            "got/app-1.0.tar.gz",
            "got/app-1.0.tar.gz.sigstore.json",
            "got/app-1.0.whl",
            "got/app-1.0.whl.sigstore.json",
            "got/extra.bin"
        ]
    );
    // The command shown holds the files to what the run did: the
    // release's repository, a workflow of it, the tag's commit. Regression:
    // it carried the trust alone, so it accepted any signer's provenance
    // put in their place.
    let sha = sandbox.default_claims().sha;
    let shown = format!(
        "app-1.0.intoto.jsonl written to got with the 1 asset(s) it alone vouches for: verify them there with `releasekit-sign verify got/extra.bin --provenance got/app-1.0.intoto.jsonl --trusted-root {} --cert-github-workflow-repository octo-org/octo-repo --cert-github-workflow-sha {sha} --signer-repo octo-org/octo-repo`",
        sandbox.trusted_root_path().display()
    );
    assert!(stderr(&o).contains(&shown), "{}", stderr(&o));
    let command = shown.split('`').nth(1).unwrap();
    let again = || {
        let mut again = bin(consumer.dir.path());
        again.args(command.split(' ').skip(1));
        again
    };
    let o = run(again()).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✅ Verified: got/extra.bin"),
        "{}",
        stdout(&o)
    );
    // Another repository's provenance for other bytes put in their place fails.
    let evil = Work::new();
    evil.file("extra.bin", "not what the release holds");
    let mut claims = sandbox.default_claims();
    claims.repository = "evil-org/evil".into();
    let token = sandbox.token_with(&claims, Duration::from_secs(600));
    let mut cmd = bin(evil.dir.path());
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .args(["--identity-token", &token, "--provenance", "extra.bin"])
        .args(["--provenance-name", "evil.intoto.jsonl"])
        .env(SERVER.0, SERVER.1);
    assert_eq!(code(&run(cmd).await), 0);
    std::fs::copy(evil.path("extra.bin"), consumer.path("got/extra.bin")).unwrap();
    std::fs::copy(
        evil.path("evil.intoto.jsonl"),
        consumer.path("got/app-1.0.intoto.jsonl"),
    )
    .unwrap();
    let o = run(again()).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));

    // A file of the provenance's name already in DIR: the asset it alone
    // vouches for is not written either, and the run fails. Regression:
    // the asset landed without it, the file there stayed, and the run
    // exited 0 with a warning.
    let stale = Work::new();
    stale.file("got/app-1.0.intoto.jsonl", "stale");
    let o = run(verify_release(&sandbox, &stale, &["--download", "got"])).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("❌ extra.bin: it is verified only by the provenance file app-1.0.intoto.jsonl, which cannot be written beside it (got/app-1.0.intoto.jsonl already exists: pass --overwrite"),
        "{}",
        stdout(&o)
    );
    assert!(!stale.path("got/extra.bin").exists());
    assert!(stale.path("got/app-1.0.tar.gz").exists());
    assert_eq!(
        std::fs::read_to_string(stale.path("got/app-1.0.intoto.jsonl")).unwrap(),
        "stale"
    );

    // A provenance asset larger than a bundle (its statement, then a line
    // of 5 MiB that fails alone) is read whole, as a local file is.
    // Regression: the asset was refused as too large to be a bundle, and
    // every asset failed as not in the provenance.
    let (repo, tag) = ("octo-org/octo-repo", crate::verify_release::TAG);
    let original = std::fs::read(work.path("app-1.0.intoto.jsonl")).unwrap();
    let mut padded = original.clone();
    padded.extend_from_slice(format!("{{\"pad\":\"{}\"}}\n", "x".repeat(5 << 20)).as_bytes());
    let gh = sandbox.github();
    assert!(gh.replace_asset_content(repo, tag, "app-1.0.intoto.jsonl", padded));
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o)
            .contains("✅ Verified: extra.bin (subject `extra.bin` of app-1.0.intoto.jsonl line 1"),
        "{}",
        stdout(&o)
    );
    // Its line without a `mediaType` (refused by this reader) is still
    // the release's provenance, refused: the asset only it names fails.
    // Regression: the file was taken for another format, and the asset
    // listed as unsigned, exit 0.
    let mut line: serde_json::Value = serde_json::from_slice(original.trim_ascii_end()).unwrap();
    line.as_object_mut().unwrap().remove("mediaType");
    assert!(gh.replace_asset_content(repo, tag, "app-1.0.intoto.jsonl", format!("{line}\n")));
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("❌ extra.bin: "), "{}", stdout(&o));
    assert!(gh.replace_asset_content(repo, tag, "app-1.0.intoto.jsonl", original));

    // The bundle-less asset replaced after the build: the verified
    // statement names it with other bytes, so it fails as modified.
    // Regression: listed as unsigned, and the run exited 0.
    let built = std::fs::read(work.path("extra.bin")).unwrap();
    assert!(gh.replace_asset_content(repo, tag, "extra.bin", "evil".as_bytes().to_vec()));
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("❌ extra.bin: Not in the provenance: a verified statement of app-1.0.intoto.jsonl names `extra.bin` with other digests than this file's"),
        "{out}"
    );
    assert!(!out.contains("Unsigned: extra.bin"), "{out}");
    assert!(gh.replace_asset_content(repo, tag, "extra.bin", built));

    // Another predicate type: no statement verifies, so no asset does.
    let o = run(verify_release(
        &sandbox,
        &Work::new(),
        &["--predicate-type", "https://example.com/other/v1"],
    ))
    .await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains("❌ app-1.0.whl: Not in the provenance: no statement of app-1.0.intoto.jsonl verified: line 1: Predicate type mismatch"),
        "{out}"
    );
    // With no statement of that type to name it, the bundle-less asset is
    // unsigned.
    assert!(out.contains("⚠ Unsigned: extra.bin"), "{out}");

    // A statement that fails the policy (here: signed at another commit
    // than the tag's, as an older release's provenance re-uploaded would
    // be) still names the bundle-less asset: it fails, as it would with a
    // bundle from that commit. Regression: it was listed as unsigned.
    sandbox.github().set_tag(
        crate::verify_release::REPO,
        crate::verify_release::TAG,
        &"b".repeat(40),
    );
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains("❌ extra.bin: Not in the provenance: a statement of app-1.0.intoto.jsonl names this file (sha256 "),
        "{out}"
    );
    assert!(!out.contains("Unsigned: extra.bin"), "{out}");
}

/// Provenance signed on GitHub's instance (no log entry, no SCT: a
/// timestamp) verifies under that instance, as its bundles do. Regression:
/// each statement was held to a log entry and an SCT that instance never
/// gives, so every artifact failed "not in the provenance".
#[tokio::test(flavor = "multi_thread")]
async fn provenance_on_the_github_instance_verifies() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    let github = sandbox.trust_config_github_path();
    let mut cmd = bin(work.dir.path());
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(github)
        .args(["--identity-token", &sandbox.token(), "--provenance", "dist"])
        .env(SERVER.0, SERVER.1);
    assert_eq!(code(&run(cmd).await), 0);
    let mut cmd = bin(work.dir.path());
    cmd.arg("verify").arg("--trust-config").arg(github).args([
        "--provenance",
        PROVENANCE,
        "dist/a.whl",
    ]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✅ Verified: dist/a.whl"),
        "{}",
        stdout(&o)
    );
}

/// The provenance file is not one of the artifacts it is about, however a
/// directory or a glob reaches it: named as `gh attestation download`
/// names it (`sha256:<hex>.jsonl`), or matched by `dir/*`. Regression: it
/// was a target, "not in the provenance", and the run failed.
#[tokio::test(flavor = "multi_thread")]
async fn the_provenance_file_is_not_an_artifact_of_its_own() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let claims = sandbox.default_claims();
    sign_with_claims(&sandbox, &work, &claims, &["a.whl"]).await;
    std::fs::create_dir(work.path("got")).unwrap();
    std::fs::copy(work.path("a.whl"), work.path("got/a.whl")).unwrap();
    let downloaded = "got/sha256:0123abcd.jsonl";
    std::fs::copy(work.path(PROVENANCE), work.path(downloaded)).unwrap();
    for args in [["got"], ["got/*"]] {
        let o = verify(&sandbox, &work, downloaded, &args).await;
        assert_eq!(code(&o), 0, "{args:?}: {}", stdout(&o));
        assert!(
            stdout(&o).contains("Verified 1 of 1 artifact(s)."),
            "{}",
            stdout(&o)
        );
    }
}
