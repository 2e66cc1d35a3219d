//! Shared test plumbing: a work directory, the binary as a command wired to a
//! sandbox, and an independent check of written bundles.

use std::path::{Path, PathBuf};
use std::process::Output;

use releasekit_sandbox::Sandbox;
use sigstore_trust_root::TrustedRoot;
use sigstore_types::Bundle;
use sigstore_verify::{VerificationPolicy, Verifier};

/// A temporary directory with files in it.
pub struct Work {
    pub dir: tempfile::TempDir,
}

impl Work {
    pub fn new() -> Work {
        Work {
            dir: tempfile::Builder::new()
                .prefix("releasekit-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Create `rel` with `contents` (parents too); returns its path.
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Every file under the directory, relative, sorted.
    pub fn listing(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else {
                    out.push(p.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }
}

/// The binary, run in `cwd`, with a clean environment (no CI variables leak in).
pub fn bin(cwd: &Path) -> assert_cmd::Command {
    bin_process(cwd).into()
}

/// [`bin`] as a plain `std::process::Command`: for a test that sets a
/// limit before exec, or acts while the child runs.
pub fn bin_process(cwd: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("releasekit-sign"));
    cmd.current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// [`sign`] as a plain `std::process::Command` ([`bin_process`]).
pub fn sign_process(sandbox: &Sandbox, cwd: &Path) -> std::process::Command {
    sign_process_with(sandbox, cwd, sandbox.trust_config_path())
}

/// `releasekit-sign sign --trust-config <sandbox> --identity-token <token>`, then `args`.
pub fn sign(sandbox: &Sandbox, cwd: &Path) -> assert_cmd::Command {
    sign_with(sandbox, cwd, sandbox.trust_config_path())
}

/// [`sign`] `paths`, uploading to the sandbox's release v1.0.0 of
/// octo-org/octo-repo (the GitHub API and token from the sandbox).
pub fn sign_upload(sandbox: &Sandbox, cwd: &Path, paths: &[&str]) -> assert_cmd::Command {
    let mut cmd = sign(sandbox, cwd);
    cmd.args(paths)
        .args(["--upload", "--release-tag", "v1.0.0"])
        .args(["--repo", "octo-org/octo-repo"])
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .env("GITHUB_TOKEN", sandbox.github_token());
    cmd
}

/// [`sign`] against the sandbox's Rekor v2 + TSA instance.
pub fn sign_v2(sandbox: &Sandbox, cwd: &Path) -> assert_cmd::Command {
    sign_with(sandbox, cwd, sandbox.trust_config_v2_path())
}

/// [`sign`] with another ClientTrustConfig.
pub fn sign_with(sandbox: &Sandbox, cwd: &Path, trust_config: &Path) -> assert_cmd::Command {
    sign_process_with(sandbox, cwd, trust_config).into()
}

fn sign_process_with(sandbox: &Sandbox, cwd: &Path, trust_config: &Path) -> std::process::Command {
    let mut cmd = bin_process(cwd);
    cmd.arg("sign")
        .arg("--trust-config")
        .arg(trust_config)
        .arg("--identity-token")
        .arg(sandbox.token());
    cmd
}

/// Sign `names` (created with their own name as contents) in one run, in
/// order, so log indexes follow the names, with one certificate.
pub async fn signed(sandbox: &Sandbox, work: &Work, names: &[&str]) {
    for n in names {
        work.file(n, format!("contents of {n}"));
    }
    let mut cmd = sign(sandbox, work.dir.path());
    cmd.args(["--jobs", "1"]).args(names);
    assert_eq!(code(&run(cmd).await), 0);
}

/// Run a command off the async runtime, so the sandbox keeps serving meanwhile.
pub async fn run(mut cmd: assert_cmd::Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// `cmd` with SIGINT, SIGHUP and SIGTERM at their defaults in the child, whatever
/// this process inherited (a suite run under `nohup` ignores SIGHUP, and an
/// ignored signal stays ignored across exec, as the product keeps it).
pub fn default_signals(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGHUP, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        })
    }
}

/// Send `signal` (`INT`, `TERM`) to `child` and wait for its output.
pub async fn signal_and_wait(child: std::process::Child, signal: &str) -> Output {
    let kill = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code, with the output shown when the test fails.
pub fn code(o: &Output) -> i32 {
    let c = o.status.code().unwrap_or(-1);
    eprintln!(
        "exit {c}\n--- stdout\n{}--- stderr\n{}",
        stdout(o),
        stderr(o)
    );
    c
}

/// Verify `artifact`'s bundle independently of the product's own self-check:
/// a fresh verifier from the sandbox's trusted root, exact identity and issuer.
pub fn verify_bundle(sandbox: &Sandbox, artifact: &Path, bundle: &Path) -> serde_json::Value {
    let root = TrustedRoot::from_file(sandbox.trusted_root_path()).unwrap();
    let verifier = Verifier::new(&root).unwrap();
    let json = std::fs::read_to_string(bundle).unwrap();
    let parsed = Bundle::from_json(&json).unwrap();
    let policy = VerificationPolicy::new(sandbox.identity(), sandbox.issuer());
    let data = std::fs::read(artifact).unwrap();
    verifier
        .verify(data.as_slice(), &parsed, &policy)
        .unwrap_or_else(|e| panic!("{}: {e}", bundle.display()));
    serde_json::from_str(&json).unwrap()
}

/// Replace volatile parts of output (temp paths, ports) for snapshots.
pub fn filters(work: &Work) -> Vec<(String, String)> {
    vec![
        (
            regex::escape(&work.dir.path().display().to_string()),
            "[WORK]".into(),
        ),
        (r"127\.0\.0\.1:\d+".into(), "127.0.0.1:[PORT]".into()),
        (
            r"/tmp/releasekit-sandbox-[^/\s]+".into(),
            "[SANDBOX]".into(),
        ),
    ]
}

/// The workflow commands action mode prints itself; any other is injected.
const OUR_COMMANDS: &[&str] = &["add-mask", "group", "endgroup", "error"];

/// Every line of `text` (`what` names it in a failure) is one printable line:
/// no control character, no bidi override or Unicode line separator, and no
/// workflow command but ours, as the Actions runner reads them (`::` after
/// leading whitespace, or the legacy `##[` anywhere in a line).
pub fn assert_printable(what: &str, text: &str) {
    for line in text.split('\n') {
        let bad = line.chars().find(|&c| {
            c.is_control()
                || matches!(
                    c,
                    '\u{00ad}' | '\u{061c}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
                )
                || ('\u{200b}'..='\u{200f}').contains(&c)
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2060}'..='\u{2069}').contains(&c)
                || ('\u{e0000}'..='\u{e007f}').contains(&c)
        });
        assert!(bad.is_none(), "{what}: {bad:?} printed raw in {line:?}");
        assert!(
            !line.contains("##["),
            "{what}: a legacy workflow command in {line:?}"
        );
        if let Some(command) = line.trim_start().strip_prefix("::") {
            let name = command.split([':', ' ']).next().unwrap_or_default();
            assert!(
                OUR_COMMANDS.contains(&name),
                "{what}: an injected workflow command in {line:?}"
            );
        }
    }
}

/// `sigstore verify identity` (sigstore-python) accepts `artifact` for the
/// sandbox's identity and issuer, with `bundle` (else `<artifact>.sigstore.json`);
/// the test fails with its output otherwise.
pub fn sigstore_python_verifies(
    bin: &Path,
    sandbox: &Sandbox,
    trust_config: &Path,
    bundle: Option<&Path>,
    artifact: &Path,
) {
    let mut cmd = std::process::Command::new(bin);
    cmd.arg("--trust-config")
        .arg(trust_config)
        .args(["verify", "identity"]);
    if let Some(bundle) = bundle {
        cmd.arg("--bundle").arg(bundle);
    }
    let o = cmd
        .arg("--cert-identity")
        .arg(sandbox.identity())
        .arg("--cert-oidc-issuer")
        .arg(sandbox.issuer())
        .arg(artifact)
        .output()
        .unwrap();
    accepted(o, "sigstore-python");
}

/// `cosign verify-blob` (Rekor v1 bundles only) accepts `artifact` with
/// `bundle` under the sandbox's trusted root, identity and issuer.
pub fn cosign_verifies(cosign: &Path, sandbox: &Sandbox, bundle: &Path, artifact: &Path) {
    let o = std::process::Command::new(cosign)
        .args([
            "verify-blob",
            "--new-bundle-format",
            "--use-signed-timestamps",
            "--bundle",
        ])
        .arg(bundle)
        .arg("--trusted-root")
        .arg(sandbox.trusted_root_path())
        .arg("--certificate-identity")
        .arg(sandbox.identity())
        .arg("--certificate-oidc-issuer")
        .arg(sandbox.issuer())
        .arg(artifact)
        .output()
        .unwrap();
    accepted(o, "cosign");
}

/// A peer's run that must have accepted what it was given; else the test
/// fails with the peer's output.
pub fn accepted(o: Output, who: &str) {
    assert!(
        o.status.success(),
        "{who} rejected the bundle:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The SHA-256 (hex) and size of the file at `path`: what a test checked it as.
pub fn file_digest(path: &Path) -> (String, u64) {
    use sha2::Digest as _;
    let bytes = std::fs::read(path).unwrap();
    (
        hex::encode(sha2::Sha256::digest(&bytes)),
        bytes.len() as u64,
    )
}

/// [`file_digest`] as an upload takes it.
pub fn as_checked(d: &(String, u64)) -> releasekit_sign::github::Checked<'_> {
    releasekit_sign::github::Checked {
        sha256: &d.0,
        size: d.1,
    }
}

/// The names of `assets` (a release's, as the sandbox holds them), sorted.
pub fn asset_names(assets: &[releasekit_sandbox::github::AssetSnapshot]) -> Vec<String> {
    let mut v: Vec<_> = assets.iter().map(|a| a.name.clone()).collect();
    v.sort();
    v
}

/// A work tree holding each of `names`, its name as its content.
pub fn each_its_own_content(names: &[impl AsRef<str>]) -> Work {
    let work = Work::new();
    for n in names {
        work.file(n.as_ref(), n.as_ref());
    }
    work
}

/// What `sandbox`'s GitHub was asked after its first 429 (a rate limit
/// spent), each as `METHOD uri`; panics if none was answered so.
pub fn asked_after_the_limit(sandbox: &Sandbox) -> Vec<String> {
    let requests = sandbox.requests(releasekit_sandbox::Service::GitHub);
    let limited = requests
        .iter()
        .position(|r| r.status == 429)
        .expect("the limit was met");
    requests[limited + 1..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.uri))
        .collect()
}
