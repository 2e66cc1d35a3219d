//! The repository's own build and release plumbing, checked where it can be
//! here: one MSRV.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

use crate::util::{code, stderr};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn workflows() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

/// `major.minor` of a Rust version, comparable.
fn rust_version(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap_or(0))
}

#[test]
fn the_msrv_is_declared_once_and_covers_every_locked_dependency() {
    let decl = Regex::new(r#"(?m)^rust-version\s*=\s*"([0-9.]+)"\s*$"#).unwrap();
    let root = read("Cargo.toml");
    let declared: Vec<&str> = decl
        .captures_iter(&root)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert_eq!(declared.len(), 1, "Cargo.toml: {declared:?}");
    let msrv = declared[0];
    let workspace_package = root.split("[workspace.package]").nth(1).unwrap_or("");
    let workspace_package = workspace_package.split("\n[").next().unwrap();
    assert!(
        decl.is_match(workspace_package),
        "the MSRV belongs in [workspace.package]"
    );
    // Every member inherits it; nothing else names a Rust version.
    for member in ["Cargo.toml", "sandbox/Cargo.toml"] {
        let text = read(member);
        assert!(
            text.contains("\nrust-version.workspace = true\n"),
            "{member} does not inherit the MSRV"
        );
        if member != "Cargo.toml" {
            assert!(!decl.is_match(&text), "{member} declares its own");
        }
    }
    assert!(
        !Regex::new(r"(?im)^FROM\s+rust:")
            .unwrap()
            .is_match(&read("Dockerfile")),
        "the Dockerfile names a Rust toolchain"
    );
    let literal = Regex::new(r"(toolchain( install)?:?\s+|rust:|\+)1\.[0-9]+").unwrap();
    for wf in workflows() {
        let text = std::fs::read_to_string(&wf).unwrap();
        assert!(
            !literal.is_match(&text),
            "{} names a toolchain",
            wf.display()
        );
    }
    // CI builds with the declared one.
    let ci = read(".github/workflows/ci.yml");
    assert!(ci.contains("MSRV=$(ci/msrv.sh)") && ci.contains("cargo +\"$MSRV\" check"));
    let o = Command::new("bash")
        .arg(repo().join("ci/msrv.sh"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), msrv);

    // Cargo refuses to build a dependency whose rust-version is newer than
    // the toolchain: the MSRV is at least the highest in the lock file, on
    // every platform a release is built for.
    let o = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "cargo metadata: {}", stderr(&o));
    let meta: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let resolved: BTreeSet<&str> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    let newest = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| resolved.contains(p["id"].as_str().unwrap()))
        .filter_map(|p| {
            let v = p["rust_version"].as_str()?;
            Some((rust_version(v), format!("{} {}", p["name"], p["version"])))
        })
        .max()
        .unwrap();
    assert!(
        rust_version(msrv) >= newest.0,
        "MSRV {msrv} is older than {}'s {:?}",
        newest.1,
        newest.0
    );
}
