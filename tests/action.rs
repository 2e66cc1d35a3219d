//! Action mode: the binary run as GitHub runs the container action, with
//! `INPUT_*` and the job environment from the sandbox.

use std::path::Path;
use std::time::Duration;

use releasekit_sandbox::{Fault, Sandbox, Service};

use crate::util::{assert_printable, code, run, stdout, verify_bundle, Work};

const REPO: &str = "octo-org/octo-repo";

/// Each input of action.yml that has a default, as `INPUT_<NAME>`: the
/// runner passes every default on every run, so a default looks like a
/// value the workflow set. (An input without one is passed empty, which
/// reads as unset.)
fn runner_defaults() -> Vec<(String, String)> {
    let yml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    let inputs = yml
        .split("\ninputs:\n")
        .nth(1)
        .and_then(|rest| rest.split("\noutputs:").next())
        .unwrap();
    let mut defaults = Vec::new();
    let mut name = None;
    for line in inputs.lines() {
        if let Some(n) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            if !n.starts_with(' ') {
                name = Some(n.to_owned());
            }
        } else if let (Some(n), Some(d)) = (&name, line.trim().strip_prefix("default:")) {
            let d = d.trim().trim_matches('"');
            // `${{ github.token }}` is the runner's to expand: set below.
            if !d.starts_with("${{") {
                defaults.push((format!("INPUT_{}", n.to_uppercase()), d.to_owned()));
            }
        }
    }
    assert!(defaults.len() > 15, "{defaults:?}");
    defaults
}

/// `releasekit-sign action` with the sandbox's job environment, action.yml's
/// defaults, and `inputs`.
fn action(sandbox: &Sandbox, work: &Work, inputs: &[(&str, &str)]) -> assert_cmd::Command {
    action_process(sandbox, work, inputs).into()
}

/// [`action`] as a plain `std::process::Command`: for a test that acts
/// while the child runs.
fn action_process(
    sandbox: &Sandbox,
    work: &Work,
    inputs: &[(&str, &str)],
) -> std::process::Command {
    let mut cmd = crate::util::bin_process(work.dir.path());
    cmd.arg("action")
        .envs(runner_defaults())
        .envs(sandbox.env())
        .env("GITHUB_OUTPUT", work.path("gh/output"))
        .env("GITHUB_STEP_SUMMARY", work.path("gh/summary"))
        .env("INPUT_TRUST-CONFIG", sandbox.trust_config_path())
        .env("INPUT_GITHUB-TOKEN", sandbox.github_token())
        // As the runner passes inputs left empty.
        .env("INPUT_RELEASE-TAG", "")
        .env("INPUT_IDENTITY-TOKEN", "");
    for (k, v) in inputs {
        cmd.env(format!("INPUT_{}", k.to_uppercase()), v);
    }
    cmd
}

/// A dry run whose bundle exists says how the action takes `--overwrite`
/// (its input `overwrite`), as every other message of it does.
/// Regression: the line named only the flag, which the action has not.
#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_names_the_overwrite_input() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.bin", "a");
    work.file("a.bin.sigstore.json", "{}");
    work.file("gh/output", "");
    let inputs = [
        ("inputs", "a.bin"),
        ("dry-run", "true"),
        ("upload", "false"),
    ];
    let o = run(action(&sandbox, &work, &inputs)).await;
    let log = stdout(&o);
    assert_eq!(code(&o), 0, "{log}");
    assert!(
        log.contains("a.bin (1 bytes) -> a.bin.sigstore.json [bundle exists: would fail without --overwrite (action input `overwrite: true`)]"),
        "{log}"
    );
}

/// `action --json` is refused (exit 2, an annotation as for any bad input)
/// before anything is done: the action reports through its outputs.
/// Regression: taken, then ignored, so its stdout was JSON or not by chance.
#[tokio::test(flavor = "multi_thread")]
async fn action_refuses_json() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.bin", "a");
    let mut cmd = action(&sandbox, &work, &[("inputs", "a.bin"), ("dry-run", "true")]);
    cmd.arg("--json");
    let o = run(cmd).await;
    let log = stdout(&o);
    assert_eq!(code(&o), 2, "{log}");
    assert!(
        log.contains("::error::--json is not taken by `action`"),
        "{log}"
    );
    assert!(sandbox.requests(Service::Fulcio).is_empty());
}

/// `dry_run: true` (an input's name misspelled, which the runner only
/// warns of) stops the run before any request, naming the input, instead
/// of signing and uploading for good. Regression: the key was dropped, and
/// the run logged the signature and uploaded the bundle.
#[tokio::test(flavor = "multi_thread")]
async fn a_misspelled_input_stops_the_run() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.bin", "a");
    let mut cmd = action(&sandbox, &work, &[("inputs", "a.bin")]);
    cmd.env("INPUT_DRY_RUN", "true");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("input `dry_run` is not an input of this action, so it would be ignored; fix: write it `dry-run`"),
        "{}",
        stdout(&o)
    );
    assert!(!work.path("a.bin.sigstore.json").exists());
    assert!(sandbox.requests(Service::Fulcio).is_empty());
    assert!(sandbox.requests(Service::Oidc).is_empty());
}

/// Whether the character at `i` is backslash-escaped (an odd run of
/// backslashes before it).
fn escaped(s: &str, i: usize) -> bool {
    s[..i].chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Inputs spelled from `${{ github.workspace }}` reach the container as
/// `/github/workspace/...`; the outputs name the files relative to the
/// workspace, which later steps, on the runner itself, can open.
/// Regression: they were the container's absolute paths.
#[tokio::test(flavor = "multi_thread")]
async fn output_paths_are_relative_to_the_workspace() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/app-1.0.tar.gz", "app");
    let ws = work.dir.path().canonicalize().unwrap();
    let mut cmd = action(
        &sandbox,
        &work,
        &[
            ("inputs", &format!("{}/dist/*.tar.gz", ws.display())),
            ("upload", "false"),
            ("provenance", "true"),
            ("provenance-name", "build.intoto.jsonl"),
        ],
    );
    cmd.env("GITHUB_WORKSPACE", &ws);
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let outputs = read(&work.path("gh/output"));
    assert!(
        outputs.contains("bundles=[\"dist/app-1.0.tar.gz.sigstore.json\"]\n")
            && outputs.lines().any(|l| l.starts_with("provenance=")
                && l.ends_with("build.intoto.jsonl")
                && !l.contains(&*ws.to_string_lossy())),
        "{outputs}"
    );
}

/// A file in the runner's temp directory (`${{ runner.temp }}/dist/*`,
/// which the runner hands the container as `/github/runner_temp/dist/*`):
/// the outputs name its bundle as the runner's own steps see it,
/// `<work>/_temp/...`. Regression: they named the container's path, which
/// a later step could not open.
#[tokio::test(flavor = "multi_thread")]
async fn output_paths_in_the_runners_temp_directory_are_the_runners() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("ws/keep", "");
    work.file("rt/dist/a.tgz", "a");
    let rt = work.path("rt").canonicalize().unwrap();
    let mut cmd = action(
        &sandbox,
        &work,
        &[
            ("inputs", &format!("{}/dist/*", rt.display())),
            ("upload", "false"),
        ],
    );
    cmd.env("GITHUB_WORKSPACE", work.path("ws"))
        .env("RUNNER_TEMP", &rt)
        .env("RUNNER_WORKSPACE", "/home/runner/work/octo-repo");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let outputs = read(&work.path("gh/output"));
    assert!(
        outputs.contains("bundles=[\"/home/runner/work/_temp/dist/a.tgz.sigstore.json\"]\n"),
        "{outputs}"
    );
    assert!(work.path("rt/dist/a.tgz.sigstore.json").exists());
}

/// A second line of `inputs` written with `${{ github.workspace }}` reaches
/// the container unchanged (the runner rewrites a host path only at the
/// start of an input): it is refused as the runner's path, naming the fix.
/// Regression: "matched no file", with no word of the container.
#[tokio::test(flavor = "multi_thread")]
async fn a_runner_path_on_a_later_line_of_inputs_is_named_as_such() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/a.tgz", "a");
    let ws = work.dir.path().canonicalize().unwrap();
    let mut cmd = action(
        &sandbox,
        &work,
        &[
            (
                "inputs",
                &format!(
                    "{}/dist/a.tgz\n/home/runner/work/octo-repo/octo-repo/dist/b.tgz",
                    ws.display()
                ),
            ),
            ("upload", "false"),
        ],
    );
    cmd.env("GITHUB_WORKSPACE", &ws)
        .env("RUNNER_WORKSPACE", "/home/runner/work/octo-repo");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("::error::input `inputs`: `/home/runner/work/octo-repo/octo-repo/dist/b.tgz` is a path on the runner")
            && out.contains("fix: write it relative to the workspace"),
        "{out}"
    );
    assert!(!work.path("dist/a.tgz.sigstore.json").exists());
    // On the runner itself (not in a container), its paths are this
    // process's too: taken as they are.
    let mut cmd = action(
        &sandbox,
        &work,
        &[
            ("inputs", &format!("{}/dist/a.tgz", ws.display())),
            ("upload", "false"),
        ],
    );
    cmd.env("GITHUB_WORKSPACE", &ws)
        .env("RUNNER_WORKSPACE", ws.parent().unwrap().join("octo-repo"));
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

/// A service failing names where the action chooses it: its inputs, as
/// well as the command line's flags. Regression: the annotation said to
/// check --rekor-url and --rekor-version, flags the action does not take.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_service_names_the_actions_inputs() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/app.tgz", "app");
    sandbox
        .faults(Service::RekorV1)
        .fail_next(100, Fault::status(503));
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "dist/*"), ("upload", "false")],
    ))
    .await;
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    let annotation = out
        .lines()
        .find(|l| l.starts_with("::error file=dist/app.tgz"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        annotation.contains(
            "action inputs `trust-config`, `signing-config`, or the `tuf-url` repository's; and `rekor-version`"
        ),
        "{annotation}"
    );
}

/// A job cancelled while the run uploads (the runner sends SIGTERM): the
/// bundles signed and written are the outputs, for an `if: cancelled()`
/// step; the open log group is closed and an error annotation says why.
/// Regression: every output set to nothing, the group left open, no
/// annotation.
#[tokio::test(flavor = "multi_thread")]
async fn a_job_cancelled_while_uploading_reports_what_it_signed() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/app.tgz", "app");
    // GitHub slow: the run is still uploading when it is stopped.
    sandbox
        .faults(Service::GitHub)
        .set_latency(Duration::from_secs(4), Duration::ZERO);
    let mut cmd = action_process(&sandbox, &work, &[("inputs", "dist/*")]);
    let mut child = crate::util::default_signals(&mut cmd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Stopped once its log says it uploads (signing ended before that).
    let (uploading, told) = std::sync::mpsc::channel();
    let pipe = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut all = String::new();
        for line in std::io::BufReader::new(pipe).lines() {
            let line = line.unwrap();
            if line.starts_with("::group::Uploading") {
                let _ = uploading.send(());
            }
            all += &line;
            all.push('\n');
        }
        all
    });
    told.recv_timeout(Duration::from_secs(60))
        .expect("the run uploads");
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let out = reader.join().unwrap();
    assert_eq!(status.code(), Some(143), "{out}");
    assert!(
        out.contains("::error::the run was interrupted; bundles already written are complete"),
        "{out}"
    );
    assert_eq!(
        out.matches("::group::").count(),
        out.matches("::endgroup::").count(),
        "{out}"
    );
    let outputs = read(&work.path("gh/output"));
    assert!(
        outputs.contains("bundles=[\"dist/app.tgz.sigstore.json\"]\n"),
        "{outputs}"
    );
    assert!(outputs.contains("signed-count=1\n"), "{outputs}");
    assert_eq!(outputs.matches("signed-count=").count(), 1, "{outputs}");
    let summary = read(&work.path("gh/summary"));
    assert!(summary.contains("the run was interrupted"), "{summary}");
}

/// The whole job: masks first, bundles in the workspace, uploaded to the
/// release, outputs and summary written, nothing secret printed.
#[tokio::test(flavor = "multi_thread")]
async fn signs_uploads_and_reports() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/app-1.0.tar.gz", "app");
    work.file("dist/app-1.0.whl", "wheel");
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "dist/*.tar.gz\ndist/*.whl")],
    ))
    .await;
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    // The secrets the job holds are masked first, each once (a token
    // passed in two variables is masked once).
    let first: Vec<_> = out
        .lines()
        .take_while(|l| l.starts_with("::add-mask::"))
        .collect();
    assert_eq!(
        first,
        [
            format!("::add-mask::{}", sandbox.github_token()),
            format!("::add-mask::{}", sandbox.actions_request_token())
        ],
        "{out}"
    );
    for secret in [sandbox.github_token(), sandbox.actions_request_token()] {
        let leaks = out
            .lines()
            .filter(|l| l.contains(secret) && !l.starts_with("::add-mask::"))
            .count();
        assert_eq!(leaks, 0, "a secret was printed");
    }
    assert!(out.contains("::group::Signing") && out.contains("::endgroup::"));

    for name in ["app-1.0.tar.gz", "app-1.0.whl"] {
        let bundle = work.path(&format!("dist/{name}.sigstore.json"));
        verify_bundle(&sandbox, &work.path(&format!("dist/{name}")), &bundle);
        let asset = sandbox
            .github()
            .assets(REPO, "v1.0.0")
            .into_iter()
            .find(|a| a.name == format!("{name}.sigstore.json"))
            .unwrap();
        assert_eq!(asset.content.as_ref(), std::fs::read(&bundle).unwrap());
    }

    let outputs = read(&work.path("gh/output"));
    assert!(outputs.contains("signed-count=2\n"), "{outputs}");
    assert!(outputs.contains(&format!("identity={}\n", sandbox.identity())));
    assert!(outputs.contains(
        "bundles=[\"dist/app-1.0.tar.gz.sigstore.json\",\"dist/app-1.0.whl.sigstore.json\"]\n"
    ));
    assert!(
        outputs.contains("release-url=https://github.com/octo-org/octo-repo/releases/tag/v1.0.0\n")
    );
    let summary = read(&work.path("gh/summary"));
    assert!(summary.contains("| Artifact | SHA-256 | Log index | Asset |"));
    assert!(
        summary.contains("[app-1.0.whl.sigstore.json]("),
        "{summary}"
    );
    // Both files are interfaces other steps parse: whole, as snapshots.
    crate::snapshot!(&work, "action_github_output", outputs);
    crate::snapshot!(&work, "action_step_summary", summary);
}

/// The step summary of a run whose artifact asset, or provenance asset,
/// failed its check on the release says so in the artifact's row and on the
/// provenance's line, linking neither. Regression: only the bundle asset
/// was looked at for the row, and the provenance was linked whatever
/// became of it, so a failed step's summary showed a clean run.
#[tokio::test(flavor = "multi_thread")]
async fn the_summary_shows_a_failed_artifact_or_provenance_asset() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/app.tgz", "app");
    work.file("dist/lib.tgz", "lib");
    let gh = sandbox.github();
    gh.corrupt_next_upload("app.tgz");
    gh.corrupt_next_upload("octo-repo-v1.0.0.intoto.jsonl");
    let o = run(action(
        &sandbox,
        &work,
        &[
            ("inputs", "dist/*.tgz"),
            ("release-mode", "existing"),
            ("upload-artifacts", "true"),
            ("provenance", "true"),
        ],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let summary = read(&work.path("gh/summary"));
    let row = |name: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row of {name}: {summary}"))
            .to_owned()
    };
    let app = row("app.tgz");
    assert!(
        app.contains("❌") && app.contains("does not verify after upload"),
        "{app}"
    );
    assert!(!app.contains("]("), "{app}");
    assert!(
        row("lib.tgz").contains("[lib.tgz.sigstore.json]("),
        "{summary}"
    );
    let provenance = summary
        .lines()
        .find(|l| l.starts_with("Build provenance"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(
        provenance.contains("❌") && provenance.contains("does not verify after upload"),
        "{provenance}"
    );
    assert!(!provenance.contains("]("), "{provenance}");
}

/// A bad boolean stops the run before any request, naming input and fix,
/// on stderr and as an annotation (regression: stderr only).
#[tokio::test(flavor = "multi_thread")]
async fn bad_boolean_input_is_a_usage_error() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.tgz", "a");
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "a.tgz"), ("upload", "yes")],
    ))
    .await;
    assert_eq!(code(&o), 2);
    assert!(crate::util::stderr(&o).contains("input `upload` is `yes`: use true or false"));
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l == "::error::input `upload` is `yes`: use true or false"),
        "{}",
        stdout(&o)
    );
    assert!(!work.path("a.tgz.sigstore.json").exists());
}

/// The action's errors name its inputs where a fix names a setting: an
/// existing bundle (`overwrite`), a directory of directories (the action
/// does not descend: a glob), a trust config that is not there.
/// Regression: each named only a command-line flag.
#[tokio::test(flavor = "multi_thread")]
async fn errors_name_the_actions_inputs() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.tgz", "a");
    work.file("a.tgz.sigstore.json", "{}");
    work.file("dist/sub/x.tgz", "x");
    let error_line = |o: &std::process::Output| {
        stdout(o)
            .lines()
            .find(|l| l.starts_with("::error"))
            .unwrap_or_else(|| panic!("no annotation in:\n{}", stdout(o)))
            .to_owned()
    };
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "a.tgz"), ("upload", "false")],
    ))
    .await;
    assert_eq!(code(&o), 1);
    assert!(
        error_line(&o).contains("action input `overwrite: true`"),
        "{}",
        stdout(&o)
    );
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "dist"), ("upload", "false")],
    ))
    .await;
    assert_eq!(code(&o), 2);
    assert!(
        error_line(&o).contains("a glob such as `dist/**/*` in input `inputs`"),
        "{}",
        stdout(&o)
    );
    let mut cmd = action(&sandbox, &work, &[("inputs", "a.tgz"), ("upload", "false")]);
    cmd.env("INPUT_TRUST-CONFIG", "missing.json");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2);
    assert!(
        error_line(&o).contains("(action input `trust-config`)"),
        "{}",
        stdout(&o)
    );
    // Where the CLI's fix is a flag the action lacks, the action's is said.
    work.file("b.tgz", "b");
    std::fs::create_dir(work.path("b.tgz.sigstore.json")).unwrap();
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "b.tgz"), ("upload", "false")],
    ))
    .await;
    assert_eq!(code(&o), 2);
    assert!(
        error_line(&o).contains("(the action has none: move it away)"),
        "{}",
        stdout(&o)
    );
    work.file("gh/output", "");
    work.file("c/c.tgz", "c");
    work.file("c/sub/d.tgz", "d");
    let mut cmd = action(&sandbox, &work, &[("inputs", "c"), ("upload", "false")]);
    cmd.env("INPUT_DRY-RUN", "true");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("in the action, a glob such as `dist/**/*` in input `inputs`"),
        "{}",
        stdout(&o)
    );
    // Rekor v2 without a TSA: the action's fixes, not only `--tsa-url`.
    // Regression: "fix: pass --tsa-url", which the action has no input for.
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.trust_config_v2_path()).unwrap()).unwrap();
    config["signingConfig"]["tsaUrls"] = serde_json::json!([]);
    work.file("no-tsa.json", config.to_string());
    let mut cmd = action(&sandbox, &work, &[("inputs", "a.tgz"), ("upload", "false")]);
    cmd.env("INPUT_TRUST-CONFIG", "no-tsa.json")
        .env("INPUT_REKOR-VERSION", "2");
    let o = run(cmd).await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let line = error_line(&o);
    assert!(line.contains("action input `rekor-version: 1`"), "{line}");
    assert!(
        line.contains("on the command line, pass --tsa-url"),
        "{line}"
    );
    // No Fulcio, or no log though the root lists logs: the action's fixes
    // too. Regression: "fix: pass --fulcio-url" / "or pass --rekor-url".
    for (list, fixed) in [
        ("caUrls", "no usable entry in signingConfig.caUrls"),
        ("rekorTlogUrls", "or, on the command line, pass --rekor-url"),
    ] {
        let mut config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sandbox.trust_config_path()).unwrap()).unwrap();
        config["signingConfig"][list] = serde_json::json!([]);
        work.file("lacking.json", config.to_string());
        let mut cmd = action(&sandbox, &work, &[("inputs", "a.tgz"), ("upload", "false")]);
        cmd.env("INPUT_TRUST-CONFIG", "lacking.json");
        let o = run(cmd).await;
        assert_eq!(code(&o), 2, "{}", stdout(&o));
        let line = error_line(&o);
        assert!(line.contains(fixed), "{line}");
        assert!(!line.contains("fix: pass --"), "{line}");
    }
}

/// The Actions JWT request token (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`, the
/// bearer that buys identity tokens) is masked like the other secrets: its
/// `::add-mask::` line comes before anything else, in a run that signs and in
/// one that stops on a usage error before any request.
#[tokio::test(flavor = "multi_thread")]
async fn the_actions_request_token_is_masked_first() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("a.tgz", "a");
    let mask = format!("::add-mask::{}", sandbox.actions_request_token());
    for (inputs, exit) in [
        (&[("inputs", "a.tgz")][..], 0),
        (&[("inputs", "a.tgz"), ("upload", "yes")][..], 2),
    ] {
        let o = run(action(&sandbox, &work, inputs)).await;
        assert_eq!(code(&o), exit);
        let out = stdout(&o);
        let masks: Vec<&str> = out
            .lines()
            .take_while(|l| l.starts_with("::add-mask::"))
            .collect();
        assert!(
            masks.contains(&mask.as_str()),
            "the request token is not among the first masks:\n{out}"
        );
    }
}

/// A tag with no release: the run fails with an annotation saying how to fix it.
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_without_a_release_fails_with_an_annotation() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("a.tgz", "a");
    work.file("gh/output", "");
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "a.tgz"), ("release-tag", "v9.9.9")],
    ))
    .await;
    assert_eq!(code(&o), 2);
    assert!(
        stdout(&o).contains("::error::octo-org/octo-repo has no release for tag `v9.9.9`"),
        "{}",
        stdout(&o)
    );
    // The summary says it too. Regression: a table of signed artifacts,
    // with no word of the release.
    let summary = read(&work.path("gh/summary"));
    assert!(
        summary.contains("❌ octo-org/octo-repo has no release"),
        "{summary}"
    );
}

/// Runs the action with `inputs`, which must fail it before any artifact is
/// done (exit 2), and checks it still set every output, to nothing, and
/// wrote a summary saying why (`says`): a later `if: always()` step reads them.
async fn assert_fails_early_with_outputs(inputs: &[(&str, &str)], says: &str) {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("a.tgz", "a");
    let o = run(action(&sandbox, &work, inputs)).await;
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let outputs = read(&work.path("gh/output"));
    assert!(outputs.contains("bundles=[]\n"), "{outputs}");
    assert!(outputs.contains("signed-count=0\n"), "{outputs}");
    assert!(outputs.contains("attestation-url=\n"), "{outputs}");
    let summary = read(&work.path("gh/summary"));
    assert!(summary.contains("❌ "), "{summary}");
    assert!(summary.contains(says), "{summary}");
}

/// An input refused before the run starts (a release tag that is a whole
/// ref) sets the outputs and the summary as any failed run does.
/// Regression: only an annotation, with every output unset.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_input_still_sets_the_outputs() {
    assert_fails_early_with_outputs(
        &[("inputs", "a.tgz"), ("release-tag", "refs/tags/v1.0.0")],
        "not a tag name",
    )
    .await;
}

/// A run that fails before any artifact is done (nothing matches) still
/// sets every output, to nothing, and says why in the summary.
/// Regression: no output at all (`fromJSON` of an empty `bundles` failed),
/// and no summary.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_fails_early_still_sets_its_outputs() {
    assert_fails_early_with_outputs(
        &[("inputs", "nomatch/*.tgz"), ("upload", "false")],
        "matched no file",
    )
    .await;
}

/// Outputs that cannot be written fail the step, with an error annotation:
/// later steps read them. A summary that cannot be written is a warning.
/// Regression: both were a warning on stderr, and the step passed with
/// every output empty.
#[tokio::test(flavor = "multi_thread")]
async fn outputs_that_cannot_be_written_fail_the_step() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    // Directories, not files: neither can be appended to.
    std::fs::create_dir_all(work.path("gh/output")).unwrap();
    std::fs::create_dir_all(work.path("gh/summary")).unwrap();
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "dist/a.whl"), ("upload", "false")],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", crate::util::stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("::error::cannot write ") && out.contains("the step's outputs are not set"),
        "{out}"
    );
    assert!(
        out.contains("::warning::cannot write ") && out.contains("the step summary is not shown"),
        "{out}"
    );
    assert!(
        work.path("a.whl.sigstore.json").exists() || work.path("dist/a.whl.sigstore.json").exists()
    );
}

/// Outputs that cannot be written fail the step, and its summary says
/// why. Regression: the summary (written after them) showed a clean run,
/// every artifact ✅, on a step the job showed as failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_step_failed_by_its_outputs_says_so_in_its_summary() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/a.whl", "a");
    std::fs::create_dir_all(work.path("gh/output")).unwrap();
    work.file("gh/summary", "");
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "dist/a.whl"), ("upload", "false")],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", crate::util::stderr(&o));
    let summary = std::fs::read_to_string(work.path("gh/summary")).unwrap();
    assert!(
        summary.contains("❌") && summary.contains("outputs are not set"),
        "{summary}"
    );
}

/// Hostile file names (found by a glob) and a hostile Rekor error body, in
/// action mode: every line of the log is one printable line with no workflow
/// command but ours, annotations use the toolkit's escaping, and the step
/// summary shows the names as text (no markdown, no HTML, no broken table).
#[tokio::test(flavor = "multi_thread")]
async fn untrusted_text_cannot_inject_into_the_log_or_the_summary() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    let names = [
        "nl\n::warning::injected.tgz",
        "esc\x1b[2J ##[warning]legacy.tgz",
        "md`|<img src=x onerror=alert(1)>*_[x](javascript:y)$x$ :+1: @octocat #1.tgz",
        "www.evil.example-1.0.tgz",
        "tool\u{200b}.exe\u{feff}.tgz",
        "support@evil.example.tgz",
    ];
    for n in names {
        work.file(&format!("dist/{n}"), n);
    }
    sandbox.faults(Service::RekorV1).fail_next(
        names.len(),
        Fault::status_body(400, "no\n::warning::injected by rekor\x1b[2J"),
    );
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "dist/*"), ("upload", "false")],
    ))
    .await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert_printable("stdout", &out);
    assert_printable("stderr", &crate::util::stderr(&o));
    // @actions/core's escaping, and what it leaves shown escaped.
    for file in [
        r"dist/nl%0A%3A%3Awarning%3A%3Ainjected.tgz",
        r"dist/esc\u{1b}[2J ##\u{5b}warning]legacy.tgz",
    ] {
        assert!(
            out.contains(&format!(
                "::error file={file}::Rekor at {} did not log the signature: Rekor returned HTTP 400: failed to create entry: no%0A::warning::injected by rekor\\u{{1b}}[2J",
                sandbox.urls().rekor_v1
            )),
            "{out}"
        );
    }
    let summary = read(&work.path("gh/summary"));
    assert_printable("summary", &summary);
    // In the name's cell, each character markdown or HTML would act on is
    // backslash-escaped.
    let row = summary.lines().find(|l| l.starts_with("| md")).unwrap();
    let cell = &row[2..row.find(".tgz |").unwrap()];
    for (i, c) in cell.char_indices() {
        if "`|<>*_[]()$:@#&".contains(c) {
            assert!(escaped(cell, i), "{c} unescaped in {cell}");
        }
    }
    // No email link forms: GitHub links `a@b.c` whatever is escaped.
    assert!(
        summary.contains("| support\\@<!-- -->evil.example.tgz |"),
        "{summary}"
    );
    for row in summary.lines().filter(|l| l.starts_with("| ")).skip(1) {
        let unescaped = row
            .char_indices()
            .filter(|&(i, c)| c == '|' && !escaped(row, i))
            .count();
        assert_eq!(unescaped, 5, "a cell broke out of its column: {row}");
    }
    assert!(
        summary.contains(
            "md\\`\\|\\<img src\\=x onerror\\=alert\\(1\\)\\>\\*\\_\\[x\\]\\(javascript\\:y\\)"
        ),
        "{summary}"
    );
    // No `www.` link forms; an invisible character is shown.
    assert!(summary.contains("www\\.evil.example-1.0.tgz"), "{summary}");
    assert!(out.contains(r"tool\u{200b}.exe\u{feff}.tgz"), "{out}");
}

/// `provenance: true`: the provenance is named after the release, written in
/// the workspace, named by the `provenance` output and in the step summary;
/// a re-run in the same workspace makes it again instead of failing on it.
/// It is uploaded and stored in the attestations (`attestation-id`,
/// `attestation-url`).
#[tokio::test(flavor = "multi_thread")]
async fn provenance_is_written_and_named_in_the_outputs() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/app-1.0.tar.gz", "app");
    for _ in 0..2 {
        let o = run(action(
            &sandbox,
            &work,
            &[("inputs", "dist/*"), ("provenance", "true")],
        ))
        .await;
        assert_eq!(code(&o), 0);
        let out = stdout(&o);
        assert!(
            out.contains("✅ Provenance: octo-repo-v1.0.0.intoto.jsonl (1 subject(s)"),
            "{out}"
        );
    }
    let text = read(&work.path("octo-repo-v1.0.0.intoto.jsonl"));
    assert_eq!(text.lines().count(), 1);
    let outputs = read(&work.path("gh/output"));
    assert!(
        outputs.contains("provenance=octo-repo-v1.0.0.intoto.jsonl\n"),
        "{outputs}"
    );
    // Uploaded with the bundles, stored in the attestations by each run
    // (the re-run kept the equivalent asset and stored it again, as a
    // re-run of GitHub's attest action does), and linked.
    let stored = sandbox.github().attestations(REPO);
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[0].1, stored[1].1);
    for (id, _) in &stored {
        let url = format!("https://github.com/{REPO}/attestations/{id}");
        assert!(
            outputs.contains(&format!("attestation-id={id}\n"))
                && outputs.contains(&format!("attestation-url={url}\n")),
            "{outputs}"
        );
    }
    let url = format!("https://github.com/{REPO}/attestations/{}", stored[1].0);
    let summary = read(&work.path("gh/summary"));
    assert!(
        summary.contains(
            "Build provenance (SLSA v1): [octo-repo-v1.0.0.intoto.jsonl](http://127.0.0.1:"
        ) && summary.contains(&format!("Attestation: [{}]({url})", stored[1].0)),
        "{summary}"
    );
    // The re-run's line links the release's file, the first run's signing:
    // its own log index is said to be its local file's. Regression: the
    // link stood beside the re-run's log index, another entry's.
    assert_eq!(
        summary
            .matches("1 subject(s): the release keeps an earlier signing of the same statement; this run's, log index ")
            .count(),
        1,
        "{summary}"
    );
}

/// A branch's run with `publish: true` signs, uploads nothing, succeeds, and
/// says once (an annotation, in the JSON too) that `publish` waits for a
/// tag, and how to upload or quiet it. Regression: nothing was said, and the
/// release the workflow asked for was silently not made.
#[tokio::test(flavor = "multi_thread")]
async fn upload_inputs_on_a_branch_run_are_named() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/app-1.0.tar.gz", "app");
    let mut cmd = action(
        &sandbox,
        &work,
        &[
            ("inputs", "dist/*"),
            ("publish", "true"),
            ("release-mode", "draft"),
        ],
    );
    cmd.env("GITHUB_REF", "refs/heads/main");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let out = stdout(&o);
    // A branch's run with action.yml's defaults alone (release-mode
    // `existing` among them) says nothing of it. Regression: it warned of
    // `release-mode` on every such run.
    let mut plain = action(
        &sandbox,
        &work,
        &[("inputs", "dist/*"), ("overwrite", "true")],
    );
    plain.env("GITHUB_REF", "refs/heads/main");
    let quiet = run(plain).await;
    assert_eq!(code(&quiet), 0, "{}", stdout(&quiet));
    assert!(
        !stdout(&quiet).contains("nothing is uploaded"),
        "{}",
        stdout(&quiet)
    );
    let said: Vec<_> = out
        .lines()
        .filter(|l| l.contains("nothing is uploaded"))
        .collect();
    assert_eq!(said.len(), 1, "{out}");
    assert!(
        said[0].starts_with("::warning::input `publish` and input `release-mode` are set, but nothing is uploaded: this run is for `refs/heads/main`, not a tag"),
        "{out}"
    );
    assert!(work.path("dist/app-1.0.tar.gz.sigstore.json").exists());
    assert!(sandbox.github().assets(REPO, "v1.0.0").is_empty());
    let summary = read(&work.path("gh/summary"));
    assert!(summary.contains("nothing is uploaded"), "{summary}");
}

/// A job without `attestations: write`: the provenance is on the release,
/// the job succeeds, and the missing permission is exactly one `::warning::`
/// annotation naming it; the attestation outputs stay empty.
#[tokio::test(flavor = "multi_thread")]
async fn missing_attestations_permission_is_one_warning() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.github().deny_attestations(true);
    let work = Work::new();
    work.file("gh/output", "");
    work.file("dist/app-1.0.tar.gz", "app");
    let o = run(action(
        &sandbox,
        &work,
        &[("inputs", "dist/*"), ("provenance", "true")],
    ))
    .await;
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    let warnings: Vec<_> = out.lines().filter(|l| l.contains("attestations")).collect();
    assert_eq!(warnings.len(), 1, "{out}");
    // Every other line is printable and carries only our other commands.
    let rest: Vec<_> = out.lines().filter(|l| *l != warnings[0]).collect();
    assert_printable("stdout", &rest.join("\n"));
    assert!(
        warnings[0].starts_with("::warning::GitHub refused to store the build provenance")
            && warnings[0].contains("`permissions: attestations: write`"),
        "{out}"
    );
    assert!(sandbox
        .github()
        .assets(REPO, "v1.0.0")
        .iter()
        .any(|a| a.name == "octo-repo-v1.0.0.intoto.jsonl"));
    let outputs = read(&work.path("gh/output"));
    assert!(
        outputs.contains("attestation-id=\n") && outputs.contains("attestation-url=\n"),
        "{outputs}"
    );
}
