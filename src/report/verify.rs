//! The report of a `verify` run, and its rendering for people.
//!
//! Owns the verify report's shape (also its `--json` schema) and its terminal
//! wording: `✅ Verified: <artifact>` or `❌ <artifact>: <reason>` per
//! artifact, then a summary. It prints nothing; `main.rs` decides where the
//! text goes.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::verify::policy::{GitHubClaim, Matcher, Policy};
use crate::verify::{Signer, Verified};

/// Everything `verify` checked.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    #[serde(rename = "schemaVersion")]
    pub schema_version: super::SchemaVersion,
    /// `public-good`, `staging`, or the trust file's path.
    pub instance: String,
    pub policy: PolicyReport,
    pub artifacts: Vec<VerifyArtifactReport>,
    /// Files in directory arguments (or release assets) that have no bundle (not verified).
    pub unsigned: Vec<PathBuf>,
    pub warnings: Vec<String>,
    /// Signers found, when no identity was pinned (see [`pin_hint`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signers: Vec<Signer>,
    /// `OWNER/REPO@TAG` for `verify --release`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

impl VerifyReport {
    pub fn verified(&self) -> usize {
        self.artifacts
            .iter()
            .filter(|a| matches!(a.outcome, VerifyOutcome::Verified(_)))
            .count()
    }

    /// True when every artifact verified (and there was at least one).
    pub fn success(&self) -> bool {
        !self.artifacts.is_empty() && self.verified() == self.artifacts.len()
    }
}

/// The policy as the user gave it (regexps shown as written; they are anchored).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyReport {
    pub identity: Option<MatcherReport>,
    pub issuer: Option<MatcherReport>,
    pub github: Vec<(GitHubClaim, String)>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatcherReport {
    Exact(String),
    Regexp(String),
}

impl From<&Matcher> for MatcherReport {
    fn from(m: &Matcher) -> Self {
        match m {
            Matcher::Exact(e) => MatcherReport::Exact(e.clone()),
            Matcher::Regexp(r) => MatcherReport::Regexp(r.pattern().to_owned()),
        }
    }
}

impl From<&Policy> for PolicyReport {
    fn from(p: &Policy) -> Self {
        PolicyReport {
            identity: p.identity.as_ref().map(Into::into),
            issuer: p.issuer.as_ref().map(Into::into),
            github: p.github.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyArtifactReport {
    pub path: PathBuf,
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

/// One line per artifact; with `verbose`, who signed a verified one.
pub fn artifact_line(a: &VerifyArtifactReport, verbose: bool) -> String {
    match &a.outcome {
        VerifyOutcome::Verified(v) if verbose => format!(
            "✅ Verified: {} (signed by {}, issuer {}{})",
            a.path.display(),
            v.identity(),
            v.issuer().unwrap_or("none"),
            v.log_index()
                .map(|i| format!(", log index {i}"))
                .unwrap_or_default()
        ),
        VerifyOutcome::Verified(_) => format!("✅ Verified: {}", a.path.display()),
        VerifyOutcome::Failed { error } => format!("❌ {}: {error}", a.path.display()),
    }
}

/// With no identity pinned: who signed, and the exact flags that pin them.
pub fn pin_hint(r: &VerifyReport) -> String {
    let mut s = String::new();
    for signer in &r.signers {
        let issuer = signer.issuer.as_deref().unwrap_or("none");
        let _ = writeln!(
            s,
            "Signed by {} (issuer {issuer}); to require this signer, verify with:",
            signer.identity
        );
        let target = match &r.release {
            Some(rel) => format!("--release {rel}"),
            None => "<artifacts>".to_owned(),
        };
        let _ = writeln!(
            s,
            "  releasekit-sign verify {target} --cert-identity '{}' --cert-oidc-issuer '{issuer}'",
            signer.identity
        );
    }
    s
}

/// The per-artifact lines and the summary.
pub fn human(r: &VerifyReport, verbose: bool) -> String {
    let mut s = String::new();
    if verbose {
        let _ = writeln!(s, "Trusted root: {}", r.instance);
        for u in &r.unsigned {
            let _ = writeln!(s, "Skipped {} (no bundle)", u.display());
        }
    }
    for a in &r.artifacts {
        let _ = writeln!(s, "{}", artifact_line(a, verbose));
    }
    if r.release.is_some() {
        // Unsigned release assets are what a consumer most needs to see.
        for u in &r.unsigned {
            let _ = writeln!(
                s,
                "⚠ Unsigned: {} (no {}.sigstore.json on the release)",
                u.display(),
                u.display()
            );
        }
    }
    s += &pin_hint(r);
    let failed = r.artifacts.len() - r.verified();
    let _ = writeln!(
        s,
        "Verified {} of {} artifact(s){}.",
        r.verified(),
        r.artifacts.len(),
        if failed == 0 {
            String::new()
        } else {
            format!("; {failed} failed")
        }
    );
    s
}
