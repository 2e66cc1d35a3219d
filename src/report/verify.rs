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
use crate::verify::Verified;

/// Everything `verify` checked.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// `public-good`, `staging`, or the trust file's path.
    pub instance: String,
    pub policy: PolicyReport,
    pub artifacts: Vec<VerifyArtifactReport>,
    /// Files in directory arguments that have no bundle (not verified).
    pub unsigned: Vec<PathBuf>,
    pub warnings: Vec<String>,
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
