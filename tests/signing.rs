use releasekit_sandbox::{Sandbox, Service};

use crate::util::{code, run, sign, sign_process, stderr, stdout, verify_bundle, Work};

/// Many artifacts, one key and one certificate: Fulcio is asked once; every
/// bundle carries the same leaf and verifies on its own.
#[tokio::test(flavor = "multi_thread")]
async fn one_certificate_for_many_artifacts() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for i in 0..24 {
        work.file(&format!("dist/pkg-{i:02}.whl"), format!("artifact {i}"));
    }
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["dist", "--jobs", "8"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert_eq!(sandbox.requests(Service::Fulcio).len(), 1);
    assert_eq!(
        sandbox
            .requests(Service::RekorV1)
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        24
    );
    let mut leaves = std::collections::BTreeSet::new();
    for i in 0..24 {
        let a = work.path(&format!("dist/pkg-{i:02}.whl"));
        let b = work.path(&format!("dist/pkg-{i:02}.whl.sigstore.json"));
        let json = verify_bundle(&sandbox, &a, &b);
        leaves.insert(
            json["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(leaves.len(), 1);
    assert!(
        stdout(&o).contains("Signed 24 of 24 artifact(s) with 1 certificate(s)."),
        "{}",
        stdout(&o)
    );
}

/// `--jobs` bounds the artifacts waiting on the log at once, and they do
/// wait together: never more Rekor requests in flight than `--jobs`, and as
/// many as that while there is work left (each artifact's entry is answered
/// a quarter of a second after it is asked for).
#[tokio::test(flavor = "multi_thread")]
async fn jobs_is_the_number_of_log_requests_in_flight() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for i in 0..6 {
        work.file(&format!("dist/pkg-{i}.whl"), format!("artifact {i}"));
    }
    sandbox.faults(Service::RekorV1).set_latency(
        std::time::Duration::from_millis(250),
        std::time::Duration::ZERO,
    );
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["dist", "--jobs", "2"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    let entries: Vec<_> = sandbox
        .requests(Service::RekorV1)
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(entries.len(), 6);
    let in_flight_at = |t: std::time::Instant| {
        entries
            .iter()
            .filter(|r| r.at <= t && t < r.answered)
            .count()
    };
    let peak = entries.iter().map(|r| in_flight_at(r.at)).max().unwrap();
    assert_eq!(peak, 2, "Rekor requests in flight at once, with --jobs 2");
}

/// Without a TTY: one line per artifact, then the summary.
#[tokio::test(flavor = "multi_thread")]
async fn human_output_without_a_tty() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("b.whl", "b");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "b.whl", "--jobs", "1"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("✅ Signed: a.whl -> a.whl.sigstore.json (log index "));
    assert!(lines[1].starts_with("✅ Signed: b.whl -> b.whl.sigstore.json (log index "));
    assert_eq!(lines[2], "Signed 2 of 2 artifact(s) with 1 certificate(s).");
}

/// `--json` reports every artifact and the certified identity; `-q` keeps only the summary.
#[tokio::test(flavor = "multi_thread")]
async fn json_and_quiet_output() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["--json", "a.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["certificates"], 1);
    assert_eq!(v["identity"]["certified"]["identity"], sandbox.identity());
    assert_eq!(v["identity"]["certified"]["issuer"], sandbox.issuer());
    assert_eq!(v["identity"]["certified"]["token_source"], "flag");
    let art = &v["artifacts"][0];
    assert_eq!(art["status"], "signed");
    let digest = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(std::fs::read(&a).unwrap()))
    };
    assert_eq!(art["sha256"], digest);

    std::fs::remove_file(work.path("a.whl.sigstore.json")).unwrap();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["-q", "a.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert_eq!(
        stdout(&o),
        "Signed 1 of 1 artifact(s) with 1 certificate(s).\n"
    );
}

/// Large files are hashed in a stream; the digest in the bundle is the file's.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_larger_than_the_hash_buffer() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let data: Vec<u8> = (0..(3 * 1024 * 1024 + 5))
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    let a = work.file("big.tar.gz", &data);
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("big.tar.gz");
    assert_eq!(code(&run(cmd).await), 0);
    verify_bundle(&sandbox, &a, &work.path("big.tar.gz.sigstore.json"));
}

/// On a TTY (util-linux `script` provides one): a progress bar of bytes hashed
/// and entries logged, with the per-artifact lines printed above it.
#[tokio::test(flavor = "multi_thread")]
async fn a_progress_bar_on_a_tty() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for i in 0..3 {
        work.file(&format!("a{i}.whl"), vec![7u8; 1_500_000]);
    }
    let bin = assert_cmd::cargo::cargo_bin("releasekit-sign");
    let cmdline = format!(
        "{} sign --trust-config {} --identity-token {} a0.whl a1.whl a2.whl",
        bin.display(),
        sandbox.trust_config_path().display(),
        sandbox.token()
    );
    let mut cmd = assert_cmd::Command::new("script");
    cmd.current_dir(work.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .args(["-qec", &cmdline, "/dev/null"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    let tty = stdout(&o);
    assert!(tty.contains("/4.29 MiB hashed"), "{tty}");
    assert!(tty.contains("3/3 logged"), "{tty}");
    assert!(
        tty.contains("✅ Signed: a2.whl -> a2.whl.sigstore.json"),
        "{tty}"
    );
    assert!(
        tty.contains("Signed 3 of 3 artifact(s) with 1 certificate(s)."),
        "{tty}"
    );
}

/// Bundles written into more directories than the process may hold open
/// at once (40 descriptors here; macOS allows 256 by default) all land,
/// and all verify. Regression: a descriptor was kept per directory until
/// the end, so past the limit the later artifacts, already logged, failed
/// ("Too many open files"); then 32 were kept whatever the limit, which
/// under 64 failed a loaded run, and under 40 any run.
#[tokio::test(flavor = "multi_thread")]
async fn bundles_land_in_more_directories_than_descriptors() {
    const DIRS: usize = 100;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for i in 0..DIRS {
        work.file(&format!("dist/d{i:03}/a.whl"), format!("artifact {i}"));
    }
    let program = assert_cmd::cargo::cargo_bin("releasekit-sign");
    let mut cmd = std::process::Command::new("sh");
    cmd.current_dir(work.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("-c")
        .arg(r#"ulimit -n 40 && exec "$@""#)
        .arg("sh")
        .arg(program)
        .arg("sign")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .arg("--identity-token")
        .arg(sandbox.token())
        .args(["--jobs", "4", "-r", "dist"]);
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        code(&o),
        0,
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    for i in 0..DIRS {
        verify_bundle(
            &sandbox,
            &work.path(&format!("dist/d{i:03}/a.whl")),
            &work.path(&format!("dist/d{i:03}/a.whl.sigstore.json")),
        );
    }
}

/// A bundle is written with the mode a new file gets under the run's umask
/// (0644 less it), as `cp` or a compiler would: under `umask 077` it is
/// the owner's alone. Regression: every kept file was 0644, so the assets a
/// private repository's release downloaded were readable by all.
#[tokio::test(flavor = "multi_thread")]
async fn kept_files_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("b.whl", "b");
    for (name, umask, mode) in [("a.whl", 0o077, 0o600), ("b.whl", 0o022, 0o644)] {
        let mut cmd = sign_process(&sandbox, work.dir.path());
        cmd.arg(name);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::umask(umask);
                Ok(())
            });
        }
        let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let bundle = work.path(&format!("{name}.sigstore.json"));
        let got = std::fs::metadata(&bundle).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "{name} under umask {umask:o}");
    }
}

/// An artifact written to after it was hashed, while its entry was being
/// logged, gets no bundle: one would vouch for bytes no longer on disk.
/// Regression: "Signed", exit 0, and a bundle `verify` then failed as
/// "modified after signing".
#[tokio::test(flavor = "multi_thread")]
async fn an_artifact_changed_after_it_was_hashed_gets_no_bundle() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let artifact = work.file("a.tgz", "first");
    sandbox
        .faults(Service::RekorV1)
        .set_latency(std::time::Duration::from_secs(5), std::time::Duration::ZERO);
    let mut cmd = sign_process(&sandbox, work.dir.path());
    cmd.arg("a.tgz")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // The timestamp is asked for with the entry, once the file is hashed;
    // the log answers seconds later.
    while sandbox.requests(Service::Tsa).is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    std::fs::write(&artifact, "second, longer").unwrap();
    let o = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(code(&o), 1, "{said}");
    assert!(said.contains("a.tgz changed after it was hashed"), "{said}");
    assert!(!work.path("a.tgz.sigstore.json").exists());
}

/// Under a small open-file limit that cannot be raised, `--jobs` is
/// lowered to what it holds, with a warning naming both, and every
/// artifact is signed. Regression: `--jobs 10000` under `ulimit -n 256`
/// logged entries whose bundles then failed to be written, "Too many open
/// files".
#[tokio::test(flavor = "multi_thread")]
async fn jobs_are_lowered_to_the_open_file_limit() {
    use std::os::unix::process::CommandExt as _;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    for i in 0..300 {
        work.file(&format!("dist/a{i}.bin"), format!("{i}"));
    }
    let mut cmd = sign_process(&sandbox, work.dir.path());
    cmd.args(["--jobs", "10000", "dist"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("10000 artifacts in flight (--jobs) lowered to 48"),
        "{err}"
    );
    let bundles = std::fs::read_dir(work.path("dist"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".sigstore.json")
        })
        .count();
    assert_eq!(bundles, 300);
}

/// A file of a signed directory that is not a regular file (here a link
/// to nothing, as a build step that failed half-way leaves) is named in
/// a warning, in the dry run too, while the rest is signed: it may be an
/// artifact the release would otherwise lack without a word. Regression:
/// it was listed only with -v and in the JSON report.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_link_in_a_signed_directory_is_warned_of() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.tgz", "a");
    std::os::unix::fs::symlink("../build/missing.tgz", work.path("dist/b.tgz")).unwrap();
    for dry in [true, false] {
        let mut cmd = sign(&sandbox, work.dir.path());
        cmd.arg("dist");
        if dry {
            cmd.arg("--dry-run");
        }
        let o = run(cmd).await;
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(code(&o), 0, "{err}");
        assert!(
            err.contains("not signed, as not regular files (a link to nothing, a socket, a device): dist/b.tgz: not a regular file; if one is an artifact of the release, fix the step that made it and re-run"),
            "dry run {dry}: {err}"
        );
    }
    assert!(work.path("dist/a.tgz.sigstore.json").exists());
}
