//! The plan: which files a run signs and where each bundle goes, computed
//! before any token is read or request made.
//!
//! Owns argument expansion (PATH, DIR, GLOB), the skip rules (existing
//! `*.sigstore.json`, hidden files, directories), de-duplication, order, and
//! bundle naming and collisions. It reads the filesystem (stat, list, glob) but
//! never writes, never opens a file's contents and never goes on the network,
//! so `--dry-run` can print it as is.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bundle_io;

/// What to expand and where to put bundles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput<'a> {
    pub args: &'a [String],
    pub recursive: bool,
    pub output_dir: Option<&'a Path>,
    pub overwrite: bool,
}

/// Every artifact to sign, in a stable order, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub artifacts: Vec<PlannedArtifact>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedArtifact {
    pub path: PathBuf,
    pub size: u64,
    pub bundle: PathBuf,
    /// A bundle is already there and `--overwrite` was not given: this
    /// artifact fails without any work (the others still run).
    pub blocked_by_existing_bundle: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// A `*.sigstore.json` bundle: never signed itself.
    Bundle,
    /// A dotfile found in a directory or by a glob.
    Hidden,
    /// A directory matched by a glob, or a subdirectory without `--recursive`.
    Directory,
    /// Neither a regular file nor a directory (socket, device, broken link).
    NotRegular,
}

/// Why no plan could be made (a usage error: exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}: no such file or directory; fix: check the path, or quote a glob so the tool expands it")]
    NotFound(String),
    #[error("pattern `{pattern}` matched no file to sign; fix: check the pattern against the files present")]
    NoMatch { pattern: String },
    #[error("pattern `{pattern}` is not a valid glob ({reason}); fix: escape `[`, `]`, `*`, `?` with `[..]`, e.g. `[*]`")]
    BadPattern { pattern: String, reason: String },
    #[error("directory {} has no file to sign; fix: pass the directory holding the artifacts, or --recursive", .0.display())]
    EmptyDirectory(PathBuf),
    #[error("cannot read {}: {source}; fix: check its permissions", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} and {} would both write {} in the output directory; fix: sign them in separate runs or drop --output-dir", first.display(), second.display(), bundle.display())]
    BundleCollision {
        first: PathBuf,
        second: PathBuf,
        bundle: PathBuf,
    },
    #[error("--output-dir {} is not a directory; fix: create it first", .0.display())]
    OutputDir(PathBuf),
    #[error("{} is a symbolic link to {}, outside the working directory {}; links are followed only inside it; fix: name the target itself, or run from a directory that contains it", link.display(), target.display(), root.display())]
    LinkOutsideWorkTree {
        link: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },
}

/// Symbolic links are followed only inside the working tree: a link (named
/// outright, or found in a directory or by a glob) is signed only if its fully
/// resolved target lies under the canonical current directory. A release
/// checkout is attacker-influenced (a `dist/x.whl -> ~/.ssh/id_ed25519` link
/// would put a secret's digest in a public log); plain paths outside the
/// directory (`sign /abs/dist/*`) are the user's own choice and allowed.
struct WorkTree(Option<PathBuf>);

impl WorkTree {
    fn current() -> WorkTree {
        WorkTree(std::env::current_dir().and_then(std::fs::canonicalize).ok())
    }

    fn check(&self, path: &Path) -> Result<(), PlanError> {
        let is_link = path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            return Ok(());
        }
        let target = std::fs::canonicalize(path).map_err(|source| PlanError::Io {
            path: path.to_owned(),
            source,
        })?;
        match &self.0 {
            Some(root) if target.starts_with(root) => Ok(()),
            root => Err(PlanError::LinkOutsideWorkTree {
                link: path.to_owned(),
                target,
                root: root.clone().unwrap_or_else(|| PathBuf::from(".")),
            }),
        }
    }
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn has_glob_meta(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

/// A file in the running list, with how it was found.
struct Found {
    path: PathBuf,
    size: u64,
}

/// Expand the arguments and name the bundles.
pub fn build(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    if let Some(dir) = input.output_dir {
        if !dir.is_dir() {
            return Err(PlanError::OutputDir(dir.to_owned()));
        }
    }
    let mut found: Vec<Found> = Vec::new();
    let mut skipped = Vec::new();
    let tree = WorkTree::current();
    for arg in input.args {
        expand(arg, input.recursive, &tree, &mut found, &mut skipped)?;
    }

    // The same file named twice (`dist/` and `dist/a.whl`, or `./a` and `a`) is signed once.
    let mut seen = HashSet::new();
    found
        .retain(|f| seen.insert(std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone())));

    let mut by_bundle: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut artifacts = Vec::with_capacity(found.len());
    for f in found {
        let bundle = bundle_io::bundle_path(&f.path, input.output_dir);
        if let Some(first) = by_bundle.insert(bundle.clone(), f.path.clone()) {
            return Err(PlanError::BundleCollision {
                first,
                second: f.path,
                bundle,
            });
        }
        let blocked = !input.overwrite && bundle.symlink_metadata().is_ok();
        artifacts.push(PlannedArtifact {
            path: f.path,
            size: f.size,
            bundle,
            blocked_by_existing_bundle: blocked,
        });
    }
    Ok(Plan { artifacts, skipped })
}

fn expand(
    arg: &str,
    recursive: bool,
    tree: &WorkTree,
    found: &mut Vec<Found>,
    skipped: &mut Vec<Skipped>,
) -> Result<(), PlanError> {
    let path = Path::new(arg);
    let meta = std::fs::metadata(path);
    if meta.is_ok() {
        tree.check(path)?;
    }
    match meta {
        Ok(meta) if meta.is_file() => {
            // Named outright: signed even if hidden, but a bundle is never signed.
            if bundle_io::is_bundle(path) {
                skipped.push(Skipped {
                    path: path.to_owned(),
                    reason: SkipReason::Bundle,
                });
            } else {
                found.push(Found {
                    path: path.to_owned(),
                    size: meta.len(),
                });
            }
            Ok(())
        }
        Ok(meta) if meta.is_dir() => {
            let before = found.len();
            walk_dir(path, recursive, tree, found, skipped)?;
            if found.len() == before {
                return Err(PlanError::EmptyDirectory(path.to_owned()));
            }
            Ok(())
        }
        Ok(_) => {
            skipped.push(Skipped {
                path: path.to_owned(),
                reason: SkipReason::NotRegular,
            });
            Ok(())
        }
        Err(_) if has_glob_meta(arg) => expand_glob(arg, tree, found, skipped),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(PlanError::NotFound(arg.to_owned()))
        }
        Err(source) => Err(PlanError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn walk_dir(
    dir: &Path,
    recursive: bool,
    tree: &WorkTree,
    found: &mut Vec<Found>,
    skipped: &mut Vec<Skipped>,
) -> Result<(), PlanError> {
    let io = |source| PlanError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    let mut subdirs = Vec::new();
    for path in entries {
        classify(path, tree, found, skipped, &mut subdirs)?;
    }
    for sub in subdirs {
        if recursive {
            walk_dir(&sub, recursive, tree, found, skipped)?;
        } else {
            skipped.push(Skipped {
                path: sub,
                reason: SkipReason::Directory,
            });
        }
    }
    Ok(())
}

/// Sort one directory entry or glob match into found / skipped / subdirectory.
fn classify(
    path: PathBuf,
    tree: &WorkTree,
    found: &mut Vec<Found>,
    skipped: &mut Vec<Skipped>,
    subdirs: &mut Vec<PathBuf>,
) -> Result<(), PlanError> {
    if is_hidden(&path) {
        skipped.push(Skipped {
            path,
            reason: SkipReason::Hidden,
        });
        return Ok(());
    }
    // Symlinked directories are not descended into (no cycles); symlinked files are signed.
    let link = path.symlink_metadata().map_err(|source| PlanError::Io {
        path: path.clone(),
        source,
    })?;
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => {
            if bundle_io::is_bundle(&path) {
                skipped.push(Skipped {
                    path,
                    reason: SkipReason::Bundle,
                });
            } else {
                tree.check(&path)?;
                found.push(Found {
                    path,
                    size: m.len(),
                });
            }
        }
        Ok(m) if m.is_dir() && !link.file_type().is_symlink() => subdirs.push(path),
        Ok(m) if m.is_dir() => skipped.push(Skipped {
            path,
            reason: SkipReason::Directory,
        }),
        _ => skipped.push(Skipped {
            path,
            reason: SkipReason::NotRegular,
        }),
    }
    Ok(())
}

fn expand_glob(
    pattern: &str,
    tree: &WorkTree,
    found: &mut Vec<Found>,
    skipped: &mut Vec<Skipped>,
) -> Result<(), PlanError> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let paths = glob::glob_with(pattern, options).map_err(|e| PlanError::BadPattern {
        pattern: pattern.to_owned(),
        reason: e.msg.to_owned(),
    })?;
    let mut matches: Vec<PathBuf> = Vec::new();
    for p in paths {
        matches.push(p.map_err(|e| PlanError::Io {
            path: e.path().to_owned(),
            source: e.into(),
        })?);
    }
    matches.sort();
    let before = found.len();
    let mut dirs = Vec::new();
    for path in matches {
        classify(path, tree, found, skipped, &mut dirs)?;
    }
    skipped.extend(dirs.into_iter().map(|path| Skipped {
        path,
        reason: SkipReason::Directory,
    }));
    if found.len() == before {
        return Err(PlanError::NoMatch {
            pattern: pattern.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tree(tempfile::TempDir);

    impl Tree {
        fn new(files: &[&str]) -> Tree {
            let t = Tree(tempfile::tempdir().unwrap());
            for f in files {
                let p = t.0.path().join(f);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, f.as_bytes()).unwrap();
            }
            t
        }
        fn p(&self, rel: &str) -> String {
            self.0.path().join(rel).display().to_string()
        }
        fn rel(&self, plan: &Plan) -> Vec<String> {
            plan.artifacts
                .iter()
                .map(|a| {
                    a.path
                        .strip_prefix(self.0.path())
                        .unwrap()
                        .display()
                        .to_string()
                })
                .collect()
        }
        fn plan(&self, args: &[String], recursive: bool) -> Result<Plan, PlanError> {
            build(&PlanInput {
                args,
                recursive,
                output_dir: None,
                overwrite: false,
            })
        }
    }

    const DIST: &[&str] = &[
        "dist/b.whl",
        "dist/a.tar.gz",
        "dist/a.tar.gz.sigstore.json",
        "dist/.hidden",
        "dist/sub/c.whl",
    ];

    #[test]
    fn directory_means_its_regular_files_sorted_without_bundles_hidden_or_subdirs() {
        let t = Tree::new(DIST);
        let plan = t.plan(&[t.p("dist")], false).unwrap();
        assert_eq!(t.rel(&plan), ["dist/a.tar.gz", "dist/b.whl"]);
        let reasons: Vec<_> = plan.skipped.iter().map(|s| s.reason).collect();
        assert_eq!(
            reasons,
            [
                SkipReason::Hidden,
                SkipReason::Bundle,
                SkipReason::Directory
            ]
        );
        assert_eq!(plan.artifacts[0].size, "dist/a.tar.gz".len() as u64);
        assert_eq!(
            plan.artifacts[0].bundle,
            Path::new(&t.p("dist/a.tar.gz.sigstore.json"))
        );
        assert!(plan.artifacts[0].blocked_by_existing_bundle);
        assert!(!plan.artifacts[1].blocked_by_existing_bundle);
    }

    #[test]
    fn recursive_descends() {
        let t = Tree::new(DIST);
        let plan = t.plan(&[t.p("dist")], true).unwrap();
        assert_eq!(
            t.rel(&plan),
            ["dist/a.tar.gz", "dist/b.whl", "dist/sub/c.whl"]
        );
    }

    #[test]
    fn globs_are_expanded_and_skip_hidden_and_bundles() {
        let t = Tree::new(DIST);
        let plan = t.plan(&[t.p("dist/*")], false).unwrap();
        assert_eq!(t.rel(&plan), ["dist/a.tar.gz", "dist/b.whl"]);
        let plan = t.plan(&[t.p("dist/**/*.whl")], false).unwrap();
        assert_eq!(t.rel(&plan), ["dist/b.whl", "dist/sub/c.whl"]);
    }

    #[test]
    fn a_pattern_matching_nothing_is_an_error_naming_it() {
        let t = Tree::new(DIST);
        let pattern = t.p("dist/*.rpm");
        let err = t.plan(std::slice::from_ref(&pattern), false).unwrap_err();
        assert!(matches!(&err, PlanError::NoMatch { pattern: p } if *p == pattern));
        assert!(err.to_string().contains(&pattern));
        // Matching only bundles is matching nothing to sign.
        assert!(matches!(
            t.plan(&[t.p("dist/*.json")], false),
            Err(PlanError::NoMatch { .. })
        ));
    }

    #[test]
    fn missing_paths_and_empty_directories_are_errors() {
        let t = Tree::new(&["empty/.keep"]);
        assert!(matches!(
            t.plan(&[t.p("nope.whl")], false),
            Err(PlanError::NotFound(_))
        ));
        assert!(matches!(
            t.plan(&[t.p("empty")], false),
            Err(PlanError::EmptyDirectory(_))
        ));
    }

    #[test]
    fn duplicates_are_removed_keeping_first_order() {
        let t = Tree::new(DIST);
        let args = [
            t.p("dist/b.whl"),
            t.p("dist"),
            t.p("dist/./a.tar.gz"),
            t.p("dist/*.whl"),
        ];
        let plan = t.plan(&args, false).unwrap();
        assert_eq!(t.rel(&plan), ["dist/b.whl", "dist/a.tar.gz"]);
    }

    #[test]
    fn a_named_hidden_file_is_signed_but_a_named_bundle_is_not() {
        let t = Tree::new(DIST);
        let plan = t
            .plan(
                &[t.p("dist/.hidden"), t.p("dist/a.tar.gz.sigstore.json")],
                false,
            )
            .unwrap();
        assert_eq!(t.rel(&plan), ["dist/.hidden"]);
        assert_eq!(plan.skipped[0].reason, SkipReason::Bundle);
    }

    #[test]
    fn output_dir_collects_bundles_and_refuses_collisions() {
        let t = Tree::new(&["x/app.whl", "y/app.whl", "y/other.whl"]);
        std::fs::create_dir(t.0.path().join("out")).unwrap();
        let out = t.0.path().join("out");
        let args = [t.p("x/app.whl"), t.p("y/other.whl")];
        let plan = build(&PlanInput {
            args: &args,
            recursive: false,
            output_dir: Some(&out),
            overwrite: false,
        })
        .unwrap();
        assert_eq!(plan.artifacts[0].bundle, out.join("app.whl.sigstore.json"));
        let args = [t.p("x/app.whl"), t.p("y")];
        let err = build(&PlanInput {
            args: &args,
            recursive: false,
            output_dir: Some(&out),
            overwrite: false,
        })
        .unwrap_err();
        assert!(matches!(err, PlanError::BundleCollision { .. }), "{err}");
        assert!(err.to_string().contains("app.whl.sigstore.json"));
        let missing = t.0.path().join("missing");
        let err = build(&PlanInput {
            args: &args,
            recursive: false,
            output_dir: Some(&missing),
            overwrite: false,
        })
        .unwrap_err();
        assert!(matches!(err, PlanError::OutputDir(_)));
    }

    #[test]
    fn an_existing_bundle_blocks_only_its_artifact_unless_overwrite() {
        let t = Tree::new(DIST);
        let args = [t.p("dist")];
        let plan = t.plan(&args, false).unwrap();
        let blocked: Vec<_> = plan
            .artifacts
            .iter()
            .map(|a| a.blocked_by_existing_bundle)
            .collect();
        assert_eq!(blocked, [true, false]);
        let plan = build(&PlanInput {
            args: &args,
            recursive: false,
            output_dir: None,
            overwrite: true,
        })
        .unwrap();
        assert!(plan.artifacts.iter().all(|a| !a.blocked_by_existing_bundle));
    }
}
