//! One artifact, start to finish: digest, signature, log entry, timestamp,
//! bundle, self-verification, atomic write.
//!
//! Owns the per-artifact steps and their order. It gets its key and
//! certificate from [`super::session`] and never requests certificates
//! itself; a bundle that does not verify against the instance's trusted root
//! is never written. When the run uploads, it also decides whether a bundle
//! already on disk (left by a run whose upload failed) can be kept: only when
//! it verifies for this artifact and exactly the run's identity and issuer,
//! made at the run's commit where its certificates name one.

use std::path::PathBuf;
use std::sync::Arc;

use sigstore_bundle::BundleV03;
use sigstore_types::{EntryUuid, KindVersion, Sha256Hash, TransparencyLogEntry};
use sigstore_verify::{IdentityMatcher, VerificationPolicy};

use super::clients::{self, ServiceError};
use super::session::{Credential, Session, SessionError};
use super::Progress;
use crate::bundle_io::{self, BundleIoError};
use crate::digest;
use crate::files;
use crate::net::{self, RetryPolicy};
use crate::plan::PlannedArtifact;

/// The transparency log a run writes to.
pub enum Log {
    V1(clients::RekorV1),
    V2(clients::RekorV2),
    /// The instance keeps no log (GitHub's): bundles carry a timestamp only.
    None,
}

/// What every artifact of a run shares.
pub struct Context {
    pub session: Arc<Session>,
    pub log: Log,
    /// Empty when [`Log::None`].
    pub log_url: String,
    pub tsa: Option<(clients::Tsa, String)>,
    /// Built once per run from the instance's trusted root.
    pub verifier: Arc<crate::verify::cache::CachingVerifier>,
    /// Whether the log is known to be one the trusted root lists (see
    /// [`LogGate`]).
    pub log_gate: tokio::sync::watch::Sender<LogGate>,
    /// The artifact whose failure stopped the run ([`Context::close_log`]):
    /// one started before it, still waiting to be hashed, sends nothing.
    /// The artifact the run stopped after, and whether it was for a bundle
    /// that could not be written ([`ArtifactError::Stopped`]).
    pub stopped_after: std::sync::OnceLock<(std::path::PathBuf, bool)>,
    /// The logs that trusted root lists.
    pub trusted_logs: Vec<TrustedLog>,
    pub overwrite: bool,
    /// Uploading: an existing bundle is kept when it verifies under this
    /// policy (the run's exact identity and issuer) instead of failing.
    pub reuse: Option<crate::verify::policy::Policy>,
    pub retry: RetryPolicy,
    pub progress: Arc<dyn Progress>,
    /// Artifacts being hashed at once (one read buffer each): the number of cores.
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// Bundles being self-verified at once: one per core. The verification
    /// is CPU-bound; run for every answered artifact at once (up to `--jobs`
    /// blocking threads) it starved the runtime's threads, which read the
    /// next answers and send the next requests. The write's `fsync` waits on
    /// the disk (about a millisecond here), outside this bound.
    pub verifying: Arc<tokio::sync::Semaphore>,
}

pub use crate::verify::checkpoint::TrustedLog;

/// A bundle verified and written.
#[derive(Debug, Clone)]
pub struct Signed {
    pub sha256: Sha256Hash,
    /// The length hashed: what was signed (the file may have changed since planning).
    pub size: u64,
    /// `None` on an instance that keeps no log.
    pub log_index: Option<u64>,
    pub timestamped: bool,
    pub certificate: u32,
}

/// An existing bundle verified and kept (uploading only).
#[derive(Debug, Clone)]
pub struct Reused {
    pub sha256: Sha256Hash,
    /// The length hashed.
    pub size: u64,
    /// `None` on an instance that keeps no log.
    pub log_index: Option<u64>,
}

/// What the run knows of its log (on an instance that keeps none, of its
/// TSA): nothing yet, that a bundle of it verified in full (or, once every
/// artifact is done, that none will: then it is open), or that the run
/// stopped ([`ArtifactError::stops_the_run`]).
/// The provenance, signed as soon as every artifact is hashed, goes to the
/// log only once it is open, so that a run that stops sends it nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogGate {
    Pending,
    Open,
    Closed,
}

impl Context {
    /// A bundle of the run's log (or TSA) verified, or none is coming.
    pub(crate) fn open_log(&self) {
        self.log_gate.send_if_modified(|g| {
            let pending = *g == LogGate::Pending;
            if pending {
                *g = LogGate::Open;
            }
            pending
        });
    }

    /// The run stopped after `after`: nothing more goes to its services.
    pub(crate) fn close_log(&self, after: &std::path::Path, unwritten: bool) {
        let _ = self.stopped_after.set((after.to_owned(), unwritten));
        self.log_gate.send_replace(LogGate::Closed);
    }

    /// [`ArtifactError::Stopped`], if the run stopped.
    pub(crate) fn stopped(&self) -> Result<(), ArtifactError> {
        match self.stopped_after.get() {
            Some((after, unwritten)) => Err(ArtifactError::Stopped {
                after: after.clone(),
                unwritten: *unwritten,
            }),
            None => Ok(()),
        }
    }

    /// Wait until the log is open (`true`) or closed (`false`). On an
    /// instance that keeps no log the gate stands for its TSA: a bundle
    /// timestamped by it verified, or the run stopped.
    pub(crate) async fn log_opened(&self) -> bool {
        let mut gate = self.log_gate.subscribe();
        let opened = gate.wait_for(|g| *g != LogGate::Pending).await;
        opened.is_ok_and(|g| *g == LogGate::Open)
    }
}

/// What became of one artifact.
#[derive(Debug, Clone)]
pub enum Done {
    Signed(Signed),
    Reused(Reused),
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("bundle {} already exists; fix: pass --overwrite (action input `overwrite: true`) to replace it", .0.display())]
    BundleExists(PathBuf),
    /// Its bundle would vouch for bytes no longer on disk: a verifier of
    /// the file beside it would fail it.
    #[error("{} changed after it was hashed (its size, modification time or identity differ now), so no bundle was written for it (its signature went to the instance's services, unused); fix: run again once whatever writes it has finished", .0.display())]
    ChangedSinceHashed(PathBuf),
    /// The same, seen before anything was sent.
    #[error("{} changed just after it was hashed (its size, modification time or identity differ now), so it was not signed; fix: run again once whatever writes it has finished", .0.display())]
    ReplacedAfterHashed(PathBuf),
    /// The log's integrated time is further ahead of this machine's clock
    /// than [`LOG_CLOCK_LEAD`]: every verifier here refuses a time in the
    /// future, so no bundle of the run could be self-verified.
    #[error("the transparency log {url} integrated the entry at {integrated}, {ahead_secs} s ahead of this machine's clock, and a bundle whose log time is in the future does not verify; fix: set this machine's clock right (NTP), then re-run")]
    ClockBehind {
        url: String,
        integrated: jiff::Timestamp,
        ahead_secs: i64,
    },
    #[error("bundle {} already exists and was not kept for upload: {reason}; fix: pass --overwrite (action input `overwrite: true`) to replace it with a new signature", bundle.display())]
    NotReused { bundle: PathBuf, reason: String },
    #[error(transparent)]
    Read(#[from] crate::files::FileError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("cannot sign the digest: {0}")]
    Sign(#[source] sigstore_crypto::Error),
    #[error("Rekor at {url} did not log the signature: {source}; fix: retry later, or check {choice}", choice = crate::vocab::REKOR_CHOICE)]
    Rekor { url: String, source: ServiceError },
    #[error("the Rekor log entry cannot be put in a bundle: {0}")]
    Entry(String),
    #[error("Rekor at {url} returned a log entry for another signature or artifact ({detail}); refusing to put it in a bundle (fix: check that {choice} points at a genuine Rekor, and report the log's answer to its operator)", choice = crate::vocab::REKOR_CHOICE)]
    LogEntryMismatch { url: String, detail: String },
    #[error("Rekor at {url} returned an inclusion proof that disagrees with its own checkpoint ({detail}); refusing to put it in a bundle (fix: check that {choice} points at a genuine Rekor)", choice = crate::vocab::REKOR_CHOICE)]
    ProofMismatch { url: String, detail: String },
    #[error("Rekor at {url} logged the signature under log ID {log_id}, which the instance's trusted root does not list (or lists with a key not valid for the entry's time), so no bundle can carry the entry and verify; nothing more is sent to it; fix: pass a --rekor-url the trusted root lists (or, in --signing-config, action input `signing-config`, one in rekorTlogUrls), or a trusted root that lists this log ({trust})", trust = crate::vocab::TRUST_CHOICE)]
    LogNotTrusted { url: String, log_id: String },
    #[error("the bundle just built does not read back ({0}); it was not written")]
    Reparse(String),
    #[error("the timestamp authority at {url} gave no timestamp: {source}; fix: retry later, or check {choice}", choice = crate::vocab::TSA_CHOICE)]
    Timestamp { url: String, source: ServiceError },
    #[error("the timestamp authority at {url} answered with a timestamp for another request ({detail}); refusing to put it in a bundle (fix: check that {choice} points at a genuine TSA, and report its answer to its operator)", choice = crate::vocab::TSA_CHOICE)]
    TimestampMismatch { url: String, detail: String },
    #[error("the new bundle does not verify against the instance's trusted root ({0}), so it was not written; fix: check that {trust} describes the services signed with; if it does, a service answered with evidence that does not check out: retry, and report it to the instance's operator", trust = crate::vocab::TRUST_CHOICE)]
    SelfVerify(#[source] sigstore_verify::Error),
    #[error(transparent)]
    Write(BundleIoError),
    /// The TSA signed with a certificate the trusted root does not list:
    /// every timestamp of it would fail alike.
    #[error("the timestamp authority at {url} signs with a certificate the instance's trusted root does not list, so no bundle can carry its timestamps and verify ({detail}); nothing more is sent to it; fix: pass a --tsa-url the trusted root lists (or, in --signing-config, action input `signing-config`, one in tsaUrls), or a trusted root that lists this authority ({trust})", trust = crate::vocab::TRUST_CHOICE)]
    TimestampNotTrusted { url: String, detail: String },
    /// Not attempted: an earlier artifact's failure would have been this
    /// one's too (see [`ArtifactError::stops_the_run`]).
    #[error("not signed: the run stopped after {}, {}, so that no more signatures went to its services; fix: see that artifact's error, then sign again", after.display(), if *.unwritten { "whose bundle could not be written (no space, a read-only file system or no descriptor left)" } else { "whose evidence no bundle can carry and verify under the instance's trusted root" })]
    Stopped { after: PathBuf, unwritten: bool },
    /// A Rekor v2 checkpoint not named for the log's host: cosign 3 and
    /// sigstore-go refuse every bundle of it.
    #[error("Rekor at {url} signed its checkpoint as origin `{origin}` (signature lines: {names}), not as `{host}`, the host of the log's URL in the instance's trusted root, which verifiers such as cosign 3 and sigstore-go require; no bundle of it would verify there, so none is written and nothing more is sent to it; fix: the log's operator sets its hostname to `{host}`, or the trusted root lists the log under the URL of its name")]
    CheckpointNotNamed {
        url: String,
        origin: String,
        names: String,
        host: String,
    },
    /// A step handed to a blocking thread panicked: a bug of ours, not a
    /// problem with the files, the directory or a service.
    #[error(
        "{step} stopped unexpectedly ({source}); {}",
        crate::vocab::FIX_REPORT_BUG
    )]
    Task {
        step: &'static str,
        source: tokio::task::JoinError,
    },
}

impl ArtifactError {
    /// A bundle not written for want of space, a writable file system or a
    /// descriptor: no later one would be either.
    pub(crate) fn unwritable(&self) -> bool {
        matches!(
            self,
            Self::Write(BundleIoError::Write {
                source: crate::atomic_file::AtomicError::Io(e),
                ..
            }) if crate::atomic_file::Exhausted::of(e).is_some()
        )
    }

    /// Whether every later artifact would fail alike, after its signature
    /// and the certificate's identity were logged for good: then the run
    /// starts no more artifacts. Only a log or a TSA the trusted root does
    /// not list, a Rekor v2 checkpoint not named for its log, a clock the
    /// log's is far ahead of, or a renewed certificate refused, says so for
    /// certain; one wrong answer (a bad proof, an entry for
    /// something else) fails its own artifact, and the others, each
    /// self-verified, are still signed.
    pub(crate) fn stops_the_run(&self) -> bool {
        match self {
            Self::LogNotTrusted { .. }
            | Self::ClockBehind { .. }
            | Self::CheckpointNotNamed { .. }
            | Self::TimestampNotTrusted { .. } => true,
            // A renewed certificate refused (the first refused fails the
            // run before any artifact): from a CA the trusted root does not
            // list, without an SCT its CT logs vouch for, for another
            // signer or key, too short. Each later artifact would ask
            // Fulcio for another, each a CT log entry naming the signer,
            // and be refused alike.
            Self::Session(e) => e.refuses_the_renewal(),
            // A full disk or quota, a read-only file system, no descriptor
            // left: every later bundle would be logged and then not written.
            Self::Write(_) => self.unwritable(),
            // Checked at issuance, so not expected here; kept should a
            // certificate ever reach a bundle unchecked.
            Self::SelfVerify(sigstore_verify::Error::Certificate(
                sigstore_verify::CertificateError::Sct(_),
            )) => true,
            _ => false,
        }
    }
}

/// Sign one planned artifact, or keep its existing bundle when the run
/// uploads and that bundle verifies; see the module doc for the steps.
/// `hashed` is told the artifact's SHA-256 once only the network stands
/// between it and its outcome: as soon as an artifact to sign is hashed, and
/// once a kept bundle verified (a run's provenance is signed from the
/// digests meanwhile).
pub(crate) async fn sign_or_reuse(
    ctx: &Context,
    planned: &PlannedArtifact,
    hashed: impl FnOnce(Sha256Hash),
) -> Result<Done, ArtifactError> {
    if !planned.blocked_by_existing_bundle {
        return sign(ctx, planned, hashed).await.map(Done::Signed);
    }
    // An existing bundle is this artifact's failure, decided before any work,
    // unless the run uploads: then a re-run after a failed upload finishes
    // the job with the bundle the first run wrote, if it is still valid.
    let Some(policy) = &ctx.reuse else {
        return Err(ArtifactError::BundleExists(planned.bundle.clone()));
    };
    reuse(ctx, planned, policy, hashed).await.map(Done::Reused)
}

/// Keep `planned`'s existing bundle only if it verifies, under the run's
/// trusted root, for the artifact's streamed digest and exactly `policy`.
async fn reuse(
    ctx: &Context,
    planned: &PlannedArtifact,
    policy: &crate::verify::policy::Policy,
    hashed: impl FnOnce(Sha256Hash),
) -> Result<Reused, ArtifactError> {
    let not_reused = |reason: String| ArtifactError::NotReused {
        bundle: planned.bundle.clone(),
        reason,
    };
    let path = planned.bundle.clone();
    let json = tokio::task::spawn_blocking(move || bundle_io::read_capped(&path)).await;
    let json = joined("reading the existing bundle", json)?.map_err(|e| not_reused(e.unfixed()))?;
    let (digest, size, _) = hash(ctx, planned).await?;
    let verified =
        crate::verify::verify_bytes(&ctx.verifier, policy, &planned.bundle, &json, digest, size)
            .map_err(|e| match e {
                // The pin is the run's own commit, not a tag's (verify's wording).
                crate::verify::Failure::Policy(
                    crate::verify::policy::PolicyMismatch::OtherCommit {
                        expected, found, ..
                    },
                ) => not_reused(format!(
                    "it was made at {}, not at this run's commit {expected}",
                    crate::verify::policy::commit_named(found.as_deref())
                )),
                e => not_reused(e.diagnosis()),
            })?;
    let log_index = match (verified.log_index(), &ctx.log) {
        (None, Log::V1(_) | Log::V2(_)) => {
            return Err(not_reused("it has no transparency log entry".into()))
        }
        (index, _) => index,
    };
    // Only now: a bundle refused above fails its artifact, which the early
    // provenance must not take for a subject (`sign::subjects`).
    hashed(digest);
    Ok(Reused {
        sha256: digest,
        size,
        log_index,
    })
}

/// The artifact's SHA-256 and size, streamed: the only pass over its bytes;
/// and how the file looked as it was hashed (see [`digest::sha256_file`]).
/// Hashing is bounded by cores, not by `--jobs`: network waits want many
/// artifacts in flight, but more concurrent reads than cores only cost memory.
async fn hash(
    ctx: &Context,
    planned: &PlannedArtifact,
) -> Result<(Sha256Hash, u64, files::Seen), ArtifactError> {
    let progress = ctx.progress.clone();
    let _permit = ctx
        .hashing
        .acquire()
        .await
        .expect("the hashing semaphore is never closed");
    Ok(digest::sha256_file(&planned.path, planned.file, move |n| progress.hashed(n)).await?)
}

/// Sign one planned artifact that has no bundle in the way.
async fn sign(
    ctx: &Context,
    planned: &PlannedArtifact,
    hashed: impl FnOnce(Sha256Hash),
) -> Result<Signed, ArtifactError> {
    // 1. Digest, streamed. Hashing waits for a core: the run may have
    //    stopped meanwhile, and then nothing is sent.
    // How the file looked as it was hashed (its open handle's, after the
    // last read): the path must still show it now, and when its bundle is
    // written, seconds of network later. Regression: the path was looked
    // at after the hash, so a file renamed into its place in between was
    // taken for the one hashed, and got the bundle of the bytes before.
    let (digest, size, seen) = hash(ctx, planned).await?;
    if !seen.shown_at(&planned.path) {
        return Err(ArtifactError::ReplacedAfterHashed(planned.path.clone()));
    }
    hashed(digest);
    ctx.stopped()?;
    // A full disk stops the run before this artifact's entry is logged, not
    // once its bundle fails to be written (every artifact in flight then
    // logged for nothing).
    planned.bundle_dir.has_room().map_err(|source| {
        ArtifactError::Write(BundleIoError::Write {
            path: planned.bundle.clone(),
            source,
        })
    })?;

    // 2. The run's credential, renewed if it would expire before this entry is logged.
    // 3+4. Transparency log entry and RFC 3161 timestamp (when the instance has a
    //      TSA), at the same time: both depend only on the signature, and with one
    //      certificate per run they are the whole per-artifact round-trip cost.
    let Evidence {
        credential,
        signed: signature,
        entry,
        timestamp,
    } = within_validity(ctx, &planned.path, |credential| async move {
        let mut signed_again = false;
        loop {
            let signature = credential
                .key()
                .sign_digest(&digest)
                .map_err(ArtifactError::Sign)?;
            let (entry, timestamp) = tokio::join!(
                log_entry(ctx, &digest, &signature, credential.certificate()),
                timestamp(ctx, &signature)
            );
            if sign_again(ctx, &entry, &planned.path, &mut signed_again) {
                continue;
            }
            return Ok((signature, entry, timestamp));
        }
    })
    .await?;
    let entry = entry?;
    if let Some(entry) = &entry {
        check_listed(ctx, entry)?;
        check_entry(entry, &digest, &signature, &ctx.log_url)?;
        ctx.progress.logged();
        until_logged_time(entry, &ctx.log_url).await?;
    }
    let log_index = entry.as_ref().map(|e| u64::from(e.log_index));
    let timestamp = timestamp?;
    let timestamped = timestamp.is_some();

    // 5. Bundle v0.3: leaf certificate, message signature over the SHA-256 digest, entry.
    let mut builder = BundleV03::with_certificate_and_signature(
        credential.certificate().clone(),
        signature,
        digest,
    );
    if let Some(entry) = entry {
        builder = builder.with_tlog_entry(entry);
    }
    if let Some(ts) = timestamp {
        builder = builder.with_rfc3161_timestamp(ts);
    }
    let bundle = builder.into_bundle();

    // 6. Self-verify exactly what will be written, as a verifier will see it:
    //    chain, SCT, log proof and checkpoint, times, and the certified identity.
    // 7. Atomic write: the bundle appears whole or not at all.
    //    Both on one blocking thread: the verification is most of an
    //    artifact's CPU, and run here it would hold the task that drives
    //    every artifact in flight (a single thread) for each bundle.
    let json = bundle_io::to_json(&bundle).map_err(ArtifactError::Write)?;
    match verify_and_write(ctx, credential.clone(), digest, (planned, seen), json).await {
        // Told apart on this failure path only: is the TSA one the trusted
        // root lists at all?
        Err(ArtifactError::SelfVerify(e))
            if bundle
                .verification_material
                .timestamp_verification_data
                .rfc3161_timestamps
                .first()
                .and_then(|t| {
                    ctx.verifier
                        .lists_timestamp_signer(t.signed_timestamp.as_bytes())
                })
                == Some(false) =>
        {
            let url = ctx.tsa.as_ref().map(|(_, u)| u.clone()).unwrap_or_default();
            return Err(ArtifactError::TimestampNotTrusted {
                url,
                detail: e.to_string(),
            });
        }
        done => done?,
    }
    // A bundle of this log verified in full (its certificate's SCT, its
    // timestamp's authority too): the provenance may follow it there.
    ctx.open_log();
    Ok(Signed {
        sha256: digest,
        size,
        log_index,
        timestamped,
        certificate: credential.generation,
    })
}

/// A log entry as answered (none from an instance without a log).
pub(super) type EntryAnswer = Result<Option<TransparencyLogEntry>, ArtifactError>;
/// An RFC 3161 timestamp as answered (none from an instance without a TSA).
pub(super) type TimestampAnswer = Result<Option<sigstore_types::TimestampToken>, ArtifactError>;

/// What was signed with which credential, and the evidence answered for it.
pub(super) struct Evidence<T> {
    pub credential: Arc<Credential>,
    pub signed: T,
    pub entry: EntryAnswer,
    pub timestamp: TimestampAnswer,
}

/// Sign with the run's credential and gather the evidence (`attempt`), once
/// more at most: the margin a credential is handed out with covers a log's
/// usual latency, not a service that asks to come back later (Retry-After)
/// past it. Evidence timed after the certificate ended (the log's
/// integrated time, the TSA's time) can never verify: `what` (an artifact,
/// the provenance) is signed again with a renewed credential.
pub(super) async fn within_validity<T, A>(
    ctx: &Context,
    what: &std::path::Path,
    mut attempt: impl FnMut(Arc<Credential>) -> A,
) -> Result<Evidence<T>, ArtifactError>
where
    A: std::future::Future<Output = Result<(T, EntryAnswer, TimestampAnswer), ArtifactError>>,
{
    let mut again = true;
    loop {
        let credential = ctx.session.credential().await?;
        let (signed, entry, timestamp) = attempt(credential.clone()).await?;
        if again && evidence_after(&entry, &timestamp, credential.not_after) {
            again = false;
            tracing::info!(
                path = %what.display(),
                not_after = %credential.not_after,
                "the certificate ended while the signature was being logged: signing again with a new one"
            );
            // By the service's clock it has ended, though ours may give it
            // more than the renewal margin: the same certificate would get
            // the same late evidence.
            ctx.session.retire(&credential).await;
            continue;
        }
        return Ok(Evidence {
            credential,
            signed,
            entry,
            timestamp,
        });
    }
}

/// Whether the evidence that came back is timed after `not_after`: the log
/// entry's integrated time (Rekor v1) or the timestamp's time, whichever
/// is there. Failed exchanges are not judged here.
fn evidence_after(
    entry: &EntryAnswer,
    timestamp: &TimestampAnswer,
    not_after: jiff::Timestamp,
) -> bool {
    let (Ok(entry), Ok(timestamp)) = (entry, timestamp) else {
        return false;
    };
    let logged = entry.as_ref().and_then(|e| e.integrated_time);
    if logged.is_some_and(|t| t > not_after) {
        return true;
    }
    // Decoding the token costs more than the rest of this check: only near
    // the end (a service's clock may run a minute or two ahead of ours).
    let near_end = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_mins(2))
        .map_or(true, |t| t >= not_after);
    near_end
        && timestamp
            .as_ref()
            .and_then(|t| crate::verify::timestamp::gen_time(t.as_bytes()))
            .is_some_and(|t| t > not_after)
}

/// An RFC 3161 timestamp over `signature`, when the instance has a TSA.
pub(super) async fn timestamp(
    ctx: &Context,
    signature: &sigstore_types::SignatureBytes,
) -> Result<Option<sigstore_types::TimestampToken>, ArtifactError> {
    let Some((client, url)) = &ctx.tsa else {
        return Ok(None);
    };
    net::retry(&ctx.retry, "RFC 3161 timestamp", || {
        client.timestamp_signature(signature)
    })
    .await
    .map(Some)
    .map_err(|source| match source {
        ServiceError::Mismatch { detail, .. } => ArtifactError::TimestampMismatch {
            url: url.clone(),
            detail,
        },
        source => ArtifactError::Timestamp {
            url: url.clone(),
            source,
        },
    })
}

/// [`self_verify`] `json`, then write it as `planned`'s bundle, on a
/// blocking thread.
async fn verify_and_write(
    ctx: &Context,
    credential: Arc<Credential>,
    digest: Sha256Hash,
    (planned, seen): (&PlannedArtifact, files::Seen),
    json: Vec<u8>,
) -> Result<(), ArtifactError> {
    let verifier = ctx.verifier.clone();
    let artifact = planned.path.clone();
    let path = planned.bundle.clone();
    let dir = planned.bundle_dir.clone();
    let overwrite = ctx.overwrite;
    let verifying = ctx
        .verifying
        .clone()
        .acquire_owned()
        .await
        .expect("the verification semaphore is never closed");
    let done = tokio::task::spawn_blocking(move || {
        let verified = self_verify(&verifier, &credential, digest, &json);
        drop(verifying);
        verified?;
        // Regression: an artifact a build step was still writing got a
        // bundle, "Signed", for bytes hashed before the step's last write.
        if !seen.shown_at(&artifact) {
            return Err(ArtifactError::ChangedSinceHashed(artifact));
        }
        bundle_io::write_atomic_in(&dir, &path, &json, overwrite).map_err(|e| match e {
            BundleIoError::Exists(p) => ArtifactError::BundleExists(p),
            e => ArtifactError::Write(e),
        })
    })
    .await;
    joined("verifying and writing the bundle", done)?
}

/// What a blocking `step` returned; if it panicked, that is a bug, and it is
/// said so ([`ArtifactError::Task`]), never blamed on the disk or a service.
pub(super) fn joined<T>(
    step: &'static str,
    done: Result<T, tokio::task::JoinError>,
) -> Result<T, ArtifactError> {
    done.map_err(|source| ArtifactError::Task { step, source })
}

/// How far ahead of this machine's clock a log's integrated time may be
/// waited out. Rekor v1 integrates in whole seconds by its own clock, and a
/// runner's may lag it by a second or more (a self-hosted one, a container
/// whose host drifted); a verifier refuses a time in the future, so the
/// self-verification waits for it. Further ahead, the clock is wrong.
const LOG_CLOCK_LEAD: std::time::Duration = std::time::Duration::from_secs(30);

/// Wait until `entry`'s integrated time (if any) is no longer ahead of this
/// machine's clock, as far as [`LOG_CLOCK_LEAD`]; beyond it, the clock is
/// said to be behind, which stops the run (every entry would be alike).
/// Regression: each artifact was logged and then failed its
/// self-verification, "integrated time in the future".
pub(super) async fn until_logged_time(
    entry: &TransparencyLogEntry,
    url: &str,
) -> Result<(), ArtifactError> {
    let Some(integrated) = entry.integrated_time else {
        return Ok(());
    };
    let ahead = integrated.duration_since(jiff::Timestamp::now());
    if ahead <= jiff::SignedDuration::ZERO {
        return Ok(());
    }
    let ahead = std::time::Duration::try_from(ahead).unwrap_or(std::time::Duration::MAX);
    if ahead > LOG_CLOCK_LEAD {
        return Err(ArtifactError::ClockBehind {
            url: url.to_owned(),
            integrated,
            ahead_secs: i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX),
        });
    }
    // Just past it: the verification compares with the clock read then.
    tokio::time::sleep(ahead + std::time::Duration::from_millis(10)).await;
    Ok(())
}

/// Verify `json`, exactly as it will be written, as a verifier will see it
/// (chain, SCT, log proof and checkpoint, times, and the certified identity),
/// for the artifact with SHA-256 `digest`. CPU-bound: call it off the
/// runtime's threads.
pub(super) fn self_verify(
    verifier: &crate::verify::cache::CachingVerifier,
    credential: &Credential,
    digest: Sha256Hash,
    json: &[u8],
) -> Result<(), ArtifactError> {
    let text = std::str::from_utf8(json).map_err(|e| ArtifactError::Reparse(e.to_string()))?;
    let reparsed = sigstore_types::Bundle::from_json(text)
        .map_err(|e| ArtifactError::Reparse(e.to_string()))?;
    let policy = VerificationPolicy::new(
        IdentityMatcher::Exact(credential.identity.clone()),
        credential.issuer.clone(),
    );
    verifier
        .verify(digest, &reparsed, &policy)
        .map(drop)
        .map_err(ArtifactError::SelfVerify)
}

/// Whether to sign `path` again after `entry`'s answer, once: a Rekor v2
/// log holds this very entry already (a retried request whose answer was
/// lost) and, unlike v1, does not give it back. A new signature (ECDSA's
/// are randomized) is a new entry, timestamped anew; the first stays in
/// the log, unused.
pub(super) fn sign_again(
    ctx: &Context,
    entry: &Result<Option<TransparencyLogEntry>, ArtifactError>,
    path: &std::path::Path,
    signed_again: &mut bool,
) -> bool {
    let again = matches!(ctx.log, Log::V2(_))
        && !*signed_again
        && entry.as_ref().is_err_and(ArtifactError::is_v2_duplicate);
    if again {
        tracing::info!(
            artifact = %path.display(),
            "the log holds this entry already but does not give it back; signing again"
        );
        *signed_again = true;
    }
    again
}

impl ArtifactError {
    /// A Rekor v2 log's answer that it holds this entry already (409).
    fn is_v2_duplicate(&self) -> bool {
        matches!(
            self,
            ArtifactError::Rekor {
                source: ServiceError::Status { status: 409, .. },
                ..
            }
        )
    }
}

/// A Rekor v2 entry for `digest` (an artifact's, or a DSSE envelope's PAE)
/// and `signature`. The v2 call compares the logged body with the request;
/// say what a difference means.
pub(super) async fn log_v2(
    ctx: &Context,
    client: &clients::RekorV2,
    digest: &Sha256Hash,
    signature: &sigstore_types::SignatureBytes,
    certificate: &sigstore_types::DerCertificate,
) -> Result<TransparencyLogEntry, ArtifactError> {
    net::retry(&ctx.retry, "Rekor v2 entry", || {
        client.create_entry(digest, signature, certificate)
    })
    .await
    .map_err(|e| match e {
        ServiceError::Mismatch { detail, .. } => ArtifactError::LogEntryMismatch {
            url: ctx.log_url.clone(),
            detail,
        },
        source => ArtifactError::Rekor {
            url: ctx.log_url.clone(),
            source,
        },
    })
}

async fn log_entry(
    ctx: &Context,
    digest: &Sha256Hash,
    signature: &sigstore_types::SignatureBytes,
    certificate: &sigstore_types::DerCertificate,
) -> Result<Option<TransparencyLogEntry>, ArtifactError> {
    match &ctx.log {
        Log::V1(client) => {
            let created = net::retry(&ctx.retry, "Rekor entry", || {
                client.create_entry(digest, signature, certificate)
            })
            .await;
            created_or_existing(ctx, client, created)
                .await?
                .to_bundle_entry(KindVersion::HashedRekordV001)
                .map(Some)
                .map_err(|e| ArtifactError::Entry(e.to_string()))
        }
        Log::V2(client) => log_v2(ctx, client, digest, signature, certificate)
            .await
            .map(Some),
        Log::None => Ok(None),
    }
}

/// A Rekor v1 entry as `created`, or, when that failed with a 409, the
/// existing entry it names: a retried POST whose first attempt was logged
/// (the entry is ours: same signature).
pub(super) async fn created_or_existing(
    ctx: &Context,
    client: &clients::RekorV1,
    created: Result<sigstore_rekor::LogEntry, ServiceError>,
) -> Result<sigstore_rekor::LogEntry, ArtifactError> {
    existing_after_409(ctx, client, created)
        .await
        .map_err(|source| ArtifactError::Rekor {
            url: ctx.log_url.clone(),
            source,
        })
}

async fn existing_after_409(
    ctx: &Context,
    client: &clients::RekorV1,
    created: Result<sigstore_rekor::LogEntry, ServiceError>,
) -> Result<sigstore_rekor::LogEntry, ServiceError> {
    let e = match created {
        Ok(entry) => return Ok(entry),
        Err(e) => e,
    };
    let uuid = existing_after(&e);
    let Some(uuid) = uuid else {
        return Err(e);
    };
    tracing::info!(%uuid, "entry already logged; fetching it");
    // The 409 says the entry exists, but Rekor answers it for a leaf still
    // queued (Trillian's ALREADY_EXISTS), and `GET` by UUID is 404 until
    // the leaf is integrated: a 404 here is asked again each second, for as
    // long as a log under load may take to integrate ([`QUEUED_FOR`]).
    let deadline = tokio::time::Instant::now() + QUEUED_FOR;
    loop {
        match net::retry(&ctx.retry, "Rekor entry", || client.entry(&uuid)).await {
            Err(ServiceError::Status { status: 404, .. })
                if tokio::time::Instant::now() < deadline =>
            {
                tracing::info!(%uuid, "the existing entry is not integrated yet; asking again");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            fetched => return fetched,
        }
    }
}

/// How long an entry a 409 said exists may stay out of reach (404) while
/// its leaf waits to be integrated.
const QUEUED_FOR: std::time::Duration = std::time::Duration::from_secs(40);

/// The log `entry` names is one the trusted root lists, with a key valid
/// for the entry (at its integrated time; a Rekor v2 entry, which has none,
/// by now), as sigstore-verify looks it up: else no verifier can check it,
/// and every later entry of the run would be alike. A Rekor v2 entry's
/// checkpoint must also be named for that log ([`check_named`]).
pub(super) fn check_listed(
    ctx: &Context,
    entry: &TransparencyLogEntry,
) -> Result<(), ArtifactError> {
    let now = jiff::Timestamp::now();
    let listed: Vec<&TrustedLog> = ctx
        .trusted_logs
        .iter()
        .filter(|log| {
            log.id == entry.log_id.key_id
                && crate::trust::log_key_valid(log.valid_for.as_ref(), entry.integrated_time, now)
        })
        .collect();
    if listed.is_empty() {
        return Err(ArtifactError::LogNotTrusted {
            url: ctx.log_url.clone(),
            // Base64 from the log's answer: printable, but of any length.
            log_id: crate::text::capped(&entry.log_id.key_id.to_string(), 64),
        });
    }
    check_named(entry, &listed, &ctx.trusted_logs, &ctx.log_url)
}

/// A Rekor v2 entry's checkpoint names its log as sigstore-go (cosign 3)
/// requires ([`crate::verify::checkpoint::named`]), said of the log at `url`.
fn check_named(
    entry: &TransparencyLogEntry,
    listed: &[&TrustedLog],
    trusted: &[TrustedLog],
    url: &str,
) -> Result<(), ArtifactError> {
    crate::verify::checkpoint::named(entry, listed, trusted).map_err(|n| {
        ArtifactError::CheckpointNotNamed {
            url: url.to_owned(),
            origin: n.origin,
            names: n.names,
            host: n.host,
        }
    })
}

/// What sigstore-verify does not hold the log to, checked on its answer: the
/// logged body is our digest and signature (self-verification would only say
/// "artifact mismatch"), and the proof is its checkpoint's ([`check_proof`]).
fn check_entry(
    entry: &TransparencyLogEntry,
    digest: &Sha256Hash,
    signature: &sigstore_types::SignatureBytes,
    url: &str,
) -> Result<(), ArtifactError> {
    // The details quote the log's answer, which may be megabytes (a logged
    // "digest" of any length): capped as every message from outside is.
    let mismatch = |detail: String| ArtifactError::LogEntryMismatch {
        url: url.to_owned(),
        detail: crate::text::capped(&detail, crate::text::MESSAGE_CHARS),
    };
    let body: serde_json::Value = serde_json::from_slice(entry.canonicalized_body.as_bytes())
        .map_err(|e| mismatch(format!("its body is not JSON: {e}")))?;
    let (logged_digest, logged_signature) = match body["apiVersion"].as_str() {
        Some("0.0.1") => (
            body.pointer("/spec/data/hash/value")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            body.pointer("/spec/signature/content"),
        ),
        Some("0.0.2") => (
            body.pointer("/spec/hashedRekordV002/data/digest")
                .and_then(|v| v.as_str())
                .and_then(|b| {
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok()
                })
                .map(hex::encode),
            body.pointer("/spec/hashedRekordV002/signature/content"),
        ),
        other => return Err(mismatch(format!("unexpected entry version {other:?}"))),
    };
    if logged_digest.as_deref() != Some(digest.to_hex().as_str()) {
        return Err(mismatch(format!(
            "it logged digest {}, the artifact's is {}",
            logged_digest.as_deref().unwrap_or("(none)"),
            digest.to_hex()
        )));
    }
    let ours = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        signature.as_bytes(),
    );
    if logged_signature.and_then(|v| v.as_str()) != Some(ours.as_str()) {
        return Err(mismatch("it logged another signature".into()));
    }
    check_proof(entry, url)
}

/// The entry's inclusion proof agrees with its own checkpoint (root and
/// tree size): sigstore-verify reads v2 roots from the checkpoint alone, but
/// stricter verifiers compare both, so a bundle with the two disagreeing
/// must not exist.
pub(super) fn check_proof(entry: &TransparencyLogEntry, url: &str) -> Result<(), ArtifactError> {
    if let Some(proof) = &entry.inclusion_proof {
        if let Some(checkpoint) = proof.checkpoint.checkpoint() {
            let disagree = |detail: String| ArtifactError::ProofMismatch {
                url: url.to_owned(),
                detail,
            };
            if checkpoint.root_hash() != &proof.root_hash {
                return Err(disagree(format!(
                    "proof root {}, checkpoint root {}",
                    proof.root_hash.to_hex(),
                    checkpoint.root_hash().to_hex()
                )));
            }
            if checkpoint.tree_size() != proof.tree_size {
                return Err(disagree(format!(
                    "proof tree size {}, checkpoint tree size {}",
                    proof.tree_size,
                    checkpoint.tree_size()
                )));
            }
        }
    }
    Ok(())
}

/// The entry UUID in Rekor's 409 message ("... already exists ... with UUID <hex>"):
/// 64 hex digits, or 80 with the 16-digit tree ID prefix.
/// The entry a Rekor v1 409 says exists. Rekor names it in `Location` (as
/// cosign reads it) and in its body; the header comes first, whole, where
/// a body may be cut short (a slow answer, a proxy's own error page).
fn existing_after(e: &ServiceError) -> Option<EntryUuid> {
    match e {
        ServiceError::Status {
            status: 409,
            body,
            location,
            ..
        } => location
            .as_deref()
            .and_then(existing_entry_uuid)
            .or_else(|| existing_entry_uuid(body)),
        _ => None,
    }
}

fn existing_entry_uuid(message: &str) -> Option<EntryUuid> {
    message
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 64 || w.len() == 80)
        .map(EntryUuid::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundle not written for want of space, a writable file system or a
    /// descriptor stops the run: every later artifact would be logged for
    /// good, naming the signer, and then not written either. Regression: a
    /// full disk failed each artifact in turn, each logged.
    #[cfg(unix)]
    #[test]
    fn a_write_no_later_artifact_escapes_stops_the_run() {
        let failed = |errno| {
            ArtifactError::Write(BundleIoError::Write {
                path: "a.sigstore.json".into(),
                source: crate::atomic_file::AtomicError::Io(std::io::Error::from_raw_os_error(
                    errno,
                )),
            })
        };
        for errno in [
            libc::ENOSPC,
            libc::EDQUOT,
            libc::EROFS,
            libc::EMFILE,
            libc::ENFILE,
        ] {
            assert!(failed(errno).stops_the_run(), "{errno}");
        }
        // One directory's permissions: the others may still be written.
        assert!(!failed(libc::EACCES).stops_the_run());
        // The artifacts not signed then say why, not the evidence's words.
        let stopped = ArtifactError::Stopped {
            after: "a.tgz".into(),
            unwritten: failed(libc::ENOSPC).unwritable(),
        }
        .to_string();
        assert!(
            stopped.contains("whose bundle could not be written"),
            "{stopped}"
        );
        assert!(!stopped.contains("trusted root"), "{stopped}");
        let exists = ArtifactError::BundleExists("a.sigstore.json".into());
        assert!(!exists.stops_the_run());
    }

    /// A 409's entry is read from `Location` first, then from the body.
    /// Regression: a body cut short mid-UUID failed the artifact, though
    /// its entry was logged and the header named it.
    #[test]
    fn a_409_names_its_entry_in_location_or_body() {
        let uuid = "24296fb24b8ad77a".to_owned() + &"ab".repeat(32);
        let conflict = |location: Option<Box<str>>, body: &str| ServiceError::Status {
            service: clients::Service::Rekor,
            what: "create entry",
            status: 409,
            body: body.into(),
            retry_after: None,
            location,
        };
        let at: Option<Box<str>> = Some(format!("/api/v1/log/entries/{uuid}").into());
        let cut = format!(
            "an equivalent entry already exists in the transparency log with UUID {}",
            &uuid[..40]
        );
        let found = |e: &ServiceError| existing_after(e).map(|u| u.to_string());
        assert_eq!(found(&conflict(at.clone(), &cut)), Some(uuid.clone()));
        assert_eq!(found(&conflict(at, "")), Some(uuid.clone()));
        let whole =
            format!("an equivalent entry already exists in the transparency log with UUID {uuid}");
        assert_eq!(found(&conflict(None, &whole)), Some(uuid.clone()));
        assert_eq!(found(&conflict(None, &cut)), None);
    }

    /// The first log entry of the bundle in `tests/data/NAME`.
    fn entry_of(name: &str) -> TransparencyLogEntry {
        let json =
            std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let bundle = sigstore_types::Bundle::from_json(&json).unwrap();
        bundle.verification_material.tlog_entries[0].clone()
    }

    /// A Rekor v2 checkpoint must be named (origin and a signature line)
    /// for the host of the log's URL as written, as sigstore-go requires,
    /// whatever the URL's port or path; a v1 checkpoint is not held to names. Regression:
    /// not checked, so bundles cosign 3 refuses were written.
    #[test]
    fn a_v2_checkpoint_is_named_for_its_logs_host() {
        let v2 = entry_of("staging-rekor-v2.txt.sigstore.json");
        let log = |url: &str| TrustedLog::new(v2.log_id.key_id.clone(), None, url);
        for url in [
            "https://log2025-alpha1.rekor.sigstage.dev",
            "https://log2025-alpha1.rekor.sigstage.dev:443/api/v2",
            "https://user@log2025-alpha1.rekor.sigstage.dev?x#y",
        ] {
            let listed = log(url);
            assert!(
                check_named(&v2, &[&listed], std::slice::from_ref(&listed), "u").is_ok(),
                "{url}"
            );
        }
        // Compared as written, as Go names its note verifier: another case
        // is another name. Regression: lowercased, and accepted.
        let shouted = log("https://LOG2025-alpha1.rekor.sigstage.dev");
        assert!(check_named(&v2, &[&shouted], std::slice::from_ref(&shouted), "u").is_err());
        let other = log("https://log2025-1.rekor.sigstore.dev");
        let e = check_named(&v2, &[&other], std::slice::from_ref(&other), "u").unwrap_err();
        assert!(matches!(e, ArtifactError::CheckpointNotNamed { .. }), "{e}");
        assert!(e.stops_the_run());
        assert!(
            e.to_string().contains("as origin `log2025-alpha1.rekor.sigstage.dev` (signature lines: `log2025-alpha1.rekor.sigstage.dev`), not as `log2025-1.rekor.sigstore.dev`"),
            "{e}"
        );
        // Any of the logs listed under that ID may be the one.
        let listed = log("https://log2025-alpha1.rekor.sigstage.dev");
        assert!(check_named(
            &v2,
            &[&other, &listed],
            &[other.clone(), listed.clone()],
            "u"
        )
        .is_ok());
        let v1 = entry_of("signed-package-2.1.0-hb0f4dca_0.conda.sigstore.json");
        let elsewhere = TrustedLog::new(v1.log_id.key_id.clone(), None, "https://other.example");
        assert!(check_named(&v1, &[&elsewhere], std::slice::from_ref(&elsewhere), "u").is_ok());
    }

    /// The log's answer quoted by a mismatch is capped. Regression: a
    /// logged "digest" or apiVersion of megabytes was repeated whole in
    /// every artifact's error, annotation and summary row.
    #[test]
    fn a_mismatch_quotes_the_logs_answer_capped() {
        let mut entry = entry_of("signed-package-2.1.0-hb0f4dca_0.conda.sigstore.json");
        let huge = "A".repeat(1 << 20);
        for body in [
            serde_json::json!({"apiVersion": "0.0.1", "spec": {"data": {"hash": {"value": huge}}}}),
            serde_json::json!({"apiVersion": huge}),
        ] {
            entry.canonicalized_body =
                sigstore_types::CanonicalizedBody::new(body.to_string().into_bytes());
            let e = check_entry(
                &entry,
                &Sha256Hash::new([7; 32]),
                &sigstore_types::SignatureBytes::new(vec![1]),
                "https://log.example",
            )
            .unwrap_err();
            assert!(matches!(e, ArtifactError::LogEntryMismatch { .. }), "{e}");
            let shown = e.to_string();
            assert!(
                shown.len() < crate::text::MESSAGE_CHARS + 400,
                "{} bytes",
                shown.len()
            );
        }
    }

    #[test]
    fn uuid_from_a_rekor_409() {
        let uuid = "24296fb24b8ad77a".to_owned() + &"ab".repeat(32);
        let msg = format!(
            r#"failed to create entry: {{"code":409,"message":"An equivalent entry already exists in the transparency log with UUID {uuid}"}}"#
        );
        assert_eq!(existing_entry_uuid(&msg).unwrap().as_str(), uuid);
        assert!(existing_entry_uuid("failed to create entry: conflict").is_none());
    }

    /// A panic in the verification and write used to read as a failed write,
    /// with the fix "check that the directory exists and is writable".
    #[tokio::test]
    async fn a_panicked_blocking_step_is_reported_as_a_bug() {
        let done = tokio::task::spawn_blocking(|| -> Result<(), ArtifactError> {
            panic!("boom in the step")
        })
        .await;
        let e = joined("verifying and writing the bundle", done).unwrap_err();
        assert!(matches!(e, ArtifactError::Task { .. }), "{e:?}");
        let shown = e.to_string();
        assert!(
            shown.starts_with("verifying and writing the bundle stopped unexpectedly"),
            "{shown}"
        );
        assert!(shown.contains("boom in the step"), "{shown}");
        assert!(shown.contains("a bug in releasekit-sign"), "{shown}");
        assert!(!shown.contains("writable"), "{shown}");

        let fine = tokio::task::spawn_blocking(|| 7).await;
        assert_eq!(joined("a step", fine).unwrap(), 7);
    }
}
