use crate::util::{bin, code, stderr, stdout, Work};

#[test]
fn help_texts() {
    let work = Work::new();
    let o = bin(work.dir.path()).arg("--help").output().unwrap();
    assert_eq!(code(&o), 0);
    insta::assert_snapshot!("help", stdout(&o));
    let o = bin(work.dir.path())
        .args(["sign", "--help"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    insta::assert_snapshot!("sign_help", stdout(&o));
}

#[test]
fn usage_errors_exit_2() {
    let work = Work::new();
    for args in [
        &["sign"][..],
        &["sign", "x", "--rekor-version", "3"],
        &["sign", "x", "--jobs", "0"],
        &["sign", "x", "--staging", "--trust-config", "t.json"],
        &["frobnicate"],
    ] {
        let o = bin(work.dir.path()).args(args).output().unwrap();
        assert_eq!(code(&o), 2, "{args:?}");
    }
    let o = bin(work.dir.path())
        .args(["sign", "x", "--fulcio-url", "fulcio.example"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--fulcio-url `fulcio.example` is not an http(s) URL"));
}

#[test]
fn a_missing_trust_config_names_the_file_and_exits_2() {
    let work = Work::new();
    work.file("a.whl", "a");
    let o = bin(work.dir.path())
        .args([
            "sign",
            "a.whl",
            "--dry-run",
            "--trust-config",
            "missing.json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    insta::assert_snapshot!(stderr(&o), @"error: cannot read trust config missing.json: No such file or directory (os error 2); fix: pass an existing ClientTrustConfig file to --trust-config");
    // Without --dry-run too, and before any token is looked for (there is none here).
    let again = bin(work.dir.path())
        .args(["sign", "a.whl", "--trust-config", "missing.json"])
        .output()
        .unwrap();
    assert_eq!(code(&again), 2);
    assert_eq!(stderr(&again), stderr(&o));
}
