//! The report of a run: plain data built from the stages' outcomes,
//! rendered elsewhere.
//!
//! Owns the top-level reports (the `--json` schema and its version) composed
//! from what sign, upload and verify return, and their renderings. The stages
//! never import it. It prints nothing: [`human`] renders for a terminal,
//! [`action`] for GitHub Actions, [`json`] the `--json` text, and `main.rs`
//! chooses where it goes.

pub mod action;
pub mod human;
pub mod json;
pub mod verify;

use std::path::PathBuf;

use serde::{Serialize, Serializer};

use crate::sign::SignReport;
use crate::vocab::ReleaseMode;

/// The `--json` schema's version, the `schemaVersion` of every top-level report:
/// raised when a field is removed, renamed or changes meaning (a new field
/// does not raise it, so consumers must ignore fields they do not know).
pub const SCHEMA_VERSION: u32 = 1;

/// How many names a line lists before it says how many more there are.
const LISTED: usize = 20;

/// The first [`LISTED`] of `names`, each `shown`, then how many more: a
/// line names what to look for, and a release of thousands lacking all
/// would write megabytes into one annotation or step summary.
pub(crate) fn some_of(names: &[String], shown: impl Fn(&String) -> String) -> String {
    crate::text::first_of(names.iter().map(shown), LISTED)
}

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
    /// it lacks assets or one did not verify (see `lacking`), or the
    /// attestation store failed to take the provenance.
    pub publish_withheld: bool,
    /// Assets the plan asked for that are not on the release as verified
    /// (those of artifacts that failed to sign, failed or bad uploads, and
    /// of paths given that are not regular files), as GitHub names them; a
    /// re-run uploads them.
    pub lacking: Vec<String>,
    /// The paths given that are not regular files (a link to nothing),
    /// whose assets are lacking: no re-run finishes the release until the
    /// step that made them is fixed.
    #[serde(skip)]
    pub not_regular: Vec<String>,
    pub assets: Vec<AssetReport>,
    /// The build provenance in the repository's attestations (present when
    /// a provenance asset verified on the release).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationReport>,
    /// What the upload found worth a warning (the run's report shows them
    /// with the run's other warnings).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl UploadReport {
    /// Every asset landed, the attestation (if any) did not fail, and a
    /// publish asked for was not withheld; a refused permission or GHES is
    /// a warning or a note, not a failure.
    pub fn success(&self) -> bool {
        self.assets_ok() && !self.attestation_failed() && !self.publish_withheld
    }

    /// The attestation store failed to take the provenance (a refused
    /// permission is not a failure).
    pub fn attestation_failed(&self) -> bool {
        matches!(self.attestation, Some(AttestationReport::Failed { .. }))
    }

    /// Every asset uploaded without an error.
    pub fn assets_ok(&self) -> bool {
        self.assets.iter().all(|a| a.error.is_none())
    }

    /// Publishing was withheld though every asset is there and verified,
    /// and the attestation did not fail: a check just before publishing
    /// refused it (another filled draft, the tag moved, an artifact
    /// missing or of other bytes, an asset changed since checked), whose
    /// error says why and what to do; a re-run alone would not help.
    pub fn refused_at_publish(&self) -> bool {
        self.publish_withheld
            && self.lacking.is_empty()
            && !self.assets.is_empty()
            && self.assets.iter().all(|a| a.error.is_none() && a.checked)
            && !self.attestation_failed()
    }

    /// The stored attestation's id and URL, when there is one.
    pub fn attestation_stored(&self) -> Option<(u64, &str)> {
        match &self.attestation {
            Some(AttestationReport::Stored { id, url }) => Some((*id, url.as_str())),
            _ => None,
        }
    }
}

/// What became of the build provenance in GitHub's attestation store.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum AttestationReport {
    /// Stored (or already there: GitHub keeps one per bundle).
    Stored { id: u64, url: String },
    /// Not asked: the API does not exist there (GitHub Enterprise Server).
    Skipped { note: String },
    /// The token lacks `attestations: write`, or GitHub refuses it for
    /// good: a warning; the release is complete without it.
    Forbidden { warning: String },
    /// Any other failure: the run fails (a re-run stores it).
    Failed { error: String },
}

/// Which file of an artifact an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetKind {
    Bundle,
    Artifact,
    /// The run's build provenance (`<name>.intoto.jsonl`).
    Provenance,
}

/// One asset's upload (a bundle, the artifact itself, or the provenance:
/// then `artifact` and `bundle` are both the provenance file).
#[derive(Debug, Clone, Serialize)]
pub struct AssetReport {
    pub kind: AssetKind,
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub artifact: PathBuf,
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub bundle: PathBuf,
    /// The asset name on the release (as GitHub stored it).
    pub asset: String,
    pub action: Option<crate::github::AssetAction>,
    pub download_url: Option<String>,
    /// Downloaded back and verified (the bundle for the artifact's digest and
    /// this run's signer; the artifact by its digest; the provenance as a
    /// DSSE bundle by this run's signer about exactly the run's subjects).
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
    /// The upload failed as a whole (no release, an immutable release), or
    /// publishing failed once every asset landed: the bundles are written,
    /// the release is not as asked.
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
