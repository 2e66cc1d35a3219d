//! Streaming SHA-256 of an artifact in constant memory.
//!
//! Owns reading artifact bytes for signing and verifying, through [`crate::files`] (regular
//! files only, the very file the plan listed). Hashing anything larger than
//! a small file runs on a blocking thread so a multi-gigabyte file never
//! stalls the async runtime. It does not sign.

use std::io::Read;
use std::path::Path;

use sha2::{Digest as _, Sha256};
use sigstore_types::Sha256Hash;

use crate::files::{self, FileError, FileId, Seen};

/// Largest read size: large enough that syscalls are negligible (8 192 per
/// GiB), small enough that the kernel's copy into it stays in the cache the
/// hash then reads it from. Each `read` is one copy of the whole request,
/// and on an AMD EPYC runner a copy of 256 KiB or more left the data out of
/// cache: one 1 GiB file, fresh process, 128 KiB reads 0.80 s (0.12 s in the
/// kernel), 256 KiB to 1 MiB reads 1.12 to 1.14 s (0.4 to 0.5 s in the
/// kernel), the hash itself 0.65 s either way. 128 KiB is also what
/// coreutils reads with.
pub(crate) const BUFFER_BYTES: usize = 128 * 1024;

/// How many artifacts to read and hash at once: one per core (hashing is
/// CPU-bound with SHA-NI), at least one, at most eight.
pub(crate) fn concurrent_reads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// Files at most this large are hashed on the task that asks: one read and
/// about 0.2 ms of SHA-NI, less than handing the work to a blocking thread and
/// waking the task again (two thread switches per artifact, which showed in
/// `sign`'s profile of many small artifacts).
pub(crate) const INLINE_BYTES: u64 = 256 * 1024;

/// SHA-256 of the file and its length, and how its open handle showed it
/// once read (what it must still look like when a bundle for that digest
/// is written); `on_bytes` is told of each chunk hashed.
/// Only a regular file is read, and only if it is still `planned`, the file
/// the plan listed under this path ([`files::open_regular`]). A file larger
/// than [`INLINE_BYTES`] is read on a blocking thread.
pub(crate) async fn sha256_file(
    path: &Path,
    planned: Option<FileId>,
    on_bytes: impl Fn(u64) + Send + 'static,
) -> Result<(Sha256Hash, u64, Seen), FileError> {
    let read = |source| FileError::Read {
        path: path.to_owned(),
        source,
    };
    let file = files::open_regular(path, planned)?;
    let len = file.metadata().map_err(read)?.len();
    if len <= INLINE_BYTES {
        return sha256_open_file(file, on_bytes).map_err(|e| e.at(path));
    }
    tokio::task::spawn_blocking(move || sha256_open_file(file, on_bytes))
        .await
        .map_err(|source| FileError::Task {
            path: path.to_owned(),
            source,
        })?
        .map_err(|e| e.at(path))
}

/// Why an open file could not be hashed.
#[derive(Debug)]
pub(crate) enum HashError {
    Io(std::io::Error),
    /// It changed while it was read (see [`sha256_open_file`]).
    Changed {
        at_open: u64,
        read: u64,
        now: u64,
    },
}

impl HashError {
    /// The error, naming `path`.
    pub(crate) fn at(self, path: &Path) -> FileError {
        match self {
            HashError::Io(source) => FileError::Read {
                path: path.to_owned(),
                source,
            },
            HashError::Changed { at_open, read, now } => FileError::Changed {
                path: path.to_owned(),
                at_open,
                read,
                now,
            },
        }
    }
}

/// SHA-256 of an open file, with a read buffer no larger than the file: release
/// artifacts are often a few KiB, and zeroing a whole buffer for each showed in profiles.
///
/// The file must not change while it is read (a build step still writing
/// it): its bytes would then be a mix no version of it holds, and a bundle
/// for that digest would verify against none. Its size and modification
/// time are compared before and after, and reading stops as soon as more
/// than its size at the start has come.
pub(crate) fn sha256_open_file(
    file: std::fs::File,
    on_bytes: impl Fn(u64),
) -> Result<(Sha256Hash, u64, Seen), HashError> {
    read_unchanged(&file, |bytes, len| {
        sha256_reader_with(bytes, buffer_len(len), on_bytes)
    })
}

/// `hash` over `file`'s bytes (at most one past its size at open, which is
/// also given), as they were when it was opened: `Changed` when its size
/// or modification time moved meanwhile, or more or less came than its
/// size. `hash` returns its digest and the bytes it read; with them comes
/// how the handle showed the file once read. The one rule for every
/// artifact hashed from disk (see [`sha256_open_file`]).
pub(crate) fn read_unchanged<T>(
    file: &std::fs::File,
    hash: impl FnOnce(std::io::Take<&std::fs::File>, u64) -> std::io::Result<(T, u64)>,
) -> Result<(T, u64, Seen), HashError> {
    let before = file.metadata().map_err(HashError::Io)?;
    let len = before.len();
    let (digest, total) = hash(file.take(len.saturating_add(1)), len).map_err(HashError::Io)?;
    let after = file.metadata().map_err(HashError::Io)?;
    // The change time too: a rewrite of the same length whose modification
    // time is put back (`touch -d`) moves it.
    let seen = Seen::of(&after);
    if total != len || seen != Seen::of(&before) {
        return Err(HashError::Changed {
            at_open: len,
            read: total,
            now: after.len(),
        });
    }
    Ok((digest, total, seen))
}

/// The read buffer for a file of `len` bytes: one read past the end tells EOF.
fn buffer_len(len: u64) -> usize {
    usize::try_from(len.saturating_add(1)).map_or(BUFFER_BYTES, |n| n.clamp(1, BUFFER_BYTES))
}

/// SHA-256 of everything `reader` yields, read `buffer` bytes at a time.
fn sha256_reader_with(
    mut reader: impl Read,
    buffer: usize,
    on_bytes: impl Fn(u64),
) -> std::io::Result<(Sha256Hash, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; buffer];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        on_bytes(n as u64);
    }
    Ok((Sha256Hash::new(hasher.finalize().into()), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file written to, or cut short, while it is hashed fails, naming
    /// the change, rather than giving a digest of a mix of its versions.
    /// Regression: the mix was signed, and its bundle verified against no
    /// version of the file.
    #[test]
    fn a_file_that_changes_while_it_is_read_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        type Edit = fn(&Path);
        let edits: [(&str, Edit); 3] = [
            // Regression: missed, its modification time being as before.
            ("is rewritten, its time put back", |p| {
                use std::io::{Seek as _, Write as _};
                let was = std::fs::metadata(p).unwrap().modified().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(20));
                let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                f.seek(std::io::SeekFrom::Start(0)).unwrap();
                f.write_all(b"X").unwrap();
                f.set_modified(was).unwrap();
            }),
            ("grows", |p| {
                use std::io::Write as _;
                let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
                f.write_all(b"more").unwrap();
            }),
            ("is cut short", |p| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .unwrap()
                    .set_len(10)
                    .unwrap();
            }),
        ];
        for (what, edit) in edits {
            std::fs::write(&path, vec![7u8; 3 * BUFFER_BYTES]).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            let once = std::sync::Once::new();
            let e = sha256_open_file(file, |_| once.call_once(|| edit(&path)))
                .unwrap_err()
                .at(&path)
                .to_string();
            assert!(e.contains("changed while it was read"), "{what}: {e}");
            assert_eq!(e.matches("fix:").count(), 1, "{e}");
        }
        // Unchanged, the same file hashes.
        std::fs::write(&path, vec![7u8; 3 * BUFFER_BYTES]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let (_, n, seen) = sha256_open_file(file, |_| {})
            .map_err(|e| e.at(&path))
            .unwrap();
        assert_eq!(n, 3 * BUFFER_BYTES as u64);
        // How the hashed handle showed it is how its path shows it, until
        // another file takes the path (what sign holds the path to).
        assert_eq!(Seen::now(&path).unwrap(), seen);
        std::fs::write(path.with_extension("new"), vec![7u8; 3 * BUFFER_BYTES]).unwrap();
        std::fs::rename(path.with_extension("new"), &path).unwrap();
        assert_ne!(Seen::now(&path).unwrap(), seen);
    }

    #[test]
    fn small_files_get_small_buffers_and_large_ones_the_cap() {
        assert_eq!(buffer_len(0), 1);
        assert_eq!(buffer_len(4096), 4097);
        assert_eq!(buffer_len(10 << 30), BUFFER_BYTES);
        assert!(concurrent_reads() >= 1);
    }

    /// `files` imports nothing, so it spells the shared fix out.
    #[tokio::test]
    async fn a_panicked_read_says_it_is_a_bug_in_the_shared_words() {
        let source = tokio::task::spawn_blocking(|| panic!("boom"))
            .await
            .unwrap_err();
        let e = FileError::Task {
            path: "dist/app.tar.gz".into(),
            source,
        };
        let shown = e.to_string();
        assert!(
            shown.starts_with("reading dist/app.tar.gz stopped unexpectedly"),
            "{shown}"
        );
        assert!(shown.ends_with(crate::vocab::FIX_REPORT_BUG), "{shown}");
    }

    #[test]
    fn an_open_file_hashes_like_a_reader() {
        let data: Vec<u8> = (0..(BUFFER_BYTES + 5)).map(|i| (i % 7) as u8).collect();
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &data).unwrap();
        std::io::Seek::rewind(&mut f).unwrap();
        let (h, n, _) = sha256_open_file(f, |_| {}).unwrap();
        assert_eq!(
            (h, n),
            sha256_reader_with(data.as_slice(), BUFFER_BYTES, |_| {}).unwrap()
        );
    }
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn known_vectors() {
        let (h, n) = sha256_reader_with(&b""[..], BUFFER_BYTES, |_| {}).unwrap();
        assert_eq!(
            h.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(n, 0);
        let (h, _) = sha256_reader_with(&b"abc"[..], BUFFER_BYTES, |_| {}).unwrap();
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// The plan saw one file; by the time it is opened the path is a link to
    /// another (a secret, say): it is refused, not hashed.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_file_replaced_after_planning_is_not_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.whl");
        std::fs::write(&p, "a").unwrap();
        let args = [p.display().to_string()];
        let plan = crate::plan::build(&crate::plan::PlanInput {
            args: &args,
            recursive: false,
            output_dir: None,
            overwrite: false,
            writes_bundles: true,
        })
        .unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "secret").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        std::fs::rename(&link, &p).unwrap();
        let planned = &plan.artifacts[0];
        let e = sha256_file(&planned.path, planned.file, |_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, FileError::Replaced { .. }), "{e}");
    }

    /// A small file is hashed on the asking task's thread; a larger one
    /// elsewhere, so the runtime's threads never stall on a large file.
    #[tokio::test]
    async fn only_small_files_are_hashed_on_the_asking_thread() {
        let dir = tempfile::tempdir().unwrap();
        for (len, inline) in [(INLINE_BYTES, true), (INLINE_BYTES + 1, false)] {
            let p = dir.path().join(format!("f{len}"));
            std::fs::write(&p, vec![7u8; len as usize]).unwrap();
            let here = std::thread::current().id();
            let elsewhere = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let seen = elsewhere.clone();
            let (_, n, _) = sha256_file(&p, None, move |_| {
                if std::thread::current().id() != here {
                    seen.store(true, Ordering::Relaxed);
                }
            })
            .await
            .unwrap();
            assert_eq!(n, len);
            assert_eq!(elsewhere.load(Ordering::Relaxed), !inline, "{len} bytes");
        }
    }

    #[tokio::test]
    async fn streams_files_larger_than_the_buffer_and_reports_progress() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        let data: Vec<u8> = (0..(BUFFER_BYTES * 2 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&p, &data).unwrap();
        let seen = Arc::new(AtomicU64::new(0));
        let s = seen.clone();
        let planned = FileId::of(&std::fs::metadata(&p).unwrap());
        let (h, n, _) = sha256_file(&p, planned, move |b| {
            s.fetch_add(b, Ordering::Relaxed);
        })
        .await
        .unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(seen.load(Ordering::Relaxed), n);
        assert_eq!(h.as_bytes()[..], Sha256::digest(&data)[..]);
    }
}
