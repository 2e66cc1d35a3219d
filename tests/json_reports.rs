//! The machine-read interfaces, snapshotted whole: `sign --json`,
//! `verify --json`, and the action's `$GITHUB_OUTPUT` and step summary.
//! A change to any of them shows here as a diff to review (a removed or
//! renamed field needs a new `schemaVersion`, see the README).

use releasekit_sandbox::Sandbox;

use crate::util::{bin, code, filters, run, sign, signed, stdout, Work};

/// The output's volatile parts (paths, ports, log indices, times, heredoc
/// delimiters) replaced, as insta filters.
pub(crate) fn volatile(work: &Work) -> Vec<(String, String)> {
    let mut f = filters(work);
    f.extend([
        (r#""log_index": \d+"#.into(), r#""log_index": "[N]""#.into()),
        (
            r#""integrated_time": "[^"]+""#.into(),
            r#""integrated_time": "[TIME]""#.into(),
        ),
        (
            r"ghadelimiter_[0-9a-f-]+".into(),
            "ghadelimiter_[ID]".into(),
        ),
        (r"log index \d+".into(), "log index [N]".into()),
        // The step summary's log-index column (artifacts are signed concurrently).
        (r"` \| \d+ \| ".into(), "` | [N] | ".into()),
    ]);
    f
}

fn pretty(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    serde_json::to_string_pretty(&v).unwrap()
}

#[macro_export]
macro_rules! snapshot {
    ($work:expr, $name:expr, $text:expr) => {{
        let f = $crate::json_reports::volatile($work);
        let f: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        insta::with_settings!({ filters => f }, {
            insta::assert_snapshot!($name, $text);
        });
    }};
}

/// A usage error clap finds (before any setting is read) is the one JSON
/// document on stdout too, with `--json`; help is not an error. Regression:
/// stdout was empty, and `jq` failed on it.
#[test]
fn usage_errors_are_json_with_json() {
    let work = Work::new();
    let o = bin(work.dir.path())
        .args(["--json", "sign", "--release-tag", "v1", "a.tgz"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    let doc: serde_json::Value =
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)));
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["schemaVersion"], 1);
    assert!(
        doc["error"].as_str().unwrap().contains("--release-tag"),
        "{doc}"
    );
    let help = bin(work.dir.path())
        .args(["--json", "--help"])
        .output()
        .unwrap();
    assert_eq!(code(&help), 0);
    assert!(serde_json::from_str::<serde_json::Value>(&stdout(&help)).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_json() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.whl", "a");
    work.file("b.whl", "b");
    let o = run({
        let mut c = sign(&sandbox, work.dir.path());
        c.args(["--json", "a.whl", "b.whl"]);
        c
    })
    .await;
    assert_eq!(code(&o), 0);
    snapshot!(&work, "sign_json", pretty(&stdout(&o)));
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_json() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    work.file("unsigned.txt", "no bundle");
    let o = run({
        let mut c = bin(work.dir.path());
        c.args(["verify", "--json", "--trusted-root"])
            .arg(sandbox.trusted_root_path())
            .args(["--cert-identity", &sandbox.identity()])
            .args(["--repo", &sandbox.default_claims().repository])
            .arg(".");
        c
    })
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    snapshot!(&work, "verify_json", pretty(&stdout(&o)));
}

/// A file name holding the runner's legacy `##[` command prefix (or a C1
/// control) reaches the `--json` text escaped, and a JSON parser reads back
/// the very name. Regression: the pretty JSON printed it raw, a line the
/// runner took for an `error` annotation.
#[tokio::test(flavor = "multi_thread")]
async fn json_text_carries_no_workflow_command() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    signed(&sandbox, &work, &["a.whl"]).await;
    let hostile = "a##[error]forged\u{9b}.tgz";
    work.file(hostile, "no bundle");
    let o = run({
        let mut c = bin(work.dir.path());
        c.args(["verify", "--json", "--trusted-root"])
            .arg(sandbox.trusted_root_path())
            .args(["--cert-identity", &sandbox.identity()])
            .arg(".");
        c
    })
    .await;
    let out = stdout(&o);
    assert!(!out.contains("##[") && !out.contains('\u{9b}'), "{out}");
    assert!(out.contains(r"a##\u005berror]forged\u009b.tgz"), "{out}");
    let back: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(back
        .to_string()
        .contains(&serde_json::to_string(hostile).unwrap()[1..20]));
}
