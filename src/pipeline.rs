//! The publish stage: plan -> sign -> upload, for `sign` (with or without
//! `--upload`) and the action.
//!
//! Owns the order of those stages and what passes between them: the sign
//! run's verifier goes to the upload, so release assets are judged by the
//! trust the bundles were made under; a dry run gets the upload's plan
//! instead of an upload. It owns no stage's work and prints nothing: progress
//! goes through [`Progress`], results through the [`PublishReport`], and a
//! failed upload leaves the sign report whole, because the bundles are
//! written whatever happens to the release.

use std::sync::Arc;

use crate::github::ReleaseError;
use crate::net::RetryPolicy;
use crate::plan::{self, PlanInput};
use crate::report::PublishReport;
use crate::sign::SignSettings;
use crate::sign::{self, Progress, SignRun};
use crate::upload;
use crate::upload::UploadSettings;

/// The artifacts' total size and count, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    pub bytes: u64,
    pub artifacts: usize,
}

/// `sign` as a command runs it: the signing stage's settings, and the
/// release the bundles go to after, if any.
#[derive(Debug, Clone)]
pub struct SignCommand {
    pub sign: SignSettings,
    /// Upload the bundles to a GitHub release after signing.
    pub upload: Option<UploadSettings>,
    /// What the settings have to say of this run (inputs it leaves
    /// unused), added to the report's warnings.
    pub warnings: Vec<String>,
}

/// Plan and sign (or, with `--dry-run`, only plan). `progress` is asked for
/// once the plan is known, and only when something will be signed.
pub async fn sign<P>(
    command: &SignCommand,
    progress: impl FnOnce(Workload) -> Arc<P>,
) -> Result<SignRun, StageError>
where
    P: Progress + 'static,
{
    let settings = &command.sign;
    let mut plan = plan::build(&PlanInput {
        args: &settings.inputs,
        recursive: settings.recursive,
        output_dir: settings.output_dir.as_deref(),
        overwrite: settings.overwrite,
        writes_bundles: true,
    })?;
    plan.keep_verified_bundles = command.upload.is_some();
    // First: an earlier run's provenance found among the artifacts is
    // taken out of them, before they are held to an asset's limits.
    if let Some(p) = &settings.provenance {
        let up = command.upload.as_ref();
        let name = crate::provenance::file_name(
            p.name.as_deref(),
            up.map(|u| u.repo.to_string()).as_deref(),
            up.map(|u| u.tag.as_str()),
        )
        .map_err(plan::PlanError::from)?;
        // A re-run after a failed upload keeps the bundles that still
        // verify and signs the provenance about them again.
        let replace = settings.overwrite || plan.keep_verified_bundles;
        let reads = plan.keep_verified_bundles && !settings.overwrite;
        plan.provenance = Some(plan::provenance(
            &mut plan,
            &name,
            settings.output_dir.as_deref(),
            replace,
            reads,
        )?);
    }
    // Refused before anything is signed or logged, not when its upload
    // fails after the rest of the release was.
    if command.upload.as_ref().is_some_and(|u| u.upload_artifacts) {
        if let Some(empty) = plan.artifacts.iter().find(|a| a.size == 0) {
            return Err(plan::PlanError::EmptyAsset(empty.path.clone()).into());
        }
        if let Some(large) = plan
            .artifacts
            .iter()
            .find(|a| a.size >= upload::MAX_ASSET_BYTES)
        {
            return Err(plan::PlanError::AssetTooLarge {
                path: large.path.clone(),
                size: large.size,
            }
            .into());
        }
    }
    // Refused before anything is signed: the second's assets would replace
    // the first's (or fail as different), on every re-run too.
    if let Some(up) = &command.upload {
        // GitHub refuses the 1,001st asset of a release: refused here, not
        // after every artifact was logged and the release half uploaded.
        let count = plan.artifacts.len() * if up.upload_artifacts { 2 } else { 1 }
            + usize::from(plan.provenance.is_some());
        if count > upload::MAX_RELEASE_ASSETS {
            return Err(plan::PlanError::TooManyAssets {
                count,
                max: upload::MAX_RELEASE_ASSETS,
            }
            .into());
        }
        let files = crate::upload::upload_names(
            plan.artifacts.iter().map(|a| (&a.path, &a.bundle)),
            plan.provenance.as_ref().map(|p| &p.path),
        );
        if let Some((path, asset, replaced)) = crate::upload::reserved_name(&files) {
            return Err(plan::PlanError::ReservedAssetName {
                path,
                asset,
                replaced,
            }
            .into());
        }
        if let Some((first, second, asset)) = crate::upload::same_asset(files) {
            return Err(plan::PlanError::AssetCollision {
                first,
                second,
                asset,
            }
            .into());
        }
    }
    let mut run = if settings.dry_run {
        SignRun {
            report: sign::dry_run(settings, plan).await?,
            verifier: None,
        }
    } else {
        let progress = progress(Workload {
            bytes: plan.artifacts.iter().map(|a| a.size).sum(),
            artifacts: plan.artifacts.len(),
        });
        sign::run(settings, plan, progress).await?
    };
    run.report.warnings.extend(command.warnings.iter().cloned());
    Ok(run)
}

/// Why planning and signing stopped before any artifact's outcome: the
/// stage's own errors, unchanged (their exit codes are `crate::error`'s).
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Sign(#[from] sign::SignError),
}

/// A publish run's report, and the error that stopped its upload as a whole
/// (no such release, an immutable release), if one did. Its exit code is
/// `crate::error`'s.
pub struct Published {
    pub report: PublishReport,
    pub error: Option<ReleaseError>,
}

/// Upload what `run` signed when an upload is configured: its plan in a dry
/// run, else the upload itself, downloading each asset back to verify it when
/// `check` (always before publishing).
pub async fn upload(command: &SignCommand, run: SignRun, check: bool) -> Published {
    let SignRun {
        report: sign,
        verifier,
    } = run;
    let mut report = PublishReport {
        schema_version: Default::default(),
        sign,
        upload: None,
        upload_plan: None,
        upload_error: None,
    };
    let Some(up) = &command.upload else {
        return Published {
            report,
            error: None,
        };
    };
    if report.sign.dry_run {
        report.upload_plan = Some(upload::plan(up, &report.sign, check));
        return Published {
            report,
            error: None,
        };
    }
    // Where the attestation's link points: the server the provenance names.
    let server_url = command
        .sign
        .provenance
        .as_ref()
        .and_then(|p| p.server_url.as_ref())
        .map(crate::vocab::GitHubServer::url);
    let uploaded = upload::run(
        up,
        &report.sign,
        verifier,
        check,
        server_url,
        RetryPolicy::default(),
    )
    .await;
    if let Some(up) = &uploaded.report {
        report.sign.warnings.extend(up.warnings.iter().cloned());
    }
    report.upload = uploaded.report;
    report.upload_error = uploaded.error.as_ref().map(ToString::to_string);
    Published {
        report,
        error: uploaded.error,
    }
}
