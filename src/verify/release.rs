//! `verify --release OWNER/REPO@TAG`: a release's assets verified in place.
//!
//! Owns requiring each asset to be signed at the release tag's commit (unless
//! `--allow-other-commits`), pairing a release's assets (`<asset>` with `<asset>.sigstore.json`),
//! the `--pattern` filter, concurrency (at most `--jobs` assets in flight,
//! results in the release's order), and the per-asset order: the bundle is downloaded
//! (capped) and parsed first, then the asset is streamed through SHA-256
//! without being written anywhere (or into `--download DIR`, whole or not at
//! all), then checked like a local file ([`super::check_bundle`]). Nothing is
//! cloned and no login is needed for a public repository. It talks to GitHub
//! only through [`crate::release`] and prints nothing.

use std::path::PathBuf;

use super::cache::CachingVerifier;
use futures::StreamExt as _;
use sigstore_types::Sha256Hash;

use super::policy::{Policy, SourceCommit};
use super::settings::ReleaseSource;
use super::{Failure, Verified, VerifyError};
use super::{VerifyArtifactReport, VerifyOutcome};
use crate::bundle_io::BUNDLE_SUFFIX;
use crate::net::RetryPolicy;
use crate::release::{Release, Releases, UploadedAsset};

/// The release's assets, verified (in the release's order) or listed unsigned.
pub struct ReleaseResults {
    pub artifacts: Vec<VerifyArtifactReport>,
    pub unsigned: Vec<PathBuf>,
    /// The tag's commit every asset was required to be signed at (none
    /// with `--allow-other-commits`).
    pub source_commit: Option<SourceCommit>,
}

/// Verify every (matching) asset of the release that has a bundle.
pub async fn run(
    source: &ReleaseSource,
    verifier: &CachingVerifier,
    policy: &Policy,
    jobs: std::num::NonZeroUsize,
) -> Result<ReleaseResults, VerifyError> {
    // 1. The release and its assets: one listing, no clone, token optional.
    let releases = Releases::with_token(
        &source.api_url,
        source.repo.clone(),
        source.token.as_ref(),
        RetryPolicy::default(),
    )?;
    let release = releases.find(&source.tag).await.map_err(|e| match e {
        crate::release::ReleaseError::NoRelease { repo, tag } => VerifyError::NoRelease {
            repo: repo.to_string(),
            tag,
            anonymous: source.token.is_none(),
        },
        e => e.into(),
    })?;
    // 2. The tag's commit: an asset signed by another run of the
    //    repository's workflow (an older release's, re-uploaded here) is
    //    valid, but not this release's.
    let source_commit = if source.allow_other_commits {
        None
    } else {
        let sha = releases
            .tag_commit(&release.tag)
            .await
            .map_err(|e| match e {
                crate::release::ReleaseError::NoTag { repo, tag } => VerifyError::NoTag {
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
    if let Some(dir) = &source.download {
        // Assets are written there: not through a link out of the working tree.
        crate::plan::check_output_dir("--download", dir)
            .map_err(|e| VerifyError::Targets(super::targets::TargetError::Plan(e)))?;
        std::fs::create_dir_all(dir).map_err(|e| VerifyError::Download {
            dir: dir.clone(),
            source: e,
        })?;
    }

    // 3. Pair each artifact asset with its bundle asset.
    let is_bundle = |a: &UploadedAsset| a.name.ends_with(BUNDLE_SUFFIX);
    let mut slots: Vec<Slot> = Vec::new();
    let mut unsigned = Vec::new();
    for asset in assets.iter().filter(|a| !is_bundle(a)) {
        if source
            .pattern
            .as_ref()
            .is_some_and(|p| !p.matches(&asset.name))
        {
            continue;
        }
        let bundle_name = format!("{}{BUNDLE_SUFFIX}", asset.name);
        let Some(bundle) = assets.iter().find(|a| a.name == bundle_name) else {
            if source.require_all {
                slots.push(Slot::Done(VerifyArtifactReport {
                    path: PathBuf::from(&asset.name),
                    bundle: PathBuf::from(&bundle_name),
                    outcome: VerifyOutcome::Failed {
                        error: format!(
                            "Unsigned: the release has no {bundle_name} (--require-all)"
                        ),
                    },
                }));
            } else {
                unsigned.push(PathBuf::from(&asset.name));
            }
            continue;
        };
        slots.push(Slot::Pair(asset, bundle));
    }
    // 4. Verify at most `jobs` assets at a time, in the release's order; each
    //    streams, so memory stays flat whatever the assets' sizes.
    let releases = &releases;
    let release = &release;
    let mut artifacts: Vec<VerifyArtifactReport> = futures::stream::iter(slots)
        .map(|slot| async move {
            let (asset, bundle) = match slot {
                Slot::Done(report) => return report,
                Slot::Pair(asset, bundle) => (asset, bundle),
            };
            let outcome = match verify_asset(
                releases, release, asset, bundle, source, verifier, policy,
            )
            .await
            {
                Ok(v) => VerifyOutcome::Verified(v),
                Err(e) => VerifyOutcome::Failed {
                    error: e.to_string(),
                },
            };
            VerifyArtifactReport {
                path: PathBuf::from(&asset.name),
                bundle: PathBuf::from(&bundle.name),
                outcome,
            }
        })
        .buffered(jobs.get())
        .collect()
        .await;
    // 5. A bundle whose artifact is not on the release vouches for nothing
    //    a consumer can download: say so.
    for bundle in assets.iter().filter(|a| is_bundle(a)) {
        let artifact = &bundle.name[..bundle.name.len() - BUNDLE_SUFFIX.len()];
        let wanted = source.pattern.as_ref().is_none_or(|p| p.matches(artifact));
        if wanted && !assets.iter().any(|a| a.name == artifact) {
            artifacts.push(VerifyArtifactReport {
                path: PathBuf::from(artifact),
                bundle: PathBuf::from(&bundle.name),
                outcome: VerifyOutcome::Failed {
                    error: format!(
                        "Artifact not found: the release has {} but no {artifact}",
                        bundle.name
                    ),
                },
            });
        }
    }
    Ok(ReleaseResults {
        artifacts,
        unsigned,
        source_commit,
    })
}

/// One artifact asset: already decided, or to verify against its bundle.
enum Slot<'a> {
    Done(VerifyArtifactReport),
    Pair(&'a UploadedAsset, &'a UploadedAsset),
}

/// Why one asset could not be checked, or did not verify.
#[derive(Debug, thiserror::Error)]
enum AssetFailure {
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
    #[error(transparent)]
    Verify(#[from] Failure),
    #[error("the asset name `{0}` (or its bundle's) is not a plain file name, so it is not written to --download; check the release")]
    UnsafeName(String),
}

async fn verify_asset(
    releases: &Releases,
    release: &Release,
    asset: &UploadedAsset,
    bundle: &UploadedAsset,
    source: &ReleaseSource,
    verifier: &CachingVerifier,
    policy: &Policy,
) -> Result<Verified, AssetFailure> {
    // The bundle first: a broken one fails before a large asset is streamed.
    let json = releases.download_bundle(bundle, &release.tag).await?;
    let parsed = super::parse_bundle(std::path::Path::new(&bundle.name), &json)?;
    // Names come from the server: only a plain file name may become a path.
    if source.download.is_some()
        && !(is_plain_file_name(&asset.name) && is_plain_file_name(&bundle.name))
    {
        return Err(AssetFailure::UnsafeName(asset.name.clone()));
    }
    let keep = source.download.as_ref().map(|d| d.join(&asset.name));
    let (sha256, size) = releases
        .download_sha256_to(asset, &release.tag, keep.as_deref())
        .await?;
    if let Some(dir) = &source.download {
        // The bundle next to its artifact, as `verify DIR` expects.
        let path = dir.join(&bundle.name);
        crate::bundle_io::write_atomic(&path, &json, true)
            .map_err(|e| AssetFailure::Verify(Failure::ReadBundle(e)))?;
    }
    let digest = Sha256Hash::from_hex(&sha256)
        .map_err(|e| Failure::BundleInvalid(format!("digest: {e}")))?;
    Ok(super::check_bundle(
        verifier,
        policy,
        &parsed,
        digest,
        Some(size),
    )?)
}

/// Whether `name` names a file in a directory and nothing else (no
/// separator, no `..`, not empty).
fn is_plain_file_name(name: &str) -> bool {
    !name.contains(['/', '\\'])
        && std::path::Path::new(name).file_name() == Some(std::ffi::OsStr::new(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_become_paths() {
        for ok in ["app-1.0.tar.gz", "a.sigstore.json", ".hidden"] {
            assert!(is_plain_file_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "/etc/passwd", "a\\b", "x/.."] {
            assert!(!is_plain_file_name(bad), "{bad}");
        }
    }
}
