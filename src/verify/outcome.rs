//! What a verify run found: a verdict per artifact, and for the run the
//! instance, the policy applied, files without a bundle, warnings and the
//! signers seen.
//!
//! Owns the run's outcome as data. It renders nothing: `report::verify` is
//! built from it (and adds the `--json` schema's version).

use std::path::PathBuf;

use serde::Serialize;

use super::policy::Policy;
use super::{Signer, Verified};

/// Everything a verify run checked.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `public-good`, `staging`, or the trust file's path.
    pub instance: String,
    /// The policy applied (with `verify --release`, the tag's commit too).
    pub policy: Policy,
    pub artifacts: Vec<VerifyArtifactReport>,
    /// Files in directory arguments (or release assets) that have no bundle.
    pub unsigned: Vec<PathBuf>,
    pub warnings: Vec<String>,
    /// Distinct signers of verified artifacts, when no identity was pinned.
    pub signers: Vec<Signer>,
    /// `OWNER/REPO@TAG` for `verify --release`.
    pub release: Option<String>,
    /// The flags a command the run prints carries to judge as it did
    /// (its trust, predicate type, release options; `verify::rerun_flags`).
    pub rerun_flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyArtifactReport {
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub path: PathBuf,
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub bundle: PathBuf,
    #[serde(flatten)]
    pub outcome: VerifyOutcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum VerifyOutcome {
    Verified(Verified),
    Failed { error: String },
}

impl VerifyOutcome {
    /// A failure, its text cut to what a line can show: it quotes a
    /// bundle's or a server's text (a payload type, a JSON error naming a
    /// string), which may be megabytes long. As long as sign's.
    pub(crate) fn failed(error: impl std::fmt::Display) -> VerifyOutcome {
        VerifyOutcome::Failed {
            error: crate::text::capped(&error.to_string(), 4 * crate::text::MESSAGE_CHARS),
        }
    }
}
