//! Verification: artifact + bundle + policy -> [`Verified`], or a [`Failure`]
//! worded for the person who has to fix it.
//!
//! Owns the verify run: one verifier for the whole run ([`cache`]: each
//! distinct certificate's chain and SCT checked once, with the same verdicts),
//! each artifact hashed once in constant memory (in parallel, bounded by
//! `--jobs`) and checked by digest, then the signer [`policy`] applied to the
//! verified certificate. The cryptographic checks (chain, SCT, SET, inclusion
//! proof and checkpoint, timestamps, validity window, signature, log-entry
//! consistency) are sigstore-verify's, or, for a certificate it already
//! accepted, [`cache`]'s own accepts of the same checks, each refusal decided
//! by sigstore-verify again; this module maps its errors to the wording of
//! the seed's troubleshooting table. With `--provenance FILE`
//! the artifacts are checked against FILE's statements instead of bundles
//! ([`provenance`]), in the same loop. It never prints; only `verify
//! --release --download` writes, through [`release`], and only verified
//! assets.

pub mod cache;
pub mod checkpoint;
mod message;
mod outcome;
pub mod policy;
pub mod provenance;
pub mod release;
pub mod sct;
pub mod settings;
pub mod targets;
pub(crate) mod timestamp;

use std::path::{Path, PathBuf};

use serde::Serialize;
use sigstore_trust_root::TrustedRoot;
use sigstore_types::{Bundle, HashAlgorithm, Sha256Hash, SignatureContent};
use sigstore_verify::{
    CertificateError, Error as SigError, TransparencyLogError, VerificationPolicy,
};

use crate::bundle_io::{self, BundleIoError};
use crate::digest;
use crate::files::{self, FileError};
use crate::net;
use crate::text;
use crate::trust::{self, Refresh, TrustError};
use cache::CachingVerifier;
pub use outcome::{Outcome, VerifyArtifactReport, VerifyOutcome};
use policy::PolicyMismatch;
use settings::{ReleaseSource, VerifySettings, VerifyTrust};
use targets::{Missing, Target, TargetError};

/// Proof that one artifact verified: only [`verify_one`] makes one, and only
/// after every cryptographic check and the policy passed.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    identity: String,
    issuer: Option<String>,
    sha256: String,
    /// Unknown when the artifact was given only by its digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    log_index: Option<u64>,
    /// The integrated time of a Rekor v1 entry, when there is one.
    integrated_time: Option<jiff::Timestamp>,
    /// Whether a verified RFC 3161 timestamp vouched for the signing time.
    timestamped: bool,
    /// The build-provenance statement that names this artifact, when it was
    /// checked against one.
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<Box<provenance::ProvenanceMatch>>,
}

impl Verified {
    pub fn identity(&self) -> &str {
        &self.identity
    }
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    pub fn log_index(&self) -> Option<u64> {
        self.log_index
    }
    pub(crate) fn provenance(&self) -> Option<&provenance::ProvenanceMatch> {
        self.provenance.as_deref()
    }

    /// This proof, with the provenance statement that also names the artifact.
    fn with_provenance(self, found: provenance::ProvenanceMatch) -> Verified {
        Verified {
            provenance: Some(Box::new(found)),
            ..self
        }
    }

    /// Proof that an artifact with `digests` is a subject of `statement`,
    /// which verified: only made from a match [`provenance::Checked::find`] found.
    fn from_statement(
        statement: &provenance::VerifiedStatement,
        found: provenance::ProvenanceMatch,
        digests: &provenance::Digests,
    ) -> Verified {
        let by = statement.signed_by().clone();
        Verified {
            identity: by.identity,
            issuer: by.issuer,
            sha256: digests.sha256.to_hex(),
            size: Some(digests.size),
            log_index: by.log_index,
            integrated_time: by.integrated_time,
            timestamped: by.timestamped,
            provenance: Some(Box::new(found)),
        }
    }
}

/// Why one artifact did not verify, in the seed's troubleshooting wording.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    #[error("Bundle not found: {} (run `releasekit-sign sign` first)", .0.display())]
    BundleNotFound(PathBuf),
    #[error("Artifact not found: {} (its bundle {} is here; download the artifact too, or delete the stray bundle)", artifact.display(), bundle.display())]
    ArtifactNotFound { artifact: PathBuf, bundle: PathBuf },
    #[error(transparent)]
    ReadArtifact(FileError),
    #[error(transparent)]
    ReadBundle(BundleIoError),
    #[error("Bundle invalid: {} is not a Sigstore bundle ({detail})", bundle.display())]
    ParseBundle { bundle: PathBuf, detail: String },
    #[error("Bundle invalid: {} is in cosign's legacy `--bundle` format (base64Signature, cert, rekorBundle), which carries no inclusion proof and which Sigstore clients no longer verify; fix: sign again with `cosign sign-blob --new-bundle-format` (cosign 3's default) or with releasekit-sign", .0.display())]
    LegacyCosignBundle(PathBuf),
    #[error("Bundle invalid: {} holds {count} bundles, one a line (JSON Lines, as `gh attestation download` writes them); fix: pass it with --provenance {}, which verifies each", bundle.display(), bundle.display())]
    BundlePerLine { bundle: PathBuf, count: usize },
    #[error("Verification failed: artifact modified after signing (digest mismatch) — re-download it from the release")]
    DigestMismatch,
    #[error("Verification failed: signature invalid ({0}) — the bundle was altered; fetch it again from the release")]
    SignatureInvalid(String),
    #[error("Certificate chain not trusted: {0} (was it signed with another Sigstore instance? check --trust-config / --trusted-root / --staging)")]
    ChainNotTrusted(String),
    #[error("Signing time outside the certificate's validity: {0}")]
    SigningTimeOutsideValidity(String),
    #[error("Transparency log proof invalid: {0}")]
    LogProofInvalid(String),
    #[error("Transparency log entry does not match this artifact: {0}")]
    LogEntryMismatch(String),
    #[error("Timestamp invalid: {0}")]
    TimestampInvalid(String),
    #[error("No transparency log entry: this instance requires one ({0}) — a bundle from GitHub's Sigstore instance (private repositories) verifies with --instance github")]
    NoLogEntry(String),
    #[error("Bundle invalid: {0}")]
    BundleInvalid(String),
    #[error(transparent)]
    Policy(#[from] PolicyMismatch),
    #[error("Not an attestation: {0}")]
    NotAnAttestation(String),
    #[error(
        "Predicate type mismatch: expected {expected:?}, found {:?} (check --predicate-type)",
        text::line(found)
    )]
    PredicateType { expected: String, found: String },
    #[error(
        "Provenance contradicts its certificate: the statement says {claim} is {:?}, the certificate {} — the statement was not made by the run it describes",
        text::line(text::capped(statement, QUOTED_CLAIM_CHARS)),
        certificate.as_deref().map_or("does not say".to_owned(), |c| format!("says {:?}", text::line(text::capped(c, QUOTED_CLAIM_CHARS))))
    )]
    ClaimsDisagree {
        claim: &'static str,
        statement: String,
        certificate: Option<String>,
    },
    #[error("Attestation cannot vouch for a file: {0}")]
    NoComputableDigest(String),
    #[error("Attestation names no sha256 subject: {0}; fix: verify it with --provenance FILE, which matches sha256, sha384 and sha512 subjects")]
    NoSha256Subject(String),
    #[error("Not in the provenance: {}", not_in_provenance(file, sha256, *verified, failed, *named_by_refused, named_by_verified.as_deref()))]
    NotInProvenance {
        /// The provenance file(s), as shown.
        file: String,
        sha256: String,
        verified: usize,
        failed: Vec<String>,
        /// A statement that did not verify names this file: it was meant
        /// to be vouched for, so it fails, never counts as unsigned.
        named_by_refused: bool,
        /// A verified statement names a subject of this file's name, with
        /// other digests: the file was changed after the build, so it
        /// fails, never counts as unsigned.
        named_by_verified: Option<String>,
    },
}

/// How much of a claim [`Failure::ClaimsDisagree`] quotes.
const QUOTED_CLAIM_CHARS: usize = 200;

/// "no verified statement of FILE names this file", and why statements failed.
fn not_in_provenance(
    file: &str,
    sha256: &str,
    verified: usize,
    failed: &[String],
    named_by_refused: bool,
    named_by_verified: Option<&str>,
) -> String {
    let mut s = if named_by_refused {
        format!("a statement of {file} names this file (sha256 {sha256}) but did not verify")
    } else if let Some(subject) = named_by_verified {
        format!(
            "a verified statement of {file} names `{subject}` with other digests than this file's (sha256 {sha256}): the file was modified after the build, or is another file of that name"
        )
    } else if verified == 0 {
        format!("no statement of {file} verified")
    } else {
        format!(
            "none of the {verified} verified statement(s) of {file} has a subject with this file's digest (sha256 {sha256}): the file was modified after the build, or is not one of its outputs"
        )
    };
    if !failed.is_empty() {
        s.push_str(if verified == 0 || named_by_refused {
            ": "
        } else {
            "; did not verify: "
        });
        s.push_str(&failed.join("; "));
    }
    s
}

impl Failure {
    /// What was found, without the advice a `verify` user gets: for callers that
    /// give their own fix (sign keeping an existing bundle), so that a message
    /// never carries two different fixes.
    pub(crate) fn diagnosis(&self) -> String {
        match self {
            Failure::DigestMismatch => {
                "Verification failed: artifact modified after signing (digest mismatch)".into()
            }
            Failure::SignatureInvalid(detail) => {
                format!("Verification failed: signature invalid ({detail})")
            }
            Failure::ChainNotTrusted(detail) => format!("Certificate chain not trusted: {detail}"),
            other => other.to_string(),
        }
    }
}

impl Failure {
    /// Map sigstore-verify's verdict to the seed's wording. Whether the
    /// bundle's own message digest equals the artifact's `digest` separates
    /// "the artifact changed" from "the bundle was altered" (or carries a log
    /// entry for another artifact), which the crate's error alone cannot tell
    /// apart. The bundle is only read for wording: the verdict is the crate's.
    fn from_verifier(e: SigError, bundle: &Bundle, digest: &Sha256Hash) -> Failure {
        let digest_matches = message_digest_matches(bundle, digest);
        if matches!(e, SigError::ArtifactMismatch(_)) {
            if let Some(f) = no_sha256_subject(bundle) {
                return f;
            }
        }
        match e {
            SigError::ArtifactMismatch(_) | SigError::SignatureInvalid(_)
                if digest_matches == Some(false) =>
            {
                Failure::DigestMismatch
            }
            SigError::ArtifactMismatch(d) if digest_matches == Some(true) => {
                Failure::LogEntryMismatch(d)
            }
            SigError::ArtifactMismatch(_) => Failure::DigestMismatch,
            SigError::SignatureInvalid(d) => Failure::SignatureInvalid(d),
            SigError::Certificate(
                c @ (CertificateError::Expired { .. } | CertificateError::NotYetValid { .. }),
            ) => Failure::SigningTimeOutsideValidity(c.to_string()),
            // webpki checks the leaf's window while building the chain, so an
            // expired leaf arrives as a chain error; say what really failed.
            SigError::Certificate(CertificateError::ChainInvalid(d))
                if d.contains("CertExpired") || d.contains("CertNotValidYet") =>
            {
                Failure::SigningTimeOutsideValidity(
                    logged_time_outside_validity(bundle)
                        .or_else(|| webpki_window(&d))
                        .unwrap_or(d),
                )
            }
            SigError::Certificate(c) => Failure::ChainNotTrusted(c.to_string()),
            SigError::TransparencyLog(t @ TransparencyLogError::IntegratedTime(_)) => {
                Failure::SigningTimeOutsideValidity(t.to_string())
            }
            SigError::TransparencyLog(t @ TransparencyLogError::EntryMismatch(_)) => {
                Failure::LogEntryMismatch(t.to_string())
            }
            SigError::TransparencyLog(t) => Failure::LogProofInvalid(t.to_string()),
            SigError::Timestamp(t) => Failure::TimestampInvalid(t.to_string()),
            // No log entry where the trusted root lists logs (so one is
            // required): an instance without a log made this bundle, or its
            // entry was cut. Any other refusal of an entry-less bundle is
            // its own (a payload type, no subject), said as such.
            other @ SigError::Bundle(
                sigstore_bundle::Error::MissingSigningTimeEvidence
                | sigstore_bundle::Error::MissingInclusionProof(_)
                | sigstore_bundle::Error::MissingInclusionPromise(_),
            ) if bundle.verification_material.tlog_entries.is_empty() => {
                Failure::NoLogEntry(other.to_string())
            }
            other => Failure::BundleInvalid(other.to_string()),
        }
    }
}

/// Why the run could not start (exit code 2), or a local failure (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Targets(#[from] TargetError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error("the trusted root of {instance} cannot be used to verify ({source}); fix: check its keys and certificates")]
    Verifier { instance: String, source: SigError },
    #[error("cannot set up the HTTP client for the TUF refresh: {0}; fix: pass --offline")]
    Http(reqwest::Error),
    #[error(
        "a verification task stopped unexpectedly ({0}); {fix}",
        fix = crate::vocab::FIX_REPORT_BUG
    )]
    Task(tokio::task::JoinError),
    #[error(transparent)]
    Release(#[from] crate::github::ReleaseError),
    #[error("{repo} has no tag `{tag}`, so the commit its release's assets must be signed at is unknown (GitHub creates a release's tag when it is published; a draft has none yet): check the tag, or pass --allow-other-commits to accept assets signed at any commit of {repo}")]
    NoTag { repo: String, tag: String },
    #[error("--pattern `{pattern}` matches none of the {listed} asset(s) of release {release} (a pattern matches an asset's whole name, as GitHub lists it); fix: check the pattern against the release's assets (`gh release view TAG --repo OWNER/REPO`)")]
    NoAssetMatches {
        pattern: String,
        release: String,
        listed: usize,
    },
    #[error("release {release} has no asset to verify (only bundles and provenance, or none at all); fix: check the tag, or wait for the release's upload to finish")]
    NoAssets { release: String },
    #[error("release {release} has no provenance statement of predicate type {predicate_type}, which --predicate-type asks for ({found}); fix: check the tag and the predicate type, or drop --predicate-type to verify the assets by their bundles")]
    NoProvenanceOfType {
        release: String,
        predicate_type: String,
        /// What the release has instead: no `*.intoto.jsonl`, files set
        /// aside and why, or ones signed as artifacts.
        found: String,
    },
    #[error("release {release} has no signed asset to verify: no bundle and no provenance statement is about any of its {count} asset(s) ({names}); fix: check the tag, or sign and upload them (`releasekit-sign sign --upload`)")]
    NoSignedAssets {
        release: String,
        count: usize,
        /// The first few, each on one line.
        names: String,
    },
    #[error(transparent)]
    Provenance(#[from] provenance::ProvenanceFileError),
    #[error("cannot use the download directory {}: {source}", dir.display())]
    Download {
        dir: PathBuf,
        source: crate::atomic_file::AtomicError,
    },
}

impl VerifyError {
    /// Configuration problems are usage errors; the rest failed while running.
    pub(crate) fn is_usage(&self) -> bool {
        match self {
            VerifyError::Http(_)
            | VerifyError::Task(_)
            | VerifyError::Download { .. }
            | VerifyError::NoAssets { .. }
            | VerifyError::NoSignedAssets { .. }
            | VerifyError::NoProvenanceOfType { .. }
            | VerifyError::NoTag { .. } => false,
            VerifyError::Release(e) => e.is_usage(),
            VerifyError::Trust(e) => e.is_usage(),
            _ => true,
        }
    }
}

/// The warning printed when no identity constraint is given.
pub(crate) const ANY_IDENTITY_WARNING: &str = "no --cert-identity or --cert-identity-regexp: any Sigstore identity is accepted; pass the expected signer (e.g. the release workflow's URL) to verify who signed";

/// The warning of a run that pinned an identity but not its issuer.
pub(crate) const ANY_ISSUER_WARNING: &str = "no --cert-oidc-issuer or --cert-oidc-issuer-regexp: that identity is accepted from any OIDC issuer the instance's certificate authority takes; pin the issuer (e.g. --cert-oidc-issuer https://token.actions.githubusercontent.com), as cosign and sigstore-python require";

/// The warning of a run that pinned no signer but the repository
/// (`--repo`, `--release`): any of its workflows is accepted.
fn any_workflow_warning(repo: &str) -> String {
    format!(
        "no --cert-identity or --signer-workflow: any workflow of {repo} is accepted; pin the signer with the command below"
    )
}

/// Verify every artifact `settings` names: against its bundle, or with
/// `--provenance FILE` against FILE's statements (each verified once, then
/// each artifact hashed with SHA-256, SHA-384 and SHA-512 in one pass and
/// looked up among their subjects; see [`provenance`]).
pub async fn run(settings: &VerifySettings) -> Result<Outcome, VerifyError> {
    if let Some(source) = &settings.release {
        return run_release(settings, source).await;
    }
    // 1. Find the work before loading anything, so a typo fails fast.
    let (found, provenance) = match &settings.provenance {
        Some(file) => (
            targets::against_provenance(&settings.inputs, settings.recursive, file)?,
            Some((file.clone(), provenance::read_file(file)?)),
        ),
        None => (
            targets::build(
                &settings.inputs,
                settings.recursive,
                settings.bundle.as_deref(),
                settings.require_all,
            )?,
            None,
        ),
    };

    // 2. Trust material once for the run; TUF only for well-known instances online.
    let (instance, root, mut warnings) = load_root(&settings.trust, settings.offline).await?;
    // Not artifacts, and not read without --provenance: said, not passed
    // over (a tampered one would otherwise leave no trace).
    for p in &found.provenance_files {
        let shown = crate::text::shell_word_or(&p.display().to_string(), "FILE");
        warnings.push(format!(
            "{} is a provenance file, not checked by this run: check the artifacts against it with `--provenance {shown}`",
            crate::text::line(p.display())
        ));
    }
    if let Some(repo) = settings.policy.accepts_any_workflow_of() {
        warnings.push(any_workflow_warning(repo));
    } else if settings.policy.accepts_any_identity() {
        warnings.push(ANY_IDENTITY_WARNING.to_owned());
    }
    if settings.policy.accepts_any_issuer() {
        warnings.push(ANY_ISSUER_WARNING.to_owned());
    }

    // 3. One verifier: its keys and anchors are parsed once, not per bundle.
    let verifier = CachingVerifier::new(&root).map_err(|source| VerifyError::Verifier {
        instance: instance.clone(),
        source,
    })?;
    let policy = settings.policy.clone();

    // 4. Hash and verify concurrently, reported in order.
    let artifacts = match provenance {
        None => {
            each_target(found.targets, settings.jobs, move |t| {
                verify_one(&verifier, &policy, t)
            })
            .await?
        }
        Some((file, lines)) => {
            let predicate_type = settings.predicate_type.clone();
            let checked = tokio::task::spawn_blocking(move || {
                provenance::check_all(&verifier, &policy, &predicate_type, &file, lines)
            })
            .await
            .map_err(VerifyError::Task)?;
            warnings.extend(checked.failures());
            each_target(found.targets, settings.jobs, move |t| {
                against_statements(&checked, t)
            })
            .await?
        }
    };

    Ok(Outcome {
        instance,
        policy: settings.policy.clone(),
        signers: signers(&settings.policy, &artifacts),
        artifacts,
        unsigned: found.unsigned,
        warnings,
        release: None,
        rerun_flags: rerun_flags(settings, &settings.trust),
    })
}

/// `check` each target on `jobs` threads of their own (hashing and
/// verification are CPU and disk), each taking the next target as it
/// finishes one so a slow artifact does not leave a core idle behind it;
/// reported in the targets' order so output is stable. Plain threads rather
/// than a blocking task per target, which cost a wake-up each way per
/// artifact: on 1,000 bundles and two cores, 0.52 s wall instead of 0.40 s
/// for the same CPU.
async fn each_target(
    targets: Vec<Target>,
    jobs: std::num::NonZeroUsize,
    check: impl Fn(&Target) -> Result<Verified, Failure> + Send + Sync + 'static,
) -> Result<Vec<VerifyArtifactReport>, VerifyError> {
    tokio::task::spawn_blocking(move || in_parallel(targets, jobs.get(), check))
        .await
        .map_err(VerifyError::Task)
}

/// [`each_target`]'s work, on the calling thread and up to `jobs - 1` more.
fn in_parallel(
    targets: Vec<Target>,
    jobs: usize,
    check: impl Fn(&Target) -> Result<Verified, Failure> + Sync,
) -> Vec<VerifyArtifactReport> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<VerifyOutcome>>> = targets
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(target) = targets.get(i) else {
            break;
        };
        let outcome = match check(target) {
            Ok(v) => VerifyOutcome::Verified(v),
            Err(e) => VerifyOutcome::failed(e),
        };
        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
    };
    let threads = jobs.clamp(1, targets.len().max(1));
    std::thread::scope(|scope| {
        // As many as the system gives, this one among them: a thread it
        // refuses (a pids or memory limit, `--jobs` in thousands) leaves
        // the work to those started. Regression: the refusal panicked, and
        // the run aborted with no report.
        for _ in 1..threads {
            if std::thread::Builder::new()
                .spawn_scoped(scope, work)
                .is_err()
            {
                break;
            }
        }
        work();
    });
    targets
        .into_iter()
        .zip(slots)
        .map(|(t, slot)| VerifyArtifactReport {
            path: t.artifact,
            bundle: t.bundle,
            outcome: slot
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every target is taken by exactly one thread"),
        })
        .collect()
}

/// One artifact against verified statements; blocking (reads the file).
fn against_statements(checked: &provenance::Checked, target: &Target) -> Result<Verified, Failure> {
    let digests = provenance::Digests::of_file(&target.artifact, target.file)?;
    match checked.find(&digests) {
        Some((statement, found)) => Ok(Verified::from_statement(statement, found, &digests)),
        None => {
            let name = target
                .artifact
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            Err(checked.not_found(&digests, &name))
        }
    }
}

/// `verify --release`: the release's assets, verified without cloning or
/// writing anything (see [`release`]).
async fn run_release(
    settings: &VerifySettings,
    source: &ReleaseSource,
) -> Result<Outcome, VerifyError> {
    // A private repository's releases are signed on GitHub's instance (no
    // public log): with no trust chosen, that is the one they verify under.
    // Asked with a token only (anonymously a private repository is not
    // seen); it also says whether the assets can be downloaded as the
    // public does, without spending the token's API budget.
    let visibility = match source.token {
        Some(_) => Some(release::is_private(source).await?),
        None => None,
    };
    let private = source.instance_by_visibility && visibility == Some(true);
    let github = VerifyTrust::Instance(trust::BaseInstance::GitHub);
    let trust = if private { &github } else { &settings.trust };
    let (instance, root, mut warnings) = load_root(trust, settings.offline).await?;
    if private {
        warnings.push(format!(
            "{} is private, so its releases are verified with GitHub's Sigstore instance (where GitHub's attest action and `sign --instance github` sign them, with no public log); pass --instance public-good if they were signed on the public-good instance",
            source.repo
        ));
    }
    if settings.policy.accepts_any_identity() {
        let repo = source.repo.to_string();
        warnings.push(any_workflow_warning(
            settings.policy.accepts_any_workflow_of().unwrap_or(&repo),
        ));
    }
    if settings.policy.accepts_any_issuer() {
        warnings.push(ANY_ISSUER_WARNING.to_owned());
    }
    let verifier = CachingVerifier::new(&root).map_err(|source| VerifyError::Verifier {
        instance: instance.clone(),
        source,
    })?;
    if source.allow_other_commits {
        warnings.push(format!(
            "--allow-other-commits: assets signed at any commit of {} are accepted, not only at tag {}'s, so an asset of an older release re-uploaded here verifies",
            source.repo, source.tag
        ));
    }
    let found = release::run(
        source,
        visibility != Some(true),
        &verifier,
        &settings.policy,
        &settings.predicate_type,
        settings.jobs,
        &judging_flags(settings, trust),
        settings.require_all,
    )
    .await?;
    warnings.extend(found.warnings);
    let policy = policy::Policy {
        source_commit: found.source_commit,
        ..settings.policy.clone()
    };
    Ok(Outcome {
        instance,
        policy,
        signers: signers(&settings.policy, &found.artifacts),
        artifacts: found.artifacts,
        unsigned: found.unsigned,
        warnings,
        release: Some(format!("{}@{}", source.repo, source.tag)),
        rerun_flags: rerun_flags(settings, trust),
    })
}

/// The flags a command the run prints for files carries to judge them as
/// it did: the trust it used (`trust`, which for a private repository's
/// release is GitHub's whatever was given), and a predicate type other
/// than SLSA v1's.
fn judging_flags(settings: &VerifySettings, trust: &VerifyTrust) -> Vec<String> {
    let mut flags = trust.flags();
    if settings.predicate_type != crate::provenance::SLSA_PROVENANCE_V1 {
        flags.extend([
            "--predicate-type".to_owned(),
            settings.predicate_type.clone(),
        ]);
    }
    flags
}

/// [`judging_flags`], and `--release`'s options: what the command shown
/// to pin the signer carries beyond its identity policy.
fn rerun_flags(settings: &VerifySettings, trust: &VerifyTrust) -> Vec<String> {
    let mut flags = judging_flags(settings, trust);
    if settings.require_all {
        flags.push("--require-all".to_owned());
    }
    if let Some(source) = &settings.release {
        // Given at all, it requires a provenance (SLSA v1's too).
        if source.provenance_required && !flags.iter().any(|f| f == "--predicate-type") {
            flags.extend([
                "--predicate-type".to_owned(),
                settings.predicate_type.clone(),
            ]);
        }
        if let Some(pattern) = &source.pattern {
            flags.extend(["--pattern".to_owned(), pattern.as_str().to_owned()]);
        }
        if source.allow_other_commits {
            flags.push("--allow-other-commits".to_owned());
        }
    }
    flags
}

/// The distinct signers of verified artifacts, when no identity was pinned
/// (so the report can show how to pin them).
fn signers(policy: &policy::Policy, artifacts: &[VerifyArtifactReport]) -> Vec<Signer> {
    if !policy.accepts_any_identity() {
        return Vec::new();
    }
    let mut found: Vec<Signer> = Vec::new();
    for a in artifacts {
        if let VerifyOutcome::Verified(v) = &a.outcome {
            let s = Signer {
                identity: v.identity.clone(),
                issuer: v.issuer.clone(),
            };
            if !found.contains(&s) {
                found.push(s);
            }
        }
    }
    found
}

/// Who signed, as found in verified certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    pub identity: String,
    pub issuer: Option<String>,
}

async fn load_root(
    trust: &VerifyTrust,
    offline: bool,
) -> Result<(String, TrustedRoot, Vec<String>), VerifyError> {
    let (name, root, mut warnings) = match trust {
        VerifyTrust::TrustedRoot(path) => {
            // Read as every trust file is: a regular file, capped.
            let root = crate::trust::read_trusted_root(path)?;
            (path.display().to_string(), root, Vec::new())
        }
        VerifyTrust::Instance(base) => {
            let refresh = if offline || base.is_local() {
                Refresh::Offline
            } else {
                Refresh::Required(net::http_client().map_err(VerifyError::Http)?)
            };
            let m = trust::material(base, refresh).await?;
            (m.name, m.trusted_root, m.warnings)
        }
    };
    if *trust != VerifyTrust::Instance(trust::BaseInstance::GitHub) {
        warnings.extend(unchecked_evidence(&name, &root));
    }
    Ok((name, root, warnings))
}

/// What a trusted root that lists no transparency log, or no CT log, lets
/// pass unchecked, said once: a verifier requires only what the root can
/// vouch for (as GitHub's instance, which keeps neither, is meant to be
/// verified: it is not warned of), so a ✅ does not then mean the
/// signature was logged, or the certificate's issuance.
fn unchecked_evidence(name: &str, root: &TrustedRoot) -> Option<String> {
    let required = trust::Requirements::of(root);
    let unchecked = match (required.log_entry, required.sct) {
        (true, true) => return None,
        (false, true) => "no transparency log, so no bundle is held to a log entry",
        (true, false) => "no CT log, so no certificate is held to an SCT",
        (false, false) => "no transparency log and no CT log, so no bundle is held to a log entry, nor its certificate to an SCT",
    };
    Some(format!(
        "the trusted root of {} lists {unchecked} (a signature verified with it may never have been made public)",
        text::line(name)
    ))
}

/// Check one artifact; blocking (reads files).
pub(crate) fn verify_one(
    verifier: &CachingVerifier,
    policy: &policy::Policy,
    target: &Target,
) -> Result<Verified, Failure> {
    match target.missing {
        Some(Missing::Bundle) => return Err(Failure::BundleNotFound(target.bundle.clone())),
        Some(Missing::Artifact) => {
            return Err(Failure::ArtifactNotFound {
                artifact: target.artifact.clone(),
                bundle: target.bundle.clone(),
            })
        }
        None => {}
    }
    // The bundle first: a broken one fails before a large artifact is read.
    let bundle = read_bundle(&target.bundle)?;
    if let Some(hex) = &target.digest {
        let digest = Sha256Hash::from_hex(hex)
            .map_err(|e| Failure::BundleInvalid(format!("digest {hex}: {e}")))?;
        return check_bundle(verifier, policy, &bundle, digest, None);
    }
    // A regular file only (a FIFO would block), and the one the targets listed.
    let file = files::open_regular(&target.artifact, target.file).map_err(Failure::ReadArtifact)?;
    let (digest, size, _) = digest::sha256_open_file(file, |_| {})
        .map_err(|e| Failure::ReadArtifact(e.at(&target.artifact)))?;
    check_bundle(verifier, policy, &bundle, digest, Some(size))
}

/// Check a bundle held in memory (a release asset, say: `source` names it in
/// errors) for an artifact known by its SHA-256 digest and size.
pub(crate) fn verify_bytes(
    verifier: &CachingVerifier,
    policy: &policy::Policy,
    source: &Path,
    bundle_json: &[u8],
    digest: Sha256Hash,
    size: u64,
) -> Result<Verified, Failure> {
    let bundle = parse_bundle(source, bundle_json)?;
    check_bundle(verifier, policy, &bundle, digest, Some(size))
}

/// Check a parsed bundle for an artifact known by its SHA-256 digest.
pub(crate) fn check_bundle(
    verifier: &CachingVerifier,
    policy: &policy::Policy,
    bundle: &Bundle,
    digest: Sha256Hash,
    size: Option<u64>,
) -> Result<Verified, Failure> {
    // Keyless only, any identity here: the policy is applied below to the
    // certificate sigstore-verify accepted, with our matching rules.
    let result = verifier
        .verify(digest, bundle, &VerificationPolicy::any_identity())
        .map_err(|e| Failure::from_verifier(e, bundle, &digest))?;
    // A DSSE envelope is read as an in-toto statement, as by `--provenance`
    // and by sigstore-python: sigstore-verify finds the subjects without
    // reading `_type`. Regression: a statement of another type verified
    // here, and was refused given as provenance.
    if matches!(bundle.content, SignatureContent::DsseEnvelope(_)) {
        provenance::statement_of(bundle)?;
    }
    let info = result
        .certificate()
        .ok_or_else(|| Failure::BundleInvalid("the bundle has no signing certificate".into()))?;
    policy.check(info)?;

    let by = SignedBy::of(result.integrated_time(), info, bundle);
    Ok(Verified {
        identity: by.identity,
        issuer: by.issuer,
        sha256: digest.to_hex(),
        size,
        log_index: by.log_index,
        integrated_time: by.integrated_time,
        timestamped: by.timestamped,
        provenance: None,
    })
}

/// Who signed a bundle sigstore-verify accepted, and how it was logged and
/// timestamped.
#[derive(Debug, Clone)]
pub(crate) struct SignedBy {
    identity: String,
    issuer: Option<String>,
    log_index: Option<u64>,
    integrated_time: Option<jiff::Timestamp>,
    timestamped: bool,
}

impl SignedBy {
    /// `integrated_time` is the verdict's authenticated one (the log's).
    fn of(
        integrated_time: Option<jiff::Timestamp>,
        info: &sigstore_crypto::CertificateInfo,
        bundle: &Bundle,
    ) -> SignedBy {
        SignedBy {
            integrated_time,
            identity: info
                .identity
                .as_ref()
                .map(|i| i.as_str().to_owned())
                .unwrap_or_default(),
            issuer: info.issuer.clone(),
            log_index: bundle
                .verification_material
                .tlog_entries
                .first()
                .map(|e| u64::from(e.log_index)),
            timestamped: !bundle
                .verification_material
                .timestamp_verification_data
                .rfc3161_timestamps
                .is_empty(),
        }
    }
}

fn read_bundle(path: &Path) -> Result<Bundle, Failure> {
    let bytes = bundle_io::read_capped(path).map_err(Failure::ReadBundle)?;
    parse_bundle(path, &bytes)
}

pub(crate) fn parse_bundle(path: &Path, bytes: &[u8]) -> Result<Bundle, Failure> {
    let parse_err = |detail: String| Failure::ParseBundle {
        bundle: path.to_owned(),
        detail,
    };
    // A parser's message can quote the hostile value it stopped at, whole.
    bundle_io::parse(bytes).map_err(|e| {
        other_format(path, bytes)
            .unwrap_or_else(|| parse_err(text::capped(&e.to_string(), text::MESSAGE_CHARS)))
    })
}

/// What a file that is no bundle is instead, where a peer writes it so:
/// cosign's legacy `--bundle` JSON, or a file of one bundle a line (what
/// `gh attestation download` writes), each with its own fix.
fn other_format(path: &Path, bytes: &[u8]) -> Option<Failure> {
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice(bytes) {
        return (o.contains_key("base64Signature") && !o.contains_key("verificationMaterial"))
            .then(|| Failure::LegacyCosignBundle(path.to_owned()));
    }
    let lines = provenance::split_lines(path, bytes).ok()?;
    let first_is_one = lines.first().is_some_and(|(_, l)| {
        serde_json::from_slice::<serde_json::Value>(l).is_ok_and(|v| v.is_object())
    });
    (lines.len() > 1 && first_is_one).then(|| Failure::BundlePerLine {
        bundle: path.to_owned(),
        count: lines.len(),
    })
}

/// "logged at T, certificate valid from A to B" when a log entry's
/// integrated time is outside the leaf's window. For wording only: the
/// verdict (a failure) was already reached on authenticated times.
fn logged_time_outside_validity(bundle: &Bundle) -> Option<String> {
    let info = sigstore_crypto::parse_certificate_info(bundle.signing_certificate()?).ok()?;
    let (from, to) = (info.not_before, info.not_after);
    bundle
        .verification_material
        .tlog_entries
        .iter()
        .filter_map(|e| e.integrated_time)
        .find(|t| *t < from || *t > to)
        .map(|t| format!("logged at {t}, but the certificate is valid only from {from} to {to}"))
}

/// webpki's `CertExpired { time: UnixTime(T), not_after: UnixTime(A) }` (and
/// `CertNotValidYet`) in readable words; the only place the signed time of a
/// timestamp-only (Rekor v2) bundle's failure is given. `None` if the shape
/// ever changes, and the raw detail is shown instead.
fn webpki_window(detail: &str) -> Option<String> {
    let re = regex::Regex::new(
        r"Cert(Expired|NotValidYet) \{ time: UnixTime\((\d+)\), not_(?:after|before): UnixTime\((\d+)\)",
    )
    .ok()?;
    let c = re.captures(detail)?;
    let ts = |i: usize| jiff::Timestamp::from_second(c[i].parse().ok()?).ok();
    let (time, bound) = (ts(2)?, ts(3)?);
    Some(if &c[1] == "Expired" {
        format!("signed at {time}, but the certificate expired at {bound}")
    } else {
        format!("signed at {time}, but the certificate is valid only from {bound}")
    })
}

/// A DSSE bundle whose statement has no sha256 subject was not refused
/// because the file changed: it cannot be matched by a SHA-256 at all.
fn no_sha256_subject(bundle: &Bundle) -> Option<Failure> {
    let statement = provenance::statement_of(bundle).ok()?;
    if statement.subject.iter().any(|s| s.digest.sha256.is_some()) {
        return None;
    }
    let algorithms: std::collections::BTreeSet<String> = statement
        .subject
        .iter()
        .flat_map(|s| {
            s.digest
                .sha512
                .map(|_| "sha512".to_owned())
                .into_iter()
                .chain(s.digest.other.keys().cloned())
        })
        .collect();
    let found: Vec<String> = algorithms.into_iter().collect();
    Some(Failure::NoSha256Subject(format!(
        "its subjects carry {}",
        if found.is_empty() {
            "no digest".to_owned()
        } else {
            text::line(found.join(", "))
        }
    )))
}

/// Whether the bundle's declared SHA-256 message digest equals the
/// artifact's; `None` when it declares none (DSSE, or a digest-less v0.1).
fn message_digest_matches(bundle: &Bundle, digest: &Sha256Hash) -> Option<bool> {
    match &bundle.content {
        SignatureContent::MessageSignature(m) => m
            .message_digest
            .as_ref()
            .filter(|d| d.algorithm == HashAlgorithm::Sha2256)
            .map(|d| d.digest.as_bytes() == digest.as_bytes()),
        SignatureContent::DsseEnvelope(_) => None,
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    /// The commands a run prints judge as it did: the download's, its
    /// trust and predicate type; the pin hint's, `--release`'s options too.
    /// Regression: the download's command left out `--predicate-type`, so
    /// the assets a statement of another type vouched for failed there.
    #[test]
    fn printed_commands_carry_what_the_run_judged_with() {
        let mut settings = VerifySettings {
            inputs: Vec::new(),
            bundle: None,
            recursive: false,
            jobs: std::num::NonZeroUsize::MIN,
            policy: policy::Policy::default(),
            trust: VerifyTrust::Instance(trust::BaseInstance::Staging),
            offline: false,
            release: None,
            provenance: None,
            predicate_type: crate::provenance::SLSA_PROVENANCE_V1.to_owned(),
            require_all: false,
        };
        let trust = settings.trust.clone();
        assert_eq!(judging_flags(&settings, &trust), ["--staging"]);
        settings.predicate_type = "https://example.com/other/v1".to_owned();
        assert_eq!(
            judging_flags(&settings, &trust),
            [
                "--staging",
                "--predicate-type",
                "https://example.com/other/v1"
            ]
        );
        settings.require_all = true;
        settings.release = Some(ReleaseSource {
            repo: "o/r".parse().unwrap(),
            tag: "v1".to_owned(),
            api_url: "https://api.github.com".to_owned(),
            token: None,
            pattern: Some(glob::Pattern::new("*.tgz").unwrap()),
            download: None,
            overwrite: false,
            allow_other_commits: true,
            provenance_required: false,
            instance_by_visibility: false,
        });
        assert_eq!(
            rerun_flags(&settings, &trust),
            [
                "--staging",
                "--predicate-type",
                "https://example.com/other/v1",
                "--require-all",
                "--pattern",
                "*.tgz",
                "--allow-other-commits"
            ]
        );
        // SLSA v1's, given: not a judging flag, but the release must carry
        // a provenance, and the command shown must ask for one too.
        settings.predicate_type = crate::provenance::SLSA_PROVENANCE_V1.to_owned();
        settings.require_all = false;
        if let Some(r) = settings.release.as_mut() {
            r.provenance_required = true;
            r.pattern = None;
            r.allow_other_commits = false;
        }
        assert_eq!(judging_flags(&settings, &trust), ["--staging"]);
        assert_eq!(
            rerun_flags(&settings, &trust),
            [
                "--staging",
                "--predicate-type",
                crate::provenance::SLSA_PROVENANCE_V1
            ]
        );
    }

    #[test]
    fn a_diagnosis_carries_no_advice() {
        for f in [
            Failure::DigestMismatch,
            Failure::SignatureInvalid("bad".into()),
            Failure::ChainNotTrusted("unknown root".into()),
        ] {
            let full = f.to_string();
            let bare = f.diagnosis();
            assert!(full.starts_with(&bare), "{full} / {bare}");
            assert!(
                !bare.contains("release") && !bare.contains("--trust"),
                "{bare}"
            );
        }
        assert_eq!(
            Failure::TimestampInvalid("x".into()).diagnosis(),
            "Timestamp invalid: x"
        );
    }

    use super::*;

    /// npm's provenance (`pkg:npm/NAME@VERSION`, sha512 only) given to
    /// `verify --bundle`: not "artifact modified", but what it is.
    #[test]
    fn an_attestation_without_sha256_subjects_is_not_a_modified_artifact() {
        use sigstore_types::{Digest, Subject};
        let statement = sigstore_types::Statement::new(
            vec![Subject::new(
                "pkg:npm/left-pad@1.3.0",
                Digest::sha512(sigstore_crypto::sha512(b"tarball")),
            )],
            crate::provenance::SLSA_PROVENANCE_V1,
            serde_json::json!({}),
        );
        let bundle = provenance::tests::dsse_bundle(
            crate::provenance::PAYLOAD_TYPE,
            serde_json::to_vec(&statement).unwrap(),
        );
        let e = Failure::from_verifier(
            SigError::ArtifactMismatch("no subject".into()),
            &bundle,
            &sigstore_crypto::sha256(b"tarball"),
        );
        assert_eq!(
            e.to_string(),
            "Attestation names no sha256 subject: its subjects carry sha512; fix: verify it with --provenance FILE, which matches sha256, sha384 and sha512 subjects"
        );
    }

    #[test]
    fn webpki_window_wording() {
        let d = "certificate chain validation failed: CertExpired { time: UnixTime(1795597435), not_after: UnixTime(1795597434) }";
        assert_eq!(
            webpki_window(d).unwrap(),
            "signed at 2026-11-25T09:03:55Z, but the certificate expired at 2026-11-25T09:03:54Z"
        );
        assert_eq!(webpki_window("something else"), None);
    }
}
