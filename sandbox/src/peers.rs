//! Independent Sigstore clients the tests compare against: sigstore-python and cosign.
//!
//! Owns finding them, and provisioning sigstore-python into `target/peers/` (a venv,
//! pinned version, rebuilt on demand) so that `cargo test` works on a fresh machine
//! with only python3. It never runs them: tests do.
//!
//! A missing peer is an error under `CI` (the interop proof must not silently
//! vanish); elsewhere [`Peer::Missing`] lets a test say it was skipped and why.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The sigstore-python version the interop tests are pinned to.
pub const SIGSTORE_PYTHON_VERSION: &str = "4.5.1";

/// A peer that is there, or why not.
#[derive(Debug)]
pub enum Peer {
    Found(PathBuf),
    Missing(String),
}

impl Peer {
    /// The path, or `None` after printing why the caller skips (outside CI), or a panic
    /// under CI.
    pub fn or_skip(self, test: &str) -> Option<PathBuf> {
        match self {
            Peer::Found(p) => Some(p),
            Peer::Missing(why) if std::env::var_os("CI").is_some() => {
                panic!("{test}: interop peer missing under CI: {why}")
            }
            Peer::Missing(why) => {
                eprintln!("SKIPPED {test}: {why}");
                None
            }
        }
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn runs(cmd: &Path, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `sigstore` (sigstore-python's CLI): `$RELEASEKIT_SIGSTORE_PYTHON`, else a venv under
/// `target/peers/`, created with `python3 -m venv` + `pip install sigstore==VERSION`.
pub fn sigstore_python() -> Peer {
    if let Some(p) = std::env::var_os("RELEASEKIT_SIGSTORE_PYTHON") {
        let p = PathBuf::from(p);
        return if runs(&p, "--version") {
            Peer::Found(p)
        } else {
            Peer::Missing(format!(
                "RELEASEKIT_SIGSTORE_PYTHON={} does not run",
                p.display()
            ))
        };
    }
    let root = target_dir().join("peers");
    let venv = root.join(format!("sigstore-python-{SIGSTORE_PYTHON_VERSION}"));
    let bin = venv.join("bin/sigstore");
    if runs(&bin, "--version") {
        return Peer::Found(bin);
    }
    if let Err(e) = std::fs::create_dir_all(&root) {
        return Peer::Missing(format!("cannot create {}: {e}", root.display()));
    }
    // Test binaries run in parallel processes: one installs, the others wait.
    let lock = match std::fs::File::create(root.join(".lock")) {
        Ok(f) => f,
        Err(e) => return Peer::Missing(format!("cannot create the peers lock: {e}")),
    };
    if let Err(e) = lock.lock() {
        return Peer::Missing(format!("cannot lock {}: {e}", root.display()));
    }
    if runs(&bin, "--version") {
        return Peer::Found(bin);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let pip = venv.join("bin/pip").display().to_string();
    let steps: [(String, Vec<String>); 2] = [
        (
            python,
            vec!["-m".into(), "venv".into(), venv.display().to_string()],
        ),
        (
            pip,
            vec![
                "install".into(),
                "--quiet".into(),
                "--disable-pip-version-check".into(),
                format!("sigstore=={SIGSTORE_PYTHON_VERSION}"),
            ],
        ),
    ];
    for (program, args) in steps {
        match Command::new(&program).args(&args).output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return Peer::Missing(format!(
                    "`{program} {}` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&o.stderr).trim()
                ))
            }
            Err(e) => return Peer::Missing(format!("cannot run {program}: {e}")),
        }
    }
    if runs(&bin, "--version") {
        Peer::Found(bin)
    } else {
        Peer::Missing(format!("{} was installed but does not run", bin.display()))
    }
}

/// `cosign`: `$RELEASEKIT_COSIGN`, else on `PATH` (`.ci/run` installs it).
pub fn cosign() -> Peer {
    let candidate = std::env::var_os("RELEASEKIT_COSIGN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cosign"));
    if runs(&candidate, "version") {
        Peer::Found(candidate)
    } else {
        Peer::Missing(format!(
            "{} not found (install it as .ci/run does, or set RELEASEKIT_COSIGN)",
            candidate.display()
        ))
    }
}
