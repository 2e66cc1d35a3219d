//! Bad input, each with a clear error and nothing else lost: missing files,
//! directories where a file was named, unreadable files, symbolic links
//! (followed only inside the working tree), empty files, names with spaces and
//! non-ASCII characters, and bundles that are not JSON, not a bundle, truncated
//! or huge.

use std::path::Path;

use releasekit_sandbox::{Sandbox, Service};

use crate::util::{bin, code, run, sign, stderr, stdout, verify_bundle, Work};

/// `verify --trust-config <sandbox> --cert-identity .. --cert-oidc-issuer ..`, then `args`.
fn verify(sandbox: &Sandbox, cwd: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = bin(cwd);
    cmd.arg("verify")
        .arg("--trust-config")
        .arg(sandbox.trust_config_path())
        .arg("--cert-identity")
        .arg(sandbox.identity())
        .arg("--cert-oidc-issuer")
        .arg(sandbox.issuer())
        .args(args);
    cmd
}

/// A missing artifact is a usage error naming it; nothing is requested.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_file_is_named() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "missing.whl"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("missing.whl: no such file or directory"),
        "{}",
        stderr(&o)
    );
    assert!(sandbox.requests(Service::Fulcio).is_empty());
    assert_eq!(work.listing(), ["a.whl"]);
}

/// A directory where a file is expected: as the bundle of `verify --bundle`,
/// and as `--trust-config`. Each is named; nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_directory_where_a_file_was_named() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    std::fs::create_dir(work.path("adir")).unwrap();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);

    let o = run(verify(
        &sandbox,
        work.dir.path(),
        &["a.whl", "--bundle", "adir"],
    ))
    .await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains("adir is a directory, not a regular file"),
        "{out}"
    );

    let o = run({
        let mut cmd = bin(work.dir.path());
        cmd.args(["sign", "--trust-config", "adir", "--identity-token"])
            .arg(sandbox.token())
            .arg("a.whl")
            .arg("--overwrite");
        cmd
    })
    .await;
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("cannot read trust config adir: it is a directory, not a regular file"),
        "{}",
        stderr(&o)
    );
    assert!(
        sandbox.requests(Service::Fulcio).len() == 1,
        "only the first run"
    );
}

/// An artifact that cannot be read fails that artifact only, naming it; the
/// others are signed. Unix permissions do not stop root, so as root a file
/// whose every read fails (`/proc/self/mem` at offset 0 is unmapped) stands in.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_file_fails_only_itself() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("b.whl", "b");
    let unreadable = if nix_is_root() {
        "/proc/self/mem".to_owned()
    } else {
        let p = work.file("a.whl", "a");
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
        "a.whl".to_owned()
    };
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args([unreadable.as_str(), "b.whl", "--output-dir", "."]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "❌ Failed: {unreadable}: cannot read {unreadable}"
        )),
        "{out}"
    );
    verify_bundle(
        &sandbox,
        &work.path("b.whl"),
        &work.path("b.whl.sigstore.json"),
    );
    let name = Path::new(&unreadable)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    assert!(!work.path(&format!("{name}.sigstore.json")).exists());
}

fn nix_is_root() -> bool {
    // The owner of a file we just created is our effective user.
    let f = tempfile::NamedTempFile::new().unwrap();
    std::os::unix::fs::MetadataExt::uid(&f.as_file().metadata().unwrap()) == 0
}

/// Symbolic links are followed only inside the working directory: a link to a
/// file inside it is signed (the bundle is named after the link); a link to a
/// file outside it, named outright or found in a directory, is refused naming
/// the link and its target, before any request.
#[tokio::test(flavor = "multi_thread")]
async fn symlinks_are_followed_only_inside_the_working_tree() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let outside = Work::new();
    let secret = outside.file("id_ed25519", "secret key");
    work.file("build/pkg.whl", "wheel");
    std::fs::create_dir(work.path("dist")).unwrap();
    std::os::unix::fs::symlink("../build/pkg.whl", work.path("dist/pkg.whl")).unwrap();

    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("dist");
    assert_eq!(code(&run(cmd).await), 0);
    verify_bundle(
        &sandbox,
        &work.path("build/pkg.whl"),
        &work.path("dist/pkg.whl.sigstore.json"),
    );

    std::os::unix::fs::symlink(&secret, work.path("dist/key.whl")).unwrap();
    let requests = sandbox.requests(Service::Fulcio).len();
    for arg in ["dist", "dist/key.whl", "dist/*.whl"] {
        let mut cmd = sign(&sandbox, work.dir.path());
        cmd.args([arg, "--overwrite"]);
        let o = run(cmd).await;
        assert_eq!(code(&o), 2, "{arg}");
        let err = stderr(&o);
        let target = std::fs::canonicalize(&secret).unwrap();
        assert!(
            err.contains(&format!(
                "dist/key.whl is a symbolic link to {}, outside the working directory",
                target.display()
            )),
            "{arg}: {err}"
        );
    }
    assert_eq!(sandbox.requests(Service::Fulcio).len(), requests);
    assert!(!work.path("dist/key.whl.sigstore.json").exists());
}

/// A link anywhere on the way, not only as the last component: with
/// `dd -> <outside>` and `p -> /proc/self`, every spelling that goes through
/// the link is refused before anything is planned, naming the path, the link,
/// where it leads and the fix. A link to a device is refused the same way, and
/// a FIFO is never signed.
#[test]
fn paths_through_a_link_out_of_the_working_tree_are_refused() {
    let work = Work::new();
    let outside = Work::new();
    outside.file("key", "secret key");
    work.file("a.whl", "a");
    std::os::unix::fs::symlink(outside.dir.path(), work.path("dd")).unwrap();
    std::os::unix::fs::symlink("/proc/self", work.path("p")).unwrap();
    std::os::unix::fs::symlink("/dev/null", work.path("nul")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(work.path("ff"))
        .status()
        .unwrap();
    assert!(fifo.success());
    let outside_real = std::fs::canonicalize(outside.dir.path()).unwrap();
    let outside_real = outside_real.to_str().unwrap();
    // (argument, the path named, the link, where it leads: /proc/self is the
    // tool's own process).
    let cases = [
        ("dd", "dd", outside_real),
        ("dd/", "dd", outside_real),
        ("dd/*", "dd", outside_real),
        // A glob's directory is checked before it is walked: matching
        // nothing there (or everything below `/`) is not the problem.
        ("dd/*.whl", "dd", outside_real),
        ("dd/**/*.whl", "dd", outside_real),
        ("dd/key", "dd/key: dd", outside_real),
        ("p/environ", "p/environ: p", "/proc/"),
        ("nul", "nul", "/dev/null"),
    ];
    for (arg, named, target) in cases {
        let o = bin(work.dir.path())
            .args(["sign", arg, "a.whl", "--dry-run"])
            .output()
            .unwrap();
        assert_eq!(code(&o), 2, "{arg}");
        let err = stderr(&o);
        assert!(
            err.starts_with(&format!("error: {named} is a symbolic link to {target}")),
            "{arg}: {err}"
        );
        assert!(
            err.contains("outside the working directory")
                && err.contains("fix: copy the file into the working directory"),
            "{arg}: {err}"
        );
    }
    let o = bin(work.dir.path())
        .args(["sign", "ff", "a.whl", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("ff (not a regular file)"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("Would sign 1 artifact(s)"),
        "{}",
        stdout(&o)
    );
}

/// A bundle path that is a dangling link does not stop the plan (with
/// --overwrite the rename replaces the link, and without it the link is no
/// bundle to read); one that is a directory is refused before anything is
/// signed. Regression: the first aborted the plan ("No such file"), the
/// second failed at the rename, after the log entry was made.
#[tokio::test(flavor = "multi_thread")]
async fn what_stands_at_a_bundles_path_is_judged_at_planning() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("b.whl", "b");
    std::os::unix::fs::symlink("missing", work.path("a.whl.sigstore.json")).unwrap();
    std::fs::create_dir(work.path("b.whl.sigstore.json")).unwrap();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["a.whl", "--overwrite"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    verify_bundle(
        &sandbox,
        &work.path("a.whl"),
        &work.path("a.whl.sigstore.json"),
    );
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["b.whl", "--overwrite"]);
    let before = sandbox.requests(Service::Fulcio).len();
    let o = run(cmd).await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(
        stderr(&o)
            .contains("b.whl.sigstore.json is a directory, where the bundle would be written"),
        "{}",
        stderr(&o)
    );
    assert_eq!(sandbox.requests(Service::Fulcio).len(), before);
}

/// A glob spelled outside the working tree is the user's choice, through
/// whatever links are there (`/tmp` on macOS is one): its directory being a
/// link is no refusal, only a link under the tree that leads out is.
/// Regression: `sign '/abs/latest/*.whl'` with `latest` a link was refused.
#[test]
fn a_glob_outside_the_tree_goes_through_links_there() {
    let work = Work::new();
    let outside = Work::new();
    outside.file("builds/1/a.whl", "a");
    std::os::unix::fs::symlink(outside.path("builds/1"), outside.path("latest")).unwrap();
    let pattern = format!("{}/*.whl", outside.path("latest").display());
    let o = bin(work.dir.path())
        .args(["sign", &pattern, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Would sign 1 artifact(s)"),
        "{}",
        stdout(&o)
    );
}

/// Bundles are never written through a link out of the working tree: not
/// into an `--output-dir` that is such a link, and not next to an artifact
/// reached through one (`dd/x.whl`, where `dd` leads out and `x.whl` leads
/// back in). Both are refused before any request; nothing appears outside.
#[tokio::test(flavor = "multi_thread")]
async fn bundles_are_not_written_through_a_link_out_of_the_working_tree() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let outside = Work::new();
    let wheel = work.file("build/x.whl", "wheel");
    std::os::unix::fs::symlink(outside.dir.path(), work.path("out")).unwrap();
    std::os::unix::fs::symlink(outside.dir.path(), work.path("dd")).unwrap();
    std::os::unix::fs::symlink(&wheel, outside.path("x.whl")).unwrap();
    let outside_real = std::fs::canonicalize(outside.dir.path()).unwrap();
    for args in [&["build/x.whl", "--output-dir", "out"][..], &["dd/x.whl"]] {
        let mut cmd = sign(&sandbox, work.dir.path());
        cmd.args(args);
        let o = run(cmd).await;
        assert_eq!(code(&o), 2, "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "is a symbolic link to {}, outside the working directory",
                outside_real.display()
            )),
            "{args:?}: {err}"
        );
    }
    assert!(sandbox.requests(Service::Fulcio).is_empty());
    assert!(
        outside
            .listing()
            .iter()
            .all(|f| !f.ends_with(".sigstore.json")),
        "{:?}",
        outside.listing()
    );
}

/// `verify --bundle` naming a FIFO fails that artifact saying it is not a
/// regular file, instead of blocking on the open until someone writes to it.
/// (A writer stands by, so a tool that did open it reads garbage instead of
/// hanging the test.)
#[tokio::test(flavor = "multi_thread")]
async fn verify_never_opens_a_fifo_as_a_bundle() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let fifo = Fifo::with_writer(&work.path("ff"), b"not a bundle");
    let o = run(verify(
        &sandbox,
        work.dir.path(),
        &["a.whl", "--bundle", "ff"],
    ))
    .await;
    fifo.release();
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(out.contains("ff is a FIFO, not a regular file"), "{out}");
}

/// An empty artifact is a valid artifact (the digest of nothing): it is signed
/// and verifies, like any other file.
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_file_is_signed_and_verifies() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let empty = work.file("empty.txt", "");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("empty.txt");
    assert_eq!(code(&run(cmd).await), 0);
    verify_bundle(&sandbox, &empty, &work.path("empty.txt.sigstore.json"));
    let o = run(verify(&sandbox, work.dir.path(), &["empty.txt"])).await;
    assert_eq!(code(&o), 0);
}

/// Names with spaces, quotes and non-ASCII characters are signed and verified
/// by name, and shown as they are.
#[tokio::test(flavor = "multi_thread")]
async fn names_with_spaces_and_unicode_round_trip() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let names = ["my pkg 1.0.whl", "paquet-é-1.0.tar.gz", "日本語 'q'.zip"];
    for n in names {
        work.file(&format!("dist/{n}"), n);
    }
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("dist");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    for n in names {
        assert!(stdout(&o).contains(n), "{}", stdout(&o));
        verify_bundle(
            &sandbox,
            &work.path(&format!("dist/{n}")),
            &work.path(&format!("dist/{n}.sigstore.json")),
        );
    }
    let args: Vec<String> = names.iter().map(|n| format!("dist/{n}")).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(verify(&sandbox, work.dir.path(), &args)).await;
    assert_eq!(code(&o), 0);
}

/// Broken bundles: not JSON, JSON of another media type, truncated, and larger
/// than any bundle (the read is capped). Each fails its own artifact with the
/// reason and the bundle named; the good artifact still verifies; no file changes.
#[tokio::test(flavor = "multi_thread")]
async fn broken_bundles_each_fail_only_their_artifact() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let names = ["good", "notjson", "media", "truncated", "huge"];
    for n in names {
        work.file(&format!("{n}.whl"), n);
    }
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg(".");
    assert_eq!(code(&run(cmd).await), 0);
    let bundle = |n: &str| work.path(&format!("{n}.whl.sigstore.json"));
    let original = std::fs::read(bundle("truncated")).unwrap();
    std::fs::write(bundle("notjson"), b"\x00\xffPK\x03\x04 not json").unwrap();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle("media")).unwrap()).unwrap();
    v["mediaType"] = "application/vnd.in-toto+json".into();
    std::fs::write(bundle("media"), serde_json::to_vec(&v).unwrap()).unwrap();
    std::fs::write(bundle("truncated"), &original[..original.len() / 2]).unwrap();
    let mut huge = original.clone();
    huge.resize(64 * 1024 * 1024, b' ');
    std::fs::write(bundle("huge"), &huge).unwrap();
    let before = work.listing();

    let o = run(verify(&sandbox, work.dir.path(), &["."])).await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    let line = |n: &str| {
        out.lines()
            .find(|l| l.contains(&format!("{n}.whl")))
            .unwrap_or_else(|| panic!("no line for {n}.whl in:\n{out}"))
            .to_owned()
    };
    assert!(line("good").starts_with("✅"), "{out}");
    for n in ["notjson", "media", "truncated"] {
        let l = line(n);
        assert!(l.starts_with("❌"), "{l}");
        assert!(l.contains(&format!("{n}.whl.sigstore.json")), "{l}");
        assert!(l.contains("is not a Sigstore bundle"), "{l}");
    }
    assert!(line("media").contains("media"), "the media type is named");
    let l = line("huge");
    assert!(l.contains("is larger than 4194304 bytes"), "{l}");
    assert_eq!(work.listing(), before);
}

/// An artifact that is a link to another artifact's bundle is refused
/// before anything is signed: that bundle is written over it after it was
/// hashed. Regression: both were reported signed, and the file the link
/// named was replaced, its own bundle then describing nothing there.
#[tokio::test(flavor = "multi_thread")]
async fn an_artifact_that_is_anothers_bundle_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    work.file("dist/a.whl.sigstore.json", "an earlier bundle");
    std::os::unix::fs::symlink("a.whl.sigstore.json", work.path("dist/b.whl")).unwrap();
    let before = work.listing();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["dist/a.whl", "dist/b.whl", "--overwrite"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("dist/b.whl is dist/a.whl's bundle (or a link to it)"),
        "{err}"
    );
    assert!(sandbox.requests(Service::Fulcio).is_empty());
    assert_eq!(work.listing(), before);
    assert_eq!(
        std::fs::read_to_string(work.path("dist/a.whl.sigstore.json")).unwrap(),
        "an earlier bundle"
    );
}

/// A bundle whose text the verifier quotes in its verdict (a DSSE payload
/// type of megabytes) fails with a line of bounded length, in the human
/// report and in the JSON one. Regression: the whole text was printed.
#[tokio::test(flavor = "multi_thread")]
async fn a_failure_quoting_a_huge_bundle_field_is_cut() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    assert_eq!(code(&run(cmd).await), 0);
    let path = work.path("a.whl.sigstore.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let signature = v["messageSignature"]["signature"].clone();
    v.as_object_mut().unwrap().remove("messageSignature");
    v["dsseEnvelope"] = serde_json::json!({
        "payload": "e30=",
        "payloadType": "x".repeat(3 << 20),
        "signatures": [{"sig": signature, "keyid": ""}],
    });
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    for json in [false, true] {
        let mut cmd = verify(&sandbox, work.dir.path(), &["a.whl"]);
        if json {
            cmd.arg("--json");
        }
        let o = run(cmd).await;
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        let shown = format!("{}{}", stdout(&o), stderr(&o));
        assert!(
            shown.contains("xxxx"),
            "{}",
            &shown[..shown.len().min(2000)]
        );
        assert!(shown.len() < 16_000, "{} bytes shown", shown.len());
    }
}

/// `verify --trusted-root` naming a FIFO (or a device) is refused as not a
/// regular file, exit 2, as every trust file is: a FIFO blocked the open,
/// and `/dev/zero` was read until memory ran out. (A writer stands by, so
/// a tool that did open it gets garbage instead of hanging the test.)
#[tokio::test(flavor = "multi_thread")]
async fn verify_reads_a_trusted_root_only_from_a_regular_file() {
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("a.whl.sigstore.json", "{}");
    let fifo = Fifo::with_writer(&work.path("root-fifo"), b"{}");
    let mut cmd = bin(work.dir.path());
    cmd.args([
        "verify",
        "--offline",
        "--trusted-root",
        "root-fifo",
        "a.whl",
    ]);
    let o = run(cmd).await;
    fifo.release();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
}

/// A FIFO with a writer standing by, so a tool that does open it reads
/// `bytes` instead of hanging the test.
struct Fifo {
    path: std::path::PathBuf,
    writer: std::thread::JoinHandle<()>,
}

impl Fifo {
    fn with_writer(path: &Path, bytes: &'static [u8]) -> Fifo {
        assert!(std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap()
            .success());
        let to = path.to_owned();
        let writer = std::thread::spawn(move || {
            let mut w = std::fs::OpenOptions::new().write(true).open(to).unwrap();
            let _ = std::io::Write::write_all(&mut w, bytes);
        });
        Fifo {
            path: path.to_owned(),
            writer,
        }
    }

    /// Let the writer go if nobody opened the FIFO: a non-blocking read end.
    fn release(self) {
        let _reader = std::os::unix::fs::OpenOptionsExt::custom_flags(
            std::fs::OpenOptions::new().read(true),
            libc::O_NONBLOCK,
        )
        .open(&self.path)
        .unwrap();
        let _ = self.writer.join();
    }
}

/// Names that are not UTF-8 follow the same skip rules: a bundle of such an
/// artifact is a bundle (never signed as an artifact, whose own bundle
/// would then be written over the artifact's), and a hidden one is hidden.
/// Regression: both were planned as artifacts.
#[cfg(target_os = "linux")]
#[test]
fn names_that_are_not_utf8_follow_the_skip_rules() {
    use std::os::unix::ffi::OsStrExt as _;
    let work = Work::new();
    work.file("dist/plain.whl", "p");
    for (name, content) in [
        (&b"dist/a\xff.whl"[..], "a"),
        (b"dist/a\xff.whl.sigstore.json", "{}"),
        (b"dist/.\xff", "hidden"),
    ] {
        std::fs::write(
            work.dir.path().join(std::ffi::OsStr::from_bytes(name)),
            content,
        )
        .unwrap();
    }
    let o = crate::util::bin(work.dir.path())
        .args(["--json", "sign", "dist", "--dry-run", "--overwrite"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["artifacts"].as_array().unwrap().len(), 2, "{v:#}");
    let reasons: Vec<&str> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{v:#}");
    assert!(reasons.iter().any(|r| r.contains("bundle")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("hidden")), "{reasons:?}");
}

/// An artifact whose name is not UTF-8 is signed, and the JSON report names
/// it with U+FFFD where its bytes are not UTF-8. Regression: after signing,
/// the report could not be written ("path contains invalid UTF-8").
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn an_artifact_named_in_no_utf8_is_reported() {
    use std::os::unix::ffi::OsStrExt as _;
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let name = std::ffi::OsStr::from_bytes(b"dist/a\xff.whl");
    std::fs::create_dir(work.path("dist")).unwrap();
    std::fs::write(work.dir.path().join(name), "a").unwrap();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["--json", "dist"]);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["artifacts"][0]["path"], "dist/a\u{fffd}.whl", "{v:#}");
    assert_eq!(v["artifacts"][0]["status"], "signed", "{v:#}");
}

/// A directory the bundles would go to that takes no file (not the user's,
/// read-only) is refused when planning, before any service hears of the
/// run: `--dry-run` says so too. Regression: it was found only when the
/// first bundle was written, after its log entry was made for nothing. Run
/// as another user when the suite runs as root, whom permissions do not
/// bind.
#[test]
fn a_bundle_directory_that_takes_no_file_is_refused_when_planning() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    let work = Work::new();
    let dir = work.path("ro");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.whl"), "a").unwrap();
    for p in [work.dir.path(), &dir] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(dir.join("a.whl"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let root = nix_is_root();
    if !root {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let sign = || {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("releasekit-sign"));
        cmd.current_dir(work.dir.path())
            .args(["sign", "ro/a.whl", "--dry-run", "--identity-token", "x.y.z"])
            .env("HOME", work.dir.path());
        if root {
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        cmd.output()
    };
    let o = match sign() {
        Ok(o) => o,
        // A machine that lets root become no other user (no CAP_SETUID).
        Err(e) if root && e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!("skipped: cannot run as another user here ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot write into ro"), "{err}");
    // Its bundle there already: nothing will be written, and it is only read.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("a.whl.sigstore.json"), "{}").unwrap();
    if !root {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let o = sign().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("cannot write into"), "{err}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}
