//! CI's scripts as a GitHub-hosted runner runs them: as a user that is not
//! root, with passwordless sudo.

use std::path::Path;
use std::process::Command;

use crate::util::{code, stderr, Work};

fn read(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `ci/install.sh` as a user that is not root (a GitHub-hosted runner), with
/// nothing installed: every command that needs root goes through sudo. The
/// commands are stand-ins that log how they were called and change nothing.
#[test]
fn ci_installs_through_sudo_when_not_root() {
    let work = Work::new();
    let shims = work.path("bin");
    std::fs::create_dir_all(&shims).unwrap();
    // Real tools the scripts use, and nothing else: no cosign, podman, ...
    for tool in [
        "bash", "env", "awk", "mktemp", "mkdir", "rm", "grep", "dirname", "cat", "sed",
    ] {
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no {tool}"));
        std::os::unix::fs::symlink(real, shims.join(tool)).unwrap();
    }
    let log = work.path("log");
    let shim = |name: &str, body: &str| {
        let p = shims.join(name);
        std::fs::write(&p, format!("#!/bin/bash\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    };
    shim(
        "id",
        r#"[ "$1" = -u ] && echo 1000 || echo "uid=1000(runner)""#,
    );
    // sudo runs nothing: it records what would have run as root, and reads
    // its input as the command it stands for would (`printf | sudo tee`): a
    // writer into a pipe whose reader exited first dies of SIGPIPE, exit 141
    // under pipefail, depending on which side the scheduler runs first.
    shim(
        "sudo",
        &format!(r#"echo "root: $*" >> {}; cat > /dev/null"#, log.display()),
    );
    let user = format!(r#"echo "user: $(basename "$0") $*" >> {}"#, log.display());
    shim(
        "apt-get",
        &format!(
            "{user}\nfor a in \"$@\"; do [ \"$a\" = download ] && : > cosign_2.5.0_amd64.deb; done; exit 0"
        ),
    );
    shim("dpkg", &user);
    // It reads what it is given, as tee does: a writer into a pipe whose
    // reader exited first would die of SIGPIPE (exit 141 under pipefail).
    shim("tee", &format!("{user}\ncat > /dev/null"));
    shim("basename", r#"echo "${1##*/}""#);
    work.file(
        "debian.sources",
        "Types: deb\nURIs: https://deb.example/debian\nSuites: trixie\n",
    );
    // The scripts resolve ci/ from their own location: a copy of it.
    for f in ["ci/install.sh", "ci/sudo.sh", "ci/container-setup.sh"] {
        let p = work.file(&format!("repo/{f}"), read(f));
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let o = Command::new(shims.join("bash"))
        .arg(work.path("repo/ci/install.sh"))
        .env_clear()
        .env("PATH", &shims)
        .env("DEBIAN_SOURCES", work.path("debian.sources"))
        .env("CONTAINERS_CONF", work.path("containers.conf"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let log = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    // Unprivileged: the private apt directory's update and download.
    for l in lines.iter().filter(|l| l.starts_with("user: ")) {
        assert!(
            l.starts_with("user: apt-get -o Dir::Etc::sourcelist="),
            "run without sudo: {l}\n{log}"
        );
    }
    for expected in [
        "root: dpkg -i ",
        "root: apt-get update -qq",
        "root: env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck",
        "root: env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc",
        "root: tee ",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "no `{expected}`:\n{log}"
        );
    }
}

/// A container started through `$SUDO` is given each variable with its
/// value: a bare `-e NAME` copies the environment of podman, which `sudo`
/// resets (`env_reset`) on a GitHub-hosted runner, so the action in the
/// container had no token endpoint, repository or ref. Regression:
/// `ci/container-test.sh` passed the job's variables by name.
#[test]
fn containers_get_each_variable_with_its_value() {
    let bare = regex::Regex::new(r#"(?:^|\s)(?:-e|--env)\s+"?([A-Za-z_][A-Za-z0-9_-]*)"?(?:\s|$)"#)
        .unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "sh") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("podman") {
            continue;
        }
        checked += 1;
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            if let Some(c) = bare.captures(line) {
                panic!(
                    "{}: `-e {}` passes podman's own environment, which sudo resets: write -e \"{}=${}\"",
                    path.display(),
                    &c[1],
                    &c[1],
                    &c[1]
                );
            }
        }
    }
    assert!(checked > 0, "no script in ci/ starts a container");
}
