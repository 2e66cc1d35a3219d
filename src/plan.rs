//! The plan: which files a run signs and where each bundle goes, computed
//! before any token is read or request made.
//!
//! Owns argument expansion (PATH, DIR, GLOB), the skip rules (existing
//! `*.sigstore.json`, hidden files, directories), de-duplication, order, and
//! bundle naming and collisions, and the working-tree rule: every artifact
//! path and bundle directory is resolved (a file that is no link through its
//! directory, once for all its files), and one that a symbolic link under
//! the working directory leads out of it is refused. It records which file
//! each artifact path named (for [`crate::files::open_regular`]) and the real
//! directory each bundle goes to. It reads the filesystem (stat, list, glob)
//! but never writes, never opens a file's contents and never goes on the
//! network, so `--dry-run` can print it as is.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::atomic_file::WriteDir;
use crate::bundle_io;
use crate::files::FileId;

/// What to expand and where to put bundles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput<'a> {
    pub args: &'a [String],
    pub recursive: bool,
    pub output_dir: Option<&'a Path>,
    pub overwrite: bool,
    /// Whether the run writes the bundles (sign), not only reads them
    /// (verify): a bundle name no file system takes, or two that fold into
    /// one file, are refused only then. A reader finds no such bundle.
    pub writes_bundles: bool,
}

/// Every artifact to sign, in a stable order, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub artifacts: Vec<PlannedArtifact>,
    pub skipped: Vec<Skipped>,
    /// `--provenance`: where the build provenance goes ([`provenance`]).
    pub provenance: Option<PlannedProvenance>,
    /// An existing bundle that verifies for the run's signer is kept (and
    /// uploaded like a new one) instead of failing its artifact: the run
    /// uploads, so a re-run after a failed upload can finish.
    #[serde(skip)]
    pub keep_verified_bundles: bool,
}

/// Where the build provenance is written: `--output-dir` or the working
/// directory, under its file name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedProvenance {
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub path: PathBuf,
    /// `path`'s directory, resolved: the file is written there or not at all.
    #[serde(skip)]
    pub dir: WriteDir,
    /// An existing file there is replaced (else it was refused when planned).
    #[serde(skip)]
    pub replace: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedArtifact {
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub path: PathBuf,
    pub size: u64,
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub bundle: PathBuf,
    /// A bundle is already there and `--overwrite` was not given: this
    /// artifact fails without any work (the others still run).
    pub blocked_by_existing_bundle: bool,
    /// The file `path` named when planned: only that file is read.
    #[serde(skip)]
    pub file: Option<FileId>,
    /// `bundle`'s directory, resolved: the bundle is written there or not at all.
    #[serde(skip)]
    pub bundle_dir: WriteDir,
    /// `path` resolved when listed: the same file named twice is one artifact.
    #[serde(skip)]
    pub real: PathBuf,
    /// Named outright, not found in a directory or by a glob.
    #[serde(skip)]
    pub named: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    #[serde(serialize_with = "crate::text::lossy_path")]
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
    /// A link to a directory, found in a directory: never followed, with
    /// `--recursive` or not.
    LinkedDirectory,
    /// Neither a regular file nor a directory (socket, device, broken link).
    NotRegular,
    /// The provenance file this run writes, found in a directory or by a
    /// glob (an earlier run's): replaced, not signed.
    Provenance,
}

impl SkipReason {
    /// Why a path was skipped, as a report and an error say it.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Bundle => "a bundle",
            SkipReason::Hidden => "hidden",
            SkipReason::Directory => "a directory (use --recursive to descend; in the action, a glob such as `dist/**/*` in input `inputs`)",
            SkipReason::LinkedDirectory => "a link to a directory (links found in a directory are not followed: name the directory it leads to)",
            SkipReason::NotRegular => "not a regular file",
            SkipReason::Provenance => "the provenance file this run writes",
        }
    }
}

/// Why no plan could be made (a usage error: exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{} is {}'s bundle (or a link to it), which signing writes over after {} is signed; fix: leave it out of what is signed (in the action, of input `inputs`), or sign {} in a run of its own with --output-dir", artifact.display(), owner.display(), artifact.display(), owner.display())]
    ArtifactIsBundle { artifact: PathBuf, owner: PathBuf },
    #[error("{} is a directory, where the bundle would be written; fix: move it away, or pass --output-dir (the action has none: move it away)", .0.display())]
    BundleIsDirectory(PathBuf),
    #[error("nothing to sign: every path given was skipped ({skipped}); fix: name the artifacts themselves (a bundle is never signed, nor a directory without --recursive (in the action, use a glob such as `dist/**/*` in input `inputs`), nor what is not a regular file)")]
    NothingToSign { skipped: String },
    #[error("{} is {size} bytes, and GitHub refuses a release asset of 2 GiB or more, so it cannot be uploaded: remove it from what is signed, or upload bundles only (drop --upload-artifacts; action input `upload-artifacts`)", path.display())]
    AssetTooLarge { path: PathBuf, size: u64 },
    #[error("the upload would put {count} assets on the release, and GitHub keeps at most {max} on one: nothing was signed; fix: sign fewer files for this release (archive them together, or split them across releases), or upload bundles only (drop --upload-artifacts; action input `upload-artifacts`)")]
    TooManyAssets { count: usize, max: usize },
    #[error("{} is empty, and GitHub refuses an empty release asset (its size must be at least 1 byte), so it cannot be uploaded: remove it from what is signed, or upload bundles only (drop --upload-artifacts; action input `upload-artifacts`)", .0.display())]
    EmptyAsset(PathBuf),
    #[error("{0}: no such file or directory; fix: check the path, or quote a glob so the tool expands it")]
    NotFound(String),
    #[error("pattern `{pattern}` matched no file to sign; fix: check the pattern against the files present")]
    NoMatch { pattern: String },
    #[error("pattern `{pattern}` is not a valid glob ({reason}); fix: escape `[`, `]`, `*`, `?` with `[..]`, e.g. `[*]`")]
    BadPattern { pattern: String, reason: String },
    #[error("directory {} has no file to sign; fix: pass the directory holding the artifacts, or --recursive (in the action, which does not descend, a glob such as `dist/**/*` in input `inputs`)", .0.display())]
    EmptyDirectory(PathBuf),
    // The source says the fix (each of its kinds has its own).
    #[error("cannot write into {}: {source}", dir.display())]
    WriteDir {
        dir: PathBuf,
        source: crate::atomic_file::AtomicError,
    },
    #[error("cannot read {}: {source}; fix: {}", path.display(), crate::files::read_fix(source))]
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
    #[error("{} and {} would both be the release asset `{asset}` (a release names each asset by its file name alone, with every character outside A-Za-z0-9._-+@ made a `.`), so one would replace the other; fix: rename one of them, or upload them to separate releases", first.display(), second.display())]
    AssetCollision {
        first: PathBuf,
        second: PathBuf,
        asset: String,
    },
    /// An upload under the name a replacement takes until it is renamed:
    /// a re-run uploading beside an asset of the name before it would
    /// delete it as a replacement left behind.
    #[error("{} would be the release asset `{asset}`, a name ending as the replacement of an asset is named while it goes up (the next upload of `{replaced}` would remove it as one left behind); fix: rename it", path.display())]
    ReservedAssetName {
        path: PathBuf,
        asset: String,
        replaced: String,
    },
    #[error("the bundle of {} would be named {}, longer than the {} bytes a file name may have; fix: give the artifact a shorter name", artifact.display(), bundle.display(), crate::files::MAX_NAME_BYTES)]
    BundleNameTooLong { artifact: PathBuf, bundle: PathBuf },
    #[error(transparent)]
    ProvenanceName(#[from] crate::provenance::ProvenanceError),
    #[error("the provenance file {} is also an artifact to sign; fix: choose another --provenance-name (action input `provenance-name`), or leave the old provenance out of the artifacts", .0.display())]
    ProvenanceIsArtifact(PathBuf),
    #[error("provenance {} already exists; fix: pass --overwrite (action input `overwrite: true`) to replace it, or choose another --provenance-name (action input `provenance-name`)", .0.display())]
    ProvenanceExists(PathBuf),
    #[error("{} is a directory, where the provenance would be written; fix: move it away, or choose another --provenance-name (action input `provenance-name`)", .0.display())]
    ProvenanceIsDirectory(PathBuf),
    #[error("--output-dir {} is not a directory; fix: create it first", .0.display())]
    OutputDir(PathBuf),
    #[error("--download {} is not a directory; fix: pass a directory (one that does not exist yet is created)", .0.display())]
    DownloadDir(PathBuf),
    #[error("{} leads through a symbolic link to {}, a hidden file or one in a hidden directory, which is never read when found in a directory or by a glob: it may hold a secret (actions/checkout keeps the job's token in .git/config); fix: copy the file to sign out of the hidden place, or name it outright as an argument", link.display(), target.display())]
    LinkToHidden { link: PathBuf, target: PathBuf },
    #[error("{} is a symbolic link to {}, outside the working directory {}; links are followed only inside it; fix: copy the file into the working directory, or name its real path", link.display(), target.display(), root.display())]
    LinkOutsideWorkTree {
        link: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },
    #[error("{}: {} is a symbolic link to {}, outside the working directory {}; links are followed only inside it; fix: copy the file into the working directory, or name its real path", path.display(), link.display(), target.display(), root.display())]
    PathThroughLink {
        path: PathBuf,
        link: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },
    #[error("bundle {}: {} is a symbolic link to {}, outside the working directory {}; bundles are not written through such a link; fix: copy the artifact into the working directory, or pass --output-dir with a directory inside it (the action has none: copy the artifact)", bundle.display(), link.display(), target.display(), root.display())]
    BundleThroughLink {
        bundle: PathBuf,
        link: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },
    #[error("{flag} {}: {} is a symbolic link to {}, outside the working directory {}; nothing is written through such a link; fix: pass the real directory, or one inside the working directory", dir.display(), link.display(), target.display(), root.display())]
    DirThroughLink {
        flag: &'static str,
        dir: PathBuf,
        link: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },
}

/// Symbolic links are followed only inside the working tree: a path is
/// resolved whole, and refused when a link under the canonical current
/// directory (at any component: `dist`, `dist/x.whl`) leads out of it. A
/// release checkout is attacker-influenced: a `dist/x.whl -> ~/.ssh/id_ed25519`
/// or `dist -> /proc/self` link would put a secret's digest in a public log,
/// or upload the secret itself. A path spelled outside the tree
/// (`sign /abs/dist/*`, `--output-dir /tmp/out`) is the user's own choice and
/// allowed, through whatever links the system has there (`/tmp` on macOS),
/// except that an artifact that is itself a link must lead into the tree.
pub(crate) struct WorkTree {
    root: Option<PathBuf>,
    /// Directories checked so far, as spelled: real path, or `None` if refused.
    dirs: RefCell<HashMap<PathBuf, Option<PathBuf>>>,
    /// Bundle directories resolved so far, as spelled.
    bundle_dirs: RefCell<HashMap<PathBuf, WriteDir>>,
}

/// A link under the working tree whose target is outside it.
struct LinkOut {
    link: PathBuf,
    target: PathBuf,
}

impl WorkTree {
    /// The tree under the current directory.
    pub(crate) fn current() -> WorkTree {
        WorkTree::at(std::env::current_dir().and_then(std::fs::canonicalize).ok())
    }

    fn at(root: Option<PathBuf>) -> WorkTree {
        WorkTree {
            root,
            dirs: RefCell::default(),
            bundle_dirs: RefCell::default(),
        }
    }

    fn root(&self) -> PathBuf {
        self.root.clone().unwrap_or_else(|| PathBuf::from("."))
    }

    /// Whether a link led `spelled`, found in no hidden place, to `real`,
    /// a hidden one in the tree (`.git/config`, `.env`): the file itself,
    /// or a directory on its way, is a link. A hidden place the path
    /// names itself (`.dist/`) is the user's choice; git-annex's and DVC's
    /// object stores, which every file they manage is a link into, hold
    /// artifacts, not secrets.
    fn led_into_hidden(&self, spelled: &Path, real: &Path) -> bool {
        let Some(root) = &self.root else {
            return false;
        };
        let Ok(rel) = real.strip_prefix(root) else {
            return false;
        };
        if !has_hidden_part(rel)
            || rel.starts_with(".git/annex/objects")
            || rel.starts_with(".dvc/cache")
        {
            return false;
        }
        !has_hidden_part(spelled.strip_prefix(root).unwrap_or(spelled))
    }

    fn contains(&self, real: &Path) -> bool {
        self.root
            .as_ref()
            .is_some_and(|root| real.starts_with(root))
    }

    /// `path` resolved, unless a link under the tree leads it out. Walking
    /// the components as spelled tells a link that leaves the tree from a
    /// path spelled outside it (`..`, or absolute).
    fn resolve(&self, path: &Path) -> Result<Result<PathBuf, LinkOut>, PlanError> {
        let real = canonical(path)?;
        if self.contains(&real) {
            return Ok(Ok(real));
        }
        // Relative paths start at the current directory, the tree's root.
        let mut inside = path.is_relative() && self.root.is_some();
        let mut prefix = PathBuf::new();
        for component in path.components() {
            prefix.push(component);
            let here = canonical(&prefix)?;
            let now_inside = self.contains(&here);
            if inside
                && !now_inside
                && matches!(component, Component::Normal(_))
                && is_symlink(&prefix)
            {
                return Ok(Err(LinkOut {
                    link: prefix,
                    target: here,
                }));
            }
            inside = now_inside;
        }
        Ok(Ok(real))
    }

    /// `dir` (named by `flag`), resolved at `existing`, itself or the part of
    /// it that exists.
    fn output_dir(
        &self,
        flag: &'static str,
        dir: &Path,
        existing: &Path,
    ) -> Result<PathBuf, PlanError> {
        self.resolve(existing)?
            .map_err(|LinkOut { link, target }| PlanError::DirThroughLink {
                flag,
                dir: dir.to_owned(),
                link,
                target,
                root: self.root(),
            })
    }

    /// An artifact (or an argument) may be read: no link leads it out of the
    /// tree, and if it is outside, it is not itself a link. Its real path.
    fn check(&self, path: &Path) -> Result<PathBuf, PlanError> {
        let real = self.no_link_out(path)?;
        if !self.contains(&real) && is_symlink(path) {
            return Err(PlanError::LinkOutsideWorkTree {
                link: path.to_owned(),
                target: real,
                root: self.root(),
            });
        }
        Ok(real)
    }

    /// No link under the tree leads `path` out of it (a path spelled
    /// outside it is the user's choice, through whatever links are there:
    /// `/tmp` on macOS). Its real path.
    fn no_link_out(&self, path: &Path) -> Result<PathBuf, PlanError> {
        match self.resolve(path)? {
            Ok(real) => Ok(real),
            Err(LinkOut { link, target }) if link == path => Err(PlanError::LinkOutsideWorkTree {
                link,
                target,
                root: self.root(),
            }),
            Err(LinkOut { link, target }) => Err(PlanError::PathThroughLink {
                path: path.to_owned(),
                link,
                target,
                root: self.root(),
            }),
        }
    }

    /// [`Self::check`] of a file, cheaper when it is no link: a file that is
    /// no link is in its directory's real location under its own name, and
    /// passes wherever its directory does (its path adds no link to the
    /// walk), so the directory is resolved and checked once for all its
    /// files (a `realpath` per file showed in profiles of thousands of
    /// artifacts named one by one or by a glob). A link, a path without a
    /// file name, and a file whose directory is refused (a link outside the
    /// tree, which a file below it may pass through) go through `check`,
    /// which also words any refusal.
    fn check_file(&self, path: &Path, is_link: bool) -> Result<PathBuf, PlanError> {
        if !is_link {
            if let Some(name) = path.file_name() {
                if let Some(dir) = self.checked_dir(bundle_io::directory(path)) {
                    return Ok(dir.join(name));
                }
            }
        }
        self.check(path)
    }

    /// A file found by another's name (a bundle's artifact, an artifact's
    /// bundle) may be read, as a named one may ([`Self::check`]): its real
    /// path and identity, or `None` when nothing is there.
    pub(crate) fn check_found(
        &self,
        path: &Path,
    ) -> Result<Option<(PathBuf, Option<FileId>)>, PlanError> {
        let Ok(link) = path.symlink_metadata() else {
            return Ok(None);
        };
        let real = self.check_file(path, link.file_type().is_symlink())?;
        let file = std::fs::metadata(&real).ok().and_then(|m| FileId::of(&m));
        Ok(Some((real, file)))
    }

    /// `dir` resolved, if [`Self::check`] passes it; remembered.
    fn checked_dir(&self, dir: &Path) -> Option<PathBuf> {
        if let Some(known) = self.dirs.borrow().get(dir) {
            return known.clone();
        }
        let real = self.check(dir).ok();
        self.dirs.borrow_mut().insert(dir.to_owned(), real.clone());
        real
    }
}

/// A directory the run writes into (`flag` names its option) may be used:
/// no link under the working directory leads it out. Checked before it is
/// created, on the part that exists: what is created then holds no link.
/// The real path of that part: once `dir` exists, the one to write into,
/// not resolved again (a link swapped in meanwhile would be followed).
pub(crate) fn check_output_dir(flag: &'static str, dir: &Path) -> Result<PathBuf, PlanError> {
    let existing = dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.symlink_metadata().is_ok())
        .filter(|a| !a.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    WorkTree::current().output_dir(flag, dir, existing)
}

/// `verify --download DIR` can write into `dir` (created where missing):
/// told before any request, not after every asset was downloaded.
pub(crate) fn check_download_dir(dir: &Path) -> Result<(), PlanError> {
    if dir.symlink_metadata().is_ok() && !dir.is_dir() {
        return Err(PlanError::DownloadDir(dir.to_owned()));
    }
    let existing = check_output_dir("--download", dir)?;
    if !existing.is_dir() {
        return Err(PlanError::DownloadDir(dir.to_owned()));
    }
    let planned = WriteDir::planned(existing).map_err(|source| PlanError::WriteDir {
        dir: dir.to_owned(),
        source,
    })?;
    writable(dir, &planned)
}

/// `real`, the resolved `dir`, as the directory a write must go into.
/// `dir` (resolved: `real`) as a directory the run writes into; `writes`:
/// it will write there, so it must take files now (a read-only mount, a
/// directory of another user's), not be found not to once a log entry was
/// made for nothing.
fn write_dir(dir: &Path, real: PathBuf, writes: bool) -> Result<WriteDir, PlanError> {
    let failed = |source| PlanError::WriteDir {
        dir: dir.to_owned(),
        source,
    };
    let planned = WriteDir::planned(real).map_err(failed)?;
    if writes {
        writable(dir, &planned)?;
    }
    Ok(planned)
}

/// `dir` (planned: `planned`) takes new files, and has room for them.
fn writable(dir: &Path, planned: &WriteDir) -> Result<(), PlanError> {
    #[cfg(unix)]
    rustix::fs::access(planned.real(), rustix::fs::Access::WRITE_OK).map_err(|e| {
        PlanError::WriteDir {
            dir: dir.to_owned(),
            source: std::io::Error::from(e).into(),
        }
    })?;
    // Said before any request (a certificate is a CT log entry too); the
    // sign step looks again before each artifact is logged.
    planned.has_room().map_err(|source| PlanError::WriteDir {
        dir: dir.to_owned(),
        source,
    })?;
    #[cfg(not(unix))]
    let _ = (dir, planned);
    Ok(())
}

fn canonical(path: &Path) -> Result<PathBuf, PlanError> {
    std::fs::canonicalize(path).map_err(|source| PlanError::Io {
        path: path.to_owned(),
        source,
    })
}

fn is_symlink(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

/// Whether a component of `path` (a directory's or its file's name) starts with `.`.
fn has_hidden_part(path: &Path) -> bool {
    path.components()
        .any(|c| matches!(c, Component::Normal(n) if hidden_name(n)))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().is_some_and(hidden_name)
}

/// A dotfile's name, as `ls` and walking hide it.
fn hidden_name(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

fn has_glob_meta(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

/// A file in the running list, with how it was found.
struct Found {
    path: PathBuf,
    /// `path` resolved.
    real: PathBuf,
    size: u64,
    file: Option<FileId>,
    /// Named outright, not found in a directory or by a glob.
    named: bool,
}

/// Expand the arguments and name the bundles.
pub fn build(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let plan = build_in(&WorkTree::current(), input)?;
    // A run that signs nothing is refused, as a glob or directory that
    // yields nothing is: it would pass (exit 0), and with an upload make a
    // release of nothing.
    if plan.artifacts.is_empty() {
        return Err(PlanError::NothingToSign {
            skipped: skipped_list(&plan.skipped),
        });
    }
    Ok(plan)
}

/// A warning naming what was skipped for not being a regular file (a
/// link to nothing, say): the one skip that may be a release's artifact
/// its build left broken, which the run would otherwise pass over
/// without a word outside `-v` and the JSON report. Regression: a
/// dangling `dist/b.tgz` was left out of the release in silence.
pub fn skip_warnings(skipped: &[Skipped]) -> Vec<String> {
    let odd: Vec<Skipped> = skipped
        .iter()
        .filter(|k| k.reason == SkipReason::NotRegular)
        .cloned()
        .collect();
    if odd.is_empty() {
        return Vec::new();
    }
    vec![format!(
            "not signed, as not regular files (a link to nothing, a socket, a device): {}; if one is an artifact of the release, fix the step that made it and re-run",
            crate::text::line(skipped_list(&odd))
        )]
}

/// The first few skipped paths with their reasons, for an error line.
fn skipped_list(skipped: &[Skipped]) -> String {
    crate::text::first_of(
        skipped
            .iter()
            .map(|k| format!("{}: {}", k.path.display(), k.reason.describe())),
        5,
    )
}

/// The key under which two bundles are the same file: the real directory
/// and the name, or, where names fold case and Unicode form, the name
/// folded ([`crate::files::folded_name`]). The real directory, not the
/// path as spelled: `./d/X` and `d/x` are one place.
fn collision_key(real_dir: &Path, name: &std::ffi::OsStr, folds_case: bool) -> PathBuf {
    if folds_case {
        real_dir.join(crate::files::folded_name(&name.to_string_lossy()))
    } else {
        real_dir.join(name)
    }
}

/// [`build`] in `tree`: a caller that plans its arguments one by one shares
/// one tree, which remembers the directories it checked.
pub(crate) fn build_in(tree: &WorkTree, input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let output_dir = match input.output_dir {
        Some(dir) if !dir.is_dir() => return Err(PlanError::OutputDir(dir.to_owned())),
        // Whether it takes files is asked where a bundle will be written.
        Some(dir) => Some(write_dir(
            dir,
            tree.output_dir("--output-dir", dir, dir)?,
            false,
        )?),
        None => None,
    };
    let mut found: Vec<Found> = Vec::new();
    let mut skipped = Vec::new();
    for arg in input.args {
        expand(arg, input.recursive, tree, &mut found, &mut skipped)?;
    }

    // The same name reached twice (`dist/` and `dist/a.whl`, or `./a` and
    // `a`) is one artifact: the same file, and the same bundle. Two names
    // for one file (`b.whl`, a link to `a.whl`) are two artifacts: a
    // consumer gets each with its own bundle, so each is signed, or checked.
    // Each artifact's index, by its file and its bundle's real place.
    let mut seen = HashMap::new();
    let mut by_bundle: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut artifacts = Vec::with_capacity(found.len());
    let mut takes_files = std::collections::HashSet::new();
    for f in found {
        let bundle = bundle_io::bundle_path(&f.path, input.output_dir);
        // Refused here, not when the rename fails after the log entry is made.
        if input.writes_bundles
            && bundle
                .file_name()
                .is_some_and(|n| n.len() > crate::files::MAX_NAME_BYTES)
        {
            return Err(PlanError::BundleNameTooLong {
                artifact: f.path,
                bundle,
            });
        }
        // The artifact resolving inside the tree does not make its directory
        // do so (`dd/x.whl` with `dd` leading out and `x.whl` back in).
        let bundle_dir = match &output_dir {
            Some(dir) => dir.clone(),
            None => {
                let dir = bundle_io::directory(&bundle).to_owned();
                let known = tree.bundle_dirs.borrow().get(&dir).cloned();
                match known {
                    Some(real) => real,
                    None => {
                        let real = tree.resolve(&dir)?.map_err(|LinkOut { link, target }| {
                            PlanError::BundleThroughLink {
                                bundle: bundle.clone(),
                                link,
                                target,
                                root: tree.root(),
                            }
                        })?;
                        let real = write_dir(&dir, real, false)?;
                        tree.bundle_dirs.borrow_mut().insert(dir, real.clone());
                        real
                    }
                }
            }
        };
        let name = bundle.file_name().map(|n| bundle_dir.real().join(n));
        if let Some(&at) = seen.get(&(f.real.clone(), name.clone())) {
            // Found again: named outright if either was.
            let first: &mut PlannedArtifact = &mut artifacts[at];
            first.named |= f.named;
            continue;
        }
        seen.insert((f.real.clone(), name), artifacts.len());
        let key = collision_key(
            bundle_dir.real(),
            bundle.file_name().unwrap_or_default(),
            crate::files::FOLDS_CASE && input.writes_bundles,
        );
        if let Some(first) = by_bundle.insert(key, f.path.clone()) {
            return Err(PlanError::BundleCollision {
                first,
                second: f.path,
                bundle,
            });
        }
        // An existing bundle is read when an upload reuses it (with
        // --overwrite it is not: the rename replaces a link, never follows
        // it, and a dangling one is no bundle to read).
        if input.writes_bundles && !input.overwrite && is_symlink(&bundle) && bundle.exists() {
            tree.check(&bundle)?;
        }
        // No rename replaces a directory: refused here, not after the log
        // entry is made.
        if input.writes_bundles && bundle.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            return Err(PlanError::BundleIsDirectory(bundle));
        }
        let blocked = !input.overwrite && bundle.symlink_metadata().is_ok();
        // Where a bundle will be written, its directory must take files: a
        // read-only one is refused here, not after the log entry is made.
        // (One whose bundles all exist and are kept is only read.)
        if input.writes_bundles && !blocked && takes_files.insert(bundle_dir.real().to_owned()) {
            writable(bundle_io::directory(&bundle), &bundle_dir)?;
        }
        artifacts.push(PlannedArtifact {
            path: f.path,
            size: f.size,
            bundle,
            blocked_by_existing_bundle: blocked,
            file: f.file,
            bundle_dir,
            real: f.real,
            named: f.named,
        });
    }
    // An artifact that is (a link to) another's bundle would be replaced by
    // that bundle after it was signed: its own bundle would then describe a
    // file that is gone.
    if input.writes_bundles {
        let folds = crate::files::FOLDS_CASE;
        for a in &artifacts {
            let (Some(dir), Some(name)) = (a.real.parent(), a.real.file_name()) else {
                continue;
            };
            if let Some(owner) = by_bundle.get(&collision_key(dir, name, folds)) {
                return Err(PlanError::ArtifactIsBundle {
                    artifact: a.path.clone(),
                    owner: owner.clone(),
                });
            }
        }
    }
    Ok(Plan {
        artifacts,
        skipped,
        provenance: None,
        keep_verified_bundles: false,
    })
}

/// Plan the provenance file `name` (already checked to be a plain
/// `*.intoto.jsonl` name) next to `plan`'s bundles: in `output_dir`, else
/// the working directory; refused when it is an artifact named outright,
/// when its directory leads out of the working tree, or when it exists
/// (unless `replace`). Found in a directory or by a glob (an earlier
/// run's, where `dist/` is both what is signed and where the provenance
/// goes), it is taken out of the artifacts and listed as skipped: the
/// re-run the README describes, and `--overwrite`, replace it. `reads`:
/// one there is read before it is replaced (a re-run that uploads, without
/// `--overwrite`), so a link leading out of the tree is refused, as for a
/// bundle (a rename replaces a link, never follows it).
pub fn provenance(
    plan: &mut Plan,
    name: &str,
    output_dir: Option<&Path>,
    replace: bool,
    reads: bool,
) -> Result<PlannedProvenance, PlanError> {
    provenance_where(
        plan,
        name,
        output_dir,
        (replace, reads),
        crate::files::FOLDS_CASE,
    )
}

/// [`provenance`] on a file system that folds names (`folds`) or not.
fn provenance_where(
    plan: &mut Plan,
    name: &str,
    output_dir: Option<&Path>,
    (replace, reads): (bool, bool),
    folds: bool,
) -> Result<PlannedProvenance, PlanError> {
    let tree = WorkTree::current();
    let (path, dir) = match output_dir {
        Some(dir) => (dir.join(name), dir),
        None => (PathBuf::from(name), Path::new(".")),
    };
    let real_dir =
        tree.resolve(dir)?
            .map_err(|LinkOut { link, target }| PlanError::BundleThroughLink {
                bundle: path.clone(),
                link,
                target,
                root: tree.root(),
            })?;
    // Where names fold case and Unicode form, `Build.intoto.jsonl` is
    // `build.intoto.jsonl`: keyed as bundles are.
    let key = collision_key(&real_dir, std::ffi::OsStr::new(name), folds);
    let real_dir = write_dir(dir, real_dir, true)?;
    let is_it = |a: &PlannedArtifact| {
        std::fs::canonicalize(&a.path).is_ok_and(|p| {
            matches!((p.parent(), p.file_name()), (Some(d), Some(n)) if collision_key(d, n, folds) == key)
        })
    };
    let (found, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut plan.artifacts)
        .into_iter()
        .partition(is_it);
    plan.artifacts = rest;
    let named = found.iter().any(|a| a.named);
    plan.skipped.extend(found.into_iter().map(|a| Skipped {
        path: a.path,
        reason: SkipReason::Provenance,
    }));
    if named {
        return Err(PlanError::ProvenanceIsArtifact(path));
    }
    if plan.artifacts.is_empty() {
        return Err(PlanError::NothingToSign {
            skipped: skipped_list(&plan.skipped),
        });
    }
    // No rename replaces a directory: refused here, not after the
    // statement is logged.
    let there = path.symlink_metadata();
    if there.as_ref().is_ok_and(|m| m.is_dir()) {
        return Err(PlanError::ProvenanceIsDirectory(path));
    }
    if !replace && there.is_ok() {
        return Err(PlanError::ProvenanceExists(path));
    }
    // One there is read (a re-run keeps or replaces it by what it
    // attests): a link out of the tree is held to the rule bundles are.
    if reads && is_symlink(&path) && path.exists() {
        tree.check(&path)?;
    }
    Ok(PlannedProvenance {
        path,
        dir: real_dir,
        replace,
    })
}

fn expand(
    arg: &str,
    recursive: bool,
    tree: &WorkTree,
    found: &mut Vec<Found>,
    skipped: &mut Vec<Skipped>,
) -> Result<(), PlanError> {
    let path = Path::new(arg);
    // Whatever is there is checked first; a path that is not is reported.
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            let is_link = path.symlink_metadata().map_or(true, |l| l.is_symlink());
            let real = tree.check_file(path, is_link)?;
            // Named outright: signed even if hidden, but a bundle is never signed.
            if bundle_io::is_bundle(path) {
                skipped.push(Skipped {
                    path: path.to_owned(),
                    reason: SkipReason::Bundle,
                });
                return Ok(());
            }
            match checked_file(&real) {
                Some(meta) => found.push(Found {
                    path: path.to_owned(),
                    real,
                    size: meta.len(),
                    file: FileId::of(&meta),
                    named: true,
                }),
                None => skipped.push(Skipped {
                    path: path.to_owned(),
                    reason: SkipReason::NotRegular,
                }),
            }
            Ok(())
        }
        Ok(meta) if meta.is_dir() => {
            tree.check(path)?;
            let before = found.len();
            walk_dir(path, recursive, tree, found, skipped)?;
            if found.len() == before {
                return Err(PlanError::EmptyDirectory(path.to_owned()));
            }
            Ok(())
        }
        Ok(_) => {
            tree.check(path)?;
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

/// The file at `real`, the path the tree check resolved (no link in it),
/// if it is a regular file: its identity is taken there, after the check.
/// The stat before the check followed whatever the path named then, and a
/// link swapped in for that moment would have recorded another file (a
/// secret outside the tree), which the open at signing would then accept.
fn checked_file(real: &Path) -> Option<std::fs::Metadata> {
    std::fs::symlink_metadata(real).ok().filter(|m| m.is_file())
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
    let is_link = link.file_type().is_symlink();
    let meta = if is_link {
        std::fs::metadata(&path)
    } else {
        Ok(link)
    };
    match meta {
        Ok(m) if m.is_file() => {
            if bundle_io::is_bundle(&path) {
                // Not signed, but read (verified, or reused when uploading).
                tree.check_file(&path, is_link)?;
                skipped.push(Skipped {
                    path,
                    reason: SkipReason::Bundle,
                });
            } else {
                let real = tree.check_file(&path, is_link)?;
                // A hidden file is never found (`.git/config` holds the
                // job's token after actions/checkout, `.env` others'):
                // nor is it through a link, of the file or of a directory.
                if tree.led_into_hidden(&path, &real) {
                    return Err(PlanError::LinkToHidden {
                        link: path,
                        target: real,
                    });
                }
                match checked_file(&real) {
                    Some(m) => found.push(Found {
                        path,
                        real,
                        size: m.len(),
                        file: FileId::of(&m),
                        named: false,
                    }),
                    None => skipped.push(Skipped {
                        path,
                        reason: SkipReason::NotRegular,
                    }),
                }
            }
        }
        Ok(m) if m.is_dir() && !is_link => subdirs.push(path),
        Ok(m) if m.is_dir() => skipped.push(Skipped {
            path,
            reason: SkipReason::LinkedDirectory,
        }),
        _ => skipped.push(Skipped {
            path,
            reason: SkipReason::NotRegular,
        }),
    }
    Ok(())
}

/// The files `pattern` matches, found by walking the directories it can
/// reach: from its leading literal part, component by component (a literal
/// one is looked up, not listed; a wildcard lists its directory; under `**`
/// every directory below is listed), never into a directory that is a
/// symbolic link (as `--recursive` does not: a link to `.` or `/` would
/// never end, and one leading out of the tree would be walked before it is
/// refused), nor into a hidden one unless the pattern names a hidden part.
/// Each path is then held to the pattern, spelled as its components
/// (`dist//*.whl` and `dist/./*.whl` are `dist/*.whl`), where `*` never
/// matches `/` or a leading `.`.
fn expand_glob(
    pattern: &str,
    tree: &WorkTree,
    found: &mut Vec<Found>,
    skipped: &mut Vec<Skipped>,
) -> Result<(), PlanError> {
    // The directory the walk starts from is checked before it is walked: a
    // link out of the tree there (`dist -> /`) would have the walk read
    // the whole file system, and then fail on what it matched, or on
    // nothing.
    let (base, _) = literal_base(pattern);
    if !base.as_os_str().is_empty() && base.is_dir() {
        tree.no_link_out(&base)?;
    }
    let matches = glob_matches(pattern, &mut listed)?;
    let (before, skipped_before) = (found.len(), skipped.len());
    let mut dirs = Vec::new();
    for path in matches {
        classify(path, tree, found, skipped, &mut dirs)?;
    }
    // Bundles matched are something: verify checks each one's artifact
    // (`verify 'dist/*.sigstore.json'`), and sign says it signs no bundle.
    let bundles = skipped[skipped_before..]
        .iter()
        .any(|s| s.reason == SkipReason::Bundle);
    skipped.extend(dirs.into_iter().map(|path| Skipped {
        path,
        reason: SkipReason::Directory,
    }));
    if found.len() == before && !bundles {
        return Err(PlanError::NoMatch {
            pattern: pattern.to_owned(),
        });
    }
    Ok(())
}

/// A directory's entries' names, sorted.
fn listed(dir: &Path) -> Result<Vec<std::ffi::OsString>, PlanError> {
    let io = |source| PlanError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    names.sort();
    Ok(names)
}

/// The paths `pattern` matches, sorted, with `list` reading directories.
fn glob_matches(
    pattern: &str,
    list: &mut dyn FnMut(&Path) -> Result<Vec<std::ffi::OsString>, PlanError>,
) -> Result<Vec<PathBuf>, PlanError> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let bad = |reason: &str| PlanError::BadPattern {
        pattern: pattern.to_owned(),
        reason: reason.to_owned(),
    };
    let (base, rest) = literal_base(pattern);
    if rest.iter().any(|c| c == "..") {
        return Err(bad(
            "`..` after a wildcard names no directory the walk reaches; name the directory without it",
        ));
    }
    let spelled: PathBuf = base.iter().chain(rest.iter().map(OsStr::new)).collect();
    let compiled = glob::Pattern::new(&spelled.to_string_lossy()).map_err(|e| bad(e.msg))?;
    let hidden = rest.iter().any(|c| c.starts_with('.'));
    let mut matches: Vec<PathBuf> = Vec::new();
    let start = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base.as_path()
    };
    if start.is_dir() {
        reach_into(&base, start, &rest, hidden, list, &mut |path| {
            // Matched as text with any invalid UTF-8 replaced: glob matches a
            // path it cannot read as UTF-8 to nothing, so `dist/*` dropped
            // such a file without a word (`sign dist/` signs it).
            if compiled.matches_with(&path.to_string_lossy(), options) {
                matches.push(path.to_owned());
            }
        })?;
    }
    matches.sort();
    Ok(matches)
}

/// `pattern`'s leading components with no glob character (`dist` of
/// `dist/**/*.whl`, empty for `*.whl`), and the components after them.
fn literal_base(pattern: &str) -> (PathBuf, Vec<String>) {
    let mut base = PathBuf::new();
    let mut rest = Vec::new();
    for c in Path::new(pattern).components() {
        let text = c.as_os_str().to_string_lossy();
        if rest.is_empty() && !has_glob_meta(&text) {
            base.push(c);
        } else {
            rest.push(text.into_owned());
        }
    }
    (base, rest)
}

/// The paths under `dir` (spelled `spelled`: empty for the working
/// directory, so that paths read `a.whl`, not `./a.whl`) that the pattern
/// components `rest` may match, given to `seen`; `hidden`: whether the
/// pattern names a hidden part anywhere (under `**`, hidden directories are
/// entered only then).
fn reach_into(
    spelled: &Path,
    dir: &Path,
    rest: &[String],
    hidden: bool,
    list: &mut dyn FnMut(&Path) -> Result<Vec<std::ffi::OsString>, PlanError>,
    seen: &mut dyn FnMut(&Path),
) -> Result<(), PlanError> {
    let Some((first, tail)) = rest.split_first() else {
        return Ok(());
    };
    let real_dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    // A literal component: that one name, if it is there.
    if first != "**" && !has_glob_meta(first) {
        let (path, at) = (spelled.join(first), dir.join(first));
        if tail.is_empty() {
            if std::fs::symlink_metadata(&at).is_ok() {
                seen(&path);
            }
        } else if real_dir(&at) {
            reach_into(&path, &at, tail, hidden, list, seen)?;
        }
        return Ok(());
    }
    let names = list(dir)?;
    let globstar = first == "**";
    for name in names {
        let (path, at) = (spelled.join(&name), dir.join(&name));
        let is_hidden = name.as_encoded_bytes().first() == Some(&b'.');
        if globstar {
            // Every path below is offered; the pattern decides.
            seen(&path);
            if real_dir(&at) && (hidden || !is_hidden) {
                reach_into(&path, &at, rest, hidden, list, seen)?;
            }
            continue;
        }
        if tail.is_empty() {
            seen(&path);
        } else if real_dir(&at) && (first.starts_with('.') || !is_hidden) {
            reach_into(&path, &at, tail, hidden, list, seen)?;
        }
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
                writes_bundles: true,
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

    /// The identity is the checked path's own: a link there (swapped in
    /// after the check) is no file of the plan's.
    #[cfg(unix)]
    #[test]
    fn the_identity_is_taken_at_the_checked_path() {
        let t = Tree::new(&["dist/a.whl", "secret"]);
        let file = t.0.path().join("dist/a.whl");
        let meta = checked_file(&file).unwrap();
        assert_eq!(
            FileId::of(&meta),
            FileId::of(&std::fs::metadata(&file).unwrap())
        );
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(t.0.path().join("secret"), &file).unwrap();
        assert!(checked_file(&file).is_none());
    }

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

    /// A link to a directory, found with `--recursive`, is said as a link
    /// that is not followed. Regression: "a directory (use --recursive to
    /// descend ...)", with `--recursive` given.
    #[cfg(unix)]
    #[test]
    fn a_linked_directory_is_said_as_a_link_not_followed() {
        let t = Tree::new(&["dist/a.tgz", "other/b.tgz"]);
        std::os::unix::fs::symlink(t.0.path().join("other"), t.0.path().join("dist/linked"))
            .unwrap();
        for recursive in [false, true] {
            let plan = t.plan(&[t.p("dist")], recursive).unwrap();
            assert_eq!(t.rel(&plan), ["dist/a.tgz"]);
            let linked: Vec<_> = plan.skipped.iter().map(|s| s.reason).collect();
            assert_eq!(linked, [SkipReason::LinkedDirectory], "{recursive}");
            assert!(!linked[0].describe().contains("--recursive"));
        }
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

    /// A pattern is matched as its components say: a doubled `/` or a `.`
    /// (`$OUT/*.whl` with `OUT=dist/`) changes nothing.
    #[test]
    fn a_pattern_spelled_with_extra_separators_matches_the_same() {
        let t = Tree::new(DIST);
        for pattern in ["dist//*.whl", "dist/./*.whl", "./dist/*.whl"] {
            let plan = t.plan(&[t.p(pattern)], false).unwrap();
            assert_eq!(t.rel(&plan).len(), 1, "{pattern}");
        }
        assert!(matches!(
            t.plan(&[t.p("*/../dist/*.whl")], false),
            Err(PlanError::BadPattern { .. })
        ));
    }

    /// A literal part of a pattern is looked up, not listed: a directory the
    /// pattern cannot reach (one unreadable there would stop the plan) is
    /// never read.
    #[test]
    fn a_pattern_reads_only_the_directories_it_can_match() {
        let t = Tree::new(&["pkgs/a/dist/x.whl", "pkgs/a/private/secret"]);
        let mut read = Vec::new();
        let matched = glob_matches(&t.p("pkgs/*/dist/*.whl"), &mut |dir| {
            read.push(dir.to_owned());
            listed(dir)
        })
        .unwrap();
        assert_eq!(matched, [t.0.path().join("pkgs/a/dist/x.whl")]);
        let read: Vec<_> = read
            .iter()
            .map(|d| d.strip_prefix(t.0.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(read, ["pkgs", "pkgs/a/dist"]);
    }

    #[test]
    fn a_pattern_matching_nothing_is_an_error_naming_it() {
        let t = Tree::new(DIST);
        let pattern = t.p("dist/*.rpm");
        let err = t.plan(std::slice::from_ref(&pattern), false).unwrap_err();
        assert!(matches!(&err, PlanError::NoMatch { pattern: p } if *p == pattern));
        assert!(err.to_string().contains(&pattern));
        // Matching only bundles matched something (verify checks their
        // artifacts), but nothing to sign: said so, naming them.
        let err = t.plan(&[t.p("dist/*.json")], false).unwrap_err();
        assert!(
            matches!(&err, PlanError::NothingToSign { skipped } if skipped.contains("a bundle")),
            "{err}"
        );
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

    /// A directory's entries are not resolved one by one: their real paths
    /// come from the directory's. They must be what resolving would give,
    /// however the directory was spelled, at any depth.
    #[test]
    fn entries_found_in_directories_have_their_real_paths() {
        let t = Tree::new(DIST);
        let args = [t.p("dist/sub/.."), t.p("dist/./b.whl")];
        let plan = t.plan(&args, true).unwrap();
        assert_eq!(plan.artifacts.len(), 3, "b.whl is listed once");
        for a in &plan.artifacts {
            assert_eq!(a.real, std::fs::canonicalize(&a.path).unwrap(), "{a:?}");
            assert_ne!(a.real, a.path, "spelled with `..`");
        }
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

    /// An artifact whose bundle name would pass the file-name limit is
    /// refused at planning, before its log entry, not when the rename fails.
    #[test]
    fn a_bundle_name_too_long_for_a_file_is_refused_at_planning() {
        let longest = format!("dist/{}", "a".repeat(241));
        let too_long = format!("dist/{}", "b".repeat(242));
        let t = Tree::new(&[longest.as_str(), too_long.as_str()]);
        assert_eq!(t.plan(&[t.p(&longest)], false).unwrap().artifacts.len(), 1);
        let err = t.plan(&[t.p(&too_long)], false).unwrap_err();
        assert!(matches!(err, PlanError::BundleNameTooLong { .. }), "{err}");
        assert!(err
            .to_string()
            .contains("fix: give the artifact a shorter name"));
        // A run that only reads bundles (verify) plans it: it has none.
        let args = [t.p(&too_long)];
        let plan = build(&PlanInput {
            args: &args,
            recursive: false,
            output_dir: None,
            overwrite: true,
            writes_bundles: false,
        })
        .unwrap();
        assert_eq!(plan.artifacts.len(), 1);
    }

    /// The provenance file is refused when it is one of the artifacts: by
    /// its name, and where names fold, by any spelling of it. Regression:
    /// compared as spelled, so on macOS and Windows `Build.intoto.jsonl`
    /// replaced `build.intoto.jsonl` after it was signed.
    #[test]
    fn a_provenance_file_that_is_an_artifact_is_refused() {
        let t = Tree::new(&["dist/a.whl", "dist/build.intoto.jsonl"]);
        let dist = t.0.path().join("dist");
        let named = [t.p("dist/a.whl"), t.p("dist/build.intoto.jsonl")];
        for (name, folds, refused) in [
            ("build.intoto.jsonl", false, true),
            ("build.intoto.jsonl", true, true),
            ("Build.intoto.jsonl", true, true),
            ("BUILD.INTOTO.JSONL", true, true),
            ("Build.intoto.jsonl", false, false),
            ("other.intoto.jsonl", true, false),
        ] {
            let mut plan = t.plan(&named, false).unwrap();
            let r = provenance_where(&mut plan, name, Some(&dist), (true, false), folds);
            assert_eq!(
                matches!(r, Err(PlanError::ProvenanceIsArtifact(_))),
                refused,
                "{name} folds={folds}: {r:?}"
            );
        }
    }

    /// An earlier run's provenance found by walking the directory it went
    /// to (`dist/`, signed and written into): taken out of the artifacts,
    /// listed as skipped, and replaced by the re-run. Regression: refused
    /// as an artifact, so the re-run the README describes, and
    /// `--overwrite`, could not be made without deleting it.
    #[test]
    fn an_earlier_provenance_found_among_the_artifacts_is_skipped() {
        let t = Tree::new(&["dist/a.whl", "dist/build.intoto.jsonl"]);
        let dist = t.0.path().join("dist");
        let mut plan = t.plan(&[t.p("dist")], false).unwrap();
        assert_eq!(plan.artifacts.len(), 2);
        let p = provenance_where(
            &mut plan,
            "build.intoto.jsonl",
            Some(&dist),
            (true, false),
            false,
        )
        .unwrap();
        assert_eq!(p.path, dist.join("build.intoto.jsonl"));
        let left: Vec<_> = plan.artifacts.iter().map(|a| a.path.clone()).collect();
        assert_eq!(left, [dist.join("a.whl")]);
        assert!(plan.skipped.contains(&Skipped {
            path: dist.join("build.intoto.jsonl"),
            reason: SkipReason::Provenance,
        }));
        // Without replacing, it is refused as existing, as before.
        let mut plan = t.plan(&[t.p("dist")], false).unwrap();
        assert!(matches!(
            provenance_where(
                &mut plan,
                "build.intoto.jsonl",
                Some(&dist),
                (false, false),
                false
            ),
            Err(PlanError::ProvenanceExists(_))
        ));
        // Named outright as well as found: named, whatever the order.
        for args in [
            [t.p("dist"), t.p("dist/build.intoto.jsonl")],
            [t.p("dist/build.intoto.jsonl"), t.p("dist")],
        ] {
            let mut plan = t.plan(&args, false).unwrap();
            assert!(matches!(
                provenance_where(
                    &mut plan,
                    "build.intoto.jsonl",
                    Some(&dist),
                    (true, false),
                    false
                ),
                Err(PlanError::ProvenanceIsArtifact(_))
            ));
        }
        // Nothing left to sign is said as such.
        let t = Tree::new(&["only/build.intoto.jsonl"]);
        let only = t.0.path().join("only");
        let mut plan = t.plan(&[t.p("only")], false).unwrap();
        assert!(matches!(
            provenance_where(
                &mut plan,
                "build.intoto.jsonl",
                Some(&only),
                (true, false),
                false
            ),
            Err(PlanError::NothingToSign { .. })
        ));
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
            writes_bundles: true,
        })
        .unwrap();
        assert_eq!(plan.artifacts[0].bundle, out.join("app.whl.sigstore.json"));
        let args = [t.p("x/app.whl"), t.p("y")];
        let err = build(&PlanInput {
            args: &args,
            recursive: false,
            output_dir: Some(&out),
            overwrite: false,
            writes_bundles: true,
        })
        .unwrap_err();
        assert!(matches!(err, PlanError::BundleCollision { .. }), "{err}");
        assert!(err.to_string().contains("app.whl.sigstore.json"));
        // Where names fold case (macOS, Windows), `App.whl` and `app.whl`
        // write one bundle; elsewhere they are two files.
        let out = Path::new("/w/out");
        let (upper, lower) = (
            std::ffi::OsStr::new("App.whl.sigstore.json"),
            std::ffi::OsStr::new("app.whl.sigstore.json"),
        );
        assert_eq!(
            collision_key(out, upper, true),
            collision_key(out, lower, true)
        );
        assert_ne!(
            collision_key(out, upper, false),
            collision_key(out, lower, false)
        );
        // So do names in NFC and NFD (APFS).
        let (nfc, nfd) = (
            std::ffi::OsStr::new("caf\u{e9}.whl.sigstore.json"),
            std::ffi::OsStr::new("cafe\u{301}.whl.sigstore.json"),
        );
        assert_eq!(collision_key(out, nfc, true), collision_key(out, nfd, true));
        let missing = t.0.path().join("missing");
        let err = build(&PlanInput {
            args: &args,
            recursive: false,
            output_dir: Some(&missing),
            overwrite: false,
            writes_bundles: true,
        })
        .unwrap_err();
        assert!(matches!(err, PlanError::OutputDir(_)));
    }

    /// A path that cannot be read is refused with the fix for why: a
    /// link that loops, or a file where a directory is meant, is no matter
    /// of permissions. Regression: every one said "check its permissions".
    #[cfg(unix)]
    #[test]
    fn a_path_that_cannot_be_read_names_the_fix_for_why() {
        let t = Tree::new(&["dist/a.tgz"]);
        std::os::unix::fs::symlink("loop", t.0.path().join("loop")).unwrap();
        let e = t.plan(&[t.p("loop")], false).unwrap_err().to_string();
        assert!(
            e.contains("remove or repair the symbolic link on the path that loops"),
            "{e}"
        );
        let e = t
            .plan(&[t.p("dist/a.tgz/x")], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a part of it is a file, not a directory"), "{e}");
        assert!(!e.contains("permissions"), "{e}");
    }

    /// A link found in a directory or by a glob to a hidden file in the
    /// tree (`dist/NOTICE -> ../.git/config`, where actions/checkout keeps
    /// the job's token) is refused, as the hidden file itself is never
    /// found; named outright, it is the user's choice. Regression: it was
    /// signed, and with --upload-artifacts published.
    #[cfg(unix)]
    #[test]
    fn a_link_found_to_a_hidden_file_is_refused() {
        let t = Tree::new(&["w/.git/config", "w/dist/a.whl", "w/.env"]);
        let root = std::fs::canonicalize(t.0.path().join("w")).unwrap();
        let tree = WorkTree::at(Some(root));
        std::os::unix::fs::symlink("../.git/config", t.0.path().join("w/dist/NOTICE")).unwrap();
        let plan = |arg: String| {
            build_in(
                &tree,
                &PlanInput {
                    args: &[arg],
                    recursive: false,
                    output_dir: None,
                    overwrite: false,
                    writes_bundles: true,
                },
            )
        };
        for arg in [t.p("w/dist"), t.p("w/dist/*")] {
            match plan(arg.clone()) {
                Err(e @ PlanError::LinkToHidden { .. }) => {
                    assert!(e.to_string().contains("dist/NOTICE"), "{e}");
                }
                other => panic!("{arg}: {other:?}"),
            }
        }
        assert!(plan(t.p("w/dist/NOTICE")).is_ok(), "named outright");
        std::fs::remove_file(t.0.path().join("w/dist/NOTICE")).unwrap();
        assert_eq!(t.rel(&plan(t.p("w/dist")).unwrap()), ["w/dist/a.whl"]);
        // Through a link to a hidden directory, walked or globbed.
        // Regression: only a link of the file itself was refused.
        std::os::unix::fs::symlink(".git", t.0.path().join("w/conf")).unwrap();
        for arg in [t.p("w/conf"), t.p("w/conf/*")] {
            assert!(
                matches!(plan(arg.clone()), Err(PlanError::LinkToHidden { .. })),
                "{arg}"
            );
        }
        // Not refused: a hidden place the path names itself, and
        // git-annex's object store (every annexed file links into it).
        std::fs::create_dir_all(t.0.path().join("w/.dist")).unwrap();
        std::fs::write(t.0.path().join("w/.dist/app.tgz"), "app").unwrap();
        std::os::unix::fs::symlink("app.tgz", t.0.path().join("w/.dist/latest.tgz")).unwrap();
        assert_eq!(
            t.rel(&plan(t.p("w/.dist")).unwrap()),
            ["w/.dist/app.tgz", "w/.dist/latest.tgz"]
        );
        let object = t.0.path().join("w/.git/annex/objects/Xx/Yy/K/K");
        std::fs::create_dir_all(object.parent().unwrap()).unwrap();
        std::fs::write(&object, "annexed").unwrap();
        std::os::unix::fs::symlink(
            "../.git/annex/objects/Xx/Yy/K/K",
            t.0.path().join("w/dist/data.tgz"),
        )
        .unwrap();
        assert_eq!(
            t.rel(&plan(t.p("w/dist")).unwrap()),
            ["w/dist/a.whl", "w/dist/data.tgz"]
        );
    }

    /// The working-tree rule on absolute spellings, with the tree given:
    /// links that stay inside are followed, a link under the tree that
    /// leads out is refused at whatever component it is, and a path spelled
    /// outside the tree (`..`) is the caller's choice.
    #[cfg(unix)]
    #[test]
    fn only_links_under_the_tree_that_lead_out_are_refused() {
        let t = Tree::new(&["w/build/a.whl", "w/sub/b.whl", "out/key", "out/x.whl"]);
        let root = std::fs::canonicalize(t.0.path().join("w")).unwrap();
        let tree = WorkTree::at(Some(root.clone()));
        let link = |target: &str, at: &str| {
            std::os::unix::fs::symlink(t.0.path().join(target), t.0.path().join(at)).unwrap()
        };
        link("w/build", "w/dist");
        link("out", "w/dd");
        link("out/key", "w/key.whl");
        let ok = |rel: &str| tree.check(Path::new(&t.p(rel)));
        assert!(ok("w/dist/a.whl").is_ok());
        assert!(ok("w/sub/../build/a.whl").is_ok());
        assert!(ok("w/../out/key").is_ok(), "spelled outside the tree");
        assert!(ok("out/x.whl").is_ok(), "spelled outside the tree");
        for (rel, at) in [("w/dd/key", "w/dd"), ("w/dd/../w/dd/x.whl", "w/dd")] {
            match ok(rel) {
                Err(PlanError::PathThroughLink { link, target, .. }) => {
                    assert_eq!(link, Path::new(&t.p(at)), "{rel}");
                    assert!(!target.starts_with(&root), "{rel}");
                }
                other => panic!("{rel}: {other:?}"),
            }
        }
        assert!(matches!(
            ok("w/key.whl"),
            Err(PlanError::LinkOutsideWorkTree { .. })
        ));
        // The same link named from outside the tree is still a link out of it.
        link("out/key", "out/k.whl");
        assert!(matches!(
            ok("out/k.whl"),
            Err(PlanError::LinkOutsideWorkTree { .. })
        ));

        // A file checked through its directory (remembered) gets exactly
        // what checking it alone gives, through every kind of link above.
        link("w/build", "out/into");
        link("out", "out2");
        let cached = WorkTree::at(Some(root.clone()));
        for rel in [
            "w/dist/a.whl",
            "w/sub/../build/a.whl",
            "w/../out/key",
            "out/x.whl",
            "w/dd/key",
            "w/dd/../w/dd/x.whl",
            "w/key.whl",
            "out/k.whl",
            "out/into/a.whl",
            "out2/x.whl",
            "w/sub/b.whl",
        ] {
            let path = PathBuf::from(t.p(rel));
            let is_link = path.symlink_metadata().unwrap().is_symlink();
            for _ in 0..2 {
                assert_eq!(
                    format!("{:?}", cached.check_file(&path, is_link)),
                    format!("{:?}", tree.check(&path)),
                    "{rel}"
                );
            }
        }
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
            writes_bundles: true,
        })
        .unwrap();
        assert!(plan.artifacts.iter().all(|a| !a.blocked_by_existing_bundle));
    }
}
