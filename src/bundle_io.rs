//! Bundle files: naming, the exact JSON written, atomic writes, capped reads.
//!
//! Owns `<artifact>.sigstore.json` naming, the JSON shape strict readers
//! (sigstore-python) require, and the guarantee that a bundle file is either
//! absent or complete, written into the very directory the plan checked
//! (never through a link swapped in, nor into a directory put in its place,
//! after planning). It does not build or verify bundles.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sigstore_types::Bundle;

use crate::files::{self, FileError, FileId};

/// Appended to an artifact's file name to name its bundle.
pub(crate) const BUNDLE_SUFFIX: &str = ".sigstore.json";

/// Bundles are a few KiB; anything far larger is not a bundle.
pub(crate) const MAX_BUNDLE_BYTES: u64 = 4 * 1024 * 1024;

/// Where the bundle of `artifact` goes: next to it, or in `output_dir`.
pub(crate) fn bundle_path(artifact: &Path, output_dir: Option<&Path>) -> PathBuf {
    let mut name = artifact
        .file_name()
        .unwrap_or(artifact.as_os_str())
        .to_owned();
    name.push(BUNDLE_SUFFIX);
    match output_dir {
        Some(dir) => dir.join(name),
        None => artifact.with_file_name(name),
    }
}

/// The directory a file at `path` is in (`.` for a bare name).
pub fn directory(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Whether `path` is named like a bundle.
pub(crate) fn is_bundle(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(BUNDLE_SUFFIX))
}

#[derive(Debug, thiserror::Error)]
pub enum BundleIoError {
    #[error("bundle {} already exists; fix: pass --overwrite to replace it", .0.display())]
    Exists(PathBuf),
    #[error("cannot write bundle {}: {source}; fix: check that its directory exists and is writable", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write bundle {}: its directory is no longer the one the run started with ({}; it now leads to {}: moved, replaced or linked elsewhere), so it was not written; fix: leave the directories alone while the run goes on, and run again", path.display(), planned.display(), now.display())]
    Moved {
        path: PathBuf,
        planned: PathBuf,
        now: PathBuf,
    },
    #[error("cannot read bundle {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    NotRead(FileError),
    #[error("{} is larger than {MAX_BUNDLE_BYTES} bytes, so it is not a Sigstore bundle; fix: pass the `.sigstore.json` file written by the signer", .0.display())]
    TooLarge(PathBuf),
    #[error("cannot serialize the bundle: {0}")]
    Serialize(String),
}

/// The bundle as written: pretty JSON, with the fields proto3 writers omit but
/// sigstore-python requires (`inclusionProof.hashes` and `logIndex` even when
/// empty or zero, 64-bit integers as strings).
pub fn to_json(bundle: &Bundle) -> Result<Vec<u8>, BundleIoError> {
    let mut value =
        serde_json::to_value(bundle).map_err(|e| BundleIoError::Serialize(e.to_string()))?;
    normalize(&mut value);
    let mut out =
        serde_json::to_vec_pretty(&value).map_err(|e| BundleIoError::Serialize(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// The bundle as one line of JSON Lines (`.intoto.jsonl`, as GitHub's
/// attestation downloads and slsa-github-generator write them): the same
/// fields as [`to_json`], compact, ending in one newline.
pub(crate) fn to_json_line(bundle: &Bundle) -> Result<Vec<u8>, BundleIoError> {
    let mut value =
        serde_json::to_value(bundle).map_err(|e| BundleIoError::Serialize(e.to_string()))?;
    normalize(&mut value);
    let mut out =
        serde_json::to_vec(&value).map_err(|e| BundleIoError::Serialize(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

fn normalize(bundle: &mut Value) {
    let Some(entries) = bundle
        .pointer_mut("/verificationMaterial/tlogEntries")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for entry in entries {
        let Some(entry) = entry.as_object_mut() else {
            continue;
        };
        uint64_as_string(entry, "logIndex", true);
        uint64_as_string(entry, "integratedTime", false);
        if let Some(proof) = entry
            .get_mut("inclusionProof")
            .and_then(Value::as_object_mut)
        {
            uint64_as_string(proof, "logIndex", true);
            uint64_as_string(proof, "treeSize", true);
            proof
                .entry("hashes")
                .or_insert_with(|| Value::Array(Vec::new()));
        }
    }
}

fn uint64_as_string(obj: &mut serde_json::Map<String, Value>, key: &str, required: bool) {
    match obj.get(key) {
        Some(Value::Number(n)) => {
            let s = n.to_string();
            obj.insert(key.to_owned(), Value::String(s));
        }
        None if required => {
            obj.insert(key.to_owned(), Value::String("0".into()));
        }
        _ => {}
    }
}

/// A directory the run writes into, as the plan resolved it: its real path,
/// and on Unix the directory itself (device and inode), so that a write goes
/// into that directory or nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteDir {
    real: PathBuf,
    id: Option<FileId>,
}

impl WriteDir {
    /// `real`, a directory's canonical path, as it is now.
    pub(crate) fn planned(real: PathBuf) -> std::io::Result<WriteDir> {
        let id = FileId::of(&std::fs::metadata(&real)?);
        Ok(WriteDir { real, id })
    }

    /// The directory's real path when planned.
    pub fn real(&self) -> &Path {
        &self.real
    }
}

/// Write `bytes` to `path` so that readers see the old file or the whole new
/// one, never a part: a temporary file in the same directory, flushed to disk,
/// then renamed over (or, without `overwrite`, renamed only if `path` is free).
#[cfg(test)]
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    overwrite: bool,
) -> Result<(), BundleIoError> {
    let dir = std::fs::canonicalize(directory(path))
        .and_then(WriteDir::planned)
        .map_err(|source| BundleIoError::Write {
            path: path.to_owned(),
            source,
        })?;
    write_atomic_in(&dir, path, bytes, overwrite)
}

/// [`write_atomic`] into `dir`, the directory of `path` that the plan
/// checked; `path` names the bundle in errors. If `path`'s directory is no
/// longer that one (a link swapped in, the directory moved or replaced),
/// nothing is written.
///
/// On Unix the directory is opened once, checked to be the planned one by
/// device and inode, and the temporary file, its rename and its cleanup all
/// go through that handle: no path is resolved again between the check and
/// the write, so nothing swapped in meanwhile can redirect it. (This also
/// spares the per-bundle `realpath`, a `readlink` and `statx` per component
/// of the path, which the sign profiles counted.)
#[cfg(unix)]
pub(crate) fn write_atomic_in(
    dir: &WriteDir,
    path: &Path,
    bytes: &[u8],
    overwrite: bool,
) -> Result<(), BundleIoError> {
    use rustix::fs::{Mode, OFlags};

    let err = |source| BundleIoError::Write {
        path: path.to_owned(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| err(std::io::Error::other("the path has no file name")))?;
    let handle = rustix::fs::open(
        directory(path),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err(e.into()))?;
    let handle = std::fs::File::from(handle);
    let opened = FileId::of(&handle.metadata().map_err(err)?);
    if opened.is_none() || opened != dir.id {
        return Err(moved(dir, path));
    }
    let (tmp, mut file) = create_temporary(&handle).map_err(err)?;
    let written = (|| {
        file.write_all(bytes)?;
        // Bundles are public; the temporary file starts owner-only.
        rustix::fs::fchmod(&file, Mode::from_raw_mode(0o644))?;
        file.sync_all()?;
        drop(file);
        rename_into_place(&handle, &tmp, name, overwrite)
    })();
    if written.is_err() {
        // Not renamed: the temporary file is still ours to remove.
        let _ = rustix::fs::unlinkat(&handle, &tmp, rustix::fs::AtFlags::empty());
    }
    written.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            BundleIoError::Exists(path.to_owned())
        } else {
            err(e)
        }
    })
}

/// The `n` of the next temporary file's name.
#[cfg(unix)]
static TEMPORARY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A new, empty, owner-only file `.releasekit-<pid>-<n>.tmp` in `dir`,
/// created exclusively (never an existing file, never through a link).
#[cfg(unix)]
fn create_temporary(dir: &std::fs::File) -> std::io::Result<(std::ffi::OsString, std::fs::File)> {
    use rustix::fs::{Mode, OFlags};
    use std::sync::atomic::Ordering;

    let mut tries = 0;
    loop {
        let n = TEMPORARY.fetch_add(1, Ordering::Relaxed);
        let name = std::ffi::OsString::from(format!(".releasekit-{}-{n}.tmp", std::process::id()));
        match rustix::fs::openat(
            dir,
            name.as_os_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(fd) => return Ok((name, std::fs::File::from(fd))),
            // Left by an earlier process with the same pid, or put there by
            // someone else: take the next name.
            Err(rustix::io::Errno::EXIST) if tries < 64 => tries += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Rename `tmp` to `name`, both in `dir`; without `overwrite`, only if
/// `name` is free (an `AlreadyExists` error otherwise, `name` untouched).
#[cfg(unix)]
fn rename_into_place(
    dir: &std::fs::File,
    tmp: &std::ffi::OsStr,
    name: &std::ffi::OsStr,
    overwrite: bool,
) -> std::io::Result<()> {
    if overwrite {
        return Ok(rustix::fs::renameat(dir, tmp, dir, name)?);
    }
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios"
    ))]
    match rustix::fs::renameat_with(dir, tmp, dir, name, rustix::fs::RenameFlags::NOREPLACE) {
        Ok(()) => return Ok(()),
        // The kernel or the file system cannot: link, then unlink.
        Err(rustix::io::Errno::NOSYS | rustix::io::Errno::INVAL) => {}
        Err(e) => return Err(e.into()),
    }
    rustix::fs::linkat(dir, tmp, dir, name, rustix::fs::AtFlags::empty())?;
    // The bundle is in place; a leftover temporary name only costs space.
    let _ = rustix::fs::unlinkat(dir, tmp, rustix::fs::AtFlags::empty());
    Ok(())
}

/// [`write_atomic_in`] where there is no directory handle to write through
/// (Windows): the directory's real path is resolved again and compared with
/// the planned one just before the write.
#[cfg(not(unix))]
pub(crate) fn write_atomic_in(
    dir: &WriteDir,
    path: &Path,
    bytes: &[u8],
    overwrite: bool,
) -> Result<(), BundleIoError> {
    let err = |source| BundleIoError::Write {
        path: path.to_owned(),
        source,
    };
    let now = std::fs::canonicalize(directory(path)).map_err(err)?;
    if now != dir.real {
        return Err(moved(dir, path));
    }
    let name = path
        .file_name()
        .ok_or_else(|| err(std::io::Error::other("the path has no file name")))?;
    let target = dir.real.join(name);
    let mut tmp = tempfile::Builder::new()
        .prefix(".releasekit-")
        .suffix(".tmp")
        .tempfile_in(&dir.real)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    if overwrite {
        tmp.persist(&target).map_err(|e| err(e.error))?;
    } else {
        tmp.persist_noclobber(&target).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                BundleIoError::Exists(path.to_owned())
            } else {
                err(e.error)
            }
        })?;
    }
    Ok(())
}

/// Why `path` was not written into `dir`: where its directory leads now.
fn moved(dir: &WriteDir, path: &Path) -> BundleIoError {
    let here = directory(path);
    BundleIoError::Moved {
        path: path.to_owned(),
        planned: dir.real.clone(),
        now: std::fs::canonicalize(here).unwrap_or_else(|_| here.to_owned()),
    }
}

/// Why bytes are not a bundle.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    NotUtf8(#[from] std::str::Utf8Error),
    #[error("{0}")]
    Json(#[from] sigstore_types::Error),
}

/// Parse a bundle (v0.1, v0.2 or v0.3 JSON) from bytes as read from a file.
/// Never panics, whatever the bytes (the `bundle` fuzz target holds it to that).
pub fn parse(bytes: &[u8]) -> Result<Bundle, ParseError> {
    Ok(Bundle::from_json(std::str::from_utf8(bytes)?)?)
}

/// Read a bundle file (a regular file only: a FIFO would block),
/// refusing anything larger than [`MAX_BUNDLE_BYTES`].
pub(crate) fn read_capped(path: &Path) -> Result<Vec<u8>, BundleIoError> {
    let err = |source| BundleIoError::Read {
        path: path.to_owned(),
        source,
    };
    let file = files::open_regular(path, None).map_err(|e| match e {
        FileError::Read { source, .. } => err(source),
        e => BundleIoError::NotRead(e),
    })?;
    files::read_to_end_capped(file, MAX_BUNDLE_BYTES)
        .map_err(err)?
        .ok_or_else(|| BundleIoError::TooLarge(path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming() {
        assert_eq!(
            bundle_path(Path::new("d/a.whl"), None),
            Path::new("d/a.whl.sigstore.json")
        );
        assert_eq!(
            bundle_path(Path::new("a.whl"), None),
            Path::new("a.whl.sigstore.json")
        );
        assert_eq!(
            bundle_path(Path::new("d/a.whl"), Some(Path::new("out"))),
            Path::new("out/a.whl.sigstore.json")
        );
        assert!(is_bundle(Path::new("x/a.whl.sigstore.json")));
        assert!(!is_bundle(Path::new("x/a.json")));
    }

    #[test]
    fn normalize_adds_what_strict_readers_require() {
        let mut v = serde_json::json!({"verificationMaterial": {"tlogEntries": [
            {"integratedTime": 5, "inclusionProof": {"treeSize": 1, "rootHash": "x"}}
        ]}});
        normalize(&mut v);
        let e = &v["verificationMaterial"]["tlogEntries"][0];
        assert_eq!(e["logIndex"], "0");
        assert_eq!(e["integratedTime"], "5");
        assert_eq!(e["inclusionProof"]["logIndex"], "0");
        assert_eq!(e["inclusionProof"]["treeSize"], "1");
        assert_eq!(e["inclusionProof"]["hashes"], serde_json::json!([]));
    }

    #[test]
    fn atomic_write_refuses_to_clobber_without_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sigstore.json");
        write_atomic(&p, b"one", false).unwrap();
        let e = write_atomic(&p, b"two", false).unwrap_err();
        assert!(matches!(e, BundleIoError::Exists(_)) && e.to_string().contains("--overwrite"));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write_atomic(&p, b"three", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// The plan resolved the bundle's directory; by the time of the write
    /// it is a link to somewhere else: nothing is written there (or anywhere).
    #[cfg(unix)]
    #[test]
    fn a_directory_swapped_for_a_link_after_planning_is_not_written_through() {
        let root = tempfile::tempdir().unwrap();
        let dist = root.path().join("dist");
        std::fs::create_dir(&dist).unwrap();
        let planned = WriteDir::planned(std::fs::canonicalize(&dist).unwrap()).unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::rename(&dist, root.path().join("old")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), &dist).unwrap();
        let bundle = dist.join("a.whl.sigstore.json");
        let e = write_atomic_in(&planned, &bundle, b"{}", true).unwrap_err();
        assert!(matches!(e, BundleIoError::Moved { .. }), "{e}");
        assert!(e.to_string().contains("dist/a.whl.sigstore.json"), "{e}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        assert_eq!(
            std::fs::read_dir(root.path().join("old")).unwrap().count(),
            0
        );
    }

    /// The planned directory was replaced by another one at the same path
    /// (same real path, another directory): nothing is written in either.
    #[cfg(unix)]
    #[test]
    fn a_directory_replaced_after_planning_is_not_written_into() {
        let root = tempfile::tempdir().unwrap();
        let dist = root.path().join("dist");
        std::fs::create_dir(&dist).unwrap();
        let planned = WriteDir::planned(std::fs::canonicalize(&dist).unwrap()).unwrap();
        std::fs::rename(&dist, root.path().join("old")).unwrap();
        std::fs::create_dir(&dist).unwrap();
        let bundle = dist.join("a.whl.sigstore.json");
        let e = write_atomic_in(&planned, &bundle, b"{}", false).unwrap_err();
        assert!(matches!(e, BundleIoError::Moved { .. }), "{e}");
        assert!(e.to_string().contains("no longer the one"), "{e}");
        assert_eq!(std::fs::read_dir(&dist).unwrap().count(), 0);
        assert_eq!(
            std::fs::read_dir(root.path().join("old")).unwrap().count(),
            0
        );
    }

    /// A link waiting under the name a temporary file would take is never
    /// written through: the next name is taken. The bundle is public (0644)
    /// whatever the temporary file started as.
    #[cfg(unix)]
    #[test]
    fn temporary_names_taken_by_links_are_skipped_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret");
        std::fs::write(&secret, b"keep").unwrap();
        let next = TEMPORARY.load(std::sync::atomic::Ordering::Relaxed);
        for n in next..next + 16 {
            let name = format!(".releasekit-{}-{n}.tmp", std::process::id());
            std::os::unix::fs::symlink(&secret, dir.path().join(name)).unwrap();
        }
        let bundle = dir.path().join("a.whl.sigstore.json");
        write_atomic(&bundle, b"{}", false).unwrap();
        assert_eq!(std::fs::read(&bundle).unwrap(), b"{}");
        assert_eq!(std::fs::read(&secret).unwrap(), b"keep");
        let mode = std::fs::metadata(&bundle).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        // The links are left alone; no temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 17);
    }

    /// Through a link that stays where it was planned, the temporary file
    /// and the bundle land in the real directory; the link is left alone.
    #[cfg(unix)]
    #[test]
    fn a_write_through_a_directory_link_lands_in_the_real_directory() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, root.path().join("dist")).unwrap();
        let bundle = root.path().join("dist/a.whl.sigstore.json");
        write_atomic(&bundle, b"{}", false).unwrap();
        assert_eq!(
            std::fs::read(real.join("a.whl.sigstore.json")).unwrap(),
            b"{}"
        );
        assert!(root
            .path()
            .join("dist")
            .symlink_metadata()
            .unwrap()
            .is_symlink());
        assert_eq!(std::fs::read_dir(&real).unwrap().count(), 1);
    }

    #[test]
    fn capped_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.sigstore.json");
        std::fs::write(&p, vec![b' '; MAX_BUNDLE_BYTES as usize + 1]).unwrap();
        assert!(matches!(read_capped(&p), Err(BundleIoError::TooLarge(_))));
        std::fs::write(&p, b"{}").unwrap();
        assert_eq!(read_capped(&p).unwrap(), b"{}");
    }
}
