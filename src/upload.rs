//! The upload stage: the bundles a sign run wrote -> release assets -> an
//! [`UploadReport`].
//!
//! Owns the release lifecycle and its order, which immutable releases
//! dictate (no asset can be added once published): find the release once
//! (`existing`), or find or create the tag's draft (`draft`, `auto`, with
//! concurrent matrix jobs settling on one draft; one a run at another
//! commit left is refused while its tag does not exist, and publishing
//! creates a missing tag at the run's commit); upload every signed
//! artifact's bundle as `<artifact>.sigstore.json` (and the artifact, with
//! `upload-artifacts`); once all are up, download each asset back and verify
//! it (several at once: reads), deleting a bad one from a draft; publish the
//! draft only when it holds every asset the plan asked for (each artifact
//! signed or kept, and uploaded), all verified, and otherwise name the assets
//! it lacks. It also
//! owns what makes an asset acceptable: a bundle that verifies, under the
//! sign run's own trusted root, for the artifact's SHA-256 and for this run's
//! certificate identity and issuer, made at the run's commit where its
//! certificates name one (one already on the release: at the run's commit or
//! at the tag's) ([`Expected`]); a release whose tag is at another commit
//! than the run's is warned of, since `verify --release` refuses what the run
//! adds there.
//! That rule also keeps a differing asset a re-run finds already there (a
//! fresh runner re-signs, so its bundle differs byte-wise from the valid one
//! on the release), and it is applied before upload too: a bundle is sent
//! only as it verifies on disk then, an artifact only with the digest it was
//! signed with, so a file changed after signing never reaches a release
//! (after-upload checks can delete from a draft, not from a published
//! release). One artifact's failure never loses another's assets; its own
//! bundle stays off the release. A draft is published only as checked: each
//! asset still as it was checked (`still_as_checked`), and, uploading bundles
//! only, each artifact on the draft, as signed (`artifacts_as_signed`).
//!
//! With `--provenance`, the run's `<name>.intoto.jsonl` is one more asset,
//! after every artifact's, under the same rules: acceptable when it is a DSSE
//! bundle valid under the run's trusted root, by the run's signer, whose
//! statement names exactly the run's subjects (an equivalent one a re-run
//! finds is kept), checked after upload, deleted from a draft when it does
//! not verify, and part of what publishing waits for. What landed, verified,
//! is then stored in the repository's attestations where the API has them
//! (not on GitHub Enterprise Server: a note); a refused permission is a
//! warning, never a failed release. It prints nothing and talks to GitHub
//! only through [`crate::github`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt as _;

use crate::verify::cache::CachingVerifier;
use sigstore_types::{Sha256Hash, Statement};

use sha2::{Digest as _, Sha256};

use crate::bundle_io;
use crate::github::{
    identical_only, Checked, Release, ReleaseError, Releases, Standing, UploadedAsset,
};
use crate::net::RetryPolicy;
use crate::oidc::Secret;
use crate::plan::SkipReason;
use crate::report::{AssetKind, AssetReport, AttestationReport, UploadPlan, UploadReport};
use crate::sign::{
    ArtifactReport, IdentityReport, Outcome, ProvenanceOutcome, ProvenanceReport, SignReport,
    SubjectReport,
};
use crate::text;
use crate::verify::policy::{Policy, PolicyMismatch, SourceCommit};
use crate::verify::Failure;
use crate::vocab::ReleaseMode;
use crate::vocab::Repo;

/// Assets downloaded back at once to be checked (reads; GitHub's
/// secondary limits allow far more concurrent requests, and
/// `verify --release` reads 32 assets at once).
const CHECKS_AT_ONCE: usize = 16;

/// A resolved upload target.
#[derive(Debug, Clone)]
pub struct UploadSettings {
    pub api_url: String,
    pub repo: Repo,
    pub tag: String,
    pub token: Secret,
    /// Replace an asset whose content differs (otherwise that is an error).
    pub overwrite: bool,
    pub mode: ReleaseMode,
    /// Publish the draft once every upload verified.
    pub publish: bool,
    /// Whether publishing makes it the latest release (GitHub's default
    /// when `None`).
    pub make_latest: Option<crate::vocab::MakeLatest>,
    /// Upload the artifacts too, not only their bundles.
    pub upload_artifacts: bool,
    /// The commit a new draft's tag will point at (`GITHUB_SHA`).
    pub target_commitish: Option<String>,
}

/// What a bundle on the release must be to stand for one of this run's
/// artifacts: valid under the run's trusted root, for the artifact's digest,
/// and signed by the run's own identity and issuer (exact), at the commit
/// its certificates name (a GitHub Actions job's); one already on the
/// release, at that commit or at the one the release's tag points at.
pub(crate) struct Expected {
    verifier: Arc<CachingVerifier>,
    /// The run's signer at the run's commit ([`Policy::run_signer`]).
    policy: Policy,
    /// The same signer at the release tag's commit, where that is another
    /// ([`Self::at_release_commit`]).
    at_tag: Option<Policy>,
}

impl Expected {
    /// `None` when the run certified no identity (nothing was signed).
    pub(crate) fn for_run(
        sign: &SignReport,
        verifier: Option<Arc<CachingVerifier>>,
    ) -> Option<Expected> {
        let IdentityReport::Certified {
            identity,
            issuer,
            commit,
            ..
        } = &sign.identity
        else {
            return None;
        };
        Some(Expected {
            verifier: verifier?,
            policy: Policy::run_signer(identity, issuer, commit.as_deref()),
            at_tag: None,
        })
    }

    /// What is already on the release may also be made at `commit`, the one
    /// its tag points at (or will, once published): an earlier run for the
    /// tag made it there, and `verify --release` holds assets to it. A
    /// bundle the same workflow made at any other commit (a draft filled
    /// before the tag moved) is not this run's, and would fail there.
    pub(crate) fn at_release_commit(&mut self, commit: Option<SourceCommit>) {
        let (Some(run), Some(tag)) = (&self.policy.source_commit, commit) else {
            return;
        };
        if !run.sha.eq_ignore_ascii_case(&tag.sha) {
            self.at_tag = Some(Policy {
                source_commit: Some(tag),
                ..self.policy.clone()
            });
        }
    }

    /// A release whose tag is at another commit than the run's (adding to
    /// a published release from another commit): the warning that
    /// `verify --release` refuses what this run uploads there.
    fn tag_elsewhere(&self) -> Option<String> {
        let run = self.policy.source_commit.as_ref()?;
        let tag = self.at_tag.as_ref()?.source_commit.as_ref()?;
        Some(format!(
            "tag {} points at commit {}, but this run is at commit {}: `verify --release` refuses the bundles this run uploads there (made at another commit than the tag's) unless given --allow-other-commits",
            tag.tag, tag.sha, run.sha
        ))
    }

    /// `check` under the run's policy, else, for an asset already on the
    /// release made at another commit, under the tag's; the reason names
    /// both commits.
    fn on_release(&self, check: impl Fn(&Policy) -> Result<(), Failure>) -> Result<(), String> {
        match check(&self.policy) {
            Ok(()) => Ok(()),
            Err(Failure::Policy(PolicyMismatch::OtherCommit { found, .. })) => {
                if let Some(at_tag) = &self.at_tag {
                    match check(at_tag) {
                        Ok(()) => return Ok(()),
                        Err(Failure::Policy(PolicyMismatch::OtherCommit { .. })) => {}
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Err(self.other_commit(found.as_deref()))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Why an asset made at `found` is not this run's.
    fn other_commit(&self, found: Option<&str>) -> String {
        let found = crate::verify::policy::commit_named(found);
        let run = self
            .policy
            .source_commit
            .as_ref()
            .map_or("", |c| c.sha.as_str());
        match self.at_tag.as_ref().and_then(|p| p.source_commit.as_ref()) {
            Some(tag) => format!(
                "signed by this run's workflow at {found}, neither at {run}, this run's commit, nor at {}, the commit of tag {} (`verify --release` would refuse it)",
                tag.sha, tag.tag
            ),
            None => format!(
                "signed by this run's workflow at {found}, not at {run}, this run's commit (`verify --release` would refuse it)"
            ),
        }
    }

    /// [`Self::check`] of a bundle as it is on the release, which may also
    /// be made at the tag's commit.
    fn check_on_release(
        &self,
        asset: &str,
        bundle_json: &[u8],
        sha256: &str,
        size: u64,
    ) -> Result<(), String> {
        self.on_release(|policy| self.verify_with(policy, asset, bundle_json, sha256, size))
    }

    /// Whether `bundle_json` (named `asset` in errors) is a valid bundle for
    /// the artifact with hex digest `sha256` and `size`, by this run's signer.
    pub(crate) fn check(
        &self,
        asset: &str,
        bundle_json: &[u8],
        sha256: &str,
        size: u64,
    ) -> Result<(), String> {
        self.verify_with(&self.policy, asset, bundle_json, sha256, size)
            .map_err(|e| self.reason(e))
    }

    fn verify_with(
        &self,
        policy: &Policy,
        asset: &str,
        bundle_json: &[u8],
        sha256: &str,
        size: u64,
    ) -> Result<(), Failure> {
        let digest = Sha256Hash::from_hex(sha256)
            .map_err(|e| Failure::BundleInvalid(format!("digest: {e}")))?;
        crate::verify::verify_bytes(
            &self.verifier,
            policy,
            Path::new(asset),
            bundle_json,
            digest,
            size,
        )
        .map(|_| ())
    }

    /// Whether `bundle_json` (named `asset` in errors) is a valid build
    /// provenance for this run: a DSSE bundle of an in-toto statement v1
    /// with the SLSA v1 predicate whose subjects are exactly `subjects`
    /// (names and SHA-256), valid under the run's trusted root and signed by
    /// the run's signer. What sign's self-verification checks, plus the
    /// subjects.
    pub(crate) fn check_provenance(
        &self,
        asset: &str,
        bundle_json: &[u8],
        subjects: &[SubjectReport],
    ) -> Result<(), String> {
        self.check_provenance_at(false, asset, bundle_json, subjects)
    }

    /// [`Self::check_provenance`]; `on_release`: of one already on the
    /// release, which may also be made at the tag's commit.
    fn check_provenance_at(
        &self,
        on_release: bool,
        asset: &str,
        bundle_json: &[u8],
        subjects: &[SubjectReport],
    ) -> Result<(), String> {
        let bundle = crate::verify::parse_bundle(Path::new(asset), bundle_json)
            .map_err(|e| e.to_string())?;
        // Read as verify reads any attestation (one home for the envelope's rules).
        let statement =
            crate::verify::provenance::statement_of(&bundle).map_err(|e| e.to_string())?;
        same_statement(&statement, subjects)?;
        let first = subjects
            .first()
            .ok_or("the run attested no subject")?
            .sha256
            .as_str();
        let digest = Sha256Hash::from_hex(first).map_err(|e| e.to_string())?;
        let check = |policy: &Policy| {
            crate::verify::check_bundle(&self.verifier, policy, &bundle, digest, None).map(drop)
        };
        if on_release {
            self.on_release(check)
        } else {
            check(&self.policy).map_err(|e| self.reason(e))
        }
    }

    /// Why an asset does not verify as this run's, worded for an upload
    /// (verify's own wording of another commit points to a flag of verify).
    fn reason(&self, e: Failure) -> String {
        match e {
            Failure::Policy(PolicyMismatch::OtherCommit { found, .. }) => {
                self.other_commit(found.as_deref())
            }
            e => e.to_string(),
        }
    }

    /// The run's policy, and the tag's where it is another.
    fn policies(&self) -> impl Iterator<Item = &Policy> {
        std::iter::once(&self.policy).chain(&self.at_tag)
    }
}

impl Expected {
    /// What the provenance `bundle_json` already on the release (named
    /// `asset`) is to this run's, about `subjects`: equivalent when it is
    /// one for exactly them ([`Self::check_provenance`]); superseded when
    /// this run's repeats every claim it makes, by the same signer at the
    /// same commit (a re-run after an artifact failed: the local rule,
    /// `verify::provenance::superseded_by`), never one made at the tag's
    /// other commit, whose claim (built there) this run's does not repeat;
    /// else it differs.
    pub(crate) fn provenance_standing(
        &self,
        asset: &str,
        bundle_json: &[u8],
        subjects: &[SubjectReport],
    ) -> Standing {
        let why = match self.check_provenance_at(true, asset, bundle_json, subjects) {
            Ok(()) => return Standing::Equivalent,
            Err(why) => why,
        };
        let ours: Option<std::collections::HashSet<(&str, Sha256Hash)>> = subjects
            .iter()
            .map(|s| Some((s.name.as_str(), Sha256Hash::from_hex(&s.sha256).ok()?)))
            .collect();
        let superseded = ours.is_some_and(|ours| {
            crate::verify::provenance::superseded_by(
                &self.verifier,
                &self.policy,
                Path::new(asset),
                bundle_json,
                &ours,
            )
            .is_ok()
        });
        if superseded {
            return Standing::Superseded;
        }
        match self.claims_about_others(asset, bundle_json, subjects) {
            Some(others) => Standing::AnotherClaim(others),
            None => Standing::Differs(why),
        }
    }

    /// When `bundle_json` (named `asset`) is a provenance of the kind a run
    /// signs, valid and by this run's signer at the release's commit, that
    /// attests files this run does not: which (a few), as a reason. Two
    /// jobs of one workflow attesting under one name meet here.
    fn claims_about_others(
        &self,
        asset: &str,
        bundle_json: &[u8],
        subjects: &[SubjectReport],
    ) -> Option<String> {
        let bundle = crate::verify::parse_bundle(Path::new(asset), bundle_json).ok()?;
        let statement = crate::verify::provenance::statement_of(&bundle).ok()?;
        crate::verify::provenance::of_the_kind_a_run_signs(&statement).ok()?;
        let theirs: Vec<(&str, Sha256Hash)> = statement
            .subject
            .iter()
            .filter_map(|s| Some((s.name.as_str(), s.digest.sha256?)))
            .collect();
        let (_, digest) = *theirs.first()?;
        self.policies().find(|policy| {
            crate::verify::check_bundle(&self.verifier, policy, &bundle, digest, None).is_ok()
        })?;
        let others: Vec<String> = theirs
            .iter()
            .filter(|(name, d)| {
                !subjects
                    .iter()
                    .any(|s| s.name == *name && s.sha256.eq_ignore_ascii_case(&d.to_hex()))
            })
            .map(|(name, _)| text::line(name))
            .collect();
        (!others.is_empty()).then(|| text::first_of(others, 5))
    }
}

/// A statement of the kind a run signs (in-toto v1, SLSA v1 provenance)
/// about exactly `subjects`, in any order: no subject missing, none added,
/// none with another digest.
fn same_statement(statement: &Statement, subjects: &[SubjectReport]) -> Result<(), String> {
    use std::collections::BTreeSet;
    crate::verify::provenance::of_the_kind_a_run_signs(statement)?;
    let ours: BTreeSet<(&str, String)> = subjects
        .iter()
        .map(|s| (s.name.as_str(), s.sha256.to_ascii_lowercase()))
        .collect();
    let theirs: BTreeSet<(&str, String)> = statement
        .subject
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.digest.sha256.map(|d| d.to_hex()).unwrap_or_default(),
            )
        })
        .collect();
    if statement.subject.len() != theirs.len() || theirs != ours {
        // A few of each, so a 200-artifact run's error stays one readable line.
        let names = |set: &BTreeSet<(&str, String)>, other: &BTreeSet<(&str, String)>| {
            let all: Vec<String> = set
                .difference(other)
                .map(|(n, d)| format!("{} ({d})", crate::text::line(n)))
                .collect();
            crate::text::first_of(all, 5)
        };
        return Err(format!(
            "its statement is about other subjects than this run's (missing: [{}]; not this run's: [{}])",
            names(&ours, &theirs),
            names(&theirs, &ours)
        ));
    }
    Ok(())
}

/// The run's provenance when it was signed, and its subjects.
fn signed_provenance(sign: &SignReport) -> Option<(&ProvenanceReport, &[SubjectReport])> {
    let p = sign.provenance.as_ref()?;
    match &p.outcome {
        ProvenanceOutcome::Signed { subjects, .. } => Some((p, subjects)),
        _ => None,
    }
}

/// The provenance's asset name: its file name.
fn provenance_name(p: &ProvenanceReport) -> String {
    file_name(&p.path)
}

/// The assets of one artifact in upload order: the artifact first, when
/// asked, so a bundle is never on the release without its artifact.
fn files(a: &ArtifactReport, upload_artifacts: bool) -> Vec<(AssetKind, String)> {
    files_of(&a.path, upload_artifacts)
}

/// [`files`] for the artifact at `path`, signed or not.
fn files_of(path: &Path, upload_artifacts: bool) -> Vec<(AssetKind, String)> {
    let mut files = Vec::with_capacity(2);
    if upload_artifacts {
        files.push((AssetKind::Artifact, file_name(path)));
    }
    files.push((AssetKind::Bundle, bundle_name(path)));
    files
}

/// What [`run`] would do for a dry run's `sign` report: no request is made,
/// so the release's state is unknown and only the configuration is told.
pub fn plan(settings: &UploadSettings, sign: &SignReport, check: bool) -> UploadPlan {
    UploadPlan {
        repo: settings.repo.to_string(),
        tag: settings.tag.clone(),
        mode: settings.mode,
        publish: settings.publish,
        upload_artifacts: settings.upload_artifacts,
        check: check || settings.publish,
        assets: sign
            .artifacts
            .iter()
            .filter(|a| !matches!(a.outcome, Outcome::Failed { .. }))
            .flat_map(|a| files(a, settings.upload_artifacts))
            .map(|(_, name)| name)
            .chain(sign.provenance.as_ref().map(provenance_name))
            .map(|name| crate::github::github_asset_name(&name))
            .collect(),
    }
}

/// One asset to upload, in upload order.
struct Queued<'a> {
    kind: AssetKind,
    /// The name asked for (GitHub may store another).
    name: String,
    /// The local file uploaded.
    file: &'a Path,
    /// What the asset must verify as.
    stands_for: StandsFor<'a>,
    /// The report's `artifact` and `bundle`.
    artifact: &'a Path,
    bundle: &'a Path,
}

/// What an asset stands for, and so how it is checked.
#[derive(Clone, Copy)]
enum StandsFor<'a> {
    /// An artifact's bytes, or its bundle: the artifact's digest and size.
    Artifact { sha256: &'a str, size: u64 },
    /// The build provenance: a statement about exactly these subjects.
    Provenance { subjects: &'a [SubjectReport] },
}

/// Every asset of `sign`'s run in upload order: per signed or kept
/// artifact, the artifact (when asked) then its bundle; then the
/// provenance, when it was signed.
fn queue(sign: &SignReport, upload_artifacts: bool) -> Vec<Queued<'_>> {
    let mut queue = Vec::new();
    for a in &sign.artifacts {
        // A kept bundle (a re-run after a failed upload) goes up like a new one.
        let (Outcome::Signed { sha256, .. } | Outcome::Reused { sha256, .. }) = &a.outcome else {
            continue;
        };
        for (kind, name) in files(a, upload_artifacts) {
            queue.push(Queued {
                kind,
                name,
                file: match kind {
                    AssetKind::Artifact => &a.path,
                    _ => &a.bundle,
                },
                stands_for: StandsFor::Artifact {
                    sha256,
                    size: a.size,
                },
                artifact: &a.path,
                bundle: &a.bundle,
            });
        }
    }
    if let Some((p, subjects)) = signed_provenance(sign) {
        queue.push(Queued {
            kind: AssetKind::Provenance,
            name: provenance_name(p),
            file: &p.path,
            stands_for: StandsFor::Provenance { subjects },
            artifact: &p.path,
            bundle: &p.path,
        });
    }
    queue
}

/// Upload the bundles (and, when asked, the artifacts) of every artifact
/// `sign` signed, and its provenance, check what landed, store the
/// provenance as an attestation where GitHub has the API, and publish the
/// draft when asked and everything verified; `verifier` is the sign run's
/// (see [`crate::sign::SignRun`]); `server_url` (`GITHUB_SERVER_URL`) is
/// where the attestation's link points.
pub async fn run(
    settings: &UploadSettings,
    sign: &SignReport,
    verifier: Option<Arc<CachingVerifier>>,
    check: bool,
    server_url: Option<&str>,
    retry: RetryPolicy,
) -> Uploaded {
    match run_until_published(settings, sign, verifier, check, server_url, retry).await {
        Ok((report, error)) => Uploaded {
            report: Some(report),
            error,
        },
        Err(error) => Uploaded {
            report: None,
            error: Some(error),
        },
    }
}

/// The upload as far as it went: its report, unless it stopped before
/// there was anything to report (no release, an immutable one), and the
/// error that stopped it, if any (publishing may fail after every asset
/// landed: the report still says what is on the release).
pub struct Uploaded {
    pub report: Option<UploadReport>,
    pub error: Option<ReleaseError>,
}

async fn run_until_published(
    settings: &UploadSettings,
    sign: &SignReport,
    verifier: Option<Arc<CachingVerifier>>,
    check: bool,
    server_url: Option<&str>,
    retry: RetryPolicy,
) -> Result<(UploadReport, Option<ReleaseError>), ReleaseError> {
    let mut expected = Expected::for_run(sign, verifier);
    // Publishing vouches for every asset: it is never done on unchecked ones.
    let check = check || settings.publish;
    let attest = crate::github::has_attestations_api(&settings.api_url);
    let releases = Releases::new(
        &settings.api_url,
        settings.repo.clone(),
        &settings.token,
        retry,
    )?;

    // 1. The release, once, as the mode says: a missing release is one
    //    error, not one per asset.
    let (release, created) = target(&releases, settings).await?;
    if settings.publish
        && release.draft
        && release.prerelease
        && settings.make_latest == Some(crate::vocab::MakeLatest::True)
    {
        return Err(ReleaseError::PrereleaseNotLatest {
            tag: text::line(&release.tag),
        });
    }
    let mut warnings = Vec::new();
    if let Some(expected) = &mut expected {
        expected.at_release_commit(release_commit(&releases, settings, &release).await?);
        warnings.extend(expected.tag_elsewhere());
    }

    // 2. Each asset in plan order, sequentially (GitHub asks that of
    //    content-creating requests).
    let mut assets = Vec::new();
    let mut refused: Option<ImmutableRefusal> = None;
    // Set once GitHub's API budget is spent until later than a retry
    // waits: no request follows (each would be refused, and GitHub may
    // block an integration that keeps asking), every asset left says why.
    let mut limited: Option<String> = None;
    // What landed and is to be downloaded back: (its report's index, ...).
    let mut landed_assets = Vec::new();
    // Artifacts whose own upload failed: their bundle stays off the
    // release, which would otherwise pair it with another file of that
    // name, or with none.
    let mut artifact_failed: HashSet<&Path> = HashSet::new();
    // Uploading bundles only: an artifact the release holds with other
    // bytes gets no bundle beside it; where that cannot be told (the
    // listing failed), no bundle goes up unchecked either.
    let other_bytes: Result<HashMap<&Path, NotAsSigned>, String> =
        match not_as_signed(&releases, &release, sign, settings).await {
            // One not there yet may still be uploaded by another step
            // (publishing checks again).
            Ok((found, _absent)) => Ok(found.into_iter().map(|n| (n.artifact, n)).collect()),
            Err(e) => {
                if e.rate_limited() {
                    limited = Some(ReleaseError::rate_limit_spent_at(
                        "reading the release's assets",
                    ));
                }
                Err(e.to_string())
            }
        };
    let partial = sign
        .artifacts
        .iter()
        .any(|a| matches!(a.outcome, Outcome::Failed { .. }));
    for q in queue(sign, settings.upload_artifacts) {
        let stored = crate::github::github_asset_name(&q.name);
        if let Some(r) = &mut refused {
            // The release takes no new asset: asking again per asset would
            // only repeat GitHub's refusal. Those already there still count.
            if !r
                .present
                .iter()
                .any(|p| crate::github::same_asset_name(p, &stored))
            {
                r.missing.push(stored);
                continue;
            }
        }
        let mut report = AssetReport {
            kind: q.kind,
            artifact: q.artifact.to_path_buf(),
            bundle: q.bundle.to_path_buf(),
            asset: stored,
            action: None,
            download_url: None,
            checked: false,
            error: None,
        };
        if let Some(note) = &limited {
            report.error = Some(format!("not attempted: {note}; re-run then"));
            assets.push(report);
            continue;
        }
        if q.kind == AssetKind::Bundle && artifact_failed.contains(q.artifact) {
            report.error = Some("not uploaded: its artifact's upload failed".into());
            assets.push(report);
            continue;
        }
        if q.kind == AssetKind::Bundle {
            let refused = match &other_bytes {
                Ok(found) => found.get(q.artifact).map(|n| match &n.unread {
                    None => ReleaseError::OtherBytesUnderName {
                        tag: release.tag.clone(),
                        asset: text::line(&n.asset),
                    }
                    .to_string(),
                    Some(e) => format!(
                        "not uploaded: the release's asset `{}`, of its artifact's name, could not be read to tell whether it is the artifact signed: {e}",
                        text::line(&n.asset)
                    ),
                }),
                Err(e) => Some(format!(
                    "not uploaded: the release's assets could not be listed to check the one of its artifact's name: {e}"
                )),
            };
            if let Some(error) = refused {
                report.error = Some(error);
                assets.push(report);
                continue;
            }
        }
        // The provenance vouches for every artifact it names, so it is held
        // to the bundles' two rules at once (it comes after them all): not
        // beside another build of one, nor where one's own upload failed.
        // Regression: it went up there, and `verify --release` failed an
        // asset that was merely unsigned before, for good on a published
        // release, with an attestation stored for bytes it does not ship.
        if q.kind == AssetKind::Provenance {
            if let Some(why) = provenance_held_back(sign, &artifact_failed, &other_bytes) {
                report.error = Some(why);
                assets.push(report);
                continue;
            }
        }
        // Signed artifacts exist only when the run certified an identity
        // with a verifier, so `expected` is always there for them.
        let Some(expected) = &expected else {
            report.error = Some("this run has no certificate to check assets against".into());
            assets.push(report);
            continue;
        };
        let landed = Landed {
            releases: &releases,
            release: &release,
            expected,
        };
        // With an artifact failed, the provenance names fewer files than
        // the run planned: it replaces one on the release only when it
        // repeats every claim there (superseded), `--overwrite` or not.
        let held = q.kind == AssetKind::Provenance && settings.overwrite && partial;
        match landed.upload(&q, settings.overwrite && !held).await {
            Ok(up) => {
                report.asset = up.name.clone();
                report.action = Some(up.action);
                report.download_url = Some(up.download_url.clone());
                // The provenance is also read back to be attested.
                if check || (attest && q.kind == AssetKind::Provenance) {
                    landed_assets.push((assets.len(), q, up));
                }
            }
            Err(ReleaseError::Immutable { tag, what, message }) if refused.is_none() => {
                let present = releases
                    .assets(&release)
                    .await
                    .map(|all| all.into_iter().map(|a| a.name).collect())
                    .unwrap_or_default();
                refused = Some(ImmutableRefusal {
                    tag,
                    what,
                    message,
                    present,
                    missing: Vec::new(),
                });
                continue;
            }
            Err(
                ReleaseError::AnotherClaim { name, tag, reason }
                | ReleaseError::AssetDiffers { name, tag, reason },
            ) if held => {
                report.error = Some(
                    ReleaseError::PartialNotReplaced {
                        name: text::line(&name),
                        tag,
                        reason,
                    }
                    .to_string(),
                );
            }
            Err(e) => {
                if q.kind == AssetKind::Artifact {
                    artifact_failed.insert(q.artifact);
                }
                if e.rate_limited() {
                    limited = Some(ReleaseError::rate_limit_spent_at(&format!(
                        "`{}`",
                        text::line(&report.asset)
                    )));
                }
                report.error = Some(e.to_string());
            }
        }
        assets.push(report);
    }
    // An immutable release is one error for the run, naming every asset it
    // did not take, not one per asset.
    if let Some(r) = refused {
        let what = match r.missing.len() {
            0 => r.what,
            n => format!(
                "{} (and uploading the {n} other asset(s) it lacks: {})",
                r.what,
                r.missing.join(", ")
            ),
        };
        return Err(ReleaseError::Immutable {
            tag: r.tag,
            what,
            message: r.message,
        });
    }

    // 3. What consumers download verifies, as the local file did; on a
    //    draft, what does not is removed before anyone sees it. Downloads
    //    are reads, so [`CHECKS_AT_ONCE`] at a time (for a large release
    //    this stage took as long as the uploads); removals one at a time.
    // The provenance as it is on the release, verified: what the
    // attestation store gets.
    let mut provenance: Option<(String, bytes::Bytes)> = None;
    if let Some(expected) = &expected {
        let landed = Landed {
            releases: &releases,
            release: &release,
            expected,
        };
        let landed = &landed;
        // Nothing is downloaded once the budget is spent: each landed asset
        // stays unchecked, so the release is not published.
        let landed_assets_to_check = match &limited {
            Some(note) => {
                for (i, _, _) in &landed_assets {
                    assets[*i].error = Some(format!(
                        "uploaded, not checked: {note}; it was left on the release unchecked: the re-run checks it"
                    ));
                }
                &landed_assets[..0]
            }
            None => &landed_assets[..],
        };
        let checked: Vec<_> = futures::stream::iter(landed_assets_to_check)
            .map(|(i, q, up)| async move { (*i, q, up, landed.check(q, up).await) })
            .buffered(CHECKS_AT_ONCE)
            .collect()
            .await;
        for (i, q, up, result) in checked {
            match result {
                Ok(bytes) => {
                    assets[i].checked = true;
                    if attest && q.kind == AssetKind::Provenance {
                        provenance = bytes.map(|b| (up.name.clone(), b));
                    }
                }
                Err(CheckFailure::Bad(e)) => assets[i].error = Some(landed.discard(up, e).await),
                // Not seen, so not judged: left as it is, and not checked.
                Err(CheckFailure::Unread(e)) => {
                    assets[i].error = Some(format!(
                        "{e}; it was left on the release unchecked: re-run to check it"
                    ))
                }
            }
        }
    }

    // 4. The provenance that verified on the release, in the repository's
    //    attestations, where the API exists.
    let attestation = if attest {
        match provenance {
            Some((name, bytes)) => Some(
                store_attestation(&releases, &release, settings, server_url, &name, &bytes).await,
            ),
            None => None,
        }
    } else {
        assets
            .iter()
            .find(|r| r.kind == AssetKind::Provenance && r.error.is_none())
            .map(|r| AttestationReport::Skipped {
                note: format!(
                    "GitHub Enterprise Server ({}) has no attestations API, so the build provenance is stored only as the release asset `{}`",
                    text::echoed(&settings.api_url), r.asset
                ),
            })
    };

    // 5. Publish only a draft, and only when it holds every asset the plan
    //    asked for, each verified: an artifact that failed to sign, or an
    //    upload that failed, leaves it incomplete, and nothing uploaded is
    //    not "all verified". A published immutable release cannot be
    //    completed later. A provenance the attestation store failed to take
    //    (a refused permission is only a warning) withholds it too: a
    //    re-run finds the draft, keeps every asset, stores the provenance
    //    and publishes; once published, a draft-mode re-run would refuse it.
    let lacking = lacking(sign, settings.upload_artifacts, &assets);
    let attestation_failed = matches!(attestation, Some(AttestationReport::Failed { .. }));
    let complete = lacking.is_empty()
        && !assets.is_empty()
        && assets.iter().all(|a| a.error.is_none() && a.checked)
        && !attestation_failed;
    let mut published = false;
    let mut release = release;
    let mut publish_withheld = settings.publish && release.draft && !complete;
    let mut failed = None;
    if settings.publish && release.draft && complete {
        let checked = landed_assets.iter().map(|(_, _, up)| up);
        // The slowest check first (every release of the repository may be
        // listed), and the listing of what was checked last, closest to the
        // publish. The tag is read again: one pushed elsewhere while the
        // assets went up would name a commit the certificates do not
        // (`target_commitish` counts only for a tag publishing creates).
        let ready = async {
            the_only_filled_draft(&releases, &release).await?;
            tag_at_this_commit(&releases, settings).await?;
            artifacts_as_signed(&releases, &release, sign, settings).await?;
            still_as_checked(&releases, &release, checked).await
        }
        .await;
        match ready {
            Err(e) => {
                publish_withheld = true;
                failed = Some(e);
            }
            // The tag, if publishing creates it, goes where this run signed.
            Ok(()) => match releases
                .publish(
                    &release,
                    settings.target_commitish.as_deref(),
                    settings.make_latest,
                )
                .await
            {
                Ok(r) => {
                    release = r;
                    published = true;
                    // A draft's links name no tag (`untagged-...`) and go
                    // dead once it is published: the published ones, as
                    // listed now (the report keeps a draft's if none is).
                    if let Ok(now) = releases.assets(&release).await {
                        for a in &mut assets {
                            if let Some(listed) = now.iter().find(|x| x.name == a.asset) {
                                a.download_url = Some(listed.download_url.clone());
                            }
                        }
                    }
                }
                // The run fails, and what it did to the release is still told.
                Err(e) => failed = Some(e),
            },
        }
    }
    let report = UploadReport {
        repo: settings.repo.to_string(),
        tag: release.tag.clone(),
        release_url: release.html_url.clone(),
        draft: release.draft,
        created,
        published,
        publish_withheld,
        lacking,
        not_regular: sign
            .skipped
            .iter()
            .filter(|k| k.reason == SkipReason::NotRegular)
            .map(|k| k.path.display().to_string())
            .collect(),
        assets,
        attestation,
        warnings,
    };
    Ok((report, failed))
}

/// Store the verified provenance `bundle` (the asset `name`) as an
/// attestation: a refused permission is a warning, not a failure.
async fn store_attestation(
    releases: &Releases,
    release: &Release,
    settings: &UploadSettings,
    server_url: Option<&str>,
    name: &str,
    bundle: &[u8],
) -> AttestationReport {
    match releases
        .create_attestation(bundle, name, &release.tag)
        .await
    {
        Ok(id) => AttestationReport::Stored {
            id,
            url: crate::github::attestation_url(server_url, &settings.api_url, &settings.repo, id),
        },
        Err(
            e @ (ReleaseError::AttestationForbidden { .. }
            | ReleaseError::AttestationRefused { .. }),
        ) => AttestationReport::Forbidden {
            warning: format!("{e}; the provenance is on the release as `{name}` all the same"),
        },
        Err(e) => AttestationReport::Failed {
            error: format!("{e}; re-run to store it (the release assets are kept)"),
        },
    }
}

/// The assets the plan asked for that are not on the release as verified
/// (as GitHub names them, in plan order): every asset of an artifact that
/// was not signed or kept, and every upload that failed or did not verify;
/// the provenance when it was asked for and did not land (or was not signed).
/// A path given that is not a regular file (a link its build left pointing
/// at nothing) may be an artifact of the release that cannot be signed:
/// its assets are lacking too, so a release is never published without it.
fn lacking(sign: &SignReport, upload_artifacts: bool, assets: &[AssetReport]) -> Vec<String> {
    let mut lacking = Vec::new();
    for k in sign
        .skipped
        .iter()
        .filter(|k| k.reason == SkipReason::NotRegular)
    {
        for (_, name) in files_of(&k.path, upload_artifacts) {
            lacking.push(crate::github::github_asset_name(&name));
        }
    }
    for a in &sign.artifacts {
        let signed = matches!(a.outcome, Outcome::Signed { .. } | Outcome::Reused { .. });
        for (kind, name) in files(a, upload_artifacts) {
            let landed = signed
                && assets
                    .iter()
                    .any(|r| r.artifact == a.path && r.kind == kind && r.error.is_none());
            if !landed {
                lacking.push(crate::github::github_asset_name(&name));
            }
        }
    }
    if let Some(p) = &sign.provenance {
        let landed = signed_provenance(sign).is_some()
            && assets
                .iter()
                .any(|r| r.kind == AssetKind::Provenance && r.error.is_none());
        if !landed {
            lacking.push(crate::github::github_asset_name(&provenance_name(p)));
        }
    }
    lacking
}

/// The first upload an immutable release refused, and every asset it lacks.
struct ImmutableRefusal {
    tag: String,
    what: String,
    message: String,
    /// The release's assets when it refused (those still get checked).
    present: HashSet<String>,
    missing: Vec<String>,
}

/// The release to upload to, and whether this run created it.
async fn target(
    releases: &Releases,
    settings: &UploadSettings,
) -> Result<(Release, bool), ReleaseError> {
    let tag = &settings.tag;
    if settings.mode == ReleaseMode::Existing {
        return Ok((releases.find(tag).await?, false));
    }
    let all = releases.all_for_tag(tag).await?;
    if let Some(published) = all.iter().find(|r| !r.draft) {
        return match settings.mode {
            ReleaseMode::Auto => Ok((published.clone(), false)),
            _ => Err(ReleaseError::AlreadyPublished { tag: tag.clone() }),
        };
    }
    let tagged = tag_at_this_commit(releases, settings).await?;
    if let Some(oldest) = all.into_iter().next() {
        at_this_commit(settings, &oldest, tagged)?;
        return Ok((oldest, false));
    }
    // Matrix jobs may all find no draft and each create one (GitHub lets
    // drafts share a tag). Every job then settles on the oldest draft (the
    // lowest id, which no job deletes, since none sees an older one) and
    // deletes its own if it lost, before any asset goes to it.
    let mine = releases
        .create_draft(tag, settings.target_commitish.as_deref())
        .await?;
    let drafts: Vec<Release> = releases
        .all_for_tag(tag)
        .await?
        .into_iter()
        .filter(|r| r.draft)
        .collect();
    let ids: Vec<u64> = drafts.iter().map(|r| r.id).collect();
    let settled = settled_draft(&ids, mine.id);
    match drafts.into_iter().find(|r| r.id == settled) {
        None => Ok((mine, true)),
        Some(oldest) if oldest.id == mine.id => Ok((mine, true)),
        Some(oldest) => {
            releases.delete_release(&mine).await?;
            at_this_commit(settings, &oldest, tagged)?;
            Ok((oldest, false))
        }
    }
}

/// The id of the draft that jobs each creating one for a tag settle on:
/// the oldest (lowest) of the drafts `listed` and the job's own, `mine`,
/// which a listing just after its creation may not show yet (GitHub's
/// reads can lag its writes). Counted only from the listing, a job that
/// saw only a newer draft than its own deleted its own, while the job of
/// that newer one, seeing both, deleted its: no draft was left.
fn settled_draft(listed: &[u64], mine: u64) -> u64 {
    listed.iter().copied().fold(mine, u64::min)
}

/// The commit `release` is verified at: where its tag points; for a draft
/// whose tag does not exist yet, the commit publishing will create it at:
/// this run's when this run publishes, else the one the draft names (who
/// publishes it later creates the tag there), if a commit SHA. `None` where
/// none is known (outside GitHub Actions, a draft aimed at a branch).
async fn release_commit(
    releases: &Releases,
    settings: &UploadSettings,
    release: &Release,
) -> Result<Option<SourceCommit>, ReleaseError> {
    let named_commit = |c: &str| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit());
    let sha = match releases.tag_commit(&release.tag).await {
        Ok(sha) => Some(sha),
        Err(ReleaseError::NoTag { .. }) if release.draft && settings.publish => {
            settings.target_commitish.clone()
        }
        Err(ReleaseError::NoTag { .. }) if release.draft => Some(&release.target_commitish)
            .filter(|c| named_commit(c))
            .cloned()
            .or_else(|| settings.target_commitish.clone()),
        Err(ReleaseError::NoTag { .. }) => None,
        Err(e) => return Err(e),
    };
    Ok(sha.map(|sha| SourceCommit {
        tag: release.tag.clone(),
        sha: sha.to_ascii_lowercase(),
    }))
}

/// Whether the tag exists; refused where it points at another commit than
/// the run's. GitHub ignores a release's `target_commitish` once its tag
/// exists, so a draft published under it would hold assets signed at this
/// run's commit (the one its certificates name, which `verify --release`
/// holds the tag's commit to) under a tag at another.
async fn tag_at_this_commit(
    releases: &Releases,
    settings: &UploadSettings,
) -> Result<bool, ReleaseError> {
    let Some(ours) = settings.target_commitish.as_deref() else {
        return Ok(false);
    };
    match releases.tag_commit(&settings.tag).await {
        Ok(tagged) if tagged.eq_ignore_ascii_case(ours) => Ok(true),
        Ok(tagged) => Err(ReleaseError::TagAtOtherCommit {
            tag: settings.tag.clone(),
            tagged,
            run: ours.to_owned(),
        }),
        Err(ReleaseError::NoTag { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Why the run's provenance stays off the release, if it does: an
/// artifact it names failed its upload (`failed`), or is on the release
/// with other bytes than were signed, or that could not be told
/// (`other_bytes`, uploading bundles only).
fn provenance_held_back(
    sign: &SignReport,
    failed: &HashSet<&Path>,
    other_bytes: &Result<HashMap<&Path, NotAsSigned>, String>,
) -> Option<String> {
    let named = |path: &Path| text::line(crate::github::github_asset_name(&file_name(path)));
    // In the run's order, so the one named is the same each time.
    let first = |held: &dyn Fn(&Path) -> bool| {
        sign.artifacts
            .iter()
            .map(|a| a.path.as_path())
            .find(|p| held(p))
    };
    if let Some(path) = first(&|p| failed.contains(p)) {
        return Some(format!(
            "not uploaded: the upload of `{}`, an artifact it names, failed, and the release would pair it with whatever holds that name, or nothing; re-run once the artifact is up",
            named(path)
        ));
    }
    match other_bytes {
        Ok(found) => first(&|p| found.contains_key(p)).map(|path| match &found[path].unread {
            None => format!(
                "not uploaded: the release holds `{}`, an artifact it names, with other bytes than were signed (another build), so it would fail for that asset; fix: upload the signed file over it (--upload-artifacts with --overwrite; action inputs `upload-artifacts: true`, `overwrite: true`) or delete the asset, and re-run",
                named(path)
            ),
            Some(e) => format!(
                "not uploaded: the release's asset `{}`, an artifact it names, could not be read to tell whether it is the artifact signed ({e}); re-run",
                named(path)
            ),
        }),
        Err(e) => Some(format!(
            "not uploaded: the release's assets could not be listed to check those of the artifacts it names: {e}"
        )),
    }
}

/// Where this run uploads bundles only: the artifacts it signed (or kept)
/// whose name the release already holds with other bytes (another step's
/// upload, another build), each with that asset's name. A bundle beside
/// such an asset would not verify for it. Those not on the release come
/// second, by their asset names: another step may upload them before the
/// release is published, which waits for them (`artifacts_as_signed`).
async fn not_as_signed<'s>(
    releases: &Releases,
    release: &Release,
    sign: &'s SignReport,
    settings: &UploadSettings,
) -> Result<(Vec<NotAsSigned<'s>>, Vec<String>), ReleaseError> {
    if settings.upload_artifacts {
        return Ok((Vec::new(), Vec::new()));
    }
    let on_release = releases.assets(release).await?;
    let mut other = Vec::new();
    let mut absent = Vec::new();
    for a in &sign.artifacts {
        let (Outcome::Signed { sha256, .. } | Outcome::Reused { sha256, .. }) = &a.outcome else {
            continue;
        };
        let name = crate::github::github_asset_name(&artifact_name(a));
        let Some(asset) = on_release
            .iter()
            .find(|x| crate::github::same_asset_name(&x.name, &name))
        else {
            absent.push(name);
            continue;
        };
        // One asset that cannot be read (an upload another step left
        // broken, or still going on) fails its own artifact's bundle, not
        // every bundle of the run.
        let unread = match releases.asset_holds(release, asset, sha256).await {
            Ok(true) => continue,
            Ok(false) => None,
            // No request follows a spent rate limit.
            Err(e) if e.rate_limited() => return Err(e),
            Err(e) => Some(e),
        };
        other.push(NotAsSigned {
            artifact: a.path.as_path(),
            asset: asset.name.clone(),
            unread,
        });
    }
    Ok((other, absent))
}

/// An artifact the release holds, under its name, other bytes of, or bytes
/// that could not be read (`unread`).
struct NotAsSigned<'s> {
    artifact: &'s Path,
    asset: String,
    unread: Option<ReleaseError>,
}

/// Before a draft is published, where this run uploaded bundles only: an
/// asset named as each of its artifacts is there (the release is
/// published with its files, not bundles for files it lacks; regression:
/// it was published without them), and is the bytes signed (another step
/// may have uploaded one since the bundles went up), or the release pairs
/// it with a bundle that fails for it.
async fn artifacts_as_signed(
    releases: &Releases,
    release: &Release,
    sign: &SignReport,
    settings: &UploadSettings,
) -> Result<(), ReleaseError> {
    let (other, absent) = not_as_signed(releases, release, sign, settings).await?;
    match other.into_iter().next() {
        Some(NotAsSigned {
            unread: Some(e), ..
        }) => Err(e),
        Some(NotAsSigned { asset, .. }) => Err(ReleaseError::NotTheSignedArtifact {
            tag: release.tag.clone(),
            asset: text::line(asset),
        }),
        None => match absent.into_iter().next() {
            Some(asset) => Err(ReleaseError::ArtifactNotOnRelease {
                tag: release.tag.clone(),
                asset: text::line(&asset),
            }),
            None => Ok(()),
        },
    }
}

/// Every asset `checked` is still on the draft as it was checked, just
/// before it is published: another writer may have replaced one (GitHub
/// gives a new upload a new id) or removed one since, and a release is
/// published only as it was verified.
async fn still_as_checked<'a>(
    releases: &Releases,
    release: &Release,
    checked: impl IntoIterator<Item = &'a crate::github::UploadedAsset>,
) -> Result<(), ReleaseError> {
    let now = releases.assets(release).await?;
    for up in checked {
        let same = now
            .iter()
            .any(|a| a.api_url == up.api_url && a.name == up.name && a.size == up.size);
        if !same {
            return Err(ReleaseError::ChangedSinceChecked {
                tag: release.tag.clone(),
                asset: text::line(&up.name),
            });
        }
    }
    Ok(())
}

/// Refuse to publish `release` while its tag has another draft holding
/// assets. Jobs that each created a draft settle on the oldest they see
/// ([`settled_draft`]); where the listings of two of them both lagged, each
/// kept and filled its own, and publishing this one would leave the
/// other's assets off the release for good. An empty draft is another
/// job's that lost and is being deleted, or one left by a killed run: it
/// lacks nothing.
async fn the_only_filled_draft(releases: &Releases, release: &Release) -> Result<(), ReleaseError> {
    /// How many of them the error names.
    const NAMED: usize = 5;
    let mut filled = Vec::new();
    for other in releases.all_for_tag(&release.tag).await? {
        if !other.draft || other.id == release.id {
            continue;
        }
        match releases.assets(&other).await {
            Ok(assets) if assets.is_empty() => {}
            Ok(_) => filled.push(other),
            // Deleted since it was listed: the job that lost, done.
            Err(ReleaseError::Api {
                cause: crate::github::ApiFailure::Status { status: 404, .. },
                ..
            }) => {}
            Err(e) => return Err(e),
        }
    }
    if filled.is_empty() {
        return Ok(());
    }
    let drafts = filled
        .iter()
        .take(NAMED)
        .map(|r| text::line(text::echoed(&r.html_url)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ReleaseError::OtherDrafts {
        tag: release.tag.clone(),
        count: filled.len(),
        drafts,
    })
}

/// Refuse a draft left by a run at another commit, while its tag does not
/// exist (`tagged` false): publishing it would create the tag at that
/// commit, under assets this run signed at its own. Where the tag exists
/// (at this run's commit: [`tag_at_this_commit`]), it decides, whatever the
/// draft says; a draft aimed at a branch is aimed at this run's commit when
/// it is published.
fn at_this_commit(
    settings: &UploadSettings,
    draft: &Release,
    tagged: bool,
) -> Result<(), ReleaseError> {
    let Some(ours) = settings.target_commitish.as_deref() else {
        return Ok(());
    };
    let theirs = draft.target_commitish.as_str();
    if tagged || !crate::vocab::is_commit(theirs) || theirs.eq_ignore_ascii_case(ours) {
        return Ok(());
    }
    Err(ReleaseError::DraftAtOtherCommit {
        tag: settings.tag.clone(),
        draft: text::line(theirs),
        run: ours.to_owned(),
    })
}

/// The release and what its assets must verify as.
struct Landed<'a> {
    releases: &'a Releases,
    release: &'a Release,
    expected: &'a Expected,
}

impl Landed<'_> {
    /// Upload `q`'s file, only as it was checked: an artifact with the
    /// digest it was signed with; a bundle or the provenance as it verifies
    /// on disk now, for this run (the bytes the check read are the ones
    /// sent: [`Checked`]). A file changed since is never uploaded, so
    /// nothing unverified reaches a release, published or not.
    async fn upload(&self, q: &Queued<'_>, overwrite: bool) -> Result<UploadedAsset, ReleaseError> {
        let stored = crate::github::github_asset_name(&q.name);
        let (r, release, name, file) = (self.releases, self.release, q.name.as_str(), q.file);
        if let (AssetKind::Artifact, StandsFor::Artifact { sha256, size }) = (q.kind, q.stands_for)
        {
            // An artifact is only ever itself: identical content or nothing.
            let checked = Checked { sha256, size };
            let octets = "application/octet-stream";
            return r
                .upload_as(
                    release,
                    name,
                    file,
                    octets,
                    checked,
                    overwrite,
                    &identical_only,
                )
                .await;
        }
        let exactly = |bytes: &[u8]| match q.stands_for {
            StandsFor::Artifact { sha256, size } => {
                self.expected.check(&stored, bytes, sha256, size)
            }
            StandsFor::Provenance { subjects } => {
                self.expected.check_provenance(&stored, bytes, subjects)
            }
        };
        let equivalent = |bytes: &[u8]| match q.stands_for {
            StandsFor::Provenance { subjects } => {
                self.expected.provenance_standing(&stored, bytes, subjects)
            }
            StandsFor::Artifact { sha256, size } => {
                Standing::from_check(self.expected.check_on_release(&stored, bytes, sha256, size))
            }
        };
        let local = bundle_io::read_capped(file).map_err(|e| ReleaseError::NotValidHere {
            path: file.to_owned(),
            reason: e.to_string(),
        })?;
        exactly(&local).map_err(|reason| ReleaseError::NotValidHere {
            path: file.to_owned(),
            reason,
        })?;
        let sha256 = hex::encode(Sha256::digest(&local));
        let checked = Checked {
            sha256: &sha256,
            size: local.len() as u64,
        };
        r.upload(release, name, file, checked, overwrite, &equivalent)
            .await
    }

    /// Download the asset as a consumer would and verify it: a bundle with
    /// the run's policy, an artifact by the digest its verified bundle signs,
    /// the provenance for the run's subjects (its verified bytes returned).
    async fn check(
        &self,
        q: &Queued<'_>,
        asset: &UploadedAsset,
    ) -> Result<Option<bytes::Bytes>, CheckFailure> {
        let tag = &self.release.tag;
        let download = |e: ReleaseError| {
            if e.served_other_content() {
                CheckFailure::Bad(e.to_string())
            } else {
                CheckFailure::Unread(e.to_string())
            }
        };
        let (why, kept) = match (q.kind, q.stands_for) {
            (AssetKind::Artifact, StandsFor::Artifact { sha256, size }) => {
                let (got, got_size) = self
                    .releases
                    .download_sha256(asset, tag)
                    .await
                    .map_err(download)?;
                let why = (got != sha256 || got_size != size).then(|| {
                    format!(
                        "its SHA-256 is {got} ({got_size} bytes), not the signed {sha256} ({size} bytes)"
                    )
                });
                (why, None)
            }
            (_, StandsFor::Artifact { sha256, size }) => {
                let remote = self
                    .releases
                    .download_bundle(asset, tag)
                    .await
                    .map_err(download)?;
                (
                    self.expected
                        .check_on_release(&asset.name, &remote, sha256, size)
                        .err(),
                    None,
                )
            }
            (_, StandsFor::Provenance { subjects }) => {
                let remote = self
                    .releases
                    .download_capped(asset, tag, crate::verify::provenance::MAX_FILE_BYTES)
                    .await
                    .map_err(download)?;
                match self
                    .expected
                    .check_provenance_at(true, &asset.name, &remote, subjects)
                {
                    Ok(()) => (None, Some(remote)),
                    Err(why) => (Some(why), None),
                }
            }
        };
        match why {
            None => Ok(kept),
            Some(why) => Err(CheckFailure::Bad(format!(
                "asset `{}` on release {tag} does not verify after upload ({why})",
                asset.name
            ))),
        }
    }

    /// A bad asset on a draft is deleted (nobody has seen it yet); on a
    /// published release it is reported for the user to delete.
    async fn discard(&self, asset: &UploadedAsset, error: String) -> String {
        if !self.release.draft {
            return format!("{error}: delete the asset and re-run");
        }
        match self.releases.delete_asset(self.release, asset).await {
            Ok(()) => format!("{error}: it was deleted from the draft, which stays unpublished; re-run to upload it again"),
            Err(e) => format!("{error}; deleting it from the draft failed too ({e}): delete it by hand"),
        }
    }
}

/// Why an asset on the release did not check out.
enum CheckFailure {
    /// What the release serves under its name is not what was checked
    /// locally: on a draft, it is deleted.
    Bad(String),
    /// It could not be downloaded (GitHub failing, a redirect that cannot
    /// be followed): nothing is known of it, so it is left as it is.
    Unread(String),
}

/// The size from which GitHub refuses a release asset: "each file included
/// in a release must be under 2 GiB".
pub(crate) const MAX_ASSET_BYTES: u64 = 2 << 30;

/// The most assets GitHub keeps on one release; it refuses an upload past them.
pub(crate) const MAX_RELEASE_ASSETS: usize = 1000;

/// The first two of `files` (each a local file and the name it is
/// uploaded under: [`upload_names`]) that would be one release asset, and
/// its name, as GitHub renames it.
pub(crate) fn same_asset<'p>(
    files: impl IntoIterator<Item = (&'p PathBuf, String)>,
) -> Option<(PathBuf, PathBuf, String)> {
    let mut named: std::collections::HashMap<String, &PathBuf> = Default::default();
    for (path, name) in files {
        let asset = crate::github::github_asset_name(&name);
        if let Some(first) = named.get(&asset) {
            return Some(((*first).clone(), path.clone(), asset));
        }
        named.insert(asset, path);
    }
    None
}

/// The first of `files` ([`upload_names`]) whose asset name is one a
/// replacement takes while it goes up ([`crate::github::assets::REPLACEMENT_SUFFIX`]),
/// with that name and the asset's it would stand beside. Regression: such
/// an asset was deleted by the next upload of that asset as a replacement
/// left behind, from a published release too.
pub(crate) fn reserved_name(files: &[(&PathBuf, String)]) -> Option<(PathBuf, String, String)> {
    files.iter().find_map(|(path, name)| {
        let asset = crate::github::github_asset_name(name);
        let replaced = asset
            .strip_suffix(crate::github::assets::REPLACEMENT_SUFFIX)?
            .to_owned();
        Some(((*path).clone(), asset, replaced))
    })
}

/// Every file a run of `artifacts` (each its path and its bundle's) and
/// `provenance` may upload, with the name it is uploaded under: an artifact
/// by its file name, its bundle as `<that>.sigstore.json` (wherever the
/// bundle is), the provenance by its file name. An artifact whose name
/// GitHub renames onto another's bundle's (`a.tgz.sigstore json`) meets
/// it here.
pub(crate) fn upload_names<'p>(
    artifacts: impl IntoIterator<Item = (&'p PathBuf, &'p PathBuf)>,
    provenance: Option<&'p PathBuf>,
) -> Vec<(&'p PathBuf, String)> {
    let mut names = Vec::new();
    for (path, bundle) in artifacts {
        names.push((path, file_name(path)));
        names.push((bundle, format!("{}.sigstore.json", file_name(path))));
    }
    names.extend(provenance.map(|p| (p, file_name(p))));
    names
}

/// The name of the bundle of the artifact at `path`, as it is uploaded.
fn bundle_name(path: &Path) -> String {
    format!("{}.sigstore.json", file_name(path))
}

/// The artifact's file name, as its asset is named.
fn artifact_name(a: &ArtifactReport) -> String {
    file_name(&a.path)
}

/// The name a file is uploaded under (before GitHub renames it): its file
/// name, whatever its directory.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each job keeps the oldest draft, its own counted even when the
    /// listing does not show it yet.
    #[test]
    fn jobs_settle_on_the_oldest_draft_whatever_the_listing_shows() {
        // Job A made 1; its listing lags and shows only job B's 2.
        assert_eq!(settled_draft(&[2], 1), 1);
        // Job B made 2 and sees both, or only its own, or neither yet.
        assert_eq!(settled_draft(&[1, 2], 2), 1);
        assert_eq!(settled_draft(&[2, 1], 2), 1);
        assert_eq!(settled_draft(&[], 2), 2);
    }
    use sigstore_types::Subject;

    #[test]
    fn two_files_one_asset_are_told() {
        let paths = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        let bundles = |paths: &[PathBuf]| -> Vec<PathBuf> {
            paths
                .iter()
                .map(|p| PathBuf::from(format!("{}.sigstore.json", p.display())))
                .collect()
        };
        let same = |files: &[&str]| {
            let artifacts = paths(files);
            let bundles = bundles(&artifacts);
            same_asset(upload_names(artifacts.iter().zip(&bundles), None))
        };
        assert_eq!(same(&["dist/a.tgz", "dist/b.tgz", "c"]), None);
        for (files, asset) in [
            (&["dist/linux/tool", "dist/mac/tool"][..], "tool"),
            (&["x/a b.tgz", "y/a.b.tgz"], "a.b.tgz"),
            (&["ä.bin", "x/a.bin"], "a.bin"),
            (&["か.bin", "x/..bin"], "default.bin"),
        ] {
            let (first, second, named) = same(files).unwrap();
            assert_eq!(
                (first, second, named.as_str()),
                (PathBuf::from(files[0]), PathBuf::from(files[1]), asset)
            );
        }
        // An artifact GitHub would rename onto another's bundle asset.
        // Regression: only artifacts were compared, and with --overwrite
        // the verified bundle was deleted for the other artifact.
        let (first, second, named) = same(&["d/a.tgz", "d/a.tgz.sigstore json"]).unwrap();
        assert_eq!(
            (first, second, named.as_str()),
            (
                PathBuf::from("d/a.tgz.sigstore.json"),
                PathBuf::from("d/a.tgz.sigstore json"),
                "a.tgz.sigstore.json"
            )
        );
    }

    fn subject(name: &str, hex: &str) -> SubjectReport {
        SubjectReport {
            name: name.into(),
            sha256: hex.into(),
        }
    }

    fn statement(subjects: &[(&str, &str)], predicate_type: &str) -> Statement {
        let subject = subjects
            .iter()
            .map(|(n, h)| Subject::new(*n, Sha256Hash::from_hex(h).unwrap().into()))
            .collect();
        Statement::new(subject, predicate_type, serde_json::json!({}))
    }

    /// Exactly the run's subjects, in any order; anything missing, added,
    /// renamed, re-digested or repeated is another statement.
    #[test]
    fn a_provenance_stands_for_exactly_the_runs_subjects() {
        let (a, b, c) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        let ours = [subject("a.tgz", &a), subject("b.zip", &b)];
        let slsa = crate::provenance::SLSA_PROVENANCE_V1;
        let same = statement(&[("b.zip", &b), ("a.tgz", &a)], slsa);
        assert_eq!(same_statement(&same, &ours), Ok(()));
        for (other, why) in [
            (statement(&[("a.tgz", &a)], slsa), "missing: [b.zip"),
            (
                statement(&[("a.tgz", &a), ("b.zip", &b), ("c", &c)], slsa),
                "not this run's: [c (",
            ),
            (
                statement(&[("a.tgz", &a), ("b.zip", &c)], slsa),
                "not this run's: [b.zip (cccc",
            ),
            (
                statement(&[("a.tgz", &a), ("b.zip", &b), ("a.tgz", &a)], slsa),
                "other subjects",
            ),
            (
                statement(&[("a.tgz", &a), ("b.zip", &b)], "https://spdx.dev/Document"),
                "its predicate type is `https://spdx.dev/Document`",
            ),
        ] {
            let e = same_statement(&other, &ours).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        // Many strangers: a few named, the rest counted.
        let names: Vec<String> = (0..7).map(|i| format!("x{i}")).collect();
        let mut many: Vec<(&str, &str)> = vec![("a.tgz", &a), ("b.zip", &b)];
        many.extend(names.iter().map(|n| (n.as_str(), c.as_str())));
        let e = same_statement(&statement(&many, slsa), &ours).unwrap_err();
        assert!(e.contains("x4 (") && e.contains("and 2 more]"), "{e}");
        assert!(!e.contains("x5"), "{e}");
    }
}
