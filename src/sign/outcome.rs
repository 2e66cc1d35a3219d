//! What a sign run did (or, in a dry run, would do): per artifact, an
//! outcome; for the run, the instance, the identity and the certificates used.
//!
//! Owns the run's outcome as data (its serde shape is the sign part of the
//! `--json` report). It renders nothing: `report` composes and renders it.

use std::path::PathBuf;

use serde::Serialize;

use crate::oidc::{IdentityPlan, TokenOrigin};
use crate::plan::Skipped;
use crate::vocab::RekorVersion;

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
    /// `--provenance`: the build provenance file and what became of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceReport>,
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
    pub(crate) fn reused(&self) -> usize {
        self.artifacts
            .iter()
            .filter(|a| matches!(a.outcome, Outcome::Reused { .. }))
            .count()
    }

    /// True when no artifact failed, nor the provenance.
    pub fn success(&self) -> bool {
        self.failures().next().is_none()
            && !matches!(
                self.provenance,
                Some(ProvenanceReport {
                    outcome: ProvenanceOutcome::Failed { .. },
                    ..
                })
            )
    }
}

/// The run's build provenance (`<name>.intoto.jsonl`).
#[derive(Debug, Clone, Serialize)]
pub struct ProvenanceReport {
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub path: PathBuf,
    #[serde(flatten)]
    pub outcome: ProvenanceOutcome,
}

/// One subject of the provenance statement.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectReport {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ProvenanceOutcome {
    /// Dry run: the statement that would be signed, with `<...>` where the
    /// identity token's claims and the artifacts' digests will go (neither
    /// is read in a dry run).
    Planned {
        statement: serde_json::Value,
    },
    /// Signed, logged, verified and written.
    Signed {
        subjects: Vec<SubjectReport>,
        log_index: Option<u64>,
        timestamped: bool,
        certificate: u32,
    },
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    pub name: String,
    /// Each URL as given; the JSON report hides a user and password
    /// (`report::json`), as every printed line does (`text::line`).
    pub fulcio: String,
    /// `None` for an instance that keeps no transparency log.
    pub rekor: Option<String>,
    pub rekor_version: Option<RekorVersion>,
    pub tsa: Option<String>,
    /// How the signing config's entries were chosen (before any URL flag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<crate::trust::selection::Selection>,
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
        /// The commit the run's certificates name (a GitHub Actions job's),
        /// which its bundles, kept or on the release, must name too.
        #[serde(skip)]
        commit: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactReport {
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub path: PathBuf,
    pub size: u64,
    #[serde(serialize_with = "crate::text::lossy_path")]
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
        /// A bundle is there, and the run (which uploads) would keep it if
        /// it verifies for the run's artifact and signer, else fail it.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        kept_if_it_verifies: bool,
    },
    /// The bundle verified and was written.
    Signed {
        sha256: String,
        log_index: Option<u64>,
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
        log_index: Option<u64>,
    },
    Failed {
        error: String,
    },
}
