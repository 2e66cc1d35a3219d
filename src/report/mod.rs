//! The report of a run: plain data built from results, rendered elsewhere.
//!
//! Owns the report's shape (also the `--json` schema). It prints nothing:
//! [`human`] renders it for a terminal, and `main.rs` chooses where it goes.

pub mod action;
pub mod human;
pub mod verify;

use std::path::PathBuf;

use serde::{Serialize, Serializer};

use crate::inputs::release::ReleaseMode;
use crate::inputs::RekorVersion;
use crate::oidc::{IdentityPlan, TokenOrigin};
use crate::plan::Skipped;

/// The `--json` schema's version, the `schemaVersion` of every top-level report:
/// raised when a field is removed, renamed or changes meaning (a new field
/// does not raise it, so consumers must ignore fields they do not know).
pub const SCHEMA_VERSION: u32 = 1;

/// A report's `schemaVersion` field: always [`SCHEMA_VERSION`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(SCHEMA_VERSION)
    }
}

/// Everything `sign` did or, in a dry run, would do.
#[derive(Debug, Clone, Serialize)]
pub struct SignReport {
    pub dry_run: bool,
    pub instance: InstanceReport,
    pub identity: IdentityReport,
    /// Fulcio certificates requested (one per run, plus renewals).
    pub certificates: u32,
    pub artifacts: Vec<ArtifactReport>,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
}

impl SignReport {
    pub fn failures(&self) -> impl Iterator<Item = (&ArtifactReport, &str)> {
        self.artifacts.iter().filter_map(|a| match &a.outcome {
            Outcome::Failed { error } => Some((a, error.as_str())),
            _ => None,
        })
    }

    pub fn signed(&self) -> usize {
        self.artifacts
            .iter()
            .filter(|a| matches!(a.outcome, Outcome::Signed { .. }))
            .count()
    }

    /// Artifacts whose existing bundle was verified and kept.
    pub fn reused(&self) -> usize {
        self.artifacts
            .iter()
            .filter(|a| matches!(a.outcome, Outcome::Reused { .. }))
            .count()
    }

    /// True when no artifact failed.
    pub fn success(&self) -> bool {
        self.failures().next().is_none()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    pub name: String,
    pub fulcio: String,
    pub rekor: String,
    pub rekor_version: RekorVersion,
    pub tsa: Option<String>,
}

/// Who signs: as planned (dry run), or as certified by Fulcio (a run that only
/// kept existing bundles names the identity and issuer they were verified for).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityReport {
    Planned(IdentityPlan),
    Certified {
        identity: String,
        issuer: String,
        token_source: TokenOrigin,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactReport {
    pub path: PathBuf,
    pub size: u64,
    pub bundle: PathBuf,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// Dry run: would be signed.
    Planned {
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        blocked_by_existing_bundle: bool,
    },
    /// The bundle verified and was written.
    Signed {
        sha256: String,
        log_index: u64,
        /// Whether an RFC 3161 timestamp is in the bundle.
        timestamped: bool,
        /// Which of the run's certificates signed it (1 unless renewed).
        certificate: u32,
    },
    /// Uploading only: the bundle already there (a re-run after a failed
    /// upload) verified for this artifact's digest and the run's identity
    /// and issuer, so it was kept instead of signing again.
    Reused {
        sha256: String,
        log_index: u64,
    },
    Failed {
        error: String,
    },
}

/// What `--upload` (or the action) did with the release.
#[derive(Debug, Clone, Serialize)]
pub struct UploadReport {
    pub repo: String,
    pub tag: String,
    pub release_url: String,
    pub draft: bool,
    /// A draft was created for the tag by this run.
    pub created: bool,
    /// The draft was published by this run (only after every asset verified).
    pub published: bool,
    /// Publishing was asked for, but the draft was left unpublished because
    /// it lacks assets or one did not verify (see `lacking`).
    pub publish_withheld: bool,
    /// Assets the plan asked for that are not on the release as verified
    /// (those of artifacts that failed to sign, failed or bad uploads), as
    /// GitHub names them; a re-run uploads them.
    pub lacking: Vec<String>,
    pub assets: Vec<AssetReport>,
}

impl UploadReport {
    pub fn success(&self) -> bool {
        self.assets.iter().all(|a| a.error.is_none())
    }
}

/// Which file of an artifact an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetKind {
    Bundle,
    Artifact,
}

/// One asset's upload (a bundle, or the artifact itself).
#[derive(Debug, Clone, Serialize)]
pub struct AssetReport {
    pub kind: AssetKind,
    pub artifact: PathBuf,
    pub bundle: PathBuf,
    /// The asset name on the release (as GitHub stored it).
    pub asset: String,
    pub action: Option<crate::release::AssetAction>,
    pub download_url: Option<String>,
    /// Downloaded back and verified (the bundle for the artifact's digest and
    /// this run's signer; the artifact by its digest).
    pub checked: bool,
    pub error: Option<String>,
}

/// What `--upload` (or the action) would do with the release, in a dry run.
/// A dry run asks GitHub nothing, so this is the configuration, not the
/// release's state.
#[derive(Debug, Clone, Serialize)]
pub struct UploadPlan {
    pub repo: String,
    pub tag: String,
    pub mode: ReleaseMode,
    pub publish: bool,
    pub upload_artifacts: bool,
    /// Each asset is downloaded back and verified.
    pub check: bool,
    /// Asset names in upload order, as GitHub will store them.
    pub assets: Vec<String>,
}

/// `sign` with `--upload`, as one JSON document.
#[derive(Debug, Clone, Serialize)]
pub struct PublishReport {
    #[serde(rename = "schemaVersion")]
    pub schema_version: SchemaVersion,
    #[serde(flatten)]
    pub sign: SignReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadReport>,
    /// Dry run with an upload configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_plan: Option<UploadPlan>,
    /// The upload failed as a whole (no release, an immutable release): the
    /// bundles are written, the release is not as asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_error: Option<String>,
}

impl PublishReport {
    pub fn success(&self) -> bool {
        self.sign.success()
            && self.upload_error.is_none()
            && self.upload.as_ref().is_none_or(UploadReport::success)
    }
}
