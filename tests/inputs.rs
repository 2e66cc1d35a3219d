use releasekit_sandbox::Sandbox;

use crate::util::{bin, code, run, sign, stderr, stdout, verify_bundle, Work};

fn tree() -> Work {
    let work = Work::new();
    work.file("dist/a.tar.gz", "a");
    work.file("dist/b.whl", "b");
    work.file("dist/.hidden", "h");
    work.file("dist/old.whl.sigstore.json", "{}");
    work.file("dist/sub/c.whl", "c");
    work
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_signs_its_regular_files_only() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = tree();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("dist");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0);
    assert_eq!(
        work.listing(),
        [
            "dist/.hidden",
            "dist/a.tar.gz",
            "dist/a.tar.gz.sigstore.json",
            "dist/b.whl",
            "dist/b.whl.sigstore.json",
            "dist/old.whl.sigstore.json",
            "dist/sub/c.whl"
        ]
    );
    for a in ["dist/a.tar.gz", "dist/b.whl"] {
        verify_bundle(
            &sandbox,
            &work.path(a),
            &work.path(&format!("{a}.sigstore.json")),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn recursive_descends_and_globs_are_expanded_by_the_tool() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = tree();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["dist", "--recursive"]);
    assert_eq!(code(&run(cmd).await), 0);
    assert!(work.path("dist/sub/c.whl.sigstore.json").exists());

    let work = tree();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("dist/**/*.whl");
    assert_eq!(code(&run(cmd).await), 0);
    assert!(work.path("dist/b.whl.sigstore.json").exists());
    assert!(work.path("dist/sub/c.whl.sigstore.json").exists());
    assert!(!work.path("dist/a.tar.gz.sigstore.json").exists());
}

#[test]
fn a_pattern_matching_nothing_is_an_error_naming_it() {
    let work = tree();
    let o = bin(work.dir.path())
        .args(["sign", "dist/*.rpm", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    insta::assert_snapshot!(stderr(&o), @"error: pattern `dist/*.rpm` matched no file to sign; fix: check the pattern against the files present");
}

#[test]
fn duplicates_are_signed_once_in_argument_order() {
    let work = tree();
    let o = bin(work.dir.path())
        .args([
            "--json",
            "sign",
            "dist/b.whl",
            "dist",
            "./dist/a.tar.gz",
            "dist/*.whl",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let paths: Vec<_> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["dist/b.whl", "dist/a.tar.gz"]);
}

#[test]
fn output_dir_name_collisions_are_refused() {
    let work = Work::new();
    work.file("x/app.whl", "x");
    work.file("y/app.whl", "y");
    std::fs::create_dir(work.path("out")).unwrap();
    let o = bin(work.dir.path())
        .args([
            "sign",
            "x/app.whl",
            "y/app.whl",
            "--output-dir",
            "out",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    insta::assert_snapshot!(stderr(&o), @"error: x/app.whl and y/app.whl would both write out/app.whl.sigstore.json in the output directory; fix: sign them in separate runs or drop --output-dir");
}

#[tokio::test(flavor = "multi_thread")]
async fn output_dir_receives_the_bundles() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    let a = work.file("dist/a.whl", "a");
    std::fs::create_dir(work.path("sigs")).unwrap();
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.args(["dist/a.whl", "--output-dir", "sigs"]);
    assert_eq!(code(&run(cmd).await), 0);
    assert_eq!(work.listing(), ["dist/a.whl", "sigs/a.whl.sigstore.json"]);
    verify_bundle(&sandbox, &a, &work.path("sigs/a.whl.sigstore.json"));
}

/// A `**` pattern does not walk into directories that are symbolic links:
/// two links to `.` made the walk double at every level (about 2^40 paths
/// before Linux's link limit), and one to `/` walked the whole file system
/// before the link out of the tree was refused. It ends at once, with the
/// tree's own files, as `--recursive` does. Regression: it never ended.
#[cfg(unix)]
#[test]
fn a_globstar_does_not_follow_linked_directories() {
    let work = tree();
    std::os::unix::fs::symlink(".", work.path("dist/l1")).unwrap();
    std::os::unix::fs::symlink(".", work.path("dist/l2")).unwrap();
    std::os::unix::fs::symlink("/", work.path("dist/root")).unwrap();
    let o = bin(work.dir.path())
        .args(["--json", "sign", "dist/**/*.whl", "--dry-run"])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let paths: Vec<_> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["dist/b.whl", "dist/sub/c.whl"]);
}

/// A file whose name is not UTF-8, where a pattern looks: matched as the
/// directory's other files are (`sign dist/` signs it), never a crash.
/// Regressions: the glob crate panicked on it; then the pattern dropped it
/// without a word, so a release could be "complete" without it.
#[cfg(target_os = "linux")]
#[test]
fn a_name_that_is_not_utf8_is_matched_by_a_pattern() {
    use std::os::unix::ffi::OsStrExt as _;
    let work = tree();
    let odd = std::ffi::OsStr::from_bytes(b"dist/odd\xff.whl");
    std::fs::write(work.dir.path().join(odd), "odd").unwrap();
    for pattern in ["dist/*", "dist/**/*.whl"] {
        let o = bin(work.dir.path())
            .args(["--json", "sign", pattern, "--dry-run"])
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{pattern}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let odd_planned = v["artifacts"].as_array().unwrap().iter().any(|a| {
            a["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("dist/odd"))
        });
        assert!(odd_planned, "{pattern}: {v}");
    }
}
