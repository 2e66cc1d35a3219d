//! The repository's own release plumbing, checked where it can be here: one
//! MSRV, third-party actions pinned by commit, the action's image by digest,
//! the setup action's pins and the script a release writes them with.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use sha2::{Digest as _, Sha256};

use crate::util::{code, stderr, Work};

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
    // Every workspace member (as cargo lists them) inherits it; nothing else
    // names a Rust version.
    let o = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "cargo metadata: {}", stderr(&o));
    let meta: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let workspace: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let members: Vec<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| workspace.contains(p["id"].as_str().unwrap()))
        .map(|p| {
            Path::new(p["manifest_path"].as_str().unwrap())
                .strip_prefix(repo())
                .expect("a member's manifest is in the repository")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        members.iter().any(|m| m == "Cargo.toml")
            && members.iter().any(|m| m == "sandbox/Cargo.toml"),
        "{members:?}"
    );
    for member in &members {
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

/// Every text holding `uses:` lines a workflow runs or a user copies: the
/// workflows, the setup action, the examples and the README's YAML blocks
/// (named, text).
fn action_references() -> Vec<(String, String)> {
    let mut files = workflows();
    files.push(repo().join("setup/action.yml"));
    let mut examples: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 2, "{examples:?}");
    files.extend(examples);
    let mut texts: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            let name = f.strip_prefix(repo()).unwrap().display().to_string();
            (name, std::fs::read_to_string(f).unwrap())
        })
        .collect();
    let readme = read("README.md");
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("\n```").next().unwrap())
        .collect();
    assert!(
        blocks.len() >= 3,
        "README.md's yaml blocks: {}",
        blocks.len()
    );
    for (i, b) in blocks.into_iter().enumerate() {
        texts.push((format!("README.md, yaml block {}", i + 1), b.to_owned()));
    }
    texts
}

/// Third-party actions are pinned by commit SHA, with the tag it is in a
/// comment, wherever they run with this project's permissions or are copied
/// into a user's release job (`id-token: write` and `contents: write`): a
/// tag can be moved to other code. This project's own action in the
/// examples and the README is the exception: it is named by its release tag
/// (a full `vX.Y.Z`), as the commit that tag names is made by the release
/// after the examples are written, and a commit cannot hold its own SHA.
#[test]
fn third_party_actions_are_pinned_by_commit() {
    let uses = Regex::new(r"(?m)^\s*(?:-\s+)?uses:\s*(\S+)(.*)$").unwrap();
    let pinned =
        Regex::new(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$").unwrap();
    let comment = Regex::new(r"^\s+# v[0-9]+(\.[0-9]+)*$").unwrap();
    let own = Regex::new(r"^releasekit/releasekit-sign(/setup)?@v[0-9]+\.[0-9]+\.[0-9]+$").unwrap();
    let mut seen = 0;
    for (name, text) in action_references() {
        let workflow = name.starts_with(".github/") || name.starts_with("setup/");
        for c in uses.captures_iter(&text) {
            let (target, rest) = (&c[1], &c[2]);
            if target.starts_with("./") {
                continue;
            }
            if target.starts_with("releasekit/releasekit-sign") {
                assert!(
                    !workflow,
                    "{name}: `{target}`: the project's own action is `./`"
                );
                assert!(
                    own.is_match(target),
                    "{name}: `{target}` is not the project's action at a release tag vX.Y.Z"
                );
                continue;
            }
            seen += 1;
            assert!(
                pinned.is_match(target),
                "{name}: `{target}` is not pinned by a commit SHA"
            );
            assert!(
                comment.is_match(rest),
                "{name}: `{target}` says not which tag the SHA is (`# vX.Y.Z`)"
            );
        }
    }
    assert!(seen > 0);
}

/// An action pinned in several places is pinned to the same commit, with
/// the same tag, everywhere: the examples run what the project runs.
/// Every checkout in a workflow a user copies (the examples, the
/// README's) leaves no token in `.git/config`: the build steps after it
/// (a build backend, its dependencies) run with a job token that can write
/// the release, and the action takes its own. Regression: none said so.
#[test]
fn copied_workflows_keep_no_checkout_token() {
    let mut checkouts = 0;
    for (name, text) in action_references() {
        if !(name.starts_with("examples/") || name.starts_with("README.md")) {
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        let indent = |l: &str| l.len() - l.trim_start().len();
        for (i, line) in lines.iter().enumerate() {
            let uses = line.trim_start().trim_start_matches("- ").trim_start();
            if !uses.starts_with("uses: actions/checkout@") {
                continue;
            }
            checkouts += 1;
            // The step: from its `- ` line (this one, or the nearest above
            // indented less), through the lines indented deeper than it.
            let start = (0..=i)
                .rev()
                .find(|&j| {
                    lines[j].trim_start().starts_with("- ") && indent(lines[j]) <= indent(line)
                })
                .unwrap();
            let step = std::iter::once(lines[start]).chain(
                lines[start + 1..]
                    .iter()
                    .copied()
                    .take_while(|l| indent(l) > indent(lines[start])),
            );
            assert!(
                step.into_iter()
                    .any(|l| l.trim() == "persist-credentials: false"),
                "{name}: a checkout without persist-credentials: false"
            );
        }
    }
    assert!(checkouts >= 4, "{checkouts} checkouts found");
}

#[test]
fn an_action_is_pinned_to_one_commit_everywhere() {
    let uses = Regex::new(r"(?m)^\s*(?:-\s+)?uses:\s*([^@\s]+)@([0-9a-f]{40})\s+# (\S+)$").unwrap();
    let mut pins: std::collections::BTreeMap<String, BTreeSet<(String, String)>> =
        Default::default();
    for (_, text) in action_references() {
        for c in uses.captures_iter(&text) {
            pins.entry(c[1].to_owned())
                .or_default()
                .insert((c[2].to_owned(), c[3].to_owned()));
        }
    }
    assert!(pins.contains_key("actions/checkout"), "{pins:?}");
    for (action, at) in &pins {
        assert_eq!(at.len(), 1, "{action} is pinned to several commits: {at:?}");
    }
}

/// The action reads exactly the inputs action.yml declares: an `INPUT_*`
/// read without a declaration is an input no workflow can set without a
/// warning, and a declared one never read is silently ignored.
#[test]
fn the_action_reads_exactly_the_declared_inputs() {
    let action = read("action.yml");
    let inputs_block = action
        .split("\ninputs:\n")
        .nth(1)
        .and_then(|rest| rest.split("\noutputs:\n").next())
        .expect("action.yml has inputs: then outputs:");
    let declared: BTreeSet<String> = Regex::new(r"(?m)^  ([a-z][a-z0-9-]*):$")
        .unwrap()
        .captures_iter(inputs_block)
        .map(|c| c[1].to_owned())
        .collect();
    let source = read("src/inputs/action.rs");
    let fields = source
        .split("pub struct ActionInputs {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .expect("src/inputs/action.rs has struct ActionInputs");
    let read_inputs: BTreeSet<String> =
        Regex::new(r"(?m)^\s+pub ([a-z_0-9]+): Option<(?:String|Secret)>,$")
            .unwrap()
            .captures_iter(fields)
            .map(|c| c[1].replace('_', "-"))
            .collect();
    assert!(declared.len() > 10, "{declared:?}");
    assert_eq!(read_inputs, declared, "ActionInputs vs action.yml's inputs");
    // The list a misspelled input is told apart by.
    let listed: BTreeSet<String> = Regex::new(r#"(?m)^    "([a-z][a-z0-9-]*)",$"#)
        .unwrap()
        .captures_iter(
            source
                .split("const DECLARED: &[&str] = &[")
                .nth(1)
                .and_then(|rest| rest.split("];").next())
                .expect("src/inputs/action.rs has DECLARED"),
        )
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(listed, declared, "DECLARED vs action.yml's inputs");
}

#[test]
fn the_action_runs_its_image_by_digest() {
    let action = read("action.yml");
    let image = Regex::new(r"(?m)^  image: (.*)$").unwrap();
    let images: Vec<&str> = image
        .captures_iter(&action)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert_eq!(images.len(), 1);
    assert!(
        Regex::new(r"^docker://ghcr\.io/[a-z0-9-]+/releasekit-sign@sha256:[0-9a-f]{64}$")
            .unwrap()
            .is_match(images[0]),
        "action.yml runs `{}`, not an image by digest",
        images[0]
    );
}

/// The asset names of every list that must agree: the release workflow's
/// matrix, the pins, and the installer's runner mapping.
#[test]
fn the_setup_action_pins_every_release_binary() {
    let sums = read("setup/SHA256SUMS");
    let line = Regex::new(r"^[0-9a-f]{64}  (releasekit-sign-[a-z0-9_.-]+)$").unwrap();
    let pinned: BTreeSet<String> = sums
        .lines()
        .map(|l| {
            line.captures(l)
                .unwrap_or_else(|| panic!("SHA256SUMS line `{l}`"))[1]
                .to_owned()
        })
        .collect();
    assert_eq!(pinned.len(), 5, "{pinned:?}");
    let asset = Regex::new(r"(?m)^\s+asset: (releasekit-sign-\S+)$").unwrap();
    let release = read(".github/workflows/release.yml");
    let built: BTreeSet<String> = asset
        .captures_iter(&release)
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(built, pinned, "release.yml's matrix vs setup/SHA256SUMS");
    let mapped = Regex::new(r"ASSET=(releasekit-sign-[a-z0-9_.-]+)").unwrap();
    let install = read("setup/install.sh");
    let installable: BTreeSet<String> = mapped
        .captures_iter(&install)
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(installable, pinned, "setup/install.sh vs setup/SHA256SUMS");

    let setup = read("setup/action.yml");
    let version = Regex::new(r#"(?m)^        RELEASEKIT_VERSION: "([0-9]+\.[0-9]+\.[0-9]+)"$"#)
        .unwrap()
        .captures(&setup)
        .expect("setup/action.yml: RELEASEKIT_VERSION")[1]
        .to_owned();
    let url = Regex::new(r#"(?m)^        RELEASEKIT_RELEASE_URL: "(https://\S+)"$"#)
        .unwrap()
        .captures(&setup)
        .expect("setup/action.yml: RELEASEKIT_RELEASE_URL")[1]
        .to_owned();
    assert!(
        url.ends_with(&format!("/releases/download/v{version}")),
        "{url}"
    );
    assert!(setup.contains(r#"--sums "$GITHUB_ACTION_PATH/SHA256SUMS""#));
    assert!(setup.contains(r#"--version "$RELEASEKIT_VERSION""#));
}

#[test]
fn pin_release_writes_the_pins_and_nothing_else() {
    let work = Work::new();
    // The script edits the repository it lives in: give it a copy.
    for f in [
        "Cargo.toml",
        "action.yml",
        "setup/action.yml",
        "setup/SHA256SUMS",
        "ci/pin-release.sh",
        "examples/container.sh",
        "examples/gitlab-ci.yml",
        "examples/github-release.yml",
        "examples/github-matrix.yml",
        "README.md",
    ] {
        work.file(f, read(f));
    }
    let names: Vec<String> = read("setup/SHA256SUMS")
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap().to_owned())
        .collect();
    for n in &names {
        work.file(&format!("dist/{n}"), format!("binary {n}"));
    }
    let version = env!("CARGO_PKG_VERSION");
    let digest = format!("sha256:{}", "1f".repeat(32));
    let image = format!("ghcr.io/octo-org/releasekit-sign@{digest}");
    let url = format!("https://github.com/octo-org/releasekit-sign/releases/download/v{version}");
    let pin = |version: &str, image: &str, url: &str| {
        Command::new("bash")
            .arg(work.path("ci/pin-release.sh"))
            .args([version, image, "dist", url])
            .current_dir(work.dir.path())
            .output()
            .unwrap()
    };

    // Refusals first: nothing is written.
    for (v, i, u, expected) in [
        ("9.9.9", image.as_str(), url.as_str(), "is not Cargo.toml's"),
        (
            version,
            "ghcr.io/octo-org/releasekit-sign:v1",
            url.as_str(),
            "is not REGISTRY/NAME@sha256",
        ),
        (
            version,
            image.as_str(),
            "http://example.com/v0.1.0",
            "is not https://",
        ),
    ] {
        let o = pin(v, i, u);
        assert_eq!(code(&o), 1, "{v} {i} {u}");
        assert!(stderr(&o).contains(expected), "{}", stderr(&o));
    }
    // A README or example still naming another release's actions (left
    // from the last one) is refused: copied, it would run that release.
    // Regression: pinned as it was.
    let stale = read("examples/github-release.yml").replace(
        &format!("releasekit-sign@v{version}"),
        "releasekit-sign@v0.0.9",
    );
    assert_ne!(stale, read("examples/github-release.yml"));
    work.file("examples/github-release.yml", &stale);
    let o = pin(version, &image, &url);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains(&format!("name another release than v{version}"))
            && stderr(&o).contains("examples/github-release.yml:")
            && stderr(&o).contains("releasekit-sign@v0.0.9"),
        "{}",
        stderr(&o)
    );
    work.file(
        "examples/github-release.yml",
        read("examples/github-release.yml"),
    );
    for f in [
        "action.yml",
        "setup/action.yml",
        "setup/SHA256SUMS",
        "examples/container.sh",
        "examples/gitlab-ci.yml",
    ] {
        assert_eq!(
            std::fs::read_to_string(work.path(f)).unwrap(),
            read(f),
            "{f}"
        );
    }

    let o = pin(version, &image, &url);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let changed = |f: &str| -> Vec<(String, String)> {
        let after = std::fs::read_to_string(work.path(f)).unwrap();
        let before = read(f);
        assert_eq!(after.lines().count(), before.lines().count(), "{f}");
        before
            .lines()
            .zip(after.lines())
            .filter(|(b, a)| b != a)
            .map(|(b, a)| (b.to_owned(), a.to_owned()))
            .collect()
    };
    let action = changed("action.yml");
    assert_eq!(action.len(), 1, "{action:?}");
    assert_eq!(action[0].1, format!("  image: docker://{image}"));
    let setup = std::fs::read_to_string(work.path("setup/action.yml")).unwrap();
    assert!(setup.contains(&format!("        RELEASEKIT_VERSION: \"{version}\"\n")));
    assert!(setup.contains(&format!("        RELEASEKIT_RELEASE_URL: \"{url}\"\n")));
    assert!(changed("setup/action.yml").len() <= 2);
    let sums = std::fs::read_to_string(work.path("setup/SHA256SUMS")).unwrap();
    let expected: String = names
        .iter()
        .map(|n| {
            format!(
                "{}  {n}\n",
                hex::encode(Sha256::digest(format!("binary {n}")))
            )
        })
        .collect();
    assert_eq!(sums, expected);
    // The examples run the same image, by digest, and the same binary, by
    // its SHA-256.
    let container = changed("examples/container.sh");
    assert_eq!(
        container,
        [(container[0].0.clone(), format!("IMAGE={image}"))]
    );
    let linux = "releasekit-sign-linux-x86_64";
    let gitlab = changed("examples/gitlab-ci.yml");
    assert_eq!(
        gitlab.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>(),
        [
            format!("    RELEASEKIT_URL: \"{url}/{linux}\""),
            format!(
                "    RELEASEKIT_SHA256: \"{}\"",
                hex::encode(Sha256::digest(format!("binary {linux}")))
            ),
        ]
    );

    // A release lacking one of the binaries is refused.
    std::fs::remove_file(work.path(&format!("dist/{}", names[0]))).unwrap();
    let o = pin(version, &image, &url);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains(&format!("dist/{} is missing", names[0])));
}

/// A release is signed by a run started on the commit its tag points at:
/// an identity token, and so each certificate, names the commit its run
/// started on. Regression: release.yml signed (`uses: ./`) in its own run,
/// started on main, for a draft at the pins commit: the action refuses a
/// draft made for another commit, and publishing would have tagged a
/// commit the certificates do not name.
#[test]
fn a_release_is_signed_by_a_run_on_the_commit_it_tags() {
    let build = read(".github/workflows/release.yml");
    let sign = read(".github/workflows/release-sign.yml");
    assert!(!build.contains("uses: ./\n"), "release.yml must not sign");
    assert!(build.contains(r#"git push -q --force origin "HEAD:refs/heads/release/v$VERSION""#));
    assert!(build.contains(r#"gh workflow run release-sign.yml --ref "release/v$VERSION""#));
    let on_ref = sign
        .find(r#"if [ "$GITHUB_REF" != "refs/heads/release/v$VERSION" ]"#)
        .expect("release-sign.yml checks it runs on the pins branch");
    let draft = sign
        .find(r#"--draft --target "$GITHUB_SHA""#)
        .expect("the draft is at the signing run's own commit");
    let signs = sign
        .find("        uses: ./\n")
        .expect("release-sign.yml signs with its own action");
    assert!(on_ref < draft && draft < signs);
    // The runner pulls the action's image (private on a first release) at
    // that step: logged in before it.
    let login = sign
        .find("docker/login-action")
        .expect("release-sign.yml logs in to ghcr.io");
    assert!(login < signs);
    // The image the release names is signed before the release is out.
    // Regression: signed after publishing, so a failed cosign left a
    // published tag naming an unsigned image.
    let image_signed = sign
        .find("cosign sign --yes")
        .expect("release-sign.yml signs the image");
    assert!(draft < image_signed && image_signed < signs);
    let readme = read("README.md");
    assert!(readme.contains(
        "https://github.com/releasekit/releasekit-sign/.github/workflows/release-sign.yml@refs/heads/release/vX.Y.Z"
    ));
}

/// No crate that refuses to build for Windows is in a Windows release
/// binary's graph. Regression: sha2's `asm` feature pulled in sha2-asm,
/// whose `compile_error!` for Windows failed the release's Windows leg, and
/// with `fail-fast` every other binary, so no release could be made.
#[test]
fn the_release_targets_build_nothing_that_refuses_them() {
    let release = read(".github/workflows/release.yml");
    let target = Regex::new(r"(?m)^\s*- target: (\S+)\s*$").unwrap();
    let windows: Vec<&str> = target
        .captures_iter(&release)
        .map(|c| c.get(1).unwrap().as_str())
        .filter(|t| t.contains("windows"))
        .collect();
    assert!(!windows.is_empty(), "release.yml builds no Windows binary");
    for t in windows {
        let o = Command::new(env!("CARGO"))
            .args(["tree", "--locked", "--target", t])
            .args([
                "-e",
                "normal,build",
                "--prefix",
                "none",
                "-p",
                "releasekit-sign",
            ])
            .current_dir(repo())
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "cargo tree --target {t}: {}", stderr(&o));
        let tree = String::from_utf8_lossy(&o.stdout);
        assert!(
            !tree.lines().any(|l| l.starts_with("sha2-asm ")),
            "{t}'s graph holds sha2-asm, which refuses Windows targets"
        );
    }
}

/// The `run: |` script of the step named `name` in the workflow `rel`,
/// unindented, as the runner writes it to a file.
fn step_script(rel: &str, name: &str) -> String {
    let text = read(rel);
    let start = text
        .find(&format!("- name: {name}\n"))
        .unwrap_or_else(|| panic!("{rel} has no step `{name}`"));
    let mut lines = text[start..].lines().skip(1);
    let run_indent = loop {
        let l = lines
            .next()
            .unwrap_or_else(|| panic!("{rel}: step `{name}` has no `run: |`"));
        if l.trim_start() == "run: |" {
            break l.len() - l.trim_start().len();
        }
    };
    let mut script = String::new();
    for l in lines {
        if !l.trim().is_empty() && l.len() - l.trim_start().len() <= run_indent {
            break;
        }
        script.push_str(l.get(run_indent + 2..).unwrap_or(""));
        script.push('\n');
    }
    script
}

/// The matrix example's final job hashes what the release holds into a
/// SHA256SUMS it then signs and uploads. A re-run of that job (after a
/// partial failure) downloads the SHA256SUMS the first attempt uploaded:
/// the new one must be the same file, or the action refuses the differing
/// asset and the draft is never published. Regression: the loop hashed the
/// old SHA256SUMS into the new one.
#[test]
fn the_matrix_example_checksums_are_the_same_on_a_rerun() {
    let script = step_script(
        "examples/github-matrix.yml",
        "Checksums of everything the matrix uploaded",
    );
    assert!(script.contains("gh release download"), "{script}");
    let work = Work::new();
    // A stand-in `gh` serving the release's assets (the files in `release/`)
    // into `--dir`.
    let gh = work.file(
        "bin/gh",
        format!(
            "#!/bin/sh\nset -e\n[ \"$1 $2\" = 'release download' ]\nwhile [ $# -gt 0 ]; do\n  \
             if [ \"$1\" = --dir ]; then mkdir -p \"$2\" && cp {}/* \"$2\"/; exit 0; fi\n  \
             shift\ndone\nexit 1\n",
            work.path("release").display()
        ),
    );
    std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, body) in [
        ("app-linux.tar.gz", "linux"),
        ("app-linux.tar.gz.sigstore.json", "{}"),
        ("app-macos.zip", "macos"),
        ("app-macos.zip.sigstore.json", "{}"),
    ] {
        work.file(&format!("release/{name}"), body);
    }
    let run = |attempt: &str| -> String {
        let dir = work.path(attempt);
        std::fs::create_dir_all(&dir).unwrap();
        let path = format!(
            "{}:{}",
            work.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        // As the runner runs a `run:` step: bash -e -o pipefail.
        let o = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .current_dir(&dir)
            .env("PATH", path)
            .env("GH_TOKEN", "token")
            .env("TAG", "v1.0.0")
            .env("GITHUB_REPOSITORY", "octo-org/octo-repo")
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{attempt}: {}", stderr(&o));
        std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap()
    };
    let first = run("attempt-1");
    let expected: String = [("linux", "app-linux.tar.gz"), ("macos", "app-macos.zip")]
        .iter()
        .map(|(body, name)| format!("{}  {name}\n", hex::encode(Sha256::digest(body))))
        .collect();
    assert_eq!(first, expected);
    // The first attempt uploaded SHA256SUMS and its bundle, then failed.
    work.file("release/SHA256SUMS", &first);
    work.file("release/SHA256SUMS.sigstore.json", "{}");
    assert_eq!(run("attempt-2"), first, "a re-run's SHA256SUMS differs");
}

/// The docs name the workflow that cosign-signs the image, and the
/// consumer's `cosign verify` pins the identity its certificate gets: that
/// workflow at the ref it runs on. Regression: the README said release.yml
/// signed the image, which release-sign.yml does, and gave no command.
#[test]
fn the_image_signature_is_documented_with_its_signer() {
    let signers: Vec<String> = workflows()
        .iter()
        .filter(|w| std::fs::read_to_string(w).unwrap().contains("cosign sign "))
        .map(|w| w.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        signers,
        ["release-sign.yml"],
        "the workflows running cosign sign"
    );
    let signer = &signers[0];
    // It runs on the pins branch only: the ref its certificate names.
    let workflow = read(&format!(".github/workflows/{signer}"));
    assert!(workflow.contains(r#"if [ "$GITHUB_REF" != "refs/heads/release/v$VERSION" ]"#));
    let identity = format!(
        "https://github.com/releasekit/releasekit-sign/.github/workflows/{signer}@refs/heads/release/vX.Y.Z"
    );

    let readme = read("README.md");
    let verify = Regex::new(
        r"(?m)^cosign verify ghcr\.io/releasekit/releasekit-sign@sha256:\S+ \\\n\s+--certificate-identity (\S+) \\\n\s+--certificate-oidc-issuer https://token\.actions\.githubusercontent\.com$",
    )
    .unwrap();
    let pinned: Vec<&str> = verify
        .captures_iter(&readme)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert_eq!(pinned, [identity.as_str()], "README's cosign verify");
    // The pattern for any version is anchored (cosign does not anchor it)
    // and accepts exactly that workflow and ref of a version.
    let pattern = Regex::new(r"--certificate-identity-regexp\s+'([^']+)'")
        .unwrap()
        .captures_iter(&readme)
        .map(|c| c[1].to_owned())
        .find(|p| p.contains("releasekit-sign"))
        .expect("README gives the identity pattern for any release");
    assert!(
        pattern.starts_with('^') && pattern.ends_with('$'),
        "{pattern}"
    );
    let any = Regex::new(&pattern).unwrap();
    assert!(any.is_match(&identity.replace("vX.Y.Z", "v0.12.3")));
    for other in [
        identity.replace("vX.Y.Z", "main"),
        identity
            .replace(signer.as_str(), "release.yml")
            .replace("vX.Y.Z", "v0.12.3"),
        identity
            .replace("releasekit/releasekit-sign", "evil/releasekit-sign")
            .replace("vX.Y.Z", "v0.12.3"),
    ] {
        assert!(!any.is_match(&other), "{other}");
    }

    let named = Regex::new(r"cosign-signed by\s+`\.github/workflows/([^`]+)`").unwrap();
    for doc in ["README.md", "ARCHITECTURE.md"] {
        let text = read(doc).replace('\n', " ");
        for c in named.captures_iter(&text) {
            assert_eq!(&c[1], signer, "{doc} names the image's signer");
        }
    }
    assert!(named.is_match(&readme.replace('\n', " ")));
}

/// The Dockerfile (`FROM scratch`, COPY, ENV, ENTRYPOINT) is parsed by the
/// builder's own frontend: a `# syntax=` directive would make the release
/// pull a frontend image by a moving tag to read it.
#[test]
fn the_dockerfile_pulls_no_frontend_image() {
    let dockerfile = read("Dockerfile");
    assert!(
        !Regex::new(r"(?im)^#\s*syntax\s*=")
            .unwrap()
            .is_match(&dockerfile),
        "the Dockerfile names a frontend image (# syntax=)"
    );
    assert!(Regex::new(r"(?m)^FROM scratch$")
        .unwrap()
        .is_match(&dockerfile));
}

/// After the push, the release checks each platform's image holds what the
/// Dockerfile puts there: the tested binary, the build context's CA bundle,
/// and the Entrypoint and Env it sets (BuildKit adds only PATH to a scratch
/// image's config).
#[test]
fn the_pushed_image_is_checked_against_the_dockerfile() {
    let dockerfile = read("Dockerfile");
    let release = read(".github/workflows/release.yml");
    let start = release
        .find("- name: The pushed image holds")
        .expect("release.yml checks the pushed image");
    let step = &release[start..];
    let step = &step[..step[1..].find("\n      - ").map_or(step.len(), |i| i + 1)];

    // The CA bundle: where the Dockerfile puts it, against the context's copy.
    let ca = Regex::new(r"(?m)^COPY ca-certificates\.crt (\S+)$")
        .unwrap()
        .captures(&dockerfile)
        .expect("the Dockerfile copies the CA bundle")[1]
        .to_owned();
    assert!(
        step.contains(&format!(
            r#"docker cp "$CID:{ca}" "$RUNNER_TEMP/ca-from-image""#
        )),
        "{step}"
    );
    assert!(
        step.contains(
            r#"cmp "$RUNNER_TEMP/image/ca-certificates.crt" "$RUNNER_TEMP/ca-from-image""#
        ),
        "{step}"
    );
    assert!(step.contains(r#"cmp "dist/$ASSET" "$RUNNER_TEMP/from-image""#));
    // Its layers: one per COPY, so nothing the builder adds beside them
    // passes. Regression: only the two files and three config keys were
    // compared.
    let copies = dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY ") || l.starts_with("ADD "))
        .count();
    assert!(
        step.contains(&format!(r#"[ "$LAYERS" = {copies} ]"#)),
        "the step does not count the image's {copies} layers: {step}"
    );

    // The config it expects is the Dockerfile's.
    let want = Regex::new(r"(?m)^\s+WANT='(\{.*\})'$")
        .unwrap()
        .captures(step)
        .expect("the step holds the expected config (WANT='{...}')")[1]
        .to_owned();
    let want: serde_json::Value = serde_json::from_str(&want).unwrap();
    let entrypoint: serde_json::Value = serde_json::from_str(
        &Regex::new(r"(?m)^ENTRYPOINT (\[.*\])$")
            .unwrap()
            .captures(&dockerfile)
            .expect("the Dockerfile's ENTRYPOINT, in exec form")[1],
    )
    .unwrap();
    let mut env =
        vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned()];
    env.extend(
        Regex::new(r"(?m)^ENV (\S+=\S+)$")
            .unwrap()
            .captures_iter(&dockerfile)
            .map(|c| c[1].to_owned()),
    );
    assert!(env.len() > 1, "the Dockerfile sets no ENV");
    assert!(
        !Regex::new(r"(?m)^(CMD|USER|WORKDIR|ENV \S+ )")
            .unwrap()
            .is_match(&dockerfile),
        "the expected config knows no CMD, USER, WORKDIR or ENV in its two-word form"
    );
    assert_eq!(
        want,
        serde_json::json!({"Entrypoint": entrypoint, "Env": env, "Cmd": null}),
        "release.yml's expected config vs the Dockerfile"
    );
    assert!(
        step.contains(
            r#"docker buildx imagetools inspect "$NAME@$ONE" --format '{{json .Image}}'"#
        ),
        "{step}"
    );
    assert!(
        step.contains(
            r#"jq -e --argjson want "$WANT" '.config | {Entrypoint, Env, Cmd} == $want'"#
        ),
        "{step}"
    );
}
