//! What a sign run is asked to do, as plain values: the settings layer
//! (`inputs`) fills them from flags, `INPUT_*` and the environment; the
//! signing stage reads them and never parses anything itself.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use crate::oidc::IdentitySettings;
use crate::trust::InstanceSettings;
use crate::vocab::GitHubServer;

/// The signing stage, resolved: what to sign, how, under which identity
/// and instance (the upload is [`crate::pipeline::SignCommand`]'s).
#[derive(Debug, Clone)]
pub struct SignSettings {
    /// The PATH|DIR|GLOB arguments, as given (expanded by [`crate::plan`]).
    pub inputs: Vec<String>,
    pub recursive: bool,
    pub output_dir: Option<PathBuf>,
    pub overwrite: bool,
    pub dry_run: bool,
    pub jobs: NonZeroUsize,
    pub identity: IdentitySettings,
    pub instance: InstanceSettings,
    /// Sign even when the token's repository is private or internal, though
    /// a public instance's log then publishes its name and workflow path.
    pub allow_private_repository: bool,
    /// `--provenance`: also sign the run's build provenance.
    pub provenance: Option<ProvenanceSettings>,
}

/// `--provenance`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceSettings {
    /// `--provenance-name` (checked when the plan names the file).
    pub name: Option<String>,
    /// `GITHUB_SERVER_URL`, which the predicate's URIs start with.
    pub server_url: Option<GitHubServer>,
}
