//! The report of a run: plain data built from the stages' outcomes,
//! rendered elsewhere.
//!
//! Owns the top-level reports (the `--json` schema and its version) composed
//! from what sign, upload and verify return, and their renderings. The stages
//! never import it. It prints nothing: [`human`] renders for a terminal,
//! [`action`] for GitHub Actions, and `main.rs` chooses where it goes.

pub mod action;
pub mod human;
pub mod verify;

use std::path::PathBuf;

use serde::{Serialize, Serializer};

use crate::sign::SignReport;
use crate::vocab::ReleaseMode;

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
    pub action: Option<crate::github::AssetAction>,
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
