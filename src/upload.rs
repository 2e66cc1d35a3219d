//! The upload stage: the bundles a sign run wrote -> release assets -> an
//! [`UploadReport`].
//!
//! Owns the order of the stage (find the release once, upload every signed
//! artifact's bundle as `<artifact>.sigstore.json`, optionally download each
//! asset back and compare it with the local bundle, which signing already
//! verified). One asset's failure never loses the others. It prints nothing
//! and talks to GitHub only through [`crate::release`].

use crate::inputs::UploadSettings;
use crate::net::RetryPolicy;
use crate::release::{ReleaseError, Releases};
use crate::report::{AssetReport, Outcome, SignReport, UploadReport};

/// Upload the bundles of every artifact `sign` signed.
pub async fn run(
    settings: &UploadSettings,
    sign: &SignReport,
    check: bool,
    retry: RetryPolicy,
) -> Result<UploadReport, ReleaseError> {
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
        if !matches!(a.outcome, Outcome::Signed { .. }) {
            continue;
        }
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
        match releases
            .upload(&release, &name, &a.bundle, settings.overwrite)
            .await
        {
            Ok(up) => {
                report.asset = up.name.clone();
                report.action = Some(up.action);
                report.download_url = Some(up.download_url.clone());
                // 3. What consumers download is what was verified.
                if check {
                    match compare(&releases, &up, &release.tag, &a.bundle).await {
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
fn asset_name(a: &crate::report::ArtifactReport) -> String {
    let file = a
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| a.path.display().to_string());
    format!("{file}.sigstore.json")
}

async fn compare(
    releases: &Releases,
    asset: &crate::release::UploadedAsset,
    tag: &str,
    bundle: &std::path::Path,
) -> Result<(), String> {
    let remote = releases
        .download(asset, tag)
        .await
        .map_err(|e| e.to_string())?;
    let local = tokio::fs::read(bundle)
        .await
        .map_err(|e| format!("cannot read {}: {e}", bundle.display()))?;
    if remote.as_ref() == local.as_slice() {
        Ok(())
    } else {
        Err(format!(
            "asset `{}` on release {tag} differs from the verified bundle {} after upload: delete the asset and re-run",
            asset.name,
            bundle.display()
        ))
    }
}
