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
        out.contains("cannot read bundle adir: Is a directory"),
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
        stderr(&o).contains("cannot read trust config adir: Is a directory"),
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
