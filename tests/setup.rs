//! `setup/install.sh`, the setup action's installer, on this machine (its Linux
//! path): it installs exactly the bytes `SHA256SUMS` pins, from a file://
//! mirror as from the release, and refuses anything else without leaving a
//! binary behind.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest as _, Sha256};

use crate::util::{code, stderr, stdout, Work};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// GitHub's `runner.arch` for this machine, and the release asset it gets.
fn runner_arch() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "x86_64" => ("X64", "releasekit-sign-linux-x86_64"),
        "aarch64" => ("ARM64", "releasekit-sign-linux-aarch64"),
        other => panic!("no release binary for Linux {other}"),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A release directory served as file://, holding the real binary under its
/// asset name; [`Release::sums`] writes pins for it.
struct Release {
    work: Work,
    asset: &'static str,
    binary: Vec<u8>,
}

impl Release {
    fn new() -> Release {
        let work = Work::new();
        let (_, asset) = runner_arch();
        let binary = std::fs::read(assert_cmd::cargo::cargo_bin("releasekit-sign")).unwrap();
        work.file(&format!("release/{asset}"), &binary);
        Release {
            work,
            asset,
            binary,
        }
    }

    fn sums(&self, pin: &str) -> PathBuf {
        self.work.file(
            &format!("SHA256SUMS-{pin}"),
            format!(
                "{pin}  {}\n{}  releasekit-sign-windows-x86_64.exe\n",
                self.asset,
                "ab".repeat(32)
            ),
        )
    }

    fn dest(&self) -> PathBuf {
        self.work.path("installed")
    }

    fn install(&self, sums: &Path, extra: &[&str]) -> Output {
        let (arch, _) = runner_arch();
        let base = format!("file://{}", self.work.path("release").display());
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("setup/install.sh"))
            .args(["--version", env!("CARGO_PKG_VERSION")])
            .args(["--base-url", &base])
            .arg("--sums")
            .arg(sums)
            .arg("--dest")
            .arg(self.dest())
            .args(["--os", "Linux", "--arch", arch]);
        // Later flags win, so a test can replace any of the above.
        cmd.args(extra)
            .current_dir(self.work.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GITHUB_PATH", self.work.path("github_path"))
            .env("GITHUB_OUTPUT", self.work.path("github_output"));
        cmd.output().unwrap()
    }

    fn file_command(&self, name: &str) -> String {
        std::fs::read_to_string(self.work.path(name)).unwrap_or_default()
    }

    /// Nothing was installed, and no partial download is left.
    fn assert_nothing_installed(&self) {
        let left: Vec<_> = std::fs::read_dir(self.dest())
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left in the install dir: {left:?}");
        assert_eq!(self.file_command("github_path"), "");
        assert_eq!(self.file_command("github_output"), "");
    }
}

/// A runner no binary is built for is told the fix that works: the crate
/// built from the release's tag. Regression: it was sent to the container
/// action (whose image has no such platform either) or to a bare `cargo
/// install --locked`, which installs nothing.
#[test]
fn a_runner_without_a_binary_is_told_to_build_from_the_tag() {
    let r = Release::new();
    let sums = r.sums(&sha256_hex(&r.binary));
    let o = r.install(&sums, &["--arch", "ARM"]);
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{err}");
    assert!(err.contains("no prebuilt binary for Linux ARM"), "{err}");
    assert!(
        err.contains(&format!(
            "cargo install --locked --git https://github.com/releasekit/releasekit-sign --tag v{} releasekit-sign",
            env!("CARGO_PKG_VERSION")
        )),
        "{err}"
    );
    assert!(!err.contains("container action"), "{err}");
    r.assert_nothing_installed();
}

#[test]
fn installs_the_pinned_binary_and_puts_it_on_path() {
    let r = Release::new();
    let sums = r.sums(&sha256_hex(&r.binary));
    let o = r.install(&sums, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let installed = r.dest().join("releasekit-sign");
    assert_eq!(std::fs::read(&installed).unwrap(), r.binary);
    let mode = std::fs::metadata(&installed).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(
        r.file_command("github_path"),
        format!("{}\n", r.dest().display())
    );
    assert_eq!(
        r.file_command("github_output"),
        format!(
            "path={}\nversion={}\n",
            installed.display(),
            env!("CARGO_PKG_VERSION")
        )
    );
    assert!(
        stdout(&o).contains(&format!("SHA-256 {}, as pinned", sha256_hex(&r.binary))),
        "{}",
        stdout(&o)
    );
    // Installing again over it (a second setup step in the job) works too.
    let again = r.install(&sums, &[]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
}

/// An install directory whose path holds a backslash, as a Windows
/// runner's `RUNNER_TEMP` (`D:\a\_temp`) does in Git Bash, installs.
/// Regression: GNU sha256sum escaped the name and began its line with `\`,
/// so the digest never matched the pin, and every Windows install failed.
#[test]
fn an_install_dir_with_a_backslash_installs() {
    let r = Release::new();
    let sums = r.sums(&sha256_hex(&r.binary));
    let dest = r.work.path("D:\\a\\_temp/bin");
    let o = r.install(&sums, &["--dest", dest.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        std::fs::read(dest.join("releasekit-sign")).unwrap(),
        r.binary
    );
}

#[test]
fn a_download_that_is_not_the_pinned_binary_is_refused_and_removed() {
    let r = Release::new();
    // The pin is another file's digest: what the mirror serves is not the release.
    let sums = r.sums(&sha256_hex(b"the released binary"));
    let o = r.install(&sums, &[]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains(r.asset), "{err}");
    assert!(err.contains(&sha256_hex(&r.binary)), "{err}");
    assert!(err.contains(&sha256_hex(b"the released binary")), "{err}");
    assert!(err.contains("was not installed"), "{err}");
    r.assert_nothing_installed();
}

#[test]
fn a_mirror_serving_other_bytes_is_refused() {
    let r = Release::new();
    let sums = r.sums(&sha256_hex(&r.binary));
    let mut tampered = r.binary.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let mirror = r.work.file(&format!("mirror/{}", r.asset), tampered);
    let base = format!("file://{}", mirror.parent().unwrap().display());
    let o = r.install(&sums, &["--base-url", &base]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("this action pins"), "{}", stderr(&o));
    r.assert_nothing_installed();
}

#[test]
fn refusals_before_any_download_name_the_fix() {
    let r = Release::new();
    let good = r.sums(&sha256_hex(&r.binary));
    let placeholder = r.sums(&"0".repeat(64));
    let dest_with_a_break = format!("{}\n/tmp/evil", r.dest().display());
    let cases: [(&Path, &[&str], &str); 8] = [
        // A line break would add a PATH entry, an output or a workflow command.
        (&good, &["--dest", &dest_with_a_break], "holds a line break"),
        (
            &good,
            &["--base-url", "https://x.example/\n::warning::forged"],
            "holds a line break",
        ),
        // The committed pins of a non-release ref of the action.
        (&placeholder, &[], "holds placeholders"),
        (&repo().join("setup/SHA256SUMS"), &[], "holds placeholders"),
        (
            &good,
            &["--base-url", "http://mirror.example/releases"],
            "is not https://",
        ),
        (
            &good,
            &["--arch", "ARM"],
            "no prebuilt binary for Linux ARM",
        ),
        (
            &good,
            &["--os", "FreeBSD", "--arch", "X64"],
            "no prebuilt binary for FreeBSD X64",
        ),
        // The pins and the version the action names disagree.
        (&good, &["--version", "9.9.9"], "says `releasekit-sign"),
    ];
    for (sums, extra, expected) in cases {
        let o = r.install(sums, extra);
        assert_eq!(code(&o), 1, "{extra:?}");
        assert!(stderr(&o).contains(expected), "{extra:?}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("\n::") && !stdout(&o).contains("\n::"),
            "{extra:?}"
        );
        r.assert_nothing_installed();
    }
    // An asset the pins do not name.
    let other = r.work.file(
        "other-sums",
        format!("{}  releasekit-sign-macos-aarch64\n", "ab".repeat(32)),
    );
    let o = r.install(&other, &[]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains(&format!("pins no SHA-256 for {}", r.asset)),
        "{}",
        stderr(&o)
    );
}

/// A relative `install-dir` is relative to the step's working directory; a
/// later step may run in another, so the PATH entry and the `path` output
/// name the directory absolutely. Regression: `bin` was written as is, and
/// a step with another `working-directory` found no releasekit-sign.
#[test]
fn a_relative_install_dir_is_put_on_path_absolutely() {
    let r = Release::new();
    let sums = r.sums(&sha256_hex(&r.binary));
    let o = r.install(&sums, &["--dest", "tools/bin"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The installer runs in the work directory (bash resolves it physically).
    let dir = std::fs::canonicalize(r.work.path("tools/bin")).unwrap();
    let installed = dir.join("releasekit-sign");
    assert_eq!(std::fs::read(&installed).unwrap(), r.binary);
    assert_eq!(
        r.file_command("github_path"),
        format!("{}\n", dir.display())
    );
    assert_eq!(
        r.file_command("github_output"),
        format!(
            "path={}\nversion={}\n",
            installed.display(),
            env!("CARGO_PKG_VERSION")
        )
    );
}
