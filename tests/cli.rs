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

/// Each refused for its own reason: the files named exist, so a missing
/// one (also exit 2) cannot stand in for the refusal under test.
#[test]
fn usage_errors_exit_2() {
    let work = Work::new();
    work.file("x", "x");
    work.file("t.json", "{}");
    for (args, says) in [
        (&["sign"][..], "required arguments were not provided"),
        (
            &["sign", "x", "--rekor-version", "3"],
            "invalid value '3' for '--rekor-version",
        ),
        (
            &["sign", "x", "--jobs", "0"],
            "invalid value '0' for '--jobs",
        ),
        (
            &["sign", "x", "--staging", "--trust-config", "t.json"],
            "'--staging' cannot be used with '--trust-config",
        ),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
    ] {
        let o = bin(work.dir.path()).args(args).output().unwrap();
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    let o = bin(work.dir.path())
        .args(["sign", "x", "--fulcio-url", "fulcio.example"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--fulcio-url `fulcio.example` is not an http(s) URL"));
    // Spelled like one, but no URL the client could send to: refused as
    // usage, before any token is asked for. Regression: `https://rek or`
    // was taken, and every artifact failed after the certificate was
    // issued; `--fulcio-url https://` was said to be plain http.
    for (flag, url) in [
        ("--rekor-url", "https://rek or"),
        ("--tsa-url", "https://"),
        ("--fulcio-url", "https://fulcio example.com"),
        ("--fulcio-url", "https://h:99999"),
        ("--tuf-url", "https://[::1"),
    ] {
        let mut cmd = bin(work.dir.path());
        cmd.args(["sign", "x", "--dry-run", flag, url]);
        if flag == "--tuf-url" {
            cmd.args(["--tuf-root", "x"]);
        }
        let o = cmd.output().unwrap();
        assert_eq!(code(&o), 2, "{flag} {url}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("{flag} `{url}` is not an http(s) URL with a host")),
            "{flag} {url}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("plain http"), "{}", stderr(&o));
    }
}

/// What clap repeats from the command line is escaped: a file name the
/// shell expanded may hold a newline and a workflow command, or a terminal
/// escape. Regression: clap printed them as given, and the runner read
/// `::warning::` from stderr as its own.
#[test]
fn values_repeated_by_usage_errors_are_escaped() {
    let work = Work::new();
    work.file("x", "x");
    let hostile = "--x\n::warning::forged\r::add-mask::y\x1b[31m";
    for args in [
        &["sign", hostile][..],
        &["sign", "x", "--jobs", &hostile[3..]],
        &["sign", "x", "--rekor-version", hostile],
        &[hostile],
        &["sign", "x", "--json", hostile],
    ] {
        let o = bin(work.dir.path()).args(args).output().unwrap();
        assert_eq!(code(&o), 2, "{args:?}");
        for out in [stderr(&o), stdout(&o)] {
            assert!(
                !out.lines().any(|l| l.trim_start().starts_with("::")),
                "{args:?}: {out}"
            );
            assert!(!out.contains(['\r', '\x1b']), "{args:?}: {out:?}");
        }
        assert!(
            stderr(&o).contains("::warning::forged") || stdout(&o).contains("warning"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

/// `--no-color` holds for clap's own output too (usage errors, help), even
/// where the environment forces colour. Regression: clap styled them.
#[test]
fn no_color_holds_for_usage_errors() {
    let work = Work::new();
    for args in [
        &["--no-color", "sign", "--bogus"][..],
        &["sign", "--bogus", "--no-color"],
    ] {
        let o = bin(work.dir.path())
            .args(args)
            .env("CLICOLOR_FORCE", "1")
            .output()
            .unwrap();
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stderr(&o).contains("--bogus"), "{}", stderr(&o));
        assert!(!stderr(&o).contains('\x1b'), "{args:?}: {:?}", stderr(&o));
    }
    let o = bin(work.dir.path())
        .args(["sign", "--bogus"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stderr(&o).contains('\x1b'), "NO_COLOR: {:?}", stderr(&o));
    // Without either, the same environment colours them (the check can fail).
    let o = bin(work.dir.path())
        .args(["sign", "--bogus"])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(stderr(&o).contains('\x1b'), "{:?}", stderr(&o));
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
    insta::assert_snapshot!(stderr(&o), @"error: cannot read trust config missing.json: No such file or directory (os error 2); fix: pass an existing ClientTrustConfig file to --trust-config (action input `trust-config`)");
    // Without --dry-run too, and before any token is looked for (there is none here).
    let again = bin(work.dir.path())
        .args(["sign", "a.whl", "--trust-config", "missing.json"])
        .output()
        .unwrap();
    assert_eq!(code(&again), 2);
    assert_eq!(stderr(&again), stderr(&o));
}

/// The subcommands `--help` lists (clap's own `help` aside).
fn subcommands(work: &Work) -> Vec<String> {
    let o = bin(work.dir.path()).arg("--help").output().unwrap();
    let help = stdout(&o);
    let listed: Vec<String> = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect();
    assert!(listed.len() >= 5, "{help}");
    listed
}

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    let work = Work::new();
    let commands = subcommands(&work);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = bin(work.dir.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        for c in &commands {
            assert!(script.contains(c.as_str()), "{shell} completes no `{c}`");
        }
        // fish spells a long flag `-l cert-identity`.
        for flag in ["cert-identity", "trust-config", "no-color"] {
            assert!(script.contains(flag), "{shell} completes no `--{flag}`");
        }
    }
    // bash: the subcommand table is the part a user sees first.
    let o = bin(work.dir.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    for c in &commands {
        let case = format!("releasekit__sign,{c})");
        assert!(stdout(&o).contains(&case), "bash: no `{case}`");
    }
    let o = bin(work.dir.path())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("[possible values: bash, elvish, fish, powershell, zsh]"));
}

#[test]
fn man_pages_for_the_tool_and_each_command() {
    let work = Work::new();
    let o = bin(work.dir.path()).arg("man").output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let page = stdout(&o);
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        page.contains(&format!(
            ".TH releasekit-sign 1  \"releasekit-sign {version}\""
        )),
        "{page}"
    );
    for c in subcommands(&work) {
        // The main page lists the command, and the command has its own page.
        assert!(page.contains(&format!("releasekit\\-sign\\-{c}(1)")), "{c}");
        let o = bin(work.dir.path()).args(["man", &c]).output().unwrap();
        assert_eq!(code(&o), 0, "{c}: {}", stderr(&o));
        let sub = stdout(&o);
        assert!(
            sub.contains(&format!(
                ".TH releasekit-sign-{c} 1  \"releasekit-sign {version}\""
            )),
            "{c}: {sub}"
        );
        assert!(sub.contains(".SH SYNOPSIS"), "{c}");
    }
    let o = bin(work.dir.path())
        .args(["man", "verify"])
        .output()
        .unwrap();
    let verify = stdout(&o);
    // The help's groups are the page's sections.
    for section in [
        "ARTIFACTS",
        "RELEASE",
        "\"IDENTITY POLICY\"",
        "TRUST",
        "OUTPUT",
    ] {
        assert!(
            verify.contains(&format!(".SH {section}\n")),
            "no section {section}"
        );
    }
    // Aliases `--help` shows are on the page too (clap_mangen names a
    // flag's own name only).
    for alias in [
        "[alias: \\-\\-source\\-ref]",
        "[alias: \\-\\-source\\-digest]",
    ] {
        assert!(verify.contains(alias), "no {alias}: {verify}");
    }
}

#[test]
fn verify_help_reads_in_groups() {
    let work = Work::new();
    let o = bin(work.dir.path())
        .args(["verify", "--help"])
        .output()
        .unwrap();
    let help = stdout(&o);
    let headings: Vec<&str> = help
        .lines()
        .filter(|l| l.ends_with(':') && !l.starts_with(' '))
        .collect();
    assert_eq!(
        headings,
        [
            "Options:",
            "Artifacts:",
            "Release:",
            "Identity policy:",
            "Provenance:",
            "Trust:",
            "Output:"
        ],
        "{help}"
    );
    // Global output flags are their own group, not among the policy flags.
    let output = help.split("Output:\n").nth(1).unwrap();
    assert!(output.contains("--json") && output.contains("--no-color"));
    let policy = help.split("Identity policy:\n").nth(1).unwrap();
    let policy = policy.split("\n\n").next().unwrap();
    assert!(!policy.contains("--json") && policy.contains("--cert-identity"));
}

#[test]
fn json_reports_carry_a_schema_version() {
    let work = Work::new();
    work.file("a.whl", "a");
    let version = |o: &std::process::Output| {
        let text = stdout(o);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        (v["schemaVersion"].clone(), text)
    };
    // sign, first in the document.
    let o = bin(work.dir.path())
        .args(["--json", "sign", "a.whl", "--dry-run", "--staging"])
        .env("SIGSTORE_ID_TOKEN", "not-a-jwt")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (v, text) = version(&o);
    assert_eq!(v, 1);
    assert!(text.starts_with("{\n  \"schemaVersion\": 1,"), "{text}");
    // verify (an artifact without a bundle still gets a report).
    let o = bin(work.dir.path())
        .args(["--json", "verify", "a.whl", "--offline"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let (v, text) = version(&o);
    assert_eq!(v, 1);
    assert!(text.starts_with("{\n  \"schemaVersion\": 1,"), "{text}");
    // A run-level error is a JSON document too.
    let o = bin(work.dir.path())
        .args([
            "--json",
            "sign",
            "a.whl",
            "--dry-run",
            "--trust-config",
            "missing.json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert_eq!(version(&o).0, 1);
}

/// Output into a pipe its reader closed (`... | head -n1`) ends the run
/// as it would have ended, with its own exit code, not a panic (101).
/// Regression: "failed printing to stdout: Broken pipe".
#[test]
fn a_closed_stdout_is_no_panic() {
    let work = Work::new();
    work.file("a.whl", "a");
    let program = assert_cmd::cargo::cargo_bin("releasekit-sign");
    for args in [
        &["sign", "a.whl", "--dry-run"][..],
        &["sign", "a.whl", "--dry-run", "--json"][..],
        &[
            "verify",
            "a.whl",
            "--offline",
            "--cert-identity",
            "x",
            "--cert-oidc-issuer",
            "y",
        ][..],
    ] {
        let mut child = std::process::Command::new(&program)
            .args(args)
            .current_dir(work.dir.path())
            .env_clear()
            .env("HOME", work.path("home"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(o.status.code(), Some(101), "{args:?}: {err}");
    }
}
