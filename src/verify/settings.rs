//! What a `verify` run is asked to do: the artifacts or the release, the
//! policy, and the trust material, as plain values.
//!
//! Owns the shape of a verify request only. `inputs` fills it from flags and
//! the environment ([`VerifySettings::resolve`] lives there); the verify run
//! reads it. Nothing here parses a flag or reads the environment.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use super::policy::Policy;
use crate::oidc::Secret;
use crate::trust::BaseInstance;
use crate::vocab::Repo;

/// `verify`, resolved.
#[derive(Debug, Clone)]
pub struct VerifySettings {
    /// The PATH|DIR|GLOB arguments, as given.
    pub inputs: Vec<String>,
    /// One bundle for the one artifact named (`--bundle`).
    pub bundle: Option<PathBuf>,
    pub recursive: bool,
    pub jobs: NonZeroUsize,
    pub policy: Policy,
    pub trust: VerifyTrust,
    /// No TUF refresh: embedded snapshots and local files only.
    pub offline: bool,
    /// Verify a release's assets instead of local files.
    pub release: Option<ReleaseSource>,
    /// `--provenance FILE`: the artifacts are checked against its statements
    /// instead of their bundles.
    pub provenance: Option<PathBuf>,
    /// The predicate type a provenance statement must have.
    pub predicate_type: String,
    /// An artifact without a bundle (a file in a directory named, a
    /// release's asset) is a failure, not only listed as unsigned.
    pub require_all: bool,
}

/// `--release OWNER/REPO@TAG` and its companions.
#[derive(Debug, Clone)]
pub struct ReleaseSource {
    pub repo: Repo,
    pub tag: String,
    pub api_url: String,
    /// Optional: public repositories answer anonymously.
    pub token: Option<Secret>,
    /// Only assets whose name matches.
    pub pattern: Option<glob::Pattern>,
    /// Keep the verified files here.
    pub download: Option<PathBuf>,
    /// Replace files already in `download`.
    pub overwrite: bool,
    /// Accept assets signed at any commit, not only at the tag's.
    pub allow_other_commits: bool,
    /// `--predicate-type` was given: the release must carry a verified
    /// statement of that type (as `verify --provenance FILE` needs one),
    /// not only be used when it does.
    pub provenance_required: bool,
    /// No trust was chosen: a private repository's releases (seen with a
    /// token) are verified with GitHub's Sigstore instance, where they are
    /// signed (GitHub's attest action does; sign's refusal recommends it).
    pub instance_by_visibility: bool,
}

/// What to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyTrust {
    /// public-good, staging, or a ClientTrustConfig's trusted root.
    Instance(BaseInstance),
    /// A bare `trusted_root.json` (as cosign's `--trusted-root` takes).
    TrustedRoot(PathBuf),
}

impl VerifyTrust {
    /// The flags of `verify` that choose this trust (none for
    /// public-good), for a command the run prints to be run again.
    pub(crate) fn flags(&self) -> Vec<String> {
        let path = |flag: &str, p: &std::path::Path| vec![flag.to_owned(), p.display().to_string()];
        match self {
            VerifyTrust::TrustedRoot(p) => path("--trusted-root", p),
            VerifyTrust::Instance(base) => match base {
                BaseInstance::PublicGood => Vec::new(),
                BaseInstance::Staging => vec!["--staging".to_owned()],
                BaseInstance::GitHub => vec!["--instance".to_owned(), "github".to_owned()],
                BaseInstance::TrustConfig(p) => path("--trust-config", p),
                BaseInstance::Files { trusted_root, .. } => path("--trusted-root", trusted_root),
                BaseInstance::Tuf { url, root } => {
                    let mut f = vec!["--tuf-url".to_owned(), url.clone()];
                    f.extend(path("--tuf-root", root));
                    f
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trust a run used, as the flags that choose it again: what a
    /// printed command must carry (a private repository's release, verified
    /// on GitHub's instance without a flag, needs `--instance github`).
    #[test]
    fn trust_is_said_as_the_flags_that_choose_it() {
        let flags = |t: VerifyTrust| t.flags().join(" ");
        assert_eq!(flags(VerifyTrust::Instance(BaseInstance::PublicGood)), "");
        assert_eq!(
            flags(VerifyTrust::Instance(BaseInstance::GitHub)),
            "--instance github"
        );
        assert_eq!(
            flags(VerifyTrust::Instance(BaseInstance::Staging)),
            "--staging"
        );
        assert_eq!(
            flags(VerifyTrust::Instance(BaseInstance::Tuf {
                url: "https://tuf.example".into(),
                root: "root.json".into(),
            })),
            "--tuf-url https://tuf.example --tuf-root root.json"
        );
        assert_eq!(
            flags(VerifyTrust::TrustedRoot("r.json".into())),
            "--trusted-root r.json"
        );
    }
}
