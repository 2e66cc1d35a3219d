//! Opening the local files a run reads (artifacts and bundles): regular
//! files only, opened without blocking, and checked to be the very file the
//! plan listed.
//!
//! Owns those three checks and their errors. A FIFO or device put where a
//! file was expected is refused before it is opened for reading (and, if
//! swapped in just then, after a non-blocking open) instead of hanging the
//! run, reading a stream or waking a driver; a file replaced (by another file or a link)
//! between planning and opening is refused by comparing the opened file's
//! device and inode with what the plan saw. It also reads a small file
//! whole under a cap (bundles, provenance files: hostile sizes), and holds
//! the rules for names from outside that become files ([`portable_name`],
//! [`folded_name`]), and the process's open-file limit (read, and raised
//! at start). It does not decide which files a run reads (that is
//! [`crate::plan`]'s) nor what is done with their bytes.

use std::fs::{File, Metadata};
use std::path::{Path, PathBuf};

/// Raise the soft open-file limit to the hard one, as Go's runtime does
/// (cosign's): the soft limit is 1,024 on many systems, and a run with many
/// artifacts in flight holds a few descriptors for each (see `--jobs`).
/// macOS refuses more than `OPEN_MAX` (10,240) when the hard limit is
/// unlimited. Failing leaves the limit as it was.
pub fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let limit = getrlimit(Resource::Nofile);
        // `None` is unlimited.
        let below = match (limit.current, limit.maximum) {
            (Some(current), Some(maximum)) => current < maximum,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !below {
            return;
        }
        let to = |current| Rlimit {
            current,
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, to(limit.maximum)).is_err() {
            let open_max = limit.maximum.map_or(10_240, |m| m.min(10_240));
            let _ = setrlimit(Resource::Nofile, to(Some(open_max)));
        }
    }
}

/// This process's soft open-file limit (`None`: unlimited, or no such
/// limit on this platform).
pub(crate) fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    return rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    #[cfg(not(unix))]
    None
}

/// Whether this platform's usual file systems fold case (APFS on macOS,
/// NTFS on Windows), so that two names differing only in case are one file
/// there.
pub(crate) const FOLDS_CASE: bool = cfg!(any(target_os = "macos", windows));

/// The longest file name most file systems take (ext4, APFS, and NTFS in
/// UTF-16 units, which UTF-8 bytes never undercount).
pub(crate) const MAX_NAME_BYTES: usize = 255;

/// Whether `name` can be a file in a directory, naming that file and
/// nothing else, on every platform the binary ships for: not empty; no `/`
/// or `\`; no character that shows nothing or changes how the name around
/// it reads ([`crate::text::is_hidden`]: a control, a bidi override, a
/// zero-width or line separator, by which `invoice\u{202e}gpj.exe` lists as
/// `invoiceexe.jpg`); none of `: * ? " < > |` (on Windows `:`
/// opens an alternate data stream); no leading or trailing dot or space (so
/// not `.` or `..`, and Windows, which drops trailing ones, cannot make `x.`
/// the file `x`); not a Windows device name (`CON`, `NUL.txt`, `COM1`, and
/// `COM¹` to `LPT³`, which Windows reserves too), nor shaped like a short
/// (8.3) name (`APP-10~1.ZIP`), which an existing file of another name may
/// answer to. GitHub renames such characters on upload, so only a lying
/// server lists them.
pub(crate) fn portable_name(name: &str) -> bool {
    const DEVICES: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];
    let stem = name.split('.').next().unwrap_or_default().trim_end();
    let numbered = |port: &str| {
        let mut chars = stem.chars();
        let prefix: String = chars.by_ref().take(3).collect();
        let last = chars.next();
        prefix.eq_ignore_ascii_case(port)
            && chars.next().is_none()
            && last.is_some_and(|c| c.is_ascii_digit() || matches!(c, '¹' | '²' | '³'))
    };
    let device =
        DEVICES.iter().any(|d| stem.eq_ignore_ascii_case(d)) || numbered("COM") || numbered("LPT");
    // An 8.3 name: at most one dot, a stem of at most 8 characters ending
    // in `~` and digits after a base of 1 to 6, an extension of at most 3.
    let short_alias = match name.split_once('.') {
        Some((_, ext)) if ext.contains('.') || ext.chars().count() > 3 => false,
        _ => {
            stem.chars().count() <= 8
                && stem.split_once('~').is_some_and(|(base, n)| {
                    (1..=6).contains(&base.chars().count())
                        && !n.is_empty()
                        && n.bytes().all(|b| b.is_ascii_digit())
                })
        }
    };
    !name.is_empty()
        && !name.starts_with(['.', ' '])
        && !name.ends_with(['.', ' '])
        && !name.chars().any(|c| {
            crate::text::is_hidden(c)
                || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        })
        && !device
        && !short_alias
}

/// The key under which two names in one directory may be one file where
/// the file system folds case (APFS on macOS, NTFS on Windows) or Unicode
/// form (APFS): APFS's "canonical caseless" form, the name in NFD, case
/// folded, in NFD again. Each character is folded on its own (upper case,
/// then lower: `ſ` and `s` alike, and no final-sigma rule, which
/// `str::to_lowercase` applies and a file system does not), twice, which
/// is full case folding: `ẞ` lowers to `ß`, which only the second round
/// takes to `ss`. Decomposed first, `Ϊ́` and `ΐ` are the same letters.
pub(crate) fn folded_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let once = |s: String| -> String {
        s.chars()
            .flat_map(char::to_uppercase)
            .flat_map(char::to_lowercase)
            .collect()
    };
    once(once(name.nfd().collect())).nfd().collect()
}

/// A file as a path showed it at one moment: its size, modification time
/// and identity. Two looks that differ saw two versions of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    len: u64,
    modified: Option<std::time::SystemTime>,
    /// The inode's change time (Unix), which no one sets back as a
    /// modification time can be (`touch -d`, a build pinning
    /// `SOURCE_DATE_EPOCH`).
    changed: Option<(i64, i64)>,
    id: Option<FileId>,
}

impl Seen {
    /// `path` as it is now (following links, as a read would).
    pub(crate) fn now(path: &Path) -> std::io::Result<Seen> {
        Ok(Self::of(&std::fs::metadata(path)?))
    }

    /// Whether `path` shows this file still (as [`Seen::now`] would; a
    /// path that cannot be looked at does not).
    pub(crate) fn shown_at(&self, path: &Path) -> bool {
        Seen::now(path).is_ok_and(|now| now == *self)
    }

    /// The file `meta` describes.
    pub(crate) fn of(meta: &Metadata) -> Seen {
        #[cfg(unix)]
        let changed = {
            use std::os::unix::fs::MetadataExt as _;
            Some((meta.ctime(), meta.ctime_nsec()))
        };
        #[cfg(not(unix))]
        let changed = None;
        Seen {
            len: meta.len(),
            modified: meta.modified().ok(),
            changed,
            id: FileId::of(meta),
        }
    }
}

/// Which file a path named when it was listed: device and inode on Unix.
/// Elsewhere there is no stable equivalent in std (Windows' volume serial
/// number and file index are unstable), so the identity is unknown and only
/// the regular-file check applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl FileId {
    /// The identity of the file `meta` describes (taken with `stat`, which
    /// follows links, so it is the file an open would reach).
    pub fn of(meta: &Metadata) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }
}

/// The fix for a path that cannot be read, by why: a message that says
/// "check its permissions" of a link that loops misleads.
pub(crate) fn read_fix(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind;
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return "remove or repair the symbolic link on the path that loops";
    }
    match e.kind() {
        ErrorKind::PermissionDenied => "check its permissions (and its directories')",
        ErrorKind::NotFound => {
            "check that it exists (a symbolic link on the path may lead to nothing)"
        }
        ErrorKind::NotADirectory => "correct the path: a part of it is a file, not a directory",
        _ => "check that the file exists and is readable",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {}: {source}; fix: {}", path.display(), read_fix(source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is {kind}, not a regular file; only regular files are read; fix: name the file itself", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{} is no longer the file listed when the run started (it was replaced, or made a link, meanwhile); it was not read; fix: leave the files alone while the run goes on, and run again", path.display())]
    Replaced { path: PathBuf },
    #[error("{} changed while it was read ({at_open} bytes when opened, {read} read, {now} now), so its digest would be of no version of it; fix: run again once whatever writes it has finished", path.display())]
    Changed {
        path: PathBuf,
        at_open: u64,
        read: u64,
        now: u64,
    },
    /// The blocking thread reading the file panicked: a bug of ours, not a
    /// problem with the file. (The fix is `vocab::FIX_REPORT_BUG`, spelled
    /// out because this leaf imports nothing; a test in `digest` holds them
    /// equal.)
    #[error("reading {} stopped unexpectedly ({source}); fix: none on your side: this is a bug in releasekit-sign, please report it with this message", path.display())]
    Task {
        path: PathBuf,
        source: tokio::task::JoinError,
    },
}

/// Open `path` for reading if it is a regular file and, when `planned` is
/// known, the same file the plan listed. Its path is looked at first, so a
/// FIFO or device is refused without being opened for reading (a device's
/// driver sees an open: a watchdog starts counting, a serial line is
/// raised); the open does not block (opening a FIFO for reading would
/// otherwise wait for a writer, forever) and is checked again, for a file
/// swapped in between the two. Closing that window too (an `O_PATH` handle
/// reopened through `/proc/self/fd`) was measured at 5 % of verify's CPU,
/// against an attacker who could as well change the file itself.
pub(crate) fn open_regular(path: &Path, planned: Option<FileId>) -> Result<File, FileError> {
    let read = |source| FileError::Read {
        path: path.to_owned(),
        source,
    };
    let check = |meta: &Metadata| {
        if !meta.is_file() {
            return Err(FileError::NotRegular {
                path: path.to_owned(),
                kind: kind(meta),
            });
        }
        if planned.is_some() && FileId::of(meta) != planned {
            return Err(FileError::Replaced {
                path: path.to_owned(),
            });
        }
        Ok(())
    };
    check(&std::fs::metadata(path).map_err(read)?)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK does not change reads of a regular file; O_NOCTTY keeps a
        // terminal from becoming ours.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(read)?;
    check(&file.metadata().map_err(read)?)?;
    Ok(file)
}

/// All of `file`, or `None` when it holds more than `cap` bytes (never more
/// than `cap + 1` are read, whatever the file claims or becomes). The buffer
/// starts at the file's size, so a file is read in one call and a check for
/// its end; behind `take`, `read_to_end` has no size hint and grew from 32
/// bytes, a read per doubling (11 for a 10 KB bundle).
pub(crate) fn read_to_end_capped(file: File, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let size = file.metadata().map_or(0, |m| m.len()).min(cap);
    let mut bytes = Vec::with_capacity(usize::try_from(size + 1).unwrap_or(0));
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= cap).then_some(bytes))
}

/// What a non-regular file is, for the error.
fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

#[cfg(all(test, unix))]
pub(crate) mod tests {
    /// Make a FIFO at `path` (tests of what is refused unopened).
    pub(crate) fn mkfifo(path: &std::path::Path) {
        assert!(std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap()
            .success());
    }

    #[test]
    fn only_portable_names_become_files() {
        for ok in [
            "app-1.0.tar.gz",
            "a.sigstore.json",
            "x.partial",
            "CONSOLE.txt",
            "COMX",
            "LPT.txt",
            "é",
            "COé",
            "COM10",
            "COM¹0",
            "my~file.txt",
            "release-notes~1.txt",
            "a~1b.zip",
            "foo~1.0.tgz",
            "APP-10~1.tar.gz",
        ] {
            assert!(portable_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/etc/passwd",
            "a\\b",
            "x/..",
            ".hidden",
            "trailing.",
            " lead",
            "trail ",
            "C:evil",
            "a*b",
            "new\nline",
            "nul\0",
            "invoice\u{202e}gpj.exe",
            "a\u{200b}pp.whl",
            "x\u{2028}y",
            "NUL",
            "nul.txt",
            "Com1.tar.gz",
            "lpt9",
            "CON .txt",
            "COM¹",
            "lpt².tar.gz",
            "COM³ .txt",
            "APP-10~1.ZIP",
            "progra~1",
        ] {
            assert!(!portable_name(bad), "{bad:?}");
        }
    }

    /// Names that are one file on APFS and NTFS have one key: case and
    /// Unicode form (NFC and NFD) aside.
    #[test]
    fn folded_names_are_one_key() {
        assert_eq!(folded_name("Tool.zip"), folded_name("tool.ZIP"));
        assert_eq!(folded_name("caf\u{e9}.zip"), folded_name("cafe\u{301}.zip"));
        assert_eq!(folded_name("\u{17f}etup.zip"), folded_name("setup.zip"));
        assert_eq!(
            folded_name("\u{3b1}\u{3c2}.zip"),
            folded_name("\u{3b1}\u{3c3}.zip")
        );
        assert_ne!(folded_name("tool.zip"), folded_name("tool.zi"));
        // APFS folds these together too. Regression: two keys, so two
        // assets were written to one file.
        assert_eq!(folded_name("STRA\u{1e9e}E.zip"), folded_name("strasse.zip"));
        assert_eq!(folded_name("stra\u{df}e.zip"), folded_name("STRASSE.zip"));
        assert_eq!(folded_name("\u{3aa}\u{301}"), folded_name("\u{390}"));
        assert_eq!(folded_name("\u{3ab}\u{301}"), folded_name("\u{3b0}"));
    }
    use super::*;

    /// A rewrite of the same length whose modification time is put back
    /// (`touch -d`, a build pinning `SOURCE_DATE_EPOCH`) is still another
    /// version: the inode's change time moved.
    #[cfg(unix)]
    #[test]
    fn a_rewrite_with_its_time_put_back_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tgz");
        std::fs::write(&path, b"first").unwrap();
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let before = Seen::now(&path).unwrap();
        assert_eq!(Seen::now(&path).unwrap(), before);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"other").unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_modified(modified).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified
        );
        assert_ne!(Seen::now(&path).unwrap(), before);
    }

    #[test]
    fn a_regular_file_opens_when_it_is_the_one_listed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.whl");
        std::fs::write(&p, "a").unwrap();
        let id = FileId::of(&std::fs::metadata(&p).unwrap());
        assert!(open_regular(&p, id).is_ok());
        assert!(open_regular(&p, None).is_ok());
    }

    /// A file replaced by a link to another file after it was listed: the
    /// path still names a regular file, but not the one listed.
    #[test]
    fn a_file_replaced_by_a_link_after_listing_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.whl");
        std::fs::write(&p, "a").unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "secret").unwrap();
        let id = FileId::of(&std::fs::metadata(&p).unwrap());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        std::fs::rename(&link, &p).unwrap();
        let e = open_regular(&p, id).unwrap_err();
        assert!(matches!(e, FileError::Replaced { .. }), "{e}");
        assert!(e.to_string().contains(&p.display().to_string()), "{e}");
    }

    /// A FIFO is refused at once (a blocking open would wait for a writer
    /// that never comes, and this test would never end); so are a device and
    /// a directory.
    #[test]
    fn a_fifo_a_device_and_a_directory_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("ff");
        mkfifo(&fifo);
        for (path, kind) in [
            (fifo.as_path(), "a FIFO"),
            (Path::new("/dev/null"), "a device"),
            (dir.path(), "a directory"),
        ] {
            let e = open_regular(path, None).unwrap_err();
            assert!(
                matches!(&e, FileError::NotRegular { kind: k, .. } if *k == kind),
                "{e}"
            );
        }
    }

    /// A FIFO or device is not even opened for reading: a device's driver
    /// sees an open. Seen here by inotify, which reports every open.
    /// Regression: the FIFO was opened, without blocking, and refused after.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_fifo_is_refused_without_being_opened_for_reading() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("ff");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        mkfifo(&fifo);
        // The number of opens inotify reports for `path` while `f` runs.
        let opens = |path: &Path, f: &dyn Fn()| {
            // SAFETY: plain syscalls on a descriptor this closure owns and
            // closes, with a NUL-terminated path and a buffer it owns.
            unsafe {
                let fd = libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC);
                assert!(fd >= 0);
                let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
                assert!(libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_OPEN) >= 0);
                f();
                let mut buf = [0u8; 4096];
                let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
                libc::close(fd);
                let event = std::mem::size_of::<libc::inotify_event>() as isize;
                n.max(0) / event
            }
        };
        // The watch sees a regular file's open, so it would see the FIFO's.
        assert_eq!(
            opens(&file, &|| drop(open_regular(&file, None).unwrap())),
            1
        );
        let refused = opens(&fifo, &|| {
            let e = open_regular(&fifo, None).unwrap_err();
            assert!(matches!(e, FileError::NotRegular { .. }), "{e}");
        });
        assert_eq!(refused, 0, "the FIFO was opened");
    }

    #[test]
    fn a_capped_read_takes_the_file_whole_or_refuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sigstore.json");
        std::fs::write(&p, "0123456789").unwrap();
        let open = || File::open(&p).unwrap();
        assert_eq!(
            read_to_end_capped(open(), 10).unwrap().unwrap(),
            b"0123456789"
        );
        assert_eq!(
            read_to_end_capped(open(), 100).unwrap().unwrap(),
            b"0123456789"
        );
        assert_eq!(read_to_end_capped(open(), 9).unwrap(), None);
        std::fs::write(&p, "").unwrap();
        assert_eq!(read_to_end_capped(open(), 9).unwrap().unwrap(), b"");
    }

    /// The size the file claims is only a hint: a file that grows after it
    /// was looked at is still read no further than the cap.
    #[test]
    fn a_file_growing_past_the_cap_is_refused() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sigstore.json");
        std::fs::write(&p, "01234").unwrap();
        let file = File::open(&p).unwrap();
        let size = file.metadata().unwrap().len();
        assert_eq!(size, 5);
        let mut more = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        more.write_all(b"56789").unwrap();
        assert_eq!(read_to_end_capped(file, 8).unwrap(), None);
    }
}
