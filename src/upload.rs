//! The upload stage: the bundles a sign run wrote -> release assets -> an
//! [`UploadReport`].
//!
//! Owns the release lifecycle and its order, which immutable releases
//! dictate (no asset can be added once published): find the release once
//! (`existing`), or find or create the tag's draft (`draft`, `auto`, with
//! concurrent matrix jobs settling on one draft); upload every signed
//! artifact's bundle as `<artifact>.sigstore.json` (and the artifact, with
//! `upload-artifacts`); download each asset back and verify it, deleting a
//! bad one from a draft; publish the draft only when it holds every asset the
//! plan asked for (each artifact signed or kept, and uploaded), all verified,
//! and otherwise name the assets it lacks. It also
//! owns what makes an asset acceptable: a bundle that verifies, under the
//! sign run's own trusted root, for the artifact's SHA-256 and for this run's
//! certificate identity and issuer ([`Expected`]).
//! That rule also keeps a differing asset a re-run finds already there (a
//! fresh runner re-signs, so its bundle differs byte-wise from the valid one
//! on the release). One asset's failure never loses the others. It prints
//! nothing and talks to GitHub only through [`crate::github`].

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::verify::cache::CachingVerifier;
use sigstore_types::Sha256Hash;

use crate::github::{identical_only, Release, ReleaseError, Releases, UploadedAsset};
use crate::inputs::UploadSettings;
use crate::net::RetryPolicy;
use crate::report::{AssetKind, AssetReport, UploadPlan, UploadReport};
use crate::sign::{ArtifactReport, IdentityReport, Outcome, SignReport};
use crate::verify::policy::Policy;
use crate::vocab::ReleaseMode;

/// What a bundle on the release must be to stand for one of this run's
/// artifacts: valid under the run's trusted root, for the artifact's digest,
/// and signed by the run's own identity and issuer (exact).
pub(crate) struct Expected {
    verifier: Arc<CachingVerifier>,
    policy: Policy,
}

impl Expected {
    /// `None` when the run certified no identity (nothing was signed).
    pub(crate) fn for_run(
        sign: &SignReport,
        verifier: Option<Arc<CachingVerifier>>,
    ) -> Option<Expected> {
        let IdentityReport::Certified {
            identity, issuer, ..
        } = &sign.identity
        else {
            return None;
        };
        Some(Expected {
            verifier: verifier?,
            policy: Policy::exact_signer(identity, issuer),
        })
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
        let digest = Sha256Hash::from_hex(sha256).map_err(|e| e.to_string())?;
        crate::verify::verify_bytes(
            &self.verifier,
            &self.policy,
            Path::new(asset),
            bundle_json,
            digest,
            size,
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

/// The assets of one artifact in upload order: the artifact first, when
/// asked, so a bundle is never on the release without its artifact.
fn files(a: &ArtifactReport, upload_artifacts: bool) -> Vec<(AssetKind, String)> {
    let mut files = Vec::with_capacity(2);
    if upload_artifacts {
        files.push((AssetKind::Artifact, artifact_name(a)));
    }
    files.push((AssetKind::Bundle, asset_name(a)));
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
            .map(|(_, name)| crate::github::github_asset_name(&name))
            .collect(),
    }
}

/// Upload the bundles (and, when asked, the artifacts) of every artifact
/// `sign` signed, check what landed, and publish the draft when asked and
/// everything verified; `verifier` is the sign run's (see
/// [`crate::sign::SignRun`]).
pub async fn run(
    settings: &UploadSettings,
    sign: &SignReport,
    verifier: Option<Arc<CachingVerifier>>,
    check: bool,
    retry: RetryPolicy,
) -> Result<UploadReport, ReleaseError> {
    let expected = Expected::for_run(sign, verifier);
    // Publishing vouches for every asset: it is never done on unchecked ones.
    let check = check || settings.publish;
    let releases = Releases::new(
        &settings.api_url,
        settings.repo.clone(),
        &settings.token,
        retry,
    )?;

    // 1. The release, once, as the mode says: a missing release is one
    //    error, not one per asset.
    let (release, created) = target(&releases, settings).await?;

    // 2. Each artifact in plan order, sequentially (GitHub asks that of
    //    content-creating requests).
    let mut assets = Vec::new();
    let mut refused: Option<ImmutableRefusal> = None;
    for a in &sign.artifacts {
        // A kept bundle (a re-run after a failed upload) goes up like a new one.
        let (Outcome::Signed { sha256, .. } | Outcome::Reused { sha256, .. }) = &a.outcome else {
            continue;
        };
        for (kind, name) in files(a, settings.upload_artifacts) {
            if let Some(r) = &mut refused {
                // The release takes no new asset: asking again per asset would
                // only repeat GitHub's refusal. Those already there still count.
                let stored = crate::github::github_asset_name(&name);
                if !r.present.contains(&stored) {
                    r.missing.push(stored);
                    continue;
                }
            }
            let mut report = AssetReport {
                kind,
                artifact: a.path.clone(),
                bundle: a.bundle.clone(),
                asset: crate::github::github_asset_name(&name),
                action: None,
                download_url: None,
                checked: false,
                error: None,
            };
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
                sha256,
                size: a.size,
                bundle: &a.bundle,
            };
            match landed
                .upload(kind, &name, &a.path, settings.overwrite)
                .await
            {
                Ok(up) => {
                    report.asset = up.name.clone();
                    report.action = Some(up.action);
                    report.download_url = Some(up.download_url.clone());
                    // 3. What consumers download verifies, as the local file did;
                    //    on a draft, what does not is removed before anyone sees it.
                    if check {
                        match landed.check(kind, &up).await {
                            Ok(()) => report.checked = true,
                            Err(e) => report.error = Some(landed.discard(&up, e).await),
                        }
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
                Err(e) => report.error = Some(e.to_string()),
            }
            assets.push(report);
        }
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

    // 4. Publish only a draft, and only when it holds every asset the plan
    //    asked for, each verified: an artifact that failed to sign, or an
    //    upload that failed, leaves it incomplete, and nothing uploaded is
    //    not "all verified". A published immutable release cannot be
    //    completed later.
    let lacking = lacking(sign, settings.upload_artifacts, &assets);
    let complete = lacking.is_empty()
        && !assets.is_empty()
        && assets.iter().all(|a| a.error.is_none() && a.checked);
    let mut published = false;
    let mut release = release;
    let publish_withheld = settings.publish && release.draft && !complete;
    if settings.publish && release.draft && complete {
        release = releases.publish(&release).await?;
        published = true;
    }
    Ok(UploadReport {
        repo: settings.repo.to_string(),
        tag: release.tag.clone(),
        release_url: release.html_url.clone(),
        draft: release.draft,
        created,
        published,
        publish_withheld,
        lacking,
        assets,
    })
}

/// The assets the plan asked for that are not on the release as verified
/// (as GitHub names them, in plan order): every asset of an artifact that
/// was not signed or kept, and every upload that failed or did not verify.
fn lacking(sign: &SignReport, upload_artifacts: bool, assets: &[AssetReport]) -> Vec<String> {
    let mut lacking = Vec::new();
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
    if let Some(oldest) = all.into_iter().next() {
        return Ok((oldest, false));
    }
    // Matrix jobs may all find no draft and each create one (GitHub lets
    // drafts share a tag). Every job then settles on the oldest draft (the
    // lowest id, which no job deletes, since none sees an older one) and
    // deletes its own if it lost, before any asset goes to it.
    let mine = releases
        .create_draft(tag, settings.target_commitish.as_deref())
        .await?;
    let oldest = releases
        .all_for_tag(tag)
        .await?
        .into_iter()
        .find(|r| r.draft)
        .unwrap_or_else(|| mine.clone());
    if oldest.id == mine.id {
        Ok((mine, true))
    } else {
        releases.delete_release(&mine).await?;
        Ok((oldest, false))
    }
}

/// One artifact's upload context.
struct Landed<'a> {
    releases: &'a Releases,
    release: &'a Release,
    expected: &'a Expected,
    sha256: &'a str,
    size: u64,
    bundle: &'a Path,
}

impl Landed<'_> {
    async fn upload(
        &self,
        kind: AssetKind,
        name: &str,
        artifact: &Path,
        overwrite: bool,
    ) -> Result<UploadedAsset, ReleaseError> {
        match kind {
            AssetKind::Bundle => {
                let stored = crate::github::github_asset_name(name);
                let equivalent =
                    |bytes: &[u8]| self.expected.check(&stored, bytes, self.sha256, self.size);
                self.releases
                    .upload(self.release, name, self.bundle, overwrite, &equivalent)
                    .await
            }
            // An artifact is only ever itself: identical content or nothing.
            AssetKind::Artifact => {
                self.releases
                    .upload_as(
                        self.release,
                        name,
                        artifact,
                        "application/octet-stream",
                        overwrite,
                        &identical_only,
                    )
                    .await
            }
        }
    }

    /// Download the asset as a consumer would and verify it: a bundle with
    /// the run's policy, an artifact by the digest its verified bundle signs.
    async fn check(&self, kind: AssetKind, asset: &UploadedAsset) -> Result<(), String> {
        let tag = &self.release.tag;
        let why = match kind {
            AssetKind::Bundle => {
                let remote = self
                    .releases
                    .download_bundle(asset, tag)
                    .await
                    .map_err(|e| e.to_string())?;
                self.expected
                    .check(&asset.name, &remote, self.sha256, self.size)
                    .err()
            }
            AssetKind::Artifact => {
                let (sha256, size) = self
                    .releases
                    .download_sha256(asset, tag)
                    .await
                    .map_err(|e| e.to_string())?;
                (sha256 != self.sha256 || size != self.size).then(|| {
                    format!(
                        "its SHA-256 is {sha256} ({size} bytes), not the signed {} ({} bytes)",
                        self.sha256, self.size
                    )
                })
            }
        };
        match why {
            None => Ok(()),
            Some(why) => Err(format!(
                "asset `{}` on release {tag} does not verify after upload ({why})",
                asset.name
            )),
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

/// `<artifact file name>.sigstore.json`, whatever the local bundle's path.
fn asset_name(a: &ArtifactReport) -> String {
    format!("{}.sigstore.json", artifact_name(a))
}

/// The artifact's file name, as its asset is named.
fn artifact_name(a: &ArtifactReport) -> String {
    a.path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| a.path.display().to_string())
}
