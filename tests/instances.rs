//! Instances as the client spec says: which services a signing config
//! chooses (Rekor v2 over v1 while it is valid, v1 once v2's validity
//! ended), the same choice sigstore-python makes from the same file, and
//! `--signing-config` + `--trusted-root` (cosign v3's pair) giving bundles
//! sigstore-python and cosign accept.

use std::path::{Path, PathBuf};
use std::process::Command;

use releasekit_sandbox::{peers, Sandbox};
use serde_json::{json, Value};

use crate::util::{
    accepted, bin, code, run, sign_with, sigstore_python_verifies, stderr, stdout, Work,
};

const CLIENT_TRUST_CONFIG: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The sandbox's signing config with Rekor v1 and v2 listed (one operator),
/// v2 valid until `v2_end` (open-ended when `None`).
fn v1_and_v2(sandbox: &Sandbox, v2_end: Option<&str>) -> Value {
    let mut config = read_json(sandbox.signing_config_path());
    let v1 = config["rekorTlogUrls"][0].clone();
    assert_eq!(v1["majorApiVersion"], 1);
    let mut v2 = v1.clone();
    v2["url"] = json!(sandbox.urls().rekor_v2);
    v2["majorApiVersion"] = json!(2);
    if let Some(end) = v2_end {
        v2["validFor"] = json!({ "start": "2020-01-01T00:00:00Z", "end": end });
    }
    // Newest first, as the spec asks lists to be sorted.
    config["rekorTlogUrls"] = json!([v2, v1]);
    config
}

/// `config` written as a signing config and as a ClientTrustConfig (with the
/// sandbox's trusted root): `(signing_config, trust_config)`.
fn write_configs(sandbox: &Sandbox, work: &Work, config: &Value) -> (PathBuf, PathBuf) {
    let signing = work.file("signing_config.json", config.to_string());
    let trust = work.file(
        "trust_config.json",
        json!({
            "mediaType": CLIENT_TRUST_CONFIG,
            "trustedRoot": read_json(sandbox.trusted_root_path()),
            "signingConfig": config,
        })
        .to_string(),
    );
    (signing, trust)
}

/// `sign --signing-config S --trusted-root R --identity-token T`.
fn sign_with_files(sandbox: &Sandbox, work: &Work, signing: &Path) -> assert_cmd::Command {
    let mut cmd = bin(work.dir.path());
    cmd.arg("sign")
        .arg("--signing-config")
        .arg(signing)
        .arg("--trusted-root")
        .arg(sandbox.trusted_root_path())
        .arg("--identity-token")
        .arg(sandbox.token());
    cmd
}

/// The Rekor entry's kind version in a bundle: `0.0.1` is v1, `0.0.2` v2.
fn kind_version(bundle: &Path) -> String {
    let b = read_json(bundle);
    let entries = b["verificationMaterial"]["tlogEntries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{b}");
    entries[0]["kindVersion"]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A config listing Rekor v1 and v2 chooses v2 (the highest API version),
/// and says so in the dry run; once v2's validFor has ended, v1.
#[tokio::test(flavor = "multi_thread")]
async fn the_signing_config_chooses_v2_while_valid_then_v1() {
    let sandbox = Sandbox::start().await.unwrap();
    for (v2_end, expected) in [(None, "0.0.2"), (Some("2021-01-01T00:00:00Z"), "0.0.1")] {
        let work = Work::new();
        work.file("a.whl", "a");
        let (signing, _) = write_configs(&sandbox, &work, &v1_and_v2(&sandbox, v2_end));
        let mut dry = sign_with_files(&sandbox, &work, &signing);
        dry.args(["a.whl", "--dry-run"]);
        let o = run(dry).await;
        assert_eq!(code(&o), 0);
        let text = stdout(&o);
        let (chosen, aside) = match v2_end {
            None => ("rekorTlogUrls[0] v2", "[1] majorApiVersion 1 is older"),
            Some(_) => ("rekorTlogUrls[1] v1", "[0] its validFor has ended"),
        };
        assert!(text.contains(&format!("chosen: {chosen}")), "{text}");
        assert!(text.contains(aside), "{text}");

        let mut cmd = sign_with_files(&sandbox, &work, &signing);
        cmd.arg("a.whl");
        assert_eq!(code(&run(cmd).await), 0);
        assert_eq!(kind_version(&work.path("a.whl.sigstore.json")), expected);
        crate::util::verify_bundle(
            &sandbox,
            &work.path("a.whl"),
            &work.path("a.whl.sigstore.json"),
        );
    }
}

/// sigstore-python, given the same ClientTrustConfig, logs to the same Rekor
/// version we choose (v2 while valid, v1 once it ended), and each accepts
/// the other's choice.
#[tokio::test(flavor = "multi_thread")]
async fn sigstore_python_makes_the_same_choice() {
    let Some(python) = peers::sigstore_python().or_skip("sigstore_python_makes_the_same_choice")
    else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    for v2_end in [None, Some("2021-01-01T00:00:00Z")] {
        let work = Work::new();
        let ours = work.file("ours.whl", "ours");
        let theirs = work.file("theirs.whl", "theirs");
        let (_, trust) = write_configs(&sandbox, &work, &v1_and_v2(&sandbox, v2_end));

        let mut cmd = sign_with(&sandbox, work.dir.path(), &trust);
        cmd.arg("ours.whl");
        assert_eq!(code(&run(cmd).await), 0);

        let mut py = Command::new(&python);
        py.arg("--trust-config")
            .arg(&trust)
            .arg("sign")
            .arg("--identity-token")
            .arg(sandbox.token())
            .arg(&theirs);
        accepted(
            tokio::task::spawn_blocking(move || py.output().unwrap())
                .await
                .unwrap(),
            "sigstore-python sign",
        );

        let mine = kind_version(&work.path("ours.whl.sigstore.json"));
        let python_choice = kind_version(&work.path("theirs.whl.sigstore.json"));
        assert_eq!(mine, python_choice, "v2 end {v2_end:?}");
        assert_eq!(mine, if v2_end.is_none() { "0.0.2" } else { "0.0.1" });
        sigstore_python_verifies(&python, &sandbox, &trust, None, &ours);
    }
}

/// Bundles made from `--signing-config` + `--trusted-root` (Rekor v1, the
/// sandbox's own signing config) are accepted by sigstore-python and cosign.
#[tokio::test(flavor = "multi_thread")]
async fn peers_accept_bundles_from_the_signing_config_pair() {
    let python =
        peers::sigstore_python().or_skip("peers_accept_bundles_from_the_signing_config_pair");
    let cosign = peers::cosign().or_skip("peers_accept_bundles_from_the_signing_config_pair");
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let mut cmd = sign_with_files(&sandbox, &work, sandbox.signing_config_path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    let bundle = work.path("a.whl.sigstore.json");
    assert_eq!(kind_version(&bundle), "0.0.1");
    if let Some(python) = python {
        sigstore_python_verifies(&python, &sandbox, sandbox.trust_config_path(), None, &a);
    }
    if let Some(cosign) = cosign {
        crate::util::cosign_verifies(&cosign, &sandbox, &bundle, &a);
    }
}

/// A signing config whose every Rekor entry is unusable is refused before
/// anything is requested, naming the file, each entry and the fix; so is a
/// config asking for two logs per bundle.
#[tokio::test(flavor = "multi_thread")]
async fn unusable_signing_configs_are_refused_by_name() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut config = v1_and_v2(&sandbox, Some("2021-01-01T00:00:00Z"));
    config["rekorTlogUrls"][1]["majorApiVersion"] = json!(7);
    let (signing, _) = write_configs(&sandbox, &work, &config);
    let mut cmd = sign_with_files(&sandbox, &work, &signing);
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2);
    let err = crate::util::stderr(&o);
    assert!(err.contains(&signing.display().to_string()), "{err}");
    assert!(
        err.contains("rekorTlogUrls[0]") && err.contains("its validFor has ended"),
        "{err}"
    );
    assert!(
        err.contains("rekorTlogUrls[1]") && err.contains("majorApiVersion 7"),
        "{err}"
    );
    assert!(err.contains("fix:"), "{err}");
    assert!(!work.path("a.whl.sigstore.json").exists());

    let mut config = v1_and_v2(&sandbox, None);
    config["rekorTlogUrls"][0]["operator"] = json!("another-operator");
    config["rekorTlogUrls"][0]["majorApiVersion"] = json!(1);
    config["rekorTlogConfig"] = json!({ "selector": "ALL" });
    let (signing, _) = write_configs(&sandbox, &work, &config);
    let mut cmd = sign_with_files(&sandbox, &work, &signing);
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2);
    let err = crate::util::stderr(&o);
    assert!(err.contains("asks for 2 transparency log entries"), "{err}");
    assert!(sandbox
        .requests(releasekit_sandbox::Service::Fulcio)
        .is_empty());
}

/// The GitHub-style instance (Fulcio leaves without an SCT, the TSA, no
/// Rekor; a trusted root with no logs and no CT logs): the bundle has no log
/// entry and one RFC 3161 timestamp, verifies against that instance, and is
/// refused against an instance that keeps a log, for its missing entry.
#[tokio::test(flavor = "multi_thread")]
async fn the_github_style_instance_signs_without_a_log() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let github = sandbox.trust_config_github_path();
    let mut cmd = sign_with(&sandbox, work.dir.path(), github);
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("no transparency log, timestamped"),
        "{}",
        stdout(&o)
    );
    assert!(sandbox
        .requests(releasekit_sandbox::Service::RekorV1)
        .is_empty());
    assert!(sandbox
        .requests(releasekit_sandbox::Service::RekorV2)
        .is_empty());
    let b = read_json(&work.path("a.whl.sigstore.json"));
    let material = &b["verificationMaterial"];
    assert!(
        material["tlogEntries"]
            .as_array()
            .is_none_or(|e| e.is_empty()),
        "{b}"
    );
    assert_eq!(
        material["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let verify = |trust: &Path| {
        let mut cmd = bin(work.dir.path());
        cmd.arg("verify")
            .arg("--trust-config")
            .arg(trust)
            .arg("--cert-identity")
            .arg(sandbox.identity())
            .arg("--cert-oidc-issuer")
            .arg(sandbox.issuer())
            .arg("a.whl");
        cmd
    };
    let o = run(verify(github)).await;
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).starts_with("✅ Verified: a.whl"),
        "{}",
        stdout(&o)
    );
    let o = run(verify(sandbox.trust_config_path())).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains("❌ a.whl: No transparency log entry: this instance requires one"),
        "{out}"
    );
    assert!(out.contains("--instance github"), "{out}");

    // Another refusal of a bundle without a log entry is said as itself,
    // not as a missing entry with a fix already in use. Regression: "No
    // transparency log entry: this instance requires one" on GitHub's.
    let mut b = b;
    let signature = b["messageSignature"]["signature"].clone();
    b.as_object_mut().unwrap().remove("messageSignature");
    b["dsseEnvelope"] = serde_json::json!({
        "payload": "e30=",
        "payloadType": "text/plain",
        "signatures": [{"sig": signature, "keyid": ""}],
    });
    std::fs::write(work.path("a.whl.sigstore.json"), b.to_string()).unwrap();
    let o = run(verify(github)).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(out.contains("❌ a.whl: Bundle invalid"), "{out}");
    assert!(!out.contains("No transparency log entry"), "{out}");
}

/// `--instance github` names GitHub's services and no log in the dry run.
#[test]
fn the_github_instance_in_a_dry_run() {
    let work = Work::new();
    work.file("a.whl", "a");
    let o = bin(work.dir.path())
        .args(["sign", "a.whl", "--dry-run", "--instance", "github"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    let text = stdout(&o);
    assert!(
        text.contains("Instance: github (Fulcio https://fulcio.githubapp.com, no transparency log, TSA https://timestamp.githubapp.com/api/v1/timestamp)"),
        "{text}"
    );
    assert!(
        text.contains("chosen: rekorTlogUrls: none listed"),
        "{text}"
    );
}

/// A service URL that carries a user and password (an authenticated
/// mirror) is used, but never shown: not in the dry run's lines, not in its
/// JSON. Regression: both printed it whole.
#[test]
fn credentials_in_a_service_url_are_never_shown() {
    let work = Work::new();
    work.file("a.whl", "a");
    // A password may hold a quote, which a printed line also ends a URL
    // at. Regression: what followed the quote was printed.
    for password in ["s3cret-pw", "s3cr'et-pw", "s3cr\"et-pw", "s3cr`et-pw"] {
        for json in [false, true] {
            let mut cmd = bin(work.dir.path());
            cmd.args(["sign", "a.whl", "--dry-run", "--instance", "github"])
                .args([
                    "--fulcio-url",
                    &format!("https://builder:{password}@fulcio.example.com"),
                ]);
            if json {
                cmd.arg("--json");
            }
            let o = cmd.output().unwrap();
            assert_eq!(code(&o), 0, "{}", stderr(&o));
            let shown = format!("{}{}", stdout(&o), stderr(&o));
            assert!(
                !shown.contains("et-pw") && !shown.contains("builder"),
                "{shown}"
            );
            assert!(shown.contains("https://…@fulcio.example.com"), "{shown}");
        }
    }
}

/// The same for a URL the JSON report carries outside the fields made for
/// URLs: a TUF repository's (the instance's name, a warning, an error) and
/// one in a whole-run error. Regression: `--json` printed them whole.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_any_url_stay_out_of_the_json_report() {
    let work = Work::new();
    work.file("a.whl", "a");
    // A TUF root the updater can start from (a sandbox's), for a
    // repository where nothing answers.
    let sandbox = releasekit_sandbox::Sandbox::start().await.unwrap();
    std::fs::copy(sandbox.tuf_root_path(), work.path("root.json")).unwrap();
    let tuf = [
        "--tuf-url",
        "https://builder:s3cret-pw@127.0.0.1:1/",
        "--tuf-root",
        "root.json",
    ];
    let runs: [&[&str]; 3] = [
        &["sign", "a.whl", "--dry-run", "--json"],
        &[
            "verify",
            "a.whl",
            "--offline",
            "--json",
            "--cert-identity",
            "x",
            "--cert-oidc-issuer",
            "y",
        ],
        &[
            "verify",
            "a.whl",
            "--json",
            "--cert-identity",
            "x",
            "--cert-oidc-issuer",
            "y",
        ],
    ];
    for args in runs {
        let mut cmd = bin(work.dir.path());
        cmd.env("HOME", work.path("home"))
            .env("XDG_CACHE_HOME", work.path("home/.cache"))
            .args(args)
            .args(tuf);
        let o = crate::util::run(cmd).await;
        let shown = format!("{}{}", stdout(&o), stderr(&o));
        assert!(shown.contains("127.0.0.1:1"), "{args:?}: {shown}");
        assert!(!shown.contains("s3cret-pw"), "{args:?}: {shown}");
        assert!(!shown.contains("builder"), "{args:?}: {shown}");
    }
}

/// A signing config as protobuf's JSON writer leaves it, in a trust config
/// and alone: a service whose `majorApiVersion` is 0 has none written, and
/// a selector may be its enum number. Read as protojson readers
/// (sigstore-go, sigstore-python) read them: the entry is set aside as a
/// version this client does not speak, the rest signs, and `verify` takes
/// the file too; one that also gives a key twice is still refused.
/// Regression: the whole file was refused ("missing field
/// majorApiVersion"), by `verify` too.
#[tokio::test(flavor = "multi_thread")]
async fn a_signing_config_written_by_protojson_is_read_as_protojson_reads_it() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut config = read_json(sandbox.trust_config_path());
    let mut unreleased = config["signingConfig"]["rekorTlogUrls"][0].clone();
    unreleased["url"] = json!("https://rekor-next.example.com");
    unreleased
        .as_object_mut()
        .unwrap()
        .remove("majorApiVersion");
    let listed = config["signingConfig"]["rekorTlogUrls"][0].clone();
    config["signingConfig"]["rekorTlogUrls"] = json!([unreleased, listed]);
    config["signingConfig"]["tsaConfig"]["selector"] = json!(2);
    work.file("trust.json", config.to_string());
    work.file("signing.json", config["signingConfig"].to_string());
    work.file("root.json", config["trustedRoot"].to_string());

    let signed = |file: &str, args: &[&str]| {
        let mut cmd = sign_with(&sandbox, work.dir.path(), &work.path(file));
        cmd.args(args);
        cmd
    };
    let o = run(signed("trust.json", &["a.whl", "--dry-run", "-v"])).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("[0] majorApiVersion 0 is not an API version this client speaks"),
        "{}",
        stdout(&o)
    );
    let o = run(signed("trust.json", &["a.whl"])).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut cmd = bin(work.dir.path());
    cmd.args([
        "sign",
        "a.whl",
        "--overwrite",
        "--identity-token",
        &sandbox.token(),
    ])
    .args([
        "--signing-config",
        "signing.json",
        "--trusted-root",
        "root.json",
    ]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut cmd = bin(work.dir.path());
    cmd.args(["verify", "a.whl", "--trust-config", "trust.json"])
        .args(["--cert-identity", &sandbox.identity()])
        .args(["--cert-oidc-issuer", &sandbox.issuer()]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));

    // A key given twice, which a value would read as its last: refused.
    let text = config
        .to_string()
        .replacen("\"mediaType\"", "\"mediaType\":\"x\",\"mediaType\"", 1);
    work.file("twice.json", text);
    let o = run(signed("twice.json", &["a.whl", "--dry-run"])).await;
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}
