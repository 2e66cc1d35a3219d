//! Files that appear whole or not at all, in the very directory the plan
//! checked.
//!
//! Owns [`WriteDir`] (a directory the run writes into: its real path and, on
//! Unix, its identity, taken when planned without following any link),
//! [`Temporary`] (a new file under a random dot-name in that directory,
//! removed unless kept), and keeping it under its final name, with or
//! without replacing what is there.
//!
//! On Unix the directory is opened once per file, checked by device and
//! inode to be the planned one, and the temporary file, its rename and its
//! removal all go through that handle: no path is resolved between the check
//! and the write, so a link or a directory swapped in meanwhile cannot
//! redirect it. Elsewhere (Windows) the directory's real path is resolved
//! again and compared with the planned one when the file is created.
//!
//! Device and inode name a directory while it exists: a directory deleted
//! during the run can have its number reused by another on the same file
//! system, which then passes; and on a file system whose directory inode
//! numbers change between lookups (some FUSE mounts, CIFS with
//! `noserverino`) a write is refused as if the directory had been replaced.
//!
//! It also appends to a file another program reads as it grows (the
//! runner's `GITHUB_OUTPUT` and step summary) whole or not at all
//! ([`append_whole`]).
//!
//! It does not choose final names or contents (`bundle_io` and
//! `verify::release` do), and it does not flush a file: callers sync what
//! they wrote before keeping it. A rename is durable only once its
//! directory is synced too; each directory a file was kept in is
//! remembered and synced once, when the run ends ([`sync_kept_dirs`]),
//! rather than once per file (an `fsync` each, on the hot path); past 32
//! directories held (or an eighth of the descriptor limit, when less),
//! those are synced then and closed, so a run writing into thousands holds
//! no descriptor for each.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::files::FileId;

/// The fix for a write that failed with `e`: free space, a writable file
/// system and descriptors are each their own.
fn io_fix(e: &std::io::Error) -> &'static str {
    match Exhausted::of(e) {
        Some(Exhausted::Space) => {
            "free space on that file system, or choose a directory on another"
        }
        Some(Exhausted::ReadOnly) => "choose a directory on a file system mounted writable",
        Some(Exhausted::Descriptors) => "lower --jobs, or raise the open-file limit (`ulimit -n`)",
        None => "check that the directory exists and is writable",
    }
}

/// A write failure no later write in the run would escape: the disk or the
/// quota is full, the file system is read-only, or no descriptor is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exhausted {
    Space,
    ReadOnly,
    Descriptors,
}

impl Exhausted {
    pub(crate) fn of(e: &std::io::Error) -> Option<Self> {
        use std::io::ErrorKind;
        match e.kind() {
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded => return Some(Self::Space),
            ErrorKind::ReadOnlyFilesystem => return Some(Self::ReadOnly),
            _ => {}
        }
        #[cfg(unix)]
        if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
            return Some(Self::Descriptors);
        }
        None
    }
}

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    #[error("{}; fix: {}", .0, io_fix(.0))]
    Io(#[from] std::io::Error),
    /// Only when not replacing.
    #[error("the file exists")]
    Exists,
    #[error("its directory now leads to {}, not to {} as when the run started, so nothing was written; fix: leave the directories alone while the run goes on, and run again", now.display(), planned.display())]
    Moved { planned: PathBuf, now: PathBuf },
    #[error("{} is no longer the directory the run started with (it was replaced by another), so nothing was written; fix: leave the directories alone while the run goes on, and run again", .0.display())]
    Replaced(PathBuf),
    #[error("every temporary file name tried in {} was taken; fix: remove the `.releasekit-*` files there, and run again", .0.display())]
    NoTemporaryName(PathBuf),
    #[error("a link was put into {} since the run resolved it, so nothing is written there; fix: leave the directories alone while the run goes on, and run again", .0.display())]
    LinkedSince(PathBuf),
    /// Replacing, reversibly ([`Temporary::keep_reversible`]): the file
    /// there could be given no second name to be put back by.
    #[error("the file there is not replaced: this file system gives it no second name (a hard link) by which to put it back should what goes with it fail, so it could be lost; fix: remove it yourself first, or write elsewhere")]
    NoWayBack,
}

/// A directory the run writes into, as the plan resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteDir {
    real: PathBuf,
    id: Option<FileId>,
}

/// The free space a bundle directory must have before anything is signed
/// for it: a run has at most `--jobs` bundles in flight, each a few KiB.
const ROOM: u64 = 1 << 20;

/// Whether `available` bytes free in `dir` leave [`ROOM`].
fn room_in(dir: &Path, available: u64) -> Result<(), AtomicError> {
    if available >= ROOM {
        return Ok(());
    }
    Err(AtomicError::Io(std::io::Error::new(
        std::io::ErrorKind::StorageFull,
        format!(
            "{} has {available} bytes free, less than the {ROOM} the bundles in flight may take",
            dir.display()
        ),
    )))
}

impl WriteDir {
    /// Whether this directory's file system has [`ROOM`] free, looked at
    /// before anything is signed for a file to be written here: a bundle
    /// that could not be written would leave its log entry for nothing,
    /// naming the signer. (A quota is not seen here; its failure, at the
    /// write, stops the run.) A look that fails says nothing.
    pub(crate) fn has_room(&self) -> Result<(), AtomicError> {
        // A file system that counts no blocks at all (some FUSE ones) tells
        // nothing of its space.
        #[cfg(unix)]
        if let Ok(fs) = rustix::fs::statvfs(&self.real).map_err(drop) {
            if fs.f_blocks > 0 {
                return room_in(&self.real, fs.f_bavail.saturating_mul(fs.f_frsize));
            }
        }
        Ok(())
    }

    /// `real`, a directory's canonical path as just resolved and checked.
    /// A canonical path holds no link, so a link found on it means one was
    /// swapped in since it was resolved: refused. Where there is `O_PATH`,
    /// the path is opened part by part without following links and the
    /// identity taken from that handle (no gap between the check and the
    /// identity); elsewhere each part is checked with `lstat`, then the
    /// directory with `stat` (which needs no read permission on the parts,
    /// as opening them would).
    pub(crate) fn planned(real: PathBuf) -> Result<WriteDir, AtomicError> {
        let linked = |e: std::io::Error| match e.raw_os_error() {
            #[cfg(unix)]
            Some(libc::ENOTDIR | libc::ELOOP) => AtomicError::LinkedSince(real.clone()),
            _ => AtomicError::Io(e),
        };
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
        let meta = unix::open_without_links(&real)
            .and_then(|dir| dir.metadata())
            .map_err(linked)?;
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
        let meta = {
            for part in real.ancestors() {
                if std::fs::symlink_metadata(part)
                    .map_err(linked)?
                    .file_type()
                    .is_symlink()
                {
                    return Err(AtomicError::LinkedSince(real.clone()));
                }
            }
            std::fs::metadata(&real).map_err(linked)?
        };
        if !meta.is_dir() {
            return Err(AtomicError::Replaced(real.clone()));
        }
        let id = FileId::of(&meta);
        Ok(WriteDir { real, id })
    }

    /// The directory's real path when planned.
    pub fn real(&self) -> &Path {
        &self.real
    }

    /// A new, empty file (owner-only on Unix) in this directory, reached as
    /// `spelled` (the directory as the user names it) leads now, named
    /// `.releasekit-<random><suffix>`.
    pub(crate) fn temporary(&self, spelled: &Path, suffix: &str) -> Result<Temporary, AtomicError> {
        Temporary::create(self, spelled, || random_name(suffix))
    }

    /// Why `spelled` no longer leads here: another directory at another
    /// real path (a link), or at the same one (replaced).
    fn moved(&self, spelled: &Path) -> AtomicError {
        match std::fs::canonicalize(spelled) {
            Ok(now) if now != self.real => AtomicError::Moved {
                planned: self.real.clone(),
                now,
            },
            _ => AtomicError::Replaced(self.real.clone()),
        }
    }
}

/// `.releasekit-<16 random hex digits><suffix>`: a name nobody can prepare
/// in advance (the action runs as PID 1, so a PID would not vary).
fn random_name(suffix: &str) -> OsString {
    format!(".releasekit-{:016x}{suffix}", rand::random::<u64>()).into()
}

/// `name` is one plain name: kept files never leave their directory.
fn check_name(name: &OsStr) -> Result<(), AtomicError> {
    let mut parts = Path::new(name).components();
    match (parts.next(), parts.next()) {
        (Some(std::path::Component::Normal(n)), None) if n == name => Ok(()),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a plain file name", Path::new(name).display()),
        )
        .into()),
    }
}

/// Remove every temporary file not kept yet: for the end of a run whose
/// last writes were abandoned (a thread still in a slow `fsync` when the
/// runtime's shutdown gave up waiting), which never remove their own.
/// Returns how many there were.
pub fn remove_unkept() -> usize {
    #[cfg(unix)]
    {
        unix::remove_unkept()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

/// Sync every directory a file was kept in since the last call, so that
/// the renames survive a crash (Unix; Windows' renames are not made
/// durable here). Returns how many directories were synced, or the first
/// that could not be, with why: the files are in place, but a crash could
/// still lose their names.
pub fn sync_kept_dirs() -> Result<usize, (PathBuf, std::io::Error)> {
    #[cfg(unix)]
    {
        unix::sync_kept_dirs()
    }
    #[cfg(not(unix))]
    {
        Ok(0)
    }
}

/// How many names are tried for a temporary file before giving up.
const TEMPORARY_TRIES: usize = 16;

/// A file being written in a [`WriteDir`]: removed when dropped, unless kept.
#[derive(Debug)]
pub(crate) struct Temporary {
    #[cfg(unix)]
    inner: unix::Temporary,
    #[cfg(not(unix))]
    inner: tempfile::NamedTempFile,
}

impl Temporary {
    fn create(
        dir: &WriteDir,
        spelled: &Path,
        names: impl FnMut() -> OsString,
    ) -> Result<Temporary, AtomicError> {
        #[cfg(unix)]
        {
            unix::Temporary::create(dir, spelled, names).map(|inner| Temporary { inner })
        }
        #[cfg(not(unix))]
        {
            let mut names = names;
            let now = std::fs::canonicalize(spelled)?;
            if now != dir.real {
                return Err(dir.moved(spelled));
            }
            for _ in 0..TEMPORARY_TRIES {
                match tempfile::Builder::new()
                    .rand_bytes(0)
                    .prefix(&names())
                    .tempfile_in(&dir.real)
                {
                    Ok(inner) => return Ok(Temporary { inner }),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(AtomicError::NoTemporaryName(dir.real.clone()))
        }
    }

    /// The file, to write into.
    pub(crate) fn file(&self) -> &File {
        #[cfg(unix)]
        {
            &self.inner.file
        }
        #[cfg(not(unix))]
        {
            self.inner.as_file()
        }
    }

    /// Give the file the mode a new file gets (on Unix 0644 less the run's
    /// umask, [`capture_umask`]: it starts owner-only) and give it
    /// the name `name` (one plain name) in its directory; without
    /// `overwrite`, only if `name` is free ([`AtomicError::Exists`]
    /// otherwise, `name` untouched). On any error the temporary file is
    /// removed and nothing is kept.
    pub(crate) fn keep(self, name: &OsStr, overwrite: bool) -> Result<Kept, AtomicError> {
        self.keep_as(name, overwrite, false)
    }

    /// [`Self::keep`], where what is kept may be taken back
    /// ([`Kept::take_back`]) and the file it replaced must then come back:
    /// a file that cannot be given a second name to come back by (a file
    /// system without hard links; Windows, where nothing here keeps one)
    /// is not replaced, [`AtomicError::NoWayBack`], and left as it is.
    pub(crate) fn keep_reversible(
        self,
        name: &OsStr,
        overwrite: bool,
    ) -> Result<Kept, AtomicError> {
        self.keep_as(name, overwrite, true)
    }

    fn keep_as(self, name: &OsStr, overwrite: bool, reversible: bool) -> Result<Kept, AtomicError> {
        check_name(name)?;
        #[cfg(unix)]
        {
            self.inner
                .keep(name, overwrite, reversible)
                .map(|inner| Kept { inner })
        }
        #[cfg(not(unix))]
        {
            let target = self.inner.path().with_file_name(name);
            if reversible && overwrite && target.symlink_metadata().is_ok() {
                return Err(AtomicError::NoWayBack);
            }
            let kept = if overwrite {
                self.inner.persist(&target)
            } else {
                self.inner.persist_noclobber(&target)
            };
            match kept {
                Ok(_) => Ok(Kept { path: target }),
                Err(e) => Err(match e.error.kind() {
                    std::io::ErrorKind::AlreadyExists if !overwrite => AtomicError::Exists,
                    _ => e.error.into(),
                }),
            }
        }
    }
}

/// A file kept under its final name, which can still be taken back.
#[derive(Debug)]
pub(crate) struct Kept {
    #[cfg(unix)]
    inner: unix::Kept,
    #[cfg(not(unix))]
    path: PathBuf,
}

impl Kept {
    /// Remove the file under its final name (putting back, on Unix, the
    /// file it replaced, where it replaced one), if that name still holds it
    /// (on Unix: the same device and inode, found through the directory's
    /// handle, never through a link; the file is held open meanwhile, so
    /// its inode number cannot pass to another); otherwise leave the name
    /// alone.
    pub(crate) fn take_back(self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            self.inner.take_back()
        }
        #[cfg(not(unix))]
        {
            std::fs::remove_file(&self.path)
        }
    }
}

/// The process's umask, read once before any thread starts
/// ([`capture_umask`]): a kept file's mode is 0644 less it, as `cp` or a
/// compiler leaves a new file, so what is written under `umask 077` (a
/// private repository's assets, downloaded) stays private.
#[cfg(unix)]
static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// Append `text` to the file at `path` (created if missing) whole, or leave
/// it as it was: a write cut short (a full disk, a quota) is taken back, so
/// the runner reads no half of a `key<<delimiter` block (the whole file
/// refused) nor a value cut in the middle (`release-url=https://gith`,
/// taken as set).
pub fn append_whole(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let before = file.metadata()?.len();
    appended_or_restored(&mut file, text, |f| f.set_len(before))
}

/// `text` written whole to `w`, or `restore` run on it (and the write's
/// error returned).
fn appended_or_restored<W: std::io::Write>(
    w: &mut W,
    text: &[u8],
    restore: impl FnOnce(&mut W) -> std::io::Result<()>,
) -> std::io::Result<()> {
    w.write_all(text).inspect_err(|_| {
        let _ = restore(w);
    })
}

/// Read the umask, to apply to every file kept ([`UMASK`]). Call it before
/// any other thread starts: reading it means setting it, for a moment, and
/// a file another thread creates meanwhile would get that mask.
pub fn capture_umask() {
    #[cfg(unix)]
    {
        use rustix::fs::Mode;
        let old = rustix::process::umask(Mode::from_raw_mode(0o077));
        rustix::process::umask(old);
        // `mode_t` is u32 on Linux, u16 on macOS.
        #[allow(clippy::useless_conversion)]
        let _ = UMASK.set(u32::from(old.bits()));
    }
}

/// The mode of a kept file: 0644 less the umask (022 when not captured).
#[cfg(unix)]
fn kept_mode() -> u32 {
    0o644 & !UMASK.get().copied().unwrap_or(0o022)
}

#[cfg(unix)]
mod unix {
    use std::ffi::{OsStr, OsString};
    use std::fs::File;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use rustix::fs::{AtFlags, Mode, OFlags};

    use super::{AtomicError, WriteDir, TEMPORARY_TRIES};
    use crate::files::FileId;

    /// Flags to open a directory only to work in it: `O_PATH` where there
    /// is one (no read permission needed, as none is for writing by path),
    /// else read-only.
    fn directory_flags() -> OFlags {
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
        let how = OFlags::PATH;
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
        let how = OFlags::RDONLY;
        how | OFlags::DIRECTORY | OFlags::CLOEXEC
    }

    /// The directory at the absolute path `real`, each part opened from the
    /// one before without following links.
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    pub(super) fn open_without_links(real: &Path) -> std::io::Result<File> {
        use std::path::Component;
        let flags = directory_flags() | OFlags::NOFOLLOW;
        let not_canonical = || {
            std::io::Error::other(format!(
                "{} is not a canonical directory path",
                real.display()
            ))
        };
        let mut dir = None;
        for part in real.components() {
            dir = Some(match (part, &dir) {
                (Component::RootDir, None) => rustix::fs::open("/", flags, Mode::empty())?,
                (Component::Normal(name), Some(parent)) => {
                    rustix::fs::openat(parent, name, flags, Mode::empty())?
                }
                _ => return Err(not_canonical()),
            });
        }
        dir.map(File::from).ok_or_else(not_canonical)
    }

    #[derive(Debug)]
    pub(super) struct Temporary {
        dir: Arc<File>,
        /// Its entry in [`UNKEPT`].
        unkept: u64,
        /// The directory as planned: its real path and identity.
        planned: (PathBuf, FileId),
        name: OsString,
        pub(super) file: File,
        /// Renamed: no longer ours to remove.
        kept: bool,
    }

    /// Every temporary file not kept nor removed yet, by a number of its
    /// own: what [`remove_unkept`] removes when the run ends with writes
    /// still going on (a thread abandoned in a slow `fsync`), which never
    /// get to drop theirs.
    static UNKEPT: std::sync::Mutex<Unkept> = std::sync::Mutex::new(Unkept {
        next: 0,
        files: Vec::new(),
    });

    struct Unkept {
        next: u64,
        files: Vec<(u64, Arc<File>, OsString)>,
    }

    fn unkept() -> std::sync::MutexGuard<'static, Unkept> {
        UNKEPT.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn no_longer_unkept(id: u64) {
        let mut unkept = unkept();
        if let Some(i) = unkept.files.iter().position(|(n, _, _)| *n == id) {
            unkept.files.swap_remove(i);
        }
    }

    pub(super) fn remove_unkept() -> usize {
        remove_unkept_in(|_| true)
    }

    /// [`remove_unkept`] of those in the directories `chosen` chooses.
    pub(super) fn remove_unkept_in(chosen: impl Fn(&File) -> bool) -> usize {
        let files: Vec<_> = {
            let mut unkept = unkept();
            let (these, others) = std::mem::take(&mut unkept.files)
                .into_iter()
                .partition(|(_, dir, _)| chosen(dir));
            unkept.files = others;
            these
        };
        for (_, dir, name) in &files {
            let _ = rustix::fs::unlinkat(&**dir, name, AtFlags::empty());
        }
        files.len()
    }

    /// Directories a file was kept in and not yet synced, by identity,
    /// each with a handle that can be synced (an `O_PATH` one cannot).
    struct Pending {
        dirs: Vec<(FileId, PathBuf, File)>,
        /// Directories synced early (see [`MAX_OPEN_DIRS`]).
        synced: usize,
        /// The first directory that could not be synced, and why.
        failed: Option<(PathBuf, std::io::Error)>,
    }

    static TO_SYNC: std::sync::Mutex<Pending> = std::sync::Mutex::new(Pending {
        dirs: Vec::new(),
        synced: 0,
        failed: None,
    });

    /// The most directory handles kept open until the end: a run writing
    /// into a thousand directories would otherwise hold a descriptor for
    /// each (macOS allows 256 a process by default), and fail its later
    /// artifacts, already logged, for the lack of one. Past this many, the
    /// ones held are synced then and closed; a directory written into again
    /// afterwards is remembered again, so each is synced after its last
    /// rename. At most an eighth of the process's descriptors
    /// ([`open_dirs_within`]): the rest are the run's connections, the
    /// files being read and written, and the runtime's own.
    const MAX_OPEN_DIRS: usize = 32;

    /// [`MAX_OPEN_DIRS`], or fewer under a descriptor limit of `limit`: an
    /// eighth of it, at least one. Regression: 32 under `ulimit -n 64` left
    /// too few for a loaded run's connections and files ("Too many open
    /// files" writing bundles already logged).
    pub(super) fn open_dirs_within(limit: Option<u64>) -> usize {
        limit.map_or(MAX_OPEN_DIRS, |l| {
            usize::try_from(l / 8)
                .unwrap_or(usize::MAX)
                .clamp(1, MAX_OPEN_DIRS)
        })
    }

    /// [`open_dirs_within`] this process's soft descriptor limit, read once.
    fn max_open_dirs() -> usize {
        static MAX: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *MAX.get_or_init(|| open_dirs_within(crate::files::open_file_limit()))
    }

    /// Remember `dir` (opened as `planned`) to sync; once per directory.
    fn to_sync(dir: &File, (real, id): &(PathBuf, FileId)) {
        let mut pending = TO_SYNC.lock().unwrap_or_else(|e| e.into_inner());
        if pending.dirs.iter().any(|(known, _, _)| known == id) {
            return;
        }
        if pending.dirs.len() >= max_open_dirs() {
            sync_all(&mut pending);
        }
        // A directory that cannot be opened to read (write-only) cannot be
        // synced either; its renames stay as durable as the system makes them.
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if let Ok(fd) = rustix::fs::openat(dir, ".", flags, Mode::empty()) {
            pending.dirs.push((*id, real.clone(), File::from(fd)));
        }
    }

    /// Sync and close every directory held, each whichever fails before; a
    /// file system that cannot sync a directory (EINVAL, ENOTSUP: some
    /// network ones) is not a failure.
    fn sync_all(pending: &mut Pending) {
        for (_, real, dir) in std::mem::take(&mut pending.dirs) {
            pending.synced += 1;
            match dir.sync_all() {
                Ok(()) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOTSUP)) => {}
                Err(e) => {
                    pending.failed.get_or_insert((real, e));
                }
            }
        }
    }

    pub(super) fn sync_kept_dirs() -> Result<usize, (PathBuf, std::io::Error)> {
        let mut pending = TO_SYNC.lock().unwrap_or_else(|e| e.into_inner());
        sync_all(&mut pending);
        let n = std::mem::take(&mut pending.synced);
        pending.failed.take().map_or(Ok(n), Err)
    }

    #[cfg(test)]
    pub(super) fn is_to_sync(id: FileId) -> bool {
        TO_SYNC
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .dirs
            .iter()
            .any(|(known, _, _)| *known == id)
    }

    impl Temporary {
        pub(super) fn create(
            planned: &WriteDir,
            spelled: &Path,
            mut names: impl FnMut() -> OsString,
        ) -> Result<Temporary, AtomicError> {
            let dir = File::from(
                rustix::fs::open(spelled, directory_flags(), Mode::empty())
                    .map_err(std::io::Error::from)?,
            );
            let opened = FileId::of(&dir.metadata()?);
            let Some(id) = opened.filter(|o| Some(*o) == planned.id) else {
                return Err(planned.moved(spelled));
            };
            for _ in 0..TEMPORARY_TRIES {
                let name = names();
                match rustix::fs::openat(
                    &dir,
                    name.as_os_str(),
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                ) {
                    Ok(fd) => {
                        let dir = Arc::new(dir);
                        let mut unkept = unkept();
                        let number = unkept.next;
                        unkept.next += 1;
                        unkept.files.push((number, dir.clone(), name.clone()));
                        return Ok(Temporary {
                            dir,
                            unkept: number,
                            planned: (planned.real.clone(), id),
                            name,
                            file: File::from(fd),
                            kept: false,
                        });
                    }
                    // Taken, by anything (a link too: never followed).
                    Err(rustix::io::Errno::EXIST) => continue,
                    Err(e) => return Err(std::io::Error::from(e).into()),
                }
            }
            Err(AtomicError::NoTemporaryName(planned.real.clone()))
        }

        pub(super) fn keep(
            mut self,
            name: &OsStr,
            overwrite: bool,
            reversible: bool,
        ) -> Result<Kept, AtomicError> {
            // Everything that can fail comes before the rename: once renamed,
            // the file is kept and the call succeeds.
            let file = self.file.try_clone()?;
            let dir = self.dir.clone();
            rustix::fs::fchmod(&self.file, Mode::from_raw_mode(super::kept_mode() as _))
                .map_err(std::io::Error::from)?;
            // What this replaces keeps a second name until the caller is
            // done ([`Kept`]), so taking this back puts it back.
            let previous = match overwrite.then(|| second_name(&self.dir, name)) {
                Some(Ok(previous)) => previous,
                Some(Err(())) if reversible => return Err(AtomicError::NoWayBack),
                Some(Err(())) | None => None,
            };
            if let Err(e) = rename_into_place(&self.dir, &self.name, name, overwrite) {
                if let Some(previous) = &previous {
                    let _ = rustix::fs::unlinkat(&self.dir, previous, AtFlags::empty());
                }
                return Err(
                    if !overwrite && e.kind() == std::io::ErrorKind::AlreadyExists {
                        AtomicError::Exists
                    } else {
                        e.into()
                    },
                );
            }
            self.kept = true;
            no_longer_unkept(self.unkept);
            to_sync(&self.dir, &self.planned);
            Ok(Kept {
                dir,
                name: name.to_owned(),
                file,
                previous,
            })
        }
    }

    /// A second name (`.releasekit-<random>.previous`) for the file `name`
    /// in `dir`, if one is there: `Ok(None)` for none, `Err` where one is
    /// there (or may be) that cannot have one: a directory, or a file
    /// system (or a sticky directory's other owner, or a file at its link
    /// limit) that refuses the link, where a replaced file is gone for good.
    fn second_name(dir: &File, name: &OsStr) -> Result<Option<OsString>, ()> {
        for _ in 0..TEMPORARY_TRIES {
            let previous = super::random_name(".previous");
            match rustix::fs::linkat(dir, name, dir, previous.as_os_str(), AtFlags::empty()) {
                Ok(()) => return Ok(Some(previous)),
                Err(rustix::io::Errno::EXIST) => continue,
                Err(rustix::io::Errno::NOENT) => return Ok(None),
                Err(_) => return Err(()),
            }
        }
        Err(())
    }

    #[derive(Debug)]
    pub(super) struct Kept {
        dir: Arc<File>,
        name: OsString,
        /// Held open, so that its inode cannot be freed and given to
        /// another file while this can still be taken back.
        file: File,
        /// The second name of the file this replaced: renamed back over it
        /// when it is taken back, removed when it is dropped.
        previous: Option<OsString>,
    }

    impl Kept {
        pub(super) fn take_back(mut self) -> std::io::Result<()> {
            // The name itself, never what a link there points to; no open,
            // so nothing put there (a FIFO) can block.
            let there = match rustix::fs::statat(&self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(there) => there,
                // Gone, or unreadable: not ours to remove.
                Err(_) => return Ok(()),
            };
            let ours = rustix::fs::fstat(&self.file)?;
            if (there.st_dev, there.st_ino) == (ours.st_dev, ours.st_ino) {
                match self.previous.take() {
                    Some(previous) => {
                        rustix::fs::renameat(&self.dir, &previous, &self.dir, &self.name)?
                    }
                    None => rustix::fs::unlinkat(&self.dir, &self.name, AtFlags::empty())?,
                }
            }
            Ok(())
        }
    }

    impl Drop for Kept {
        fn drop(&mut self) {
            if let Some(previous) = &self.previous {
                let _ = rustix::fs::unlinkat(&self.dir, previous, AtFlags::empty());
            }
        }
    }

    impl Drop for Temporary {
        fn drop(&mut self) {
            if !self.kept {
                let _ = rustix::fs::unlinkat(&*self.dir, &self.name, AtFlags::empty());
                no_longer_unkept(self.unkept);
            }
        }
    }

    /// Rename `tmp` to `name`, both in `dir`; without `overwrite`, only if
    /// `name` is free (an `AlreadyExists` error otherwise, `name` untouched).
    fn rename_into_place(
        dir: &File,
        tmp: &OsStr,
        name: &OsStr,
        overwrite: bool,
    ) -> std::io::Result<()> {
        if overwrite {
            return Ok(rustix::fs::renameat(dir, tmp, dir, name)?);
        }
        #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
        match rustix::fs::renameat_with(dir, tmp, dir, name, rustix::fs::RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            // The kernel or the file system cannot (macOS says ENOTSUP):
            // link, then unlink.
            Err(
                rustix::io::Errno::NOSYS | rustix::io::Errno::INVAL | rustix::io::Errno::NOTSUP,
            ) => {}
            Err(e) => return Err(e.into()),
        }
        link_into_place(dir, tmp, name)
    }

    /// Give `tmp`'s file the name `name` too, only if it is free, then drop
    /// the name `tmp`: a rename without replacing, where there is none.
    pub(super) fn link_into_place(dir: &File, tmp: &OsStr, name: &OsStr) -> std::io::Result<()> {
        rustix::fs::linkat(dir, tmp, dir, name, AtFlags::empty())?;
        if let Err(e) = rustix::fs::unlinkat(dir, tmp, AtFlags::empty()) {
            // The file is complete and in place; only a second name is left.
            tracing::warn!(
                temporary = %Path::new(tmp).display(),
                file = %Path::new(name).display(),
                directory = ?dir,
                error = %e,
                "the file was written, but its temporary name could not be removed"
            );
        }
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A writer that takes `room` bytes, then fails as a full disk does.
    struct Full {
        written: Vec<u8>,
        room: usize,
    }

    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.room - self.written.len());
            if n == 0 {
                return Err(std::io::Error::from_raw_os_error(28));
            }
            self.written.extend(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// An append cut short is taken back to what was there. Regression:
    /// the part written stayed, and the runner read half an output.
    #[test]
    fn an_append_cut_short_is_taken_back() {
        let mut full = Full {
            written: b"kept=1\n".to_vec(),
            room: 12,
        };
        let e = appended_or_restored(&mut full, b"release-url=https://github.com/o/r\n", |f| {
            f.written.truncate(7);
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(28));
        assert_eq!(full.written, b"kept=1\n");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        append_whole(&path, b"a=1\n").unwrap();
        append_whole(&path, b"b=2\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a=1\nb=2\n");
    }

    /// Directory handles held stay an eighth of the descriptor limit, at
    /// most 32 and at least one.
    #[test]
    fn directory_handles_held_fit_the_descriptor_limit() {
        for (limit, held) in [
            (Some(64), 8),
            (Some(256), 32),
            (Some(1 << 20), 32),
            (Some(4), 1),
            (Some(0), 1),
            (None, 32),
        ] {
            assert_eq!(super::unix::open_dirs_within(limit), held, "{limit:?}");
        }
    }
    use std::io::Write;

    fn planned(dir: &Path) -> WriteDir {
        WriteDir::planned(std::fs::canonicalize(dir).unwrap()).unwrap()
    }

    /// A temporary file whose writer never finished (a thread abandoned
    /// at exit, here forgotten) is removed at the end; a kept one stays.
    #[cfg(unix)]
    #[test]
    fn what_was_never_kept_is_removed_at_the_end() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let into = planned(dir.path());
        let kept = into.temporary(dir.path(), ".tmp").unwrap();
        kept.file().write_all(b"kept").unwrap();
        drop(kept.keep("a".as_ref(), false).unwrap());
        let abandoned = into.temporary(dir.path(), ".tmp").unwrap();
        std::mem::forget(abandoned);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        let this = std::fs::metadata(dir.path()).unwrap();
        let removed = unix::remove_unkept_in(|d| {
            d.metadata()
                .is_ok_and(|m| (m.dev(), m.ino()) == (this.dev(), this.ino()))
        });
        assert_eq!(removed, 1);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["a"]);
    }

    /// A file kept over another leaves nothing else once done with, and
    /// taken back puts the other back.
    #[cfg(unix)]
    #[test]
    fn a_replaced_file_comes_back_only_when_taken_back() {
        let dir = tempfile::tempdir().unwrap();
        let into = planned(dir.path());
        let listing = || -> Vec<std::ffi::OsString> {
            let mut v: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            v.sort();
            v
        };
        std::fs::write(dir.path().join("a"), "old").unwrap();
        let new = |content: &[u8]| {
            let t = into.temporary(dir.path(), ".tmp").unwrap();
            t.file().write_all(content).unwrap();
            t
        };
        let kept = new(b"one").keep("a".as_ref(), true).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"one");
        kept.take_back().unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"old");
        assert_eq!(listing(), ["a"]);
        drop(new(b"two").keep("a".as_ref(), true).unwrap());
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"two");
        assert_eq!(listing(), ["a"]);
    }

    fn names(list: &[&str]) -> impl FnMut() -> OsString {
        let mut list: Vec<OsString> = list.iter().rev().map(|n| n.into()).collect();
        move || list.pop().unwrap_or_else(|| random_name(".tmp"))
    }

    fn write(dir: &Path, name: &str, bytes: &[u8], overwrite: bool) -> Result<Kept, AtomicError> {
        let tmp = planned(dir).temporary(dir, ".tmp")?;
        tmp.file().write_all(bytes)?;
        tmp.keep(name.as_ref(), overwrite)
    }

    fn entries(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    /// A file holding `keep` in a directory of its own, for links to point at.
    fn secret_outside() -> (tempfile::TempDir, PathBuf) {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret");
        std::fs::write(&secret, b"keep").unwrap();
        (outside, secret)
    }

    /// A link or a file already under the name a temporary file would take
    /// is never written through nor replaced: the next name is taken. The
    /// kept file is public (0644) whatever the temporary file started as.
    #[test]
    fn temporary_names_taken_are_skipped_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (_outside, secret) = secret_outside();
        std::os::unix::fs::symlink(&secret, dir.path().join(".t1")).unwrap();
        std::os::unix::fs::symlink("missing", dir.path().join(".t2")).unwrap();
        std::fs::write(dir.path().join(".t3"), b"theirs").unwrap();
        let names = names(&[".t1", ".t2", ".t3", ".t4"]);
        let tmp = Temporary::create(&planned(dir.path()), dir.path(), names).unwrap();
        tmp.file().write_all(b"{}").unwrap();
        assert!(dir.path().join(".t4").exists());
        tmp.keep("a".as_ref(), false).unwrap();
        let kept = dir.path().join("a");
        assert_eq!(std::fs::read(&kept).unwrap(), b"{}");
        assert_eq!(std::fs::read(&secret).unwrap(), b"keep");
        assert_eq!(std::fs::read(dir.path().join(".t3")).unwrap(), b"theirs");
        assert!(dir
            .path()
            .join(".t2")
            .symlink_metadata()
            .unwrap()
            .is_symlink());
        assert!(!dir.path().join(".t4").exists());
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    /// Every name tried is taken: a clear error, and nothing written.
    #[test]
    fn no_free_temporary_name_is_an_error_that_says_what_to_remove() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".taken"), b"").unwrap();
        let e =
            Temporary::create(&planned(dir.path()), dir.path(), || ".taken".into()).unwrap_err();
        assert!(matches!(e, AtomicError::NoTemporaryName(_)), "{e}");
        assert!(e.to_string().contains(".releasekit-*"), "{e}");
        assert_eq!(entries(dir.path()), 1);
    }

    /// A directory a file was kept in is synced once, when the run ends:
    /// remembered at the keep, forgotten once synced. Regression: no
    /// directory was ever synced, so a rename reported done could be lost
    /// to a crash.
    #[cfg(unix)]
    #[test]
    fn a_directory_kept_in_is_synced_once() {
        let t = tempfile::tempdir().unwrap();
        let dir = planned(t.path());
        let id = dir.id.unwrap();
        assert!(!unix::is_to_sync(id));
        write(t.path(), "a", b"a", false).unwrap();
        write(t.path(), "b", b"b", false).unwrap();
        assert!(unix::is_to_sync(id));
        assert!(sync_kept_dirs().unwrap() >= 1);
        assert!(!unix::is_to_sync(id));
    }

    /// Dropped without being kept: gone.
    /// A write failure's fix is the one for its cause. Regression: a full
    /// disk was told to check that the directory exists and is writable.
    #[cfg(unix)]
    #[test]
    fn each_exhausted_resource_has_its_own_fix() {
        let io = |errno| AtomicError::Io(std::io::Error::from_raw_os_error(errno)).to_string();
        for (errno, fix) in [
            (libc::ENOSPC, "fix: free space"),
            (libc::EDQUOT, "fix: free space"),
            (
                libc::EROFS,
                "fix: choose a directory on a file system mounted writable",
            ),
            (libc::EMFILE, "fix: lower --jobs"),
            (libc::ENFILE, "fix: lower --jobs"),
            (
                libc::EACCES,
                "fix: check that the directory exists and is writable",
            ),
        ] {
            let e = io(errno);
            assert!(e.contains(fix), "{e}");
            assert_eq!(e.matches("fix:").count(), 1, "{e}");
        }
    }

    /// Under a MiB free, nothing is signed for a bundle to be written there:
    /// said as a full disk, whose failure stops the run.
    #[test]
    fn a_nearly_full_file_system_has_no_room() {
        let dir = Path::new("dist");
        assert!(room_in(dir, ROOM).is_ok());
        let e = room_in(dir, ROOM - 1).unwrap_err();
        let AtomicError::Io(io) = &e else {
            panic!("{e}")
        };
        assert_eq!(Exhausted::of(io), Some(Exhausted::Space));
        let e = e.to_string();
        assert!(e.contains("dist has 1048575 bytes free"), "{e}");
        assert!(e.contains("fix: free space"), "{e}");
        // This machine's temporary directory has room.
        let tmp = tempfile::tempdir().unwrap();
        let planned = WriteDir::planned(tmp.path().canonicalize().unwrap()).unwrap();
        assert!(planned.has_room().is_ok());
    }

    #[test]
    fn a_temporary_file_not_kept_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = planned(dir.path())
            .temporary(dir.path(), ".partial")
            .unwrap();
        tmp.file().write_all(b"half").unwrap();
        assert_eq!(entries(dir.path()), 1);
        drop(tmp);
        assert_eq!(entries(dir.path()), 0);
    }

    #[test]
    fn keeping_refuses_to_clobber_without_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a", b"one", false).unwrap();
        let e = write(dir.path(), "a", b"two", false).unwrap_err();
        assert!(matches!(e, AtomicError::Exists), "{e}");
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"one");
        write(dir.path(), "a", b"three", true).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"three");
        assert_eq!(entries(dir.path()), 1);
    }

    /// A link at the final name: kept, and not followed, without
    /// `overwrite`; replaced by the file itself (its target untouched) with.
    #[test]
    fn a_link_at_the_final_name_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let (_outside, secret) = secret_outside();
        let link = dir.path().join("a");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let e = write(dir.path(), "a", b"{}", false).unwrap_err();
        assert!(matches!(e, AtomicError::Exists), "{e}");
        assert!(link.symlink_metadata().unwrap().is_symlink());
        write(dir.path(), "a", b"{}", true).unwrap();
        assert!(link.symlink_metadata().unwrap().is_file());
        assert_eq!(std::fs::read(&link).unwrap(), b"{}");
        assert_eq!(std::fs::read(&secret).unwrap(), b"keep");
        assert_eq!(entries(dir.path()), 1);
    }

    /// A rename that fails with `overwrite` (a directory in the way) is an
    /// I/O error, not "exists", and leaves no temporary file.
    #[test]
    fn a_failed_rename_leaves_no_temporary_file_and_is_not_called_existing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/x"), b"").unwrap();
        let e = write(dir.path(), "a", b"{}", true).unwrap_err();
        assert!(matches!(e, AtomicError::Io(_)), "{e}");
        assert_eq!(entries(dir.path()), 1);
    }

    /// Where there is no rename that refuses to replace: link, then unlink;
    /// a taken name is refused and left as it was.
    #[test]
    fn link_into_place_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let handle = File::open(dir.path()).unwrap();
        std::fs::write(dir.path().join(".tmp"), b"new").unwrap();
        std::fs::write(dir.path().join("taken"), b"old").unwrap();
        let e = unix::link_into_place(&handle, ".tmp".as_ref(), "taken".as_ref()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(dir.path().join("taken")).unwrap(), b"old");
        unix::link_into_place(&handle, ".tmp".as_ref(), "free".as_ref()).unwrap();
        assert_eq!(std::fs::read(dir.path().join("free")).unwrap(), b"new");
        assert!(!dir.path().join(".tmp").exists());
    }

    /// Planning takes the directory's identity without following links: a
    /// link put into its real path since it was resolved is refused.
    #[test]
    fn a_link_swapped_into_the_planned_path_is_refused_when_planned() {
        let root = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(root.path()).unwrap();
        std::fs::create_dir(real.join("elsewhere")).unwrap();
        std::fs::create_dir(real.join("elsewhere/sub")).unwrap();
        std::os::unix::fs::symlink(real.join("elsewhere"), real.join("dist")).unwrap();
        for linked in [real.join("dist"), real.join("dist/sub")] {
            let e = WriteDir::planned(linked).unwrap_err();
            assert!(matches!(e, AtomicError::LinkedSince(_)), "{e}");
        }
        assert!(WriteDir::planned(real.join("elsewhere/sub")).is_ok());
        assert!(WriteDir::planned(PathBuf::from("relative")).is_err());
    }

    /// A kept file taken back is removed only while its name still holds
    /// it: another file or a link put there since is left alone.
    #[test]
    fn taking_back_removes_only_the_file_kept() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a", b"ours", false)
            .unwrap()
            .take_back()
            .unwrap();
        assert_eq!(entries(dir.path()), 0);
        let kept = write(dir.path(), "a", b"ours", false).unwrap();
        std::fs::remove_file(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a"), b"theirs").unwrap();
        kept.take_back().unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"theirs");
        let (_outside, secret) = secret_outside();
        let kept = write(dir.path(), "b", b"ours", false).unwrap();
        std::fs::remove_file(dir.path().join("b")).unwrap();
        std::os::unix::fs::symlink(&secret, dir.path().join("b")).unwrap();
        kept.take_back().unwrap();
        assert!(dir
            .path()
            .join("b")
            .symlink_metadata()
            .unwrap()
            .is_symlink());
        assert_eq!(std::fs::read(&secret).unwrap(), b"keep");
    }

    /// A final name that is not one plain name is refused, and nothing kept.
    #[test]
    fn only_plain_names_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for bad in ["../a", "sub/a", "/tmp/a", ".", ".."] {
            let e = write(dir.path(), bad, b"{}", true).unwrap_err();
            assert!(
                e.to_string().contains("not a plain file name"),
                "{bad}: {e}"
            );
        }
        assert_eq!(entries(dir.path()), 1);
        assert_eq!(entries(&dir.path().join("sub")), 0);
    }

    /// `root/dist`, planned, then renamed `root/old`: `dist` is free.
    fn planned_then_moved_to_old() -> (tempfile::TempDir, PathBuf, WriteDir) {
        let root = tempfile::tempdir().unwrap();
        let dist = root.path().join("dist");
        std::fs::create_dir(&dist).unwrap();
        let planned = planned(&dist);
        std::fs::rename(&dist, root.path().join("old")).unwrap();
        (root, dist, planned)
    }

    /// The planned directory is now a link to another one: nothing is
    /// written in either.
    #[test]
    fn a_directory_swapped_for_a_link_after_planning_is_not_written_through() {
        let (root, dist, planned) = planned_then_moved_to_old();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), &dist).unwrap();
        let e = planned.temporary(&dist, ".tmp").unwrap_err();
        assert!(matches!(e, AtomicError::Moved { .. }), "{e}");
        assert_eq!(entries(elsewhere.path()), 0);
        assert_eq!(entries(&root.path().join("old")), 0);
    }

    /// The planned directory was replaced by another one at the same path
    /// (same real path, another directory): nothing is written in either.
    #[test]
    fn a_directory_replaced_after_planning_is_not_written_into() {
        let (root, dist, planned) = planned_then_moved_to_old();
        std::fs::create_dir(&dist).unwrap();
        let e = planned.temporary(&dist, ".tmp").unwrap_err();
        assert!(matches!(e, AtomicError::Replaced(_)), "{e}");
        assert!(e.to_string().contains("replaced by another"), "{e}");
        assert_eq!(entries(&dist), 0);
        assert_eq!(entries(&root.path().join("old")), 0);
    }
}
