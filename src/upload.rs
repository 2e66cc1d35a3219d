//! The upload stage: the bundles a sign run wrote -> release assets -> an
//! [`UploadReport`].
//!
//! Owns the order of the stage (find the release once, upload every signed
//! artifact's bundle as `<artifact>.sigstore.json`, optionally download each
//! asset back and verify it) and what makes an asset acceptable: a bundle
//! that verifies, under the sign run's own trusted root, for the artifact's
//! SHA-256 and for this run's certificate identity and issuer ([`Expected`]).
//! That rule also keeps a differing asset a re-run finds already there (a
//! fresh runner re-signs, so its bundle differs byte-wise from the valid one
//! on the release). One asset's failure never loses the others. It prints
//! nothing and talks to GitHub only through [`crate::release`].

use std::path::Path;
use std::sync::Arc;

use sigstore_types::Sha256Hash;
use sigstore_verify::Verifier;

use crate::inputs::UploadSettings;
use crate::net::RetryPolicy;
use crate::release::{ReleaseError, Releases, UploadedAsset};
use crate::report::{
    ArtifactReport, AssetReport, IdentityReport, Outcome, SignReport, UploadReport,
};
use crate::verify::policy::{Matcher, Policy};

/// What a bundle on the release must be to stand for one of this run's
/// artifacts: valid under the run's trusted root, for the artifact's digest,
/// and signed by the run's own identity and issuer (exact).
pub struct Expected {
    verifier: Arc<Verifier>,
    policy: Policy,
}

impl Expected {
    /// `None` when the run certified no identity (nothing was signed).
    pub fn for_run(sign: &SignReport, verifier: Option<Arc<Verifier>>) -> Option<Expected> {
        let IdentityReport::Certified {
            identity, issuer, ..
        } = &sign.identity
        else {
            return None;
        };
        Some(Expected {
            verifier: verifier?,
            policy: Policy {
                identity: Some(Matcher::Exact(identity.clone())),
                issuer: Some(Matcher::Exact(issuer.clone())),
                github: Vec::new(),
            },
        })
    }

    /// Whether `bundle_json` (named `asset` in errors) is a valid bundle for
    /// the artifact with hex digest `sha256` and `size`, by this run's signer.
    pub fn check(
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

/// Upload the bundles of every artifact `sign` signed; `verifier` is the
/// sign run's (see [`crate::sign::SignRun`]).
pub async fn run(
    settings: &UploadSettings,
    sign: &SignReport,
    verifier: Option<Arc<Verifier>>,
    check: bool,
    retry: RetryPolicy,
) -> Result<UploadReport, ReleaseError> {
    let expected = Expected::for_run(sign, verifier);
    // 1. The release, once: a missing release is one error, not one per asset.
    let releases = Releases::new(
        &settings.api_url,
        settings.repo.clone(),
        &settings.token,
        retry,
    )?;
    let release = releases.find(&settings.tag).await?;

    // 2. Each bundle in plan order; sequential, as GitHub asks of content-creating requests.
    let mut assets = Vec::new();
    for a in &sign.artifacts {
        let Outcome::Signed { sha256, .. } = &a.outcome else {
            continue;
        };
        let name = asset_name(a);
        let mut report = AssetReport {
            artifact: a.path.clone(),
            bundle: a.bundle.clone(),
            asset: crate::release::github_asset_name(&name),
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
        let equivalent = |bytes: &[u8]| expected.check(&report.asset, bytes, sha256, a.size);
        match releases
            .upload(&release, &name, &a.bundle, settings.overwrite, &equivalent)
            .await
        {
            Ok(up) => {
                report.asset = up.name.clone();
                report.action = Some(up.action);
                report.download_url = Some(up.download_url.clone());
                // 3. What consumers download verifies, as the local file did.
                if check {
                    match check_landed(&releases, &up, &release.tag, expected, sha256, a.size).await
                    {
                        Ok(()) => report.checked = true,
                        Err(e) => report.error = Some(e),
                    }
                }
            }
            Err(e) => report.error = Some(e.to_string()),
        }
        assets.push(report);
    }
    Ok(UploadReport {
        repo: settings.repo.to_string(),
        tag: release.tag.clone(),
        release_url: release.html_url.clone(),
        draft: release.draft,
        assets,
    })
}

/// `<artifact file name>.sigstore.json`, whatever the local bundle's path.
fn asset_name(a: &ArtifactReport) -> String {
    let file = a
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| a.path.display().to_string());
    format!("{file}.sigstore.json")
}

/// Download the asset as a consumer would and verify it with the run's policy.
async fn check_landed(
    releases: &Releases,
    asset: &UploadedAsset,
    tag: &str,
    expected: &Expected,
    sha256: &str,
    size: u64,
) -> Result<(), String> {
    let remote = releases
        .download(asset, tag)
        .await
        .map_err(|e| e.to_string())?;
    expected
        .check(&asset.name, &remote, sha256, size)
        .map_err(|why| {
            format!(
                "asset `{}` on release {tag} does not verify after upload ({why}): delete the asset and re-run",
                asset.name
            )
        })
}
