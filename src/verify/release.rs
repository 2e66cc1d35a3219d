//! `verify --release OWNER/REPO@TAG`: a release's assets verified in place.
//!
//! Owns requiring each asset to be signed at the release tag's commit (unless
//! `--allow-other-commits`), pairing a release's assets (`<asset>` with `<asset>.sigstore.json`),
//! refusing a name the release lists twice, the `--pattern` filter,
//! concurrency (at most `--jobs` assets in flight, results in the release's
//! order), and the per-asset order: the bundle is downloaded (capped) and
//! parsed first, then the asset is streamed through SHA-256 without being
//! written anywhere, then checked like a local file ([`super::check_bundle`]).
//! Nothing is cloned and no login is needed for a public repository.
//!
//! With `--download DIR` it also owns what lands in DIR: only an asset whose
//! name is a plain file name (the server's names never choose where we
//! write), streamed into a new temporary file of its own in DIR (a name no
//! asset can have, created exclusively) and moved to `DIR/<name>` only once
//! it verified, its bundle written next to it; on any failure the temporary
//! file is removed and nothing of that asset is left. A file already at
//! either name fails the asset and is left as it was unless `--overwrite`
//! (the move itself never replaces one: no check-then-rename race). A
//! provenance file of the release with a verified statement lands whole
//! beside the assets it alone vouched for, and the run prints the command
//! (with the run's trust flags) that verifies them there.
//!
//! Build provenance on the release (`*.intoto.jsonl` assets, several for a
//! matrix of jobs) is used when present: each file is downloaded (capped as
//! a bundle is), each statement verified once with the run's policy (the
//! tag's commit included) and predicate type ([`super::provenance`]), and
//! then every artifact asset must also be a subject of a verified
//! statement, matched by the SHA-256 it was streamed through; its line says
//! which statement named it. An asset without a bundle is then verified by
//! the provenance alone. Provenance files are not artifacts: they are never
//! listed as unsigned. A `.intoto.jsonl` asset with a bundle asset of its
//! own is an artifact, verified by that bundle, as it is locally.
//!
//! It talks to GitHub only through [`crate::github`] and prints nothing.

use std::path::{Path, PathBuf};

use super::cache::CachingVerifier;
use futures::StreamExt as _;
use sigstore_types::Sha256Hash;

use super::policy::{Policy, SourceCommit};
use super::provenance::{self, Checked, Digests};
use super::settings::ReleaseSource;
use super::{Failure, Verified, VerifyError};
use super::{VerifyArtifactReport, VerifyOutcome};
use crate::atomic_file::{AtomicError, Temporary, WriteDir};
use crate::bundle_io::BUNDLE_SUFFIX;
use crate::github::{Release, Releases, UploadedAsset};
use crate::net::RetryPolicy;

/// The release's assets, verified (in the release's order) or listed unsigned.
pub struct ReleaseResults {
    pub artifacts: Vec<VerifyArtifactReport>,
    pub unsigned: Vec<PathBuf>,
    /// The tag's commit every asset was required to be signed at (none
    /// with `--allow-other-commits`).
    pub source_commit: Option<SourceCommit>,
    /// What the release's provenance files said beyond the assets' lines.
    pub warnings: Vec<String>,
}

/// Whether the release's repository is private, asked with the source's
/// token (anonymously a private repository is invisible, and never asked).
pub(crate) async fn is_private(source: &ReleaseSource) -> Result<bool, VerifyError> {
    Ok(client(source)?.is_private(&source.tag).await?)
}

/// The release client for `source`, with its token if it has one.
fn client(source: &ReleaseSource) -> Result<Releases, VerifyError> {
    Ok(Releases::with_token(
        &source.api_url,
        source.repo.clone(),
        source.token.as_ref(),
        RetryPolicy::default(),
    )?
    .for_reading())
}

/// Verify every (matching) asset of the release that has a bundle.
/// `public`: the repository is public (or not known to be private), so a
/// published release's assets are downloaded as anyone downloads them.
/// `trust_flags`: the `verify` flags choosing the trust the run used (and
/// a predicate type other than SLSA v1's), for the commands it prints.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    source: &ReleaseSource,
    public: bool,
    verifier: &CachingVerifier,
    policy: &Policy,
    predicate_type: &str,
    jobs: std::num::NonZeroUsize,
    trust_flags: &[String],
    require_all: bool,
) -> Result<ReleaseResults, VerifyError> {
    // 1. The release and its assets: one listing, no clone, token optional.
    //    Where the assets go is checked before anything is asked.
    if let Some(dir) = &source.download {
        crate::plan::check_download_dir(dir)
            .map_err(|e| VerifyError::Targets(super::targets::TargetError::Plan(e)))?;
    }
    let releases = client(source)?;
    let release = releases.find(&source.tag).await?;
    // With a token, every download through the API counts against its
    // hourly budget (1,000 requests for a job's GITHUB_TOKEN): a release
    // of 500 assets and bundles ran out of it. A published release of a
    // public repository is downloaded from its public links instead; not
    // on an Enterprise Server, whose links may want a signed-in session
    // (private mode) where its API takes the token.
    let releases = releases.with_public_downloads(
        public && !release.draft && !crate::github::is_enterprise_server(&source.api_url),
    );
    // 2. The tag's commit: an asset signed by another run of the
    //    repository's workflow (an older release's, re-uploaded here) is
    //    valid, but not this release's. A release built in another
    //    repository (the signer's repository claim names it) was signed at
    //    a commit of that one, which the tag's cannot be compared with.
    let built_elsewhere =
        super::policy::pinned(&policy.github, super::policy::GitHubClaim::Repository)
            .filter(|repo| !repo.eq_ignore_ascii_case(&source.repo.to_string()));
    let source_commit = if source.allow_other_commits || built_elsewhere.is_some() {
        None
    } else {
        let sha = releases
            .tag_commit(&release.tag)
            .await
            .map_err(|e| match e {
                crate::github::ReleaseError::NoTag { repo, tag } => VerifyError::NoTag {
                    repo: repo.to_string(),
                    tag,
                },
                e => e.into(),
            })?;
        Some(SourceCommit {
            tag: release.tag.clone(),
            sha,
        })
    };
    let policy = &Policy {
        source_commit: source_commit.clone(),
        ..policy.clone()
    };
    let assets = releases.assets(&release).await?;
    // A name longer than a file's may be is no release asset (GitHub names
    // one after the file uploaded): no file could hold it, nor its bundle.
    // Set apart here, so that no message below repeats a name as long as
    // the server cares to make it.
    let (assets, overlong): (Vec<_>, Vec<_>) = assets
        .into_iter()
        .partition(|a| a.name.len() <= crate::files::MAX_NAME_BYTES);
    // Whether `--pattern` (if given) keeps an asset of this name.
    let in_pattern = |name: &str| source.pattern.as_ref().is_none_or(|p| p.matches(name));
    let download = match &source.download {
        Some(dir) => Some(Download::prepare(dir, source.overwrite)?),
        None => None,
    };

    // 3. The release's build provenance, each statement verified once.
    //    A `.intoto.jsonl` with a bundle of its own was signed as an
    //    artifact (a bare DSSE file another generator wrote, signed with
    //    the rest of its directory): it is verified as one, as it is
    //    locally, not read as the release's provenance.
    let has_bundle = |a: &UploadedAsset| with_bundle(&assets, a);
    let is_provenance =
        |a: &UploadedAsset| a.name.ends_with(crate::provenance::EXTENSION) && !has_bundle(a);
    let mut warnings = Vec::new();
    if let Some(builder) = built_elsewhere {
        warnings.push(format!(
            "the signer's repository is {builder}, not {}: its assets are not held to tag {}'s commit (a commit of {}); pin the build's commit with --cert-github-workflow-sha",
            source.repo, source.tag, source.repo
        ));
    }
    let mut checked: Option<Checked> = None;
    let provenance_said = warnings.len();
    // The release, as a run-ending error names it.
    let shown_release = || crate::text::line(format!("{}@{}", source.repo, source.tag));
    // The files with a verified statement, kept for --download.
    let mut vouching: Vec<(&str, bytes::Bytes)> = Vec::new();
    for file in assets.iter().filter(|a| is_provenance(a)) {
        let (one, bytes) =
            check_provenance(&releases, &release, file, verifier, policy, predicate_type).await;
        // Read, but of another format: not this release's Sigstore
        // provenance, so not held against its assets.
        if bytes.as_ref().is_some_and(|b| {
            one.unusable.is_empty() && !provenance::holds_a_bundle(Path::new(&file.name), b)
        }) {
            warnings.push(format!(
                "{}: no line is a Sigstore bundle (a bare DSSE envelope, as slsa-github-generator writes, or another format), so it is not checked, nor are the assets held to it",
                crate::text::line(&file.name)
            ));
            continue;
        }
        // Sigstore attestations of another kind only (an SBOM's, as
        // GitHub's attest-sbom writes): not the provenance the assets are
        // held to, unless that kind was asked for by name.
        if predicate_type == crate::provenance::SLSA_PROVENANCE_V1 && one.of_another_kind() {
            warnings.push(format!(
                "{}: its statements are of another predicate type than {predicate_type} (an SBOM's, say), so it is not the release's provenance, nor are the assets held to it",
                crate::text::line(&file.name)
            ));
            continue;
        }
        if let Some(bytes) = bytes.filter(|_| one.statements.iter().any(|l| l.result.is_ok())) {
            vouching.push((&file.name, bytes));
        }
        warnings.push(format!(
            "{}: {} statement(s) verified; every asset must be a subject of one",
            file.name,
            one.statements.iter().filter(|l| l.result.is_ok()).count()
        ));
        warnings.extend(one.failures());
        checked.get_or_insert_with(Checked::default).extend(one);
    }
    let checked = checked.as_ref();
    // Asked for by type, a provenance the release lacks (none, or only
    // files set aside) is not passed over in silence: every asset would
    // pass by its bundle alone. Statements read and refused already fail
    // the assets they are held against.
    if source.provenance_required && checked.is_none() {
        return Err(VerifyError::NoProvenanceOfType {
            release: shown_release(),
            predicate_type: crate::text::line(crate::text::echoed(predicate_type)),
            found: crate::text::capped(
                &instead_of_provenance(&assets, &warnings[provenance_said..]),
                crate::text::MESSAGE_CHARS,
            ),
        });
    }
    if let Some(download) = &download {
        download.vouched_for_by(&vouching);
    }

    // 4. Pair each artifact asset with its bundle asset.
    let is_bundle = |a: &UploadedAsset| a.name.ends_with(BUNDLE_SUFFIX) || is_provenance(a);
    let listed_twice = |name: &str| assets.iter().filter(|a| a.name == name).nth(1).is_some();
    // Where names fold case and Unicode form (macOS, Windows), two names
    // that differ only so are one file in DIR: whichever landed last would
    // hold the other's bytes. Refused on every platform, so a release
    // downloads alike everywhere.
    // Only what this run would write counts: an asset `--pattern` keeps
    // that has a bundle, or that a verified statement may vouch for (by
    // the digest GitHub lists; any asset, where it lists none). An
    // unsigned one is never written.
    let written = |a: &UploadedAsset| {
        checked.is_some_and(|c| c.may_vouch_for(a.listed_digest.as_deref(), a.size))
            || has_bundle(a)
    };
    let mut by_folded: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    if download.is_some() {
        let wanted = assets
            .iter()
            .filter(|a| !is_bundle(a) && in_pattern(&a.name) && written(a));
        for a in wanted {
            for name in [a.name.clone(), format!("{}{BUNDLE_SUFFIX}", a.name)] {
                let names = by_folded
                    .entry(crate::files::folded_name(&name))
                    .or_default();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    let folds_onto = |name: &str| -> Option<String> {
        by_folded
            .get(&crate::files::folded_name(name))?
            .iter()
            .find(|other| *other != name)
            .cloned()
    };
    let mut slots: Vec<Slot> = overlong
        .iter()
        .filter(|a| in_pattern(&a.name))
        .map(|a| {
            let shown = crate::text::capped(&a.name, SHOWN_NAME_CHARS);
            Slot::Done(VerifyArtifactReport {
                path: PathBuf::from(&shown),
                bundle: PathBuf::from(format!("{shown}{BUNDLE_SUFFIX}")),
                outcome: VerifyOutcome::failed(AssetFailure::NameTooLong(a.name.len())),
            })
        })
        .collect();
    let mut unsigned = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for asset in assets.iter().filter(|a| !is_bundle(a)) {
        if !in_pattern(&asset.name) {
            continue;
        }
        if !seen.insert(asset.name.as_str()) {
            continue; // listed twice: reported once, below
        }
        let bundle_name = format!("{}{BUNDLE_SUFFIX}", asset.name);
        let failed = |failure: AssetFailure| {
            Slot::Done(VerifyArtifactReport {
                path: PathBuf::from(&asset.name),
                bundle: PathBuf::from(&bundle_name),
                outcome: VerifyOutcome::failed(failure),
            })
        };
        // GitHub keeps one asset per name: two are a lie, and neither is
        // the release's.
        if let Some(twice) = [&asset.name, &bundle_name]
            .into_iter()
            .find(|n| listed_twice(n))
        {
            slots.push(failed(AssetFailure::ListedTwice(twice.clone())));
            continue;
        }
        // Only an asset that is written can collide (an unsigned one is not).
        if let Some((name, other)) = [&asset.name, &bundle_name]
            .into_iter()
            .filter(|_| written(asset))
            .find_map(|n| folds_onto(n).map(|other| (n.clone(), other)))
        {
            slots.push(failed(AssetFailure::NamesFold { name, other }));
            continue;
        }
        let Some(bundle) = assets.iter().find(|a| a.name == bundle_name) else {
            // Its name is judged as a file's only if a statement vouches
            // for it (`verify_asset`): until then it may be unsigned, and an
            // unsigned asset is never written.
            if checked.is_some() {
                slots.push(Slot::ProvenanceOnly(asset));
            } else if require_all {
                slots.push(Slot::Done(VerifyArtifactReport {
                    path: PathBuf::from(&asset.name),
                    bundle: PathBuf::from(&bundle_name),
                    outcome: VerifyOutcome::failed(format!(
                        "Unsigned: the release has no {bundle_name} (--require-all)"
                    )),
                }));
            } else {
                unsigned.push(PathBuf::from(&asset.name));
            }
            continue;
        };
        // Names come from the server: only a plain file name becomes a path
        // (the bundle's is the same name and a suffix).
        if download.is_some() && !crate::files::portable_name(&asset.name) {
            slots.push(failed(AssetFailure::UnsafeName(asset.name.clone())));
            continue;
        }
        slots.push(Slot::Pair(asset, bundle));
    }
    // 5. Verify at most `jobs` assets at a time, in the release's order; each
    //    streams, so memory stays flat whatever the assets' sizes.
    let releases = &releases;
    let release = &release;
    let download = download.as_ref();
    // Assets verified by a provenance file alone: (that file, the asset).
    let provenance_alone = &std::sync::Mutex::new(Vec::<(PathBuf, String)>::new());
    // The asset at which GitHub's API budget ran out until later than a
    // retry waits: no asset is asked for after it (each would be refused
    // too, and GitHub may block a caller that keeps asking).
    let limited = &std::sync::OnceLock::<String>::new();
    let done: Vec<Result<VerifyArtifactReport, PathBuf>> = futures::stream::iter(slots)
        .map(|slot| async move {
            let (asset, bundle) = match slot {
                Slot::Done(report) => return Ok(report),
                Slot::Pair(asset, bundle) => (asset, Some(bundle)),
                Slot::ProvenanceOnly(asset) => (asset, None),
            };
            let bundle_name = format!("{}{BUNDLE_SUFFIX}", asset.name);
            let report = |outcome| VerifyArtifactReport {
                path: PathBuf::from(&asset.name),
                bundle: PathBuf::from(bundle.map_or(bundle_name.clone(), |b| b.name.clone())),
                outcome,
            };
            if let Some(at) = limited.get() {
                return Ok(report(VerifyOutcome::failed(format!(
                    "not checked: {}; re-run then",
                    crate::github::ReleaseError::rate_limit_spent_at(at)
                ))));
            }
            let outcome = match verify_asset(
                releases, release, asset, bundle, checked, download, verifier, policy,
            )
            .await
            {
                Ok(v) => {
                    if let (None, Some(m)) = (bundle, v.provenance()) {
                        provenance_alone
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((m.file.clone(), asset.name.clone()));
                    }
                    VerifyOutcome::Verified(v)
                }
                // No bundle, no statement names it, and a provenance file
                // of the release could not be read: whether it vouches for
                // this asset is not known, so it is not called unsigned.
                Err(AssetFailure::Verify(Failure::NotInProvenance {
                    named_by_refused: false,
                    named_by_verified: None,
                    ..
                })) if bundle.is_none() && checked.is_some_and(|c| !c.unusable.is_empty()) => {
                    VerifyOutcome::failed(format!(
                        "not checked: the release has no {bundle_name}, and its provenance could not all be read, so whether a statement names this asset is not known ({})",
                        checked
                            .map(|c| crate::text::capped(
                                &c.unusable.join("; "),
                                crate::text::MESSAGE_CHARS
                            ))
                            .unwrap_or_default()
                    ))
                }
                // No bundle and no statement names it: unsigned, as without
                // provenance. One that a refused statement names fails (an
                // asset re-uploaded with another commit's provenance, say),
                // as it would with a refused bundle; so does one a verified
                // statement names with other bytes (an asset replaced).
                Err(AssetFailure::Verify(Failure::NotInProvenance {
                    named_by_refused: false,
                    named_by_verified: None,
                    ..
                })) if bundle.is_none() && !require_all => {
                    return Err(PathBuf::from(&asset.name));
                }
                Err(AssetFailure::Verify(e @ Failure::NotInProvenance { .. }))
                    if bundle.is_none() && require_all =>
                {
                    VerifyOutcome::failed(format!(
                        "Unsigned: the release has no {bundle_name} (--require-all), and {e}"
                    ))
                }
                Err(e) => {
                    if matches!(&e, AssetFailure::Release(r) if r.rate_limited()) {
                        limited.get_or_init(|| format!("`{}`", crate::text::line(&asset.name)));
                    }
                    VerifyOutcome::failed(e)
                }
            };
            Ok(report(outcome))
        })
        .buffered(jobs.get())
        .collect()
        .await;
    let mut artifacts = Vec::new();
    for d in done {
        match d {
            Ok(report) => artifacts.push(report),
            Err(name) => unsigned.push(name),
        }
    }
    // 6. Assets written to DIR on a provenance file's word alone have no
    //    bundle there: that file goes with them, and the run says how to
    //    verify them there again, offline, each file with its own assets.
    if let Some(download) = download {
        let alone =
            std::mem::take(&mut *provenance_alone.lock().unwrap_or_else(|p| p.into_inner()));
        for (name, _) in &vouching {
            let theirs: Vec<&str> = alone
                .iter()
                .filter(|(file, _)| file.as_os_str() == std::ffi::OsStr::new(name))
                .map(|(_, asset)| asset.as_str())
                .collect();
            if theirs.is_empty() {
                continue;
            }
            warnings.push(format!(
                "{name} written to {} with the {} asset(s) it alone vouches for: verify them there with `{}`",
                download.dir.display(),
                theirs.len(),
                download.verify_command(&theirs, name, trust_flags, policy)
            ));
        }
    }
    // 7. A bundle whose artifact is not on the release vouches for nothing
    //    a consumer can download: say so.
    for bundle in assets.iter().filter(|a| a.name.ends_with(BUNDLE_SUFFIX)) {
        let artifact = &bundle.name[..bundle.name.len() - BUNDLE_SUFFIX.len()];
        if in_pattern(artifact) && !assets.iter().any(|a| a.name == artifact) {
            artifacts.push(VerifyArtifactReport {
                path: PathBuf::from(artifact),
                bundle: PathBuf::from(&bundle.name),
                outcome: VerifyOutcome::failed(format!(
                    "Artifact not found: the release has {} but no {artifact}",
                    bundle.name
                )),
            });
        }
    }
    // Nothing to verify is said as such, not as "Verified 0 of 0": a
    // pattern is blamed only where there were assets for it to match; a
    // release of unsigned assets only is named so (as a directory without
    // a bundle is).
    if artifacts.is_empty() {
        let release = shown_release();
        let candidates = assets.iter().filter(|a| !is_bundle(a)).count();
        return Err(match &source.pattern {
            _ if !unsigned.is_empty() => VerifyError::NoSignedAssets {
                release,
                count: unsigned.len(),
                names: crate::text::first_of(
                    unsigned
                        .iter()
                        .map(|p| crate::text::line(crate::text::capped(&p.to_string_lossy(), 200))),
                    5,
                ),
            },
            Some(p) if candidates > 0 => VerifyError::NoAssetMatches {
                pattern: crate::text::line(p.as_str()),
                release,
                listed: assets.len(),
            },
            _ => VerifyError::NoAssets { release },
        });
    }
    Ok(ReleaseResults {
        artifacts,
        unsigned,
        source_commit,
        warnings,
    })
}

/// Whether the release lists a bundle asset for `a`.
fn with_bundle(assets: &[UploadedAsset], a: &UploadedAsset) -> bool {
    assets
        .iter()
        .any(|b| b.name.strip_suffix(BUNDLE_SUFFIX) == Some(&a.name))
}

/// What a release holds instead of the provenance asked for: no
/// `*.intoto.jsonl` asset, the ones set aside (`set_aside`: why each), or
/// ones with bundles of their own, which are artifacts.
fn instead_of_provenance(assets: &[UploadedAsset], set_aside: &[String]) -> String {
    let signed: Vec<String> = assets
        .iter()
        .filter(|a| a.name.ends_with(crate::provenance::EXTENSION) && with_bundle(assets, a))
        .map(|a| format!("`{}`", crate::text::line(&a.name)))
        .collect();
    let mut said = set_aside.to_vec();
    if !signed.is_empty() {
        said.push(format!(
            "{} signed as artifacts (with bundles of their own), so verified as such",
            crate::text::first_of(signed, 5)
        ));
    }
    if said.is_empty() {
        return "it has no `*.intoto.jsonl` asset".to_owned();
    }
    said.join("; ")
}

/// One `.intoto.jsonl` asset's statements, each verified, and its bytes; a
/// file that cannot be downloaded or read is recorded as unusable, not the
/// run's failure.
async fn check_provenance(
    releases: &Releases,
    release: &Release,
    file: &UploadedAsset,
    verifier: &CachingVerifier,
    policy: &Policy,
    predicate_type: &str,
) -> (Checked, Option<bytes::Bytes>) {
    let name = Path::new(&file.name);
    let unusable = |why: String| Checked {
        statements: Vec::new(),
        unusable: vec![format!("{}: {why}", file.name)],
    };
    let bytes = match releases
        .download_capped(file, &release.tag, provenance::MAX_FILE_BYTES)
        .await
    {
        Ok(b) => b,
        Err(e) => return (unusable(e.to_string()), None),
    };
    let checked = match provenance::split_lines(name, &bytes) {
        Ok(lines) => provenance::check_all(verifier, policy, predicate_type, name, lines),
        Err(e) => unusable(e.to_string()),
    };
    (checked, Some(bytes))
}

/// One artifact asset: already decided, or to verify against its bundle
/// (and the provenance, when the release has some), or against the
/// provenance alone.
enum Slot<'a> {
    Done(VerifyArtifactReport),
    Pair(&'a UploadedAsset, &'a UploadedAsset),
    ProvenanceOnly(&'a UploadedAsset),
}

/// How much of a name too long for a file a report shows.
const SHOWN_NAME_CHARS: usize = 100;

/// Why one asset could not be checked, or did not verify.
#[derive(Debug, thiserror::Error)]
enum AssetFailure {
    #[error("the release lists an asset whose name is {0} bytes long (shown cut short), longer than any file's name may be ({max} bytes), so it is no file's and is not checked: check the release (or GITHUB_API_URL)", max = crate::files::MAX_NAME_BYTES)]
    NameTooLong(usize),
    #[error(transparent)]
    Release(#[from] crate::github::ReleaseError),
    #[error(transparent)]
    Verify(#[from] Failure),
    #[error("the release lists `{0}` more than once, which GitHub never does (one asset per name), so neither is verified: check the release (or GITHUB_API_URL)")]
    ListedTwice(String),
    #[error("the asset names `{name}` and `{other}` differ only in case or Unicode form, so they are one file in --download's directory on macOS and Windows, and neither is written: download each with --pattern into its own directory, or check the release")]
    NamesFold { name: String, other: String },
    #[error("the asset names `{name}` and `{other}` differ only in case or Unicode form, so they are one file in --download's directory on macOS and Windows; `{other}` was written there, and `{name}` is not: download it with --pattern into its own directory, or check the release")]
    NamesFoldWritten { name: String, other: String },
    #[error("{} is a directory, so the asset (and its bundle) are not written; fix: move it away, or --download into another directory", .0.display())]
    DirectoryInTheWay(PathBuf),
    #[error("the asset name `{0}` is not a plain file name (it is empty, holds a path, a control character, a character that shows nothing or turns the text around it (a bidi override, a zero-width or line separator), or one of : * ? \" < > |, starts or ends with a dot or a space, or is a Windows device name or shaped like a short 8.3 name; GitHub lists no such name), so it is not written to --download: check the release")]
    UnsafeName(String),
    #[error("{} already exists: pass --overwrite to replace it, or --download another directory", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {} into --download: {source}", path.display())]
    Write { path: PathBuf, source: AtomicError },
    #[error(transparent)]
    WriteBundle(crate::bundle_io::BundleIoError),
    #[error("cannot write {} into --download ({why}); fix: free space there, or --download another directory", path.display())]
    WriteDownload { path: PathBuf, why: String },
    #[error("it is verified only by the provenance file {name}, which cannot be written beside it ({why}), so it is not written to --download either")]
    ProvenanceNotKept { name: String, why: String },
}

#[allow(clippy::too_many_arguments)]
async fn verify_asset(
    releases: &Releases,
    release: &Release,
    asset: &UploadedAsset,
    bundle: Option<&UploadedAsset>,
    provenance: Option<&Checked>,
    download: Option<&Download<'_>>,
    verifier: &CachingVerifier,
    policy: &Policy,
) -> Result<Verified, AssetFailure> {
    if let (Some(download), Some(bundle)) = (download, bundle) {
        // Before any byte is fetched: a file there stays unless --overwrite.
        download.refuse_existing(&asset.name)?;
        download.refuse_existing(&bundle.name)?;
    }
    // The bundle first: a broken one fails before a large asset is streamed.
    let bundle = match bundle {
        Some(b) => {
            let json = releases.download_bundle(b, &release.tag).await?;
            let parsed = super::parse_bundle(Path::new(&b.name), &json)?;
            Some((b, json, parsed))
        }
        None => None,
    };
    let check = |(sha256, size): (String, u64)| -> Result<Verified, Failure> {
        let digest = Sha256Hash::from_hex(&sha256)
            .map_err(|e| Failure::BundleInvalid(format!("digest: {e}")))?;
        let digests = Digests::sha256_only(digest, size);
        let verified = match &bundle {
            Some((_, _, parsed)) => Some(super::check_bundle(
                verifier,
                policy,
                parsed,
                digest,
                Some(size),
            )?),
            None => None,
        };
        match provenance {
            Some(checked) => match checked.find(&digests) {
                Some((statement, found)) => Ok(match verified {
                    Some(v) => v.with_provenance(found),
                    None => Verified::from_statement(statement, found, &digests),
                }),
                None => Err(checked.not_found(&digests, &asset.name)),
            },
            None => {
                verified.ok_or_else(|| Failure::BundleInvalid("no bundle and no provenance".into()))
            }
        }
    };
    let Some(download) = download else {
        return Ok(check(releases.download_sha256(asset, &release.tag).await?)?);
    };
    // Into a file of our own, removed on any failure (when `partial` drops)...
    let partial = download.partial(&asset.name)?;
    let streamed = releases
        .download_sha256_to(asset, &release.tag, Some(partial.file()))
        .await
        .map_err(|e| written_into(e, &download.dir.join(&asset.name)))?;
    let verified = check(streamed)?;
    // One without a bundle is written only once a statement vouched for
    // it, so its name is judged only now: names come from the server, and
    // only a plain file name becomes a path.
    if bundle.is_none() {
        if !crate::files::portable_name(&asset.name) {
            return Err(AssetFailure::UnsafeName(asset.name.clone()));
        }
        download.refuse_existing(&asset.name)?;
        // Its voucher lands first: an asset in DIR without it would not
        // verify there again.
        if let Some(m) = verified.provenance() {
            download.provenance_beside(&m.file.display().to_string())?;
        }
    }
    // ...and under the asset's name only now that it verified.
    let kept_bundle = bundle
        .as_ref()
        .map(|(b, json, _)| (b.name.as_str(), &json[..]));
    download.keep(partial, &asset.name, kept_bundle)?;
    Ok(verified)
}

/// A download's failure, said of `path` in DIR when writing there failed:
/// the disk's doing (full, a quota), not GitHub's.
fn written_into(e: crate::github::ReleaseError, path: &Path) -> AssetFailure {
    match e {
        crate::github::ReleaseError::Api {
            cause: crate::github::ApiFailure::Local(why),
            ..
        } => AssetFailure::WriteDownload {
            path: path.to_owned(),
            why,
        },
        e => e.into(),
    }
}

/// `--download DIR`: where verified assets go.
struct Download<'a> {
    /// DIR as given, for messages.
    dir: &'a Path,
    /// DIR as resolved and checked when the run started: every file is
    /// created and moved there, or not at all.
    into: WriteDir,
    overwrite: bool,
    /// Each file written, by its folded name ([`crate::files::folded_name`]):
    /// the last guard against two names that are one file where names fold,
    /// whatever the listing said before the bytes were seen.
    written: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// The provenance files with a verified statement, by name: each is
    /// written once, before the first asset it alone vouches for.
    vouchers: std::sync::Mutex<std::collections::HashMap<String, Voucher>>,
}

/// A provenance file for DIR: its bytes until written, then whether it was.
enum Voucher {
    Unwritten(bytes::Bytes),
    Written,
    Refused(String),
}

impl<'a> Download<'a> {
    /// DIR, created if needed, not through a link out of the working tree.
    fn prepare(dir: &'a Path, overwrite: bool) -> Result<Self, VerifyError> {
        crate::plan::check_output_dir("--download", dir)
            .map_err(|e| VerifyError::Targets(super::targets::TargetError::Plan(e)))?;
        let failed = |source| VerifyError::Download {
            dir: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| failed(e.into()))?;
        // Again on the whole path, now that it exists: a link planted in
        // the part that did not exist yet, between the check and the
        // creation, was followed by it. The directory written into is the
        // one this check resolved: each file's write then opens DIR as
        // spelled and refuses anything else found there.
        let real = crate::plan::check_output_dir("--download", dir)
            .map_err(|e| VerifyError::Targets(super::targets::TargetError::Plan(e)))?;
        let into = WriteDir::planned(real).map_err(failed)?;
        Ok(Self {
            dir,
            into,
            overwrite,
            written: Default::default(),
            vouchers: Default::default(),
        })
    }

    /// The provenance files `vouching` (name, bytes), to write into DIR
    /// once an asset they alone vouch for is kept.
    fn vouched_for_by(&self, vouching: &[(&str, bytes::Bytes)]) {
        let mut vouchers = self.vouchers.lock().unwrap_or_else(|p| p.into_inner());
        for (name, bytes) in vouching {
            vouchers.insert((*name).to_owned(), Voucher::Unwritten(bytes.clone()));
        }
    }

    /// Write the provenance file `name` into DIR, once ([`Self::keep_provenance`]);
    /// if it cannot be, every asset it alone vouches for fails, saying why.
    fn provenance_beside(&self, name: &str) -> Result<(), AssetFailure> {
        let mut vouchers = self.vouchers.lock().unwrap_or_else(|p| p.into_inner());
        let voucher = vouchers
            .get_mut(name)
            .ok_or_else(|| AssetFailure::ProvenanceNotKept {
                name: name.to_owned(),
                why: "it is not one of the release's verified provenance files".to_owned(),
            })?;
        if let Voucher::Unwritten(bytes) = voucher {
            *voucher = match self.keep_provenance(name, bytes) {
                Ok(()) => Voucher::Written,
                Err(e) => Voucher::Refused(e.to_string()),
            };
        }
        match voucher {
            Voucher::Refused(why) => Err(AssetFailure::ProvenanceNotKept {
                name: name.to_owned(),
                why: why.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// A file already named `name` in DIR fails the asset, unless `--overwrite`.
    fn refuse_existing(&self, name: &str) -> Result<(), AssetFailure> {
        if !self.overwrite && self.into.real().join(name).symlink_metadata().is_ok() {
            return Err(AssetFailure::Exists(self.dir.join(name)));
        }
        Ok(())
    }

    /// A new, empty file in DIR for one asset's bytes until they verified:
    /// created exclusively under a random name that starts with a dot (no
    /// asset's name does), deleted when dropped.
    fn partial(&self, name: &str) -> Result<Temporary, AssetFailure> {
        self.into
            .temporary(self.dir, ".partial")
            .map_err(|source| AssetFailure::Write {
                path: self.dir.join(name),
                source,
            })
    }

    /// The command that verifies `assets`, written to DIR, against the
    /// provenance file `provenance` written beside them, under the trust
    /// the run used (`trust_flags`) and its `policy`, as shell words.
    fn verify_command(
        &self,
        assets: &[&str],
        provenance: &str,
        trust_flags: &[String],
        policy: &Policy,
    ) -> String {
        let in_dir = |name: &str| {
            crate::text::shell_word_or(&self.dir.join(name).display().to_string(), "FILE")
        };
        let mut command = String::from("releasekit-sign verify");
        for a in assets {
            command.push(' ');
            command.push_str(&in_dir(a));
        }
        command.push_str(" --provenance ");
        command.push_str(&in_dir(provenance));
        for f in trust_flags.iter().chain(&policy.flags()) {
            command.push(' ');
            command.push_str(&crate::text::shell_word_or(f, "VALUE"));
        }
        command
    }

    /// Write the release's provenance file `name` (its statements verified)
    /// into DIR: a plain name only, never over a file unless `--overwrite`,
    /// nor onto a name another file written folds to.
    fn keep_provenance(&self, name: &str, bytes: &[u8]) -> Result<(), AssetFailure> {
        if !crate::files::portable_name(name) {
            return Err(AssetFailure::UnsafeName(name.to_owned()));
        }
        self.refuse_existing(name)?;
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        let folded = crate::files::folded_name(name);
        if let Some(other) = written.get(&folded).filter(|o| *o != name) {
            return Err(AssetFailure::NamesFoldWritten {
                name: name.to_owned(),
                other: other.clone(),
            });
        }
        crate::bundle_io::prepare_in(&self.into, &self.dir.join(name), bytes)
            .and_then(|prepared| prepared.keep(self.overwrite))
            .map_err(|e| match e {
                crate::bundle_io::BundleIoError::Exists(path) => AssetFailure::Exists(path),
                e => AssetFailure::WriteBundle(e),
            })?;
        written.insert(folded, name.to_owned());
        Ok(())
    }

    /// Move the verified `partial` to `DIR/<name>` (never over an existing
    /// file unless `--overwrite`), then its bundle (when it has one) next
    /// to it. The bundle is written and synced first, and a directory at
    /// either name refuses both, so what `--overwrite` would replace stays
    /// unless both can be kept; if the bundle's rename still fails, the
    /// asset's file is taken back.
    fn keep(
        &self,
        partial: Temporary,
        name: &str,
        bundle: Option<(&str, &[u8])>,
    ) -> Result<(), AssetFailure> {
        let shown = self.dir.join(name);
        let write_err = |source| AssetFailure::Write {
            path: shown.clone(),
            source,
        };
        let bundle = match bundle {
            Some((bundle_name, bytes)) => Some((
                bundle_name,
                crate::bundle_io::prepare_in(&self.into, &self.dir.join(bundle_name), bytes)
                    .map_err(AssetFailure::WriteBundle)?,
            )),
            None => None,
        };
        let names: Vec<String> = std::iter::once(name)
            .chain(bundle.as_ref().map(|(n, _)| *n))
            .map(str::to_owned)
            .collect();
        // Held until both are kept: what is checked against is only what
        // was written, and a name is recorded only once its file is.
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        for n in &names {
            if let Some(other) = written.get(&crate::files::folded_name(n)) {
                if other != n {
                    return Err(AssetFailure::NamesFoldWritten {
                        name: n.clone(),
                        other: other.clone(),
                    });
                }
            }
        }
        for n in &names {
            let there = self.into.real().join(n).symlink_metadata();
            if there.is_ok_and(|m| m.is_dir()) {
                return Err(AssetFailure::DirectoryInTheWay(self.dir.join(n)));
            }
        }
        // The mode a new file gets under the umask; on failure the temporary
        // file is removed. With a bundle to keep after it, what it replaces
        // must be able to come back (see below), or it is not replaced.
        // Regression: where no hard link could be made (exFAT, SMB, a file
        // at its link limit), a bundle that failed took the old file with it.
        let kept = match bundle {
            Some(_) => partial.keep_reversible(name.as_ref(), self.overwrite),
            None => partial.keep(name.as_ref(), self.overwrite),
        }
        .map_err(|e| match e {
            AtomicError::Exists => AssetFailure::Exists(shown.clone()),
            e => write_err(e),
        })?;
        if let Some((_, bundle)) = bundle {
            if let Err(e) = bundle.keep(self.overwrite) {
                if let Err(left) = kept.take_back() {
                    tracing::warn!(
                        asset = %shown.display(),
                        error = %left,
                        "the asset's bundle could not be written, and the asset could not be removed"
                    );
                    // It is there: no twin may replace it.
                    written.insert(crate::files::folded_name(name), name.to_owned());
                }
                return Err(match e {
                    crate::bundle_io::BundleIoError::Exists(path) => AssetFailure::Exists(path),
                    e => AssetFailure::WriteBundle(e),
                });
            }
        }
        for n in names {
            written.insert(crate::files::folded_name(&n), n);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The printed command is safe to paste: a name no shell word shows on
    /// one line is `FILE`, never its escaped form, which a shell would run.
    /// Regression: `app\u{200b}$(touch pwned).tgz` was printed as
    /// `app\u{200b}$(touch pwned).tgz`, and pasted it ran `touch`.
    #[test]
    fn the_verify_command_names_no_unquotable_file() {
        let dir = tempfile::tempdir().unwrap();
        let download = Download::prepare(dir.path(), false).unwrap();
        let command = download.verify_command(
            &["app\u{200b}$(touch pwned).tgz", "ok.tgz"],
            "p.intoto.jsonl",
            &["--trusted-root".into(), "r\u{202e}$(id).json".into()],
            &Policy {
                github: vec![(
                    super::super::policy::GitHubClaim::Repository,
                    "o/r\u{202e}$(id)".into(),
                )],
                ..Policy::default()
            },
        );
        assert!(!command.contains("$("), "{command}");
        assert!(command.contains(" FILE "), "{command}");
        assert!(
            command.ends_with("--trusted-root VALUE --cert-github-workflow-repository VALUE"),
            "{command}"
        );
        assert!(command.contains("ok.tgz"), "{command}");
    }

    /// Writing a download into DIR that fails is said of the file there,
    /// with a fix. Regression: "cannot write the download", blaming the
    /// download, naming neither the file nor what to do.
    #[test]
    fn a_failed_write_into_dir_names_the_file_and_a_fix() {
        let e = crate::github::ReleaseError::Api {
            what: "downloading asset `app.tgz`".into(),
            tag: "v1".into(),
            attempts: 1,
            cause: crate::github::ApiFailure::Local("No space left on device (os error 28)".into()),
        };
        let shown = written_into(e, Path::new("got/app.tgz")).to_string();
        assert_eq!(
            shown,
            "cannot write got/app.tgz into --download (No space left on device (os error 28)); fix: free space there, or --download another directory"
        );
    }

    /// With `--overwrite`, a file already in DIR stays when the asset that
    /// would replace it cannot be kept with its bundle (here the bundle's
    /// name is longer than a file name may be). Regression: the asset took
    /// the name, was taken back, and the file that was there was gone.
    #[test]
    fn a_file_overwrite_would_replace_stays_when_the_bundle_cannot_be_kept() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bin"), "old").unwrap();
        let download = Download::prepare(dir.path(), true).unwrap();
        let partial = download.partial("a.bin").unwrap();
        partial.file().write_all(b"new").unwrap();
        let long = "b".repeat(300);
        assert!(download
            .keep(partial, "a.bin", Some((&long, b"{}")))
            .is_err());
        assert_eq!(std::fs::read(dir.path().join("a.bin")).unwrap(), b"old");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["a.bin"], "nothing else is left in DIR");
    }

    /// The same where the file cannot be given a second name to come back
    /// by (here: at ext4's limit of 65,000 links, as on a file system
    /// without hard links): it is not replaced at all, and says why.
    /// Regression: it was replaced, and the failed bundle took it away.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_that_could_not_come_back_is_not_replaced() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("a.bin");
        std::fs::write(&old, "old").unwrap();
        let links = tempfile::tempdir_in(dir.path().parent().unwrap()).unwrap();
        let at_limit = (0..70_000).any(|i| {
            std::fs::hard_link(&old, links.path().join(i.to_string()))
                .is_err_and(|e| e.raw_os_error() == Some(libc::EMLINK))
        });
        if !at_limit {
            return; // A file system with no such limit: nothing to force.
        }
        let download = Download::prepare(dir.path(), true).unwrap();
        let partial = download.partial("a.bin").unwrap();
        partial.file().write_all(b"new").unwrap();
        let long = "b".repeat(300);
        let e = download
            .keep(partial, "a.bin", Some((&long, b"{}")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("gives it no second name"), "{e}");
        assert_eq!(std::fs::read(&old).unwrap(), b"old");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["a.bin"], "nothing else is left in DIR");
    }
}
