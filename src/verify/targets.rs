//! Which artifact is checked against which bundle, found before any file is
//! opened.
//!
//! Owns the verify-side reading of PATH|DIR|GLOB: a directory means "every
//! artifact in it that has a bundle" (unsigned files are listed as skipped),
//! while a file or glob match names an artifact that must have one. A bundle
//! whose artifact is missing is a failure either way. With `--provenance
//! FILE` every file named is checked against FILE instead
//! ([`against_provenance`]: a directory's or a glob's files less bundles,
//! provenance files and FILE itself). A FIFO or device named outright is a
//! target that fails, never dropped. Expansion itself
//! (globs, hidden files, recursion, order) is [`crate::plan`]'s; this module
//! reads no file contents and does no verification.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bundle_io::{self, BUNDLE_SUFFIX};
use crate::files::FileId;
use crate::plan::{self, PlanError, PlanInput, SkipReason, WorkTree};

/// One artifact and the bundle it is checked against, or why it cannot be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub artifact: PathBuf,
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub bundle: PathBuf,
    /// Known before any file is read: the bundle or the artifact is absent.
    pub missing: Option<Missing>,
    /// `sha256:<hex>` given instead of a file: the artifact is known only by
    /// its digest (as sigstore-python and cosign accept), lowercase hex.
    pub digest: Option<String>,
    /// The file the artifact path named when listed: only that file is read.
    #[serde(skip)]
    pub file: Option<FileId>,
    /// The artifact's path resolved when it was listed, if it was.
    #[serde(skip)]
    pub real: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Missing {
    Bundle,
    Artifact,
}

/// What a run verifies, in a stable order, and the unsigned files left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Targets {
    pub targets: Vec<Target>,
    /// Files in a directory argument that have no bundle.
    #[serde(serialize_with = "crate::text::lossy_paths")]
    pub unsigned: Vec<PathBuf>,
    /// Provenance files (`*.intoto.jsonl`) in a directory argument: no
    /// artifacts, and not checked by a run without `--provenance`.
    #[serde(serialize_with = "crate::text::lossy_paths")]
    pub provenance_files: Vec<PathBuf>,
}

/// Why nothing can be verified (a usage error: exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Plan(PlanError),
    #[error("{} holds no bundle (`*{BUNDLE_SUFFIX}`) to verify; fix: run `releasekit-sign sign` first, or pass the directory holding the bundles", .0.display())]
    NoBundles(PathBuf),
    #[error(
        "pattern `{0}` matched no file to verify; fix: check the pattern against the files present"
    )]
    NoMatch(String),
    #[error("--bundle names the bundle of one artifact, but {0} artifacts were found; fix: name one artifact")]
    BundleForManyArtifacts(usize),
    #[error("`{0}` is not sha256:<64 hex digits>; fix: pass the artifact's SHA-256, e.g. sha256:$(sha256sum FILE | cut -d' ' -f1)")]
    BadDigest(String),
    #[error("`{0}` names an artifact by its digest, so its bundle cannot be found next to it; fix: pass --bundle FILE")]
    DigestNeedsBundle(String),
    #[error("`{0}` names an artifact by its digest, and --provenance checks files; fix: pass the file itself")]
    DigestWithProvenance(String),
    #[error("{} names no artifact to check against {} (bundles and provenance files are not artifacts); fix: name the artifacts, or the directory holding them", .args, .provenance.display())]
    NothingAgainstProvenance { args: String, provenance: PathBuf },
}

/// Expand `args` into targets; `bundle` (from `--bundle`) replaces the bundle
/// of the single artifact named.
pub fn build(
    args: &[String],
    recursive: bool,
    bundle: Option<&Path>,
    require_all: bool,
) -> Result<Targets, TargetError> {
    let mut out = Targets::default();
    // One tree for every argument: it remembers the directories it checked.
    let tree = WorkTree::current();
    for arg in args {
        expand(&tree, arg, recursive, bundle, require_all, &mut out)?;
    }
    once_each(&mut out);
    if bundle.is_some() && out.targets.len() > 1 {
        return Err(TargetError::BundleForManyArtifacts(out.targets.len()));
    }
    Ok(out)
}

fn expand(
    tree: &WorkTree,
    arg: &str,
    recursive: bool,
    explicit_bundle: Option<&Path>,
    require_all: bool,
    out: &mut Targets,
) -> Result<(), TargetError> {
    if let Some(hex) = arg.strip_prefix("sha256:") {
        let valid = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(TargetError::BadDigest(arg.to_owned()));
        }
        let bundle = explicit_bundle
            .ok_or_else(|| TargetError::DigestNeedsBundle(arg.to_owned()))?
            .to_owned();
        out.targets.push(Target {
            artifact: PathBuf::from(arg),
            missing: (!bundle.is_file()).then_some(Missing::Bundle),
            bundle,
            digest: Some(hex.to_ascii_lowercase()),
            file: None,
            real: None,
        });
        return Ok(());
    }
    let is_dir = Path::new(arg).is_dir();
    let plan = match plan::build_in(
        tree,
        &PlanInput {
            args: std::slice::from_ref(&arg.to_owned()),
            recursive,
            output_dir: None,
            overwrite: true,
            writes_bundles: false,
        },
    ) {
        Ok(p) => p,
        // Only bundles there: each one is missing its artifact.
        Err(PlanError::EmptyDirectory(dir)) => {
            let before = out.targets.len();
            orphan_bundles(&dir, recursive, out)?;
            if out.targets.len() == before {
                return Err(TargetError::NoBundles(dir));
            }
            return Ok(());
        }
        Err(PlanError::NoMatch { pattern }) => return Err(TargetError::NoMatch(pattern)),
        Err(e) => return Err(TargetError::Plan(e)),
    };
    let before = out.targets.len();
    let mut listed = HashSet::new();
    for a in plan.artifacts {
        let bundle = explicit_bundle
            .map(Path::to_owned)
            .unwrap_or_else(|| bundle_io::bundle_path(&a.path, None));
        // A `--bundle` that exists but is no file (a directory) is read, and
        // fails saying so, rather than reported as missing.
        let present = match explicit_bundle {
            Some(_) => bundle.exists(),
            None => {
                bundle.is_file()
                    && tree
                        .check_found(&bundle)
                        .map_err(TargetError::Plan)?
                        .is_some()
            }
        };
        // Found in a directory without a bundle: unsigned, listed, unless
        // every file must be signed. A provenance file is no artifact: it
        // is a signed bundle itself (as `--release` and `--provenance`
        // hold it).
        if !present && is_dir {
            let provenance = a
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(crate::provenance::EXTENSION));
            if provenance {
                out.provenance_files.push(a.path);
                continue;
            }
            if !require_all {
                out.unsigned.push(a.path);
                continue;
            }
        }
        listed.insert(a.path.clone());
        out.targets.push(Target {
            artifact: a.path,
            bundle,
            missing: (!present).then_some(Missing::Bundle),
            digest: None,
            file: a.file,
            real: Some(a.real),
        });
    }
    for s in plan.skipped {
        // Named outright, a FIFO or device is a target that fails, saying
        // what it is: dropped, the run would pass without checking it.
        if s.reason == SkipReason::NotRegular && named_or_special(arg) {
            out.targets.push(Target {
                bundle: explicit_bundle
                    .map(Path::to_owned)
                    .unwrap_or_else(|| bundle_io::bundle_path(&s.path, None)),
                artifact: s.path,
                missing: None,
                digest: None,
                file: None,
                real: None,
            });
            continue;
        }
        if s.reason != SkipReason::Bundle {
            continue;
        }
        // Named with `--bundle`: the file is the artifact, whatever its
        // name, checked against that bundle (not against itself).
        if let (Some(bundle), false) = (explicit_bundle, is_dir) {
            out.targets.push(Target {
                artifact: s.path,
                bundle: bundle.to_owned(),
                missing: (!bundle.exists()).then_some(Missing::Bundle),
                digest: None,
                file: None,
                real: None,
            });
            continue;
        }
        // A bundle, named or found: its artifact is checked too (or is missing),
        // unless it is a target already ([`once_each`] would drop this one).
        let artifact = bundle_io::artifact_of(&s.path);
        if listed.contains(&artifact) {
            continue;
        }
        // Read as a named artifact is: never through a link out of the tree.
        let found = match artifact.is_file() {
            true => tree.check_found(&artifact).map_err(TargetError::Plan)?,
            false => None,
        };
        out.targets.push(Target {
            artifact,
            bundle: s.path,
            missing: found.is_none().then_some(Missing::Artifact),
            digest: None,
            file: found.as_ref().and_then(|(_, file)| *file),
            real: found.map(|(real, _)| real),
        });
    }
    if is_dir && out.targets.len() == before {
        return Err(TargetError::NoBundles(PathBuf::from(arg)));
    }
    Ok(())
}

/// Bundles in a directory that holds no other file (and, `recursive`, in
/// its subdirectories, as the walk goes: not into a link, nor anything
/// hidden, as the walk does not look at hidden files: a dotfile's bundle
/// there was said to lack the dotfile, which was there).
fn orphan_bundles(dir: &Path, recursive: bool, out: &mut Targets) -> Result<(), TargetError> {
    let hidden = |p: &Path| {
        p.file_name()
            .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
    };
    let mut bundles: Vec<PathBuf> = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| {
            TargetError::Plan(PlanError::Io {
                path: dir.clone(),
                source,
            })
        })?;
        for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if hidden(&p) {
                continue;
            }
            let Ok(meta) = p.symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                if recursive {
                    dirs.push(p);
                }
            } else if bundle_io::is_bundle(&p) && p.is_file() {
                bundles.push(p);
            }
        }
    }
    bundles.sort();
    for bundle in bundles {
        out.targets.push(Target {
            artifact: bundle_io::artifact_of(&bundle),
            bundle,
            missing: Some(Missing::Artifact),
            digest: None,
            file: None,
            real: None,
        });
    }
    Ok(())
}

/// `verify --provenance FILE`: every artifact the arguments name, each
/// checked against `provenance` instead of a bundle. A directory or a glob
/// means its files except bundles, provenance files (`*.intoto.jsonl`) and
/// FILE itself; a file named explicitly is checked whatever its name.
pub(crate) fn against_provenance(
    args: &[String],
    recursive: bool,
    provenance: &Path,
) -> Result<Targets, TargetError> {
    let mut out = Targets::default();
    let tree = WorkTree::current();
    // The provenance file itself, wherever a directory or a glob reaches it
    // (`gh attestation download` names it `sha256:<hex>.jsonl`): never one
    // of the artifacts it is about.
    let provenance_real = std::fs::canonicalize(provenance).ok();
    for arg in args {
        if arg.starts_with("sha256:") {
            return Err(TargetError::DigestWithProvenance(arg.clone()));
        }
        let named = Path::new(arg).is_file();
        let plan = plan::build_in(
            &tree,
            &PlanInput {
                args: std::slice::from_ref(arg),
                recursive,
                output_dir: None,
                overwrite: true,
                writes_bundles: false,
            },
        )
        .map_err(|e| match e {
            PlanError::NoMatch { pattern } => TargetError::NoMatch(pattern),
            e => TargetError::Plan(e),
        })?;
        for a in plan.artifacts {
            let is_provenance = a
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(crate::provenance::EXTENSION));
            let itself = provenance_real.as_deref() == Some(a.real.as_path());
            if !named && (is_provenance || itself) {
                continue;
            }
            out.targets.push(Target {
                artifact: a.path,
                bundle: provenance.to_owned(),
                missing: None,
                digest: None,
                file: a.file,
                real: Some(a.real),
            });
        }
        // Named outright, a FIFO or device fails, saying what it is.
        for s in plan.skipped {
            if s.reason == SkipReason::NotRegular && named_or_special(arg) {
                out.targets.push(Target {
                    artifact: s.path,
                    bundle: provenance.to_owned(),
                    missing: None,
                    digest: None,
                    file: None,
                    real: None,
                });
            }
        }
    }
    once_each(&mut out);
    if out.targets.is_empty() {
        return Err(TargetError::NothingAgainstProvenance {
            args: crate::text::capped(&crate::text::line(args.join(" ")), 200),
            provenance: provenance.to_owned(),
        });
    }
    Ok(out)
}

/// Whether `arg` names one existing thing that is not a directory (a
/// file, a FIFO, a device), rather than a directory (through a link too,
/// which is walked as one) or a glob.
fn named_or_special(arg: &str) -> bool {
    std::fs::metadata(arg).is_ok_and(|m| !m.is_dir())
}

/// The same artifact reached twice (`dist/` and `dist/a.whl`) is verified
/// once; two names for one file (`b.whl`, a link to `a.whl`) each with
/// their own bundle, are two targets. A place is its directory resolved,
/// and its name, whether or not the file exists.
fn once_each(out: &mut Targets) {
    let mut at = Locator::default();
    let mut seen = HashSet::new();
    // By the artifact's name, not the file it resolves to: a target named
    // through a link and one found from its bundle are the same pair.
    out.targets
        .retain(|t| seen.insert((at.located(&t.artifact), at.located(&t.bundle))));
    // An unsigned file once, and not at all where it is a target (named
    // outright too, or found twice: `dist dist/`).
    let targeted: HashSet<PathBuf> = out
        .targets
        .iter()
        .map(|t| at.located(&t.artifact))
        .collect();
    let mut listed = HashSet::new();
    out.unsigned.retain(|u| {
        let l = at.located(u);
        !targeted.contains(&l) && listed.insert(l)
    });
    out.provenance_files
        .retain(|p| listed.insert(at.located(p)));
}

/// Where a path is: its directory's real path (looked up once a
/// directory: a release's thousand bundles are mostly in one) and its own
/// name, a link's name kept.
#[derive(Default)]
struct Locator {
    dirs: std::collections::HashMap<PathBuf, Option<PathBuf>>,
}

impl Locator {
    fn located(&mut self, path: &Path) -> PathBuf {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let real = self
            .dirs
            .entry(dir.to_owned())
            .or_insert_with(|| std::fs::canonicalize(dir).ok());
        match (real, path.file_name()) {
            (Some(dir), Some(name)) => dir.join(name),
            _ => path.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(files: &[&str]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for f in files {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        d
    }

    fn rel(d: &tempfile::TempDir, t: &Targets) -> Vec<(String, Option<Missing>)> {
        t.targets
            .iter()
            .map(|t| {
                let a = t.artifact.strip_prefix(d.path()).unwrap();
                (a.display().to_string(), t.missing)
            })
            .collect()
    }

    #[test]
    fn a_directory_means_its_signed_artifacts() {
        let d = setup(&[
            "a.whl",
            "a.whl.sigstore.json",
            "unsigned.txt",
            "gone.whl.sigstore.json",
        ]);
        let arg = d.path().display().to_string();
        let t = build(&[arg], false, None, false).unwrap();
        assert_eq!(
            rel(&d, &t),
            [
                ("a.whl".into(), None),
                ("gone.whl".into(), Some(Missing::Artifact))
            ]
        );
        assert_eq!(t.unsigned, [d.path().join("unsigned.txt")]);
    }

    #[test]
    fn a_named_artifact_must_have_a_bundle() {
        let d = setup(&["a.whl", "b.whl", "b.whl.sigstore.json"]);
        let args = ["a.whl", "b.whl"].map(|f| d.path().join(f).display().to_string());
        let t = build(&args, false, None, false).unwrap();
        assert_eq!(
            rel(&d, &t),
            [
                ("a.whl".into(), Some(Missing::Bundle)),
                ("b.whl".into(), None)
            ]
        );
    }

    #[test]
    fn directories_without_bundles_are_errors() {
        let d = setup(&["a.whl"]);
        let e = build(&[d.path().display().to_string()], false, None, false).unwrap_err();
        assert!(matches!(e, TargetError::NoBundles(_)), "{e}");
        let d = setup(&["only.whl.sigstore.json"]);
        let t = build(&[d.path().display().to_string()], false, None, false).unwrap();
        assert_eq!(rel(&d, &t), [("only.whl".into(), Some(Missing::Artifact))]);
    }

    /// A provenance file found in a directory is no unsigned artifact (it is
    /// a bundle itself), with --require-all too; an unsigned file is listed
    /// once, and not where it is also a target. Regressions: listed (and
    /// failed by --require-all) as unsigned; `dist dist/` listed each twice,
    /// and `dist dist/notes.txt` both failed and listed it.
    #[test]
    fn unsigned_files_are_listed_once_and_provenance_is_none() {
        let d = setup(&[
            "a.whl",
            "a.whl.sigstore.json",
            "build.intoto.jsonl",
            "notes.txt",
        ]);
        let dir = d.path().display().to_string();
        for require_all in [false, true] {
            let t = build(std::slice::from_ref(&dir), false, None, require_all).unwrap();
            let names: Vec<_> = rel(&d, &t).into_iter().map(|(n, _)| n).collect();
            if require_all {
                assert_eq!(names, ["a.whl", "notes.txt"]);
            } else {
                assert_eq!(names, ["a.whl"]);
                assert_eq!(t.unsigned, [d.path().join("notes.txt")]);
            }
            assert_eq!(t.provenance_files, [d.path().join("build.intoto.jsonl")]);
        }
        let twice = [dir.clone(), format!("{dir}/")];
        let t = build(&twice, false, None, false).unwrap();
        assert_eq!(t.unsigned.len(), 1, "{:?}", t.unsigned);
        assert_eq!(t.provenance_files.len(), 1, "{:?}", t.provenance_files);
        let named = [
            dir.clone(),
            d.path().join("notes.txt").display().to_string(),
        ];
        let t = build(&named, false, None, false).unwrap();
        assert!(t.unsigned.is_empty(), "{:?}", t.unsigned);
    }

    /// With -r, a tree whose only files are bundles in subdirectories says
    /// each lacks its artifact, as it does with other files beside them.
    /// Regression: only the top directory was read, "holds no bundle".
    #[test]
    fn orphan_bundles_are_found_in_subdirectories_with_r() {
        let d = setup(&["linux/a.whl.sigstore.json"]);
        let dir = d.path().display().to_string();
        let t = build(std::slice::from_ref(&dir), true, None, false).unwrap();
        assert_eq!(
            rel(&d, &t),
            [("linux/a.whl".into(), Some(Missing::Artifact))]
        );
        assert!(matches!(
            build(&[dir], false, None, false).unwrap_err(),
            TargetError::NoBundles(_)
        ));
    }

    /// A hidden signed file is not looked at in a directory, alone there
    /// or not. Regression: alone, its bundle was said to lack it.
    #[test]
    fn a_hidden_signed_file_is_not_said_missing() {
        let d = setup(&[".cfg", ".cfg.sigstore.json"]);
        let e = build(&[d.path().display().to_string()], false, None, false).unwrap_err();
        assert!(matches!(e, TargetError::NoBundles(_)), "{e}");
    }

    #[test]
    fn explicit_bundle_for_one_artifact_only() {
        let d = setup(&["a.whl", "b.whl", "x.json"]);
        let x = d.path().join("x.json");
        let t = build(
            &[d.path().join("a.whl").display().to_string()],
            false,
            Some(&x),
            false,
        )
        .unwrap();
        assert_eq!(t.targets[0].bundle, x);
        assert_eq!(t.targets[0].missing, None);
        let glob = format!("{}/*.whl", d.path().display());
        let e = build(&[glob], false, Some(&x), false).unwrap_err();
        assert!(matches!(e, TargetError::BundleForManyArtifacts(2)), "{e}");
    }

    #[test]
    fn a_glob_matching_nothing_says_verify() {
        let d = setup(&["a.whl"]);
        let e = build(
            &[format!("{}/*.tar.gz", d.path().display())],
            false,
            None,
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("matched no file to verify"), "{e}");
    }

    #[test]
    fn naming_the_bundle_names_its_artifact() {
        let d = setup(&["a.whl", "a.whl.sigstore.json"]);
        let args = [
            d.path().join("a.whl.sigstore.json").display().to_string(),
            d.path().join("a.whl").display().to_string(),
        ];
        let t = build(&args, false, None, false).unwrap();
        assert_eq!(rel(&d, &t), [("a.whl".into(), None)]);
    }
}
