use releasekit_sandbox::{Fault, Sandbox, Service};

use crate::util::{code, each_its_own_content, run, sign, stderr, stdout, verify_bundle, Work};

/// An existing bundle fails its artifact only; the others are signed; exit 1;
/// the old bundle is untouched. `--overwrite` replaces it.
#[tokio::test(flavor = "multi_thread")]
async fn existing_bundles_and_overwrite() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    work.file("b.whl", "b");
    work.file("a.whl.sigstore.json", "old");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "b.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    assert_eq!(
        std::fs::read_to_string(work.path("a.whl.sigstore.json")).unwrap(),
        "old"
    );
    verify_bundle(
        &sandbox,
        &work.path("b.whl"),
        &work.path("b.whl.sigstore.json"),
    );
    // Log indexes are the sandbox's (a sharded log's global index), not ours to pin.
    insta::with_settings!({ filters => vec![(r"log index \d+", "log index [N]")] }, {
        insta::assert_snapshot!("existing_bundle", stdout(&o));
    });

    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "--overwrite"]);
    assert_eq!(code(&run(cmd).await), 0);
    verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
}

/// One artifact's log entry is refused (400, not retried): that artifact fails
/// with the service named, the others are signed, the summary lists it.
#[tokio::test(flavor = "multi_thread")]
async fn one_failure_does_not_lose_the_others() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for n in ["a", "b", "c"] {
        work.file(&format!("{n}.whl"), n);
    }
    sandbox
        .faults(Service::RekorV1)
        .fail_next(1, Fault::status(400));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "b.whl", "c.whl", "--jobs", "1"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    assert!(
        !work.path("a.whl.sigstore.json").exists(),
        "no bundle for the failed artifact"
    );
    for n in ["b", "c"] {
        verify_bundle(
            &sandbox,
            &work.path(&format!("{n}.whl")),
            &work.path(&format!("{n}.whl.sigstore.json")),
        );
    }
    let filters = vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"log index \d+", "log index [N]"),
    ];
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("partial_failure", stdout(&o));
    });
}

/// Transient errors (503, 429 with Retry-After, a dropped connection) are retried.
#[tokio::test(flavor = "multi_thread")]
async fn transient_errors_are_retried() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    sandbox
        .faults(Service::Fulcio)
        .fail_next(1, Fault::status(503));
    sandbox
        .faults(Service::RekorV1)
        .fail_next(1, Fault::retry_after(429, 1));
    sandbox
        .faults(Service::Tsa)
        .fail_next(1, Fault::status(502));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    verify_bundle(&sandbox, &a, &work.path("a.whl.sigstore.json"));
    assert_eq!(sandbox.requests(Service::Fulcio).len(), 2);
}

/// Fulcio failing past the retries, or not there, is said as an outage
/// or a wrong address, not as the token refused; a refused token names
/// the token's issuer. Regression: every case told the user to check that
/// Fulcio accepts the issuer's tokens (a private instance needs
/// --trust-config), a public-good outage too.
#[tokio::test(flavor = "multi_thread")]
async fn fulcio_failing_gets_the_fix_for_why() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let faults = sandbox.faults(Service::Fulcio);
    for (fault, fix) in [
        (
            Fault::status(503),
            "fix: re-run later (Fulcio did not answer, or kept failing)",
        ),
        (
            Fault::status(400),
            "fix: check that this Fulcio accepts tokens from",
        ),
        // Another server, or a path typo.
        (Fault::status(404), "is Fulcio's own address"),
    ] {
        faults.clear();
        faults.fail_next(100, fault);
        let mut cmd = sign(&sandbox, work.dir.path());
        cmd.arg("a.whl");
        let o = run(cmd).await;
        let err = stderr(&o);
        assert_ne!(code(&o), 0, "{err}");
        assert!(err.contains("issued no certificate"), "{err}");
        assert!(err.contains(fix), "{err}");
        assert_eq!(err.matches("fix:").count(), 1, "{err}");
    }
    faults.clear();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "--fulcio-url", "http://127.0.0.1:9"]);
    let o = run(cmd).await;
    assert!(stderr(&o).contains("fix: re-run later"), "{}", stderr(&o));
    assert!(!work.path("a.whl.sigstore.json").exists());
}

/// A dropped connection after Rekor logged the entry: the retried POST gets 409
/// and the existing entry is used.
#[tokio::test(flavor = "multi_thread")]
async fn a_retried_rekor_post_uses_the_existing_entry() {
    let sandbox = Sandbox::start().await.unwrap();
    let seen = signed_after_a_dropped_rekor_post(&sandbox).await;
    assert_eq!(
        seen,
        [
            ("POST".into(), 201),
            ("POST".into(), 409),
            ("GET".into(), 200)
        ],
        "dropped POST, retried POST answered 409, then the existing entry fetched"
    );
}

/// `a.whl` signed, and its bundle verified, after the connection of the
/// first Rekor v1 request dropped once the entry was logged; the log's
/// requests, as (method, status).
async fn signed_after_a_dropped_rekor_post(sandbox: &Sandbox) -> Vec<(String, u16)> {
    let work = Work::new();
    let a = work.file("a.whl", "a");
    sandbox
        .faults(Service::RekorV1)
        .fail_next(1, Fault::DropConnection);
    let mut cmd = sign(sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    verify_bundle(sandbox, &a, &work.path("a.whl.sigstore.json"));
    sandbox
        .requests(Service::RekorV1)
        .iter()
        .map(|r| (r.method.to_string(), r.status))
        .collect()
}

/// The same while the log still holds the entry queued (Trillian's
/// ALREADY_EXISTS for a leaf not yet integrated): the retried POST is
/// answered 409, and the entry's `GET` 404 until it is integrated, which
/// is waited out. Regression: the first 404 failed the artifact.
#[tokio::test(flavor = "multi_thread")]
async fn an_entry_still_queued_after_a_409_is_waited_for() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .rekor_v1()
        .set_integration_delay(std::time::Duration::from_millis(1500));
    let seen = signed_after_a_dropped_rekor_post(&sandbox).await;
    assert_eq!(&seen[..2], [("POST".into(), 201), ("POST".into(), 409)]);
    assert_eq!(seen.last(), Some(&("GET".into(), 200)), "{seen:?}");
    assert!(
        seen[2..seen.len() - 1]
            .iter()
            .all(|s| *s == ("GET".into(), 404))
            && seen.len() > 3,
        "{seen:?}"
    );
}

/// A log the trusted root does not list: the bundle cannot verify, so it is
/// never written.
#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_that_does_not_verify_is_never_written() {
    let signer = Sandbox::start().await.unwrap();
    let other = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = crate::util::bin(work.dir.path());
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(signer.trust_config_path())
        .arg("--rekor-url")
        .arg(&other.urls().rekor_v1)
        .arg("--identity-token")
        .arg(signer.token())
        .arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    assert_eq!(work.listing(), ["a.whl"]);
    assert!(
        stdout(&o).contains("which the instance's trusted root does not list"),
        "{}",
        stdout(&o)
    );
}

/// A log the trusted root does not list, with several artifacts: once the
/// first entry comes back under a log ID the root lacks, no more artifacts
/// are sent to the log (every one would fail alike, after its signature and
/// the certificate's identity were logged for good), and the provenance is
/// not signed either. Regression: every artifact was logged, then refused at
/// its self-verification, and the provenance after them.
#[tokio::test(flavor = "multi_thread")]
async fn a_log_the_root_does_not_list_stops_the_run() {
    untrusted_log_stops_the_run(false).await;
    untrusted_log_stops_the_run(true).await;
}

async fn untrusted_log_stops_the_run(v2: bool) {
    let signer = Sandbox::start().await.unwrap();
    let other = Sandbox::start().await.unwrap();
    let names = ["a.whl", "b.whl", "c.whl", "d.whl"];
    let work = each_its_own_content(&names);
    let (config, service, url) = if v2 {
        (
            signer.trust_config_v2_path(),
            Service::RekorV2,
            other.urls().rekor_v2.clone(),
        )
    } else {
        (
            signer.trust_config_path(),
            Service::RekorV1,
            other.urls().rekor_v1.clone(),
        )
    };
    let mut cmd = crate::util::sign_with(&signer, work.dir.path(), config);
    cmd.env("GITHUB_SERVER_URL", "https://github.com")
        .args(["--rekor-url", &url])
        .args(["--rekor-version", if v2 { "2" } else { "1" }])
        .args(["--jobs", "1", "--json", "--provenance"])
        .args(names);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(work.listing(), names);
    let posted = posts(&other, service);
    assert_eq!(posted, 1, "only the first artifact was logged");
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let errors = artifact_errors(&report);
    assert!(
        errors[0].starts_with(&format!(
            "Rekor at {url} logged the signature under log ID "
        )) && errors[0].contains("which the instance's trusted root does not list"),
        "{errors:?}"
    );
    for e in &errors[1..] {
        assert!(
            e.starts_with("not signed: the run stopped after a.whl, whose evidence no bundle can carry and verify"),
            "{e}"
        );
    }
    assert!(
        report["provenance"]["error"]
            .as_str()
            .unwrap()
            .starts_with("not signed: the run stopped after a.whl"),
        "{}",
        report["provenance"]
    );

    // All at once (the default --jobs): every artifact in flight was
    // logged, but not the provenance, signed as soon as they were hashed:
    // it waits for a bundle to verify in full. Regression: it was logged too.
    let mut cmd = crate::util::sign_with(&signer, work.dir.path(), config);
    cmd.env("GITHUB_SERVER_URL", "https://github.com")
        .args(["--rekor-url", &url])
        .args(["--rekor-version", if v2 { "2" } else { "1" }])
        .args(["--json", "--provenance"])
        .args(names);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(work.listing(), names);
    let posted_now = posts(&other, service);
    assert_eq!(posted_now - posted, sent(&o), "no provenance entry");
}

/// A certificate without the SCT the trusted root's CT logs require is
/// refused as it arrives, as sigstore-python and cosign do: one run-level
/// error, before any log entry or timestamp is made with it, provenance
/// included. Regression: the first artifact was logged (and, at the default
/// --jobs, every one in flight), then refused at its self-verification.
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_without_a_trusted_sct_is_refused_before_anything_is_logged() {
    let sandbox = Sandbox::start().await.unwrap();
    let names = ["a.whl", "b.whl", "c.whl"];
    let work = each_its_own_content(&names);
    // The same CA, whose leaves there carry no SCT.
    let fulcio = format!("{}/github", sandbox.urls().fulcio);
    for jobs in ["1", "8"] {
        let mut cmd = crate::util::sign(&sandbox, work.dir.path());
        cmd.env("GITHUB_SERVER_URL", "https://github.com")
            .args(["--fulcio-url", &fulcio])
            .args(["--jobs", jobs, "--provenance"])
            .args(names);
        let o = run(cmd).await;
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert!(
            stderr(&o).contains("returned a certificate without an SCT the instance's CT logs vouch for (the certificate carries no SCT)"),
            "{}",
            stderr(&o)
        );
        assert_eq!(work.listing(), names);
        for service in [Service::RekorV1, Service::Tsa] {
            assert_eq!(posts(&sandbox, service), 0, "{service:?} was asked");
        }
    }
}

/// On an instance that keeps no log (GitHub's), a TSA the trusted root does
/// not list stops the run as well, and the provenance, which waits for a
/// bundle timestamped by it to verify, is never sent to it. Regression:
/// with no log the provenance went to the TSA as soon as every artifact
/// was hashed.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_log_the_provenance_waits_for_a_bundle_to_verify() {
    let signer = Sandbox::start().await.unwrap();
    let other = Sandbox::start().await.unwrap();
    let names = ["a.whl", "b.whl", "c.whl"];
    let work = each_its_own_content(&names);
    let mut cmd =
        crate::util::sign_with(&signer, work.dir.path(), signer.trust_config_github_path());
    cmd.env("GITHUB_SERVER_URL", "https://github.com")
        .args(["--tsa-url", &other.urls().tsa])
        .args(["--json", "--provenance"])
        .args(names);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(work.listing(), names);
    assert_eq!(
        posts(&other, Service::Tsa),
        sent(&o),
        "no provenance timestamp"
    );
}

/// Artifacts started before the run stopped but still waiting for a core
/// to hash them send nothing once it has: with a small first artifact and
/// large ones behind it (hashing takes one core each), the first entry's
/// refusal comes back while most are queued. Regression: each of them,
/// once hashed, still sent its signature and the certificate to the log.
#[tokio::test(flavor = "multi_thread")]
async fn artifacts_waiting_to_be_hashed_send_nothing_after_a_stop() {
    let signer = Sandbox::start().await.unwrap();
    let other = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let big = vec![7u8; 48 << 20];
    let mut names = vec!["a.whl".to_owned()];
    for i in 0..4 {
        let name = format!("big{i}.bin");
        std::fs::write(work.path(&name), &big).unwrap();
        names.push(name);
    }
    let mut cmd = crate::util::sign(&signer, work.dir.path());
    cmd.args(["--rekor-url", &other.urls().rekor_v1])
        .args(["--jobs", "16", "--json"])
        .args(&names);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let posted = posts(&other, Service::RekorV1);
    // Fewer than all: those hashed after the refusal came back send nothing.
    assert!(
        posted < names.len(),
        "{posted} of {} artifacts were sent to the log after it was refused",
        names.len()
    );
    // Which artifact's refusal stops the run is the hashing's order: two
    // cores, taken by whichever tasks ask first (under load, not always
    // the small one).
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let stopped = artifact_errors(&report)
        .iter()
        .filter(|e| e.starts_with("not signed: the run stopped after "))
        .count();
    assert_eq!(stopped, names.len() - posted, "{report}");
}

/// A TSA whose certificate the trusted root does not list (while it lists
/// others): the first bundle fails, and as its timestamps would all fail
/// alike, the run stops there. Regression: every artifact was logged, then
/// refused at its self-verification.
#[tokio::test(flavor = "multi_thread")]
async fn a_tsa_the_root_does_not_list_stops_the_run() {
    let signer = Sandbox::start().await.unwrap();
    let other = Sandbox::start().await.unwrap();
    let names = ["a.whl", "b.whl", "c.whl"];
    let work = each_its_own_content(&names);
    let mut cmd = crate::util::sign(&signer, work.dir.path());
    cmd.args(["--tsa-url", &other.urls().tsa])
        .args(["--jobs", "1", "--json"])
        .args(names);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(work.listing(), names);
    let posted = posts(&signer, Service::RekorV1);
    assert_eq!(posted, 1, "only the first artifact was logged");
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let errors = artifact_errors(&report);
    assert!(
        errors[0].starts_with(&format!(
            "the timestamp authority at {} signs with a certificate the instance's trusted root does not list",
            other.urls().tsa
        )),
        "{errors:?}"
    );
    assert!(
        errors[1..]
            .iter()
            .all(|e| e.starts_with("not signed: the run stopped after a.whl")),
        "{errors:?}"
    );
}

/// A window that ended yesterday, after almost two years.
fn ended() -> serde_json::Value {
    let now = jiff::Timestamp::now();
    serde_json::json!({
        "start": (now - jiff::SignedDuration::from_hours(24 * 700)).to_string(),
        "end": (now - jiff::SignedDuration::from_hours(24)).to_string(),
    })
}

/// A trusted root none of whose log keys, or none of whose certificate
/// authorities, is valid now (a stale copy of a private instance's): no
/// certificate or entry made now could verify, so the run is refused
/// before the token goes to Fulcio or anything to the log. Regression: a
/// certificate was issued, and with every log key ended an entry was
/// logged for good, before the run stopped.
#[tokio::test(flavor = "multi_thread")]
async fn a_root_with_no_log_key_or_authority_valid_now_is_refused_before_any_request() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = each_its_own_content(&["a.whl"]);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.trust_config_path()).unwrap()).unwrap();
    for (list, field, told) in [
        (
            "tlogs",
            "publicKey",
            "no transparency log whose key is valid now",
        ),
        (
            "certificateAuthorities",
            "",
            "no certificate authority valid now",
        ),
    ] {
        let mut config = config.clone();
        for entry in config["trustedRoot"][list].as_array_mut().unwrap() {
            match field {
                "" => entry["validFor"] = ended(),
                f => entry[f]["validFor"] = ended(),
            }
        }
        let path = work.file("trust.json", config.to_string());
        let mut cmd = crate::util::sign_with(&sandbox, work.dir.path(), &path);
        cmd.arg("a.whl");
        let o = run(cmd).await;
        assert_eq!(code(&o), 2, "{list}: {}", stderr(&o));
        assert!(stderr(&o).contains(told), "{list}: {}", stderr(&o));
        for service in [
            Service::Oidc,
            Service::Fulcio,
            Service::RekorV1,
            Service::Tsa,
        ] {
            assert!(sandbox.requests(service).is_empty(), "{list}: {service:?}");
        }
    }
}

/// A log the trusted root lists with a key whose validity ended (a private
/// instance that rotated its log key, and left the old log in its signing
/// config), beside one still valid: as with a log it does not list, the
/// run stops after the first entry. Regression: every artifact was logged,
/// then failed alike.
#[tokio::test(flavor = "multi_thread")]
async fn a_log_whose_key_ended_stops_the_run() {
    let sandbox = Sandbox::start().await.unwrap();
    let names = ["a.whl", "b.whl", "c.whl"];
    let work = each_its_own_content(&names);
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.trust_config_path()).unwrap()).unwrap();
    let v1 = sandbox.urls().rekor_v1.trim_end_matches('/').to_owned();
    let mut others = 0;
    for log in config["trustedRoot"]["tlogs"].as_array_mut().unwrap() {
        if log["baseUrl"].as_str().unwrap().trim_end_matches('/') == v1 {
            log["publicKey"]["validFor"] = ended();
        } else {
            others += 1;
        }
    }
    assert!(others > 0, "another log stays valid");
    let path = work.file("trust.json", config.to_string());
    let mut cmd = crate::util::sign_with(&sandbox, work.dir.path(), &path);
    cmd.args(["--jobs", "1", "--json"]).args(names);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let posted = posts(&sandbox, Service::RekorV1);
    assert_eq!(posted, 1, "only the first artifact was logged");
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let errors = artifact_errors(&report);
    assert!(
        errors[0].contains("not valid for the entry's time"),
        "{errors:?}"
    );
    assert!(
        errors[1..]
            .iter()
            .all(|e| e.starts_with("not signed: the run stopped after a.whl")),
        "{errors:?}"
    );
}

/// A Fulcio whose CA the trusted root does not list: its certificate is
/// refused as it arrives, one run-level error, before any log entry or
/// timestamp is made with it. Regression: every artifact was logged and
/// timestamped, then refused one by one at its self-verification.
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_from_an_untrusted_ca_is_refused_before_anything_is_logged() {
    let signer = Sandbox::start().await.unwrap();
    let other = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("b.whl", "b");
    let mut cmd = crate::util::bin(work.dir.path());
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(other.trust_config_path())
        .arg("--fulcio-url")
        .arg(&signer.urls().fulcio)
        .arg("--rekor-url")
        .arg(&signer.urls().rekor_v1)
        .arg("--tsa-url")
        .arg(&signer.urls().tsa)
        .arg("--identity-token")
        .arg(signer.token())
        .args(["a.whl", "b.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("returned a certificate that no certificate authority of the instance's trusted root issued"),
        "{}",
        stderr(&o)
    );
    assert_eq!(work.listing(), ["a.whl", "b.whl"]);
    for service in [Service::RekorV1, Service::Tsa] {
        assert!(signer.requests(service).is_empty(), "{service:?} was asked");
    }
}

/// Every artifact already has a bundle: each fails (exit 1), and no token is
/// needed to say so (this environment has none).
#[test]
fn only_existing_bundles_fail_without_needing_a_token() {
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("a.whl.sigstore.json", "old");
    let o = crate::util::bin(work.dir.path())
        .args(["sign", "a.whl"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("Signed 0 of 1 artifact(s) with 0 certificate(s); 1 failed."));
    assert_eq!(
        std::fs::read_to_string(work.path("a.whl.sigstore.json")).unwrap(),
        "old"
    );
}

/// Ctrl-C mid-run (exit 130), or SIGTERM as a CI system cancelling the job
/// sends it (exit 143), while the log entry is awaited: neither a bundle
/// nor a temporary file is left.
/// Regression: SIGTERM ended the process on the spot, with no exit code.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_leaves_no_partial_files() {
    let sandbox = Sandbox::builder()
        .latency(std::time::Duration::from_secs(2), std::time::Duration::ZERO)
        .start()
        .await
        .unwrap();
    for (signal, exit, word) in [("INT", 130, "interrupted"), ("TERM", 143, "terminated")] {
        let work = Work::new();
        work.file("a.whl", "a");
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("releasekit-sign"));
        // With --json, the one document on stdout says so too.
        let json = signal == "TERM";
        if json {
            cmd.arg("--json");
        }
        let fulcio_answered = sandbox.requests(Service::Fulcio).len();
        let child = spawn_sign(crate::util::default_signals(&mut cmd), &sandbox, &work);
        until_fulcio_asked(&sandbox, fulcio_answered).await;
        let o = crate::util::signal_and_wait(child, signal).await;
        assert_eq!(o.status.code(), Some(exit), "SIG{signal}: {o:?}");
        if json {
            let doc: serde_json::Value = serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
            assert_eq!(doc["exit_code"], exit);
            assert!(
                doc["error"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{word}: ")),
                "{doc}"
            );
        }
        assert!(
            crate::util::stderr(&o)
                .contains(&format!("{word}: bundles already written are complete")),
            "SIG{signal}: {}",
            crate::util::stderr(&o)
        );
        assert_eq!(work.listing(), ["a.whl"], "SIG{signal}");
    }
}

/// `cmd` (the binary, or a wrapper running it) signing `a.whl` in `work`
/// with the sandbox's trust and token, started and left running, its output
/// piped.
/// Until the sandbox's Fulcio has been asked more than `before` times: a
/// run signalled then is mid-run, its handlers installed (a fixed sleep
/// could land before them, where an inherited setting decides alone).
async fn until_fulcio_asked(sandbox: &Sandbox, before: usize) {
    let waiting = std::time::Instant::now();
    while sandbox.requests(Service::Fulcio).len() == before {
        assert!(
            waiting.elapsed() < std::time::Duration::from_secs(60),
            "Fulcio never asked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn spawn_sign(
    cmd: &mut std::process::Command,
    sandbox: &Sandbox,
    work: &Work,
) -> std::process::Child {
    cmd.current_dir(work.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .arg("--identity-token")
        .arg(sandbox.token())
        .arg("a.whl")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Under `nohup` (SIGHUP set to be ignored), a hang-up does not stop the
/// run: the inherited setting is kept, not replaced by a handler.
#[tokio::test(flavor = "multi_thread")]
async fn a_hang_up_under_nohup_does_not_stop_the_run() {
    let mut cmd = std::process::Command::new("nohup");
    cmd.arg(assert_cmd::cargo::cargo_bin("releasekit-sign"));
    an_ignored_signal_does_not_stop_the_run(cmd, "HUP").await;
}

/// An interrupt the parent set to be ignored (`trap '' INT`; a background
/// job of a non-interactive shell) does not stop the run, as a hang-up
/// under `nohup` does not. Regression: SIGINT's handler replaced the
/// inherited setting, and a Ctrl-C meant for the rest of the process group
/// stopped an upload midway (exit 130).
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_the_parent_ignores_does_not_stop_the_run() {
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "trap '' INT; exec \"$0\" \"$@\""])
        .arg(assert_cmd::cargo::cargo_bin("releasekit-sign"));
    an_ignored_signal_does_not_stop_the_run(cmd, "INT").await;
}

/// `cmd` (the binary, run so that `signal` is set to be ignored) signs,
/// gets `signal` mid-run, and finishes: exit 0, the bundle written.
async fn an_ignored_signal_does_not_stop_the_run(mut cmd: std::process::Command, signal: &str) {
    let sandbox = Sandbox::builder()
        .latency(
            std::time::Duration::from_millis(800),
            std::time::Duration::ZERO,
        )
        .start()
        .await
        .unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let child = spawn_sign(&mut cmd, &sandbox, &work);
    until_fulcio_asked(&sandbox, 0).await;
    let o = crate::util::signal_and_wait(child, signal).await;
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(work.listing(), ["a.whl", "a.whl.sigstore.json"]);
}

/// A Fulcio that answers with a genuine certificate for someone else's key
/// (here: one the sandbox issued for another key pair, replayed by a stub):
/// the run refuses to sign with it and sends nothing to Rekor.
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_for_another_key_is_refused() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let sandbox = Sandbox::start().await.unwrap();
    let token = sandbox.token();
    let other_key = sigstore_crypto::KeyPair::generate_ecdsa_p256().unwrap();
    let issued = sigstore_fulcio::FulcioClient::new(&sandbox.urls().fulcio)
        .unwrap()
        .create_signing_certificate(
            &sigstore_oidc::IdentityToken::from_jwt(&token).unwrap(),
            &other_key,
        )
        .await
        .unwrap();
    let pems: Vec<String> = issued
        .certificate_chain()
        .iter()
        .map(|c| c.to_pem())
        .collect();
    let body = serde_json::json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": pems } } })
        .to_string();

    // A one-shot HTTP stub that answers any request with that certificate.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stub = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                // Headers, then as many body bytes as Content-Length says.
                loop {
                    let n = conn.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes()).await;
            });
        }
    });

    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("--fulcio-url").arg(&stub).arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    assert!(
        crate::util::stderr(&o)
            .contains("returned a certificate for another public key; refusing to sign with it"),
        "{}",
        crate::util::stderr(&o)
    );
    assert!(sandbox.requests(Service::RekorV1).is_empty());
    assert_eq!(work.listing(), ["a.whl"]);
}

/// POST requests `service` of `sandbox` received (log entries asked for).
fn posts(sandbox: &Sandbox, service: Service) -> usize {
    sandbox
        .requests(service)
        .iter()
        .filter(|r| r.method == "POST")
        .count()
}

/// How many artifacts of a `--json` sign report were sent to the services:
/// every one but those the run stopped before (one still waiting to be
/// hashed when it stopped is one of those, however the cores were shared).
fn sent(o: &std::process::Output) -> usize {
    let report: serde_json::Value = serde_json::from_str(&stdout(o)).unwrap();
    let errors = artifact_errors(&report);
    let stopped = errors
        .iter()
        .filter(|e| e.starts_with("not signed: the run stopped after "))
        .count();
    assert!(stopped < errors.len(), "the first was sent: {errors:?}");
    errors.len() - stopped
}

/// Each artifact's error in a `--json` sign report, in plan order.
fn artifact_errors(report: &serde_json::Value) -> Vec<&str> {
    report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["error"].as_str().unwrap())
        .collect()
}

/// The log's clock a few seconds ahead of this machine's (a runner's that
/// lags it): its integrated time, in the future here, is waited out before
/// the self-verification, and the bundle verifies. Far ahead, the clock is
/// said to be wrong and the run stops after the first entry. Regression:
/// every artifact was logged, then failed "integrated time in the future".
#[tokio::test(flavor = "multi_thread")]
async fn a_log_clock_ahead_of_this_one_is_waited_out_or_named() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .rekor_v1()
        .set_clock_ahead(std::time::Duration::from_secs(2));
    let work = each_its_own_content(&["a.whl"]);
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    verify_bundle(
        &sandbox,
        &work.path("a.whl"),
        &work.path("a.whl.sigstore.json"),
    );

    sandbox
        .rekor_v1()
        .set_clock_ahead(std::time::Duration::from_secs(120));
    let names = ["b.whl", "c.whl", "d.whl"];
    let work = each_its_own_content(&names);
    let logged = posts(&sandbox, Service::RekorV1);
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["--jobs", "1", "--json"]).args(names);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        posts(&sandbox, Service::RekorV1),
        logged + 1,
        "stopped after one"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let errors = artifact_errors(&report);
    assert!(
        errors[0].contains("ahead of this machine's clock")
            && errors[0].contains("fix: set this machine's clock right"),
        "{errors:?}"
    );
}
